"""The document state ``dismissed``: a rescan request its station closed once the new scan was in.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "'received', 'separated', 'ocr', 'recognised', 'routed', 'review', 'rescan', 'split', 'failed'"
_NEW = "'received', 'separated', 'ocr', 'recognised', 'routed', 'review', 'rescan', 'split', 'failed', 'dismissed'"


def _state_check(values: str) -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("ck_documents_state"), type_="check")
        batch.create_check_constraint(op.f("ck_documents_state"), f"state IN ({values})")


def upgrade() -> None:
    """Apply this revision."""
    _state_check(_NEW)


def downgrade() -> None:
    """Revert this revision (dismissed rescan requests become open ones again)."""
    op.execute("UPDATE documents SET state = 'rescan' WHERE state = 'dismissed'")
    _state_check(_OLD)
