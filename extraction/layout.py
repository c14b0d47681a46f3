"""The page as invoice extraction sees it: words grouped into rows by position, and label anchors found in them.

OCR engines group words into lines by their own logic (Tesseract joins the address field and the information
block beside it into one line, or splits a line at a wide gap). Extraction needs rows: every word whose vertical
centre lies on the same text line, left to right, whatever block it came from. A label ("Rechnungsnummer:") is
then paired with the value right of it on its row, or below it in the next rows.

Labels are matched on a *key*: the letters of the words only, lower case (``"Rechnungs-Nr.:"`` →
``"rechnungsnr"``), so that punctuation, hyphens and spacing variants do not matter, and fuzzily (one wrong
letter in about eight) against OCR errors.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from statistics import median

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from mailroom.model import Box, Document, union_box

_NOT_LETTER = re.compile(r"[^a-zäöüß]")
_LETTER_LOOKALIKES = str.maketrans({"1": "i", "0": "o", "|": "i"})
#: A word with at least this many letters and at most :data:`MAX_LOOKALIKE_DIGITS` look-alike digits is a word.
MIN_LETTERS_FOR_LOOKALIKES = 3
MAX_LOOKALIKE_DIGITS = 1


def fold(text: str) -> str:
    """Lower case without accents ("Échéance" → "echeance", "Käufer" → "kaufer"; ß stays): OCR models drop or
    confuse accents of other languages, so labels and words are compared without them."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def word_key(text: str) -> str:
    """The letters of a word, lower case, without accents; see :attr:`Token.key`."""
    lower = fold(text)
    letters = _NOT_LETTER.sub("", lower)
    if len(letters) >= MIN_LETTERS_FOR_LOOKALIKES and 0 < sum(c in "10|" for c in lower) <= MAX_LOOKALIKE_DIGITS \
            and not any(c.isdigit() and c not in "10" for c in lower):
        return _NOT_LETTER.sub("", lower.translate(_LETTER_LOOKALIKES))
    return letters


