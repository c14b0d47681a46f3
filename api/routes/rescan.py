"""Rescan requests by people: ``POST /api/v1/documents/{id}/rescan`` (a reviewer sends a scan in review back to
its station) and ``POST /api/v1/documents/{id}/dismiss`` (the station, or an admin, closes the request once the new
scan is in). The work is :mod:`api.rescan`, which the web UI's validation station and station view call too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Principal
from api.deps import ServicesDep, VisibleDocument, require
from api.errors import error_responses
from api.rescan import dismiss_rescan, send_back_for_rescan
from api.schemas import API_PREFIX, DismissBody, DocumentStatus, RescanBody
from mailroom.storage.keys import Role

router = APIRouter(prefix=f"{API_PREFIX}/documents", tags=["review"])

ReviewerPrincipal = Annotated[Principal, Depends(require(Role.REVIEWER, Role.ADMIN))]
StationOrAdmin = Annotated[Principal, Depends(require(Role.STATION, Role.ADMIN))]


@router.post(
    "/{document_id}/rescan",
    summary="Send a document of the review queue back to its station for a rescan (reviewer, admin)",
    description="The document (state `review`) moves to `rescan` with `rescan: {reason: reviewer, pages, message}`"
    ", which its station reads (`GET /api/v1/documents?state=rescan`, `mailroom upload`, the watched folder, the "
    "station view); audited as `document.rescan_requested`. Pages outside the document are dropped; none: every "
    "page. 409 `invalid_transition` when the document is not in review, `no_station` when no scanning station "
    "sent it (mail, e-invoice); 422 `validation_error` without a message.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def request_rescan(
    body: RescanBody, principal: ReviewerPrincipal, document: VisibleDocument, services: ServicesDep
) -> DocumentStatus:
    return DocumentStatus.from_row(send_back_for_rescan(
        services.pipeline.sessions, document.id, decided_by=principal.actor, message=body.message, pages=body.pages,
    ))


@router.post(
    "/{document_id}/dismiss",
    summary="Close a rescan request once the new scan is in (station of the document, admin)",
    description="The document (state `rescan`) moves to `dismissed`, final: it is kept with its events and audit "
    "trail until retention takes it, and no longer listed as a rescan request. `replaced_by` names the new scan "
    "(a document the caller sees). Audited as `document.rescan_dismissed`. 409 `invalid_transition` when the "
    "document does not wait for a rescan; 422 `validation_error` for a `replaced_by` the caller does not see.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def dismiss(
    body: DismissBody, principal: StationOrAdmin, document: VisibleDocument, services: ServicesDep
) -> DocumentStatus:
    return DocumentStatus.from_row(dismiss_rescan(
        services.pipeline.sessions, document.id, actor=principal.actor, principal=principal,
        replaced_by=body.replaced_by, note=body.note,
    ))
