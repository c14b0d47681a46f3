"""Reading and checking rule sets: YAML in, a :class:`RuleSet` out, or every problem with a stable code.

Each :class:`RuleProblem` names the rule (``rule_id``), the field (``path``, e.g. ``when.all[1].in``) and why.
Codes are stable (documented in ``docs/rules.md``): ``yaml_syntax``, ``not_a_mapping``, ``missing_field``,
``unknown_field``, ``unknown_action``, ``unknown_condition``, ``ambiguous_condition``, ``unknown_zone``,
``unknown_invoice_field``, ``unknown_intake_fact``, ``bad_value``, ``bad_id``, ``bad_region``,
``bad_operator``, ``no_action``, ``term_not_one_word``, ``phrase_too_short``, ``empty_operand``,
``bad_regex``, ``regex_too_long``, ``unsafe_regex``, ``duplicate_id``, ``unreachable``.

Against the organisation directory (when one is given: at validate, import, activation and roll back): every
postbox named in ``route_to``/``copy_to`` and every person and department named in a condition must exist in it
(``unknown_postbox``, ``unknown_person``, ``unknown_department``); a rule set that passes the language but names
what the directory does not have is refused with :class:`RulesNotInDirectory` (``rules_not_in_directory``).
Against the document types the type model knows (when they are given: the same places): a ``set_type`` naming
another is ``unknown_document_type`` (an :class:`InvalidRuleSet`: a typo would make a type that nobody handles).
:func:`directory_change_warnings` lists the rules a new directory affects (names gone, persons moved).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, get_args

import yaml
from pydantic import ValidationError

from mailroom import yamlio
from mailroom.errors import InvalidRuleSet, RulesNotInDirectory
from rules.language import CONDITION_KINDS, All, AnyOf, Department, Not, Person, Rule, RuleSet, ZoneName
from rules.regex_guard import MAX_PATTERN_CHARS

if TYPE_CHECKING:
    from mailroom.directory import Directory

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
    """One problem: stable ``code``, the rule, the field, an English ``message`` (CLI, REST API) and the ``values``
    the message names (the web UI writes its German text from the code and these)."""

    code: str
    rule_id: str | None
    path: str
    message: str
    values: Mapping[str, object] = field(default_factory=dict, hash=False, compare=False)

    def __str__(self) -> str:
        where = f"rule {self.rule_id!r}" if self.rule_id else "rule set"
        return f"{where}, {self.path or '(top)'}: {self.message} [{self.code}]"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule_id, "field": self.path, "message": self.message}


def load_ruleset(
    text: str, directory: Directory | None = None, *, document_types: Collection[str] | None = None,
) -> RuleSet:
    """Parse and check a YAML rule set (against ``directory`` and ``document_types`` when given); raises
    :class:`InvalidRuleSet` with every problem, or :class:`RulesNotInDirectory` when the only problems are names
    the directory lacks."""
    ruleset, problems = check_ruleset(text, directory, document_types=document_types)
    if ruleset is None or problems:
        if ruleset is not None and all(p.code in NAME_CODES for p in problems):
            raise RulesNotInDirectory(problems, directory=directory.name if directory else "")
        raise InvalidRuleSet(problems)
    return ruleset


def check_ruleset(
    text: str, directory: Directory | None = None, *, document_types: Collection[str] | None = None,
) -> tuple[RuleSet | None, list[RuleProblem]]:
    """The rule set (when it parses) and all problems found in it; with ``directory``, also every postbox,
    person and department it names that the directory does not have; with ``document_types`` (the type model's
    labels), every ``set_type`` that is none of them."""
    ruleset, problems = _checked(text)
    names = unknown_names(ruleset, directory) if ruleset is not None and directory is not None else []
    types = unknown_types(ruleset, document_types) if ruleset is not None and document_types is not None else []
    return ruleset, [*problems, *names, *types]


@lru_cache(maxsize=16)
def _checked(text: str) -> tuple[RuleSet | None, tuple[RuleProblem, ...]]:
    """Parse and check the language once per text: a process reads the same rule set at start, at activation and
    for every document's rules cache (rule sets and problems are frozen, so sharing them is safe)."""
    try:
        data = yamlio.safe_load(text)
    except yaml.YAMLError as exc:
        return None, (RuleProblem("yaml_syntax", None, "", f"not valid YAML: {exc}", yamlio.place(exc)),)
    if not isinstance(data, dict):
        return None, (RuleProblem("not_a_mapping", None, "", "a rule set is a mapping with `version` and `rules`"),)
    try:
        ruleset = RuleSet.model_validate(data)
    except ValidationError as exc:
        found = [_translate(err, data) for err in exc.errors()]
        return None, (*_dedupe([p for p in found if p is not None]), *_duplicates(data))
    return ruleset, (*_duplicates(data), *_unreachable(ruleset))


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
    code, message, values = _classify(err, loc)
    return RuleProblem(code, rule_id, path, message, values)


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


