"""The editor's desk: newsletters, editions and their pages, previews, test sends, approval
and sending (story changes are in routes_stories)."""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy import func, select

from digest.core.app import App
from digest.core.errors import NothingToSend
from digest.core.models import Edition, ScheduleRun
from digest.core.text import counted
from digest.editions.lifecycle import allowed_actions, history, transition
from digest.editions.timeline import timeline
from digest.email.message import Recipient
from digest.email.prepare import prepare
from digest.pipeline import prepare_draft
from digest.schedule.expressions import next_fire
from digest.schedule.jobs import send_trigger
from digest.sending.providers import create_mailer
from digest.store import articles, deliveries, editions, story_edits
from digest.store.editions import EditionRow
from digest.web.accounts import Role, record
from digest.web.sending import start_send
from digest.web.state import checked_form, render, require, state
from digest.web.webhook import figures

router = APIRouter(prefix="/desk", include_in_schema=False)
ACTIONS = ("approve", "reopen", "cancel")


def edition_of(request: Request, edition_id: int) -> EditionRow:
    """The edition with this id, or a 404."""
    st = state(request)
    with st.app.engine.connect() as conn:
        found = conn.execute(
            select(Edition.newsletter, Edition.number).where(Edition.id == edition_id)
        ).first()
        row = editions.get_edition(conn, found.newsletter, found.number) if found else None
    if row is None:
        raise HTTPException(status_code=404, detail="no such edition")
    return row


def _sample(request: Request, edition: EditionRow) -> Recipient:
    st = state(request)
    base = st.app.settings.base_url
    token = st.app.signer.unsubscribe_token(0, edition.newsletter, edition.id)
    prefs = st.app.signer.preferences_token(0, edition.newsletter)
    sample = ("reader@example.com", "Sample Reader")
    return Recipient(0, 0, *sample, f"{base}/u/{token}", f"{base}/preferences/{prefs}")


@router.get("")
def desk(request: Request) -> Response:
    """Every newsletter with its recent editions, and the weeks skipped or missed, with why."""
    require(request, Role.EDITOR)
    st = state(request)
    settings = st.app.settings
    with st.app.engine.connect() as conn:
        weeks = {name: timeline(conn, name, 20) for name in settings.newsletters}
    rows = {
        name: [
            {"edition": w.edition, "status": w.outcome, "reason": w.reason, "when": w.when}
            for w in weeks[name]
        ]
        for name in settings.newsletters
    }
    plans = {name: _plan(st.app, name) for name in settings.newsletters}
    return render(
        request,
        "desk.html",
        {"newsletters": settings.newsletters, "rows": rows, "plans": plans},
    )


def _plan(app: App, newsletter: str) -> dict[str, Any]:
    """When the newsletter next goes out, its zone, and its open edition if there is one."""
    nl = app.settings.newsletter(newsletter)
    trigger = send_trigger(app, newsletter)
    with app.engine.connect() as conn:
        open_edition = editions.open_edition(conn, newsletter)
        last_run = conn.execute(select(func.max(ScheduleRun.at))).scalar()
    return {
        "zone": nl.timezone or app.settings.timezone,
        "next_send": next_fire(trigger, app.clock()) if trigger else None,
        "open": open_edition,
        "last_run": last_run,
    }


@router.post("/newsletters/{newsletter}/draft")
async def build_draft(request: Request, newsletter: str) -> Response:
    """Build the newsletter's draft now from the articles in its window (or rebuild it)."""
    user = require(request, Role.EDITOR)
    await checked_form(request)
    st = state(request)
    if newsletter not in st.app.settings.newsletters:
        raise HTTPException(status_code=404, detail="no such newsletter")
    now = st.app.clock()

    def work() -> EditionRow:
        draft = prepare_draft(st.app, newsletter, now)
        with st.app.engine.begin() as conn:
            record(conn, user.username, "edition.build", f"{newsletter}#{draft.number}", "", now)
        return draft

    try:
        draft = await run_in_threadpool(work)
    except NothingToSend as exc:
        context = {"title": "No draft yet", "text": str(exc), "back": "/desk"}
        return render(request, "message.html", context | {"back_label": "Back to the desk"}, 409)
    return RedirectResponse(f"/desk/editions/{draft.id}", status_code=303)


