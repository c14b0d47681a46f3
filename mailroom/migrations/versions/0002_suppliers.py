"""Invoice extraction: suppliers, supplier_ibans, supplier_layouts, invoice_fingerprints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "suppliers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("creditor_number", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("vat_id", sa.String(length=32), nullable=True),
        sa.Column("tax_number", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("creditor_number", name=op.f("uq_suppliers_creditor_number")),
    )
    op.create_index(op.f("ix_suppliers_vat_id"), "suppliers", ["vat_id"])
    op.create_table(
        "supplier_ibans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("supplier_id", sa.String(length=32), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_supplier_ibans_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_ibans")),
        sa.UniqueConstraint("supplier_id", "iban", name=op.f("uq_supplier_ibans_supplier_id_iban")),
    )
    op.create_index(op.f("ix_supplier_ibans_iban"), "supplier_ibans", ["iban"])
    op.create_table(
        "supplier_layouts",
        sa.Column("supplier_key", sa.String(length=64), nullable=False),
        sa.Column("layout_json", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("learned_from", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("supplier_key", name=op.f("pk_supplier_layouts")),
    )
    op.create_table(
        "invoice_fingerprints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("supplier_key", sa.String(length=64), nullable=False),
        sa.Column("invoice_number", sa.String(length=64), nullable=False),
        sa.Column("total_gross", sa.String(length=32), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_fingerprints")),
        sa.UniqueConstraint(
            "supplier_key", "invoice_number", "total_gross", "document_id",
            name=op.f("uq_invoice_fingerprints_supplier_key_invoice_number_total_gross_document_id"),
        ),
    )
    op.create_index(
        "ix_invoice_fingerprints_lookup", "invoice_fingerprints", ["supplier_key", "invoice_number", "total_gross"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_invoice_fingerprints_lookup", table_name="invoice_fingerprints")
    op.drop_table("invoice_fingerprints")
    op.drop_table("supplier_layouts")
    op.drop_index(op.f("ix_supplier_ibans_iban"), table_name="supplier_ibans")
    op.drop_table("supplier_ibans")
    op.drop_index(op.f("ix_suppliers_vat_id"), table_name="suppliers")
    op.drop_table("suppliers")
