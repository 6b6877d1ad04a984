"""Build the FastAPI application from an App; `digest serve` runs it under uvicorn."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.core.app import App
from digest.core.errors import DigestError
from digest.web import routes_auth, routes_hooks
from digest.web.state import WebState, render

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; frame-ancestors 'self'; form-action 'self'",
}

# A calm square with a "d": browsers ask for /favicon.ico on every page.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#1f3a5f"/>'
    '<text x="16" y="23" font-family="Georgia,serif" font-size="20" fill="#fff" '
    'text-anchor="middle">d</text></svg>'
)


class SecurityHeaders:
    """Adds the security headers to every response a route did not set them on (plain ASGI,
    so it costs next to nothing per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.extra = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.extra if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def allowed_methods(web: FastAPI, request: Request) -> str:
    """Every method some route at this path answers, for the Allow header of a 405 (asked of
    each route in turn, since included routers hold their own routes)."""
    allowed = [
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in web.router.routes
        )
    ]
    return ", ".join(allowed)


def create_web_app(app: App) -> FastAPI:
    """The ASGI app; every service comes from `app`, nothing is global."""
    web = FastAPI(
        title="digest",
        summary="Machine-facing routes of digest: the SendGrid Event Webhook and one-click "
        "unsubscribe.",
        version="1",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    web.state.web = WebState.build(app)
    from digest.web import routes_desk, routes_ops, routes_public, routes_stories

    web.include_router(routes_auth.router)
    web.include_router(routes_hooks.router)
    routes_hooks.add_webhook_route(web.router, app.settings.web.webhook_path)
    web.include_router(routes_public.router)
    web.include_router(routes_desk.router)
    web.include_router(routes_stories.router)
    web.include_router(routes_ops.router)

    web.add_middleware(SecurityHeaders)

    @web.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:  # Starlette names only the first route's methods
            exc.headers = {**(exc.headers or {}), "Allow": allowed_methods(web, request)}
        if exc.status_code == 401 and request.method == "GET":
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
            "accept", "text/html"
        ):
            from fastapi.responses import JSONResponse

            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        page = render(
            request, "message.html", {"title": f"Error {exc.status_code}", "text": exc.detail},
            exc.status_code,
        )  # fmt: skip
        page.headers.update(exc.headers or {})  # e.g. the Allow of a 405
        return page

    @web.exception_handler(DigestError)
    async def domain_error(request: Request, exc: DigestError) -> Response:
        return render(request, "message.html", {"title": "Not done", "text": str(exc)}, 400)

    @web.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/archive", status_code=303)

    @web.get("/favicon.ico", include_in_schema=False)
    @web.get("/favicon.svg", include_in_schema=False)
    def favicon() -> Response:
        cache = {"Cache-Control": "max-age=86400"}
        return Response(FAVICON, media_type="image/svg+xml", headers=cache)

    @web.get("/site.css", include_in_schema=False)
    def stylesheet() -> Response:
        css = app.templates.get_template("web/site.css").render()  # users may override it
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    @web.get("/healthz", include_in_schema=False)
    def health() -> HTMLResponse:
        return HTMLResponse("ok")

    return web
