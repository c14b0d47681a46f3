"""Reading and checking rule sets: YAML in, a :class:`RuleSet` out, or every problem with a stable code.

Each :class:`RuleProblem` names the rule (``rule_id``), the field (``path``, e.g. ``when.all[1].in``) and why.
Codes are stable (documented in ``docs/rules.md``): ``yaml_syntax``, ``not_a_mapping``, ``missing_field``,
``unknown_field``, ``unknown_action``, ``unknown_condition``, ``ambiguous_condition``, ``unknown_zone``,
``unknown_invoice_field``, ``unknown_intake_fact``, ``bad_value``, ``bad_id``, ``bad_region``,
``bad_operator``, ``no_action``, ``term_not_one_word``, ``phrase_too_short``, ``empty_operand``,
``bad_regex``, ``regex_too_long``, ``unsafe_regex``, ``duplicate_id``, ``unreachable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from mailroom.errors import InvalidRuleSet
from rules.language import CONDITION_KINDS, Rule, RuleSet

_CUSTOM = {
    "bad_region",
    "bad_operator",
    "no_action",
    "term_not_one_word",
    "phrase_too_short",
    "empty_operand",
    "bad_regex",
    "regex_too_long",
    "unsafe_regex",
}


@dataclass(frozen=True)
class RuleProblem:
    code: str
    rule_id: str | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"rule {self.rule_id!r}" if self.rule_id else "rule set"
        return f"{where}, {self.path or '(top)'}: {self.message} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule_id, "field": self.path, "message": self.message}


def load_ruleset(text: str) -> RuleSet:
    """Parse and check a YAML rule set; raises :class:`InvalidRuleSet` with every problem."""
    ruleset, problems = check_ruleset(text)
    if ruleset is None or problems:
        raise InvalidRuleSet(problems)
    return ruleset


def check_ruleset(text: str) -> tuple[RuleSet | None, list[RuleProblem]]:
    """The rule set (when it parses) and all problems found in it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [RuleProblem("yaml_syntax", None, "", f"not valid YAML: {exc}")]
    if not isinstance(data, dict):
        return None, [
            RuleProblem("not_a_mapping", None, "", "a rule set is a mapping with `version` and `rules`")
        ]
    try:
        ruleset = RuleSet.model_validate(data)
    except ValidationError as exc:
        found = [_translate(err, data) for err in exc.errors()]
        return None, _dedupe([p for p in found if p is not None]) + _duplicates(data)
    return ruleset, _duplicates(data) + _unreachable(ruleset)


def _dedupe(problems: list[RuleProblem]) -> list[RuleProblem]:
    """One problem per field: the first, which pydantic reports for the most specific branch."""
    seen: dict[tuple[str | None, str], RuleProblem] = {}
    for p in problems:
        seen.setdefault((p.rule_id, p.path), p)
    return list(seen.values())


def _translate(err: Any, data: dict[str, Any]) -> RuleProblem | None:
    loc = _location(err["loc"])
    if (
        loc
        and loc[-1] == "in"
        and err["type"] != "extra_forbidden"
        and (err["type"] == "literal_error") != isinstance(err.get("input"), str)
    ):
        return None  # `in` is a zone name or a region: report only the branch the admin meant
    rule_id = None
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules")
        raw = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
        rule_id = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else f"#{loc[1] + 1}"
        loc = loc[2:]
    path = _path(loc)
    code, message = _classify(err, loc)
    return RuleProblem(code, rule_id, path, message)


def _location(raw: tuple[Any, ...]) -> list[Any]:
    """The error location without pydantic's union labels: the condition kind tag that follows ``when``, a
    list index or ``not``, and smart-union branch names such as ``literal[...]``."""
    loc: list[Any] = []
    expect_tag = False
    for part in raw:
        if isinstance(part, str) and ("[" in part or part == "Region"):
            continue
        if expect_tag and part in CONDITION_KINDS:
            expect_tag = False
            continue
        loc.append(part)
        expect_tag = part in ("when", "not") or (isinstance(part, int) and "when" in loc)
    return loc


def _path(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _classify(err: Any, loc: list[Any]) -> tuple[str, str]:
    kind, last = err["type"], (loc[-1] if loc else "")
    if kind in _CUSTOM:
        return kind, err["msg"]
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        raw = err.get("input")
        keys = [k for k in raw if k in CONDITION_KINDS] if isinstance(raw, dict) else []
        if len(keys) > 1:
            return (
                "ambiguous_condition",
                f"one condition per mapping; found {', '.join(keys)}: wrap them in `all`",
            )
        shown = ", ".join(map(str, raw)) if isinstance(raw, dict) else repr(raw)
        return "unknown_condition", f"unknown condition {shown}; known: {', '.join(CONDITION_KINDS)}"
    if kind == "extra_forbidden":
        if "then" in loc:
            return "unknown_action", f"unknown action {last!r}; known: {', '.join(_ACTIONS)}"
        return "unknown_field", f"unknown field {last!r}"
    if kind == "missing":
        return "missing_field", f"{last!r} is required"
    if kind == "literal_error" and last == "in":
        return (
            "unknown_zone",
            f"unknown zone {err.get('input')!r}; {err['msg'].replace('Input should be', 'use')}",
        )
    if kind == "literal_error" and last == "invoice":
        return "unknown_invoice_field", f"unknown invoice field {err.get('input')!r}"
    if kind == "literal_error" and last == "intake":
        return (
            "unknown_intake_fact",
            f"unknown intake fact {err.get('input')!r}; use station, channel, page_count, sender, sender_domain",
        )
    if kind == "string_pattern_mismatch" and last == "id":
        return "bad_id", "an id uses lowercase letters, digits, '-', '_' and '.' (at most 80)"
    return "bad_value", err["msg"]


_ACTIONS = ("route_to", "copy_to", "set_type", "tags", "priority", "deadline_days", "confidential", "review")


def _duplicates(data: dict[str, Any]) -> list[RuleProblem]:
    rules = data.get("rules")
    seen: set[str] = set()
    problems = []
    for raw in rules if isinstance(rules, list) else []:
        rule_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(rule_id, str):
            if rule_id in seen:
                problems.append(
                    RuleProblem("duplicate_id", rule_id, "id", f"the id {rule_id!r} is used twice")
                )
            seen.add(rule_id)
    return problems


def _unreachable(ruleset: RuleSet) -> list[RuleProblem]:
    """Rules below a catch-all stop rule (no `when`) of higher priority can never be evaluated."""
    blockers = [r for r in ruleset.rules if r.stop and r.when is None]
    problems = []
    for rule in ruleset.rules:
        blocker = next((b for b in blockers if b.priority > rule.priority), None)
        if blocker is not None:
            problems.append(
                RuleProblem(
                    "unreachable",
                    rule.id,
                    "priority",
                    f"never evaluated: rule {blocker.id!r} (priority {blocker.priority}) matches every "
                    "document "
                    "and has stop: true",
                )
            )
    return problems


__all__ = ["InvalidRuleSet", "Rule", "RuleProblem", "RuleSet", "check_ruleset", "load_ruleset"]
