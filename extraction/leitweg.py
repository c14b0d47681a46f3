"""Validation of the Leitweg-ID, the routing address of an e-invoice to a German public authority.

The *Leitweg-ID* is what a town hall gives its suppliers to put into the buyer reference (BT-10) of an
XRechnung; it says which authority, and within it which office, receives the invoice. Its format is fixed
by KoSIT's "Formatspezifikation Leitweg-ID" (v2.0.2):

``<Grobadressierung>[-<Feinadressierung>]-<Prüfziffer>``

* *Grobadressierung* (coarse address): 2 to 12 digits, starting with the code of the Land (01 to 16) or
  99 for the federal administration, then optionally Regierungsbezirk, Kreis and Gemeinde;
* *Feinadressierung* (fine address): optional, 1 to 30 letters or digits, assigned by the authority;
* *Prüfziffer* (check digits): 2 digits, ISO/IEC 7064 MOD 97-10 over Grob- and Feinadressierung written
  without hyphens, letters replaced by their value A=10 ... Z=35.

At most 46 characters in all. Letters are compared case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MAX_LENGTH = 46
_PREFIX = re.compile(r"(?P<grob>[0-9]{2,12})(?:-(?P<fein>[0-9A-Z]{1,30}))?")
_LEITWEG_ID = re.compile(_PREFIX.pattern + r"-(?P<check>[0-9]{2})")
#: Codes of the 16 Länder and of the federal administration (99), the first two digits of every id.
_STATE_CODES = frozenset({f"{code:02d}" for code in range(1, 17)} | {"99"})


@dataclass(frozen=True)
class LeitwegCheck:
    """Outcome of :func:`validate_leitweg_id`: ``ok``, and when not, a human ``reason``."""

    ok: bool
    reason: str | None = None


def _mod97(digits_and_letters: str) -> int:
    """The remainder modulo 97 of the number the string spells, letters counting A=10 ... Z=35."""
    return int("".join(str(int(char, 36)) for char in digits_and_letters)) % 97


def leitweg_check_digits(prefix: str) -> str:
    """The two check digits for a Leitweg-ID without them (``"04011000-1234512345"`` -> ``"06"``).

    Raises ``ValueError`` when ``prefix`` is not a Grobadressierung with an optional Feinadressierung.
    """
    normalized = prefix.strip().upper()
    if not _PREFIX.fullmatch(normalized):
        raise ValueError(f"Not the start of a Leitweg-ID: {prefix!r}")
    return f"{98 - _mod97(normalized.replace('-', '') + '00'):02d}"


def validate_leitweg_id(value: str) -> LeitwegCheck:
    """Check a Leitweg-ID's format, Land code and MOD 97-10 check digits."""
    normalized = value.strip().upper()
    if not normalized:
        return LeitwegCheck(False, "empty")
    if len(normalized) > _MAX_LENGTH:
        return LeitwegCheck(False, f"longer than {_MAX_LENGTH} characters")
    match = _LEITWEG_ID.fullmatch(normalized)
    if match is None:
        return LeitwegCheck(
            False,
            "not of the form Grobadressierung (2-12 digits), optional Feinadressierung "
            "(up to 30 letters or digits), check digits (2 digits), separated by hyphens",
        )
    if normalized[:2] not in _STATE_CODES:
        return LeitwegCheck(False, f"unknown Land code {normalized[:2]} (01-16, or 99 for the Bund)")
    if _mod97(normalized.replace("-", "")) != 1:
        expected = leitweg_check_digits(normalized[: match.start("check") - 1])
        return LeitwegCheck(False, f"wrong check digits {match['check']}, expected {expected}")
    return LeitwegCheck(True)
