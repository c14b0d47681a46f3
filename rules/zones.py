"""Where things are on a letter: the zones that rules name in ``in:``.

A :class:`Zones` provider maps each page to rectangles in deskewed millimetres. :class:`Din5008Zones` is the
default and needs nothing but the words: it finds the address block on page 1, decides between DIN 5008
form A (address field 27–72 mm from the top) and form B (45–90 mm), and shifts the first-page zones by the
scanner offset it observes (up to :data:`MAX_OFFSET_MM`). Recognition can later supply better zones (a layout
model, a learned supplier layout) through the same protocol.

Zones: ``address_field`` (x 20–105 mm, without its ``return_address`` line), ``return_address`` (the small
sender line above the recipient), ``info_block`` (from x 125 mm, beside the address field), ``subject``
(≈ 75–100 mm in form A, 93–118 mm in form B), ``letterhead`` (above the address field; 27 mm on later pages),
``footer`` (bottom 25 mm).
``first_page`` and ``any_page`` are handled by the evaluator and need no rectangle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from statistics import median
from typing import Protocol

from mailroom.model import Document, Page, union_box
from rules.geometry import Deskewer, RectMm

MAX_OFFSET_MM = 10.0
FORMS = {"A": (27.0, 72.0), "B": (45.0, 90.0)}
ADDRESS_X = (20.0, 105.0)
INFO_X0 = 125.0
#: The Betreff band below the address field: ~83 mm in form A, ~101 mm in form B (two lines, some slack).
SUBJECT_Y = {"A": (75.0, 100.0), "B": (93.0, 118.0)}
FOOTER_MM = 25.0
LETTERHEAD_LATER_PAGES_MM = 27.0
_LINE_GAP_MM = 8.0
_RETURN_SEARCH_MM = 20.0
_RETURN_MARKS = ("·", "•", "|")
#: A postcode after other text on one line (``Müller GmbH Str. 1 50667 Köln``): a return address, even when
#: OCR lost its separator marks. A recipient's postcode starts its line.
_POSTCODE_INSIDE = re.compile(r"\S.*\s(?:D-)?\d{5}\s+\S")


@dataclass
class PageZones:
    """Rectangles of the named zones of one page; ``excluded`` cuts rectangles out of a zone."""

    rects: dict[str, RectMm] = field(default_factory=dict)
    excluded: dict[str, list[RectMm]] = field(default_factory=dict)

    def contains(self, zone: str, x: float, y: float) -> bool:
        rect = self.rects.get(zone)
        if rect is None or not rect.contains(x, y):
            return False
        return not any(r.contains(x, y) for r in self.excluded.get(zone, ()))


class Zones(Protocol):
    """Supplies the zones of every page of a document (page number → zones)."""

    def locate(self, document: Document) -> dict[int, PageZones]: ...


@dataclass(frozen=True)
class AddressBlock:
    """The lines found in the address-field column of page 1, in deskewed mm."""

    lines: list[tuple[RectMm, str]]
    above: list[tuple[RectMm, str]] = field(default_factory=list)  # column lines up to 20 mm above, top down

    @property
    def top(self) -> float:
        return self.lines[0][0].y0

    @property
    def bottom(self) -> float:
        return self.lines[-1][0].y1


class Din5008Zones:
    """DIN 5008 zones, form A or B detected from where the address text actually is."""

    def locate(self, document: Document) -> dict[int, PageZones]:
        out: dict[int, PageZones] = {}
        for index, page in enumerate(document.pages):
            width, height = page.px_to_mm(page.width), page.px_to_mm(page.height)
            zones = PageZones()
            zones.rects["footer"] = RectMm(0, height - FOOTER_MM, width, height)
            if index == 0:
                self._first_page(page, width, zones)
            else:
                zones.rects["letterhead"] = RectMm(0, 0, width, LETTERHEAD_LATER_PAGES_MM)
            out[page.number] = zones
        return out

    def _first_page(self, page: Page, width: float, zones: PageZones) -> None:
        block = find_address_block(page)
        form, dy = ("B", 0.0) if block is None else form_and_offset(block)
        top, bottom = FORMS[form][0] + dy, FORMS[form][1] + dy
        zones.rects["address_field"] = RectMm(ADDRESS_X[0], top, ADDRESS_X[1], bottom)
        zones.rects["info_block"] = RectMm(INFO_X0, top, width, bottom + 10)
        subject_top, subject_bottom = SUBJECT_Y[form]
        zones.rects["subject"] = RectMm(ADDRESS_X[0], subject_top + dy, width, subject_bottom + dy)
        zones.rects["letterhead"] = RectMm(0, 0, width, top)
        line = None if block is None else return_address_line(block)
        if line is not None:
            rect = RectMm(line.x0 - 1, line.y0 - 0.5, line.x1 + 1, line.y1 + 0.5)
            zones.rects["return_address"] = rect
            zones.excluded["address_field"] = [rect]


def find_address_block(page: Page) -> AddressBlock | None:
    """The tallest run of closely spaced lines that start in the address column between 20 and 100 mm; a
    return-address line always starts a new run."""
    deskew = Deskewer(page)
    lines = []
    for line in page.lines():
        if not line.words:
            continue
        rect = deskew.rect(line.box if line.box != (0, 0, 0, 0) else union_box([w.box for w in line.words]))
        if ADDRESS_X[0] - MAX_OFFSET_MM <= rect.x0 <= ADDRESS_X[0] + 30 and 20 <= rect.y0 <= 100:
            lines.append((rect, line.text))
    lines.sort(key=lambda item: item[0].y0)
    runs: list[list[tuple[RectMm, str]]] = []
    for item in lines:
        # a return-address line starts the block: what is above it is the sender's letterhead
        if runs and item[0].y0 - runs[-1][-1][0].y1 <= _LINE_GAP_MM and not _looks_like_return_address(item[1]):
            runs[-1].append(item)
        else:
            runs.append([item])
    best = max(runs, key=lambda run: (len(run), -run[0][0].y0), default=None)
    if not best or len(best) < 2:
        return None
    top = best[0][0].y0
    return AddressBlock(best, [item for item in lines if top - _RETURN_SEARCH_MM <= item[0].y0 < top])


def form_and_offset(block: AddressBlock) -> tuple[str, float]:
    """Form A or B, whichever field holds more of the block, and the shift that makes the block fit it."""

    def overlap(form: str) -> float:
        top, bottom = FORMS[form]
        return min(bottom, block.bottom) - max(top, block.top)

    form = max(FORMS, key=overlap)
    top, bottom = FORMS[form]
    dy = 0.0
    if block.top < top:
        dy = block.top - top
    elif block.bottom > bottom:
        dy = block.bottom - bottom
    return form, max(-MAX_OFFSET_MM, min(MAX_OFFSET_MM, dy))


def return_address_line(block: AddressBlock) -> RectMm | None:
    """The return-address line: the block's first line in smaller type, with separator marks or a postcode after
    other text; else such a line just above the block."""
    first, text = block.lines[0]
    others = [rect.height for rect, _ in block.lines[1:]]
    smaller = bool(others) and first.height < 0.85 * median(others)
    if smaller or _looks_like_return_address(text):
        return first
    if block.above and _looks_like_return_address(block.above[-1][1]):
        return block.above[-1][0]  # separated from the recipient by the endorsement zone
    return None


def _looks_like_return_address(text: str) -> bool:
    return any(mark in text for mark in _RETURN_MARKS) or _POSTCODE_INSIDE.match(text) is not None
