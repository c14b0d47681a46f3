"""The web UI says what is wrong with a rule set or an organisation directory in German (issue 17): the lead by
the problem's stable code and the detail from the values the problem names, not the validator's English (which
the CLI and the REST API keep)."""

from __future__ import annotations

import re

import pytest
import yaml

from api.ui.rules import assemble
from api.ui.texts import CATALOGUE, detail
from mailroom.directory import parse_yaml
from rules import check_ruleset
from rules import validate as rules_validate

TOWN = """\
town: {name: Teststadt}
departments:
  - {id: kaemmerei, name: Kämmerei, postboxes: [kaemmerei]}
persons:
  - {id: schmitz, last_name: Schmitz, department: kaemmerei}
"""
RULE = {"id": "r", "priority": 10, "when": {"term": "Rechnung"}, "then": {"route_to": "kaemmerei"}, "confidence": 0.9}
#: One broken rule per problem code of the validator.
BROKEN: dict[str, dict[str, object]] = {
    "missing_field": {k: v for k, v in RULE.items() if k != "confidence"},
    "unknown_field": {**RULE, "wann": 1},
    "unknown_action": {**RULE, "then": {"route_to": "kaemmerei", "forward": "x"}},
    "unknown_condition": {**RULE, "when": {"wort": "Rechnung"}},
    "ambiguous_condition": {**RULE, "when": {"term": "Rechnung", "phrase": "Sehr geehrte"}},
    "unknown_zone": {**RULE, "when": {"term": "Rechnung", "in": "betreff"}},
    "unknown_invoice_field": {**RULE, "when": {"invoice": "brutto", "exists": True}},
    "unknown_intake_fact": {**RULE, "when": {"intake": "drucker", "equals": "x"}},
    "bad_value": {**RULE, "priority": "sofort"},
    "bad_id": {**RULE, "id": "Große Regel"},
    "bad_region": {**RULE, "when": {"term": "Rechnung", "in": {"x_mm": [50, 10], "y_mm": [0, 10]}}},
    "bad_operator": {**RULE, "when": {"invoice": "invoice_number"}},
    "no_action": {**RULE, "then": {}},
    "term_not_one_word": {**RULE, "when": {"term": "zwei Wörter"}},
    "phrase_too_short": {**RULE, "when": {"phrase": "eins"}},
    "bad_regex": {**RULE, "when": {"regex": "(offen"}},
    "regex_too_long": {**RULE, "when": {"regex": "a" * 600}},
    "unsafe_regex": {**RULE, "when": {"regex": "(a+)+b"}},
    "unknown_postbox": {**RULE, "then": {"route_to": "kaemerei"}},
    "unknown_person": {**RULE, "when": {"person": "schmiz"}},
    "unknown_department": {**RULE, "when": {"department": "kasse"}},
    "unknown_document_type": {**RULE, "then": {"route_to": "kaemmerei", "set_type": "rechnung"}},
}
#: Words that give an English text away.
ENGLISH = re.compile(r"\b(the|is|no|unknown|required|known|use|never|must|not|one|used)\b")


def _problems(rule: dict[str, object]) -> list[rules_validate.RuleProblem]:
    text = yaml.safe_dump({"version": 1, "rules": [rule]}, allow_unicode=True)
    return check_ruleset(text, parse_yaml(TOWN, "teststadt"), document_types={"invoice", "objection"})[1]


@pytest.mark.parametrize("code", sorted(BROKEN))
def test_every_rule_problem_has_a_german_detail(code: str) -> None:
    problems = _problems(BROKEN[code])
    assert code in [p.code for p in problems], problems
    for problem in problems:
        german = detail("rules", problem.code, problem.values, problem.message, "de")
        prose = re.split(r"(möglich|bekannt|gefunden): ", german)[0]  # (the language's own words follow)
        assert german != problem.message and not ENGLISH.search(prose), (code, german)
        assert detail("rules", problem.code, problem.values, problem.message, "en") != ""


def test_the_problems_of_the_duplicate_and_unreachable_rules_are_german() -> None:
    catch_all = {"id": "alles", "priority": 100, "then": {"route_to": "kaemmerei"}, "stop": True, "confidence": 0.9}
    text = yaml.safe_dump({"version": 1, "rules": [catch_all, RULE, RULE]}, allow_unicode=True)
    problems = check_ruleset(text)[1]
    assert {p.code for p in problems} == {"duplicate_id", "unreachable"}
    shown = [detail("rules", p.code, p.values, p.message, "de") for p in problems]
    assert "Die Kennung „r“ ist doppelt vergeben." in shown
    assert "Wird nie geprüft: Regel „alles“ (Priorität 100) passt auf jedes Dokument und hat stop: true." in shown


def test_every_documented_rule_problem_code_has_a_lead_and_a_detail() -> None:
    listed = (rules_validate.__doc__ or "").split("Codes are stable")[1].split("Against the organisation")[0]
    documented = set(re.findall(r"``(\w+)``", listed))
    codes = (documented - {"rules_not_in_directory"}) | rules_validate.NAME_CODES | {"unknown_document_type"}
    assert len(codes) > 25
    for code in codes:
        assert f"rules.problem.{code}" in CATALOGUE, code
        assert f"rules.detail.{code}" in CATALOGUE, code


