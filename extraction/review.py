"""What a reviewer types into an invoice field: parsed into the contract's form and checked at once.

The validation station (web UI) calls :func:`check_typed` on every keystroke pause; the one correction service
(:func:`extraction.confirm.confirm_invoice_fields`) calls it, or :func:`add_check_problems` for values given in
the contract's form, before a correction is stored. Each field's value is parsed like extraction parses the page
(German or English amounts and dates, IBAN/VAT id/BIC without spaces, upper case), then the same checks run as on
extracted fields (:func:`extraction.validation.check_fields`: check digits, date order and plausibility,
net + VAT = gross). Problems come back per field as stable codes (the UI's text catalogue words them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from extraction import parsers, validation
from extraction.labels import FIELD_KINDS, Kind

#: The fields a reviewer sees and edits, in the order of the form.
EDITABLE_FIELDS: tuple[str, ...] = (
    "seller_name", "invoice_number", "issue_date", "due_date", "service_date", "total_net", "total_vat",
    "total_gross", "amount_due", "iban", "bic", "seller_vat_id", "seller_tax_number", "customer_number",
    "order_reference", "buyer_reference",
)
MAX_TYPED_LENGTH = 200

#: Which fields a failed check is shown at.
CHECK_FIELDS: dict[str, tuple[str, ...]] = {
    "iban_checksum": ("iban",),
    "bic_format": ("bic",),
    "bic_matches_iban_country": ("bic", "iban"),
    "vat_id_check_digits": ("seller_vat_id",),
    "leitweg_id": ("buyer_reference",),
    "dates_plausible": ("issue_date", "due_date", "service_date"),
    "due_date_not_before_issue_date": ("due_date", "issue_date"),
    "net_plus_vat_equals_gross": ("total_net", "total_vat", "total_gross"),
}


@dataclass
class TypedFields:
    """The parsed values (contract form) and the problems per field (stable codes: ``unreadable_amount``,
    ``unreadable_date``, ``too_long``, or the name of a failed check such as ``iban_checksum``)."""

    values: dict[str, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, name: str, code: str) -> None:
        codes = self.problems.setdefault(name, [])
        if code not in codes:
            codes.append(code)


def parse_typed(name: str, text: str) -> tuple[str | None, str | None]:
    """(value in the contract's form, None) or (None, problem code) for what was typed into field ``name``."""
    text = text.strip()
    if len(text) > MAX_TYPED_LENGTH:
        return None, "too_long"
    kind = FIELD_KINDS.get(name)
    if kind is Kind.AMOUNT:
        amount = parsers.parse_amount(text)
        return (parsers.amount_text(amount), None) if amount is not None else (None, "unreadable_amount")
    if kind is Kind.DATE:
        day = parsers.parse_date(text)
        return (day.isoformat(), None) if day is not None else (None, "unreadable_date")
    if kind in (Kind.IBAN, Kind.BIC, Kind.VAT_ID):
        return parsers.compact(text), None
    return text, None


def check_typed(typed: Mapping[str, str], *, today: date) -> TypedFields:
    """Parse every non-empty field of ``typed`` and run the invoice checks on the result."""
    out = TypedFields()
    for name, text in typed.items():
        if name not in EDITABLE_FIELDS or not text.strip():
            continue
        value, problem = parse_typed(name, text)
        if problem is not None:
            out.add(name, problem)
        elif value is not None:
            out.values[name] = value
    return add_check_problems(out, today=today)


def add_check_problems(out: TypedFields, *, today: date) -> TypedFields:
    """Run the invoice checks on ``out.values`` and add each failed check at the fields it concerns."""
    for check in validation.check_fields(out.values, today=today):
        if not check.ok:
            for name in CHECK_FIELDS.get(check.check, ()):
                if name in out.values:
                    out.add(name, check.check)
    return out
