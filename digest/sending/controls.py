"""The operator's view of a send and their controls: status, pause, resume, cancel."""

from __future__ import annotations

from dataclasses import dataclass

from digest.core.app import App
from digest.core.errors import DigestError
from digest.editions.lifecycle import Status, transition
from digest.store import deliveries, editions, sendctl
from digest.store.deliveries import Uncertain
from digest.store.editions import EditionRow


@dataclass(frozen=True)
class SendStatus:
    """Where one edition's send stands."""

    edition: EditionRow
    control: str
    counts: dict[str, int]
    uncertain: list[Uncertain]

    @property
    def total(self) -> int:
        """Deliveries planned."""
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form for `digest send status --json`."""
        return {
            "newsletter": self.edition.newsletter,
            "edition": self.edition.number,
            "edition_status": self.edition.status,
            "control": self.control,
            "total": self.total,
            "counts": self.counts,
            "uncertain": [
                {
                    "delivery_id": u.delivery_id,
                    "email": u.email,
                    "claimed_by": u.claimed_by,
                    "claimed_at": u.claimed_at.isoformat() if u.claimed_at else None,
                }
                for u in self.uncertain
            ],
        }


def _edition(app: App, newsletter: str, number: int | None) -> EditionRow:
    app.settings.newsletter(newsletter)  # unknown newsletter → ConfigError naming the known ones
    with app.engine.connect() as conn:
        edition = editions.get_edition(conn, newsletter, number)
    if edition is None:
        which = f"edition {number}" if number else "any edition"
        raise DigestError(f"{newsletter} has no {which}", hint="`digest edition list` shows them")
    return edition


def status(app: App, newsletter: str, number: int | None = None) -> SendStatus:
    """Counts per delivery status, the control state and the uncertain deliveries."""
    edition = _edition(app, newsletter, number)
    with app.engine.connect() as conn:
        return SendStatus(
            edition=edition,
            control=sendctl.state(conn, edition.id),
            counts=deliveries.counts(conn, edition.id),
            uncertain=deliveries.uncertain(conn, edition.id),
        )


def _sending(app: App, newsletter: str) -> EditionRow:
    with app.engine.connect() as conn:
        edition = editions.open_edition(conn, newsletter)
    if edition is None or edition.status not in (Status.SENDING, Status.FAILED):
        raise DigestError(
            f"{newsletter} has no send in progress",
            hint=f"`digest send status {newsletter}` shows the last one",
        )
    return edition


def pause(app: App, newsletter: str, actor: str = "cli") -> EditionRow:
    """Workers stop after their current batch; nothing is lost or sent twice."""
    edition = _sending(app, newsletter)
    with app.engine.begin() as conn:
        sendctl.set_state(conn, edition.id, "paused", actor, app.clock())
    return edition


def resume(app: App, newsletter: str, actor: str = "cli") -> EditionRow:
    """Allow workers to claim batches again."""
    edition = _sending(app, newsletter)
    with app.engine.begin() as conn:
        sendctl.set_state(conn, edition.id, "running", actor, app.clock())
    return edition


def cancel(app: App, newsletter: str, actor: str = "cli") -> tuple[EditionRow, int]:
    """Stop the send for good: pending deliveries are cancelled; returns how many."""
    edition = _sending(app, newsletter)
    now = app.clock()
    with app.engine.begin() as conn:
        # The edition row first: a planning step in progress ends before the pending rows are
        # cancelled, and the next one sees the edition cancelled (see digest.sending.planning).
        editions.lock(conn, edition.id)
        sendctl.set_state(conn, edition.id, "cancelled", actor, now)
        n = deliveries.cancel_pending(conn, edition.id, now)
        transition(conn, edition.id, "cancel", actor, now, f"send cancelled; {n} not sent")
    return edition, n
