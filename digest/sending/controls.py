"""The operator's view of a send and their controls: status, pause, resume, settle, cancel."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from digest.core.app import App
from digest.core.errors import DigestError
from digest.editions.lifecycle import Status, note, transition
from digest.store import decisions, deliveries, delivery_lists, editions, sendctl
from digest.store.delivery_lists import LISTED, Listed
from digest.store.editions import EditionRow


@dataclass(frozen=True)
class SendStatus:
    """Where one edition's send stands."""

    edition: EditionRow
    control: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """Deliveries planned."""
        return sum(self.counts.values())

    @property
    def state(self) -> str:
        """One phrase an operator reads first: what the send is doing, or why it stopped."""
        edition_status = str(self.edition.status)
        if edition_status == Status.SENDING and self.control != "running":
            return f"sending, {self.control}"
        if edition_status == Status.SENDING and self.counts.get("uncertain"):
            return "sending, waiting for the operator's decision on uncertain deliveries"
        if edition_status == Status.SENDING and self.counts.get("retrying"):
            return "sending, waiting to retry temporary failures"
        return edition_status

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form of the counts (the readers are streamed apart)."""
        return {
            "newsletter": self.edition.newsletter,
            "edition": self.edition.number,
            "edition_status": self.edition.status,
            "state": self.state,
            "control": self.control,
            "total": self.total,
            "counts": self.counts,
        }


def _edition(app: App, newsletter: str, number: int | None) -> EditionRow:
    app.settings.newsletter(newsletter)  # unknown newsletter → ConfigError naming the known ones
    with app.engine.connect() as conn:
        edition = editions.get_edition(conn, newsletter, number)
    if edition is None:
        found = f"has no edition {number}" if number else "has no editions yet"
        raise DigestError(
            f"{newsletter} {found}",
            hint=f"`digest edition list {newsletter}` shows its editions; "
            f"`digest preview {newsletter}` builds a draft",
        )
    return edition


def status(app: App, newsletter: str, number: int | None = None) -> SendStatus:
    """Counts per delivery status and the control state."""
    edition = _edition(app, newsletter, number)
    with app.engine.connect() as conn:
        return SendStatus(
            edition=edition,
            control=sendctl.state(conn, edition.id),
            counts=deliveries.counts(conn, edition.id),
        )


def readers(app: App, edition_id: int, statuses: Sequence[str] = LISTED) -> Iterator[Listed]:
    """Every reader of the edition in these statuses, streamed (lists may hold millions)."""
    with app.engine.connect() as conn:
        yield from delivery_lists.listed(conn, edition_id, statuses)


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


def settle(app: App, newsletter: str, actor: str = "cli") -> tuple[EditionRow, int]:
    """Leave the uncertain deliveries as they are (never resent); returns how many.

    The next run of the send (`digest send`, or the scheduler's minute look) then finishes
    the edition through the ledger as usual, with nobody sent twice.
    """
    edition = _sending(app, newsletter)
    now = app.clock()
    with app.engine.begin() as conn:
        n = decisions.leave_uncertain(conn, edition.id, now)
        note(conn, edition.id, actor, now, f"settled: {n} uncertain deliveries left as they are")
    return edition, n


def cancel(app: App, newsletter: str, actor: str = "cli") -> tuple[EditionRow, int]:
    """Stop the send for good: pending deliveries are cancelled; returns how many."""
    edition = _sending(app, newsletter)
    now = app.clock()
    with app.engine.begin() as conn:
        # The edition row first: a planning step in progress ends before the pending rows are
        # cancelled, and the next one sees the edition cancelled (see digest.sending.planning).
        editions.lock(conn, edition.id)
        sendctl.set_state(conn, edition.id, "cancelled", actor, now)
        n = decisions.cancel_pending(conn, edition.id, now)
        transition(conn, edition.id, "cancel", actor, now, f"send cancelled; {n} not sent")
    return edition, n
