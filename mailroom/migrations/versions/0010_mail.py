"""E-mail intake: the messages taken from mailboxes, their documents, each mailbox's last poll.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mailbox", sa.String(length=128), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        _time("sent_at"),
        _time("received_at", nullable=False),
        _time("moved_at"),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('filed', 'refused')", name=op.f("ck_mail_messages_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_messages")),
        sa.UniqueConstraint("mailbox", "message_key", name=op.f("uq_mail_messages_mailbox_message_key")),
    )
    op.create_index("ix_mail_messages_sha256", "mail_messages", ["sha256"])
    op.create_index("ix_mail_messages_received_at", "mail_messages", ["received_at"])
    op.create_table(
        "mail_message_documents",
        sa.Column("message_row_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["message_row_id"], ["mail_messages.id"],
                                name=op.f("fk_mail_message_documents_message_row_id_mail_messages"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"],
                                name=op.f("fk_mail_message_documents_document_id_documents"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_row_id", "document_id", name=op.f("pk_mail_message_documents")),
    )
    op.create_index("ix_mail_message_documents_document_id", "mail_message_documents", ["document_id"])
    op.create_table(
        "mailbox_status",
        sa.Column("mailbox", sa.String(length=128), nullable=False),
        _time("last_poll_at"),
        _time("last_success_at"),
        _time("last_error_at"),
        sa.Column("last_error_code", sa.String(length=64), nullable=True),
        sa.Column("last_error_message", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("messages_filed", sa.Integer(), nullable=False),
        sa.Column("messages_refused", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", name=op.f("pk_mailbox_status")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("mailbox_status")
    op.drop_index("ix_mail_message_documents_document_id", table_name="mail_message_documents")
    op.drop_table("mail_message_documents")
    op.drop_index("ix_mail_messages_received_at", table_name="mail_messages")
    op.drop_index("ix_mail_messages_sha256", table_name="mail_messages")
    op.drop_table("mail_messages")
