"""Separation of a scanned stack into letters (Stapeltrennung): which pages belong to which letter.

Pure: works on the read pages (words with boxes in millimetres of the page), no files, no database.

- A **separator sheet** (Trennblatt, :attr:`Page.separator`) ends the letter before it and belongs to none.
- A **blank page** (a duplex back, :attr:`PageQuality.blank`) carries no text: it stays inside the letter it was
  scanned with (listed as ``dropped``) but is not one of the letter's pages.
- Where no sheet was used, a new letter starts at a page that **looks like a first page** (DIN 5008 address
  field ending in a postcode line, the date of the information block, a salutation "Sehr geehrte …" near the
  top) unless the page numbering says the letter goes on: the page itself is page 2 or later ("Seite 2 von 3",
  "- 2 -", "… Schreiben vom … – Seite 2"), or the page before says "Seite 1 von 3". A closing ("Mit freundlichen
  Grüßen") on the page before makes a new letter more likely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from mailroom.model import Page

ADDRESS_TOP_MM = (20.0, 115.0)  # the postcode line of a DIN 5008 address field lies between these
ADDRESS_MAX_X0_MM = 90.0
INFO_MIN_X0_MM = 95.0  # the information block (with the date) starts right of this
INFO_BOTTOM_MM = 120.0
SALUTATION_BOTTOM_MM = 170.0
HEADER_BOTTOM_MM = 30.0  # running header of a continuation page ("- 2 -", "Firma – Schreiben vom … – Seite 2")
FIRST_PAGE_SCORE = 3  # address field counts 2, salutation / date / closing on the page before 1 each

_POSTCODE_LINE = re.compile(r"^\s*(?:D\s?-\s?)?[0-9OIlS]{5}\s+[A-ZÄÖÜa-zäöü]")
_SALUTATION = re.compile(r"^\W{0,2}(?:sehr\s+geehrte|guten\s+tag|liebe[rs]?\s)", re.IGNORECASE)
_DATE = re.compile(
    r"\b\d{1,2}\.\s?(?:\d{1,2}\.\s?\d{2,4}|(?:januar|februar|märz|april|mai|juni|juli|august|september|oktober|"
    r"november|dezember)\s+\d{4})",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"(?:mit\s+freundliche[nm]\s+gr[üu](?:ß|ss|b)|freundliche\s+gr[üu](?:ß|ss|b)|hochachtungsvoll|"
    r"beste\s+gr[üu](?:ß|ss|b))",
    re.IGNORECASE,
)
_PAGE_OF = re.compile(r"\bseite\s*(\d{1,3})\s*(?:von|/)\s*(\d{1,3})\b", re.IGNORECASE)
_HEADER_PAGE = re.compile(r"(?:\bseite\s*(\d{1,3})\b|^\W*-\s*(\d{1,3})\s*-\W*$)", re.IGNORECASE)


class LetterStart(StrEnum):
    """Why a letter starts where it starts."""

    FILE_START = "file_start"  # the first letter of the file
    SEPARATOR_SHEET = "separator_sheet"  # the first page after a separator sheet
    FIRST_PAGE = "first_page"  # a page that looks like a letter's first page
    REVIEWER = "reviewer"  # a person in the validation station split the document here ("split here")


@dataclass(frozen=True)
class PageSignals:
    """What a page says about where it sits in its letter."""

    address_field: bool = False  # a postcode line in the DIN 5008 address field
    date: bool = False  # a date in the information block
    salutation: bool = False
    closing: bool = False  # "Mit freundlichen Grüßen", "Hochachtungsvoll", …
    page_number: int | None = None  # this page's own number within its letter, when printed
    page_count: int | None = None  # the letter's page count ("Seite 1 von 3")

    @property
    def first_page_evidence(self) -> tuple[str, ...]:
        found = (("address_field", self.address_field), ("date", self.date), ("salutation", self.salutation))
        return tuple(name for name, present in found if present)

    @property
    def continued(self) -> bool:
        """The page numbering says this page is page 2 or later of a letter."""
        return self.page_number is not None and self.page_number >= 2

    @property
    def continues(self) -> bool:
        """The page numbering says the letter goes on after this page."""
        return self.page_number is not None and self.page_count is not None and self.page_number < self.page_count


@dataclass(frozen=True)
class LetterSpan:
    """One letter of a stack: its pages in the file (1-based, in order) and why it starts where it does."""

    pages: tuple[int, ...]
    start: LetterStart
    dropped: tuple[int, ...] = ()  # blank pages scanned with this letter (duplex backs): not letter pages
    evidence: tuple[str, ...] = ()  # for FIRST_PAGE: what made the page look like a first page

    @property
    def page_from(self) -> int:
        return min(self.pages + self.dropped)

    @property
    def page_to(self) -> int:
        return max(self.pages + self.dropped)


def _lines_mm(page: Page) -> Iterable[tuple[str, tuple[float, float, float, float]]]:
    for line in page.lines():
        text = line.text.strip()
        if text:
            yield text, page.box_mm(line.box)


def page_signals(page: Page) -> PageSignals:
    """Read the first-page, last-page and page-number signals of one page."""
    address = date = salutation = closing = False
    number: int | None = None
    count: int | None = None
    for text, (x0, top, _x1, _bottom) in _lines_mm(page):
        if x0 <= ADDRESS_MAX_X0_MM and ADDRESS_TOP_MM[0] <= top <= ADDRESS_TOP_MM[1] and _is_postcode_line(text):
            address = True
        if x0 >= INFO_MIN_X0_MM and top <= INFO_BOTTOM_MM and _DATE.search(text):
            date = True
        if top <= SALUTATION_BOTTOM_MM and _SALUTATION.match(text):
            salutation = True
        if _CLOSING.search(text):
            closing = True
        page_of = _PAGE_OF.search(text)
        if page_of is not None:
            number, count = int(page_of.group(1)), int(page_of.group(2))
        elif number is None and top <= HEADER_BOTTOM_MM and (header := _HEADER_PAGE.search(text)):
            number = int(header.group(1) or header.group(2))
    return PageSignals(address, date, salutation, closing, number, count)


def _is_postcode_line(text: str) -> bool:
    return _POSTCODE_LINE.match(text) is not None and sum(c.isdigit() for c in text.lstrip()[:7]) >= 3


def starts_letter(signals: PageSignals, previous: PageSignals | None) -> bool:
    """Whether a page with ``signals`` starts a new letter after a page with ``previous`` (no sheet between)."""
    if signals.continued or (previous is not None and previous.continues):
        return False
    score = 2 * signals.address_field + signals.date + signals.salutation
    if previous is not None and previous.closing:
        score += 1
    return score >= FIRST_PAGE_SCORE


@dataclass
class _Open:
    start: LetterStart
    evidence: tuple[str, ...] = ()
    pages: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    last: PageSignals | None = None

    def close(self) -> LetterSpan:
        return LetterSpan(tuple(self.pages), self.start, tuple(self.dropped), self.evidence)


def split_letters(pages: list[Page]) -> list[LetterSpan]:
    """The letters of a scanned stack, in order. Separator sheets belong to no letter; blank pages are listed
    as ``dropped`` in the letter they were scanned with. A file without any readable page has no letters."""
    letters: list[LetterSpan] = []
    current: _Open | None = None
    pending_blank: list[int] = []  # blank pages before the first text page of a letter
    after_sheet = False
    for page in pages:
        if page.separator:
            if current is not None:
                letters.append(current.close())
                current = None
            after_sheet = True
            continue
        if page.quality.blank:
            (current.dropped if current is not None else pending_blank).append(page.number)
            continue
        signals = page_signals(page)
        if current is None or starts_letter(signals, current.last):
            if current is not None:
                letters.append(current.close())
            start = (
                LetterStart.SEPARATOR_SHEET if after_sheet
                else LetterStart.FIRST_PAGE if current is not None
                else LetterStart.FILE_START
            )
            evidence = signals.first_page_evidence if start is LetterStart.FIRST_PAGE else ()
            current = _Open(start, evidence, dropped=pending_blank)
            pending_blank = []
            after_sheet = False
        current.pages.append(page.number)
        current.last = signals
    if current is not None:
        letters.append(current.close())
    elif pending_blank and letters:  # blank pages after the last sheet: scanned with the last letter
        letters[-1] = _with_dropped(letters[-1], pending_blank)
    return letters


def _with_dropped(span: LetterSpan, blank: list[int]) -> LetterSpan:
    return LetterSpan(span.pages, span.start, tuple(sorted((*span.dropped, *blank))), span.evidence)
