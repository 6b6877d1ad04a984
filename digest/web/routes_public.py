"""Pages for readers, no account: subscribe, confirm, preferences, and the archive with Atom."""

from __future__ import annotations

import html
import secrets
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Connection, select

from digest.core.keys import signing_keys
from digest.core.models import Edition
from digest.editions.content import EditionContent
from digest.email.message import Recipient
from digest.email.prepare import prepare
from digest.sending.confirmations import send_confirmation, send_preferences_link
from digest.store import editions
from digest.web import lists
from digest.web.preferences import preference_rows
from digest.web.state import client_ip, newsletter_title, render, state
from subscribers.addresses import InvalidAddress, normalise_email
from subscribers.tokens import InvalidToken

router = APIRouter(include_in_schema=False)
FORM_MAX_AGE = 6 * 3600


def _form_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        signing_keys(state(request).app.settings), salt="digest.subscribe-form"
    )


def _check_form_token(request: Request, token: str, newsletter: str) -> None:
    """A public form must come from our own page for this newsletter, and be fresh (403)."""
    try:
        nl, _ = _form_signer(request).loads(token, max_age=FORM_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError):
        raise HTTPException(status_code=403, detail="the form expired; reload the page") from None
    if nl != newsletter:
        raise HTTPException(status_code=403, detail="the form belongs to another newsletter")


def _newsletter_or_404(request: Request, name: str) -> str:
    settings = state(request).app.settings
    if name not in settings.newsletters:
        raise HTTPException(status_code=404, detail="no such newsletter")
    return settings.newsletters[name].title


def _public_form(request: Request, newsletter: str, template: str) -> Response:
    """A form for anyone, with a signed form token (the anonymous CSRF guard)."""
    title = _newsletter_or_404(request, newsletter)
    token = _form_signer(request).dumps([newsletter, secrets.token_urlsafe(8)])
    context = {"newsletter": newsletter, "title": title, "form_token": token}
    return render(request, template, context)


def _check_inbox(request: Request, text: str) -> Response:
    """The one answer a public form gives, whoever the address belongs to."""
    return render(request, "message.html", {"title": "Check your inbox", "text": text})


async def _intake(
    request: Request, newsletter: str, template: str, answer: str, what: str
) -> tuple[Any, str, Response] | Response:
    """A public form's fields, its address and the one answer it gives (`answer`, with
    `{title}` for the newsletter's), or the response to give instead: the same answer for a
    bot (the honeypot) or an address already mailed enough this hour, the form again for an
    address that is not one, 429 past the per-client limit. The form token is checked first."""
    title = _newsletter_or_404(request, newsletter)
    st = state(request)
    form = await request.form()
    _check_form_token(request, str(form.get("form_token", "")), newsletter)
    done = _check_inbox(request, answer.format(title=title))
    if form.get("website"):  # the honeypot: people never see it, bots fill it in
        return done
    try:
        email = normalise_email(str(form.get("email", "")))
    except InvalidAddress as exc:
        context = {"newsletter": newsletter, "title": title, "error": str(exc)}
        return render(request, template, context | {"form_token": form.get("form_token")}, 400)
    if not st.subscribe_by_ip.hit(client_ip(request)):
        raise HTTPException(status_code=429, detail=f"too many {what} from your address; try later")
    if not st.subscribe_by_address.hit(email):
        return done  # list-bombing guard: no more mail to this address for now, and say nothing
    return form, email, done


@router.get("/subscribe/{newsletter}")
def subscribe_page(request: Request, newsletter: str) -> Response:
    """The sign-up form, with a signed form token (the anonymous CSRF guard) and a honeypot."""
    return _public_form(request, newsletter, "subscribe.html")


@router.post("/subscribe/{newsletter}")
async def subscribe(request: Request, newsletter: str) -> Response:
    """Record a pending subscription and email the confirm link; the same answer every time."""
    st = state(request)
    taken = await _intake(
        request, newsletter, "subscribe.html",
        "If the address is right, an email to confirm your subscription to {title} is on its way.",
        "sign-ups",
    )  # fmt: skip
    if isinstance(taken, Response):
        return taken
    form, email, done = taken
    name = str(form.get("name", ""))[:200]

    def work() -> None:
        now = st.app.clock()
        with st.app.engine.begin() as conn:
            sub_id = lists.subscribe_pending(
                conn, email, newsletter, name, now, ip=client_ip(request), hasher=st.app.hasher
            )
        if sub_id is None:  # suppressed or already a member: no email, the same answer
            return
        send_confirmation(st.app, sub_id, newsletter)

    await run_in_threadpool(work)
    return done


