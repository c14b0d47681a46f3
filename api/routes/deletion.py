"""Deletion on request (data protection): ``DELETE /api/v1/documents/{id}`` (admin, with a reason).

The document leaves the database and the blob store at once, whatever its postboxes and retention period; a
scanned stack goes with all its letters, the last letter of a stack takes the stack with it. An audit tombstone
per document stays (``document.deleted``: SHA-256, filename, postboxes, ``reason: request``, the requester's
``note``, who). The work is :func:`mailroom.retention.delete_document`; the reason travels in the body, never in
the URL (access logs).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from api.auth import Principal
from api.deps import ServicesDep, require
from api.errors import error_responses
from api.schemas import API_PREFIX
from mailroom.retention import delete_document
from mailroom.storage.keys import Role

router = APIRouter(prefix=f"{API_PREFIX}/documents", tags=["retention"])

AdminPrincipal = Annotated[Principal, Depends(require(Role.ADMIN))]


class DeletionRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=1000,
                        description="why the document is deleted (e.g. the data protection request it answers)")


class DeletedDocumentInfo(BaseModel):
    document_id: str
    sha256: str
    filename: str
    state: str = Field(description="the state the document was in")
    postbox: str | None = None
    copies: list[str] = Field(default_factory=list)
    parent_id: str | None = None


class DeletionReceipt(BaseModel):
    deleted: list[DeletedDocumentInfo] = Field(description="the document, and its letters or its stack with it")
    blobs_removed: int = Field(description="stored files removed (those no other document refers to)")


@router.delete(
    "/{document_id}",
    summary="Delete a document now, on request (admin)",
    description="Removes the document with its results, events, labels, postbox items and pending webhook "
    "events, and every stored file no other document uses; a stack goes with its letters. Leaves an audit "
    "tombstone per document (`document.deleted`). 409 `document_in_processing` while the pipeline still works on "
    "it (ask again once it has settled); 404 `document_not_found`.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def delete_on_request(
    document_id: Annotated[str, Path(description="The document id (32 hex digits)", max_length=64)],
    body: DeletionRequest,
    principal: AdminPrincipal,
    services: ServicesDep,
) -> DeletionReceipt:
    deletion = delete_document(
        services.pipeline.sessions, services.pipeline.blobs, document_id,
        who=principal.actor, reason="request", note=body.reason,
    )
    assert deletion is not None  # no condition was given
    return DeletionReceipt(
        deleted=[DeletedDocumentInfo(document_id=d.document_id, sha256=d.sha256, filename=d.filename, state=d.state,
                                     postbox=d.postbox, copies=list(d.copies), parent_id=d.parent_id)
                 for d in deletion.documents],
        blobs_removed=len(deletion.blobs_removed),
    )
