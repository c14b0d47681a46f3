"""One supplier's invoices for the learning tests (layout memory, ``POST .../fields``, the validation station).

The supplier, "Kanzlei Obermeyer Partner", prints its fields under its own words that no generic label table
knows ("Belegkennung", "Ausgestellt am", "Warenwert", "Steueranteil", "Endsumme inkl. Steuer"): label above value
in the header, totals at the left with right-aligned amounts. The generic reading misses them; after one
confirmed invoice the learned layout reads the next ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

SELLER = "Kanzlei Obermeyer Partner"
IBAN = "DE89370400440532013000"
VAT_ID = "DE458864807"
#: The fields the supplier prints under its own words.
LEARNED_FIELDS = ("invoice_number", "issue_date", "total_net", "total_vat", "total_gross")
TOWN = ("Stadtverwaltung Musterstadt", "Rathausplatz 1, 12345 Musterstadt")
#: Where the totals' amounts end (right-aligned), mm from the left edge.
AMOUNTS_RIGHT_MM = 110


@dataclass(frozen=True)
class SupplierInvoice:
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
        """The learned fields in the contract's form."""
        return {"invoice_number": self.number, "issue_date": self.issue, "total_net": f"{self.net:.2f}",
                "total_vat": f"{self.vat:.2f}", "total_gross": f"{self.gross:.2f}"}


def de(amount: Decimal) -> str:
    """German notation: ``1.234,56``."""
    return f"{amount:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def render_supplier_invoice(
    invoice: SupplierInvoice, path: Path, *, address: Sequence[str] = TOWN, heading: str | None = None,
    subject: str = "Honorarnote für anwaltliche Beratung im Vergabeverfahren",
) -> Path:
    """The supplier's invoice as a born-digital PDF (text layer) at ``path``: letterhead, the town's address,
    number and date in the header (label above value), an optional bold ``heading``, the ``subject`` line, the
    totals with right-aligned amounts and the bank/VAT id footer."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    height = A4[1]
    y, m, d = invoice.issue.split("-")
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(20 * mm, height - 20 * mm, SELLER)
    pdf.setFont("Helvetica", 11)
    for n, line in enumerate(address):
        pdf.drawString(20 * mm, height - (50 + 6 * n) * mm, line)
    pdf.drawString(130 * mm, height - 50 * mm, "Belegkennung")
    pdf.drawString(130 * mm, height - 56 * mm, invoice.number)
    pdf.drawString(130 * mm, height - 66 * mm, "Ausgestellt am")
    pdf.drawString(130 * mm, height - 72 * mm, f"{d}.{m}.{y}")
    if heading:
        pdf.setFont("Helvetica-Bold", 13)
        pdf.drawString(20 * mm, height - 90 * mm, heading)
        pdf.setFont("Helvetica", 11)
    pdf.drawString(20 * mm, height - (97 if heading else 95) * mm, subject)
    for n, (label, value) in enumerate([("Warenwert", invoice.net), ("Steueranteil", invoice.vat),
                                        ("Endsumme inkl. Steuer", invoice.gross)]):
        pdf.drawString(20 * mm, height - (120 + 8 * n) * mm, label)
        pdf.drawRightString(AMOUNTS_RIGHT_MM * mm, height - (120 + 8 * n) * mm, de(value))
    pdf.setFont("Helvetica", 9)
    pdf.drawString(20 * mm, 30 * mm, "Bankverbindung: Commerzbank  IBAN: DE89 3704 0044 0532 0130 00")
    pdf.drawString(20 * mm, 25 * mm, f"USt-IdNr.: {VAT_ID}")
    pdf.save()
    return path
