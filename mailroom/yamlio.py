"""YAML read with libyaml's C parser (PyYAML's own parser is pure Python: the organisation directory, the label
tables and the rule pack cost a start seconds of CPU through it, issue 16).

:func:`safe_load` gives what ``yaml.safe_load`` gives (same resolver and constructor, only the scanner and the
parser are in C). A text the C parser refuses is parsed again by PyYAML's own parser, so that an error names the
place with the same words as before (messages people and tests read: ``mailroom rules check``, directory uploads).
"""

from __future__ import annotations

from typing import Any

import yaml

_FAST: Any = getattr(yaml, "CSafeLoader", None)


def safe_load(text: str) -> Any:
    """``yaml.safe_load(text)``, in C when libyaml is there; errors exactly as ``yaml.safe_load`` reports them."""
    if _FAST is None:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=_FAST)  # noqa: S506 - CSafeLoader is the safe loader
    except yaml.YAMLError:
        return yaml.safe_load(text)  # raises the pure parser's error (same text as always)


def place(exc: yaml.YAMLError) -> dict[str, object]:
    """Where a YAML error is (``line``, ``column``, from 1): for a text in another language than PyYAML's."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return {"line": mark.line + 1, "column": mark.column + 1} if mark is not None else {}
