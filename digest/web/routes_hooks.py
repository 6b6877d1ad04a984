"""Machine-facing routes: SendGrid's Event Webhook and the RFC 8058 one-click unsubscribe."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from digest.web import lists
from digest.web.state import newsletter_title, render, state
from digest.web.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    parse_events,
    store_events,
)
from subscribers.tokens import InvalidToken

log = logging.getLogger(__name__)
router = APIRouter()
# SendGrid batches up to a few thousand events (well under 10 MB); anything bigger is not it.
MAX_BODY = 32 * 1024 * 1024


class WebhookAnswer(BaseModel):
    """What the webhook did with a batch."""

    received: int
    stored: int
    duplicates: int
    changed: dict[str, int]


class UnsubscribeAnswer(BaseModel):
    """The outcome of a one-click unsubscribe."""

    list: str
    status: str


async def sendgrid_webhook(request: Request) -> Response:
    """Verify SendGrid's signature first, then store each event once (by sg_event_id)."""
    st = state(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return JSONResponse({"detail": "body too large"}, status_code=413)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"detail": "body too large"}, status_code=413)
    now = st.app.clock()
    try:
        st.verifier.verify(
            body,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            now,
        )
    except WebhookRejected as exc:
        log.warning("webhook request refused: %s", exc)
        return JSONResponse({"detail": "forbidden"}, status_code=403)
    try:
        events = parse_events(body)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return JSONResponse({"detail": f"bad body: {exc}"}, status_code=400)

    def work() -> WebhookAnswer:
        with st.writing(), st.app.engine.begin() as conn:
            result = store_events(conn, events, now, st.app.hasher)
        return WebhookAnswer(**result.__dict__)

    answer = await run_in_threadpool(work)
    return JSONResponse(answer.model_dump())


# The body is read raw (the signature covers its exact bytes), so FastAPI cannot infer it.
WEBHOOK_OPENAPI = {
    "parameters": [
        {
            "name": SIGNATURE_HEADER, "in": "header", "required": True,
            "description": "base64 ECDSA (P-256, SHA-256) signature of the timestamp followed "
            "by the raw body, checked with `web.sendgrid_webhook_public_key`",
            "schema": {"type": "string"},
        },
        {
            "name": TIMESTAMP_HEADER, "in": "header", "required": True,
            "description": "Unix time the request was signed; further than "
            "`web.webhook_max_age` from now is refused",
            "schema": {"type": "string"},
        },
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["event", "sg_event_id"],
                        "properties": {
                            "event": {"type": "string", "examples": ["bounce", "spamreport"]},
                            "sg_event_id": {"type": "string"},
                            "email": {"type": "string"},
                            "timestamp": {"type": "integer"},
                            "type": {"type": "string", "description": "bounce or blocked"},
                            "digest_delivery_id": {"type": "string"},
                        },
                        "additionalProperties": True,
                    },
                }
            }
        },
    },
}  # fmt: skip
ONE_CLICK_OPENAPI = {
    "requestBody": {
        "required": False,
        "content": {
            media: {
                "schema": {
                    "type": "object",
                    "properties": {"List-Unsubscribe": {"type": "string", "enum": ["One-Click"]}},
                }
            }
            for media in ("application/x-www-form-urlencoded", "multipart/form-data")
        },
    }
}


def add_webhook_route(router_: APIRouter, path: str) -> None:
    """The webhook lives at a configurable path."""
    router_.add_api_route(
        path,
        sendgrid_webhook,
        methods=["POST"],
        response_model=WebhookAnswer,
        summary="SendGrid Event Webhook",
        description="A JSON array of SendGrid events, signed (ECDSA) in the "
        f"`{SIGNATURE_HEADER}` and `{TIMESTAMP_HEADER}` headers. Unsigned, stale or wrongly "
        "signed requests get 403 and nothing is stored.",
        responses={
            400: {"description": "the body is not a JSON array of events"},
            403: {"description": "signature missing, stale or wrong"},
            413: {"description": "the body is larger than 32 MB"},
        },
        tags=["machines"],
        openapi_extra=WEBHOOK_OPENAPI,
    )


def _read_token(request: Request, token: str) -> tuple[int, str, int] | None:
    try:
        return state(request).app.signer.read_unsubscribe(token)
    except InvalidToken:
        return None


@router.get("/u/{token}", include_in_schema=False)
def unsubscribe_page(request: Request, token: str) -> Response:
    """A page with one button; a GET changes nothing (link scanners follow GETs)."""
    found = _read_token(request, token)
    if found is None:
        return render(
            request,
            "message.html",
            {
                "title": "Link not valid",
                "text": "This unsubscribe link is not valid. Use the link in a recent email.",
            },
            400,
        )
    _, list_name, _ = found
    context = {
        "list_name": list_name,
        "title": newsletter_title(request, list_name),
        "token": token,
    }
    return render(request, "unsubscribe.html", context)


@router.post(
    "/u/{token}",
    response_model=UnsubscribeAnswer,
    summary="One-click unsubscribe (RFC 8058)",
    description="The `List-Unsubscribe` URL. A POST with `List-Unsubscribe=One-Click` "
    "(urlencoded or multipart) unsubscribes at once; no redirect, no cookie needed, repeating it "
    "is harmless.",
    responses={400: {"description": "the token is not valid"}},
    tags=["machines"],
    openapi_extra=ONE_CLICK_OPENAPI,
)
async def one_click(request: Request, token: str) -> Response:
    """Unsubscribe at once; the same answer however often it is repeated."""
    found = _read_token(request, token)
    if found is None:
        return JSONResponse({"detail": "invalid link"}, status_code=400)
    await request.form()  # accept urlencoded or multipart bodies (the value is not required)
    subscriber_id, list_name, _ = found
    st = state(request)

    def work() -> None:
        if subscriber_id <= 0:  # the sample reader of a preview
            return
        with st.writing(), st.app.engine.begin() as conn:
            lists.unsubscribe(
                conn, subscriber_id, list_name, source="one-click", now=st.app.clock()
            )

    await run_in_threadpool(work)
    if "text/html" in request.headers.get("accept", ""):
        context = {
            "title": "Unsubscribed",
            "text": f"You will get no more emails from {newsletter_title(request, list_name)}.",
        }
        if subscriber_id > 0:  # a way back, and to the other newsletters they get
            prefs = st.app.signer.preferences_token(subscriber_id, list_name)
            context |= {"back": f"/preferences/{prefs}", "back_label": "Changed your mind?"}
        return render(request, "message.html", context)
    return JSONResponse({"list": list_name, "status": "unsubscribed"})
