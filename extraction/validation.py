"""Validation of extracted invoice fields: checks that block, not only warn.

Each check gives ``{"check", "ok", "reason"?, "blocking"?}``. The status of an invoice is ``invalid`` when any
blocking check fails (all do but line-item checks of a scan whose totals add up: :func:`extraction.invoice`),
``incomplete`` when a required field is missing, else ``valid``. A failed check, a missing required field, a
low-confidence field, a suspected fraud or a duplicate sends the invoice to review (:func:`review_reasons`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from extraction import parsers
from extraction.leitweg import validate_leitweg_id
from extraction.suppliers import SupplierMatch

REQUIRED_FIELDS = ("invoice_number", "issue_date", "total_gross")
#: Below this confidence a field is shown to a reviewer rather than trusted.
REVIEW_CONFIDENCE = 0.8
#: Invoices are dated no earlier than this many years back and no later than this many days ahead.
MAX_AGE_YEARS = 15
MAX_DAYS_AHEAD = 400
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    check: str
    ok: bool
    reason: str | None = None
    #: A check that failed but does not block (shown to whoever opens the invoice, no review, status unchanged):
    #: line items read from a scan that do not add up while the totals are vouched by their own sum.
    blocking: bool = True

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "ok": self.ok}
        if self.reason:
            out["reason"] = self.reason
        if not self.blocking:
            out["blocking"] = False
        return out


@dataclass(frozen=True)
class InvoiceFingerprint:
    """What makes two invoices the same: supplier, invoice number (compact, upper case) and gross total."""

    supplier_key: str
    invoice_number: str
    total_gross: str


class FingerprintIndex(Protocol):
    """Where invoices seen before are looked up (the ``invoice_fingerprints`` table)."""

    def find(self, fingerprint: InvoiceFingerprint) -> str | None:
        """The id of an earlier document with this fingerprint, or None."""
        ...


def fingerprint(values: Mapping[str, Any], supplier_key: str | None) -> InvoiceFingerprint | None:
    """The fingerprint of an invoice, when supplier, number and gross total are known."""
    number, gross = values.get("invoice_number"), values.get("total_gross")
    if not supplier_key or not number or not gross:
        return None
    return InvoiceFingerprint(supplier_key, parsers.compact(str(number)), str(gross))


def check_fields(values: Mapping[str, Any], *, today: date) -> list[Check]:
    """Every check that applies to the values present (values as in the contract: strings)."""
    checks: list[Check] = []
    if iban := values.get("iban"):
        problem = parsers.iban_problem(iban)
        checks.append(Check("iban_checksum", problem is None, problem))
    if bic := values.get("bic"):
        ok = parsers.valid_bic(bic)
        checks.append(Check("bic_format", ok, None if ok else f"{bic} is no BIC (ISO 9362)"))
        if ok and iban and bic[4:6] != iban[:2]:
            checks.append(Check("bic_matches_iban_country", False, f"BIC {bic} is not of the IBAN's country"))
    if vat_id := values.get("seller_vat_id"):
        problem = parsers.vat_id_problem(vat_id)
        checks.append(Check("vat_id_check_digits", problem is None, problem))
    if leitweg := values.get("buyer_reference"):
        outcome = validate_leitweg_id(leitweg)
        if outcome.ok or any(c.isdigit() for c in leitweg[:2]):  # a buyer reference may be no Leitweg-ID
            checks.append(Check("leitweg_id", outcome.ok, outcome.reason))
    checks.extend(_date_checks(values, today))
    checks.extend(_total_checks(values))
    return checks


def _date_checks(values: Mapping[str, Any], today: date) -> list[Check]:
    checks: list[Check] = []
    earliest = date(today.year - MAX_AGE_YEARS, 1, 1)
    latest = date.fromordinal(today.toordinal() + MAX_DAYS_AHEAD)
    dates = {
        field: date.fromisoformat(values[field])
        for field in ("issue_date", "due_date", "service_date", "service_period_start", "service_period_end")
        if values.get(field)
    }
    implausible = [f"{field} {value}" for field, value in dates.items() if not earliest <= value <= latest]
    if dates:
        checks.append(Check(
            "dates_plausible", not implausible,
            f"outside {earliest} .. {latest}: {', '.join(implausible)}" if implausible else None,
        ))
    if "issue_date" in dates and "due_date" in dates:
        ok = dates["due_date"] >= dates["issue_date"]
        checks.append(Check("due_date_not_before_issue_date", ok,
                            None if ok else f"due {dates['due_date']} before issue {dates['issue_date']}"))
    if "service_period_start" in dates and "service_period_end" in dates:
        ok = dates["service_period_start"] <= dates["service_period_end"]
        checks.append(Check("service_period_in_order", ok, None if ok else "the service period ends before it starts"))
    return checks


def totals_add_up(values: Mapping[str, Any]) -> bool:
    """Whether net + VAT = gross holds (all three given)."""
    net, vat, gross = (values.get(f) for f in ("total_net", "total_vat", "total_gross"))
    if net is None or vat is None or gross is None:
        return False
    return Decimal(net) + Decimal(vat) == Decimal(gross)


def _total_checks(values: Mapping[str, Any]) -> list[Check]:
    net, vat, gross = (values.get(f) for f in ("total_net", "total_vat", "total_gross"))
    if net is None or vat is None or gross is None:
        return []
    ok = Decimal(net) + Decimal(vat) == Decimal(gross)
    return [Check("net_plus_vat_equals_gross", ok, None if ok else f"{net} + {vat} ≠ {gross}")]


def check_line_items(items: list[dict[str, Any]], values: Mapping[str, Any]) -> list[Check]:
    """Each line's quantity × unit price = amount (to the cent), and the lines add up to the net total."""
    if not items:
        return []
    checks: list[Check] = []
    wrong = [
        str(n) for n, item in enumerate(items, 1)
        if item.get("quantity") and item.get("unit_price") and item.get("amount")
        and abs(Decimal(item["quantity"]) * Decimal(item["unit_price"]) - Decimal(item["amount"])) > _CENT
    ]
    checks.append(Check("line_amounts", not wrong, f"lines {', '.join(wrong)}: quantity × price ≠ amount"
                        if wrong else None))
    expected = values.get("line_net_total") or values.get("total_net")
    amounts = [item.get("amount") for item in items]
    if expected and all(amounts):
        total = sum((Decimal(a) for a in amounts if a), Decimal(0))
        ok = total == Decimal(expected)
        checks.append(Check("line_items_sum_equals_net", ok, None if ok else f"lines add up to {total}, "
                            f"net total is {expected}"))
    return checks


