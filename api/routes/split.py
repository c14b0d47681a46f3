""""Split here": ``POST /api/v1/documents/{id}/split`` (reviewer, admin). The work is :func:`api.split.split_document`,
which the validation station's "Hier trennen" calls too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Principal
from api.deps import ServicesDep, VisibleDocument, require
from api.errors import error_responses
from api.schemas import API_PREFIX, DocumentStatus, SplitBody
from api.split import split_document
from mailroom.errors import DocumentNotFound
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role

router = APIRouter(prefix=f"{API_PREFIX}/documents", tags=["review"])

ReviewerPrincipal = Annotated[Principal, Depends(require(Role.REVIEWER, Role.ADMIN))]


@router.post(
    "/{document_id}/split",
    summary="Split a document of the review queue into letters (reviewer, admin)",
    description="The document (state `review`) holds several letters: a new letter starts at each page of "
    "`before_pages`. Each letter becomes a child document (its pages renumbered from 1, its searchable PDF cut "
    "from the document's, `parent: {document_id, pages}` in its result) and is read, typed and routed as the "
    "letters of a scanned stack are (routed, or back in the review queue). The document moves to `split` "
    "(final), its result lists `letters` (`started_by: reviewer` from the second on); its events and audit trail "
    "stay (`document.split`). The answer is the split document; its `letters` are processed in the background. "
    "409 `invalid_transition` when the document is not in review; 422 `invalid_split` for pages outside 2..pages "
    "or a document without scanned pages (an e-invoice).",
    responses=error_responses(401, 403, 404, 409, 422),
)
def split(
    body: SplitBody, principal: ReviewerPrincipal, document: VisibleDocument, services: ServicesDep
) -> DocumentStatus:
    split_document(services.pipeline, services.dispatcher, document.id, before_pages=body.before_pages,
                   actor=principal.actor, key_id=principal.key_id)
    with session_scope(services.pipeline.sessions, readonly=True) as session:
        row = repository.get_document(session, document.id)
        if row is None:  # deleted in the very moment
            raise DocumentNotFound(f"no document {document.id}")
        return DocumentStatus.from_row(row)
