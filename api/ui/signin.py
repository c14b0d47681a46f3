"""Sign-in, sign-out, the language switch and the start page of each role.

The sign-in form is protected against login CSRF by a double-submit token (a random value in a short-lived,
``SameSite=Strict`` cookie of its own and in the form). Wrong name and wrong password answer the same; the
account locks after repeated failures (:mod:`mailroom.storage.users`).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import ServicesDep
from api.ui import texts
from api.ui.web import (
    HOME,
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    UI_PREFIX,
    Changing,
    SignedIn,
    clear_session_cookie,
    redirect,
    render,
    set_session_cookie,
)
from mailroom.storage import users
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)


def _safe_next(target: str | None) -> str | None:
    """Only a path of the UI itself (no other host, no scheme): no open redirect."""
    if target and target.startswith(f"{UI_PREFIX}/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _login_page(request: Request, *, message: str | None = None, status_code: int = 200,
                next_url: str | None = None, name: str = "") -> HTMLResponse:
    token = secrets.token_hex(32)
    response = render(request, "login.html", ui=None, status_code=status_code, message=message, login_csrf=token,
                      next_url=next_url or "", name=name)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, path=f"{UI_PREFIX}/login", secure=True,
                        httponly=True, samesite="strict")
    return response


@router.get("/login")
def login_form(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    expired: bool = False,
    signed_out: bool = False,
) -> HTMLResponse:
    message = "login.expired" if expired else "login.signed_out" if signed_out else None
    return _login_page(request, message=message, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    services: ServicesDep,
    name: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=users.MAX_PASSWORD_LENGTH)],
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        return _login_page(request, message="login.csrf", status_code=400, next_url=_safe_next(next), name=name)
    with session_scope(services.pipeline.sessions) as session:
        outcome = users.authenticate(session, name.strip(), password)
        if outcome.user is None:
            message = "login.locked" if outcome.locked else "login.failed"
            started = None
        else:
            started = users.start_session(session, outcome.user)
            home = HOME[Role(outcome.user.role)]
    if started is None:
        return _login_page(request, message=message, status_code=401 if not outcome.locked else 423,
                           next_url=_safe_next(next), name=name)
    response = redirect(_safe_next(next) or home, request)
    set_session_cookie(response, started.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{UI_PREFIX}/login")
    return response


@router.post("/logout")
def logout(request: Request, services: ServicesDep, _ui: Changing) -> Response:
    with session_scope(services.pipeline.sessions) as session:
        users.end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect(f"{UI_PREFIX}/login?signed_out=1", request)
    clear_session_cookie(response)
    return response


@router.get("/lang/{language}")
def switch_language(request: Request, language: str, next: str | None = None) -> Response:
    response = redirect(_safe_next(next) or f"{UI_PREFIX}/", request)
    if language in texts.LANGUAGES:
        response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, path=UI_PREFIX, secure=True,
                            httponly=True, samesite="strict")
    return response


@router.get("")
@router.get("/")
def home(request: Request, ui: SignedIn) -> Response:
    return redirect(HOME[ui.role], request)
