"""File names that come from outside (an upload's form field, a mail attachment): made safe to show and store."""

from __future__ import annotations

import re

#: Control characters, path separators and the bidirectional formatting characters that can make a name read
#: differently than it is ("rechnung\u202efdp.exe").
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f/\\:\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_FILENAME_CHARS = 200


def safe_filename(raw: str, default: str = "upload") -> str:
    """The last path component of a sender's file name, without control characters, at most 200 characters."""
    name = _UNSAFE_CHARS.sub("_", raw.replace("\\", "/").rsplit("/", 1)[-1]).strip().lstrip(".")
    if not name:
        return default
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        keep = suffix[:16] if dot else ""
        name = (stem if dot else name)[: MAX_FILENAME_CHARS - len(keep) - 1] + (f".{keep}" if keep else "")
    return name
