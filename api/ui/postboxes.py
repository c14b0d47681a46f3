"""The postbox view for clerks: their postboxes with the documents new / claimed / done; a document with its
pages, searchable PDF and fields; claim, release, acknowledge, re-route or send a copy with a reason.

Every action calls the REST API's own functions (:mod:`api.routes.postboxes`, :func:`api.review.reroute`)
with the signed-in user's principal, so scope, confidentiality (a letter "persönlich" only for its person),
conflicts (409 ``already_claimed``) and the audit trail are the API's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ReadSession, ServicesDep, record_audit
from api.review import reroute
from api.routes import postboxes as api
from api.ui.documents import page_views, result_of, stored_document, visible_row
from api.ui.web import UI_PREFIX, UiContext, changing_as, redirect, render, signed_in_as
from extraction.review import EDITABLE_FIELDS
from mailroom.directory import current_directory
from mailroom.errors import MailroomError, UiNotFound
from mailroom.storage.keys import Role
from mailroom.storage.models import DocumentState
from mailroom.storage.postboxes import ItemState

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)

CLERK_ROLES = (Role.CLERK, Role.DMS, Role.ADMIN)
Clerk = Annotated[UiContext, Depends(signed_in_as(*CLERK_ROLES))]
ClerkChanging = Annotated[UiContext, Depends(changing_as(*CLERK_ROLES))]
BoxId = Annotated[str, Path(max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
DocId = Annotated[str, Path(max_length=64)]
ACTIONS = {"claim": api.claim_document, "release": api.release_document, "acknowledge": api.acknowledge_document}


@router.get("/postboxes")
def overview(request: Request, ui: Clerk, services: ServicesDep, session: ReadSession) -> HTMLResponse:
    boxes = api.list_postboxes(ui.principal, services, session).postboxes
    return render(request, "postboxes.html", ui=ui, boxes=boxes)


@router.get("/postboxes/{postbox}")
def postbox_page(
    request: Request, ui: Clerk, services: ServicesDep, session: ReadSession, postbox: BoxId,
    state: Annotated[ItemState, Query()] = ItemState.NEW,
) -> HTMLResponse:
    try:
        listing = api.list_postbox_documents(postbox, ui.principal, services, session, state=state, limit=200,
                                             cursor=None)
    except api.PostboxNotFound:
        raise UiNotFound("no such document or postbox") from None
    directory = current_directory(services.settings)
    entry = directory.postboxes.get(postbox)
    return render(request, "postbox.html", ui=ui, postbox=postbox, name=entry.name if entry else postbox,
                  state=state.value, states=[s.value for s in ItemState], documents=listing.documents)


def _document_page(request: Request, ui: UiContext, services: Any, session: Any, postbox: str, document_id: str,
                   *, message: str | None = None, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    try:
        item = api.get_postbox_document(postbox, document_id, ui.principal, services, session)
    except (api.PostboxNotFound, MailroomError):
        raise UiNotFound("no such document or postbox") from None
    row = visible_row(session, ui.principal, document_id)
    result = result_of(row)
    invoice = result.get("invoice") or {}
    fields = [(name, invoice[name]) for name in EDITABLE_FIELDS if isinstance(invoice.get(name), dict)]
    directory = current_directory(services.settings)
    return render(request, "postbox_document.html", ui=ui, status_code=status_code, postbox=postbox, item=item,
                  row=row, result=result, fields=fields, pages=page_views(stored_document(session, row), result),
                  postboxes=sorted(directory.postboxes.values(), key=lambda p: p.name.casefold()),
                  message=message, error=error, routed=row.state == DocumentState.ROUTED.value,
                  is_primary=item.kind == "primary")


@router.get("/postboxes/{postbox}/{document_id}")
def document_page(request: Request, ui: Clerk, services: ServicesDep, session: ReadSession, postbox: BoxId,
                  document_id: DocId, done: str | None = None) -> HTMLResponse:
    response = _document_page(request, ui, services, session, postbox, document_id,
                              message=f"action.{done}" if done in (*ACTIONS, "copy") else None)
    record_audit(services, actor=ui.principal.actor, action="document.read", object_type="document",
                 object_id=document_id, details={"what": "postbox_view", "postbox": postbox,
                                                 "user": ui.principal.key_id})
    return response


@router.get("/postboxes/{postbox}/{document_id}/searchable.pdf")
def searchable_pdf(ui: Clerk, services: ServicesDep, session: ReadSession, postbox: BoxId,
                   document_id: DocId) -> FileResponse:
    try:
        api.get_postbox_document(postbox, document_id, ui.principal, services, session)
    except (api.PostboxNotFound, MailroomError):
        raise UiNotFound("no such document or postbox") from None
    row = visible_row(session, ui.principal, document_id)
    if row.searchable_pdf_sha is None:
        raise UiNotFound("no such document or postbox")
    record_audit(services, actor=ui.principal.actor, action="document.read", object_type="document",
                 object_id=row.id, details={"what": "searchable_pdf", "user": ui.principal.key_id})
    stem = row.filename.rsplit(".", 1)[0]
    return FileResponse(services.pipeline.blobs.path(row.searchable_pdf_sha), media_type="application/pdf",
                        filename=f"{stem}.searchable.pdf")


@router.post("/postboxes/{postbox}/{document_id}/{action}")
async def change(request: Request, ui: ClerkChanging, services: ServicesDep, session: ReadSession, postbox: BoxId,
                 document_id: DocId, action: str) -> Response:
    """claim / release / acknowledge (the API's functions), or reroute / copy with a reason."""
    form = await request.form()
    target = str(form.get("postbox", "")).strip()
    reason = str(form.get("reason", "")).strip()[:1000]
    try:
        if action in ACTIONS:
            await run_in_threadpool(ACTIONS[action], postbox, document_id, ui.principal, services)
        elif action in ("reroute", "copy"):
            if not reason:
                return _document_page(request, ui, services, session, postbox, document_id, status_code=422,
                                      error="action.reason_needed")
            api.get_postbox_document(postbox, document_id, ui.principal, services, session)  # in scope?
            if action == "copy":
                await run_in_threadpool(api.copy_document, document_id, api.CopyRequest(postbox=target, reason=reason),
                                        ui.principal, services)
            else:
                await run_in_threadpool(
                    reroute, services.settings, services.pipeline.sessions, document_id, postbox=target,
                    decided_by=ui.principal.actor, who=ui.principal.name, reason=reason,
                )
                return redirect(f"{UI_PREFIX}/postboxes/{postbox}?rerouted={document_id}", request)
        else:
            raise UiNotFound("no such document or postbox")
    except api.PostboxNotFound:
        raise UiNotFound("no such document or postbox") from None
    except MailroomError as exc:
        if exc.http_status == 404:
            raise UiNotFound("no such document or postbox") from None
        return _document_page(request, ui, services, session, postbox, document_id, status_code=exc.http_status,
                              error=f"code.{exc.code}", message=None)
    return redirect(f"{UI_PREFIX}/postboxes/{postbox}/{document_id}?done={action}", request)
