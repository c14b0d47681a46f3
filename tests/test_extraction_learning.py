"""Learning a supplier's layout from one confirmed invoice (real reportlab PDFs, rasterised and OCR'd).

The supplier prints its fields under labels the generic anchors do not know ("Belegkennung", "Ausgestellt
am", "Warenwert", "Steueranteil", "Endsumme inkl. Steuer"); the generic reading leaves those fields empty.
After one confirmed invoice its next invoices are read right.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from supplier_invoice import IBAN, LEARNED_FIELDS, SELLER, VAT_ID, SupplierInvoice, render_supplier_invoice

from extraction.eval import degrade_pdf_page
from extraction.invoice import extract_invoice
from extraction.learning import SupplierLayout, learn_layout
from extraction.store import learn_from_confirmation, supplier_layouts
from extraction.suppliers import Supplier, SupplierDirectory
from mailroom.model import Document
from mailroom.settings import Settings
from mailroom.storage.db import make_engine, migrate, session_scope
from workers.inprocess import process_path
from workers.pipeline import PipelineContext

SUPPLIER = Supplier("70009", SELLER, (IBAN,), VAT_ID)


class Example(SupplierInvoice):
    def truth(self) -> dict[str, str]:
        return {**super().truth(), "iban": IBAN, "seller_vat_id": VAT_ID}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Example, Document]]:
    """Four invoices of the supplier, rendered, degraded like scans and read by the real pipeline."""
    root = tmp_path_factory.mktemp("learning")
    ctx = PipelineContext.create(Settings(data_dir=root / "data"))
    examples = [Example("OB-24-0113", "2026-03-02", Decimal("1250.00")),
                Example("OB-24-0187", "2026-04-17", Decimal("8431.70")),
                Example("OB-24-0302", "2026-07-09", Decimal("312.45")),
                # wider amounts than the confirmed invoice's: right-aligned, they start further left
                Example("OB-24-0419", "2026-09-14", Decimal("112431.70"))]
    out = {}
    for n, example in enumerate(examples):
        pdf = render_supplier_invoice(example, root / f"{example.number}.pdf")
        tif = degrade_pdf_page(pdf, root / f"{example.number}.tif", seed=n)
        outcome = process_path(tif, ctx)
        assert outcome.document is not None
        out[example.number] = (example, outcome.document)
    return out


def _right(invoice: dict[str, object], truth: dict[str, str]) -> set[str]:
    return {f for f in LEARNED_FIELDS if isinstance(invoice.get(f), dict) and invoice[f]["value"] == truth[f]}  # type: ignore[index]


def test_unusual_layout_is_incomplete_before_and_right_after_one_correction(
    scanned: dict[str, tuple[Example, Document]],
) -> None:
    directory = SupplierDirectory([SUPPLIER])
    (first, first_doc), *rest = scanned.values()
    before = extract_invoice(first_doc, suppliers=directory)
    assert before.invoice["supplier"]["creditor_number"] == "70009"  # recognised by IBAN and VAT id
    assert _right(before.invoice, first.truth()) != set(LEARNED_FIELDS)
    assert before.needs_review

    layout = learn_layout(first_doc, first.truth(), "70009")
    assert {p.field for p in layout.fields} >= set(LEARNED_FIELDS)
    assert SupplierLayout.from_json(layout.to_json()) == layout

    for example, document in rest:
        after = extract_invoice(document, suppliers=directory, layouts={"70009": layout})
        assert _right(after.invoice, example.truth()) == set(LEARNED_FIELDS), after.invoice
        assert after.invoice["invoice_number"]["source"] == "learned"
        assert after.invoice["validation"]["status"] == "valid"
        assert not after.needs_review, after.review_reasons


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(Settings(data_dir=tmp_path, database_url=None))
    migrate(eng)
    yield eng
    eng.dispose()


def test_learned_layout_is_stored_and_replaced(engine: Engine, scanned: dict[str, tuple[Example, Document]]) -> None:
    (first, first_doc), (second, second_doc), *_ = scanned.values()
    with session_scope(engine) as session:
        learn_from_confirmation(session, first_doc, first.truth(), "70009", document_id="a" * 32)
    with session_scope(engine) as session:
        learn_from_confirmation(session, second_doc, second.truth(), "70009", document_id="b" * 32)
    with session_scope(engine) as session:
        layouts = supplier_layouts(session)
    assert list(layouts) == ["70009"]
    assert {p.field for p in layouts["70009"].fields} >= set(LEARNED_FIELDS)
