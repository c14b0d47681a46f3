"""The station view: today's uploads of the user's station with state and quality warnings, its open rescan
requests (whatever day they came: :func:`api.rescan.open_rescan_requests`) with "Erledigt" to close one once the
new scan is in (:func:`api.rescan.dismiss_rescan`, as ``POST /api/v1/documents/{id}/dismiss``), and upload by drag
and drop (or the file chooser), each file through the REST API's upload path (:func:`api.upload.accept_upload`:
streamed, checked, stored durably, then queued). The routes only read the request and show the answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from api.auth import visible_documents
from api.deps import ReadSession, ServicesDep
from api.rescan import dismiss_rescan, open_rescan_requests
from api.ui.documents import visible_row
from api.ui.web import LOCAL_ZONE, UI_PREFIX, UiContext, changing_as, redirect, render, signed_in_as
from api.upload import accept_upload
from mailroom.directory import postbox_names
from mailroom.errors import InvalidTransition, MailroomError
from mailroom.storage.keys import Role
from mailroom.storage.models import DocumentRow, utcnow

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)

STATION_ROLES = (Role.STATION, Role.ADMIN)
Station = Annotated[UiContext, Depends(signed_in_as(*STATION_ROLES))]
StationChanging = Annotated[UiContext, Depends(changing_as(Role.STATION))]
StationOrAdminChanging = Annotated[UiContext, Depends(changing_as(*STATION_ROLES))]
MAX_LISTED = 500


@dataclass(frozen=True)
class Upload:
    id: str
    filename: str
    received_at: datetime
    state: str
    pages: int | None
    warnings: list[tuple[str, Any, str]]  # code, page, message (English, the fallback)
    rescan: str | None
    postbox: str | None
    error: str | None


def _upload(row: DocumentRow) -> Upload:
    result: dict[str, Any] = json.loads(row.result_json) if row.result_json else {}
    warnings = [(str(w.get("code") or ""), w.get("page"), str(w.get("message") or w.get("code")))
                for w in (result.get("quality") or {}).get("warnings") or []]
    rescan = result.get("rescan") or None
    rescan_text = (str(rescan.get("message") or rescan.get("reason")) if isinstance(rescan, dict) else None)
    postbox = (result.get("routing") or {}).get("postbox")
    return Upload(id=row.id, filename=row.filename, received_at=row.received_at, state=row.state, pages=row.pages,
                  warnings=warnings, rescan=rescan_text, postbox=postbox if isinstance(postbox, str) else None,
                  error=row.error_code)


def start_of_today() -> datetime:
    local = utcnow().astimezone(LOCAL_ZONE)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def todays_uploads(session: ReadSession, ui: UiContext) -> list[Upload]:
    """The station's documents received today (local time), newest first; an admin sees every station's."""
    since = start_of_today()
    rows = visible_documents(session, ui.principal, limit=MAX_LISTED)
    return [_upload(r) for r in rows if r.received_at >= since]


def open_rescans(session: ReadSession, ui: UiContext) -> list[Upload]:
    """The rescan requests still open for the user's station (any day), oldest first."""
    return [_upload(r) for r in open_rescan_requests(session, ui.principal, limit=MAX_LISTED)]


@router.get("/station")
def station_page(request: Request, ui: Station, services: ServicesDep, session: ReadSession) -> HTMLResponse:
    return render(request, "station.html", ui=ui, uploads=todays_uploads(session, ui),
                  rescans=open_rescans(session, ui), can_upload=ui.role is Role.STATION,
                  notice=request.query_params.get("notice"), postbox_names=postbox_names(services.settings))


@router.get("/station/uploads")
def station_uploads(request: Request, ui: Station, services: ServicesDep, session: ReadSession) -> HTMLResponse:
    """The table alone (htmx refreshes it while documents are read)."""
    return render(request, "_station_uploads.html", ui=ui, uploads=todays_uploads(session, ui),
                  rescans=open_rescans(session, ui), postbox_names=postbox_names(services.settings))


@router.post("/station/{document_id}/dismiss")
async def station_dismiss(
    request: Request, ui: StationOrAdminChanging, services: ServicesDep, session: ReadSession,
    document_id: Annotated[str, Path(max_length=64)],
) -> Response:
    """"Erledigt": the new scan is in; the rescan request is closed (the document stays, ``dismissed``)."""
    row = visible_row(session, ui.principal, document_id)
    try:
        await run_in_threadpool(dismiss_rescan, services.pipeline.sessions, row.id, actor=ui.principal.actor,
                                principal=ui.principal)
    except InvalidTransition:  # closed meanwhile (another operator, the API): the page shows how things are
        return redirect(f"{UI_PREFIX}/station?notice=already", request)
    return redirect(f"{UI_PREFIX}/station?notice=dismissed", request)


@router.post("/station/upload")
async def station_upload(request: Request, ui: StationChanging, services: ServicesDep) -> JSONResponse:
    """One file (multipart field ``file``), sent by the page's script with the CSRF token as a header."""
    try:
        accepted = await accept_upload(request, services, ui.principal)
    except MailroomError as exc:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.http_status)
    return JSONResponse({"document_id": accepted.document_id, "duplicate": accepted.duplicate,
                         "state": accepted.state}, status_code=200 if accepted.duplicate else 202)
