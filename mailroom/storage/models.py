"""The database tables (SQLAlchemy 2 declarative, ``Mapped`` style).

* ``documents``: one row per document: a received file, or a letter separated from a scanned stack
  (``parent_id`` + ``page_from``/``page_to``). Its ``state`` is the truth about where the document is in the
  pipeline; ``idempotency_key`` makes receiving the same bytes from the same source twice return the same row.
* ``document_content``: the document tree JSON (``mailroom.model.Document``), kept apart because it is large
  and rarely needed when listing documents.
* ``document_events``: every state transition, in order.
* ``page_artifacts``: per page and kind (page image, searchable PDF page, OCR TSV) the blob it produced;
  unique per (document, page, kind) so that redoing a page replaces, never duplicates.
* ``outbox_events``: events written in the transaction of the change they announce (transactional outbox).
* ``audit_log``: the append-only, hash-chained audit trail.

Timestamps are timezone-aware UTC in Python; SQLite stores them as naive UTC text (see :class:`UtcDateTime`).
Ids are 32-character lower-case hex strings that sort by creation time (UUIDv7 layout, :func:`new_id`).
Constraint names follow :data:`NAMING_CONVENTION` so that later (batch) migrations can address them.

The tables of other concerns (API keys, labels, postbox items, rule sets, webhooks, suppliers) live in their own
modules beside this one and build on its :class:`Base`; :mod:`mailroom.storage.schema` imports them all, for
whatever needs the whole schema (migrations, schema comparison).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SHA256_LENGTH = 64
ID_LENGTH = 32
#: ``prev_hash`` of the first entry of the audit chain.
AUDIT_GENESIS_HASH = "0" * SHA256_LENGTH


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new id: 32 hex characters in UUIDv7 layout (48-bit millisecond timestamp, then random bits).

    Ids sort by creation time (to the millisecond), which keeps B-tree inserts local and listings stable.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 random bits, 74 used
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value).hex


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are converted to UTC and stored
    without offset, and read back as UTC. Naive datetimes are refused: they are a bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before storing; naive values are an error."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: mailroom stores timezone-aware UTC timestamps only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach (or convert to) UTC when reading."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class DocumentState(StrEnum):
    """Where a document is in the pipeline. Each state names the last stage that *completed*.

    ``received``: the original is stored; ``separated``: the stack was split (the letters continue as child
    documents; a stack holding one letter continues itself); ``ocr``: every page has its text;
    ``recognised``: type, recipient and fields are known; ``routed``: delivered to a postbox; ``review``:
    waiting for a person in the validation station; ``rescan``: blank or unreadable, sent back to the station
    that scanned it (the result's ``rescan`` says why and which pages; the quality gate
    ``intake.quality_gate`` decides); ``failed``: gave up, see ``error_code``; ``split``: the file held several
    letters, each of which continues as its own (child) document — final for the file itself (also a document a
    reviewer split in the validation station); ``dismissed``: a rescan request its station (or an admin) closed,
    the new scan being in (or nothing to scan) — final, the document and its trail are kept.
    """

    RECEIVED = "received"
    SEPARATED = "separated"
    OCR = "ocr"
    RECOGNISED = "recognised"
    ROUTED = "routed"
    REVIEW = "review"
    RESCAN = "rescan"
    SPLIT = "split"
    FAILED = "failed"
    DISMISSED = "dismissed"


class ArtifactKind(StrEnum):
    """What a page artifact blob is."""

    PAGE_IMAGE = "page_image"
    SEARCHABLE_PDF_PAGE = "searchable_pdf_page"
    OCR_TSV = "ocr_tsv"
    PAGE_JSON = "page_json"  # the Page of the document tree (words, boxes, quality) as read


def _in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in values)


class Base(DeclarativeBase):
    """Declarative base of all mailroom tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UtcDateTime()}  # noqa: RUF012