@dataclass(frozen=True)
class Token:
    """One word on a page, with where it is and how sure OCR was (0..100)."""

    text: str
    box: Box
    confidence: float
    page: int

    @cached_property
    def key(self) -> str:
        """The word's letters, lower case: what label matching compares. In a word of letters, the digits OCR
        reads for letters count as those letters (``"USt-1dNr.;"`` → ``"ustidnr"``); a word of digits has no
        key (it is a value, never part of a label)."""
        return word_key(self.text)

    @property
    def centre_y(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Row:
    """Words on one text line of a page, left to right; ``index`` counts rows from the top of the page."""

    tokens: tuple[Token, ...]
    page: int
    index: int

    @property
    def box(self) -> Box:
        return union_box([t.box for t in self.tokens])

    @property
    def text(self) -> str:
        return " ".join(t.text for t in self.tokens)


def page_rows(document: Document) -> list[Row]:
    """All rows of all pages, top to bottom, each left to right."""
    rows: list[Row] = []
    for page in document.pages:
        tokens = [
            Token(w.text, w.box, w.confidence, page.number) for w in page.words() if w.text.strip()
        ]
        rows.extend(_group_rows(tokens, page.number))
    return rows


def _group_rows(tokens: list[Token], page: int) -> list[Row]:
    """Group words whose vertical centres lie within half a typical word height of each other."""
    if not tokens:
        return []
    typical = median(max(t.height, 1) for t in tokens)
    groups: list[list[Token]] = []
    for token in sorted(tokens, key=lambda t: t.centre_y):
        if groups and abs(token.centre_y - _row_centre(groups[-1])) <= typical * 0.5:
            groups[-1].append(token)
        else:
            groups.append([token])
    return [
        Row(tuple(sorted(group, key=lambda t: t.box[0])), page, index) for index, group in enumerate(groups)
    ]


def _row_centre(group: list[Token]) -> float:
    return median(t.centre_y for t in group)


@dataclass(frozen=True)
class Label:
    """One way of writing a field's label; ``key`` is its letters, lower case (see :class:`Token`)."""

    field: str
    text: str

    @cached_property
    def key(self) -> str:
        """Made once per label (the tables' labels are searched on every page: folding them again for each search
        was a fifth of a letter's Python CPU)."""
        return _NOT_LETTER.sub("", fold(self.text))


@dataclass(frozen=True)
class LabelHit:
    """A label found on a row: tokens ``start`` to ``end`` (exclusive) of ``row``."""

    label: Label
    row: Row
    start: int
    end: int
    similarity: float

    @property
    def box(self) -> Box:
        return union_box([t.box for t in self.row.tokens[self.start : self.end]])

    @property
    def after(self) -> tuple[Token, ...]:
        """The tokens right of the label on its row."""
        return self.row.tokens[self.end :]


MAX_LABEL_WORDS = 4


def similarity(a: str, b: str) -> float:
    """1.0 for equal keys; fewer for each edit. Keys shorter than 6 letters must be equal."""
    if a == b:
        return 1.0
    if min(len(a), len(b)) < 6:
        return 0.0
    return 1.0 - Levenshtein.distance(a, b) / max(len(a), len(b))


def find_labels(rows: list[Row], labels: list[Label], *, min_similarity: float = 0.88) -> list[LabelHit]:
    """Every place where one of ``labels`` is written, the longest match at each position first.

    A match must cover whole words and cannot start inside another match on the same row.
    """
    by_length: dict[int, list[tuple[Label, str]]] = {}
    for label in sorted(labels, key=lambda label: -len(label.key)):
        key = label.key
        by_length.setdefault(len(key), []).append((label, key))
    near = _Near(by_length)
    hits: list[LabelHit] = []
    for row in rows:
        keys = [t.key for t in row.tokens]
        position = 0
        while position < len(keys):
            best = _best_label_at(keys, position, near, min_similarity)
            if best is None:
                position += 1
                continue
            label, end, score = best
            if not _in_parentheses(row.tokens[position:end], label):
                hits.append(LabelHit(label, row, position, end, score))
            position = end
    return hits


def _in_parentheses(tokens: tuple[Token, ...], label: Label) -> bool:
    """A label word in brackets is a remark ("Summe netto (excl. USt.)"), not a label of its own."""
    return "(" not in label.text and (tokens[0].text.startswith("(") or tokens[-1].text.rstrip(":").endswith(")"))


class _Near(dict[int, tuple[list[Label], list[str]]]):
    """For a length of joined words: the labels whose keys are within two letters of it (longest first, in the
    order of ``by_length``), and their keys; made once per length and search."""

    def __init__(self, by_length: dict[int, list[tuple[Label, str]]]) -> None:
        super().__init__()
        self.by_length = by_length

    def __missing__(self, length: int) -> tuple[list[Label], list[str]]:
        pairs = [pair for n in range(length + 2, length - 3, -1) for pair in self.by_length.get(n, ())]
        value = ([label for label, _ in pairs], [key for _, key in pairs])
        self[length] = value
        return value


def _best_label_at(
    keys: list[str], start: int, near: _Near, min_similarity: float
) -> tuple[Label, int, float] | None:
    """The best label starting at word ``start``: labels are grouped by key length, and only those within two
    letters of the joined words' length can reach the similarity threshold. The similarities are computed in C
    (rapidfuzz, the same edit distance as :func:`similarity`, only the ones above the threshold returned); the
    first label of the longest-first order wins a tie, as in a loop over them."""
    if not keys[start]:
        return None
    best: tuple[Label, int, float] | None = None
    joined = ""
    for end in range(start + 1, min(len(keys), start + MAX_LABEL_WORDS) + 1):
        if not keys[end - 1]:
            break
        joined += keys[end - 1]
        labels, candidates = near[len(joined)]
        if not candidates:
            continue
        found = process.extract(joined, candidates, scorer=Levenshtein.normalized_similarity,
                                score_cutoff=min_similarity, limit=None)
        for key, score, index in sorted(found, key=lambda hit: hit[2]):
            if key != joined and min(len(key), len(joined)) < 6:
                continue  # short keys must be equal (see similarity)
            score = similarity(joined, key)  # the very number the loop gave (equal in any case, to the last bit)
            if score >= min_similarity and (best is None or (score, end) > (best[2], best[1])):
                best = (labels[index], end, score)
    return best


def tokens_below(rows: list[Row], hit: LabelHit, *, max_rows: int = 2) -> list[tuple[Token, ...]]:
    """For the rows right under a label (same page): the run of tokens from the first one that ends right of
    the label's start (a value under its label, or under and to the right of it in a two-column block)."""
    x0 = hit.box[0]
    runs: list[tuple[Token, ...]] = []
    following = [r for r in rows if r.page == hit.row.page and r.index > hit.row.index]
    for row in following[:max_rows]:
        first = next((i for i, t in enumerate(row.tokens) if t.box[2] >= x0), None)
        if first is not None:
            runs.append(row.tokens[first:])
    return runs


def tokens_beside(rows: list[Row], hit: LabelHit) -> tuple[Token, ...]:
    """Tokens right of a label on the neighbouring rows that are still level with it (a value printed a little
    higher or lower than its label lands on its own row)."""
    x1 = hit.box[2]
    centre = (hit.box[1] + hit.box[3]) / 2
    height = max(hit.box[3] - hit.box[1], 1)
    near = [
        t for r in rows if r.page == hit.row.page and abs(r.index - hit.row.index) == 1
        for t in r.tokens if t.box[0] >= x1 and abs(t.centre_y - centre) <= height
    ]
    return tuple(sorted(near, key=lambda t: t.box[0]))
