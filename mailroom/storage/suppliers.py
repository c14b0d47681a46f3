"""Tables of invoice extraction: supplier master data, learned supplier layouts, invoice fingerprints.

* ``suppliers`` + ``supplier_ibans``: the creditors of the town (imported from the accounting system's CSV), with
  the accounts payments may go to; an invoice naming another account for a known supplier is a fraud suspect.
* ``supplier_layouts``: per supplier key (creditor number, else VAT id or IBAN) where its fields sit on the page,
  learned from a confirmed invoice (JSON of ``extraction.learning.SupplierLayout``); newest wins.
* ``invoice_fingerprints``: (supplier key, invoice number, gross total) of every extracted invoice, to find
  duplicates.

The functions here take a session and plain values; they import nothing outside the core.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from mailroom.storage.models import ID_LENGTH, Base, new_id, utcnow

KEY_LENGTH = 64


class SupplierRow(Base):
    """One creditor of the master data."""

    __tablename__ = "suppliers"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    creditor_number: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    vat_id: Mapped[str | None] = mapped_column(String(32), index=True)
    tax_number: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    ibans: Mapped[list[SupplierIbanRow]] = relationship(
        back_populates="supplier", cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
        order_by="SupplierIbanRow.iban",
    )


class SupplierIbanRow(Base):
    """An account of a supplier that payments may go to."""

    __tablename__ = "supplier_ibans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    iban: Mapped[str] = mapped_column(String(34), index=True)

    supplier: Mapped[SupplierRow] = relationship(back_populates="ibans")

    __table_args__ = (UniqueConstraint("supplier_id", "iban"),)


class SupplierLayoutRow(Base):
    """The learned layout of one supplier (JSON of ``extraction.learning.SupplierLayout``)."""

    __tablename__ = "supplier_layouts"

    supplier_key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    layout_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    learned_from: Mapped[str | None] = mapped_column(String(ID_LENGTH), doc="document id of the example")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InvoiceFingerprintRow(Base):
    """What identifies an invoice for duplicate detection, and the document it came with."""

    __tablename__ = "invoice_fingerprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    supplier_key: Mapped[str] = mapped_column(String(KEY_LENGTH))
    invoice_number: Mapped[str] = mapped_column(String(64))
    total_gross: Mapped[str] = mapped_column(String(32))
    document_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("supplier_key", "invoice_number", "total_gross", "document_id"),
        Index("ix_invoice_fingerprints_lookup", "supplier_key", "invoice_number", "total_gross"),
    )


@dataclass(frozen=True)
class SupplierRecord:
    """A supplier as stored (plain values, for callers outside the session)."""

    creditor_number: str
    name: str
    ibans: tuple[str, ...]
    vat_id: str | None
    tax_number: str | None


def upsert_suppliers(session: Session, records: Iterable[SupplierRecord]) -> tuple[int, int]:
    """Insert or replace suppliers by creditor number; returns (created, updated)."""
    created = updated = 0
    for record in records:
        row = session.scalar(select(SupplierRow).where(SupplierRow.creditor_number == record.creditor_number))
        if row is None:
            row = SupplierRow(creditor_number=record.creditor_number, name=record.name)
            session.add(row)
            created += 1
        else:
            updated += 1
        row.name, row.vat_id, row.tax_number = record.name, record.vat_id, record.tax_number
        wanted = list(dict.fromkeys(record.ibans))
        kept = [i for i in row.ibans if i.iban in wanted]
        row.ibans = kept + [SupplierIbanRow(iban=iban) for iban in wanted if iban not in {i.iban for i in kept}]
    session.flush()
    return created, updated


def load_suppliers(session: Session) -> list[SupplierRecord]:
    """Every supplier of the master data."""
    rows = session.scalars(select(SupplierRow).order_by(SupplierRow.creditor_number))
    return [
        SupplierRecord(r.creditor_number, r.name, tuple(i.iban for i in r.ibans), r.vat_id, r.tax_number)
        for r in rows
    ]


def save_layout(session: Session, supplier_key: str, layout_json: str, *, document_id: str | None = None) -> int:
    """Store (or replace) a supplier's learned layout; returns its new version."""
    row = session.get(SupplierLayoutRow, supplier_key)
    if row is None:
        session.add(SupplierLayoutRow(supplier_key=supplier_key, layout_json=layout_json, version=1,
                                      learned_from=document_id))
        session.flush()
        return 1
    row.layout_json, row.version, row.learned_from = layout_json, row.version + 1, document_id
    session.flush()
    return row.version


def load_layouts(session: Session) -> dict[str, str]:
    """Supplier key → layout JSON."""
    return {r.supplier_key: r.layout_json for r in session.scalars(select(SupplierLayoutRow))}


def record_fingerprint(
    session: Session, *, supplier_key: str, invoice_number: str, total_gross: str, document_id: str
) -> None:
    """Remember an extracted invoice (idempotent per document)."""
    exists = session.scalar(select(InvoiceFingerprintRow.id).where(
        InvoiceFingerprintRow.supplier_key == supplier_key, InvoiceFingerprintRow.invoice_number == invoice_number,
        InvoiceFingerprintRow.total_gross == total_gross, InvoiceFingerprintRow.document_id == document_id,
    ))
    if exists is None:
        session.add(InvoiceFingerprintRow(supplier_key=supplier_key, invoice_number=invoice_number,
                                          total_gross=total_gross, document_id=document_id))
        session.flush()


def find_fingerprint(
    session: Session, *, supplier_key: str, invoice_number: str, total_gross: str, exclude_document: str | None
) -> str | None:
    """The document id of the earliest other invoice with this fingerprint, or None."""
    query = select(InvoiceFingerprintRow.document_id).where(
        InvoiceFingerprintRow.supplier_key == supplier_key, InvoiceFingerprintRow.invoice_number == invoice_number,
        InvoiceFingerprintRow.total_gross == total_gross,
    )
    if exclude_document is not None:
        query = query.where(InvoiceFingerprintRow.document_id != exclude_document)
    return session.scalar(query.order_by(InvoiceFingerprintRow.id).limit(1))