class DocumentRow(Base):
    """One document: a received file or a letter separated from a stack (``parent_id``)."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(String(SHA256_LENGTH), index=True)
    filename: Mapped[str] = mapped_column(String(1024))
    kind: Mapped[str] = mapped_column(String(32), doc="pdf, tiff, png, jpeg, xml, ...")
    mime_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger, doc="bytes of the original")
    pages: Mapped[int | None] = mapped_column(Integer)
    source_channel: Mapped[str] = mapped_column(String(32), doc="upload, watch_folder, cli, ...")
    station: Mapped[str | None] = mapped_column(String(128))
    idempotency_key: Mapped[str | None] = mapped_column(
        String(SHA256_LENGTH),
        unique=True,
        doc="SHA-256 over (sha256, source_channel, station) for received files; NULL for separated letters",
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=DocumentState.RECEIVED.value)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    result_json: Mapped[str | None] = mapped_column(Text, doc="mailroom.result/v1 as JSON text")
    original_sha: Mapped[str | None] = mapped_column(String(SHA256_LENGTH), index=True)
    searchable_pdf_sha: Mapped[str | None] = mapped_column(String(SHA256_LENGTH), index=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("documents.id"), index=True)
    page_from: Mapped[int | None] = mapped_column(Integer, doc="first page (1-based) in the parent's file")
    page_to: Mapped[int | None] = mapped_column(Integer, doc="last page (inclusive) in the parent's file")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    content: Mapped[DocumentContentRow | None] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True, lazy="select"
    )
    events: Mapped[list[DocumentEventRow]] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="DocumentEventRow.id",
        lazy="select",
    )
    parent: Mapped[DocumentRow | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[DocumentRow]] = relationship(
        back_populates="parent", order_by="DocumentRow.page_from",
        lazy="selectin",  # loaded with the row: the API's status lists the letters of rows whose session closed
    )

    __table_args__ = (
        UniqueConstraint("parent_id", "page_from"),
        CheckConstraint(f"state IN ({_in(DocumentState)})", name="state"),
        CheckConstraint(
            "(parent_id IS NULL AND page_from IS NULL AND page_to IS NULL)"
            " OR (parent_id IS NOT NULL AND page_from >= 1 AND page_to >= page_from)",
            name="page_range",
        ),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_documents_state_state_changed_at", "state", "state_changed_at"),
        Index("ix_documents_received_at", "received_at"),
    )

    def __repr__(self) -> str:
        return f"DocumentRow(id={self.id!r}, state={self.state!r}, filename={self.filename!r})"


class DocumentContentRow(Base):
    """The document tree (``mailroom.model.Document``) as JSON; one row per document, loaded on demand."""

    __tablename__ = "document_content"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    content_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    document: Mapped[DocumentRow] = relationship(back_populates="content")


class DocumentEventRow(Base):
    """One state transition of a document; ``id`` gives the order."""

    __tablename__ = "document_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(16), doc="NULL for the creation of the document")
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[str | None] = mapped_column(String(255))

    document: Mapped[DocumentRow] = relationship(back_populates="events")

    __table_args__ = (Index("ix_document_events_document_id_id", "document_id", "id"),)


class PageArtifactRow(Base):
    """A blob produced for one page of a document (page image, searchable PDF page, OCR TSV)."""

    __tablename__ = "page_artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    page: Mapped[int] = mapped_column(Integer, doc="1-based page number within the document")
    kind: Mapped[str] = mapped_column(String(32))
    blob_sha: Mapped[str] = mapped_column(String(SHA256_LENGTH), index=True)
    dpi: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("document_id", "page", "kind"),
        CheckConstraint(f"kind IN ({_in(ArtifactKind)})", name="kind"),
        CheckConstraint("page >= 1", name="page"),
    )


class OutboxEventRow(Base):
    """An event to announce (webhook), written in the transaction of the change; dispatched later."""

    __tablename__ = "outbox_events"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(64), doc="document.routed, document.review_required, ...")
    payload_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(doc="NULL until handed to delivery")

    __table_args__ = (Index("ix_outbox_events_dispatched_at_created_at", "dispatched_at", "created_at"),)


class AuditLogRow(Base):
    """One entry of the append-only audit trail.

    ``hash`` is the HMAC-SHA256, under the audit key ``key_id`` kept outside the database
    (:mod:`mailroom.audit_keys`), over ``prev_hash``, the key id and the entry's content (a bare SHA-256 for
    entries written before keys); ``prev_hash`` is the previous entry's
    hash (:data:`AUDIT_GENESIS_HASH` for the first). Both are unique, so the chain cannot fork even when two
    writers append at once: the second insert fails and re-reads the head.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(255), doc="api key name, user, 'system', worker task")
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(255))
    details_json: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(SHA256_LENGTH), unique=True)
    hash: Mapped[str] = mapped_column(String(SHA256_LENGTH), unique=True)
    key_id: Mapped[str | None] = mapped_column(
        String(64), doc="the audit key that signed the entry (HMAC); NULL: an unkeyed entry from before keys")

    __table_args__ = (Index("ix_audit_log_object_type_object_id", "object_type", "object_id"),)
