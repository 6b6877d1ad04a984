"""Build the FastAPI application from an App; `digest serve` runs it under uvicorn."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from digest.app import App
from digest.errors import DigestError
from digest.web import routes_auth, routes_hooks
from digest.web.state import WebState, render

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; frame-ancestors 'self'; form-action 'self'",
}


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
    from digest.web import routes_desk, routes_ops, routes_public

    web.include_router(routes_auth.router)
    web.include_router(routes_hooks.router)
    routes_hooks.add_webhook_route(web.router, app.settings.web.webhook_path)
    web.include_router(routes_public.router)
    web.include_router(routes_desk.router)
    web.include_router(routes_ops.router)

    @web.middleware("http")
    async def headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @web.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 401 and request.method == "GET":
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
            "accept", "text/html"
        ):
            from fastapi.responses import JSONResponse

            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return render(
            request, "message.html", {"title": f"Error {exc.status_code}", "text": exc.detail},
            exc.status_code,
        )  # fmt: skip

    @web.exception_handler(DigestError)
    async def domain_error(request: Request, exc: DigestError) -> Response:
        return render(request, "message.html", {"title": "Not done", "text": str(exc)}, 400)

    @web.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/archive", status_code=303)

    @web.get("/healthz", include_in_schema=False)
    def health() -> HTMLResponse:
        return HTMLResponse("ok")

    return web
