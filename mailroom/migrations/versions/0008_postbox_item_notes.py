"""Postbox items: who sent a copy on and why (``placed_by``, ``note``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("postbox_items", sa.Column("placed_by", sa.String(length=255), nullable=True))
    op.add_column("postbox_items", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("postbox_items") as batch:
        batch.drop_column("note")
        batch.drop_column("placed_by")