def _shown(value: Any) -> str:
    """A value as a problem names it (short)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _classify(err: Any, loc: list[Any]) -> tuple[str, str, dict[str, object]]:
    kind, last = err["type"], (loc[-1] if loc else "")
    if kind in _CUSTOM:
        values: dict[str, object] = dict(err.get("ctx") or {})
        if kind == "regex_too_long":
            values["max"] = MAX_PATTERN_CHARS
        elif kind == "bad_regex":
            values["error"] = err["msg"].removeprefix("not a valid regular expression: ")
        return kind, err["msg"], values
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        raw = err.get("input")
        keys = [k for k in raw if k in CONDITION_KINDS] if isinstance(raw, dict) else []
        if len(keys) > 1:
            return (
                "ambiguous_condition",
                f"one condition per mapping; found {', '.join(keys)}: wrap them in `all`",
                {"found": ", ".join(keys)},
            )
        shown = ", ".join(map(str, raw)) if isinstance(raw, dict) else repr(raw)
        known = ", ".join(CONDITION_KINDS)
        return "unknown_condition", f"unknown condition {shown}; known: {known}", {"name": shown, "known": known}
    if kind == "extra_forbidden":
        if "then" in loc:
            known = ", ".join(_ACTIONS)
            return "unknown_action", f"unknown action {last!r}; known: {known}", {"name": last, "known": known}
        return "unknown_field", f"unknown field {last!r}", {"name": last}
    if kind == "missing":
        return "missing_field", f"{last!r} is required", {"name": last}
    if kind == "literal_error" and last == "in":
        return (
            "unknown_zone",
            f"unknown zone {err.get('input')!r}; {err['msg'].replace('Input should be', 'use')}",
            {"name": _shown(err.get("input")), "known": ", ".join(get_args(ZoneName))},
        )
    if kind == "literal_error" and last == "invoice":
        name = _shown(err.get("input"))
        return "unknown_invoice_field", f"unknown invoice field {err.get('input')!r}", {"name": name}
    if kind == "literal_error" and last == "intake":
        return (
            "unknown_intake_fact",
            f"unknown intake fact {err.get('input')!r}; use station, channel, page_count, sender, sender_domain",
            {"name": _shown(err.get("input"))},
        )
    if kind == "string_pattern_mismatch" and last == "id":
        return "bad_id", "an id uses lowercase letters, digits, '-', '_' and '.' (at most 80)", {}
    return "bad_value", err["msg"], {"value": _shown(err.get("input"))}


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
                    RuleProblem("duplicate_id", rule_id, "id", f"the id {rule_id!r} is used twice", {"name": rule_id})
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
                    {"blocker": blocker.id, "priority": blocker.priority},
                )
            )
    return problems


# --- names against the organisation directory -------------------------------------------------------------

#: Problem codes of names a directory lacks (the rule itself is well-formed).
NAME_CODES = frozenset({"unknown_postbox", "unknown_person", "unknown_department"})


def _conditions(condition: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every condition of a tree with its path (``when.all[1].any[0]``)."""
    yield path, condition
    if isinstance(condition, All | AnyOf):
        kind = "all" if isinstance(condition, All) else "any"
        items = condition.all if isinstance(condition, All) else condition.any
        for i, item in enumerate(items):
            yield from _conditions(item, f"{path}.{kind}[{i}]")
    elif isinstance(condition, Not):
        yield from _conditions(condition.not_, f"{path}.not")


