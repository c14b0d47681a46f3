"""Heartbeats of workers and the beat; the beat's schedule (last runs) in the database instead of a file.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "service_heartbeats",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.String(255), nullable=False),
        sa.Column("tools_ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_service_heartbeats_beat_at", "service_heartbeats", ["beat_at"])
    op.create_table(
        "beat_schedule",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_run_count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("beat_schedule")
    op.drop_index("ix_service_heartbeats_beat_at", table_name="service_heartbeats")
    op.drop_table("service_heartbeats")
