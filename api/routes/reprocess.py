"""``POST /api/v1/documents/{id}/reprocess`` (admin): a failed document runs the pipeline again, same id.

The work is :func:`workers.reprocess.reprocess` (audited as ``document.reprocessed``); the route submits the
document to the workers afterwards.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from api.auth import Principal
from api.deps import ServicesDep, require
from api.errors import error_responses
from api.schemas import API_PREFIX
from mailroom.storage.keys import Role
from workers.reprocess import reprocess

router = APIRouter(prefix=f"{API_PREFIX}/documents", tags=["documents"])

AdminPrincipal = Annotated[Principal, Depends(require(Role.ADMIN))]


class ReprocessAccepted(BaseModel):
    document_id: str
    state: str = Field(description="received: queued for the workers again")
    previous_state: str
    previous_error: str | None = Field(description="the error code it failed with")
    status_url: str


@router.post(
    "/{document_id}/reprocess",
    status_code=202,
    summary="Process a failed document again (admin)",
    description="Once the cause of a failure is fixed (e.g. `tool_missing`, `storage_unavailable`, "
    "`attempts_exhausted`), the document runs the pipeline again from `received` under the same id: the "
    "station that uploaded it keeps seeing it. Audited (`document.reprocessed`). 409 `invalid_transition` for a "
    "document that did not fail; 404 `document_not_found`.",
    responses=error_responses(401, 403, 404, 409),
)
def reprocess_document(
    document_id: Annotated[str, Path(description="The document id (32 hex digits)", max_length=64)],
    principal: AdminPrincipal,
    services: ServicesDep,
) -> ReprocessAccepted:
    done = reprocess(services.pipeline.sessions, document_id, actor=principal.actor)
    services.dispatcher.submit(document_id)
    return ReprocessAccepted(document_id=document_id, state="received", previous_state=done.previous_state,
                             previous_error=done.previous_error,
                             status_url=f"{API_PREFIX}/documents/{document_id}")