@router.get("/manage/{newsletter}")
def manage_page(request: Request, newsletter: str) -> Response:
    """For a reader without their email at hand: ask for a link to their preferences."""
    return _public_form(request, newsletter, "manage.html")


@router.post("/manage/{newsletter}")
async def manage(request: Request, newsletter: str) -> Response:
    """Email the preferences link to a member; the same answer whether or not they are one."""
    st = state(request)
    taken = await _intake(
        request, newsletter, "manage.html",
        "If this address gets {title}, an email with a link to your preferences is on its way.",
        "requests",
    )  # fmt: skip
    if isinstance(taken, Response):
        return taken
    _, email, done = taken

    def work() -> None:
        with st.app.engine.connect() as conn:
            sub_id = lists.member_id(conn, email, newsletter, hasher=st.app.hasher)
        if sub_id is not None:
            send_preferences_link(st.app, sub_id, newsletter)

    await run_in_threadpool(work)
    return done


def _read_confirm(request: Request, token: str) -> tuple[int, str]:
    """(subscriber id, list) from a confirmation link, which expires after confirm_max_age."""
    app = state(request).app
    return app.signer.read_confirm(token, app.settings.subscribers.confirm_max_age)


@router.get("/confirm/{token}")
def confirm_page(request: Request, token: str) -> Response:
    """A button, not an action: mail scanners open links too."""
    try:
        _, newsletter = _read_confirm(request, token)
    except InvalidToken:
        raise HTTPException(status_code=400, detail="this confirm link is not valid") from None
    title = newsletter_title(request, newsletter)
    return render(request, "confirm.html", {"token": token, "title": title})


@router.post("/confirm/{token}")
def confirm(request: Request, token: str) -> Response:
    """Pending becomes active; then the reader lands on their preferences."""
    st = state(request)
    try:
        sub_id, newsletter = _read_confirm(request, token)
    except InvalidToken:
        raise HTTPException(status_code=400, detail="this confirm link is not valid") from None
    with st.app.engine.begin() as conn:
        lists.confirm(
            conn, sub_id, newsletter, st.app.clock(), ip=client_ip(request), hasher=st.app.hasher
        )
    prefs = f"/preferences/{st.app.signer.preferences_token(sub_id, newsletter)}"
    return render(
        request,
        "message.html",
        {
            "title": "Subscribed",
            "text": "Thank you: you are subscribed.",
            "back": prefs,
            "back_label": "Choose your topics",
        },
    )


