"""Invalid rule sets: every problem with its rule id, field path, stable code and message; the regex guard."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from rules import InvalidRuleSet, check_ruleset, load_ruleset
from rules.regex_guard import MAX_LINE_CHARS, check_regex


def problems(rules: str) -> list[tuple[str | None, str, str]]:
    _, found = check_ruleset("version: 1\nrules:\n" + rules)
    return [(p.rule_id, p.path, p.code) for p in found]


def rule(when: str, then: str = "{route_to: x}", extra: str = "") -> str:
    return f"  - id: r1\n    when: {when}\n    then: {then}\n    confidence: 0.9\n{extra}"


@pytest.mark.parametrize(
    ("when", "path", "code"),
    [
        ("{term: Rechnung, in: subjekt}", "when.in", "unknown_zone"),
        ("{term: Rechnung, in: {page: 1, x_mm: [50, 20], y_mm: [0, 10]}}", "when.in", "bad_region"),
        ("{farbe: rot}", "when", "unknown_condition"),
        ("{term: a, phrase: b c}", "when", "ambiguous_condition"),
        ("{all: [{term: a}, {regex: '(a+)+b'}]}", "when.all[1].regex", "unsafe_regex"),
        ("{regex: '(unclosed'}", "when.regex", "bad_regex"),
        ("{regex: '" + "a" * 201 + "'}", "when.regex", "regex_too_long"),
        ("{term: zwei Worte}", "when.term", "term_not_one_word"),
        ("{phrase: eins}", "when.phrase", "phrase_too_short"),
        ("{term: a, fuzzy: 1.5}", "when.fuzzy", "bad_value"),
        ("{term: a, colour: red}", "when.colour", "unknown_field"),
        ("{near: [a, b]}", "when.within_mm", "missing_field"),
        ("{invoice: totl, gt: 5}", "when.invoice", "unknown_invoice_field"),
        ("{invoice: total_gross, gt: 5, lt: 9}", "when", "bad_operator"),
        ("{intake: scanner, equals: a}", "when.intake", "unknown_intake_fact"),
        ("{not: {any: [{term: a}, {termm: b}]}}", "when.not.any[1]", "unknown_condition"),
    ],
)
def test_condition_problems(when: str, path: str, code: str) -> None:
    assert problems(rule(when)) == [("r1", path, code)]


def test_action_problems() -> None:
    assert problems(rule("{term: a}", "{route_to: x, forward: y}")) == [
        ("r1", "then.forward", "unknown_action")
    ]
    assert problems(rule("{term: a}", "{}")) == [("r1", "then", "no_action")]
    assert problems(rule("{term: a}", "{priority: sofort}")) == [("r1", "then.priority", "bad_value")]


def test_rule_level_problems() -> None:
    assert problems("  - id: Groß\n    then: {route_to: x}\n    confidence: 0.5\n") == [
        ("Groß", "id", "bad_id")
    ]
    assert problems("  - id: r1\n    then: {route_to: x}\n") == [("r1", "confidence", "missing_field")]
    two = rule("{term: a}") + rule("{term: b}")
    assert problems(two) == [("r1", "id", "duplicate_id")]


def test_unreachable_after_a_catch_all_stop_rule() -> None:
    rules = (
        "  - id: alles\n    priority: 100\n    stop: true\n    then: {route_to: poststelle}\n"
        "    confidence: 0.5\n" + rule("{term: a}")
    )
    assert problems(rules) == [("r1", "priority", "unreachable")]


def test_yaml_and_shape_problems() -> None:
    assert [p.code for p in check_ruleset("rules: [")[1]] == ["yaml_syntax"]
    assert [p.code for p in check_ruleset("- a")[1]] == ["not_a_mapping"]
    assert [p.code for p in check_ruleset("rules: []")[1]] == ["missing_field"]


def test_load_raises_one_error_with_every_problem() -> None:
    with pytest.raises(InvalidRuleSet) as caught:
        load_ruleset("version: 1\nrules:\n" + rule("{term: a, in: nirgends}", "{route: x}"))
    error = caught.value
    assert error.code == "invalid_rules" and error.http_status == 422
    assert [p["code"] for p in error.details["problems"]] == ["unknown_zone", "unknown_action"]
    assert "rule 'r1', when.in: unknown zone 'nirgends'" in str(error)


@pytest.mark.parametrize(
    "pattern",
    [r"(a+)+b", r"(a|ab)*c", r"(\w)\1", r"\w*\w*\w*x", r"a{1,1000}", r"(?:\w{1,10}\s?){1,10}x", r"(x*)*y"],
)
def test_regex_guard_refuses_catastrophic_patterns(pattern: str) -> None:
    problem = check_regex(pattern)
    assert problem is not None and problem.code == "unsafe_regex"


@pytest.mark.parametrize(
    "pattern",
    [
        r"RE-\d{4}-\d+",
        r"DE\d{2}(?: ?\d{4}){4} ?\d{2}",
        r"Aktenzeichen:?\s*\S+",
        r"\b\d{12}-[A-Z0-9]{0,30}-\d{2}\b",
        r"(?:\d{4})+",
    ],
)
def test_regex_guard_accepts_useful_patterns(pattern: str) -> None:
    assert check_regex(pattern) is None


@pytest.mark.parametrize("pattern", [r"\w*\w*x", r".*.*x", r"\d{1,5}\w{0,100}x", r"(?: ?\d{4}){8}x"])
def test_worst_accepted_pattern_on_a_worst_line_is_bounded(pattern: str) -> None:
    assert check_regex(pattern) is None
    compiled = re.compile(pattern, re.IGNORECASE)
    start = time.thread_time()  # CPU, not wall time: a busy machine must not fail it, a runaway pattern would
    compiled.search("1" * MAX_LINE_CHARS)
    assert time.thread_time() - start < 0.25


def test_every_example_in_the_docs_is_valid() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    examples = [b for b in blocks if b.startswith("  - id:")]
    assert len(examples) >= 7
    load_ruleset("version: 1\nrules:\n" + "".join(examples))
    assert load_ruleset(next(b for b in blocks if b.startswith("version:"))).version == 3
