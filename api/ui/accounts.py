"""User accounts for admins: list, create (role and scope as for API keys), set a new password (typed twice),
unlock, disable. A user's own password: :mod:`api.ui.account`.
The same functions as ``mailroom users`` (:mod:`mailroom.storage.users`), audited with the admin as actor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ReadSession, ServicesDep
from api.ui import texts
from api.ui.web import UI_PREFIX, UiContext, changing_as, redirect, render, signed_in_as
from mailroom.directory import check_scope
from mailroom.errors import MailroomError, UiNotFound
from mailroom.storage import users
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role
from mailroom.storage.models import utcnow

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)
Admin = Annotated[UiContext, Depends(signed_in_as(Role.ADMIN))]
AdminChanging = Annotated[UiContext, Depends(changing_as(Role.ADMIN))]
UserName = Annotated[str, Path(max_length=128)]


def _page(request: Request, ui: UiContext, session: Any, *, form: dict[str, str] | None = None,
          error: str | None = None, status_code: int = 200) -> HTMLResponse:
    now = utcnow()
    rows = users.list_users(session)
    return render(request, "users.html", ui=ui, status_code=status_code, users=rows, roles=[r.value for r in Role],
                  form=form or {}, error=error, now=now, done=request.query_params.get("done"))


@router.get("/users")
def users_page(request: Request, ui: Admin, session: ReadSession) -> HTMLResponse:
    return _page(request, ui, session)


@router.post("/users")
async def create(request: Request, ui: AdminChanging, services: ServicesDep, session: ReadSession) -> Response:
    raw = await request.form()
    form = {k: str(v)[:1024] for k, v in raw.items() if k != "csrf"}
    boxes = [b.strip() for b in form.get("postboxes", "").replace(",", " ").split() if b.strip()]

    def make() -> None:
        check_scope(services.settings, boxes, form.get("person", "").strip() or None)
        with session_scope(services.pipeline.sessions) as writing:
            users.create_user(writing, name=form.get("name", "").strip(), role=form.get("role", ""),
                              password=form.get("password", ""), postboxes=boxes,
                              station=form.get("station", "").strip() or None,
                              person=form.get("person", "").strip() or None,
                              display_name=form.get("display_name", "").strip() or None, actor=ui.principal.actor)

    try:
        await run_in_threadpool(make)
    except MailroomError as exc:
        form.pop("password", None)
        return _page(request, ui, session, form=form, error=problem_text(exc, ui.language),
                     status_code=exc.http_status)
    return redirect(f"{UI_PREFIX}/users?done=created", request)


def problem_text(exc: MailroomError, language: str) -> str:
    """What is wrong with the account asked for: a lead in the user's language for the field (or error code) it
    concerns, then the detail as the check says it."""
    for key in (f"users.problem.{exc.code}", f"users.problem.{exc.field}"):
        if key in texts.CATALOGUE:
            return f"{texts.text(key, language)} – {exc.message}"
    return exc.message


@router.post("/users/{name}/{action}")
async def change(request: Request, ui: AdminChanging, services: ServicesDep, session: ReadSession, name: UserName,
                 action: str) -> Response:
    form = await request.form()
    if action == "password" and form.get("password") != form.get("password2"):
        return _page(request, ui, session, error=texts.text("users.password.mismatch", ui.language), status_code=422)
    if action == "disable" and name == ui.principal.name:  # an admin who locks themselves out needs the shell
        return _page(request, ui, session, error=texts.text("users.disable.self", ui.language), status_code=422)

    def apply() -> None:
        with session_scope(services.pipeline.sessions) as writing:
            if action == "unlock":
                users.unlock_user(writing, name, actor=ui.principal.actor)
            elif action == "disable":
                users.disable_user(writing, name, actor=ui.principal.actor)
            elif action == "password":
                users.set_password(writing, name, str(form.get("password", "")), actor=ui.principal.actor)
            else:
                raise UiNotFound(f"no action {action}")

    try:
        await run_in_threadpool(apply)
    except UiNotFound:
        raise
    except MailroomError as exc:
        return _page(request, ui, session, error=problem_text(exc, ui.language), status_code=exc.http_status)
    return redirect(f"{UI_PREFIX}/users?done={action}", request)
