"""Transfer notes (Transfervermerk, BSI TR-03138 "TR-RESISCAN"): what was scanned, where, when, how and how well.

For every received file the scanning is documented so that the scan can stand in for the paper: the station and
channel, who uploaded it (the API key's name), when, the SHA-256 of the original as received, the page count,
the image settings of the pages (resolution, colour mode and bit depth where the file tells), and the quality
result (OCR confidence, skew, blank pages, warnings).

The notes live in the audit trail, so that they are hash-chained like every other entry and survive the deletion
of the document (retention, data-protection requests):

* ``document.received`` is written at intake, in the transaction that creates (or finds) the document record:
  station, channel, uploader, time, file name, type, size, SHA-256, pages counted by the intake checks;
* ``document.transfer_note`` is written when the pages have been read (``workers.pipeline.assemble``), with the
  per-page image settings and the quality result. Processing a document again writes a newer note.

:func:`transfer_notes` merges the two per document (the newest note wins; a document whose pages were never read
has an incomplete note with ``complete: false``). ``mailroom audit transfer-notes`` and
``GET /api/v1/documents/{id}/transfer-note`` export them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailroom import audit
from mailroom.storage.models import AuditLogRow, DocumentRow

INTAKE_ACTION = "document.received"
NOTE_ACTION = "document.transfer_note"
#: Actor of the entries the pipeline writes.
PIPELINE_ACTOR = "pipeline"

#: Columns of the CSV export, in order (nested values are joined with ``;``).
CSV_COLUMNS = (
    "document_id", "received_at", "station", "channel", "uploaded_by", "filename", "file_type", "size",
    "sha256", "page_count", "dpi", "colour", "bit_depth", "text_source", "ocr_confidence", "skew_degrees",
    "blank_pages", "warnings", "complete", "noted_at",
)


def record_intake(
    session: Session, row: DocumentRow, *, actor: str, uploaded_by: str | None, duplicate: bool
) -> None:
    """Write the intake entry for a received file (in the transaction that created or found ``row``)."""
    audit.record(
        session, actor=actor, action=INTAKE_ACTION, object_type="document", object_id=row.id,
        details={
            "channel": row.source_channel, "station": row.station, "uploaded_by": uploaded_by,
            "filename": row.filename, "file_type": row.kind, "mime_type": row.mime_type, "size": row.size,
            "sha256": row.sha256, "page_count": row.pages, "received_at": audit.iso(row.received_at),
            "duplicate": duplicate,
        },
    )


def record_note(session: Session, row: DocumentRow, note: Mapping[str, Any]) -> None:
    """Write the transfer note of a file whose pages have been read (see :mod:`intake.transfer_note`)."""
    audit.record(session, actor=PIPELINE_ACTOR, action=NOTE_ACTION, object_type="document", object_id=row.id,
                 details=dict(note))


def _entries(session: Session, document_id: str | None, since: datetime | None) -> Iterator[AuditLogRow]:
    query = select(AuditLogRow).where(
        AuditLogRow.object_type == "document", AuditLogRow.action.in_((INTAKE_ACTION, NOTE_ACTION))
    )
    if document_id is not None:
        query = query.where(AuditLogRow.object_id == document_id)
    if since is not None:  # both entries of a file are written after it was received
        query = query.where(AuditLogRow.at >= since)
    yield from session.scalars(query.order_by(AuditLogRow.id).execution_options(yield_per=1000))


def transfer_notes(
    session: Session, *, since: datetime | None = None, document_id: str | None = None
) -> list[dict[str, Any]]:
    """The transfer notes, oldest received first: of one document, or of every file received at/after ``since``."""
    notes: dict[str, dict[str, Any]] = {}
    for entry in _entries(session, document_id, since):
        assert entry.object_id is not None
        details: dict[str, Any] = json.loads(entry.details_json) if entry.details_json else {}
        current = notes.get(entry.object_id)
        if entry.action == INTAKE_ACTION:
            if current is not None:
                continue  # a duplicate upload of the same file: the first intake is the one documented
            notes[entry.object_id] = {
                "document_id": entry.object_id, **{k: v for k, v in details.items() if k != "duplicate"},
                "intake_actor": entry.actor, "complete": False, "noted_at": None,
            }
        else:
            base = current or {"document_id": entry.object_id, "intake_actor": None}
            notes[entry.object_id] = {**base, **details, "complete": True, "noted_at": audit.iso(entry.at)}
    found = list(notes.values())
    if since is not None:
        bound = audit.iso(since)
        found = [note for note in found if (note.get("received_at") or "") >= bound]
    return found


def transfer_note(session: Session, document_id: str) -> dict[str, Any] | None:
    """The transfer note of one document, or ``None`` when it has none."""
    found = transfer_notes(session, document_id=document_id)
    return found[0] if found else None


def csv_row(note: Mapping[str, Any]) -> list[str]:
    """One note as a CSV row of :data:`CSV_COLUMNS`."""
    quality = note.get("quality") or {}
    values: dict[str, Any] = {
        **note,
        "ocr_confidence": quality.get("ocr_confidence"),
        "skew_degrees": quality.get("skew_degrees"),
        "blank_pages": quality.get("blank_pages"),
        "warnings": quality.get("warnings"),
    }

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list | tuple):
            return ";".join(text(v) for v in value)
        return str(value)

    return [text(values.get(column)) for column in CSV_COLUMNS]