def _subscriber(request: Request, token: str) -> tuple[lists.SubscriberView, str]:
    """The reader a preferences link belongs to, and the newsletter it came from."""
    st = state(request)
    try:
        sub_id, newsletter = st.app.signer.read_preferences(token)
    except InvalidToken:
        raise HTTPException(status_code=400, detail="this link is not valid") from None
    with st.app.engine.connect() as conn:
        found = lists.get_subscriber(conn, sub_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such subscriber")
    return found, newsletter


def _preferences(
    request: Request, token: str, notes: dict[str, str] | None = None, saved: str = ""
) -> Response:
    sub, newsletter = _subscriber(request, token)
    settings = state(request).app.settings
    choices = preference_rows(sub, settings.newsletters, newsletter)
    return render(
        request,
        "preferences.html",
        {"sub": sub, "token": token, "choices": choices, "notes": notes or {}, "saved": saved},
    )


@router.get("/preferences/{token}")
def preferences_page(request: Request, token: str) -> Response:
    """Name, topics per newsletter (all of them is a choice of its own), leaving and rejoining."""
    return _preferences(request, token)


@router.post("/preferences/{token}")
async def preferences(request: Request, token: str) -> Response:
    """Save; the token in the URL is the reader's credential (no cookie, so no CSRF to ride)."""
    sub, _ = _subscriber(request, token)
    st = state(request)
    form = await request.form()
    verb, _, target = str(form.get("action", "save")).partition(":")
    now = st.app.clock()
    notes: dict[str, str] = {}
    saved = ""
    with st.app.engine.begin() as conn:
        if verb in ("leave", "rejoin") and target in {m.list_name for m in sub.memberships}:
            if verb == "leave":
                lists.unsubscribe(conn, sub.id, target, source="preferences", now=now)
                saved = f"You have left {newsletter_title(request, target)}."
            elif lists.rejoin(conn, sub.id, target, now, hasher=st.app.hasher):
                saved = f"Welcome back to {newsletter_title(request, target)}."
            else:
                notes[target] = "This address cannot be sent to again; write to us if it should."
        else:
            lists.set_name(conn, sub.id, str(form.get("name", "")), now)
            notes = _save_topics(conn, sub, form, st.app.settings.newsletters, now)
            saved = "" if notes else "Your choices are saved."
    return _preferences(request, token, notes, saved)


def _save_topics(
    conn: Connection, sub: lists.SubscriberView, form: Any, newsletters: Any, now: datetime
) -> dict[str, str]:
    """Store each newsletter's ticked topics; a note for each newsletter left with none."""
    notes = {}
    for member in sub.memberships:
        nl = newsletters.get(member.list_name)
        if nl is None or not nl.tags or member.status not in ("active", "pending"):
            continue
        ticked = {str(t) for t in form.getlist(f"topics:{member.list_name}")}
        chosen = [t for t in nl.tags if t in ticked]
        if not chosen:
            notes[member.list_name] = "Tick at least one topic, or unsubscribe from this one."
            continue
        # Every topic ticked is "all topics", which takes in topics added later too.
        everything = chosen == list(nl.tags)
        lists.set_topics(conn, sub.id, member.list_name, [] if everything else chosen, now)
    return notes


def _sent(request: Request, newsletter: str) -> list[tuple[int, str, datetime | None]]:
    with state(request).app.engine.connect() as conn:
        rows = conn.execute(
            select(Edition.number, Edition.subject, Edition.sent_at)
            .where(Edition.newsletter == newsletter, Edition.status == "sent")
            .order_by(Edition.number.desc())
            .limit(200)
        ).all()
    return [(r.number, r.subject, r.sent_at) for r in rows]


@router.get("/archive")
def archive_index(request: Request) -> Response:
    """Every newsletter with a link to its archive."""
    return render(
        request, "archive_index.html", {"newsletters": state(request).app.settings.newsletters}
    )


@router.get("/archive/{newsletter}")
def archive(request: Request, newsletter: str) -> Response:
    """The sent editions of one newsletter."""
    title = _newsletter_or_404(request, newsletter)
    return render(
        request,
        "archive.html",
        {"newsletter": newsletter, "title": title, "items": _sent(request, newsletter)},
    )


@router.get("/archive/{newsletter}/feed.atom")
def atom(request: Request, newsletter: str) -> Response:
    """An Atom feed of the archive: each sent edition with its preheader and its stories."""
    title = _newsletter_or_404(request, newsletter)
    st = state(request)
    with st.app.engine.connect() as conn:
        rows = conn.execute(
            select(Edition.number, Edition.subject, Edition.preheader, Edition.sent_at,
                   Edition.content)
            .where(Edition.newsletter == newsletter, Edition.status == "sent")
            .order_by(Edition.number.desc())
            .limit(50)
        ).all()  # fmt: skip
    entries = [
        {
            "number": r.number, "subject": r.subject, "summary": r.preheader,
            "updated": r.sent_at or st.app.clock(),
            "stories": EditionContent.from_json(r.content).stories,
        }
        for r in rows
    ]  # fmt: skip
    body = st.app.templates.get_template("web/feed.xml").render(
        title=title, newsletter=newsletter, entries=entries, base_url=st.app.settings.base_url,
        author=st.app.settings.sender.name or title,
        updated=entries[0]["updated"] if entries else st.app.clock(),
    )  # fmt: skip
    return Response(body, media_type="application/atom+xml")


@router.get("/archive/{newsletter}/{number}")
def archived_edition(request: Request, newsletter: str, number: int) -> Response:
    """A sent edition as a web page: the email's HTML with neutral per-reader values."""
    _newsletter_or_404(request, newsletter)
    st = state(request)
    with st.app.engine.connect() as conn:
        edition = editions.get_edition(conn, newsletter, number)
    if edition is None or edition.status != "sent":
        raise HTTPException(status_code=404, detail="no such edition in the archive")
    prepared = prepare(st.app, edition)
    # No reader here: the footer's links lead to pages that work for anyone.
    manage = f"{st.app.settings.base_url}/manage/{newsletter}"
    reader = Recipient(0, 0, "your email address", "", manage, manage)
    page = prepared.rendered.html.fill(reader.slot_values(), escape=html.escape)
    return Response(page, media_type="text/html")
