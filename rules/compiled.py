"""Rules compiled once for fast evaluation: folded tokens, compiled regexes, closures per condition.

A compiled condition is a function ``(index, facts) -> (matched, because, evidence)``: ``because`` is a
list of short human sentences for the trace, ``evidence`` a list of dicts (page, words, box in mm, or the
fact value).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Any

from rules import geometry
from rules.facts import Facts
from rules.language import (
    All,
    AnyOf,
    Condition,
    Department,
    DocumentTypeIs,
    IntakeFact,
    InvoiceFact,
    InvoiceValidation,
    KnownSender,
    LeitwegId,
    Not,
    Pattern,
    Person,
    Phrase,
    Regex,
    Region,
    Rule,
    RuleSet,
    Scope,
    Sender,
    Term,
    _Comparison,
    _Relation,
)
from rules.text import DocumentIndex, Hit, fold, tokenize

Evidence = list[dict[str, Any]]
Outcome = tuple[bool, list[str], Evidence]
Check = Callable[[DocumentIndex, Facts], Outcome]


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    order: int
    check: Check | None  # None: no `when`, matches every document


@dataclass(frozen=True)
class CompiledRuleSet:
    version: int
    rules: tuple[CompiledRule, ...]  # evaluation order: priority descending, then file order


def compile_ruleset(ruleset: RuleSet) -> CompiledRuleSet:
    compiled = [
        CompiledRule(rule, i, None if rule.when is None else compile_condition(rule.when))
        for i, rule in enumerate(ruleset.rules)
    ]
    compiled.sort(key=lambda c: (-c.rule.priority, c.order))
    return CompiledRuleSet(ruleset.version, tuple(compiled))


# --- scopes ----------------------------------------------------------------------------------------


def scope_label(scope: Scope) -> str:
    if isinstance(scope, Region):
        (x0, x1), (y0, y1) = scope.x_mm, scope.y_mm
        return f"region p{scope.page} x {x0:g}–{x1:g} y {y0:g}–{y1:g} mm"
    return scope.replace("_", " ")


def scope_filter(scope: Scope) -> Callable[[Hit, DocumentIndex], bool]:
    if scope == "any_page":
        return lambda hit, index: True
    if scope == "first_page":
        return lambda hit, index: hit.page.number == index.first_page
    if isinstance(scope, Region):
        rect = geometry.RectMm(scope.x_mm[0], scope.y_mm[0], scope.x_mm[1], scope.y_mm[1])
        page = scope.page
        return lambda hit, index: (
            hit.page.number == page and all(rect.contains(w.rect.cx, w.rect.cy) for w in hit.words)
        )
    zone: str = scope
    return lambda hit, index: all(hit.page.zones.contains(zone, w.rect.cx, w.rect.cy) for w in hit.words)


# --- conditions ------------------------------------------------------------------------------------


def compile_condition(cond: Condition) -> Check:
    if isinstance(cond, All):
        return _all([compile_condition(c) for c in cond.all])
    if isinstance(cond, AnyOf):
        return _any([compile_condition(c) for c in cond.any])
    if isinstance(cond, Not):
        return _not(compile_condition(cond.not_))
    if isinstance(cond, Term | Phrase):
        value = cond.term if isinstance(cond, Term) else cond.phrase
        return _words(tokenize(value), cond.fuzzy, cond.in_, f"'{value}'")
    if isinstance(cond, Regex):
        return _regex(re.compile(cond.regex, re.IGNORECASE), cond.in_, cond.regex)
    if isinstance(cond, _Relation):
        return _relation(cond)
    if isinstance(cond, Pattern):
        return _pattern(cond)
    return _fact(cond)


def _all(checks: list[Check]) -> Check:
    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        because: list[str] = []
        evidence: Evidence = []
        for child in checks:
            ok, why, ev = child(index, facts)
            if not ok:
                return False, why, []
            because += why
            evidence += ev
        return True, because, evidence

    return check


def _any(checks: list[Check]) -> Check:
    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        because: list[str] = []
        for child in checks:
            ok, why, ev = child(index, facts)
            if ok:
                return True, why, ev
            because += why
        return False, because, []

    return check


def _not(inner: Check) -> Check:
    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        ok, why, _ = inner(index, facts)
        return (not ok), [f"not ({'; '.join(why)})"], []

    return check


def _fuzzy_label(fuzzy: float | None) -> str:
    return "" if fuzzy is None else f" ~{fuzzy:g}"


def _words(tokens: tuple[str, ...], fuzzy: float | None, scope: Scope, shown: str) -> Check:
    accepts = scope_filter(scope)
    where = scope_label(scope)
    label = f"{shown}{_fuzzy_label(fuzzy)} in {where}"

    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        for hit in index.find(tokens, fuzzy):
            if accepts(hit, index):
                seen = " ".join(w.text for w in hit.words)
                return True, [f"{label}: '{seen}' on page {hit.page.number}"], [hit.evidence()]
        return False, [f"no {label}"], []

    return check


def _regex(pattern: re.Pattern[str], scope: Scope, shown: str) -> Check:
    accepts = scope_filter(scope)
    label = f"/{shown}/ in {scope_label(scope)}"

    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        for hit in index.search(pattern):
            if accepts(hit, index):
                seen = " ".join(w.text for w in hit.words)
                return True, [f"{label}: '{seen}' on page {hit.page.number}"], [hit.evidence()]
        return False, [f"no {label}"], []

    return check


def _relation(cond: _Relation) -> Check:
    a_tokens, b_tokens = (tokenize(o) for o in cond.operands)
    accepts = scope_filter(cond.in_)
    test = geometry.RELATION_TESTS[cond.relation]
    limit = cond.within_mm
    a_text, b_text = cond.operands
    within = "" if limit is None else f" within {limit:g} mm"
    label = f"'{a_text}' {cond.relation.replace('_', ' ')} '{b_text}'{within}{_fuzzy_label(cond.fuzzy)}"

    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        best: tuple[float, Hit, Hit] | None = None
        b_hits = [h for h in index.find(b_tokens, cond.fuzzy) if accepts(h, index)]
        for a in index.find(a_tokens, cond.fuzzy):
            if not accepts(a, index):
                continue
            for b in b_hits:
                if b.page is not a.page or (
                    b.words[0].pos <= a.words[-1].pos and a.words[0].pos <= b.words[-1].pos
                ):
                    continue
                gap = a.rect.gap(b.rect)
                if (
                    (limit is None or gap <= limit)
                    and test(a.rect, b.rect)
                    and (best is None or gap < best[0])
                ):
                    best = (gap, a, b)
        if best is None:
            return False, [f"no {label}"], []
        gap, a, b = best
        return True, [f"{label}: {gap:.1f} mm apart on page {a.page.number}"], [a.evidence(), b.evidence()]

    return check


def _pattern(cond: Pattern) -> Check:
    items = [tokenize(p) for p in cond.pattern]
    accepts = scope_filter(cond.in_)
    limit = cond.max_gap_mm
    label = "pattern " + " … ".join(f"'{p}'" for p in cond.pattern) + f" in {scope_label(cond.in_)}"

    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        hits = [[h for h in index.find(t, cond.fuzzy) if accepts(h, index)] for t in items]
        for page in index.pages:
            chain = _chain([[h for h in item if h.page is page] for item in hits], limit)
            if chain is not None:
                return True, [f"{label} on page {page.number}"], [h.evidence() for h in chain]
        return False, [f"no {label}"], []

    return check


def _chain(candidates: list[list[Hit]], limit: float | None) -> list[Hit] | None:
    """One hit per item, each after the previous in reading order (and within ``limit`` mm of it)."""
    reachable: list[tuple[Hit, list[Hit]]] = [(h, [h]) for h in candidates[0]]
    for item in candidates[1:]:
        following: list[tuple[Hit, list[Hit]]] = []
        for hit in item:
            for prev, path in reachable:
                if geometry.reads_before(prev.rect, hit.rect) and (
                    limit is None or prev.rect.gap(hit.rect) <= limit
                ):
                    following.append((hit, [*path, hit]))
                    break
        if not following:
            return None
        reachable = following
    return reachable[0][1] if reachable else None


# --- facts -----------------------------------------------------------------------------------------


def _fact(cond: Condition) -> Check:
    if isinstance(cond, DocumentTypeIs):
        return _scored(
            "document type",
            cond.document_type,
            cond.min_confidence,
            lambda f: (
                None if f.document_type is None else (f.document_type.label, f.document_type.confidence)
            ),
        )
    if isinstance(cond, Department):
        return _scored(
            "department",
            cond.department,
            cond.min_confidence,
            lambda f: (
                None
                if f.recipient is None or f.recipient.department is None
                else (f.recipient.department, f.recipient.confidence)
            ),
        )
    if isinstance(cond, Person):
        return _scored(
            "person",
            cond.person,
            cond.min_confidence,
            lambda f: (
                None
                if f.recipient is None or f.recipient.person is None
                else (f.recipient.person, f.recipient.confidence)
            ),
        )
    if isinstance(cond, KnownSender):
        return _simple(
            "known sender",
            lambda f: f.supplier.supplier_id if f.supplier else None,
            lambda v: (v is not None) == cond.known_sender,
        )
    if isinstance(cond, Sender):
        return _simple(
            "sender",
            lambda f: f.supplier.supplier_id if f.supplier else None,
            lambda v: v is not None and fold(v) == fold(cond.sender),
        )
    if isinstance(cond, LeitwegId):
        return _simple(
            "Leitweg-ID",
            lambda f: f.leitweg_id,
            lambda v: v is not None and fnmatchcase(v.upper(), cond.leitweg_id.upper()),
        )
    if isinstance(cond, InvoiceValidation):
        return _simple(
            "invoice validation",
            lambda f: f.invoice.validation if f.invoice else None,
            lambda v: v is not None and fold(v) == fold(cond.invoice_validation),
        )
    if isinstance(cond, InvoiceFact):
        name = cond.invoice
        return _compare(f"invoice.{name}", lambda f: f.invoice.fields.get(name) if f.invoice else None, cond)
    if isinstance(cond, IntakeFact):
        field = cond.intake
        return _compare(f"intake.{field}", lambda f: getattr(f.intake, field), cond)
    raise TypeError(f"unknown condition {type(cond).__name__}")


def _scored(
    what: str, expected: str, minimum: float, get: Callable[[Facts], tuple[str, float] | None]
) -> Check:
    want = fold(expected)

    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        got = get(facts)
        if got is None:
            return False, [f"no {what} recognised"], []
        label, confidence = got
        ok = fold(label) == want and confidence >= minimum
        because = f"{what}={label} ({confidence:.2f})" + ("" if ok else f", wanted {expected} ≥ {minimum:g}")
        return ok, [because], [{"fact": what, "value": label, "confidence": confidence}] if ok else []

    return check


def _simple(what: str, get: Callable[[Facts], str | None], test: Callable[[str | None], bool]) -> Check:
    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        value = get(facts)
        ok = test(value)
        return (
            ok,
            [f"{what}={value if value is not None else 'none'}"],
            [{"fact": what, "value": value}] if ok else [],
        )

    return check


def _compare(what: str, get: Callable[[Facts], Any], cond: _Comparison) -> Check:
    op, arg = cond.operator
    shown = ", ".join(map(str, arg)) if isinstance(arg, list) else str(arg)

    def check(index: DocumentIndex, facts: Facts) -> Outcome:
        value = get(facts)
        ok = compare(value, op, arg)
        because = f"{what}={value if value is not None else 'none'} ({op} {shown})"
        return ok, [because if ok else f"not {because}"], [{"fact": what, "value": value}] if ok else []

    return check


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).replace(",", ".")) if value is not None else None
    except InvalidOperation:
        return None


def _equal(value: Any, arg: Any) -> bool:
    if isinstance(arg, Decimal):
        number = _decimal(value)
        return number is not None and number == arg
    return fold(str(value)) == fold(str(arg))


def compare(value: Any, op: str, arg: Any) -> bool:
    """``value`` (a fact, possibly ``None``) against one operator of the language."""
    if op == "exists":
        return (value is not None and value != "") == arg
    if value is None:
        return False
    if op == "equals":
        return _equal(value, arg)
    if op == "one_of":
        return any(_equal(value, a) for a in arg)
    number = _decimal(value)
    if number is None:
        return False
    return {"gt": number > arg, "gte": number >= arg, "lt": number < arg, "lte": number <= arg}[op]
