"""The plumbing of the web UI: the signed-in user (as an :class:`api.auth.Principal`), CSRF checks, templates,
security headers.

A page route declares ``ui: SignedIn`` (any signed-in user) or ``ui: Depends(signed_in_as(Role.ADMIN, ...))``;
a route that changes something declares ``ui: Changing`` (the same, plus the session's CSRF token, sent by forms
as the field ``csrf`` and by htmx as the header ``X-CSRF-Token``). Without a valid session a page answers a
redirect to the sign-in (htmx: ``HX-Redirect``). The principal carries the user's role and scope, so every
service function the REST API calls with a key's principal is called here with the user's: one scope rule
(:mod:`api.auth`) for both channels.

Cookies: the session cookie is ``Secure``, ``HttpOnly``, ``SameSite=Strict`` and limited to ``/ui`` (browsers
accept ``Secure`` cookies from ``http://localhost``/``127.0.0.1``; anything else must be served over HTTPS, as
the operations guide says). Pages carry a strict Content-Security-Policy (scripts and styles only from
``/ui/static``: no inline script or style), ``X-Frame-Options: DENY`` and ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.auth import Principal
from api.deps import ServicesDep
from api.ui import texts
from mailroom.errors import CsrfRefused, SignInRequired, UiForbidden
from mailroom.storage import users
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role
from mailroom.storage.models import utcnow

UI_PREFIX = "/ui"
#: The town hall's time zone (what a clerk reads as "today", "14:05").
LOCAL_ZONE = ZoneInfo("Europe/Berlin")
SESSION_COOKIE = "mailroom_session"
LOGIN_CSRF_COOKIE = "mailroom_login_csrf"
LANG_COOKIE = "mailroom_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
STATIC_DIR = Path(__file__).parent / "static"
HTMX_FILE = "htmx-2.0.11.min.js"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: The start page of each role.
HOME = {
    Role.REVIEWER: f"{UI_PREFIX}/review",
    Role.ADMIN: f"{UI_PREFIX}/review",
    Role.STATION: f"{UI_PREFIX}/station",
    Role.CLERK: f"{UI_PREFIX}/postboxes",
    Role.DMS: f"{UI_PREFIX}/postboxes",
}

#: The navigation: (text key, path, roles that see it), in order; a page adds itself here when it exists.
NAV: list[tuple[str, str, tuple[Role, ...]]] = [
    ("nav.review", f"{UI_PREFIX}/review", (Role.REVIEWER, Role.ADMIN)),
    ("nav.station", f"{UI_PREFIX}/station", (Role.STATION, Role.ADMIN)),
    ("nav.postboxes", f"{UI_PREFIX}/postboxes", (Role.CLERK, Role.DMS, Role.ADMIN)),
    ("nav.rules", f"{UI_PREFIX}/rules", (Role.ADMIN,)),
    ("nav.directory", f"{UI_PREFIX}/directory", (Role.ADMIN,)),
    ("nav.suppliers", f"{UI_PREFIX}/suppliers", (Role.ADMIN,)),
    ("nav.dashboard", f"{UI_PREFIX}/dashboard", (Role.ADMIN,)),
    ("nav.users", f"{UI_PREFIX}/users", (Role.ADMIN,)),
]

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class UiContext:
    """The signed-in user of a request: principal (role + scope), CSRF token of the session, language."""

    principal: Principal
    display_name: str
    csrf: str
    language: str

    @property
    def role(self) -> Role:
        return self.principal.role


def language_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, texts.DEFAULT_LANGUAGE)
    return lang if lang in texts.LANGUAGES else texts.DEFAULT_LANGUAGE


def principal_of(user: users.UserRow) -> Principal:
    """The user as the API's principal: same role and scope rules as a key."""
    return Principal(key_id=f"user:{user.id}", name=user.name, role=Role(user.role), station=user.station,
                     postboxes=frozenset(user.postboxes), person=user.person)


def signed_in(request: Request, services: ServicesDep) -> UiContext:
    """The signed-in user, or :class:`SignInRequired`."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired()
    with session_scope(services.pipeline.sessions) as session:
        found = users.session_user(session, token)
        if found is None:
            raise SignInRequired(expired=True)
        row, user = found
        return UiContext(principal=principal_of(user), display_name=user.display_name or user.name,
                         csrf=row.csrf_token, language=language_of(request))


SignedIn = Annotated[UiContext, Depends(signed_in)]


async def changing(request: Request, ui: SignedIn) -> UiContext:
    """A signed-in user whose request carries the session's CSRF token (form field or header)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not _same(sent, ui.csrf):
        raise CsrfRefused("the request lacks the session's CSRF token")
    return ui


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


Changing = Annotated[UiContext, Depends(changing)]


def signed_in_as(*roles: Role) -> Callable[[UiContext], UiContext]:
    def dependency(ui: SignedIn) -> UiContext:
        if ui.role not in roles:
            raise UiForbidden("the role may not open this page")
        return ui

    return dependency


def changing_as(*roles: Role) -> Callable[..., Awaitable[UiContext]]:
    async def dependency(ui: Changing) -> UiContext:
        if ui.role not in roles:
            raise UiForbidden("the role may not open this page")
        return ui

    return dependency


def render(request: Request, template: str, *, ui: UiContext | None, status_code: int = 200,
           language: str | None = None, **values: Any) -> HTMLResponse:
    """The page ``template`` with ``values``, in the user's language, with the security headers."""
    lang = ui.language if ui is not None else (language or language_of(request))

    def t(key: str, **fill: object) -> str:
        return texts.text(key, lang, **fill)

    html = _env.get_template(template).render(
        t=t, lang=lang, ui=ui, request=request, path=request.url.path, prefix=UI_PREFIX, htmx=HTMX_FILE,
        csrf_field=CSRF_FIELD, known_texts=texts.CATALOGUE,
        nav=[(key, href) for key, href, roles in NAV if ui is not None and ui.role in roles],
        age=lambda at: texts.age(_seconds_since(at), lang), reason=lambda raw: texts.reason(raw, lang),
        problem_detail=lambda scope, code, values, fallback: texts.detail(scope, code, values, fallback, lang),
        local_time=local_time, when=when, **values,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def local_time(at: datetime) -> str:
    """A time of today as the town hall reads it (Europe/Berlin), ``HH:MM``."""
    return at.astimezone(LOCAL_ZONE).strftime("%H:%M")


def when(at: datetime | None) -> str:
    """A date and time as the town hall reads it: ``07.12.2026 14:05``."""
    return at.astimezone(LOCAL_ZONE).strftime("%d.%m.%Y %H:%M") if at is not None else "–"


def _seconds_since(at: datetime) -> float:
    return (utcnow() - at).total_seconds()


def redirect(url: str, request: Request, status_code: int = 303) -> Response:
    """A redirect that also works for htmx requests (``HX-Redirect``)."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": url, **SECURITY_HEADERS})
    return Response(status_code=status_code, headers={"Location": url, **SECURITY_HEADERS})


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=users.SESSION_HOURS * 3600, path=UI_PREFIX, secure=True,
                        httponly=True, samesite="strict")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX, secure=True, httponly=True, samesite="strict")
