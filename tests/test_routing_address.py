"""Address routing derived from the organisation directory (no per-name rules): the address decides the department,
a task's unit or the responsibilities catalogue decides between its postboxes, and a town's rule still wins."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_rules_builder import letter

from classifiers.doctype import TypePrediction
from classifiers.recipient import match_recipient
from classifiers.responsibilities import catalogue_for
from classifiers.samples import Sample
from mailroom.directory import Directory, default_directory
from routing.decision import RoutingDecision, RoutingPolicy, decide
from routing.recognition import Recognition, addressed_postbox, facts_for_rules, load_type_routes
from rules import compile_ruleset, evaluate, load_ruleset
from rules.decision import Decision
from rules.facts import Facts
from rules.store import default_pack_text

DIRECTORY = default_directory()
POLICY = RoutingPolicy(routes=load_type_routes())
NO_RULE = Decision(ruleset_version=1)
# types that fix no postbox: the address and the letter's words must decide
SPREAD = {"enquiry": 0.4, "complaint": 0.35, "invitation": 0.25}
NEUTRAL = ("Anfrage", "Bitte rufen Sie mich zurück, ich habe eine Frage.")


def _recognition(address: list[str], subject: str, body: str, directory: Directory = DIRECTORY) -> Recognition:
    lines = ["Stadtverwaltung Musterstadt", *address, "Rathausplatz 1", "12345 Musterstadt"]
    text = "\n".join([*lines, f"Betreff: {subject}", body])
    match = match_recipient(lines, directory)
    content = {box: 1 / len(directory.postboxes) for box in directory.postboxes}
    return Recognition(
        sample=Sample(text, subject, "\n".join(lines)),
        zones=None,
        recipient=match,
        document_type=TypePrediction("enquiry", SPREAD["enquiry"], SPREAD),
        document_type_by="model:doctype@1",
        postbox=TypePrediction("umweltamt", content["umweltamt"], content),
        postbox_by="model:postbox@1",
        addressed_postbox=addressed_postbox(match, directory),
        catalogue=tuple(catalogue_for(directory).content_evidence(text, subject, "\n".join(lines))),
    )


def _decide(recognition: Recognition, rules: Decision = NO_RULE, directory: Directory = DIRECTORY) -> RoutingDecision:
    return decide(recognition, rules, directory=directory, policy=POLICY)


@pytest.mark.parametrize("department", sorted(DIRECTORY.departments))
def test_the_address_decides_every_department_without_a_rule(department: str) -> None:
    dep = DIRECTORY.departments[department]
    routing = _decide(_recognition([dep.name], *NEUTRAL)).routing
    assert (routing.status, routing.postbox, routing.decided_by) == (
        "routed", dep.main_postbox, "recipient:address_field")
    assert any(dep.name in reason for reason in routing.model_dump()["because"])


def test_the_shipped_pack_lists_no_names_or_persons_of_the_directory() -> None:
    pack = load_ruleset(default_pack_text())
    conditions = [r.when.model_dump_json() for r in pack.rules if r.then.route_to and r.when is not None]
    assert conditions and all("address_field" not in c and '"department"' not in c for c in conditions)
    surnames = {p.last_name for p in DIRECTORY.persons.values()}
    assert not any(name in default_pack_text() for name in surnames)


@pytest.mark.parametrize(
    ("address", "subject", "body", "postbox"),
    [
        # the Ordnungsamt's Gewerbe task has its own postbox; its other tasks go to the general one
        (["Ordnungsamt"], "Gaststättenerlaubnis", "Ich beantrage die Erlaubnis für den Ausschank in meinem Bistro.",
         "ordnungsamt-gewerbe"),
        (["Ordnungsamt"], "Ruhestörung", "Die Nachbarn feiern jede Nacht, wir bitten um Hilfe wegen der Nachtruhe.",
         "ordnungsamt"),
        (["Fachdienst Öffentliche Sicherheit und Ordnung"], "Reisegewerbekarte",
         "Ich möchte eine Reisegewerbekarte für den Verkauf von Honig beantragen.", "ordnungsamt-gewerbe"),
        (["Hauptamt"], "Angebot", "Zur Ausschreibung mit der Vergabenummer V-2026-17 reichen wir unser Angebot ein.",
         "hauptamt-vergabe"),
        (["Hauptamt"], "Bürgersaal", "Wir möchten den Bürgersaal für eine Vereinsfeier nutzen.", "hauptamt"),
    ],
)
def test_the_catalogue_chooses_among_the_addressed_departments_postboxes(
    address: list[str], subject: str, body: str, postbox: str
) -> None:
    routing = _decide(_recognition(address, subject, body)).routing
    assert (routing.status, routing.postbox, routing.decided_by) == ("routed", postbox, "recipient:address_field")


@pytest.mark.parametrize(
    ("line", "postbox"),
    [
        ("Gewerbeamt", "ordnungsamt-gewerbe"),
        ("Ordnungsamt - Gewerbestelle", "ordnungsamt-gewerbe"),
        ("Zentrale Vergabe- und Beschaffungsstelle", "hauptamt-vergabe"),
        ("Zentraler Rechnungseingang", "kaemmerei-rechnungseingang"),
        ("Gewerbeanqelegenheiten", "ordnungsamt-gewerbe"),  # OCR: q for g
    ],
)
def test_a_tasks_unit_in_the_address_names_its_postbox(line: str, postbox: str) -> None:
    recognition = _recognition([line], *NEUTRAL)
    assert recognition.addressed_postbox == postbox
    routing = _decide(recognition).routing
    assert (routing.status, routing.postbox, routing.decided_by) == ("routed", postbox, "recipient:address_field")


@pytest.mark.parametrize("line", ["Sicherheit, Ordnung und Gewerbe", "Zentrale Verwaltung", "Finanzbuchhaltung"])
def test_a_line_naming_more_than_a_tasks_unit_names_the_department(line: str) -> None:
    recognition = _recognition([line], *NEUTRAL)
    assert recognition.recipient.department is not None and recognition.addressed_postbox is None
    routing = _decide(recognition).routing
    assert routing.postbox == DIRECTORY.departments[recognition.recipient.department].main_postbox


def test_a_persons_postbox_in_the_directory() -> None:
    keller = DIRECTORY.persons["keller"]
    assert _decide(_recognition(["z. Hd. Frau Keller"], *NEUTRAL)).routing.postbox == "ordnungsamt"
    moved = replace(DIRECTORY, persons={**DIRECTORY.persons, "keller": replace(keller, postbox="ordnungsamt-gewerbe")})
    routing = _decide(_recognition(["z. Hd. Frau Keller"], *NEUTRAL, directory=moved), directory=moved).routing
    assert (routing.status, routing.postbox) == ("routed", "ordnungsamt-gewerbe")


def test_undecided_between_the_departments_postboxes_goes_to_review() -> None:
    recognition = _recognition(["Ordnungsamt"], "Gaststätte", "Der Lärm aus der Gaststätte stört die Nachtruhe.")
    routing = _decide(recognition).routing.model_dump()
    if routing["status"] == "routed":  # the catalogue may find one side clearly stronger; then it is that side
        assert routing["postbox"] in {"ordnungsamt", "ordnungsamt-gewerbe"}
    else:
        assert {a["postbox"] for a in routing["alternatives"][:2]} == {"ordnungsamt", "ordnungsamt-gewerbe"}
        assert "Ordnungsamt" in routing["review_reasons"][0] and "below its threshold" in routing["review_reasons"][0]


def test_a_rule_of_the_town_overrides_the_address() -> None:
    ruleset = compile_ruleset(load_ruleset("""
