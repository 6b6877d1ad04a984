"""Operators' pages: find subscribers, one subscriber's story, import, export, suppression."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

from digest.core.models import Delivery, Edition
from digest.web import lists
from digest.web.accounts import Role, audit_log, record
from digest.web.models import ProviderEvent
from digest.web.state import checked_form, render, require, state
from subscribers.addresses import InvalidAddress
from subscribers.errors import NotFound, SubscribersError
from subscribers.export import export_list
from subscribers.store import import_csv

router = APIRouter(prefix="/ops", include_in_schema=False)
# What the audit log's action codes mean to a person reading it.
ACTION_NAMES = {
    "login.ok": "signed in", "login.failed": "failed to sign in",
    "login.limited": "was refused sign-in (too many attempts)", "logout": "signed out",
    "user.add": "added an account", "user.passwd": "set a new password",
    "user.remove": "removed an account",
    "edition.build": "built a draft", "edition.rebuild": "rebuilt the draft",
    "edition.approve": "approved", "edition.reopen": "reopened", "edition.cancel": "cancelled",
    "edition.send": "started sending", "edition.test": "sent a test to",
    "edition.meta": "edited subject, preheader or intro", "edition.story": "edited a story",
    "edition.up": "moved a story up", "edition.down": "moved a story down",
    "edition.pin": "pinned a story", "edition.remove": "removed a story",
    "edition.split": "split an article out of a story", "edition.merge": "merged two stories",
    "edition.regroup": "let grouping place an article again",
    "list.import": "imported a CSV into", "list.export": "exported",
    "subscriber.unsubscribe": "unsubscribed", "subscriber.resubscribe": "resubscribed",
    "subscriber.suppress": "suppressed",
    "subscriber.unsuppress": "removed from the suppression list",
    "subscriber.erase": "erased",
}  # fmt: skip


@router.get("")
def search_page(request: Request, q: str = "") -> Response:
    """Search subscribers by address or name."""
    require(request, Role.OPERATOR)
    st = state(request)
    found = []
    if q.strip():
        with st.app.engine.connect() as conn:
            found = lists.search(conn, q)
    return render(
        request, "ops.html", {"q": q, "found": found, "newsletters": st.app.settings.newsletters}
    )


@router.get("/subscribers/{subscriber_id}")
def subscriber_page(request: Request, subscriber_id: int, done: str = "") -> Response:
    """Memberships and statuses, deliveries and provider events of one subscriber."""
    require(request, Role.OPERATOR)
    st = state(request)
    with st.app.engine.connect() as conn:
        sub = lists.get_subscriber(conn, subscriber_id)
        if sub is None:
            raise HTTPException(status_code=404, detail="no such subscriber")
        full = lists.detail(conn, sub.email, st.app.hasher)
        sent = conn.execute(
            select(Edition.newsletter, Edition.number, Delivery.status, Delivery.updated_at)
            .join(Edition, Edition.id == Delivery.edition_id)
            .where(Delivery.subscriber_id == subscriber_id)
            .order_by(Delivery.id.desc())
            .limit(100)
        ).all()
        events = conn.execute(
            select(ProviderEvent.event, ProviderEvent.reason, ProviderEvent.occurred_at)
            .where(ProviderEvent.subscriber_id == subscriber_id)
            .order_by(ProviderEvent.id.desc())
            .limit(100)
        ).all()
    done = ACTION_NAMES.get(f"subscriber.{done}", "") if done else ""
    context = {"sub": sub, "full": full, "sent": sent, "events": events, "done": done}
    return render(request, "subscriber.html", context)


@router.post("/subscribers/{subscriber_id}/action")
async def subscriber_action(request: Request, subscriber_id: int) -> Response:
    """Unsubscribe, resubscribe (with a consent record), suppress, unsuppress or erase a reader;
    each is written to the audit log with the status before and after."""
    user = require(request, Role.OPERATOR)
    form = await checked_form(request)
    st = state(request)
    action = form.get("action", "")
    now = st.app.clock()
    try:
        with st.writing(), st.app.engine.begin() as conn:
            change = lists.operator_action(conn, subscriber_id, action, form, now, st.app.hasher)
            record(conn, user.username, f"subscriber.{action}", f"subscriber {subscriber_id}",
                   change, now)  # fmt: skip
    except SubscribersError as exc:
        text = exc.message + (f" ({exc.hint})" if exc.hint else "")
        back = f"/ops/subscribers/{subscriber_id}"
        return render(request, "message.html", {"title": "Not done", "text": text, "back": back},
                      404 if isinstance(exc, NotFound) else 400)  # fmt: skip
    if action == "erase":
        return render(request, "message.html", {"title": "Erased", "text": change, "back": "/ops"})
    return RedirectResponse(f"/ops/subscribers/{subscriber_id}?done={action}", status_code=303)


@router.get("/suppression")
def suppression(request: Request) -> Response:
    """Addresses that must not be mailed: bounced or complained."""
    require(request, Role.OPERATOR)
    with state(request).app.engine.connect() as conn:
        rows = lists.suppressed(conn)
    return render(request, "suppression.html", {"rows": rows})


@router.get("/audit")
def audit(request: Request) -> Response:
    """The newest changes made through the web app."""
    require(request, Role.OPERATOR)
    with state(request).app.engine.connect() as conn:
        rows = audit_log(conn)
    return render(request, "audit.html", {"rows": rows, "actions": ACTION_NAMES})


@router.get("/export/{newsletter}.csv")
def export(request: Request, newsletter: str) -> Response:
    """One list's members as CSV, as `digest subscribers export` writes it."""
    user = require(request, Role.OPERATOR)
    st = state(request)
    if newsletter not in st.app.settings.newsletters:
        raise HTTPException(status_code=404, detail="no such newsletter")
    with st.app.engine.begin() as conn:
        record(conn, user.username, "list.export", newsletter, "", st.app.clock())

    def rows() -> Iterator[str]:
        # The CLI's export (formula-safe cells, topics and consent), spooled to a temporary
        # file so memory stays flat whatever the list's size.
        with tempfile.TemporaryFile("w+", newline="", encoding="utf-8") as out:
            with st.app.engine.connect() as conn:
                export_list(conn, newsletter, out)
            out.seek(0)
            while chunk := out.read(65536):
                yield chunk

    return StreamingResponse(
        rows(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{newsletter}.csv"'},
    )


@router.post("/import")
async def import_page(request: Request) -> Response:
    """Import an uploaded CSV with the CLI's rules; show its report (bad rows by line)."""
    user = require(request, Role.OPERATOR)
    await checked_form(request)
    form = await request.form()
    upload = form.get("file")
    newsletter = str(form.get("list", ""))
    st = state(request)
    if newsletter not in st.app.settings.newsletters:
        raise HTTPException(status_code=400, detail="choose one of the newsletters")
    if upload is None or isinstance(upload, str):
        raise HTTPException(status_code=400, detail="choose a CSV file")
    data = await upload.read()

    def work():  # type: ignore[no-untyped-def]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / (Path(upload.filename or "upload.csv").name or "upload.csv")
            path.write_bytes(data)
            report = import_csv(
                st.app.engine, path, newsletter, st.app.clock(), hasher=st.app.hasher,
                allowed_topics=st.app.settings.newsletters[newsletter].tags,
            )  # fmt: skip
        with st.app.engine.begin() as conn:
            record(
                conn,
                user.username,
                "list.import",
                newsletter,
                f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
                f"rejected {len(report.rejected)}, warnings {len(report.warnings)}",
                st.app.clock(),
            )
        return report

    try:
        report = await run_in_threadpool(work)
    except InvalidAddress as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    title = st.app.settings.newsletters[newsletter].title
    return render(request, "import_report.html", {"report": report, "title": title})
