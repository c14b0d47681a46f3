"""Webhook subscriptions bound to a person; deliveries that withhold a confidential letter's content.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.add_column(sa.Column("person", sa.String(128), nullable=True))
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("withheld", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("withheld")
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.drop_column("person")