@router.get("/editions/{edition_id}")
def edition_page(request: Request, edition_id: int) -> Response:
    """The draft editor (or, past the draft, the edition's status and figures)."""
    require(request, Role.EDITOR)
    st = state(request)
    edition = edition_of(request, edition_id)
    with st.app.engine.connect() as conn:
        counts = deliveries.counts(conn, edition.id)
        events = figures(conn, edition.id)
        moves = history(conn, edition.id)
        members = articles.members(conn, edition.content.article_ids)
        changes = story_edits.edits_for(conn, edition.newsletter, edition.number)
    # Articles an editor placed by hand (split out, or merged): the page offers to undo it.
    placed = changes.splits | {article for article, _ in changes.merges}
    shown = ["delivered", "bounce", "spamreport", "unsubscribe", "group_unsubscribe", "dropped"]
    if st.app.settings.web.tracking:
        shown += ["open", "click"]
    plan = _plan(st.app, edition.newsletter)
    total = sum(counts.values())
    waiting = ("pending", "retrying", "claimed")
    settled = total - sum(counts.get(k, 0) for k in waiting)
    return render(
        request,
        "edition.html",
        {
            "edition": edition,
            "plan": plan,
            "members": members,
            "placed": placed,
            "zone": plan["zone"],
            "from_name": st.app.settings.sender.name,
            "progress": (settled, total),
            "content": edition.content,
            "editable": edition.status == "draft",
            "actions": [a for a in allowed_actions(edition.status) if a in ACTIONS],
            "counts": counts,
            "events": {k: events.get(k, 0) for k in shown},
            "history": moves,
        },
    )


@router.get("/editions/{edition_id}/preview.html")
def preview_html(request: Request, edition_id: int) -> Response:
    """The edition as readers get it (CSS inlined), for the desk's phone and desktop frames."""
    require(request, Role.EDITOR)
    edition = edition_of(request, edition_id)
    prepared = prepare(state(request).app, edition)
    values = _sample(request, edition).slot_values()
    body = prepared.rendered.html.fill(values, escape=html.escape)
    # The preview runs no scripts and posts no forms, whatever an article contains (content is
    # escaped anyway; this is the second wall). Not `sandbox`: headless Chromium then paints
    # the frame blank, and default-src 'none' already forbids scripts.
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": "default-src 'none'; form-action 'none'; "
            "style-src 'unsafe-inline'; img-src https: data:"
        },
    )


@router.get("/editions/{edition_id}/preview.txt")
def preview_text(request: Request, edition_id: int) -> Response:
    """The plain-text part."""
    require(request, Role.EDITOR)
    edition = edition_of(request, edition_id)
    prepared = prepare(state(request).app, edition)
    return PlainTextResponse(prepared.rendered.text.fill(_sample(request, edition).slot_values()))


CONFIRM = {
    "cancel": (
        "Cancel this edition?",
        "A cancelled edition is never sent{sent}.",
        "Yes, cancel it",
    ),
    "send": (
        "Send this edition now?",
        "Every active reader of {title} gets it now, not at the scheduled time. A send that is "
        "interrupted resumes where it stopped; nobody gets it twice.",
        "Yes, send it now",
    ),
}


@router.get("/editions/{edition_id}/confirm/{action}")
def confirm_page(request: Request, edition_id: int, action: str) -> Response:
    """A second step before what cannot be taken back: cancelling, and sending now."""
    require(request, Role.EDITOR)
    if action not in CONFIRM:
        raise HTTPException(status_code=404, detail="nothing to confirm")
    st = state(request)
    edition = edition_of(request, edition_id)
    with st.app.engine.connect() as conn:
        sent = deliveries.counts(conn, edition.id).get("sent", 0)
    question, text, button = CONFIRM[action]
    settings = st.app.settings.newsletter(edition.newsletter)
    title = settings.title
    comes_back = "do" if settings.repeat_partly_sent else "do not"
    already = (
        f" to anyone more. It already went to {counted(sent, 'reader')}, so its stories "
        f"{comes_back} come back in the next draft"
        if sent
        else ". Its stories can appear in the next draft"
    )
    return render(
        request,
        "confirm_action.html",
        {
            "edition": edition, "action": action, "question": question, "button": button,
            "text": text.format(title=title, sent=already),
            "target": f"/desk/editions/{edition_id}/" + ("send" if action == "send" else "action"),
        },
    )  # fmt: skip


