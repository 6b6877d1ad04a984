"""The `smtp` provider: stdlib smtplib, one connection reused across a batch.

Each recipient gets their own message (their own unsubscribe link), so the server's reply to
that message is the recipient's result: 2xx accepted, 5xx rejected, 4xx try later. A connection
lost before the message's body was written, or a 421 (the server closing), is met by
reconnecting and sending that message again; a connection lost after the body was written and
before the server's reply may have delivered it, so that recipient is UNKNOWN (uncertain). A
server that cannot be reached is ProviderUnavailable: the send loop waits and tries again.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from digest.core.errors import SendError
from digest.email.message import PreparedEdition, Recipient, compose
from digest.sending.providers.base import (
    Mailer,
    Outcome,
    ProviderUnavailable,
    SendResult,
    register,
)
from digest.settings import Settings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

# How often one message may lose its connection before it waits for a later batch.
RECONNECTS = 2


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _outcome(code: int) -> Outcome:
    return Outcome.REJECTED if 500 <= code < 600 else Outcome.RETRY


class _Tracked(smtplib.SMTP):
    """Knows whether the current message's body has been written to the server.

    smtplib's data() writes the DATA command as text and the body as bytes; a reply lost after
    the body is the one case where the server may have the message without our knowing.
    """

    body_sent = False
    _in_data = False

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        self._in_data, self.body_sent = True, False
        try:
            return super().data(msg)
        finally:
            self._in_data = False

    def send(self, s: ReadableBuffer | str) -> None:
        super().send(s)
        if self._in_data and not isinstance(s, str):
            self.body_sent = True


class _TrackedTLS(_Tracked, smtplib.SMTP_SSL):
    """Implicit TLS (port 465), tracked the same way."""


@register
class SmtpMailer(Mailer):
    """Sends through `smtp.host`; STARTTLS or implicit TLS, AUTH when a username is set."""

    name = "smtp"
    max_batch = 100

    def __init__(self, settings: Settings, now: Callable[[], datetime]) -> None:
        super().__init__(settings, now)
        self.conn: _Tracked | None = None
        self.connects = 0  # for the end-of-send log and tests

    def _context(self) -> ssl.SSLContext:
        cfg = self.settings.smtp
        context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
        if not cfg.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> _Tracked:
        cfg = self.settings.smtp
        where = f"{cfg.host}:{cfg.port}"
        try:
            conn: _Tracked
            if cfg.security == "tls":
                conn = _TrackedTLS(cfg.host, cfg.port, timeout=cfg.timeout, context=self._context())
            else:
                conn = _Tracked(cfg.host, cfg.port, timeout=cfg.timeout)
                if cfg.security == "starttls":
                    conn.starttls(context=self._context())
                    conn.ehlo()
            if cfg.username:
                password = cfg.password.get_secret_value() if cfg.password else ""
                conn.login(cfg.username, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(
                f"the SMTP server {where} refused the login for {cfg.username!r} ({exc.smtp_code})",
                hint="check smtp.username and DIGEST_SMTP__PASSWORD",
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise SendError(
                f"the SMTP server {where} does not support what smtp.security asks: {exc}",
                hint="check smtp.security and smtp.port (587 starttls, 465 tls)",
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise SendError(
                f"the SMTP server {where} has a certificate we cannot trust: {exc.verify_message}",
                hint="check smtp.host, or give smtp.ca_file; nothing was marked sent",
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            # Refused, timed out, unknown host, or the server said 421 at once: it may be
            # back soon, and no message went out on this connection.
            raise ProviderUnavailable(f"cannot connect to the SMTP server {where}: {exc}") from None
        self.connects += 1
        return conn

    def _drop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.close()
        self.conn = None

    def _send_one(self, edition: PreparedEdition, recipient: Recipient) -> SendResult:
        msg = compose(edition, recipient, self.now())
        message_id = str(msg["Message-ID"])
        last_error = ""
        for _ in range(RECONNECTS + 1):
            if self.conn is None:
                self.conn = self._connect()
            self.conn.body_sent = False
            try:
                refused = self.conn.send_message(
                    msg, from_addr=edition.from_email, to_addrs=[recipient.email]
                )
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()))
                if code == 421:
                    self._drop()
                    last_error = f"{code} {_text(text)}"
                    continue
                return SendResult(
                    recipient.delivery_id,
                    _outcome(code),
                    error=f"{code} {_text(text)}",
                )
            except smtplib.SMTPResponseException as exc:
                error = f"{exc.smtp_code} {_text(exc.smtp_error)}"
                if exc.smtp_code == 421:  # the server is closing this connection
                    self._drop()
                    last_error = error
                    continue
                if isinstance(exc, smtplib.SMTPSenderRefused) and exc.smtp_code >= 500:
                    raise SendError(
                        f"the SMTP server refused the sender {edition.from_email}: {error}",
                        hint="check sender.email: the server must allow sending as it",
                    ) from None
                return SendResult(recipient.delivery_id, _outcome(exc.smtp_code), error=error)
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                body_sent = self.conn.body_sent
                self._drop()
                if body_sent:
                    error = f"the SMTP server's reply to the message was lost ({exc})"
                    log.error("%s; delivery %d marked uncertain", error, recipient.delivery_id)
                    return SendResult(recipient.delivery_id, Outcome.UNKNOWN, error=error)
                last_error = f"connection lost before the message was written: {exc}"
                continue
            if refused:
                code, text = next(iter(refused.values()))
                return SendResult(
                    recipient.delivery_id,
                    _outcome(code),
                    error=f"{code} {_text(text)}",
                )
            return SendResult(recipient.delivery_id, Outcome.ACCEPTED, provider_id=message_id)
        raise ProviderUnavailable(f"the SMTP server keeps closing the connection: {last_error}")

    def send(self, edition: PreparedEdition, batch: Sequence[Recipient]) -> list[SendResult]:
        """One message per recipient over the reused connection."""
        results: list[SendResult] = []
        for r in batch:
            try:
                results.append(self._send_one(edition, r))
            except ProviderUnavailable as exc:
                raise ProviderUnavailable(exc.reason, results, exc.retry_after) from None
        return results

    def close(self) -> None:
        """Say QUIT politely; a connection already gone is fine."""
        if self.conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.conn.quit()
        self._drop()
