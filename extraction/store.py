"""Invoice extraction's view of the database: master data, learned layouts and fingerprints for one session.

The pipeline calls :func:`extract_stored` (load what extraction needs, extract, remember the fingerprint) and,
when a reviewer confirms fields, :func:`learn_from_confirmation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from extraction.invoice import InvoiceExtraction, extract_invoice
from extraction.learning import SupplierLayout, learn_layout
from extraction.suppliers import Supplier, SupplierDirectory
from extraction.validation import InvoiceFingerprint
from mailroom.model import Document
from mailroom.storage import suppliers as tables


def supplier_directory(session: Session) -> SupplierDirectory:
    """The supplier master data as stored."""
    return SupplierDirectory(
        Supplier(r.creditor_number, r.name, r.ibans, r.vat_id, r.tax_number) for r in tables.load_suppliers(session)
    )


def supplier_layouts(session: Session) -> dict[str, SupplierLayout]:
    """Every learned layout by supplier key."""
    return {key: SupplierLayout.from_json(text) for key, text in tables.load_layouts(session).items()}


@dataclass
class StoredFingerprints:
    """The ``invoice_fingerprints`` table as a :class:`~extraction.validation.FingerprintIndex`."""

    session: Session
    document_id: str | None = None

    def find(self, fingerprint: InvoiceFingerprint) -> str | None:
        return tables.find_fingerprint(
            self.session, supplier_key=fingerprint.supplier_key, invoice_number=fingerprint.invoice_number,
            total_gross=fingerprint.total_gross, exclude_document=self.document_id,
        )


def extract_stored(
    session: Session, document: Document, *, document_id: str, einvoice_xml: bytes | None = None,
    today: date | None = None,
) -> InvoiceExtraction:
    """Extract with the stored master data, layouts and fingerprints, then remember this invoice's fingerprint."""
    extraction = extract_invoice(
        document, einvoice_xml=einvoice_xml, suppliers=supplier_directory(session), layouts=supplier_layouts(session),
        fingerprints=StoredFingerprints(session, document_id), document_id=document_id, today=today,
    )
    fp = extraction.fingerprint
    if fp is not None:
        tables.record_fingerprint(session, supplier_key=fp.supplier_key, invoice_number=fp.invoice_number,
                                  total_gross=fp.total_gross, document_id=document_id)
    return extraction


def learn_from_confirmation(
    session: Session, document: Document, confirmed_fields: Mapping[str, str], supplier_key: str,
    *, document_id: str | None = None,
) -> SupplierLayout:
    """Learn and store a supplier's layout from the fields a reviewer confirmed or corrected."""
    layout = learn_layout(document, confirmed_fields, supplier_key)
    tables.save_layout(session, supplier_key, layout.to_json(), document_id=document_id)
    return layout
