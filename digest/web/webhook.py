"""SendGrid's Event Webhook: check the signature, store each event once, apply what it means.

SendGrid posts a JSON array of events, signed with ECDSA over `timestamp + body`. The signature
is checked first with the client package's `EventWebhook` helper; only then is the body parsed.
Each event is stored under its `sg_event_id` (unique), so retries and replays change nothing;
only events stored for the first time change statuses. Our custom args (`digest_delivery_id`,
`digest_edition_id`, set by the sending code) tie an event to a delivery and so to a subscriber.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from sqlalchemy import Connection, distinct, func, select
from sqlalchemy.dialects import postgresql, sqlite

from digest.core.models import Delivery, Edition
from digest.web import lists
from digest.web.models import ProviderEvent
from subscribers.suppression import AddressHasher

SIGNATURE_HEADER = EventWebhookHeader.SIGNATURE
TIMESTAMP_HEADER = EventWebhookHeader.TIMESTAMP
CHUNK = 500


class WebhookRejected(Exception):
    """The request is not a genuine, fresh SendGrid request; the reason is for our log only."""


class Verifier:
    """Checks SendGrid's signature and the freshness of its timestamp."""

    def __init__(self, public_key: str | None, max_age: timedelta) -> None:
        self._helper: EventWebhook | None = None
        if public_key:
            body = "".join(
                line.strip() for line in public_key.strip().splitlines() if "-----" not in line
            )
            self._helper = EventWebhook(body)
        self.max_age = max_age

    def verify(
        self, body: bytes, signature: str | None, timestamp: str | None, now: datetime
    ) -> None:
        """Raise WebhookRejected unless the body is signed by SendGrid's key, recently."""
        if self._helper is None:
            raise WebhookRejected("no webhook public key configured")
        if not signature or not timestamp:
            raise WebhookRejected("unsigned request")
        try:
            sent = datetime.fromtimestamp(int(timestamp), UTC)
        except (ValueError, OverflowError, OSError):
            raise WebhookRejected("malformed timestamp") from None
        if abs(now - sent) > self.max_age:
            raise WebhookRejected("stale timestamp")
        try:
            payload = body.decode("utf-8")
            ok = self._helper.verify_signature(payload, signature, timestamp)
        except (UnicodeDecodeError, binascii.Error, ValueError):
            ok = False
        if not ok:
            raise WebhookRejected("bad signature")


@dataclass
class WebhookResult:
    """What one request did: events stored, duplicates ignored, statuses changed."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    changed: dict[str, int] = field(default_factory=dict)


def parse_events(body: bytes) -> list[dict[str, Any]]:
    """The JSON array of events; ValueError names what is wrong."""
    data = json.loads(body)
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ValueError("the body must be a JSON array of event objects")
    return data


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _row(event: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    event_id = event.get("sg_event_id")
    kind = event.get("event")
    if not event_id or not kind:
        return None
    stamp = _int(event.get("timestamp"))
    reason = " ".join(str(event.get(k, "")) for k in ("type", "reason", "status") if event.get(k))
    return {
        "event_id": str(event_id)[:200],
        "event": str(kind)[:32],
        "email": str(event.get("email", ""))[:320],
        "delivery_id": _int(event.get("digest_delivery_id")),
        "edition_id": _int(event.get("digest_edition_id")),
        "subscriber_id": None,
        "reason": reason[:2000],
        "occurred_at": datetime.fromtimestamp(stamp, UTC) if stamp else now,
        "received_at": now,
    }


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert rows whose event id is new; return those ids (concurrent requests stay exact)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(ProviderEvent)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(ProviderEvent.event_id)
    )
    return set(conn.execute(stmt, rows).scalars().all())


def _lookup(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Fill subscriber and edition ids from our deliveries (custom args), else by address."""
    ids = {r["delivery_id"] for r in rows if r["delivery_id"]}
    found: dict[int, tuple[int, int]] = {}
    id_list = sorted(ids)
    for i in range(0, len(id_list), CHUNK):
        part = id_list[i : i + CHUNK]
        for d_id, sub, ed in conn.execute(
            select(Delivery.id, Delivery.subscriber_id, Delivery.edition_id).where(
                Delivery.id.in_(part)
            )
        ):
            found[d_id] = (sub, ed)
    unmatched = []
    for r in rows:
        match = found.get(r["delivery_id"] or 0)
        if match and (r["edition_id"] in (None, match[1])):
            r["subscriber_id"], r["edition_id"] = match
            continue
        r["delivery_id"] = None  # a delivery id that is not ours (or not this edition's)
        unmatched.append(r)
    by_email = lists.find_many_by_email(conn, sorted({r["email"] for r in unmatched if r["email"]}))
    for r in unmatched:
        r["subscriber_id"] = by_email.get(r["email"])


def _newsletters(conn: Connection, edition_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(edition_ids))
    if not ids:
        return {}
    return dict(
        conn.execute(select(Edition.id, Edition.newsletter).where(Edition.id.in_(ids))).all()
    )


def _is_hard(row: dict[str, Any]) -> bool:
    if row["event"] == "bounce":
        return "blocked" not in row["reason"]  # `blocked` is a soft bounce in SendGrid's terms
    reason = row["reason"].lower()
    return row["event"] == "dropped" and ("invalid" in reason or "bounced address" in reason)


def store_events(
    conn: Connection,
    events: list[dict[str, Any]],
    now: datetime,
    hasher: AddressHasher | None = None,
) -> WebhookResult:
    """Store each event once; for new ones, apply bounces, complaints and unsubscribes."""
    result = WebhookResult(received=len(events))
    rows = [r for r in (_row(e, now) for e in events) if r is not None]
    # One row per event id even inside one batch (SendGrid may repeat itself).
    unique = list({r["event_id"]: r for r in rows}.values())
    _lookup(conn, unique)
    new_ids: set[str] = set()
    for i in range(0, len(unique), CHUNK):
        new_ids |= _insert_new(conn, unique[i : i + CHUNK])
    result.stored = len(new_ids)
    result.duplicates = len(events) - len(new_ids)
    fresh = [r for r in unique if r["event_id"] in new_ids and r["subscriber_id"]]
    newsletters = _newsletters(conn, (r["edition_id"] for r in fresh if r["edition_id"]))
    for r in fresh:
        sub = int(r["subscriber_id"])
        changed = 0
        if r["event"] in ("bounce", "dropped") and _is_hard(r):
            changed = lists.mark_bounced(conn, sub, now, hasher)
            key = "bounced"
        elif r["event"] == "spamreport":
            changed = lists.mark_complained(conn, sub, now, hasher)
            key = "complained"
        elif r["event"] in ("unsubscribe", "group_unsubscribe"):
            newsletter = newsletters.get(r["edition_id"] or 0)
            if newsletter:
                changed = int(lists.unsubscribe(conn, sub, newsletter, source="sendgrid", now=now))
            key = "unsubscribed"
        else:
            continue
        if changed:
            result.changed[key] = result.changed.get(key, 0) + 1
    return result


def figures(conn: Connection, edition_id: int) -> dict[str, int]:
    """How many subscribers each kind of event reached for one edition (counted once each)."""
    rows = conn.execute(
        select(ProviderEvent.event, func.count(distinct(ProviderEvent.subscriber_id)))
        .where(ProviderEvent.edition_id == edition_id)
        .group_by(ProviderEvent.event)
    ).all()
    return {str(e): int(n) for e, n in rows}
