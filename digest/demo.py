"""The demo: the whole flow on the bundled sample, in a fresh home, with no configuration."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from digest.core.app import create_app
from digest.core.errors import DigestError
from digest.core.resources import examples_dir
from digest.email.preview import PreviewFiles
from digest.ingest.service import SourceReport, ingest_path
from digest.pipeline import SendReport, preview, send
from digest.settings.loading import load_settings
from subscribers.store import ImportReport, import_csv

NEWSLETTER = "weekly"
# Written into every folder the demo makes: only such a folder is wiped without --force.
MARKER = ".digest-demo"
# What a demo folder holds; one made before the marker existed is known by holding no more.
DEMO_FILES = {
    MARKER,
    "digest.db",
    "digest.db-wal",
    "digest.db-shm",
    "secret.key",
    "outbox",
    "preview",
}


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put things, and what each step did."""

    home: Path
    ingest: SourceReport
    subscribers: ImportReport
    preview: PreviewFiles
    send: SendReport
    outbox: Path


def fresh_home(home: Path, force: bool = False) -> None:
    """Empty `home` for a new run, if it is the demo's own folder (or `force`); else refuse.

    A folder the demo made carries MARKER; an empty or missing folder is fine too. Anything
    else may be the user's files, and is never deleted on a guess.
    """
    if home.exists() and not home.is_dir():
        raise DigestError(f"{home} is a file, not a folder", hint="give --dir a folder")
    if home.is_dir() and any(home.iterdir()):
        ours = (home / MARKER).is_file() or {p.name for p in home.iterdir()} <= DEMO_FILES
        if not ours and not force:
            raise DigestError(
                f"{home} is not empty and was not made by `digest demo`; nothing was deleted",
                hint="give --dir a new or empty folder, or add --force to delete what is in it",
            )
        if home.resolve() in (Path.cwd().resolve(), Path.home().resolve()):
            raise DigestError(
                f"{home} is the current or home folder; the demo never empties it",
                hint="give --dir a folder of its own, e.g. --dir .demo",
            )
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("made by `digest demo`; `digest demo` may empty this folder\n")


def run_demo(home: Path, force: bool = False) -> DemoResult:
    """Start from an empty `home` (see fresh_home), then ingest the sample, import its
    subscribers, preview and send the edition."""
    fresh_home(home, force)
    examples = examples_dir()
    settings = load_settings(
        examples / "demo.toml", env={}, overrides={"home": str(home.resolve())}
    )
    app = create_app(settings)
    try:
        now = app.clock()
        ingested = ingest_path(app.engine, examples / "articles", now, source="demo sample")
        imported = import_csv(app.engine, examples / "subscribers.csv", NEWSLETTER, now)
        files = preview(app, NEWSLETTER, home / "preview", now)
        report = send(app, NEWSLETTER)
        outbox = settings.outbox_dir / NEWSLETTER / str(report.edition.number)
    finally:
        app.close()
    return DemoResult(home, ingested, imported, files, report, outbox)
