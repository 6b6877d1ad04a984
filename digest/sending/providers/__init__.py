"""Mail providers behind one small interface, registered by name."""

from digest.sending.providers.base import Mailer, SendResult, create_mailer, register

# Importing the built-in providers registers them.
from digest.sending.providers import outbox as _outbox  # noqa: F401  isort: skip
from digest.sending.providers import sendgrid as _sendgrid  # noqa: F401  isort: skip
from digest.sending.providers import smtp as _smtp  # noqa: F401  isort: skip

__all__ = ["Mailer", "SendResult", "create_mailer", "register"]
