"""Labels: corrections (re-route, change of type, field fixes) kept for learning.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("who", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('reroute', 'type', 'fields')", name=op.f("ck_labels_kind")),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_labels_document_id_documents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
    )
    op.create_index("ix_labels_document_id_kind_id", "labels", ["document_id", "kind", "id"])
    op.create_index("ix_labels_at", "labels", ["at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_labels_at", table_name="labels")
    op.drop_index("ix_labels_document_id_kind_id", table_name="labels")
    op.drop_table("labels")
