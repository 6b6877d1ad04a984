"""The `sendgrid` provider: v3 mail send through the official client, 1,000 recipients a request.

The edition is rendered once; each recipient's values travel as `substitutions`, so a request
for 1,000 readers carries one HTML body. `custom_args` carry `digest_delivery_id` (per reader)
and `digest_edition_id`, so Event Webhook events can be matched to the ledger; the newsletter
is the category. The client has no timeout and no retries of its own; the timeout is ours, and
whether to retry is the send loop's: this module only says whether a request never left
(ProviderUnavailable), was answered, or may have landed with its answer lost (UNKNOWN).
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
import urllib.error
from collections.abc import Callable, Sequence
from datetime import datetime
from http.client import HTTPException
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

from python_http_client.exceptions import HTTPError  # type: ignore[import-untyped]
from sendgrid import SendGridAPIClient

from digest.core.errors import ConfigError, SendError
from digest.core.slots import SLOT_NAMES
from digest.email.message import PreparedEdition, Recipient, clean_header, list_unsubscribe_headers
from digest.sending.providers.base import (
    Mailer,
    Outcome,
    ProviderUnavailable,
    SendResult,
    register,
)
from digest.settings import Settings

log = logging.getLogger(__name__)
_FIELD = re.compile(r"^personalizations\.(\d+)\b")


def _text_key(name: str) -> str:
    return f"[[dg.t.{name}]]"


def _html_key(name: str) -> str:
    return f"[[dg.h.{name}]]"


def _shared(edition: PreparedEdition) -> str:
    """The part of every request that does not depend on the recipients, as JSON text."""
    content = [
        {"type": "text/plain", "value": edition.rendered.text.with_markers(_text_key)},
        {"type": "text/html", "value": edition.rendered.html.with_markers(_html_key)},
    ]
    body: dict[str, Any] = {
        "from": {"email": edition.from_email, "name": _name(edition.from_name)},
        "subject": clean_header(edition.subject),
        "content": content,
        "categories": [edition.newsletter],
        "custom_args": {"digest_edition_id": str(edition.edition_id)},
    }
    if not edition.transactional:
        body["headers"] = {"List-Id": clean_header(edition.list_id)}
    if edition.reply_to:
        body["reply_to"] = {"email": edition.reply_to}
    return json.dumps(body)


def _name(name: str) -> str:
    # SendGrid refuses display names with ';' or ','.
    return " ".join(clean_header(name).replace(";", " ").replace(",", " ").split())


def personalization(edition: PreparedEdition, r: Recipient) -> dict[str, Any]:
    """One reader: address, slot values (escaped for the HTML part), ids and unsubscribe."""
    values = r.slot_values()
    subs = {_text_key(k): v for k, v in values.items()}
    subs.update({_html_key(k): html.escape(v) for k, v in values.items()})
    mailto = f"mailto:{edition.from_email}?subject=unsubscribe"
    to: dict[str, str] = {"email": r.email}
    if _name(r.name):
        to["name"] = _name(r.name)
    found: dict[str, Any] = {
        "to": [to],
        "substitutions": subs,
        "custom_args": {"digest_delivery_id": str(r.delivery_id)},
    }
    if not edition.transactional:
        found["headers"] = list_unsubscribe_headers(r.unsubscribe_url, mailto)
    return found


def _special(text: str) -> bool:
    """Whether html.escape would change the text (five `in` scans beat one regex search)."""
    return "&" in text or "<" in text or ">" in text or '"' in text or "'" in text


def personalizations_json(edition: PreparedEdition, batch: Sequence[Recipient]) -> str:
    """json.dumps([personalization(edition, r) for r in batch]), written straight as text.

    Building a dict per reader and encoding it cost more than everything else we do per
    reader; this writes the same JSON (same keys, order and escaping) from string pieces,
    all of the batch's pieces joined once at the end.
    """
    mailto = f"mailto:{edition.from_email}?subject=unsubscribe"
    # One reader's JSON cut where its values go (at NULs, which JSON text never holds raw):
    # the address, the substitutions in slot order (text part, then HTML part), the delivery
    # id; the List-Unsubscribe header follows. Four slots, as Recipient.slots gives.
    head, t0, t1, t2, t3, h0, h1, h2, h3, ident, end = (
        '{"to": [\0], "substitutions": {'
        + ", ".join(_quote(_text_key(k)) + ": \0" for k in SLOT_NAMES)
        + ", "
        + ", ".join(_quote(_html_key(k)) + ": \0" for k in SLOT_NAMES)
        + '}, "custom_args": {"digest_delivery_id": "\0"}'
    ).split("\0")
    headers, close = (
        ("", "") if edition.transactional
        else (', "headers": {"List-Unsubscribe": ', ', "List-Unsubscribe-Post": '
              '"List-Unsubscribe=One-Click"}')
    )  # fmt: skip
    end += headers
    other = f", <{mailto}>"
    out: list[str] = ["["]
    for r in batch:
        first, email, url, prefs = r.slots()  # no dict per reader
        name = r.name
        if name:
            # _name without its regex when nothing in the name needs cleaning (the usual case).
            simple = name.isprintable() and ";" not in name and "," not in name
            name = " ".join(name.split()) if simple else _name(name)
        q_email = _quote(email)
        to = (
            f'{{"email": {q_email}, "name": {_quote(name)}}}' if name else f'{{"email": {q_email}}}'
        )
        q_first, q_url, q_prefs = _quote(first), _quote(url), _quote(prefs)
        # The HTML part's values are escaped; most have nothing to escape, and are not.
        if _special(first + email + url + prefs):
            e_first, e_email, e_url, e_prefs = (
                _quote(html.escape(v)) for v in (first, email, url, prefs)
            )
        else:
            e_first, e_email, e_url, e_prefs = q_first, q_email, q_url, q_prefs
        listed = _quote(f"<{url}>{other}") if headers else ""
        out += (
            head, to, t0, q_first, t1, q_email, t2, q_url, t3, q_prefs,
            h0, e_first, h1, e_email, h2, e_url, h3, e_prefs,
            ident, str(int(r.delivery_id)), end, listed, close, "}, ",
        )  # fmt: skip
    if batch:
        out[-1] = "}"
    out.append("]")
    return "".join(out)


def _until_reset(exc: HTTPError) -> float | None:
    """Seconds until X-RateLimit-Reset (a Unix time) on a 429, None when it is not given."""
    try:
        reset = float(exc.headers.get("X-RateLimit-Reset"))
    except (TypeError, ValueError, AttributeError):
        return None
    return max(reset - time.time(), 0.0)


def _errors(exc: HTTPError) -> list[dict[str, Any]]:
    try:
        found = json.loads(exc.body or b"{}").get("errors") or []
    except (ValueError, AttributeError):
        return []
    return [e for e in found if isinstance(e, dict)]


def _first_message(exc: HTTPError) -> str:
    errors = _errors(exc)
    return str(errors[0].get("message")) if errors else f"HTTP {exc.status_code}"


class _Payload(bytes):
    """A request body that prints as its size.

    The client formats the body into a DEBUG message before asking whether DEBUG is on:
    for a 1,000-reader request that is a megabyte of repr() each time (about a tenth of a
    send's CPU), and with DEBUG on it would write readers' addresses to the log.
    """

    def __format__(self, spec: str) -> str:
        return f"<{len(self):,} bytes>"

    def __str__(self) -> str:
        return self.__format__("")

    __repr__ = __str__


class _Body(str):
    """JSON text whose encode() gives a _Payload (the client encodes a str body itself)."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> _Payload:
        return _Payload(str.encode(self, encoding, errors))


@register
class SendgridMailer(Mailer):
    """POST /v3/mail/send with up to 1,000 personalizations; waiting and retrying are the loop's."""

    name = "sendgrid"
    max_batch = 1000
    thread_safe = True
    substitutions = True

    def __init__(
        self,
        settings: Settings,
        now: Callable[[], datetime],
    ) -> None:
        super().__init__(settings, now)
        cfg = settings.sendgrid
        if cfg.api_key is None or not cfg.api_key.get_secret_value():
            raise ConfigError(
                "the sendgrid provider needs an API key",
                hint="set DIGEST_SENDGRID__API_KEY in the environment or .env",
            )
        # The client logs request headers (the API key among them) at DEBUG: keep it quiet.
        logging.getLogger("python_http_client").setLevel(logging.WARNING)
        self.client = SendGridAPIClient(api_key=cfg.api_key.get_secret_value(), host=cfg.host)
        self.requests = 0  # for the end-of-send log and tests
        self._shared: dict[int, str] = {}

    def _post(self, edition: PreparedEdition, items: str) -> str:
        """One request; returns X-Message-Id, raises HTTPError or a network error."""
        shared = self._shared.get(edition.edition_id)
        if shared is None:
            shared = self._shared[edition.edition_id] = _shared(edition)
        body = _Body(shared[:-1] + ', "personalizations": ' + items + "}")
        self.requests += 1
        # The client sends a str body as it is only when the content type is not exactly
        # "application/json"; the shared part is serialised once per edition this way.
        response = self.client.client.mail.send.post(
            request_body=body,
            request_headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=self.settings.sendgrid.timeout,
        )
        return str(response.headers.get("X-Message-Id") or "")

    def send(self, edition: PreparedEdition, batch: Sequence[Recipient]) -> list[SendResult]:
        """Send the batch; one result per recipient, or ProviderUnavailable if it never left."""
        results: list[SendResult] = []
        self._send(edition, list(batch), results)
        return results

    def _send(
        self, edition: PreparedEdition, batch: list[Recipient], results: list[SendResult]
    ) -> None:
        while batch:
            items = personalizations_json(edition, batch)
            try:
                message_id = self._post(edition, items)
            except HTTPError as exc:
                status = int(exc.status_code)
                if status in (401, 403):
                    raise SendError(
                        f"SendGrid refused the send ({status}): {_first_message(exc)}",
                        hint="check DIGEST_SENDGRID__API_KEY (401) or that sender.email is a "
                        "verified sender (403); nothing was marked sent",
                    ) from None
                if status == 400:
                    batch = self._drop_rejected(exc, batch, results)
                    continue
                if status == 413:
                    if len(batch) == 1:
                        results.append(
                            SendResult(
                                batch[0].delivery_id, Outcome.REJECTED, error="message too large"
                            )
                        )
                        return
                    half = len(batch) // 2
                    self._send(edition, batch[:half], results)
                    self._send(edition, batch[half:], results)
                    return
                error = f"SendGrid {status}: {_first_message(exc)}"
                if status == 429:
                    raise ProviderUnavailable(error, results, _until_reset(exc)) from None
                if status >= 500:
                    raise ProviderUnavailable(error, results) from None
                raise SendError(error, hint="nothing was marked sent") from None
            except urllib.error.URLError as exc:
                # urllib wraps what fails while connecting and writing the request (refused,
                # DNS, TLS, connect timeout): SendGrid cannot have read a whole request.
                raise ProviderUnavailable(f"SendGrid unreachable: {exc.reason}", results) from None
            except (TimeoutError, HTTPException, OSError) as exc:
                # The whole request was written and the answer did not come (read timeout,
                # reset, a truncated reply): SendGrid may have sent it. We do not guess.
                error = f"SendGrid's answer was lost after the request was sent ({exc!r})"
                log.error("%s: %d deliveries marked uncertain", error, len(batch))
                results.extend(
                    SendResult(r.delivery_id, Outcome.UNKNOWN, error=error) for r in batch
                )
                return
            results.extend(
                SendResult(r.delivery_id, Outcome.ACCEPTED, provider_id=message_id) for r in batch
            )
            return

    def _drop_rejected(
        self, exc: HTTPError, batch: list[Recipient], results: list[SendResult]
    ) -> list[Recipient]:
        """A 400 naming personalizations: those readers are rejected, the rest go again."""
        bad: dict[int, str] = {}
        for err in _errors(exc):
            match = _FIELD.match(str(err.get("field") or ""))
            if match and int(match.group(1)) < len(batch):
                bad.setdefault(int(match.group(1)), str(err.get("message")))
        if not bad:
            raise SendError(
                f"SendGrid refused the request (400): {_first_message(exc)}",
                hint="this is a request digest built wrongly; please report it. Nothing was "
                "marked sent",
            )
        for i, message in bad.items():
            results.append(SendResult(batch[i].delivery_id, Outcome.REJECTED, error=message))
        return [r for i, r in enumerate(batch) if i not in bad]
