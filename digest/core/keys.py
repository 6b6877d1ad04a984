"""The keys that sign links: from the environment, else a random key kept under DIGEST_HOME."""

from __future__ import annotations

import logging
import os
import secrets

from digest.settings import Settings

log = logging.getLogger(__name__)


def signing_keys(settings: Settings) -> list[str]:
    """Keys for LinkSigner, newest first; `secret_key` may list old keys after commas."""
    if settings.secret_key is not None:
        keys = [k.strip() for k in settings.secret_key.get_secret_value().split(",") if k.strip()]
        if keys:
            return keys
    path = settings.home / "secret.key"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
        log.warning("no DIGEST_SECRET_KEY set; generated a development key in %s", path)
    return [path.read_text().strip()]
