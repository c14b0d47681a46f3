"""Review decisions, re-routes and invoice field corrections: the service functions that the REST API's routes
(:mod:`api.routes.corrections`) and the web UI's validation station (:mod:`api.ui.review`) both call.

:func:`apply_decision` moves a document to a postbox (from ``review``: a decision; from ``routed``: a re-route),
rewrites its result, stores the corrections as labels (postbox, type, invoice fields) and, for corrected invoice
fields, confirms them through the one correction service (:func:`extraction.confirm.confirm_invoice_fields`:
checks, label, audit, the supplier's layout memory): all in one
transaction, conditional on the state the caller saw, so that two reviewers deciding the same document at once
cannot both win (409).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from extraction.confirm import Form, confirm_invoice_fields
from mailroom import audit
from mailroom.errors import DocumentNotFound, InvalidTransition, SamePostbox
from mailroom.result import DocumentType, RescanRequest, Result, Routing
from mailroom.storage import repository
from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import session_scope
from mailroom.storage.labels import LabelKind, record_correction
from mailroom.storage.models import DocumentRow, DocumentState

log = logging.getLogger(__name__)


def apply_decision(
    sessions: sessionmaker[Session],
    document_id: str,
    *,
    expected: DocumentState,
    postbox: str,
    decided_by: str,
    who: str,
    reason: str | None,
    document_type: str | None = None,
    fields: Mapping[str, str] | None = None,
    blobs: BlobStore | None = None,
    today: date | None = None,
) -> DocumentRow:
    """Move the document to ``postbox`` (state ``routed``), rewrite its result, store the labels and, with
    ``fields`` (what the reviewer typed, by field name; empty ones stay as read), confirm or correct the invoice
    fields through :func:`extraction.confirm.confirm_invoice_fields` (checked as typed, label, audit, checks run
    again, the supplier's layout learned): one transaction. Returns the updated row.

    Raises :class:`~mailroom.errors.InvalidFields` (nothing stored) when a typed value does not parse or fails its
    checks."""
    typed = {name: text for name, text in (fields or {}).items() if text.strip()}
    with session_scope(sessions) as session:
        row = repository.get_document(session, document_id)
        if row is None:
            raise DocumentNotFound(f"no document {document_id}")
        if row.state != expected.value:
            raise InvalidTransition(
                f"document {row.id} is {row.state}, not {expected.value}", document_id=row.id,
                from_state=row.state, to_state=DocumentState.ROUTED.value,
            )
        corrected: list[str] = []
        if typed:
            if blobs is None:
                raise ValueError("correcting invoice fields needs the blob store (the pages' words)")
            corrected = confirm_invoice_fields(session, blobs, row.id, typed, actor=decided_by, who=who,
                                               form=Form.TYPED, today=today).corrected
        previous = repository.stored_routing(row)
        if expected is DocumentState.ROUTED and previous is not None and previous.postbox == postbox:
            raise SamePostbox(f"document {row.id} is already in postbox {postbox!r}", field="postbox")
        decided = Routing(postbox=postbox, status="routed", confidence=1.0, decided_by=decided_by,
                          reason=reason or None)
        routing = previous.superseded(decided) if previous is not None else decided.model_copy(update={"history": []})

        def edit(result: Result) -> None:
            result.routing = routing
            if document_type:
                result.document_type = DocumentType(label=document_type, confidence=1.0, decided_by=decided_by)

        repository.change_result(session, row, edit)
        if document_type:
            record_correction(session, row.id, kind=LabelKind.TYPE.value, value=document_type, who=who)
        record_correction(session, row.id, kind=LabelKind.REROUTE.value, value=postbox, who=who)
        event_reason = f"{'re-routed' if expected is DocumentState.ROUTED else 'routed'} to {postbox} by {decided_by}"
        repository.transition(session, row, DocumentState.ROUTED,
                              reason=f"{event_reason}: {reason}" if reason else event_reason)
        audit.record(
            session, actor=decided_by, object_type="document", object_id=row.id,
            action="document.review_decided" if expected is DocumentState.REVIEW else "document.rerouted",
            details={"from_state": expected.value, "from_postbox": previous.postbox if previous else None,
                     "postbox": postbox, "previous_decided_by": previous.decided_by if previous else None,
                     "reason": reason, "document_type": document_type, "corrected_fields": sorted(corrected)},
        )
        session.flush()
        session.refresh(row)
        row.children  # noqa: B018  loaded now: the caller reads the letters of a stack after the session ends
        return row


def send_back_for_rescan(
    sessions: sessionmaker[Session], document_id: str, *, decided_by: str, message: str, pages: list[int],
) -> DocumentRow:
    """A reviewer's decision: the scan of a document in review is unusable, its station scans it again. The
    document moves to ``rescan`` with ``result.rescan`` (reason ``reviewer``, the pages, the message the station
    reads), audited as ``document.rescan_requested``: the same request the quality gate makes."""
    with session_scope(sessions) as session:
        row = repository.get_document(session, document_id)
        if row is None:
            raise DocumentNotFound(f"no document {document_id}")
        if row.state != DocumentState.REVIEW.value:
            raise InvalidTransition(f"document {row.id} is {row.state}, not review", document_id=row.id,
                                    from_state=row.state, to_state=DocumentState.RESCAN.value)
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
        session.flush()
        session.refresh(row)
        return row
