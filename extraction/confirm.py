"""The one home of invoice field corrections: a reviewer confirms or corrects an invoice's fields, the values are
checked, the result is put right and its checks run again, the correction is kept as a label, the audit trail
records it, and the supplier's layout is learned so that its next invoice is read right.

:func:`confirm_invoice_fields` is the one service function behind ``POST /api/v1/documents/{id}/fields`` (values
in the contract's form: ISO dates, ``"1234.56"`` amounts, compact IBANs; :attr:`Form.CONTRACT`) and the web UI's
validation station (through :func:`api.review.apply_decision`; values as typed, German or English notation:
:attr:`Form.TYPED`). Both call it with an open session, the blob store and the person acting; the caller commits.
A value of the wrong shape is refused with ``invalid_correction`` (contract form) or ``invalid_fields`` (typed),
values that fail their checks (IBAN/VAT id check digits, dates, net + VAT = gross) with ``invalid_fields`` and
the problems per field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from extraction import parsers, validation
from extraction.labels import FIELD_KINDS, Kind
from extraction.review import TypedFields, add_check_problems, check_typed
from extraction.store import learn_from_confirmation
from mailroom import audit
from mailroom.errors import InvalidCorrection, InvalidFields, NotAnInvoice
from mailroom.model import Document, Page
from mailroom.result import Result
from mailroom.storage import repository
from mailroom.storage.blobs import BlobStore
from mailroom.storage.labels import LabelKind, record_correction
from mailroom.storage.models import ArtifactKind

#: Fields a reviewer may confirm: those extraction reads, the service period's ends and the names.
CONFIRMABLE = frozenset(
    {*(f for f, kind in FIELD_KINDS.items() if kind is not Kind.PERIOD), "service_period_start",
     "service_period_end", "seller_name", "buyer_name", "currency", "type_code", "payment_terms"}
)
MAX_VALUE_LENGTH = 200
#: Checks that :func:`extraction.validation.check_fields` makes (run again after a correction); the other checks
#: of an invoice (the supplier's IBAN, duplicates) are kept as they were.
FIELD_CHECKS = frozenset({
    "iban_checksum", "bic_format", "bic_matches_iban_country", "vat_id_check_digits", "leitweg_id",
    "dates_plausible", "due_date_not_before_issue_date", "service_period_in_order", "net_plus_vat_equals_gross",
})


class Form(Enum):
    """How the corrected values are written: the contract's form (API) or as a reviewer types them (station)."""

    CONTRACT = "contract"
    TYPED = "typed"


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation did: the new ``invoice`` part, the fields changed, the supplier key the layout is kept
    under (None: no VAT id, IBAN or creditor number to key it) and the fields whose place was learned."""

    invoice: dict[str, Any]
    corrected: list[str]
    supplier_key: str | None
    learned: list[str]


def checked_value(field: str, value: Any) -> str:
    """``value`` in the contract's form for ``field``; :class:`InvalidCorrection` naming the field otherwise."""
    if field not in CONFIRMABLE:
        raise InvalidCorrection(f"{field!r} is no invoice field that can be confirmed", field=field)
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > MAX_VALUE_LENGTH:
        raise InvalidCorrection(f"{field} needs a value of 1 to {MAX_VALUE_LENGTH} characters", field=field)
    kind = FIELD_KINDS.get(field)
    if field.endswith("_date") or field.startswith("service_period_"):
        kind = Kind.DATE
    try:
        if kind is Kind.DATE:
            return date.fromisoformat(text).isoformat()
        if kind is Kind.AMOUNT:
            return parsers.amount_text(Decimal(text))
    except (ValueError, InvalidOperation) as exc:
        raise InvalidCorrection(f"{field}: {text!r} is no {kind.value if kind else 'value'} "
                                "(dates YYYY-MM-DD, amounts 1234.56)", field=field) from exc
    if kind is Kind.IBAN:
        text = parsers.compact(text)
        if not parsers.valid_iban(text):
            raise InvalidCorrection(f"iban: {text!r} is no valid IBAN", field=field)
    elif kind in (Kind.BIC, Kind.VAT_ID):
        text = parsers.compact(text)
    return text


def checked_fields(fields: Mapping[str, Any], *, form: Form, today: date) -> dict[str, str]:
    """The corrected values in the contract's form, checked like extracted fields (check digits, dates, totals).

    Contract form: an unknown field or a value of the wrong shape raises :class:`InvalidCorrection` naming it.
    Typed form: blank fields stay as read; unreadable values are problems like failed checks. Any problem raises
    :class:`InvalidFields` with ``details.problems`` (codes per field)."""
    if form is Form.TYPED:
        checked = check_typed({name: str(value) for name, value in fields.items()}, today=today)
    else:
        checked = add_check_problems(
            TypedFields(values={name: checked_value(name, value) for name, value in fields.items()}), today=today)
    if not checked.ok:
        text = "; ".join(f"{name}: {', '.join(codes)}" for name, codes in checked.problems.items())
        raise InvalidFields(text, field=next(iter(checked.problems)), problems=checked.problems)
    return checked.values


