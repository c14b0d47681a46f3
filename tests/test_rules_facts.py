"""Conditions on recognition and intake facts."""

from __future__ import annotations

import pytest
from test_rules_builder import check, letter

from rules import Facts, IntakeFacts, InvoiceFacts, RecipientFacts, ScoredLabel, SupplierFacts

FACTS = Facts(
    document_type=ScoredLabel(label="invoice", confidence=0.93),
    recipient=RecipientFacts(department="kaemmerei", person="schmitz", confidence=0.88),
    supplier=SupplierFacts(supplier_id="stadtwerke-musterstadt", matched_by="iban"),
    invoice=InvoiceFacts(
        fields={"total_gross": "12500.00", "currency": "EUR", "iban": "DE89370400440532013000"},
        validation="valid",
    ),
    leitweg_id="123450000000-RE01-10",
    intake=IntakeFacts(station="poststelle-1", channel="upload", page_count=3),
)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"document_type": "invoice"}, True),
        ({"document_type": "invoice", "min_confidence": 0.95}, False),
        ({"document_type": "reminder"}, False),
        ({"department": "kaemmerei", "min_confidence": 0.8}, True),
        ({"department": "bauamt"}, False),
        ({"person": "schmitz"}, True),
        ({"known_sender": True}, True),
        ({"sender": "stadtwerke-musterstadt"}, True),
        ({"sender": "telekom"}, False),
        ({"leitweg_id": "123450000000-*"}, True),
        ({"leitweg_id": "99*"}, False),
        ({"invoice": "total_gross", "gte": 10000}, True),
        ({"invoice": "total_gross", "lt": 10000}, False),
        ({"invoice": "total_gross", "equals": 12500}, True),
        ({"invoice": "currency", "equals": "eur"}, True),
        ({"invoice": "currency", "one_of": ["CHF", "USD"]}, False),
        ({"invoice": "buyer_reference", "exists": False}, True),
        ({"invoice": "iban", "exists": True}, True),
        ({"invoice_validation": "valid"}, True),
        ({"intake": "station", "equals": "poststelle-1"}, True),
        ({"intake": "channel", "one_of": ["watch_folder", "upload"]}, True),
        ({"intake": "page_count", "gt": 5}, False),
    ],
)
def test_fact_conditions(when: dict[str, object], expected: bool) -> None:
    assert check(when, letter(), FACTS).matched is expected


def test_missing_facts_are_false_and_say_so() -> None:
    trace = check({"document_type": "invoice"}, letter(), Facts())
    assert not trace.matched and trace.because == ["no document type recognised"]
    assert check({"known_sender": False}, letter(), Facts()).matched
    assert not check({"invoice": "total_gross", "gt": 0}, letter(), Facts()).matched


def test_fact_evidence_carries_the_value() -> None:
    trace = check(
        {"all": [{"document_type": "invoice"}, {"term": "Rechnung", "in": "subject"}]}, letter(), FACTS
    )
    assert trace.because[0] == "document type=invoice (0.93)"
    assert trace.because[1].startswith("'Rechnung' in subject")
    assert trace.evidence[0] == {"fact": "document type", "value": "invoice", "confidence": 0.93}  # type: ignore[attr-defined]


def test_all_any_not() -> None:
    doc = letter()
    yes, no = {"term": "Rechnung"}, {"term": "Mahnbescheid"}
    assert check({"all": [yes, {"not": no}]}, doc, FACTS).matched
    assert not check({"all": [yes, no]}, doc, FACTS).matched
    assert check({"any": [no, yes]}, doc, FACTS).matched
    assert not check({"not": yes}, doc, FACTS).matched