def supplier_checks(match: SupplierMatch | None, iban: str | None) -> list[Check]:
    """The fraud check: a known supplier's invoice must name one of its known accounts."""
    if match is None or iban is None:
        return []
    if match.iban_known:
        return [Check("supplier_iban_known", True)]
    known = ", ".join(match.supplier.ibans) or "none"
    return [Check(
        "fraud_suspected", False,
        f"IBAN {iban} is not an account of supplier {match.supplier.creditor_number} "
        f"({match.supplier.name}; known: {known})",
    )]


def duplicate_check(
    fp: InvoiceFingerprint | None, index: FingerprintIndex | None, document_id: str | None
) -> list[Check]:
    """Same supplier, number and gross total as an invoice seen before (another document)."""
    if fp is None or index is None:
        return []
    earlier = index.find(fp)
    if earlier is None or earlier == document_id:
        return [Check("duplicate_invoice", True)]
    return [Check("duplicate_invoice", False, f"same supplier, number {fp.invoice_number} and gross total "
                  f"{fp.total_gross} as document {earlier}")]


def status_of(checks: list[Check], values: Mapping[str, Any]) -> str:
    """``invalid`` (a check failed), ``incomplete`` (a required field is missing) or ``valid``."""
    if any(not c.ok and c.blocking for c in checks):
        return "invalid"
    if any(not values.get(f) for f in REQUIRED_FIELDS):
        return "incomplete"
    return "valid"


def review_reasons(checks: list[Check], fields: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Why a person must look at this invoice; empty when it can go on automatically."""
    reasons = [f"{c.check}: {c.reason or 'failed'}" for c in checks if not c.ok and c.blocking]
    reasons += [f"missing {f}" for f in REQUIRED_FIELDS if f not in fields]
    reasons += [
        f"low confidence {name} ({field['confidence']:.2f})"
        for name, field in fields.items()
        if isinstance(field, Mapping) and "confidence" in field and field["confidence"] < REVIEW_CONFIDENCE
        and name in (*REQUIRED_FIELDS, "iban", "seller_vat_id", "total_net", "total_vat", "amount_due")
    ]
    return reasons
