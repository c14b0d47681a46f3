"""Indexes on the blobs a document references, so that deleting a document finds the blobs still in use fast.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_documents_original_sha", "documents", ["original_sha"])
    op.create_index("ix_documents_searchable_pdf_sha", "documents", ["searchable_pdf_sha"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_documents_searchable_pdf_sha", table_name="documents")
    op.drop_index("ix_documents_original_sha", table_name="documents")
