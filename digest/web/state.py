"""What the routes share: the services, the session keys, the limiters; plus small helpers."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

import jinja2
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from digest.core.app import App
from digest.core.keys import signing_keys
from digest.web.accounts import Role, User, get_user
from digest.web.security import SESSION_COOKIE, RateLimiter, Sessions
from digest.web.sessions import Session
from digest.web.timefmt import humanise
from digest.web.webhook import Verifier


@dataclass
class WebState:
    """Built once per web app from the App's settings."""

    app: App
    sessions: Sessions
    verifier: Verifier
    login_limiter: RateLimiter
    login_by_ip: RateLimiter
    subscribe_by_address: RateLimiter
    subscribe_by_ip: RateLimiter
    # SQLite takes one writer at a time; queueing writers here beats its busy-wait back-off.
    _write_lock: threading.Lock = field(default_factory=threading.Lock)

    def writing(self) -> contextlib.AbstractContextManager[object]:
        """Hold this around a write transaction: a lock on SQLite, nothing on PostgreSQL."""
        if self.app.engine.dialect.name == "sqlite":
            return self._write_lock
        return contextlib.nullcontext()

    @classmethod
    def build(cls, app: App) -> WebState:
        """Derive every helper from the settings."""
        web = app.settings.web
        keys = signing_keys(app.settings)
        return cls(
            app=app,
            sessions=Sessions(keys, app.engine, app.clock, web.session_max_age, web.session_idle),
            verifier=Verifier(web.sendgrid_webhook_public_key, web.webhook_max_age),
            login_limiter=RateLimiter(web.login_attempts, web.login_window.total_seconds()),
            # Guessing across many user names from one address is limited too.
            login_by_ip=RateLimiter(web.login_attempts * 4, web.login_window.total_seconds()),
            subscribe_by_address=RateLimiter(web.subscribe_per_address, 3600),
            subscribe_by_ip=RateLimiter(web.subscribe_per_ip, 3600),
        )

    @property
    def secure_cookies(self) -> bool:
        """Cookies are `Secure` everywhere but local development over plain http."""
        s = self.app.settings
        return s.environment == "production" or s.base_url.startswith("https://")


def state(request: Request) -> WebState:
    """The WebState of the app serving this request."""
    return request.app.state.web  # type: ignore[no-any-return]


def newsletter_title(request: Request, name: str) -> str:
    """What readers know a newsletter by: its title, not its configuration key."""
    nl = state(request).app.settings.newsletters.get(name)
    return nl.title if nl else name


def client_ip(request: Request) -> str:
    """The peer address (put a proxy's trusted header in front when behind one)."""
    return request.client.host if request.client else "unknown"


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render one template of templates/web/ (autoescaped) with the page's common values."""
    st = state(request)
    env: jinja2.Environment = st.app.templates
    session: Session | None = getattr(request.state, "session", None)
    user: User | None = getattr(request.state, "user", None)
    now = st.app.clock()
    default_zone = st.app.settings.timezone
    base = {
        "when": lambda dt, zone=None: humanise(dt, now, zone or default_zone),
        "request_path": request.url.path,
        "user": user,
        "csrf": st.sessions.csrf_token(session.nonce) if session else "",
        "site": st.app.settings.sender.name,
    }
    html = env.get_template(f"web/{name}").render({**base, **context})
    return HTMLResponse(html, status_code=status_code)


def current_user(request: Request) -> User | None:
    """The signed-in user, if any (also kept on request.state for the templates)."""
    st = state(request)
    session = st.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    with st.app.engine.connect() as conn:
        user = get_user(conn, session.user_id)
    if user is not None:
        request.state.session = session
        request.state.user = user
    return user


def require(request: Request, role: Role) -> User:
    """The signed-in user with `role`; 401/403 otherwise (the 401 handler redirects to sign in)."""
    user = current_user(request)
    if user is None:
        raise HTTPException(status_code=401, detail="sign in first")
    if user.role != role:
        raise HTTPException(status_code=403, detail=f"this page is for the {role} role")
    return user


async def checked_form(request: Request) -> dict[str, str]:
    """The posted form of a signed-in user, after checking its CSRF token (403 without one)."""
    form = await request.form()
    session: Session | None = getattr(request.state, "session", None)
    token = form.get("csrf")
    if session is None or not state(request).sessions.check_csrf(
        session.nonce, token if isinstance(token, str) else None
    ):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")
    return {k: v for k, v in form.items() if isinstance(v, str)}
