"""The conflict policy: priorities, equal-priority conflicts, stop, review, combined actions, Routing."""

from __future__ import annotations

from typing import Any

from test_rules_builder import letter

from mailroom.result import Result, Routing
from rules import Decision, Facts, ScoredLabel, evaluate, load_ruleset

INVOICE = Facts(document_type=ScoredLabel(label="invoice", confidence=0.98))


def decide(rules: str, facts: Facts = INVOICE) -> Decision:
    return evaluate(load_ruleset("version: 3\nrules:\n" + rules), letter(), facts)


KAEMMEREI = """
  - id: rechnungen-an-kaemmerei
    priority: 50
    when:
      all:
        - document_type: invoice
          min_confidence: 0.9
        - term: Rechnung
          in: subject
    then: {route_to: kaemmerei-rechnungseingang, tags: [rechnung], deadline_days: 14}
    confidence: 0.97
"""


def test_highest_priority_route_wins_and_lower_ones_are_alternatives() -> None:
    decision = decide(
        KAEMMEREI
        + """
  - id: alles-an-poststelle
    priority: 0
    then: {route_to: poststelle, tags: [eingang], deadline_days: 30}
    confidence: 0.3
"""
    )
    assert decision.status == "routed"
    assert decision.postbox == "kaemmerei-rechnungseingang"
    assert decision.decided_by == "rule:rechnungen-an-kaemmerei@3"
    assert decision.confidence == 0.97
    assert [(a.postbox, a.confidence) for a in decision.alternatives] == [("poststelle", 0.3)]
    assert decision.tags == ["rechnung", "eingang"] and decision.deadline_days == 14
    assert [t.rule for t in decision.trace] == ["rechnungen-an-kaemmerei", "alles-an-poststelle"]


def test_equal_priority_different_postboxes_go_to_review_with_both() -> None:
    decision = decide(
        KAEMMEREI
        + """
  - id: rechnungen-an-stadtkasse
    priority: 50
    when: {term: Rechnung}
    then: {route_to: stadtkasse}
    confidence: 0.8
"""
    )
    assert decision.status == "review" and decision.postbox is None
    assert [a.postbox for a in decision.alternatives] == ["kaemmerei-rechnungseingang", "stadtkasse"]
    assert "conflict" in decision.review_reasons[0]


def test_equal_priority_same_postbox_is_no_conflict() -> None:
    decision = decide(KAEMMEREI + KAEMMEREI.replace("rechnungen-an-kaemmerei", "zweite"))
    assert decision.status == "routed" and decision.alternatives == []


def test_stop_ends_evaluation_after_its_priority_level() -> None:
    decision = decide(
        KAEMMEREI.replace("confidence: 0.97", "confidence: 0.97\n    stop: true")
        + """
  - id: gleich-hoch
    priority: 50
    when: {term: Musterstadt}
    then: {copy_to: [rechnungspruefung]}
    confidence: 0.9
  - id: niedriger
    priority: 10
    then: {route_to: poststelle}
    confidence: 0.5
"""
    )
    assert decision.stopped_by == "rechnungen-an-kaemmerei"
    assert [t.rule for t in decision.trace] == ["rechnungen-an-kaemmerei", "gleich-hoch"]
    assert decision.copy_to == ["rechnungspruefung"] and decision.alternatives == []


def test_review_action_sends_to_review_with_reason_and_suggestion() -> None:
    decision = decide(
        KAEMMEREI
        + """
  - id: hohe-betraege-pruefen
    priority: 10
    when: {phrase: "558,35 Euro"}
    then: {review: Betrag über Freigabegrenze, priority: urgent, confidential: true}
    confidence: 0.9
"""
    )
    assert decision.status == "review" and decision.postbox is None
    assert decision.review_reasons == ["hohe-betraege-pruefen: Betrag über Freigabegrenze"]
    assert decision.alternatives[0].postbox == "kaemmerei-rechnungseingang"
    assert decision.priority == "urgent" and decision.confidential


def test_no_routing_rule_means_review_without_postbox() -> None:
    decision = decide(KAEMMEREI, Facts())
    assert decision.status == "review" and decision.postbox is None and decision.decided_by is None
    assert decision.trace[0].matched is False
    assert decision.trace[0].because == ["no document type recognised"]


def test_set_type_comes_from_the_first_matching_rule() -> None:
    decision = decide("""
  - id: a
    priority: 5
    when: {term: Rechnung}
    then: {set_type: invoice}
    confidence: 0.9
  - id: b
    then: {set_type: letter}
    confidence: 0.5
""")
    assert decision.document_type == "invoice"


def test_routing_fits_the_result_contract() -> None:
    routing = decide(KAEMMEREI).to_routing()
    assert isinstance(routing, Routing)
    result: dict[str, Any] = {
        "document_id": "d",
        "sha256": "0",
        "filename": "f.pdf",
        "pages": 1,
        "source": {"channel": "upload", "received_at": "2026-11-26T08:12:03Z"},
        "text_source": "ocr",
        "routing": routing,
    }
    data = Result.model_validate(result).to_dict()["routing"]
    assert data["status"] == "routed" and data["decided_by"] == "rule:rechnungen-an-kaemmerei@3"
    trace = data["trace"][0]
    assert trace["rule"] == "rechnungen-an-kaemmerei" and trace["version"] == 3 and trace["matched"]
    assert trace["because"][0] == "document type=invoice (0.98)"
    assert trace["evidence"][1]["words"] == ["Rechnung"]
