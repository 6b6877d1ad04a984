"""Pages for readers, no account: subscribe, confirm, preferences, and the archive with Atom."""

from __future__ import annotations

import html
import secrets
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from digest.core.keys import signing_keys
from digest.core.models import Edition
from digest.email.message import Recipient
from digest.email.prepare import prepare
from digest.sending.confirmations import send_confirmation
from digest.store import editions
from digest.web import lists
from digest.web.state import client_ip, render, state
from subscribers.addresses import InvalidAddress, normalise_email
from subscribers.tokens import InvalidToken

router = APIRouter(include_in_schema=False)
FORM_MAX_AGE = 6 * 3600


def _form_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        signing_keys(state(request).app.settings), salt="digest.subscribe-form"
    )


def _newsletter_or_404(request: Request, name: str) -> str:
    settings = state(request).app.settings
    if name not in settings.newsletters:
        raise HTTPException(status_code=404, detail="no such newsletter")
    return settings.newsletters[name].title


@router.get("/subscribe/{newsletter}")
def subscribe_page(request: Request, newsletter: str) -> Response:
    """The sign-up form, with a signed form token (the anonymous CSRF guard) and a honeypot."""
    title = _newsletter_or_404(request, newsletter)
    token = _form_signer(request).dumps([newsletter, secrets.token_urlsafe(8)])
    return render(
        request, "subscribe.html", {"newsletter": newsletter, "title": title, "form_token": token}
    )


@router.post("/subscribe/{newsletter}")
async def subscribe(request: Request, newsletter: str) -> Response:
    """Record a pending subscription and email the confirm link; the same answer every time."""
    title = _newsletter_or_404(request, newsletter)
    st = state(request)
    form = await request.form()
    try:
        nl, _ = _form_signer(request).loads(str(form.get("form_token", "")), max_age=FORM_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError):
        raise HTTPException(status_code=403, detail="the form expired; reload the page") from None
    if nl != newsletter:
        raise HTTPException(status_code=403, detail="the form belongs to another newsletter")
    done = render(
        request,
        "message.html",
        {
            "title": "Check your inbox",
            "text": f"If the address is right, an email to confirm your subscription to {title} "
            "is on its way.",
        },
    )
    if form.get("website"):  # the honeypot: people never see it, bots fill it in
        return done
    try:
        email = normalise_email(str(form.get("email", "")))
    except InvalidAddress as exc:
        return render(
            request,
            "subscribe.html",
            {
                "newsletter": newsletter,
                "title": title,
                "form_token": form.get("form_token"),
                "error": str(exc),
            },
            400,
        )
    if not st.subscribe_by_ip.hit(client_ip(request)):
        raise HTTPException(
            status_code=429, detail="too many sign-ups from your address; try later"
        )
    if not st.subscribe_by_address.hit(email):
        return done  # list-bombing guard: no more mail to this address for now, and say nothing
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
    return render(request, "confirm.html", {"token": token, "newsletter": newsletter})


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
    prefs = f"/preferences/{st.tokens.preferences_token(sub_id)}"
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


def _subscriber(request: Request, token: str) -> lists.SubscriberView:
    st = state(request)
    try:
        sub_id = st.tokens.read_preferences(token)
    except InvalidToken:
        raise HTTPException(status_code=400, detail="this link is not valid") from None
    with st.app.engine.connect() as conn:
        found = lists.get_subscriber(conn, sub_id)
    if found is None:
        raise HTTPException(status_code=404, detail="no such subscriber")
    return found


@router.get("/preferences/{token}")
def preferences_page(request: Request, token: str) -> Response:
    """Name, topics per newsletter, and leaving."""
    sub = _subscriber(request, token)
    return render(
        request,
        "preferences.html",
        {"sub": sub, "token": token, "newsletters": state(request).app.settings.newsletters},
    )


@router.post("/preferences/{token}")
async def preferences(request: Request, token: str) -> Response:
    """Save; the token in the URL is the reader's credential (no cookie, so no CSRF to ride)."""
    sub = _subscriber(request, token)
    st = state(request)
    form = await request.form()
    now = st.app.clock()
    with st.app.engine.begin() as conn:
        lists.set_name(conn, sub.id, str(form.get("name", "")), now)
        for member in sub.memberships:
            nl = st.app.settings.newsletters.get(member.list_name)
            if nl is None:
                continue
            chosen = [
                str(t) for t in form.getlist(f"topics:{member.list_name}") if str(t) in nl.tags
            ]
            lists.set_topics(conn, sub.id, member.list_name, chosen, now)
            if form.get(f"leave:{member.list_name}"):
                lists.unsubscribe(conn, sub.id, member.list_name, source="preferences", now=now)
    return render(
        request,
        "preferences.html",
        {
            "sub": _subscriber(request, token),
            "token": token,
            "newsletters": st.app.settings.newsletters,
            "saved": True,
        },
    )


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
    """An Atom feed of the archive."""
    title = _newsletter_or_404(request, newsletter)
    items = _sent(request, newsletter)
    st = state(request)
    body = st.app.templates.get_template("web/feed.xml").render(
        title=title, newsletter=newsletter, items=items, base_url=st.app.settings.base_url,
        updated=(items[0][2] if items and items[0][2] else st.app.clock()),
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
    reader = Recipient(0, 0, "", "", f"{st.app.settings.base_url}/subscribe/{newsletter}")
    page = prepared.rendered.html.fill(reader.slot_values(), escape=html.escape)
    return Response(page, media_type="text/html")
