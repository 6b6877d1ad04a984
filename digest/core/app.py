"""Build the services once from the settings (the CLI, scheduler and web app all start here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from digest.core.db import open_database
from digest.core.keys import signing_keys
from digest.settings import Settings
from subscribers.suppression import AddressHasher
from subscribers.tokens import LinkSigner

if TYPE_CHECKING:
    import jinja2


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@dataclass
class App:
    """The settings plus the services built from them, each made on first use."""

    settings: Settings
    clock: Callable[[], datetime] = utcnow

    @cached_property
    def engine(self) -> Engine:
        """The database, migrated to the current schema."""
        return open_database(self.settings.db_url)

    @cached_property
    def templates(self) -> jinja2.Environment:
        """Jinja2 with the user's templates in front of ours (imported when first needed:
        list commands never render)."""
        from digest.core.templating import template_env

        return template_env(self.settings.templates_dir, self.settings.home / "cache" / "templates")

    @cached_property
    def signer(self) -> LinkSigner:
        """Signs the links in emails."""
        return LinkSigner(signing_keys(self.settings))

    @cached_property
    def hasher(self) -> AddressHasher:
        """Keyed hashes of addresses for the suppression list (same keys as the links)."""
        return AddressHasher(signing_keys(self.settings))

    def close(self) -> None:
        """Release the database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()


def create_app(settings: Settings, clock: Callable[[], datetime] = utcnow) -> App:
    """The one place services are built."""
    return App(settings=settings, clock=clock)
