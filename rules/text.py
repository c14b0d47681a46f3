"""Words as rules see them: folded tokens with deskewed millimetre boxes, and how terms, phrases and regexes
find them.

*Folding* makes spelling variants equal: case (``RECHNUNG`` = ``Rechnung``), umlauts and ß written out
(``Gebühr`` = ``Gebuehr``, ``Straße`` = ``Strasse``) and other accents (``café`` = ``cafe``). A *token* is a
folded OCR word without the punctuation around it (``Rechnung:`` → ``rechnung``; inner hyphens stay:
``RE-2026-04711`` → ``re-2026-04711``), so a term matches whole words only. *Fuzzy* matching compares tokens
with the normalised Indel similarity of rapidfuzz (``Rechnunq`` ~ ``Rechnung`` = 0.875), tolerating
typical OCR confusions (q/g, rn/m, l/1) without matching different words (``Mahnung`` ~ ``Rechnung`` = 0.67).

A :class:`DocumentIndex` is built once per evaluation; lookups are memoised in it, so the same term used by
fifty rules is searched once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from mailroom.model import Box, Document
from rules.geometry import Deskewer, RectMm
from rules.regex_guard import MAX_LINE_CHARS
from rules.zones import PageZones, Zones

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_PUNCT = "".join(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum()) + "„“”‚‘’«»–—…·•§°"


def fold(text: str) -> str:
    """Case-, umlaut- and accent-folded text."""
    folded = text.casefold().translate(_FOLD)
    if folded.isascii():
        return folded
    return "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))


def tokenize(text: str) -> tuple[str, ...]:
    """Tokens of an admin-written term or phrase, folded exactly like OCR words."""
    return tuple(t for t in (fold(w).strip(_PUNCT) for w in text.split()) if t)


@dataclass(slots=True)
class IndexedWord:
    """One OCR word: its position in the page's reading order, line, token and boxes."""

    pos: int
    line: int
    text: str
    token: str
    box: Box
    rect: RectMm  # deskewed, for geometry and zones


@dataclass(slots=True)
class PageIndex:
    number: int
    zones: PageZones
    scale: float  # mm per pixel
    words: list[IndexedWord] = field(default_factory=list)
    lines: list[list[IndexedWord]] = field(default_factory=list)
    line_texts: list[tuple[str, list[int]]] = field(default_factory=list)  # text, start of each word

    def texts(self) -> list[tuple[str, list[int]]]:
        """Each line as text (words joined by one space, cut at ``MAX_LINE_CHARS``) with word offsets."""
        if not self.line_texts and self.lines:
            for line in self.lines:
                starts, offset = [], 0
                for word in line:
                    starts.append(offset)
                    offset += len(word.text) + 1
                self.line_texts.append((" ".join(w.text for w in line)[:MAX_LINE_CHARS], starts))
        return self.line_texts


@dataclass(slots=True)
class Hit:
    """Consecutive words on one page that matched; ``rect`` is their deskewed union box."""

    page: PageIndex
    words: tuple[IndexedWord, ...]
    rect: RectMm

    def evidence(self) -> dict[str, object]:
        s = self.page.scale
        x0, y0 = min(w.box[0] for w in self.words) * s, min(w.box[1] for w in self.words) * s
        x1, y1 = max(w.box[2] for w in self.words) * s, max(w.box[3] for w in self.words) * s
        box = RectMm(x0, y0, x1, y1).rounded()
        return {"page": self.page.number, "words": [w.text for w in self.words], "box_mm": box}


def _hit(page: PageIndex, words: tuple[IndexedWord, ...]) -> Hit:
    rect = words[0].rect
    for word in words[1:]:
        rect = rect.union(word.rect)
    return Hit(page, words, rect)


class DocumentIndex:
    """The searchable words of one document, with memoised term, phrase and regex lookups."""

    def __init__(self, document: Document, zones: Zones) -> None:
        located = zones.locate(document)
        self.pages: list[PageIndex] = []
        self.first_page = document.pages[0].number if document.pages else 1
        self._where: dict[str, list[tuple[PageIndex, int]]] = {}
        for page in document.pages:
            deskew = Deskewer(page)
            index = PageIndex(page.number, located.get(page.number, PageZones()), 25.4 / page.dpi)
            rect = deskew.rect
            for line in page.lines():
                line_words: list[IndexedWord] = []
                for word in line.words:
                    token = fold(word.text).strip(_PUNCT)
                    if not token:
                        continue
                    iw = IndexedWord(
                        len(index.words), len(index.lines), word.text, token, word.box, rect(word.box)
                    )
                    index.words.append(iw)
                    line_words.append(iw)
                    self._where.setdefault(token, []).append((index, iw.pos))
                if line_words:
                    index.lines.append(line_words)
            self.pages.append(index)
        self._vocabulary = list(self._where)
        self._similar: dict[tuple[str, float | None], frozenset[str]] = {}
        self._found: dict[tuple[tuple[str, ...], float | None], list[Hit]] = {}
        self._regex: dict[re.Pattern[str], list[Hit]] = {}

    def similar(self, token: str, fuzzy: float | None) -> frozenset[str]:
        """Tokens of the document equal to ``token``, or at least ``fuzzy`` similar to it."""
        key = (token, fuzzy)
        found = self._similar.get(key)
        if found is None:
            if fuzzy is None:
                found = frozenset((token,)) if token in self._where else frozenset()
            else:
                matches = process.extract(
                    token, self._vocabulary, scorer=fuzz.ratio, score_cutoff=fuzzy * 100, limit=None
                )
                found = frozenset(m[0] for m in matches)
            self._similar[key] = found
        return found

    def find(self, tokens: tuple[str, ...], fuzzy: float | None) -> list[Hit]:
        """Every occurrence of the tokens as consecutive words in reading order, on any page."""
        key = (tokens, fuzzy)
        hits = self._found.get(key)
        if hits is None:
            hits = []
            sets = [self.similar(t, fuzzy) for t in tokens]
            if all(sets):
                for first in sets[0]:
                    for page, pos in self._where[first]:
                        words = page.words[pos : pos + len(tokens)]
                        if len(words) == len(tokens) and all(
                            w.token in s for w, s in zip(words, sets, strict=True)
                        ):
                            hits.append(_hit(page, tuple(words)))
            self._found[key] = hits
        return hits

    def search(self, pattern: re.Pattern[str]) -> list[Hit]:
        """Every match of the pattern within one line (at most ``MAX_LINE_CHARS`` characters of it)."""
        hits = self._regex.get(pattern)
        if hits is None:
            hits = []
            for page in self.pages:
                for line, (text, starts) in zip(page.lines, page.texts(), strict=True):
                    if pattern.search(text):
                        hits.extend(_line_matches(pattern, page, line, text, starts))
            self._regex[pattern] = hits
        return hits


def _line_matches(
    pattern: re.Pattern[str], page: PageIndex, line: list[IndexedWord], text: str, starts: list[int]
) -> list[Hit]:
    hits = []
    for match in pattern.finditer(text):
        if match.end() == match.start():
            continue
        words = tuple(
            w
            for w, s in zip(line, starts, strict=True)
            if s < match.end() and s + len(w.text) > match.start()
        )
        hits.append(_hit(page, words))
    return hits