def test_the_rules_editor_keeps_code_and_field_and_the_english_text_for_the_api() -> None:
    draft, text = assemble("version: 1\n", [yaml.safe_dump(BROKEN["unknown_postbox"], allow_unicode=True)],
                           parse_yaml(TOWN, "teststadt"))
    assert text is None
    [first] = draft.rules[0].problems
    assert (first.code, first.path) == ("unknown_postbox", "then.route_to")
    assert first.text == "then.route_to: no postbox 'kaemerei' in the organisation directory 'Teststadt' " \
                         "[unknown_postbox]"
    assert detail("rules", first.code, first.values, first.detail, "de") == \
        "Den Postkorb „kaemerei“ gibt es im Verzeichnis „Teststadt“ nicht."
    draft, text = assemble("- kein Kopf", ["- keine Zuordnung", "id: [offen"])  # the editor's own checks
    assert text is None
    header, second, third = draft.header_problems[0], draft.rules[0].problems[0], draft.rules[1].problems[0]
    assert (header.code, second.code, third.code) == ("header_not_a_mapping", "not_a_mapping", "yaml_syntax")
    assert detail("rules", header.code, header.values, header.detail, "de").startswith("Der Kopf ist eine Zuordnung")
    assert detail("rules", second.code, second.values, second.detail, "de").startswith("Eine Regel ist eine Zuordnung")
    assert detail("rules", third.code, third.values, third.detail, "de").startswith("Kein gültiges YAML (Zeile 1")


# --- the organisation directory ---------------------------------------------------------------------------

BROKEN_TOWN = """\
town: {name: Teststadt}
departments:
  - {id: kaemmerei, name: Kämmerei, postboxes: [kaemmerei, kasse], numbers: [Zimmer],
     aktenzeichen_patterns: ["(offen"],
     tasks: [{task: Steuern, postbox: ordnungsamt}, {task: Steuern}, {task: ab, words: [x]},
             {task: Mahnung, unit_names: [Mahnstelle]}]}
  - {id: kaemmerei, name: Kämmerei zwei}
  - {id: ordnungsamt, name: "", postboxes: [ordnungsamt]}
postboxes:
  - {id: kaemmerei, name: Kämmerei, department: kaemmerei}
  - {id: ordnungsamt, name: Ordnungsamt, department: ordnungsamt}
  - {id: verwaist, name: Verwaist, department: nirgendwo}
persons:
  - {id: schmitz, last_name: "", department: kasse, deputies: [niemand], postbox: ordnungsamt}
  - {department: kaemmerei, last_name: Meier}
"""


def test_every_directory_problem_has_a_code_and_a_german_detail() -> None:
    from mailroom.errors import InvalidDirectory

    with pytest.raises(InvalidDirectory) as refused:
        parse_yaml(BROKEN_TOWN, "teststadt")
    problems = refused.value.details["problems"]
    codes = {p.code for p in problems}
    assert {"department_duplicate_id", "department_unknown_postbox", "task_foreign_postbox", "task_twice",
            "task_no_word", "task_unit_without_postbox", "department_bad_number", "department_bad_aktenzeichen",
            "department_missing_name", "postbox_unknown_department", "person_missing_last_name",
            "person_unknown_department", "person_unknown_deputy", "person_missing_id"} <= codes, codes
    for problem in problems:
        german = detail("dir", problem.code, problem.values, problem, "de")
        assert german != problem and not ENGLISH.search(german), (problem.code, german)
    shown = {detail("dir", p.code, p.values, p, "de") for p in problems}
    assert "Postkorb „verwaist“: das Amt „nirgendwo“ gibt es nicht." in shown
    assert refused.value.to_dict()["details"]["problems"][0] == str(problems[0])  # the REST API: English, unchanged


@pytest.mark.parametrize(("text", "code"), [("departments: [", "yaml_syntax"), ("- eine Liste", "not_a_mapping"),
                                            ("departments: {kaemmerei: 1}", "not_a_list")])
def test_a_directory_that_cannot_be_read_says_why_in_german(text: str, code: str) -> None:
    from mailroom.errors import InvalidDirectory

    with pytest.raises(InvalidDirectory) as refused:
        parse_yaml(text, "teststadt")
    message = refused.value.message
    assert getattr(message, "code", None) == code
    german = detail("dir", code, message.values, message, "de")  # type: ignore[attr-defined]
    assert german != message and not ENGLISH.search(german), german


def test_every_code_of_the_directory_checks_has_a_german_detail() -> None:
    from pathlib import Path

    from mailroom import directory

    source = Path(directory.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r"""(?:DirectoryProblem|_refused|problem)\(\s*f?"(?:[^"\\]|\\.)*",\s*"(\w+)\"""", source))
    codes |= {f"{kind}_{what}" for kind in ("department", "person", "postbox")
              for what in ("missing_id", "duplicate_id")}
    assert len(codes) >= 30, codes
    assert not [code for code in codes if f"dir.detail.{code}" not in CATALOGUE]


def test_a_person_who_moved_is_said_in_german() -> None:
    rule = {**RULE, "when": {"person": "schmitz"}}
    ruleset = rules_validate.load_ruleset(yaml.safe_dump({"version": 1, "rules": [rule]}, allow_unicode=True))
    moved = TOWN.replace("persons:", "  - {id: kasse, name: Stadtkasse, postboxes: [kasse]}\npersons:").replace(
        "last_name: Schmitz, department: kaemmerei}", "last_name: Schmitz, department: kasse}")
    old, new = parse_yaml(TOWN, "teststadt"), parse_yaml(moved, "teststadt")
    [problem] = rules_validate.directory_change_warnings(ruleset, old, new)
    assert problem.code == "person_moved"
    assert detail("rules", problem.code, problem.values, problem.message, "de") == \
        "Die Person „schmitz“ ist umgezogen (von „kaemmerei“ nach „kasse“); die Regel leitet nach „kaemmerei“."
