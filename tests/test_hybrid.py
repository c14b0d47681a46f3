"""The hybrid decision: rules first, then recipient and models behind thresholds; every decision explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers.doctype import TypePrediction
from classifiers.recipient import match_recipient
from classifiers.samples import Sample
from mailroom.directory import default_directory
from mailroom.errors import InvalidThresholds
from mailroom.model import Document
from routing.decision import RoutingPolicy, Thresholds, decide, parse_thresholds
from routing.recognition import Recognition, Reference, facts_for_rules, load_type_routes
from rules import compile_ruleset, evaluate, load_ruleset
from rules.decision import Decision

DIRECTORY = default_directory()
POLICY = RoutingPolicy(routes=load_type_routes())
NO_RULE = Decision(ruleset_version=1)


def _prediction(probabilities: dict[str, float]) -> TypePrediction:
    label = max(probabilities, key=lambda k: probabilities[k])
    return TypePrediction(label, probabilities[label], probabilities)


def _recognition(
    types: dict[str, float],
    address: list[str],
    content: dict[str, float] | None = None,
    references: tuple[Reference, ...] = (),
    endorsement: str | None = None,
) -> Recognition:
    match = match_recipient(address, DIRECTORY, endorsement=endorsement)
    return Recognition(
        sample=Sample("", "", "\n".join(address)),
        zones=None,
        recipient=match,
        document_type=_prediction(types),
        document_type_by="model:doctype@4",
        postbox=_prediction(content or {"buergerbuero": 1.0}),
        postbox_by="model:postbox@2",
        addressed_postbox=None,
        references=references,
    )


def test_invoice_goes_to_the_rechnungseingang_whoever_it_is_addressed_to() -> None:
    recognition = _recognition({"invoice": 0.97, "credit_note": 0.02, "offer": 0.01}, ["Stadt Musterstadt", "Schulamt"])
    decision = decide(recognition, NO_RULE, directory=DIRECTORY, policy=POLICY)
    assert decision.routing.status == "routed"
    assert decision.routing.postbox == "kaemmerei-rechnungseingang"
    assert decision.routing.decided_by == "model:doctype@4"
    assert decision.routing.confidence == pytest.approx(0.99)  # invoice and credit note both go there
    assert any("document_type=invoice" in b for b in decision.routing.model_dump()["because"])
    assert decision.document_type.label == "invoice"
    assert decision.document_type.decided_by == "model:doctype@4"
    assert decision.recipient.department == "schulamt"


def test_the_recipient_decides_a_type_that_can_go_to_several_postboxes() -> None:
    recognition = _recognition({"complaint": 0.98, "enquiry": 0.02}, ["Stadtverwaltung Musterstadt", "Ordnungsamt"])
    routing = decide(recognition, NO_RULE, directory=DIRECTORY, policy=POLICY).routing
    assert (routing.status, routing.postbox, routing.decided_by) == ("routed", "ordnungsamt", "recipient:address_field")


def test_a_person_routes_to_their_current_department_and_confidential_is_kept() -> None:
    recognition = _recognition(
        {"complaint": 0.99, "enquiry": 0.01},
        ["Stadtverwaltung Musterstadt", "Herrn Frank Neumann"],
        endorsement="Persönlich/Vertraulich",
    )
    decision = decide(recognition, NO_RULE, directory=DIRECTORY, policy=POLICY)
    routing = decision.routing.model_dump()
    assert routing["postbox"] == "stadtkasse"  # Neumann moved from the Steueramt to the Stadtkasse
    assert routing["confidential"] is True and routing["person"] == "neumann"
    assert decision.recipient.model_dump()["confidential"] is True


def test_without_a_recipient_the_content_and_references_decide() -> None:
    by_content = _recognition({"enquiry": 0.99, "complaint": 0.01}, ["Stadt Musterstadt"], {"standesamt": 0.97})
    routing = decide(by_content, NO_RULE, directory=DIRECTORY, policy=POLICY).routing
    assert (routing.postbox, routing.decided_by) == ("standesamt", "model:postbox@2")
    cited = Reference("aktenzeichen", "50-WG-2026-04380", "sozialamt")
    objection = _recognition({"objection": 1.0}, ["Stadtverwaltung Musterstadt", "Rechtsamt"], references=(cited,))
    assert decide(objection, NO_RULE, directory=DIRECTORY, policy=POLICY).routing.postbox == "sozialamt"


def test_doubtful_mail_goes_to_review_with_three_alternatives_and_the_reason() -> None:
    # an offer to the Hauptamt may belong to its general postbox or to the Vergabestelle: never guess
    recognition = _recognition(
        {"offer": 0.9, "order_confirmation": 0.1},
        ["Stadtverwaltung Musterstadt", "Hauptamt"],
        {"hauptamt": 0.45, "hauptamt-vergabe": 0.45, "tiefbau": 0.1},
    )
    routing = decide(recognition, NO_RULE, directory=DIRECTORY, policy=POLICY).routing.model_dump()
    assert routing["status"] == "review" and routing["postbox"] is None
    assert {a["postbox"] for a in routing["alternatives"][:2]} == {"hauptamt", "hauptamt-vergabe"}
    assert len(routing["alternatives"]) == 3
    assert "below its threshold" in routing["review_reasons"][0]


def test_thresholds_per_postbox_and_per_type() -> None:
    recognition = _recognition({"invoice": 0.93, "offer": 0.07}, ["Stadtverwaltung Musterstadt", "Kämmerei"])
    assert decide(recognition, NO_RULE, directory=DIRECTORY, policy=POLICY).routing.status == "routed"
    strict_box = RoutingPolicy(POLICY.routes, Thresholds(postboxes={"kaemmerei-rechnungseingang": 0.95}))
    assert decide(recognition, NO_RULE, directory=DIRECTORY, policy=strict_box).routing.status == "review"
    strict_type = RoutingPolicy(POLICY.routes, Thresholds(types={"invoice": 0.99}))
    routing = decide(recognition, NO_RULE, directory=DIRECTORY, policy=strict_type).routing.model_dump()
    assert routing["status"] == "review"
    assert routing["review_reasons"] == ["document type invoice: confidence 0.93 below its threshold 0.99"]


def test_a_matching_rule_decides_with_its_trace() -> None:
    ruleset = compile_ruleset(
        load_ruleset("""
