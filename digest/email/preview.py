"""The editor's preview and test sends: the email exactly as a reader gets it, before it goes out.

`preview_edition` is the library function (the web app shows its HTML at phone and desktop
widths and its text); `write_preview` lays it out as files with an `index.html` to open.
"""

from __future__ import annotations

import html
import webbrowser
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import jinja2
from sqlalchemy import func, select

from digest.core.app import App
from digest.core.errors import DigestError
from digest.core.templating import render_template
from digest.email.checks import Finding, check_email
from digest.email.message import Recipient, compose
from digest.email.prepare import prepare
from digest.store.editions import EditionRow
from subscribers.addresses import normalise_email
from subscribers.models import Subscriber

PREVIEW_TEMPLATE = "preview/index.html"
# The widths the preview page shows: a common phone, and a desktop mail client's reading pane.
WIDTHS = (375, 700)
SAMPLE_EMAIL = "reader@example.com"
SAMPLE_NAME = "Sample Reader"


@dataclass(frozen=True)
class EmailPreview:
    """One edition rendered for one reader: both parts, the headers, the .eml and the findings."""

    edition: EditionRow
    subject: str
    html: str
    text: str
    headers: list[tuple[str, str]]
    eml: bytes
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class PreviewFiles:
    """Where `write_preview` put the edition."""

    html: Path
    text: Path
    eml: Path
    edition: EditionRow
    index: Path | None = None
    findings: list[Finding] = field(default_factory=list)


def reader(app: App, edition: EditionRow, email: str | None) -> Recipient:
    """The subscriber `email` as a send would address them, or a made-up sample reader."""
    if email is None:
        sub_id, address, name = 0, SAMPLE_EMAIL, SAMPLE_NAME
    else:
        address = normalise_email(email)
        with app.engine.connect() as conn:
            # Local parts are case-sensitive in principle, never in practice: match either way.
            row = conn.execute(
                select(Subscriber.id, Subscriber.email, Subscriber.name)
                .where(func.lower(Subscriber.email) == address.lower())
                .order_by(Subscriber.email != address, Subscriber.id)
            ).first()
        if row is None:
            raise DigestError(
                f"no subscriber with address {address}",
                hint="preview without --subscriber to use a sample reader",
            )
        sub_id, address, name = row.id, row.email, row.name
    token = app.signer.unsubscribe_token(sub_id, edition.newsletter, edition.id)
    return Recipient(
        delivery_id=0,
        subscriber_id=sub_id,
        email=address,
        name=name,
        unsubscribe_url=f"{app.settings.base_url}/u/{token}",
        preferences_url=(
            f"{app.settings.base_url}/preferences/"
            f"{app.signer.preferences_token(sub_id, edition.newsletter)}"
        ),
    )


def preview_edition(
    app: App, edition: EditionRow, now: datetime, subscriber: str | None = None
) -> EmailPreview:
    """Render `edition` for one reader (a sample one by default), with its checks."""
    prepared = prepare(app, edition)
    recipient = reader(app, edition, subscriber)
    msg = compose(prepared, recipient, now)
    body = prepared.rendered.html.fill(recipient.slot_values(), escape=html.escape)
    return EmailPreview(
        edition=edition,
        subject=prepared.subject,
        html=body,
        text=prepared.rendered.text.fill(recipient.slot_values()),
        headers=[(k, str(v)) for k, v in msg.items()],
        eml=bytes(msg),
        findings=check_email(body, app.settings.base_url, app.settings.email.clip_warning_kb),
    )


def write_preview(app: App, preview: EmailPreview, out: Path) -> PreviewFiles:
    """Write the HTML, text, .eml and an index.html showing both widths, text and headers."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{preview.edition.newsletter}-{preview.edition.number}"
    files = PreviewFiles(
        html=out / f"{stem}.html",
        text=out / f"{stem}.txt",
        eml=out / f"{stem}.eml",
        edition=preview.edition,
        index=out / "index.html",
        findings=preview.findings,
    )
    files.html.write_text(preview.html, encoding="utf-8")
    files.text.write_text(preview.text, encoding="utf-8")
    files.eml.write_bytes(preview.eml)
    page = preview_page(app.templates, preview, files)
    assert files.index is not None
    files.index.write_text(page, encoding="utf-8")
    return files


def preview_page(
    env: jinja2.Environment, preview: EmailPreview, files: PreviewFiles | None = None
) -> str:
    """The preview page: the email at each of WIDTHS, its text part, headers and findings.

    Self-contained (the email sits in each frame's srcdoc), so a web app can serve it as is;
    with `files`, it also links the written HTML, text and .eml.
    """
    return render_template(
        env,
        PREVIEW_TEMPLATE,
        {
            "preview": preview,
            "widths": WIDTHS,
            "html_file": files.html.name if files else None,
            "text_file": files.text.name if files else None,
            "eml_file": files.eml.name if files else None,
        },
    )


def open_in_browser(path: Path) -> bool:
    """Open the preview page in the desktop's browser; False where there is none."""
    return webbrowser.open(path.resolve().as_uri())
