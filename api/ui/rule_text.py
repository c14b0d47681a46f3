"""The rules editor's text: a stored rule set cut into its header and one piece of YAML per rule *as the admin
wrote it* (comments, blank lines, quoting and flow style kept), and the pieces put back together into one file.

An admin's comments are their documentation (the shipped pack explains every group of rules in comments), so the
editor never re-dumps what it shows or saves: :func:`split_rules_text` cuts the stored text at the items of the
top-level ``rules:`` list, :func:`join_rules_text` indents each piece back under ``rules:``. Both check
themselves by parsing: a text that does not cut cleanly (a flow-style ``rules: [...]``, anchors shared between
rules, odd indentation) gives ``None`` and the caller falls back to dumping the parsed data (comments lost, content
right), and a join that would not read back as the parsed pieces gives ``None`` too.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_RULES_KEY = re.compile(r"^rules:[ \t]*(#.*)?$")
_ITEM = re.compile(r"^([ \t]*)-([ \t]+|$)")
#: Indentation of the list items and of their content when pieces are joined (as in the shipped pack).
_ITEM_INDENT, _CONTENT_INDENT = "  - ", "    "


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _dedent(line: str, column: int) -> str:
    """A comment or blank line inside a rule: moved left with the rule, never past its own start."""
    return line[column:] if line[:column].strip() == "" else line.strip()


def _trim(lines: list[str]) -> str:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(line.rstrip() for line in lines)


def _safe_load(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return _UNREADABLE


_UNREADABLE = object()


def split_rules_text(text: str) -> tuple[str, list[str]] | None:
    """The header (everything but the rules, comments included) and each rule's text, dedented, with the comments
    written above it; ``None`` if the text does not cut cleanly into pieces that read back as its data."""
    data = _safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return None
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _RULES_KEY.match(line)]
    if len(starts) != 1:
        return None
    start = starts[0]
    end = start + 1  # the rules section ends at the next top-level key
    while end < len(lines) and (_is_blank_or_comment(lines[end]) or lines[end][:1] in (" ", "\t", "-")):
        end += 1
    section = lines[start + 1:end]
    first = next((line for line in section if not _is_blank_or_comment(line)), None)
    item = _ITEM.match(first) if first is not None else None
    if item is None:
        return None
    indent = item.group(1)
    pieces: list[list[str]] = []
    pending: list[str] = []  # comments and blank lines: the next rule's, unless more of this rule follows
    column = 0
    for line in section:
        found = _ITEM.match(line)
        if found is not None and found.group(1) == indent:
            if pieces:  # comments indented as this rule's content close it; the others open the next rule
                own = max((n + 1 for n, p in enumerate(pending) if p.strip() and _indent(p) >= column), default=0)
                pieces[-1] += [_dedent(p, column) for p in pending[:own]]
                pending = pending[own:]
            column = found.end() if found.group(2) else len(indent) + 2
            pieces.append([*(p.strip() for p in pending), line[column:]])
            pending = []
        elif _is_blank_or_comment(line):
            pending.append(line)
        elif not pieces or _indent(line) < column:
            return None  # content outside an item, or less indented than its item
        else:
            pieces[-1] += [_dedent(p, column) for p in pending] + [line[column:]]
            pending = []
    if pieces:
        pieces[-1] += [_dedent(p, column) for p in pending]  # comments after the last rule stay with it
    header = _trim(lines[:start] + lines[end:])
    rules = [_trim(piece) for piece in pieces]
    expected_header = {k: v for k, v in data.items() if k != "rules"}
    if (_safe_load(header) or {}) != expected_header or len(rules) != len(data["rules"]):
        return None
    if any(_safe_load(piece) != rule for piece, rule in zip(rules, data["rules"], strict=True)):
        return None
    return header, rules


def _indented(piece: str) -> list[str]:
    out: list[str] = []
    started = False
    for line in piece.splitlines():
        if not started and _is_blank_or_comment(line):
            out.append(f"  {line}" if line.strip() else "")
        elif not started:
            out.append(_ITEM_INDENT + line)
            started = True
        else:
            out.append(_CONTENT_INDENT + line if line.strip() else "")
    return out


def join_rules_text(header: str, pieces: list[str], header_data: dict[str, Any], rules: list[Any]) -> str | None:
    """One rule set file from the editor's header and rule texts, each as written; ``None`` when the joined text
    would not read back as ``header_data`` with ``rules`` (the caller then dumps the data)."""
    lines = header.rstrip().splitlines() if header.strip() else []
    lines.append("rules:")
    for n, piece in enumerate(pieces):
        if n:
            lines.append("")
        lines += _indented(piece.strip("\n"))
    text = "\n".join(line.rstrip() for line in lines) + "\n"
    return text if _safe_load(text) == {**header_data, "rules": rules} else None
