"""The content model of one synthetic letter, independent of how it is rendered.

A ``Letter`` holds what is printed (sender, address field, information block, subject, body blocks,
closing) and the ground truth that goes with it (document type, target postbox, recipient, Aktenzeichen,
invoice data). ``sample_docs.render`` lays it out on DIN 5008 pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sample_docs.parties import Party

MONTHS_DE = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]
MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def de_date(d: date) -> str:
    """``12.11.2026``."""
    return f"{d.day:02d}.{d.month:02d}.{d.year}"


def de_long_date(d: date) -> str:
    """``12. November 2026``."""
    return f"{d.day}. {MONTHS_DE[d.month - 1]} {d.year}"


def en_date(d: date) -> str:
    """``12 November 2026``."""
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def de_amount(value: Decimal) -> str:
    """``1.234,56`` (German grouping and decimal comma)."""
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def en_amount(value: Decimal) -> str:
    """``1,234.56``."""
    return f"{value:,.2f}"


def decimal_text(value: Decimal) -> str:
    """At least two decimals, more only where the value has them (unit prices like 0.2345)."""
    if value == value.quantize(Decimal("0.01")):
        return f"{value:.2f}"
    return f"{value.normalize():f}"


def de_quantity(value: Decimal) -> str:
    """``3`` or ``2,5``: no trailing zeros."""
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


@dataclass
class Paragraph:
    text: str
    bold: bool = False
    gap_before: float = 1.0  # in line heights


@dataclass
class Column:
    title: str
    width_mm: float
    align: str = "l"  # l | r


@dataclass
class Table:
    """A ruled table (invoice line items and the like) with an optional right-aligned totals block."""

    columns: list[Column]
    rows: list[list[str]]
    totals: list[tuple[str, str, bool]] = field(default_factory=list)  # label, value, bold


Block = Paragraph | Table


@dataclass
class Recipient:
    """The address field as printed, and whom it names."""

    department: str | None
    person: str | None
    confidential: bool
    address_lines: list[str]
    endorsement: str | None = (
        None  # Vermerk above the address, e.g. "Einschreiben" or "Persönlich/Vertraulich"
    )


@dataclass
class LineItem:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    vat_rate: int
    amount: Decimal


@dataclass
class Invoice:
    """Invoice header, parties and totals: the truth of an invoice or credit note."""

    type_code: str  # 380 invoice, 381 credit note
    invoice_number: str
    issue_date: date
    due_date: date | None
    currency: str
    seller: Party
    buyer_name: str
    buyer_lines: list[str]
    customer_number: str | None
    order_reference: str | None
    buyer_reference: str | None
    service_date: date | None
    service_period: tuple[date, date] | None
    items: list[LineItem]
    vat_breakdown: dict[int, tuple[Decimal, Decimal]]  # rate -> (taxable amount, tax)
    total_net: Decimal
    total_vat: Decimal
    total_gross: Decimal
    amount_due: Decimal
    payment_terms: str | None

    def truth(self) -> dict[str, Any]:
        def iso(d: date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "type_code": self.type_code,
            "invoice_number": self.invoice_number,
            "issue_date": iso(self.issue_date),
            "due_date": iso(self.due_date),
            "currency": self.currency,
            "seller_name": self.seller.name,
            "seller_vat_id": self.seller.vat_id,
            "seller_tax_number": self.seller.tax_number,
            "buyer_name": self.buyer_name,
            "iban": self.seller.iban,
            "bic": self.seller.bic,
            "customer_number": self.customer_number,
            "order_reference": self.order_reference,
            "buyer_reference": self.buyer_reference,
            "service_date": iso(self.service_date),
            "service_period_start": iso(self.service_period[0]) if self.service_period else None,
            "service_period_end": iso(self.service_period[1]) if self.service_period else None,
            "payment_terms": self.payment_terms,
            "total_net": f"{self.total_net:.2f}",
            "total_vat": f"{self.total_vat:.2f}",
            "total_gross": f"{self.total_gross:.2f}",
            "amount_due": f"{self.amount_due:.2f}",
            "vat_breakdown": [
                {"rate": f"{rate:.2f}", "taxable_amount": f"{base:.2f}", "tax_amount": f"{tax:.2f}"}
                for rate, (base, tax) in sorted(self.vat_breakdown.items())
            ],
            "line_items": [
                {
                    "description": item.description,
                    "quantity": f"{item.quantity.normalize():f}",
                    "unit": item.unit,
                    "unit_price": decimal_text(item.unit_price),
                    "vat_rate": f"{item.vat_rate:.2f}",
                    "amount": f"{item.amount:.2f}",
                }
                for item in self.items
            ],
        }


@dataclass
class Letter:
    """One letter: everything printed on it plus its ground truth."""

    document_type: str
    postbox: str
    sender: Party
    recipient: Recipient
    date: date
    subject: str
    info: list[tuple[str, str]]  # information block rows (label, value); empty: a date line only
    date_line: str | None  # "Musterstadt, 12.11.2026" where there is no information block
    salutation: str
    body: list[Block]
    closing: list[str]  # e.g. ["Mit freundlichen Grüßen", "Müller Bürobedarf GmbH"]
    signature: list[str]  # typed name (and role) under the signature
    enclosures: list[str] = field(default_factory=list)
    aktenzeichen: str | None = None
    invoice: Invoice | None = None
    language: str = "de"
