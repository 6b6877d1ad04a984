"""The `digest` group and its global options; domain errors become one line and exit 1 here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from dotenv import find_dotenv, load_dotenv

from digest.core.app import App, create_app
from digest.core.errors import DigestError
from digest.settings.loading import LoadedConfig, load_config
from subscribers.errors import SubscribersError


@dataclass
class State:
    """What the global options said; settings and services are built on first use."""

    config: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False
    _app: App | None = None

    def loaded(self) -> LoadedConfig:
        """The settings with their origins."""
        return load_config(self.config, overrides=self.overrides)

    def app(self) -> App:
        """The services, built once."""
        if self._app is None:
            self._app = create_app(self.loaded().settings)
        return self._app


class DigestGroup(click.Group):
    """A group that turns domain errors into one clear line and exit code 1 (or their own)."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; DigestError → message and hint on stderr, exit 1."""
        try:
            return super().invoke(ctx)
        except (DigestError, SubscribersError) as exc:
            state = ctx.find_object(State)
            if state is not None and state.verbose:
                raise
            message = getattr(exc, "message", str(exc))
            click.secho(f"error: {message}", fg="red", err=True)
            hint = getattr(exc, "hint", None)
            if hint:
                click.echo(f"hint: {hint}", err=True)
            # A send stopped by a signal exits as the shell expects (130 SIGINT, 143 SIGTERM).
            ctx.exit(getattr(exc, "exit_code", 1))
        finally:
            state = ctx.find_object(State)
            if state is not None and state._app is not None:
                state._app.close()


def _parse_set(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        out[key.strip()] = value
    return out


@click.group(cls=DigestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path),
    envvar="DIGEST_CONFIG",
    help="Settings file (default: config/digest.toml if it exists).",
)
@click.option("--home", type=click.Path(path_type=Path), help="Folder for all state (DIGEST_HOME).")
@click.option("--database-url", help="Database URL (DIGEST_DATABASE_URL).")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override any setting, e.g. --set sender.name='The Weekly'. Repeatable.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="digest")
@click.pass_context
def cli(
    ctx: click.Context,
    config: Path | None,
    home: Path | None,
    database_url: str | None,
    sets: tuple[str, ...],
    verbose: bool,
) -> None:
    """digest: newsletter digests from tagged articles.

    \b
    Try it:  digest demo
    Then:    digest ingest ./articles && digest preview weekly && digest send weekly
    """
    overrides: dict[str, Any] = _parse_set(sets)
    if home is not None:
        overrides["home"] = str(home)
    if database_url is not None:
        overrides["database_url"] = database_url
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = State(config=config, overrides=overrides, verbose=verbose)


def main() -> None:
    """Console entry point: load .env (never overriding the environment), then run."""
    load_dotenv(find_dotenv(usecwd=True), override=False)
    cli.main(prog_name="digest")