version: 3
rules:
  - id: hundesteuer
    when: {document_type: application_dog_tax}
    then: {route_to: steueramt}
    confidence: 0.99
""")
    )
    recognition = _recognition({"application_dog_tax": 0.99, "enquiry": 0.01}, ["Stadt Musterstadt"])
    rules_decision = evaluate(ruleset, Document(), facts_for_rules(recognition))
    routing = decide(recognition, rules_decision, directory=DIRECTORY, policy=POLICY).routing.model_dump()
    assert (routing["status"], routing["postbox"], routing["decided_by"]) == (
        "routed",
        "steueramt",
        "rule:hundesteuer@3",
    )
    assert routing["trace"][0]["matched"] is True and routing["because"]


def test_a_rule_asking_for_review_keeps_its_reason_and_gets_the_model_alternatives() -> None:
    ruleset = compile_ruleset(
        load_ruleset("""
version: 1
rules:
  - id: alles-pruefen
    then: {review: "Stichprobe"}
    confidence: 1.0
""")
    )
    recognition = _recognition({"invoice": 1.0}, ["Stadt Musterstadt"])
    rules_decision = evaluate(ruleset, Document(), facts_for_rules(recognition))
    routing = decide(recognition, rules_decision, directory=DIRECTORY, policy=POLICY).routing.model_dump()
    assert routing["status"] == "review"
    assert routing["review_reasons"] == ["alles-pruefen: Stichprobe"]
    assert routing["alternatives"][0]["postbox"] == "kaemmerei-rechnungseingang"


def test_thresholds_file(tmp_path: Path) -> None:
    thresholds = parse_thresholds("postbox: 0.8\ntypes: {contract: 0.7}\npostboxes: {hauptamt: 0.95}\n")
    assert thresholds.for_postbox("hauptamt") == 0.95 and thresholds.for_postbox("tiefbau") == 0.8
    assert thresholds.for_type("contract") == 0.7 and thresholds.for_type("invoice") == 0.5
    for bad in ("postbox: 2", "colour: red", "types: [a]", "- x"):
        with pytest.raises(InvalidThresholds):
            parse_thresholds(bad)
