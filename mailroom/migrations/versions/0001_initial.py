"""Initial schema: documents, document_content, document_events, page_artifacts, outbox_events, audit_log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Timestamps are ``DateTime(timezone=True)`` (the models' ``UtcDateTime`` stores UTC). Constraint names follow
``mailroom.storage.models.NAMING_CONVENTION``; keep it that way so later batch migrations can address them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=True),
        sa.Column("details_json", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_log_prev_hash")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_object_type_object_id"), "audit_log", ["object_type", "object_id"])

    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("source_channel", sa.String(length=32), nullable=False),
        sa.Column("station", sa.String(length=128), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("original_sha", sa.String(length=64), nullable=True),
        sa.Column("searchable_pdf_sha", sa.String(length=64), nullable=True),
        sa.Column("parent_id", sa.String(length=32), nullable=True),
        sa.Column("page_from", sa.Integer(), nullable=True),
        sa.Column("page_to", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('received', 'separated', 'ocr', 'recognised', 'routed', 'review', 'failed', 'split')",
            name=op.f("ck_documents_state"),
        ),
        sa.CheckConstraint(
            "(parent_id IS NULL AND page_from IS NULL AND page_to IS NULL) OR (parent_id IS NOT NULL AND page_from >= 1 AND page_to >= page_from)",
            name=op.f("ck_documents_page_range"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_documents_attempts")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["documents.id"], name=op.f("fk_documents_parent_id_documents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_documents_idempotency_key")),
        sa.UniqueConstraint("parent_id", "page_from", name=op.f("uq_documents_parent_id_page_from")),
    )
    op.create_index(op.f("ix_documents_parent_id"), "documents", ["parent_id"])
    op.create_index(op.f("ix_documents_received_at"), "documents", ["received_at"])
    op.create_index(op.f("ix_documents_sha256"), "documents", ["sha256"])
    op.create_index(op.f("ix_documents_state_state_changed_at"), "documents", ["state", "state_changed_at"])

    op.create_table(
        "document_content",
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("content_json", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_content_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_document_content")),
    )
    op.create_table(
        "document_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("task_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_events_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_events")),
    )
    op.create_index(op.f("ix_document_events_document_id_id"), "document_events", ["document_id", "id"])

    op.create_table(
        "outbox_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_outbox_events_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    op.create_index(
        op.f("ix_outbox_events_dispatched_at_created_at"), "outbox_events", ["dispatched_at", "created_at"]
    )
    op.create_index(op.f("ix_outbox_events_document_id"), "outbox_events", ["document_id"])

    op.create_table(
        "page_artifacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("blob_sha", sa.String(length=64), nullable=False),
        sa.Column("dpi", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('page_image', 'searchable_pdf_page', 'ocr_tsv', 'page_json')", name=op.f("ck_page_artifacts_kind")
        ),
        sa.CheckConstraint("page >= 1", name=op.f("ck_page_artifacts_page")),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_page_artifacts_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_artifacts")),
        sa.UniqueConstraint(
            "document_id", "page", "kind", name=op.f("uq_page_artifacts_document_id_page_kind")
        ),
    )
    op.create_index(op.f("ix_page_artifacts_blob_sha"), "page_artifacts", ["blob_sha"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_page_artifacts_blob_sha"), table_name="page_artifacts")
    op.drop_table("page_artifacts")
    op.drop_index(op.f("ix_outbox_events_document_id"), table_name="outbox_events")
    op.drop_index(op.f("ix_outbox_events_dispatched_at_created_at"), table_name="outbox_events")
    op.drop_table("outbox_events")
    op.drop_index(op.f("ix_document_events_document_id_id"), table_name="document_events")
    op.drop_table("document_events")
    op.drop_table("document_content")
    op.drop_index(op.f("ix_documents_state_state_changed_at"), table_name="documents")
    op.drop_index(op.f("ix_documents_sha256"), table_name="documents")
    op.drop_index(op.f("ix_documents_received_at"), table_name="documents")
    op.drop_index(op.f("ix_documents_parent_id"), table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_audit_log_object_type_object_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
