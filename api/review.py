"""Review decisions, re-routes and invoice field corrections: the service functions that the REST API's routes
(:mod:`api.routes.corrections`) and the web UI's validation station (:mod:`api.ui.review`) both call.

:func:`apply_decision` moves a document to a postbox (from ``review``: a decision; from ``routed``: a re-route),
rewrites its result, stores the corrections as labels (postbox, type, invoice fields) and, for corrected invoice
fields, confirms them through the one correction service (:func:`extraction.confirm.confirm_invoice_fields`:
checks, label, audit, the supplier's layout memory): all in one
transaction, conditional on the state the caller saw, so that two reviewers deciding the same document at once
cannot both win (409).

:func:`decide_review` and :func:`reroute` are the decisions as people make them (the postbox checked against the
directory, the type against the type model, then :func:`apply_decision`); :func:`review_queue` is the queue a
person works. The other decisions of the validation station have their own homes: back to the station for a rescan
(:func:`api.rescan.send_back_for_rescan`) and "split here" (:func:`api.split.split_document`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, visible_documents
from extraction.confirm import Form, confirm_invoice_fields
from mailroom import audit
from mailroom.directory import check_known_postbox
from mailroom.errors import SamePostbox, UnknownDocumentType
from mailroom.result import DocumentType, Result, Routing
from mailroom.settings import Settings
from mailroom.storage import repository
from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import session_scope
from mailroom.storage.labels import LabelKind, record_correction
from mailroom.storage.models import DocumentRow, DocumentState
from routing.training import known_document_types

log = logging.getLogger(__name__)


def check_known_type(settings: Settings, document_type: str) -> None:
    """Refuse a document type the current type model does not know (``unknown_document_type``): a typo would
    become a new class of the model at the next training."""
    known = known_document_types(settings)
    if known is not None and document_type not in known:
        raise UnknownDocumentType(f"unknown document type {document_type!r}; known: {', '.join(sorted(known))}",
                                  field="document_type")


def decide_review(
    settings: Settings, sessions: sessionmaker[Session], document_id: str, *, postbox: str, decided_by: str, who: str,
    document_type: str | None = None, fields: Mapping[str, str] | None = None, blobs: BlobStore | None = None,
) -> DocumentRow:
    """A person's decision on a document of the review queue (``POST .../decision``, the validation station's
    "Bestätigen"): ``postbox`` must be in the organisation directory (``unknown_postbox``), ``document_type`` one the
    type model knows (``unknown_document_type``); then :func:`apply_decision` from ``review``."""
    check_known_postbox(settings, postbox)
    if document_type is not None:
        check_known_type(settings, document_type)
    return apply_decision(sessions, document_id, expected=DocumentState.REVIEW, postbox=postbox, decided_by=decided_by,
                          who=who, reason=None, document_type=document_type, fields=fields, blobs=blobs)


def reroute(
    settings: Settings, sessions: sessionmaker[Session], document_id: str, *, postbox: str, decided_by: str, who: str,
    reason: str | None,
) -> DocumentRow:
    """Send a routed document on to ``postbox`` (``POST .../reroute``, the postbox view's "Weiterleiten"): it must be
    in the organisation directory (``unknown_postbox``); then :func:`apply_decision` from ``routed``."""
    check_known_postbox(settings, postbox)
    return apply_decision(sessions, document_id, expected=DocumentState.ROUTED, postbox=postbox,
                          decided_by=decided_by, who=who, reason=reason)


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
        row = repository.document_in_state(session, document_id, expected, DocumentState.ROUTED)
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
        return repository.decided(session, row)


# --- the review queue ---------------------------------------------------------------------------------------

#: The longest queue one page shows.
QUEUE_PAGE = 200


@dataclass(frozen=True)
class QueueEntry:
    """One document of the review queue: since when it waits, where it came from, what it was read as, and why
    it waits (the routing's review reasons)."""

    id: str
    filename: str
    received_at: datetime
    waiting_since: datetime
    station: str | None
    document_type: str | None
    reasons: list[str]


def queue_entry(row: DocumentRow) -> QueueEntry:
    result: dict[str, Any] = json.loads(row.result_json) if row.result_json else {}
    routing = result.get("routing") or {}
    reasons = [str(r) for r in routing.get("review_reasons") or []]
    doc_type = (result.get("document_type") or {}).get("label")
    return QueueEntry(id=row.id, filename=row.filename, received_at=row.received_at,
                      waiting_since=row.state_changed_at, station=row.station,
                      document_type=doc_type if isinstance(doc_type, str) else None, reasons=reasons)


def review_queue(session: Session, principal: Principal, *, limit: int = QUEUE_PAGE) -> list[QueueEntry]:
    """The review queue ``principal`` may see (scope of :mod:`api.auth`), oldest first."""
    rows = visible_documents(session, principal, state=DocumentState.REVIEW.value, limit=limit, oldest_first=True)
    return [queue_entry(row) for row in rows]
