"""Facts for the rules from a stored ``mailroom.result/v1``: what recognition found, read back without OCR.

Recognition (document type, recipient) and invoice reading fill their parts of the result; until they have
run, or when they found nothing, those parts are absent and so are the facts. Every part is read tolerantly:
a missing or malformed part gives no fact, never an error, because simulation must work on every stored
document, old ones included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mailroom.model import Document
from rules.facts import Facts, IntakeFacts, InvoiceFacts, RecipientFacts, ScoredLabel, SupplierFacts

_NOT_FIELDS = {"validation", "line_items", "supplier"}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _confidence(value: Any, default: float = 1.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return min(1.0, max(0.0, number))


def _text(value: Any) -> str | None:
    return None if value is None or isinstance(value, Mapping | list) else str(value)


def _document_type(result: Mapping[str, Any]) -> ScoredLabel | None:
    part = _mapping(result.get("document_type"))
    label = _text(part.get("label"))
    return ScoredLabel(label=label, confidence=_confidence(part.get("confidence"))) if label else None


def _recipient(result: Mapping[str, Any]) -> RecipientFacts | None:
    part = _mapping(result.get("recipient"))
    department, person = _text(part.get("department")), _text(part.get("person"))
    if department is None and person is None:
        return None
    return RecipientFacts(department=department, person=person, confidence=_confidence(part.get("confidence")))


def _invoice(result: Mapping[str, Any]) -> InvoiceFacts | None:
    part = _mapping(result.get("invoice"))
    if not part:
        return None
    fields: dict[str, str] = {}
    for name, raw in part.items():
        if name in _NOT_FIELDS:
            continue
        value = _text(_mapping(raw).get("value")) if isinstance(raw, Mapping) else _text(raw)
        if value not in (None, ""):
            fields[name] = value
    validation = _mapping(part.get("validation")).get("status")
    return InvoiceFacts(fields=fields, validation=_text(validation))


def _supplier(result: Mapping[str, Any]) -> SupplierFacts | None:
    part = _mapping(result.get("supplier")) or _mapping(_mapping(result.get("invoice")).get("supplier"))
    supplier_id = _text(part.get("supplier_id") or part.get("id"))
    if not supplier_id:
        return None
    name, matched_by = _text(part.get("name")), _text(part.get("matched_by"))
    return SupplierFacts(supplier_id=supplier_id, name=name, matched_by=matched_by)


def _page_count(result: Mapping[str, Any], document: Document | None) -> int | None:
    pages = result.get("pages")
    if isinstance(pages, int) and not isinstance(pages, bool) and pages > 0:
        return pages
    return len(document.pages) if document is not None and document.pages else None


def facts_from_result(result_json: str | Mapping[str, Any] | None, document: Document | None = None) -> Facts:
    """The facts a rule may test, from a stored result (JSON text or parsed); absent parts give no facts."""
    if isinstance(result_json, str):
        try:
            parsed: Any = json.loads(result_json)
        except json.JSONDecodeError:
            parsed = {}
    else:
        parsed = result_json
    result = _mapping(parsed)
    source = _mapping(result.get("source"))
    invoice = _invoice(result)
    return Facts(
        document_type=_document_type(result),
        recipient=_recipient(result),
        supplier=_supplier(result),
        invoice=invoice,
        leitweg_id=invoice.fields.get("buyer_reference") if invoice else None,
        intake=IntakeFacts(
            station=_text(source.get("station")),
            channel=_text(source.get("channel")),
            page_count=_page_count(result, document),
            sender=_text(_mapping(source.get("mail")).get("sender")),
            sender_domain=_sender_domain(_text(_mapping(source.get("mail")).get("sender"))),
        ),
    )


def _sender_domain(sender: str | None) -> str | None:
    return sender.rpartition("@")[2] if sender and "@" in sender else None
