"""The guard that keeps admin-written regular expressions from hanging a worker.

Python's ``re`` backtracks, so a pattern such as ``(a+)+b`` takes exponential time on a line of ``a``. We use
the standard ``re`` module (no extra dependency) and bound the cost in two ways instead of a timeout:

1. **At compile time** the parsed pattern is checked: length at most :data:`MAX_PATTERN_CHARS`; no nested
   quantifiers (``(a+)+``; only ``?`` inside a repeat of at most :data:`MAX_NESTED_COUNT`, as in
   ``(?: ?\\d{4}){4}``), no quantified alternation (``(a|ab)*``), no backreferences, no repeat counts above
   :data:`MAX_REPEAT_COUNT`, and at most :data:`MAX_WIDE` open-ended quantifiers (``* + {n,}`` or ``{n,m}``
   with m > n + 1), which limits polynomial backtracking (``\\w*\\w*\\w*x``). These are the constructions
   behind catastrophic backtracking.
2. **At run time** a pattern only ever sees one text line of at most :data:`MAX_LINE_CHARS` characters, so
   the worst accepted pattern has a small, fixed worst case (measured in ``tests/test_rules_validate.py``).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

MAX_PATTERN_CHARS = 200
MAX_LINE_CHARS = 200
MAX_REPEAT_COUNT = 100
MAX_WIDE = 2
MAX_NESTED_COUNT = 8

_sre: Any = importlib.import_module("re._parser")  # the parser behind re.compile (no public API for its tree)
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", _sre.MAX_REPEAT)}
_GROUPREFS = {_sre.GROUPREF, _sre.GROUPREF_EXISTS}


@dataclass(frozen=True)
class RegexProblem:
    """Why a pattern is refused: a stable code and a hint."""

    code: str
    message: str


def check_regex(pattern: str) -> RegexProblem | None:
    """``None`` when the pattern is safe to run on bounded lines, else the problem."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return RegexProblem("regex_too_long", f"a regex may have at most {MAX_PATTERN_CHARS} characters")
    try:
        re.compile(pattern)
        tree = _sre.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return RegexProblem("bad_regex", f"not a valid regular expression: {exc}")
    wide: list[int] = []
    problem = _walk(tree, outer=None, wide=wide)
    if problem is None and len(wide) > MAX_WIDE:
        problem = (
            f"more than {MAX_WIDE} open-ended quantifiers (* + {{n,}} {{n,m}} with m > n + 1); "
            "write exact counts such as \\d{5} where you can"
        )
    return None if problem is None else RegexProblem("unsafe_regex", problem)


def _walk(items: Any, *, outer: tuple[int, int] | None, wide: list[int]) -> str | None:
    """Check a parsed sequence; ``outer`` is the (low, high) of the nearest enclosing repeat."""
    for op, arg in items:
        problem = _check_item(op, arg, outer=outer, wide=wide)
        if problem is not None:
            return problem
    return None


def _check_item(op: Any, arg: Any, *, outer: tuple[int, int] | None, wide: list[int]) -> str | None:
    if op in _GROUPREFS:
        return "backreferences are not allowed"
    if op in _REPEATS:
        return _check_repeat(arg, outer=outer, wide=wide)
    if op is _sre.BRANCH:
        if outer is not None and outer[1] > 1:
            return "a quantified alternation such as (a|ab)* can backtrack catastrophically; use a class [ab]"
        return _first(_walk(branch, outer=outer, wide=wide) for branch in arg[1])
    if op is _sre.SUBPATTERN:
        return _walk(arg[-1], outer=outer, wide=wide)
    if op in (_sre.ASSERT, _sre.ASSERT_NOT):
        return _walk(arg[1], outer=outer, wide=wide)
    if op is getattr(_sre, "ATOMIC_GROUP", None):
        return _walk(arg, outer=outer, wide=wide)
    return None


def _check_repeat(arg: Any, *, outer: tuple[int, int] | None, wide: list[int]) -> str | None:
    low, high, body = arg
    unbounded = high is _sre.MAXREPEAT
    if not unbounded and high > MAX_REPEAT_COUNT:
        return f"repeat counts above {MAX_REPEAT_COUNT} are not allowed"
    if unbounded or high - low > 1:
        wide.append(low)
    variable = unbounded or high != low
    # only an optional item ({0,1}) inside a short repeat, as in (?: ?\d{4}){4}, stays cheap
    cheap = not unbounded and high - low <= 1 and outer is not None and outer[1] <= MAX_NESTED_COUNT
    if variable and outer is not None and outer[1] > 1 and not cheap:
        return "nested quantifiers such as (a+)+ can backtrack catastrophically"
    return _walk(body, outer=(low, MAX_REPEAT_COUNT + 1 if unbounded else high), wide=wide)


def _first(problems: Any) -> str | None:
    return next((p for p in problems if p is not None), None)