@router.post("/editions/{edition_id}/send")
async def send_now(request: Request, edition_id: int) -> Response:
    """Start sending an approved edition now, in the background; the page shows its progress."""
    user = require(request, Role.EDITOR)
    await checked_form(request)
    st = state(request)
    edition = edition_of(request, edition_id)
    if edition.status not in ("approved", "failed"):
        raise HTTPException(
            status_code=409, detail=f"the edition is {edition.status}; approve it first"
        )
    with st.app.engine.begin() as conn:
        target = f"{edition.newsletter}#{edition.number}"
        record(conn, user.username, "edition.send", target, "", st.app.clock())
    start_send(st.app, edition.newsletter, f"web:{user.username}")
    return RedirectResponse(f"/desk/editions/{edition_id}", status_code=303)


@router.post("/editions/{edition_id}/action")
async def act(request: Request, edition_id: int) -> Response:
    """Approve, reopen or cancel, through the lifecycle (so every move is recorded)."""
    user = require(request, Role.EDITOR)
    form = await checked_form(request)
    action = form.get("action", "")
    if action == "rebuild":
        return _rebuild(request, edition_id, user.username)
    if action not in ACTIONS:
        raise HTTPException(status_code=400, detail=f"unknown action {action!r}")
    st = state(request)
    edition = edition_of(request, edition_id)
    now = st.app.clock()
    with st.app.engine.begin() as conn:
        transition(conn, edition.id, action, f"web:{user.username}", now, form.get("reason", ""))
        record(
            conn,
            user.username,
            f"edition.{action}",
            f"{edition.newsletter}#{edition.number}",
            "",
            now,
        )
    return RedirectResponse(f"/desk/editions/{edition_id}", status_code=303)


def _rebuild(request: Request, edition_id: int, username: str) -> Response:
    """Build the draft again from the articles, keeping pins, removals and rewritten stories."""
    st = state(request)
    edition = edition_of(request, edition_id)
    if edition.status != "draft":
        raise HTTPException(status_code=409, detail=f"the edition is {edition.status}")
    now = st.app.clock()
    rebuilt = prepare_draft(st.app, edition.newsletter, now, edition.scheduled_for, rebuild=True)
    with st.app.engine.begin() as conn:
        target = f"{edition.newsletter}#{edition.number}"
        record(conn, username, "edition.rebuild", target, "", now)
    return RedirectResponse(f"/desk/editions/{rebuilt.id}", status_code=303)


@router.post("/editions/{edition_id}/test")
async def test_send(request: Request, edition_id: int) -> Response:
    """Send the edition, marked [TEST], to the signed-in editor only; the ledger is untouched."""
    user = require(request, Role.EDITOR)
    await checked_form(request)
    if not user.email:
        raise HTTPException(status_code=400, detail="your account has no email address for tests")
    st = state(request)
    edition = edition_of(request, edition_id)

    def work() -> str:
        prepared = replace(prepare(st.app, edition), test=True)  # [TEST], never a delivery
        recipient = _sample(request, edition)._replace(email=user.email, name=user.username)
        mailer = create_mailer(st.app.settings.provider, st.app.settings, st.app.clock)
        try:
            results = mailer.send(prepared, [recipient])
        finally:
            mailer.close()
        with st.app.engine.begin() as conn:
            record(
                conn,
                user.username,
                "edition.test",
                f"{edition.newsletter}#{edition.number}",
                user.email,
                st.app.clock(),
            )
        return results[0].outcome.value if results else "no answer"

    outcome = await run_in_threadpool(work)
    return render(
        request,
        "message.html",
        {
            "title": "Test sent",
            "text": f"Test to {user.email}: {outcome}.",
            "back": f"/desk/editions/{edition_id}",
        },
    )
