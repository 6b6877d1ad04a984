"""The edition's life, owned here: which moves are allowed, and a record of each one.

    draft ──approve──▶ approved ──start──▶ sending ──finish──▶ sent
      ▲                  │                    │
      └────reopen────────┘                    └──fail──▶ failed ──retry──▶ sending
    draft ──skip──▶ skipped;  draft | approved | sending | failed ──cancel──▶ cancelled

Every move is a compare-and-set on the edition's status, so two processes can never both make
it, and writes an `edition_events` row with who, when and why.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from digest.core.errors import DigestError
from digest.core.models import Edition, EditionEvent


class Status(enum.StrEnum):
    """Where an edition is in its life."""

    DRAFT = "draft"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    FAILED = "failed"


# action → (statuses it may start from, status it leads to)
MOVES: dict[str, tuple[frozenset[Status], Status]] = {
    "approve": (frozenset({Status.DRAFT}), Status.APPROVED),
    "reopen": (frozenset({Status.APPROVED}), Status.DRAFT),
    "start": (frozenset({Status.APPROVED}), Status.SENDING),
    "finish": (frozenset({Status.SENDING}), Status.SENT),
    "fail": (frozenset({Status.SENDING}), Status.FAILED),
    "retry": (frozenset({Status.FAILED}), Status.SENDING),
    "skip": (frozenset({Status.DRAFT}), Status.SKIPPED),
    "cancel": (
        frozenset({Status.DRAFT, Status.APPROVED, Status.SENDING, Status.FAILED}),
        Status.CANCELLED,
    ),
}
# Statuses in which an edition still belongs to the newsletter's current cycle.
OPEN = (Status.DRAFT, Status.APPROVED, Status.SENDING, Status.FAILED)


class LifecycleError(DigestError):
    """A move that the edition's current status does not allow."""


@dataclass(frozen=True)
class Event:
    """One recorded move."""

    from_status: str
    to_status: str
    actor: str
    reason: str
    at: datetime


def allowed_actions(status: str) -> list[str]:
    """The actions an edition in `status` accepts."""
    return [name for name, (sources, _) in MOVES.items() if status in sources]


def transition(
    conn: Connection, edition_id: int, action: str, actor: str, now: datetime, reason: str = ""
) -> Status:
    """Make one move, or raise LifecycleError saying what the edition is and what it allows."""
    sources, target = MOVES[action]
    current = conn.execute(
        select(Edition.status, Edition.newsletter, Edition.number).where(Edition.id == edition_id)
    ).first()
    if current is None:
        raise LifecycleError(f"no edition with id {edition_id}")
    values: dict[str, object] = {"status": target.value, "updated_at": now}
    if target is Status.SENT:
        values["sent_at"] = now
    result = conn.execute(
        update(Edition)
        .where(Edition.id == edition_id, Edition.status.in_([s.value for s in sources]))
        .values(**values)
    )
    if result.rowcount != 1:
        status = conn.execute(select(Edition.status).where(Edition.id == edition_id)).scalar_one()
        raise LifecycleError(
            f"edition {current.number} of {current.newsletter} is {status}: cannot {action} it",
            hint=f"a {status} edition allows: {', '.join(allowed_actions(status)) or 'nothing'}",
        )
    conn.execute(
        insert(EditionEvent).values(
            edition_id=edition_id,
            from_status=current.status,
            to_status=target.value,
            actor=actor,
            reason=reason,
            at=now,
        )
    )
    return target


def note(conn: Connection, edition_id: int, actor: str, now: datetime, reason: str) -> None:
    """Record something that happened to an edition without moving it (e.g. 'late')."""
    status = conn.execute(select(Edition.status).where(Edition.id == edition_id)).scalar_one()
    conn.execute(
        insert(EditionEvent).values(
            edition_id=edition_id, from_status=status, to_status=status,
            actor=actor, reason=reason, at=now,
        )
    )  # fmt: skip


def history(conn: Connection, edition_id: int) -> list[Event]:
    """Every recorded move of an edition, oldest first."""
    rows = conn.execute(
        select(
            EditionEvent.from_status, EditionEvent.to_status, EditionEvent.actor,
            EditionEvent.reason, EditionEvent.at,
        )
        .where(EditionEvent.edition_id == edition_id)
        .order_by(EditionEvent.id)
    ).all()  # fmt: skip
    return [Event(*row) for row in rows]
