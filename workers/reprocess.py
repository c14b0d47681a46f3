"""Processing a failed document again, under the same id: ``POST /api/v1/documents/{id}/reprocess`` (admin) and
``mailroom documents reprocess ID|--state failed``.

Once the cause of a failure is fixed (Tesseract installed on the worker, a full disk emptied, a page that crashed
its worker on an older version), the document runs the pipeline again from ``received``: its id, its station and
its original stay, so the station keeps seeing it (a new upload of the same file answers ``duplicate``, and
``mailroom process FILE`` would make a separate document). The restart resets the attempt budget, is an event of
the document and an audit entry (``document.reprocessed``: who, the state and error it had).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailroom import audit
from mailroom.errors import DocumentNotFound, InvalidTransition
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from mailroom.storage.models import DocumentRow, DocumentState

#: Only a failed document is processed again: any other is settled with a result or still being worked on.
REPROCESSABLE = frozenset({DocumentState.FAILED})


@dataclass(frozen=True)
class Reprocessed:
    document_id: str
    previous_state: str
    previous_error: str | None


def reprocess(sessions: sessionmaker[Session], document_id: str, *, actor: str) -> Reprocessed:
    """Send one failed document back to ``received`` (audited); the caller then submits it to the workers.
    Raises :class:`DocumentNotFound`, or :class:`InvalidTransition` for a document that did not fail."""
    with session_scope(sessions) as session:
        row = repository.get_document(session, document_id)
        if row is None:
            raise DocumentNotFound(f"no document {document_id}", document_id=document_id)
        if DocumentState(row.state) not in REPROCESSABLE:
            raise InvalidTransition(f"document {document_id} is {row.state}: only a failed document is processed "
                                    "again", document_id=document_id, state=row.state)
        done = Reprocessed(document_id, row.state, row.error_code)
        repository.restart(session, row, reason=f"reprocessed by {actor}")
        audit.record(session, actor=actor, action="document.reprocessed", object_type="document",
                     object_id=document_id, details={"previous_state": done.previous_state,
                                                     "previous_error": done.previous_error})
    return done


def failed_documents(sessions: sessionmaker[Session]) -> list[str]:
    """Ids of every failed document, oldest first."""
    with session_scope(sessions, readonly=True) as session:
        return list(session.scalars(
            select(DocumentRow.id).where(DocumentRow.state == DocumentState.FAILED.value)
            .order_by(DocumentRow.received_at)
        ))
