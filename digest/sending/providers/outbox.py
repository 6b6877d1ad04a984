"""The `outbox` provider: one .eml file per recipient, so the whole flow runs with no account."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from digest.email.message import PreparedEdition, Recipient, compose
from digest.sending.providers.base import Mailer, Outcome, SendResult, register


@register
class OutboxMailer(Mailer):
    """Writes `HOME/outbox/<newsletter>/<edition>/<delivery>.eml`; rewriting a file is harmless.

    Test copies go to a `tests/` folder beside the readers' files, each under a name of its own.
    """

    name = "outbox"
    max_batch = 500
    resend_safe = True
    thread_safe = True

    def folder(self, edition: PreparedEdition) -> Path:
        """Where this edition's messages go."""
        return self.settings.outbox_dir / edition.newsletter / str(edition.number)

    def send(self, edition: PreparedEdition, batch: Sequence[Recipient]) -> list[SendResult]:
        """Write each message atomically (temp file, then rename)."""
        folder = self.folder(edition) / ("tests" if edition.test else "")
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        for recipient in batch:
            msg = compose(edition, recipient, self.now())
            if edition.test or edition.transactional:  # no delivery id of their own
                stamp = f"{self.now():%Y%m%dT%H%M%S}-{time.time_ns()}-{uuid.uuid4().hex[:6]}"
                name = f"test-{stamp}" if edition.test else stamp
            else:
                name = f"{recipient.delivery_id:08d}"
            path = folder / f"{name}.eml"
            tmp = path.with_suffix(".tmp")
            try:
                tmp.write_bytes(bytes(msg))
                os.replace(tmp, path)
            except OSError as exc:
                results.append(SendResult(recipient.delivery_id, Outcome.RETRY, error=str(exc)))
                continue
            results.append(
                SendResult(recipient.delivery_id, Outcome.ACCEPTED, provider_id=str(path))
            )
        return results
