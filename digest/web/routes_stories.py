"""The desk's changes to a draft's stories: move, pin, remove, rewrite (saved into the draft),
and split or merge (corrections to grouping, after which the draft is rebuilt). Pins, removals,
rewrites, splits and merges are also stored apart, so every rebuild applies them again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from digest.core.errors import DigestError
from digest.editions.content import EditionContent
from digest.editions.editorial import regroup_story
from digest.pipeline import prepare_draft
from digest.store import editions, story_edits
from digest.store.editions import EditionRow
from digest.web import editing
from digest.web.accounts import Role, record
from digest.web.routes_desk import edition_of
from digest.web.state import checked_form, render, require, state

router = APIRouter(prefix="/desk", include_in_schema=False)


def _apply(content: EditionContent, form: dict[str, str]) -> tuple[EditionContent, str]:
    op = form.get("op", "")
    try:
        sec, idx = int(form.get("sec", "-1")), int(form.get("idx", "-1"))
    except ValueError:
        raise HTTPException(status_code=400, detail="sec and idx must be numbers") from None
    if op == "meta":
        return editing.edit_meta(
            content, form.get("subject", ""), form.get("preheader", ""), form.get("intro", "")
        ), op
    if sec < 0 or idx < 0:
        raise HTTPException(status_code=400, detail="which story? sec and idx are missing")
    if op == "up":
        return editing.move(content, sec, idx, -1), op
    if op == "down":
        return editing.move(content, sec, idx, 1), op
    if op == "pin":
        return editing.pin(content, sec, idx), op
    if op == "remove":
        return editing.remove(content, sec, idx), op
    if op == "story":
        return editing.edit_story(
            content, sec, idx, form.get("headline", ""), form.get("summary", "")
        ), op
    raise HTTPException(status_code=400, detail=f"unknown change {op!r}")


def _remember(
    conn: Connection, edition: EditionRow, op: str, form: dict[str, str], actor: str, now: datetime
) -> None:
    """Store pins, removals and rewritten stories apart, so a rebuild of the draft keeps them."""
    if op not in ("pin", "remove", "story"):
        return
    story = edition.content.sections[int(form["sec"])].stories[int(form["idx"])]
    if not story.article_ids:
        return
    values: dict[str, bool | str | None] = (
        {"pinned": True}
        if op == "pin"
        else {"removed": True}
        if op == "remove"
        else {"headline": form.get("headline", ""), "summary": form.get("summary", "")}
    )
    key = story.key or min(story.article_ids)  # the story's stable handle: its lowest article id
    story_edits.save_edit(conn, edition.newsletter, edition.number, key, actor, now, **values)


@router.post("/editions/{edition_id}/edit")
async def edit(request: Request, edition_id: int) -> Response:
    """One change to the draft; saved at once and written to the audit log."""
    user = require(request, Role.EDITOR)
    form = await checked_form(request)
    st = state(request)
    edition = edition_of(request, edition_id)
    if edition.status != "draft":
        raise HTTPException(
            status_code=409, detail=f"the edition is {edition.status}; reopen it to edit"
        )
    content, op = _apply(edition.content, form)
    now = st.app.clock()
    with st.app.engine.begin() as conn:
        _remember(conn, edition, op, form, f"web:{user.username}", now)
        editions.save_draft(conn, replace(content, edited=True), now)
        sec, idx = int(form.get("sec", "-1")), int(form.get("idx", "-1"))
        detail = editing.describe(edition.content, content, op, sec, idx)
        record(
            conn,
            user.username,
            f"edition.{op}",
            f"{edition.newsletter}#{edition.number}",
            detail,
            now,
        )
    return RedirectResponse(f"/desk/editions/{edition_id}", status_code=303)


REGROUPED = {"split": "Story split", "merge": "Stories merged", "regroup": "Grouping restored"}


@router.post("/editions/{edition_id}/regroup")
async def regroup(request: Request, edition_id: int) -> Response:
    """Correct grouping: split an article out of its story, merge two stories, or undo either.
    Stored apart like pins, so every rebuild keeps it; the draft is rebuilt at once."""
    user = require(request, Role.EDITOR)
    form = await checked_form(request)
    st = state(request)
    edition = edition_of(request, edition_id)
    op = form.get("op", "")
    try:
        article = int(form.get("article", ""))
        into = int(form["into"]) if form.get("into") else None
    except ValueError:
        raise HTTPException(
            status_code=400, detail="article and into must be article ids"
        ) from None
    now = st.app.clock()
    back = f"/desk/editions/{edition_id}"

    def work() -> str:
        with st.app.engine.begin() as conn:
            done = regroup_story(conn, edition, op, article, into, f"web:{user.username}", now)
            target = f"{edition.newsletter}#{edition.number}"
            record(conn, user.username, f"edition.{op}", target, done, now)
        prepare_draft(st.app, edition.newsletter, now, edition.scheduled_for, rebuild=True)
        return done

    try:
        done = await run_in_threadpool(work)
    except DigestError as exc:
        return render(
            request, "message.html", {"title": "Not done", "text": str(exc), "back": back}, 409
        )
    text = (
        f"{done[:1].upper()}{done[1:]}; the draft was rebuilt with it, and every rebuild keeps it."
    )
    return render(request, "message.html", {"title": REGROUPED[op], "text": text, "back": back})
