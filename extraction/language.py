"""The page's language and the seller's country: what decides how an invoice writes its dates.

A slashed date (``03/04/2026``) is 3 April in Europe and 4 March in the USA. The order is decided per document:

1. a slashed date on the page whose first number is above 12 proves day-first (second above 12: month-first);
2. else the seller's country: the prefix of the VAT ids and IBANs printed (every European country writes the day
   first), a US dollar amount or a US address means month-first;
3. else the page language (:func:`page_language`): every language of the label tables but English writes the day
   first; an English page without any European sign stays undecided (slashed dates are then not read).
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

from extraction import parsers
from extraction.labels import language_tables

_SLASHED = re.compile(r"\b(\d{1,2})/(\d{1,2})/(?:\d{4}|\d{2})\b")
_US = re.compile(r"(?:\bUSD\b|US\$|\$\s?\d|\bUSA\b|\bUnited States\b|\b[A-Z]{2}\s\d{5}(?:-\d{4})\b)")
_EUROPE = re.compile(r"(?:€|\bEUR\b|£|\bGBP\b|\bCHF\b)")
_WORD = re.compile(r"[^\W\d_]+")


@cache
def _label_words() -> dict[str, frozenset[str]]:
    """Per language, the words of its labels (five letters or more) that no other language's labels have."""
    words = {
        lang: {w.lower() for texts in table.fields.values() for text in texts for w in _WORD.findall(text)
               if len(w) >= 5}
        for lang, table in language_tables().items()
    }
    return {lang: frozenset(mine - set().union(*(w for other, w in words.items() if other != lang)))
            for lang, mine in words.items()}


def page_language(text: str) -> str | None:
    """The language whose common words (``words`` of its label table) and own label words ("Factuurdatum",
    "Imponibile") occur most often in ``text``; None when none occurs."""
    words = Counter(w.lower() for w in _WORD.findall(text))
    own = _label_words()
    scores = {lang: sum(words[w] for w in table.words) + 2 * sum(words[w] for w in own[lang])
              for lang, table in language_tables().items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] else None


def seller_countries(text: str) -> set[str]:
    """Country codes of the valid VAT ids and IBANs printed in ``text``."""
    found = {v[:2] for v, _, _ in parsers.find_vat_ids(text)}
    found |= {v[:2] for v, _, _ in parsers.find_ibans(text)}
    return {"GR" if c == "EL" else c for c in found}


def date_order_of(text: str) -> parsers.DateOrder:
    """``"DMY"``, ``"MDY"`` or None for the slashed dates of a document (see the module's docstring)."""
    firsts = [(int(a), int(b)) for a, b in _SLASHED.findall(text)]
    day_first = any(a > 12 >= b for a, b in firsts)
    month_first = any(b > 12 >= a for a, b in firsts)
    if day_first != month_first:
        return "DMY" if day_first else "MDY"
    if _US.search(text) and not seller_countries(text) - {"US"}:
        return "MDY"
    if seller_countries(text) or _EUROPE.search(text):
        return "DMY"
    language = page_language(text)
    return "DMY" if language not in (None, "en") else None