def stored_document(session: Session, blobs: BlobStore, document_id: str) -> Document:
    """The document tree as read (one page JSON per page)."""
    rows = repository.page_artifacts(session, document_id, kind=ArtifactKind.PAGE_JSON)
    return Document(pages=[Page.model_validate_json(blobs.read_bytes(r.blob_sha)) for r in rows])


def confirm_invoice_fields(
    session: Session, blobs: BlobStore, document_id: str, fields: Mapping[str, Any], *, actor: str, who: str,
    confirm_rest: bool = False, form: Form = Form.CONTRACT, today: date | None = None,
) -> Confirmation:
    """Confirm or correct ``fields`` of a document's invoice (and, with ``confirm_rest``, every other field as
    read): check them (:func:`checked_fields`), store them with source ``reviewer``, run the invoice's field
    checks again on the stored values, keep the ``fields`` label, audit ``invoice.fields_confirmed`` (names, not
    values) and learn the supplier's layout from all confirmed values. The caller commits.

    Raises :class:`InvalidCorrection` (422) for unknown fields or values of the wrong shape (contract form),
    :class:`InvalidFields` (422) for values that fail their checks (or, typed, do not parse) and
    :class:`NotAnInvoice` (409) for a document without an invoice part.
    """
    day = today or date.today()
    values = checked_fields(fields, form=form, today=day)
    if not values and not confirm_rest:
        raise InvalidCorrection("no fields given to confirm", field="fields")
    row = repository.get_document(session, document_id)
    if row is None:
        raise InvalidCorrection(f"no document {document_id}", field="document_id")
    stored = repository.stored_result(row)
    invoice: dict[str, Any] = dict(stored.invoice or {}) if stored is not None else {}
    if not invoice:
        raise NotAnInvoice(f"document {document_id} was not read as an invoice")
    confirmed: dict[str, str] = {}
    if confirm_rest:
        confirmed.update({name: str(part["value"]) for name, part in invoice.items()
                          if name in CONFIRMABLE and isinstance(part, dict) and part.get("value") is not None})
    confirmed.update(values)
    corrected = sorted(name for name, value in values.items()
                       if str((invoice.get(name) or {}).get("value")) != value)
    # learned only from values read on the page (an e-invoice's XML has no places), judged before they are replaced
    read_from_page = any((invoice.get(n) or {}).get("source") != "e-invoice" for n in confirmed)
    for name, value in confirmed.items():
        previous = invoice.get(name)
        before: dict[str, Any] = previous if isinstance(previous, dict) else {}
        same = str(before.get("value")) == value
        invoice[name] = {"value": value, "confidence": 1.0, "page": before.get("page") if same else None,
                         "box": before.get("box") if same else None, "source": "reviewer"}
    invoice["validation"] = {**(invoice.get("validation") or {}), "confirmed_by": actor}
    key = _supplier_key(invoice)
    learned: list[str] = []
    if key is not None and read_from_page:
        document = stored_document(session, blobs, document_id)
        if document.pages:
            layout = learn_from_confirmation(session, document, confirmed, key, document_id=document_id)
            learned = sorted({p.field for p in layout.fields})

    _recheck(invoice, day)

    def edit(result: Result) -> None:
        result.invoice = invoice

    repository.change_result(session, row, edit)
    record_correction(session, document_id, kind=LabelKind.FIELDS.value, value=confirmed, who=who)
    audit.record(session, actor=actor, action="invoice.fields_confirmed", object_type="document",
                 object_id=document_id,
                 details={"confirmed": sorted(confirmed), "corrected": corrected, "supplier_key": key,
                          "learned": learned})
    return Confirmation(invoice, corrected, key, learned)


def _supplier_key(invoice: Mapping[str, Any]) -> str | None:
    """The key the supplier's layout is stored under (as :func:`extraction.invoice.supplier_key`): the creditor
    number of the recognised supplier, else the seller's VAT id, else the IBAN."""
    supplier = invoice.get("supplier") or {}
    if supplier.get("creditor_number"):
        return str(supplier["creditor_number"])
    for name in ("seller_vat_id", "iban"):
        part = invoice.get(name)
        if isinstance(part, dict) and part.get("value"):
            return str(part["value"])
    return None


def _recheck(invoice: dict[str, Any], today: date) -> None:
    """Run the field checks again on the confirmed values (the supplier's IBAN and duplicate checks are kept)."""
    values = {n: f["value"] for n, f in invoice.items() if isinstance(f, dict) and "value" in f}
    kept = (invoice.get("validation") or {}).get("checks") or []
    checks = [validation.Check(c["check"], bool(c["ok"]), c.get("reason"), bool(c.get("blocking", True))) for c in kept
              if c.get("check") not in FIELD_CHECKS]
    checks += validation.check_fields(values, today=today)
    invoice["validation"] = {**(invoice.get("validation") or {}), "status": validation.status_of(checks, values),
                             "checks": [c.to_dict() for c in checks]}
