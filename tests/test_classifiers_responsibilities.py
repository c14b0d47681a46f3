"""The responsibilities catalogue: German word handling, content evidence and unit names in address lines."""

from __future__ import annotations

import pytest

from classifiers.german import Vocabulary, stem
from classifiers.responsibilities import UNKNOWN_HEAD_WEIGHT, catalogue_for
from mailroom.directory import InvalidDirectory, default_directory, parse_yaml


def test_stems_meet_across_inflections_and_umlauts() -> None:
    assert stem("Straßen") == stem("Straße") == stem("strasse")
    assert stem("Schlaglöcher") == stem("Schlagloch")
    assert stem("Anmeldung") == stem("anmelden")


def test_compounds_split_into_known_parts_with_linking_elements() -> None:
    vocabulary = Vocabulary(["Hund", "Steuer", "Abmeldung", "Straße", "Beleuchtung", "Amt", "Geburt", "Urkunde"])
    assert vocabulary.parts("Hundesteuerabmeldung") == (stem("Hund"), stem("Steuer"), stem("Abmeldung"))
    assert vocabulary.parts("Straßenbeleuchtung") == (stem("Straße"), stem("Beleuchtung"))
    assert vocabulary.parts("Geburtsurkunde") == (stem("Geburt"), stem("Urkunde"))
    assert vocabulary.parts("Samt") == ()  # no known part inside a word that is otherwise unknown


def _best(text: str, subject: str = "") -> str | None:
    evidence = catalogue_for(default_directory()).content_evidence(text, subject)
    return evidence[0].department if evidence else None


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("hiermit bitte ich um die Hundesteuerabmeldung, unser Hund ist verstorben.", "steueramt"),
        ("Für meinen Hund möchte ich die Steuer nicht mehr zahlen, er lebt nicht mehr.", "steueramt"),
        ("vor dem Haus sind seit Wochen große Schlaglöcher und die Straßenlaterne ist defekt.", "tiefbau"),
        ("Ich bitte um eine Geburtsurkunde für meine Tochter.", "standesamt"),
        ("Wir beantragen einen Kita-Platz für unseren Sohn.", "jugendamt"),
        ("Die Nachbarn feiern jede Nacht, die Ruhestörung ist unerträglich.", "ordnungsamt"),
    ],
)
def test_content_evidence_names_the_responsible_department(text: str, department: str) -> None:
    assert _best(text) == department


def test_street_names_and_the_address_field_are_not_read_as_tasks() -> None:
    assert _best("Max Muster, Schulstraße 5, 12345 Musterstadt") is None
    catalogue = catalogue_for(default_directory())
    assert catalogue.content_evidence("Kita\nSonstiges", address="Kita") == []


@pytest.mark.parametrize(
    ("line", "department"),
    [
        ("Abteilung Finanzen und Controlling", "kaemmerei"),
        ("Team Personalservice", "personalamt"),
        ("Fachdienst Öffentliche Sicherheit und Ordnung", "ordnungsamt"),
        ("Amt 66", "tiefbau"),
        ("FB 3", "ordnungsamt"),
        ("Sachgebiet 22.1", "steueramt"),
        ("Referat Umwelt", "umweltamt"),
        ("Abteilung Finanzcn", "kaemmerei"),  # OCR: one wrong letter
        ("Team Kindertagesbetreuung", "jugendamt"),
    ],
)
def test_unit_name_variants_in_an_address_line(line: str, department: str) -> None:
    hits = catalogue_for(default_directory()).address_hits(line)
    assert {h.department for h in hits} == {department}


@pytest.mark.parametrize(
    "line", ["Rathausplatz 1", "12345 Musterstadt", "Stadtverwaltung Musterstadt", "Schulstraße 4"]
)
def test_lines_that_name_no_unit(line: str) -> None:
    assert catalogue_for(default_directory()).address_hits(line) == []


def test_catalogue_problems_are_reported() -> None:
    text = """
town: {name: Stadt X}
departments:
  - id: a
    name: Amt A
    postboxes: [a]
    numbers: ["drei"]
    tasks:
      - {task: Hundesteuer, postbox: b}
      - {task: Hundesteuer}
  - id: b
    name: Amt B
    postboxes: [b]
"""
    with pytest.raises(InvalidDirectory) as caught:
        parse_yaml(text)
    problems = " ".join(caught.value.details["problems"])
    assert "belongs to another department" in problems
    assert "listed twice" in problems
    assert "'drei'" in problems


def _score(text: str, postbox: str) -> float:
    evidence = catalogue_for(default_directory()).content_evidence(text)
    return next((e.score for e in evidence if e.postbox == postbox), 0.0)


def test_a_task_word_before_an_unknown_head_weighs_less() -> None:
    """A compound means its last part: a "Geburtstag" is a day, not a birth; "Geburtsurkunde" (known head) and
    "Geburt" alone stay full evidence for the Standesamt."""
    birth = _score("Wir melden die Geburt unserer Tochter an.", "standesamt")
    assert birth > 0
    assert _score("Wir gratulieren zum Geburtstag unserer Tochter.", "standesamt") == pytest.approx(
        birth * UNKNOWN_HEAD_WEIGHT)
    assert _score("Bitte senden Sie eine Geburtsurkunde unserer Tochter.", "standesamt") >= birth
    # the word alone elsewhere in the letter still counts fully
    assert _score("Zum Geburtstag: wir melden die Geburt unserer Tochter an.", "standesamt") == pytest.approx(birth)
    assert _score("Ich beantrage die Hundesteuerabmeldung.", "steueramt") >= _score(
        "Ich beantrage die Abmeldung der Hundesteuer.", "steueramt")
