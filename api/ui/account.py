"""The signed-in user's own account: change the password (current + new twice, the rules of ``mailroom users
password``: :func:`mailroom.storage.users.check_password`).

A wrong current password counts as a failed sign-in (five in a row lock the account, as at the sign-in form). A
changed password ends every session of the user, as ``mailroom users password`` does; the browser that changed
it gets a new session at once (the old cookie is worthless), so the user stays signed in there only.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.ui.web import UI_PREFIX, Changing, SignedIn, UiContext, redirect, render, set_session_cookie
from mailroom.errors import InvalidUserSpec
from mailroom.storage import users
from mailroom.storage.db import session_scope

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)


def _page(request: Request, ui: UiContext, *, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "account.html", ui=ui, status_code=status_code, error=error,
                  min_length=users.MIN_PASSWORD_LENGTH, done=request.query_params.get("done") == "password")


@router.get("/account")
def account_page(request: Request, ui: SignedIn) -> HTMLResponse:
    return _page(request, ui)


@router.post("/account/password")
async def change_password(request: Request, ui: Changing, services: ServicesDep) -> Response:
    form = await request.form()
    current = str(form.get("current", ""))[: users.MAX_PASSWORD_LENGTH + 1]
    new = str(form.get("password", ""))[: users.MAX_PASSWORD_LENGTH + 1]
    if new != str(form.get("password2", ""))[: users.MAX_PASSWORD_LENGTH + 1]:
        return _page(request, ui, error="account.mismatch", status_code=422)

    def change() -> str | None:
        with session_scope(services.pipeline.sessions) as session:
            changed = users.change_own_password(session, ui.principal.name, current, new)
            if changed is None:
                return None
            return users.start_session(session, changed).token

    try:
        token = await run_in_threadpool(change)
    except InvalidUserSpec as exc:
        return _page(request, ui, error="account.same" if "current one" in exc.message else "account.rules",
                     status_code=422)
    if token is None:
        return _page(request, ui, error="account.wrong_current", status_code=422)
    response = redirect(f"{UI_PREFIX}/account?done=password", request)
    set_session_cookie(response, token)
    return response
