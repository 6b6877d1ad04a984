"""Signing in and out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from digest.web.accounts import Role, authenticate, record
from digest.web.security import SESSION_COOKIE, safe_next
from digest.web.state import checked_form, client_ip, current_user, render, state

router = APIRouter(include_in_schema=False)


def _home(role: Role) -> str:
    return "/desk" if role == Role.EDITOR else "/ops"


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    """The sign-in form."""
    return render(request, "login.html", {"next": safe_next(next, ""), "error": ""})


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the password (rate-limited per name and address); set the session cookie."""
    st = state(request)
    form = await request.form()
    username = str(form.get("username", "")).strip().lower()
    password = str(form.get("password", ""))
    target = str(form.get("next", ""))
    key = f"{username}|{client_ip(request)}"
    now = st.app.clock()
    if st.login_limiter.blocked(key) or st.login_by_ip.blocked(client_ip(request)):
        with st.app.engine.begin() as conn:
            record(conn, username or "?", "login.limited", client_ip(request), "", now)
        return render(
            request,
            "login.html",
            {"next": safe_next(target, ""), "error": "Too many attempts. Try again later."},
            429,
        )
    with st.app.engine.begin() as conn:
        user = authenticate(conn, username, password)
        record(
            conn,
            username or "?",
            "login.ok" if user else "login.failed",
            client_ip(request),
            "",
            now,
        )
    if user is None:
        st.login_limiter.hit(key)
        st.login_by_ip.hit(client_ip(request))
        return render(
            request,
            "login.html",
            {"next": safe_next(target, ""), "error": "Wrong user name or password."},
            401,
        )
    st.login_limiter.reset(key)
    response = RedirectResponse(safe_next(target, _home(user.role)), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        st.sessions.issue(user.id),
        max_age=int(st.sessions.max_age),
        httponly=True,
        secure=st.secure_cookies,
        samesite="lax",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Forget the session (a CSRF-checked form, so a foreign page cannot sign anyone out)."""
    user = current_user(request)
    if user is not None:
        await checked_form(request)
        st = state(request)
        st.sessions.end(request.cookies.get(SESSION_COOKIE))
        with st.app.engine.begin() as conn:
            record(conn, user.username, "logout", "", "", st.app.clock())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
