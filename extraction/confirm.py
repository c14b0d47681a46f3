"""A reviewer confirms or corrects an invoice's fields: the result is put right, the correction is kept as a
label, the audit trail records it, and the supplier's layout is learned so that its next invoice is read right.

:func:`confirm_invoice_fields` is the one service function behind ``POST /api/v1/documents/{id}/fields`` and the
web UI's validation station: both call it with an open session, the blob store and the person acting. Values are
given in the contract's form (ISO dates, ``"1234.56"`` amounts, compact IBANs); a value of the wrong shape is
refused with ``invalid_correction`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from extraction import parsers
from extraction.labels import FIELD_KINDS, Kind
from extraction.store import learn_from_confirmation
from mailroom import audit
from mailroom.errors import InvalidCorrection, NotAnInvoice
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


def stored_document(session: Session, blobs: BlobStore, document_id: str) -> Document:
    """The document tree as read (one page JSON per page)."""
    rows = repository.page_artifacts(session, document_id, kind=ArtifactKind.PAGE_JSON)
    return Document(pages=[Page.model_validate_json(blobs.read_bytes(r.blob_sha)) for r in rows])


def confirm_invoice_fields(
    session: Session, blobs: BlobStore, document_id: str, fields: Mapping[str, Any], *, actor: str, who: str,
    confirm_rest: bool = False,
) -> Confirmation:
    """Confirm or correct ``fields`` of a document's invoice (and, with ``confirm_rest``, every other field as
    read), then learn the supplier's layout from all confirmed values. The caller commits.

    Raises :class:`InvalidCorrection` (422) for unknown fields or values of the wrong shape and
    :class:`NotAnInvoice` (409) for a document without an invoice part.
    """
    if not fields and not confirm_rest:
        raise InvalidCorrection("no fields given to confirm", field="fields")
    values = {name: checked_value(name, value) for name, value in fields.items()}
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
    for name, value in confirmed.items():
        previous = invoice.get(name)
        before: dict[str, Any] = previous if isinstance(previous, dict) else {}
        same = str(before.get("value")) == value
        invoice[name] = {"value": value, "confidence": 1.0, "page": before.get("page") if same else None,
                         "box": before.get("box") if same else None, "source": "reviewer"}
    validation = dict(invoice.get("validation") or {})
    validation["confirmed_by"] = actor
    invoice["validation"] = validation
    key = _supplier_key(invoice)
    learned: list[str] = []
    read_from_page = any((invoice.get(n) or {}).get("source") != "e-invoice" for n in confirmed)
    if key is not None and read_from_page:
        document = stored_document(session, blobs, document_id)
        if document.pages:
            layout = learn_from_confirmation(session, document, confirmed, key, document_id=document_id)
            learned = sorted({p.field for p in layout.fields})

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
