"""Learning a supplier's layout from one confirmed invoice (real reportlab PDFs, rasterised and OCR'd).

The supplier prints its fields under labels the generic anchors do not know ("Belegkennung", "Ausgestellt
am", "Warenwert", "Steueranteil", "Endsumme inkl. Steuer"); the generic reading leaves those fields empty.
After one confirmed invoice its next invoices are read right.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from sqlalchemy import Engine

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

SUPPLIER = Supplier("70009", "Kanzlei Obermeyer Partner", ("DE89370400440532013000",), "DE458864807")
LEARNED_FIELDS = ("invoice_number", "issue_date", "total_net", "total_vat", "total_gross")


@dataclass(frozen=True)
class Example:
    number: str
    issue: str  # ISO
    net: Decimal

    @property
    def vat(self) -> Decimal:
        return (self.net * Decimal("0.19")).quantize(Decimal("0.01"))

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat

    def truth(self) -> dict[str, str]:
        return {"invoice_number": self.number, "issue_date": self.issue, "total_net": f"{self.net:.2f}",
                "total_vat": f"{self.vat:.2f}", "total_gross": f"{self.gross:.2f}",
                "iban": SUPPLIER.ibans[0], "seller_vat_id": "DE458864807"}


def _de(amount: Decimal) -> str:
    return f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _render(example: Example, path: Path) -> Path:
    """An invoice with the supplier's own label words, label above its value, totals in a box at the left."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    height = A4[1]
    y, m, d = example.issue.split("-")
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(20 * mm, height - 20 * mm, "Kanzlei Obermeyer Partner")
    pdf.setFont("Helvetica", 11)
    pdf.drawString(20 * mm, height - 50 * mm, "Stadtverwaltung Musterstadt")
    pdf.drawString(20 * mm, height - 56 * mm, "Rathausplatz 1, 12345 Musterstadt")
    pdf.drawString(130 * mm, height - 50 * mm, "Belegkennung")
    pdf.drawString(130 * mm, height - 56 * mm, example.number)
    pdf.drawString(130 * mm, height - 66 * mm, "Ausgestellt am")
    pdf.drawString(130 * mm, height - 72 * mm, f"{d}.{m}.{y}")
    pdf.drawString(20 * mm, height - 95 * mm, "Honorarnote für anwaltliche Beratung im Vergabeverfahren")
    for n, (label, value) in enumerate([("Warenwert", example.net), ("Steueranteil", example.vat),
                                        ("Endsumme inkl. Steuer", example.gross)]):
        pdf.drawString(20 * mm, height - (120 + 8 * n) * mm, label)
        pdf.drawRightString(110 * mm, height - (120 + 8 * n) * mm, _de(value))
    pdf.setFont("Helvetica", 9)
    pdf.drawString(20 * mm, 30 * mm, "Bankverbindung: Commerzbank  IBAN: DE89 3704 0044 0532 0130 00")
    pdf.drawString(20 * mm, 25 * mm, "USt-IdNr.: DE458864807")
    pdf.save()
    return path


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Example, Document]]:
    """Three invoices of the supplier, rendered, degraded like scans and read by the real pipeline."""
    root = tmp_path_factory.mktemp("learning")
    ctx = PipelineContext.create(Settings(data_dir=root / "data"))
    examples = [Example("OB-24-0113", "2026-03-02", Decimal("1250.00")),
                Example("OB-24-0187", "2026-04-17", Decimal("8431.70")),
                Example("OB-24-0302", "2026-07-09", Decimal("312.45"))]
    out = {}
    for n, example in enumerate(examples):
        pdf = _render(example, root / f"{example.number}.pdf")
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
    (first, first_doc), (second, second_doc), _ = scanned.values()
    with session_scope(engine) as session:
        learn_from_confirmation(session, first_doc, first.truth(), "70009", document_id="a" * 32)
    with session_scope(engine) as session:
        learn_from_confirmation(session, second_doc, second.truth(), "70009", document_id="b" * 32)
    with session_scope(engine) as session:
        layouts = supplier_layouts(session)
    assert list(layouts) == ["70009"]
    assert {p.field for p in layouts["70009"].fields} >= set(LEARNED_FIELDS)
