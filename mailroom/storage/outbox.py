"""The transactional outbox: ``mailroom.event/v1`` events written in the transaction of the change they announce.

:func:`mailroom.storage.repository.transition` calls :func:`announce` when a document reaches a state the outside
world is told about, so an event exists exactly when its change was committed: none for a change that was rolled
back, none lost for one that happened. Delivery (``webhooks.delivery``) later fans each event out to the webhook
subscriptions that want it and sends the same bytes on every attempt.

The event (``payload_json``) is the contract's body: ``{"id", "type", "occurred_at", "document": <result>,
"links": {...}}``. Links are paths relative to the API root (``/api/v1/...``); delivery makes them absolute with
``MAILROOM_PUBLIC_URL``. A failed document has no result: its ``document`` carries the identity of the file and
``error: {code, message}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from mailroom.storage.models import DocumentRow, DocumentState, OutboxEventRow, new_id, utcnow

SCHEMA = "mailroom.event/v1"
ROUTED = "document.routed"
REVIEW_REQUIRED = "document.review_required"
REROUTED = "document.rerouted"
FAILED = "document.failed"
EVENT_TYPES: tuple[str, ...] = (ROUTED, REVIEW_REQUIRED, REROUTED, FAILED)


def event_type_for(from_state: str | None, to_state: str) -> str | None:
    """The event a state change announces, or ``None`` for the pipeline's inner steps."""
    if to_state == DocumentState.ROUTED.value:
        return REROUTED if from_state == DocumentState.ROUTED.value else ROUTED
    if to_state == DocumentState.REVIEW.value:
        return REVIEW_REQUIRED
    if to_state == DocumentState.FAILED.value:
        return FAILED
    return None


def iso_time(moment: datetime) -> str:
    """``2026-11-26T08:12:03.123Z``: UTC, milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def document_links(document_id: str) -> dict[str, str]:
    """Where a receiver fetches the document (paths relative to the API root)."""
    base = f"/api/v1/documents/{document_id}"
    return {
        "self": base,
        "original": f"{base}/original",
        "searchable_pdf": f"{base}/searchable.pdf",
        "events": f"{base}/events",
    }


def _document_part(doc: DocumentRow) -> dict[str, Any]:
    if doc.result_json:
        document: dict[str, Any] = json.loads(doc.result_json)
    else:
        document = {"document_id": doc.id, "sha256": doc.sha256, "filename": doc.filename, "pages": doc.pages}
    if doc.state == DocumentState.FAILED.value:
        document["error"] = {"code": doc.error_code, "message": doc.error_message}
    return document


def announce(session: Session, doc: DocumentRow, event_type: str, *, at: datetime | None = None) -> OutboxEventRow:
    """Write the event ``event_type`` about ``doc`` (in its current state and result) to the outbox."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}; one of {', '.join(EVENT_TYPES)}")
    event_id = new_id()
    when = at or utcnow()
    payload = {
        "id": event_id,
        "type": event_type,
        "occurred_at": iso_time(when),
        "document": _document_part(doc),
        "links": document_links(doc.id),
    }
    row = OutboxEventRow(
        id=event_id, document_id=doc.id, type=event_type,
        payload_json=json.dumps(payload, ensure_ascii=False, separators=(",", ":")), created_at=when,
    )
    session.add(row)
    return row