def named_in(rule: Rule) -> Iterator[tuple[str, str, str]]:
    """What a rule names from the directory: ``(kind, id, path)`` with kind postbox, person or department."""
    if rule.then.route_to:
        yield "postbox", rule.then.route_to, "then.route_to"
    for i, box in enumerate(rule.then.copy_to):
        yield "postbox", box, f"then.copy_to[{i}]"
    if rule.when is not None:
        for path, condition in _conditions(rule.when, "when"):
            if isinstance(condition, Person):
                yield "person", condition.person, f"{path}.person"
            elif isinstance(condition, Department):
                yield "department", condition.department, f"{path}.department"


def _known(directory: Directory, kind: str) -> Any:
    return {"postbox": directory.postboxes, "person": directory.persons, "department": directory.departments}[kind]


def unknown_names(ruleset: RuleSet, directory: Directory) -> list[RuleProblem]:
    """Every postbox, person and department a rule names that ``directory`` does not have."""
    problems = []
    for rule in ruleset.rules:
        for kind, name, path in named_in(rule):
            if name not in _known(directory, kind):
                problems.append(RuleProblem(
                    f"unknown_{kind}", rule.id, path,
                    f"no {kind} {name!r} in the organisation directory {directory.name!r}",
                    {"name": name, "directory": directory.name},
                ))
    return problems


def unknown_types(ruleset: RuleSet, document_types: Collection[str]) -> list[RuleProblem]:
    """Every ``set_type`` that names none of ``document_types`` (``unknown_document_type``)."""
    known = ", ".join(sorted(document_types))
    return [RuleProblem("unknown_document_type", rule.id, "then.set_type",
                        f"unknown document type {rule.then.set_type!r}; known: {known}",
                        {"name": rule.then.set_type, "known": known})
            for rule in ruleset.rules if rule.then.set_type is not None and rule.then.set_type not in document_types]


def directory_change_warnings(ruleset: RuleSet, old: Directory | None, new: Directory) -> list[RuleProblem]:
    """The rules a change of the directory from ``old`` to ``new`` affects: every name ``new`` lacks (a postbox,
    person or department gone: ``unknown_*``) and every rule naming a person who moved to another department or
    postbox (``person_moved``: her letters now go where the rule says, not where she works now)."""
    problems = unknown_names(ruleset, new)
    if old is None:
        return problems
    for rule in ruleset.rules:
        for kind, name, path in named_in(rule):
            before, after = old.persons.get(name), new.persons.get(name)
            if kind != "person" or before is None or after is None:
                continue
            where = f"; the rule routes to {rule.then.route_to!r}" if rule.then.route_to else ""
            if before.department != after.department:
                moved = f"from department {before.department!r} to {after.department!r}"
                values = {"name": name, "before": before.department, "after": after.department}
            elif before.postbox != after.postbox:
                moved = f"from postbox {before.postbox or '(main)'!r} to {after.postbox or '(main)'!r}"
                values = {"name": name, "before": before.postbox or "–", "after": after.postbox or "–"}
            else:
                continue
            problems.append(RuleProblem("person_moved", rule.id, path, f"person {name!r} moved {moved}{where}",
                                        {**values, "route_to": rule.then.route_to or "–"}))
    return problems


__all__ = [
    "InvalidRuleSet", "Rule", "RuleProblem", "RuleSet", "RulesNotInDirectory", "check_ruleset",
    "directory_change_warnings", "load_ruleset", "unknown_names", "unknown_types",
]
