"""The document state ``rescan``: blank or unreadable scans go back to their station.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "'received', 'separated', 'ocr', 'recognised', 'routed', 'review', 'failed', 'split'"
_NEW = "'received', 'separated', 'ocr', 'recognised', 'routed', 'review', 'rescan', 'split', 'failed'"


def _state_check(values: str) -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint(op.f("ck_documents_state"), type_="check")
        batch.create_check_constraint(op.f("ck_documents_state"), f"state IN ({values})")


def upgrade() -> None:
    """Apply this revision."""
    _state_check(_NEW)


def downgrade() -> None:
    """Revert this revision (documents waiting for a rescan go to review first)."""
    op.execute("UPDATE documents SET state = 'review' WHERE state = 'rescan'")
    _state_check(_OLD)
