"""The `smtp` provider: stdlib smtplib, one connection reused across a batch.

Each recipient gets their own message (their own unsubscribe link), so the server's reply to
that message is the recipient's result: 2xx accepted, 5xx rejected, 4xx try later. A dropped
connection or a 421 (the server closing) is met by reconnecting and sending that message again.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from datetime import datetime

from digest.core.errors import SendError
from digest.email.message import PreparedEdition, Recipient, compose
from digest.sending.providers.base import Mailer, Outcome, SendResult, register
from digest.settings import Settings

log = logging.getLogger(__name__)

# How often one message may lose its connection before it waits for a later batch.
RECONNECTS = 2


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _outcome(code: int) -> Outcome:
    return Outcome.REJECTED if 500 <= code < 600 else Outcome.RETRY


@register
class SmtpMailer(Mailer):
    """Sends through `smtp.host`; STARTTLS or implicit TLS, AUTH when a username is set."""

    name = "smtp"
    max_batch = 100

    def __init__(self, settings: Settings, now: Callable[[], datetime]) -> None:
        super().__init__(settings, now)
        self.conn: smtplib.SMTP | None = None
        self.connects = 0  # for the end-of-send log and tests

    def _context(self) -> ssl.SSLContext:
        cfg = self.settings.smtp
        context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
        if not cfg.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        cfg = self.settings.smtp
        where = f"{cfg.host}:{cfg.port}"
        try:
            conn: smtplib.SMTP
            if cfg.security == "tls":
                conn = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=self._context()
                )
            else:
                conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
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
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(
                f"cannot connect to the SMTP server {where}: {exc}",
                hint="check smtp.host, smtp.port and smtp.security; nothing was marked sent",
            ) from None
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
                self._drop()
                last_error = f"connection lost: {exc}"
                continue
            if refused:
                code, text = next(iter(refused.values()))
                return SendResult(
                    recipient.delivery_id,
                    _outcome(code),
                    error=f"{code} {_text(text)}",
                )
            return SendResult(recipient.delivery_id, Outcome.ACCEPTED, provider_id=message_id)
        return SendResult(recipient.delivery_id, Outcome.RETRY, error=last_error)

    def send(self, edition: PreparedEdition, batch: Sequence[Recipient]) -> list[SendResult]:
        """One message per recipient over the reused connection."""
        return [self._send_one(edition, r) for r in batch]

    def close(self) -> None:
        """Say QUIT politely; a connection already gone is fine."""
        if self.conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.conn.quit()
        self._drop()
