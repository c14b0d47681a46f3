"""Rescan requests made by people: a reviewer sends a scan back to its station, the station closes the request.

:func:`send_back_for_rescan` is the reviewer's decision in the validation station (``POST
/api/v1/documents/{id}/rescan`` and the UI's "Zurück an die Station"): the document moves from ``review`` to
``rescan`` with ``result.rescan`` (reason ``reviewer``, the pages, the message the station reads), the same
request the quality gate (:mod:`intake.quality_gate`) makes for blank or unreadable scans.

:func:`dismiss_rescan` closes a request (``POST /api/v1/documents/{id}/dismiss`` and the station view's
"Erledigt"): the station scanned the letter again (the new scan is a new document, optionally named as
``replaced_by``) or there was nothing to scan. The document moves to ``dismissed`` (final) and is kept with its
events and audit trail until retention takes it; it is not deleted, so the dashboard's rescan figures and the
trail stay whole. This is what Kofax's and paperless-ngx's "rejected, rescanned" does, without losing the record.

Both are conditional on the state the caller saw (409 ``invalid_transition`` / ``state_conflict``) and audited
(``document.rescan_requested`` / ``document.rescan_dismissed``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, can_see, visible_documents
from mailroom import audit
from mailroom.errors import NoStation, ValidationFailed
from mailroom.result import RescanRequest, Result
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from mailroom.storage.models import DocumentRow, DocumentState

#: The longest message a reviewer writes to the station.
MAX_MESSAGE = 500
#: The longest note of a dismissal.
MAX_NOTE = 500


def send_back_for_rescan(
    sessions: sessionmaker[Session], document_id: str, *, decided_by: str, message: str, pages: list[int],
) -> DocumentRow:
    """A reviewer's decision: the scan of a document in review is unusable, its station scans it again. The
    document moves to ``rescan`` with ``result.rescan`` (reason ``reviewer``, the pages, the message the station
    reads), audited as ``document.rescan_requested``: the same request the quality gate makes. ``pages`` outside
    the document are dropped; none left means every page. Raises :class:`ValidationFailed` without a message,
    :class:`NoStation` for a document no station scanned, :class:`InvalidTransition` when it is not in review."""
    message = message.strip()
    if not message or len(message) > MAX_MESSAGE:
        raise ValidationFailed(f"the station needs a message (1 to {MAX_MESSAGE} characters)", field="message")
    with session_scope(sessions) as session:
        row = repository.document_in_state(session, document_id, DocumentState.REVIEW, DocumentState.RESCAN)
        if row.station is None:
            raise NoStation(f"document {row.id} was not scanned at a station ({row.source_channel}): nobody can "
                            "scan it again", document_id=row.id, channel=row.source_channel)
        wanted = sorted({p for p in pages if 1 <= p <= (row.pages or 1)}) or list(range(1, (row.pages or 1) + 1))
        request = RescanRequest(reason="reviewer", pages=wanted, message=message)

        def edit(result: Result) -> None:
            result.rescan = request

        repository.change_result(session, row, edit)
        repository.transition(session, row, DocumentState.RESCAN,
                              reason=f"rescan requested by {decided_by}: pages {wanted}")
        audit.record(session, actor=decided_by, action="document.rescan_requested", object_type="document",
                     object_id=row.id, details={"state": DocumentState.RESCAN.value, "station": row.station,
                                                "reason": "reviewer", "pages": wanted, "message": message})
        return repository.decided(session, row)


def dismiss_rescan(
    sessions: sessionmaker[Session], document_id: str, *, actor: str, principal: Principal | None,
    replaced_by: str | None = None, note: str | None = None,
) -> DocumentRow:
    """Close the rescan request of ``document_id`` (state ``rescan`` → ``dismissed``), audited as
    ``document.rescan_dismissed`` by ``actor``. ``replaced_by``: the new scan, a document ``principal`` sees (else
    :class:`ValidationFailed` on ``replaced_by``: a station cannot name another station's upload); ``principal``
    ``None`` is an operator at the data directory (``mailroom documents dismiss``), for whom it must only exist.
    Raises :class:`InvalidTransition` when the document is not waiting for a rescan."""
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise ValidationFailed(f"the note is longer than {MAX_NOTE} characters", field="note")
    with session_scope(sessions) as session:
        row = repository.document_in_state(session, document_id, DocumentState.RESCAN, DocumentState.DISMISSED,
                                           why="no rescan request to dismiss")
        if replaced_by is not None:
            new = repository.get_document(session, replaced_by)
            if new is None or new.id == row.id or (principal is not None and not can_see(principal, new, session)):
                raise ValidationFailed(f"replaced_by: no document {replaced_by} of yours", field="replaced_by")
        reason = f"rescan request dismissed by {actor}"
        if replaced_by is not None:
            reason += f": scanned again as {replaced_by}"
        repository.transition(session, row, DocumentState.DISMISSED, reason=reason)
        audit.record(session, actor=actor, action="document.rescan_dismissed", object_type="document",
                     object_id=row.id, details={"station": row.station, "replaced_by": replaced_by, "note": note,
                                                "key_id": principal.key_id if principal is not None else None})
        return repository.decided(session, row)


def open_rescan_requests(session: Session, principal: Principal, *, limit: int = 500) -> list[DocumentRow]:
    """The rescan requests still open that ``principal`` sees (a station: its own; any day), oldest first: what the
    station view lists with "Erledigt"."""
    return visible_documents(session, principal, state=DocumentState.RESCAN.value, limit=limit, oldest_first=True)
