"""The `digest` group and its global options; domain errors become one line and exit 1 here.

Commands are imported when they are run, not when `digest` starts: `digest send` does not pay
for the ingest, grouping and web libraries (see COMMANDS).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from dotenv import find_dotenv, load_dotenv

from digest.core.errors import DigestError
from digest.settings.loading import LoadedConfig, load_config
from subscribers.errors import SubscribersError

if TYPE_CHECKING:
    from digest.core.app import App

# Each top-level command: the module under digest.cli that defines it, and its one-line help
# for `digest --help` (a test keeps both in step with the commands themselves).
COMMANDS: dict[str, tuple[str, str]] = {
    "articles": ("articles", "Look at stored articles."),
    "config": ("config_cmd", "Inspect settings."),
    "db": ("db_cmd", "Manage the database schema."),
    "demo": (
        "demo_cmd",
        "Run the whole flow on the bundled sample: ingest, preview, send to the outbox.",
    ),
    "edition": (
        "schedule_cmd",
        "See and move editions through their life: approve, reopen, cancel.",
    ),
    "extract": (
        "sources_cmd",
        "Print what ingestion would store for a file, folder or URL, without storing it.",
    ),
    "ingest": (
        "articles",
        "Read articles from PATHS (folders, files, feed or page URLs), or the configured sources.",
    ),
    "preview": (
        "preview_cmd",
        "Write the edition as a reader gets it: index.html (phone and desktop widths, text, "
        "headers), the HTML, the text and the .eml.",
    ),
    "schedule": ("schedule_cmd", "The scheduler: list its jobs, run it."),
    "send": ("send_cmd", "Send an edition, or see and steer a send in progress."),
    "serve": ("web_cmd", "Run the web app: the editor's desk, subscribers' pages, the webhook."),
    "sources": ("sources_cmd", "List, add, remove and check article sources."),
    "stories": (
        "stories_cmd",
        'Group JSON Lines rows {"id", "title", "text", "published"?} of SOURCE into stories.',
    ),
    "story": (
        "stories_cmd",
        "Editors' changes to a draft's stories; they survive every rebuild of the draft.",
    ),
    "subscribers": (
        "subscribers_cmd",
        "Manage subscriber lists: members, consent, topics, suppression, import and export.",
    ),
    "summarize": (
        "stories_cmd",
        'Summarise each JSON Lines row {"id", "text", "title"?} of SOURCE (a file or -).',
    ),
    "templates": ("templates_cmd", "Customise the email templates."),
    "test-send": (
        "preview_cmd",
        "Send one copy marked [TEST] through the configured provider; no delivery is recorded.",
    ),
    "users": ("web_cmd", "Accounts of the web app (roles: editor, operator)."),
}


@dataclass
class State:
    """What the global options said; settings and services are built on first use."""

    config: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False
    _app: App | None = None
    _warned: bool = False

    def loaded(self) -> LoadedConfig:
        """The settings with their origins; warns once about DIGEST_* variables set in vain."""
        found = load_config(self.config, overrides=self.overrides)
        if not self._warned:
            self._warned = True
            for warning in found.warnings:
                click.secho(f"warning: {warning}", fg="yellow", err=True)
        return found

    def app(self) -> App:
        """The services, built once."""
        if self._app is None:
            from digest.core.app import create_app

            self._app = create_app(self.loaded().settings)
        return self._app


class DigestGroup(click.Group):
    """A group that turns domain errors into one clear line and exit code 1 (or their own)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Accept the global options anywhere: `digest extract URL --set k=v` works too."""
        return super().parse_args(ctx, hoist_global_options(args))

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, loaded or not."""
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module the first time it is asked for."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"digest.cli.{COMMANDS[cmd_name][0]}")
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS, so `digest --help` imports no command."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            if name in COMMANDS:
                # Shortened as click shortens a loaded command's help.
                text = click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)
            else:
                command = self.commands[name]
                if command.hidden:
                    continue
                text = command.get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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


# The group's own options and whether each takes a value; no command uses these names.
GLOBAL_OPTIONS = {"--config": True, "--home": True, "--database-url": True, "--set": True,
                  "-v": False, "--verbose": False}  # fmt: skip


def hoist_global_options(args: list[str]) -> list[str]:
    """Move global options typed after the command to the front, where click expects them.

    Nothing after `--` moves: it ends the options.
    """
    front: list[str] = []
    rest: list[str] = []
    command_seen = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name, eq, _ = arg.partition("=")
        takes_value = GLOBAL_OPTIONS.get(name)
        if takes_value is not None:
            width = 2 if takes_value and not eq else 1
            front += args[i : i + width]
            i += width
            continue
        command_seen = command_seen or not arg.startswith("-")
        (rest if command_seen else front).append(arg)
        i += 1
    return front + rest


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
    quiet_libraries(verbose)
    ctx.obj = State(config=config, overrides=overrides, verbose=verbose)


# Libraries that log their own findings about pages and feeds (a missing date, a short text,
# a guessed encoding) at WARNING or ERROR: what matters reaches the user as digest's own one
# line per source, so theirs are shown only with --verbose.
LIBRARY_LOGGERS = (
    "trafilatura", "htmldate", "courlan", "justext", "charset_normalizer", "readability",
    "cssutils", "CSSUTILS", "feedparser", "httpx", "httpcore",
)  # fmt: skip


def quiet_libraries(verbose: bool) -> None:
    """Library loggers at DEBUG under --verbose, otherwise silent."""
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.CRITICAL + 1)


def main() -> None:
    """Console entry point: load .env (never overriding the environment), then run."""
    load_dotenv(find_dotenv(usecwd=True), override=False)
    cli.main(prog_name="digest")
