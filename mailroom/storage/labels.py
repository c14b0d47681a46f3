"""Labels: the corrections people make (re-route, change of type, field fixes), kept for learning.

Every correction becomes one row of ``labels``: the document, the ``kind`` of correction, its ``value`` (JSON:
a postbox id for ``reroute``, a document type for ``type``, a mapping of field names to values for
``fields``), who made it and when. Rows are only ever added: the latest label of a kind is what counts, the
earlier ones are the history. Training reads the latest ``reroute`` and ``type`` labels together with the
document's text from ``document_content`` (:func:`training_labels`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailroom.errors import InvalidCorrection
from mailroom.storage.models import Base, DocumentContentRow, DocumentRow, utcnow


class LabelKind(StrEnum):
    REROUTE = "reroute"  # value: the postbox the document belongs in
    TYPE = "type"  # value: the document type
    FIELDS = "fields"  # value: {field name: corrected value}


class LabelRow(Base):
    """One correction of one document."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value_json: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(255), doc="user or API key name that made the correction")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('reroute', 'type', 'fields')", name="kind"),
        Index("ix_labels_document_id_kind_id", "document_id", "kind", "id"),
        Index("ix_labels_at", "at"),
    )

    @property
    def value(self) -> Any:
        return json.loads(self.value_json)


def _checked_value(kind: LabelKind, value: Any) -> Any:
    if kind in (LabelKind.REROUTE, LabelKind.TYPE):
        if not isinstance(value, str) or not value.strip():
            raise InvalidCorrection(f"a {kind.value} correction needs a non-empty name, not {value!r}", field="value")
        return value.strip()
    if not isinstance(value, Mapping) or not value:
        raise InvalidCorrection("a fields correction needs a mapping of field names to values", field="value")
    return dict(value)


def record_correction(session: Session, document_id: str, *, kind: str, value: Any, who: str) -> LabelRow:
    """Store a correction of a document as a label (validated; the caller commits)."""
    try:
        label_kind = LabelKind(kind)
    except ValueError as exc:
        choices = ", ".join(k.value for k in LabelKind)
        raise InvalidCorrection(f"unknown correction kind {kind!r} (one of {choices})", field="kind") from exc
    if not who.strip():
        raise InvalidCorrection("a correction needs to say who made it", field="who")
    if session.get(DocumentRow, document_id) is None:
        raise InvalidCorrection(f"unknown document {document_id!r}", field="document_id")
    row = LabelRow(
        document_id=document_id,
        kind=label_kind.value,
        value_json=json.dumps(_checked_value(label_kind, value), ensure_ascii=False),
        who=who.strip(),
    )
    session.add(row)
    session.flush()
    return row


def labels_of(session: Session, document_id: str) -> list[LabelRow]:
    """Every label of a document, oldest first."""
    return list(session.scalars(select(LabelRow).where(LabelRow.document_id == document_id).order_by(LabelRow.id)))


@dataclass(frozen=True)
class TrainingLabel:
    """The latest type and postbox a person gave a document, with the document tree JSON."""

    document_id: str
    content_json: str
    document_type: str | None
    postbox: str | None


def training_labels(session: Session) -> list[TrainingLabel]:
    """Per corrected document (with stored content): its latest ``type`` and ``reroute`` labels, in the order of
    each document's first correction."""
    latest: dict[str, dict[str, str]] = {}
    rows = session.execute(
        select(LabelRow.document_id, LabelRow.kind, LabelRow.value_json)
        .where(LabelRow.kind.in_((LabelKind.TYPE.value, LabelKind.REROUTE.value)))
        .order_by(LabelRow.id)
    )
    for document_id, kind, value_json in rows:
        latest.setdefault(document_id, {})[kind] = json.loads(value_json)
    if not latest:
        return []
    query = select(DocumentContentRow.document_id, DocumentContentRow.content_json).where(
        DocumentContentRow.document_id.in_(list(latest))
    )
    contents = {document_id: content for document_id, content in session.execute(query)}
    return [
        TrainingLabel(doc_id, contents[doc_id], kinds.get(LabelKind.TYPE.value), kinds.get(LabelKind.REROUTE.value))
        for doc_id, kinds in latest.items()
        if doc_id in contents
    ]
