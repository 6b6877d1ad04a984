"""The demo: the whole flow on the bundled sample, in a fresh home, with no configuration."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from digest.core.app import create_app
from digest.core.resources import examples_dir
from digest.email.preview import PreviewFiles
from digest.ingest.service import SourceReport, ingest_path
from digest.pipeline import SendReport, preview, send
from digest.settings.loading import load_settings
from subscribers.store import ImportReport, import_csv

NEWSLETTER = "weekly"


@dataclass(frozen=True)
class DemoResult:
    """Where the demo put things, and what each step did."""

    home: Path
    ingest: SourceReport
    subscribers: ImportReport
    preview: PreviewFiles
    send: SendReport
    outbox: Path


def run_demo(home: Path) -> DemoResult:
    """Wipe `home`, then ingest the sample, import its subscribers, preview and send the edition."""
    if home.exists():
        shutil.rmtree(home)
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