version: 2
rules:
  - id: ordnungsamt-alles-allgemein
    when: {department: ordnungsamt, min_confidence: 0.8}
    then: {route_to: ordnungsamt}
    confidence: 0.9
"""))
    recognition = _recognition(["Gewerbeamt"], "Gaststättenerlaubnis", "Ausschank in meinem Bistro.")
    assert _decide(recognition).routing.postbox == "ordnungsamt-gewerbe"
    rules_decision = evaluate(ruleset, letter(), facts_for_rules(recognition))
    routing = _decide(recognition, rules_decision).routing
    assert (routing.status, routing.postbox, routing.decided_by) == (
        "routed", "ordnungsamt", "rule:ordnungsamt-alles-allgemein@2")


def test_an_invoice_still_goes_to_the_rechnungseingang_whoever_it_is_addressed_to() -> None:
    recognition = replace(
        _recognition(["Ordnungsamt"], "Rechnung", "Für die Reparatur berechnen wir 120 Euro."),
        document_type=TypePrediction("invoice", 0.97, {"invoice": 0.97, "offer": 0.03}),
    )
    assert _decide(recognition).routing.postbox == "kaemmerei-rechnungseingang"


PACK = compile_ruleset(load_ruleset(default_pack_text()))


@pytest.mark.parametrize(
    ("subject", "body", "fires"),
    [
        ("Bewerbung als Sachbearbeiterin", ["Anbei mein Lebenslauf und meine Zeugnisse."], True),
        ("Bewerbung Hausmeister Schulzentrum", ["hiermit bewerbe ich mich auf Ihre Ausschreibung."], True),
        ("Bewerbung um einen Standplatz", ["Für den Weihnachtsmarkt möchte ich einen Verkaufsstand anmelden."],
         False),
        ("Bewerbung Gaststätte Marktplatz", ["Wir bewerben uns um die Konzession für die Gaststätte."], False),
        ("Bewerbung um einen Ausbildungsplatz", ["Gern möchte ich im Gewerbeamt meine Ausbildung machen."], True),
    ],
)
def test_the_bewerbung_rule_fires_on_job_applications_only(subject: str, body: list[str], fires: bool) -> None:
    decision = evaluate(PACK, letter(subject=subject, body=body), Facts())
    matched = next(t for t in decision.trace if t.rule == "bewerbung-an-personalamt").matched
    assert matched is fires
    assert (decision.postbox == "personalamt") is fires


@pytest.mark.parametrize(
    ("subject", "body", "fires"),
    [
        ("Anmeldung meines Hundes", ["Hiermit melde ich meinen Hund zur Hundesteuer an."], True),
        ("Hundesteuer 2027", ["Bitte senden Sie mir den Bescheid erneut zu."], True),
        ("Abmeldung", ["Unser Hund ist verstorben, bitte melden Sie ihn von der Hundesteuer ab."], True),
        ("Hund des Nachbarn", ["Der Hund unseres Nachbarn bellt täglich stundenlang.",
                               "Gestern lief er ohne Leine auf den Spielplatz.",
                               "Die Hundesteuer zahlt der Halter sicher, aber das Tier ist gefährlich."], False),
    ],
)
def test_the_hundesteuer_rule_leaves_complaints_that_mention_the_tax(subject: str, body: list[str],
                                                                     fires: bool) -> None:
    decision = evaluate(PACK, letter(subject=subject, body=body), Facts())
    matched = next(t for t in decision.trace if t.rule == "hundesteuer").matched
    assert matched is fires
    assert (decision.postbox == "steueramt") is fires
