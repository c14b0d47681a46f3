"""DIN 5008 zones of a letter's first page from its words and boxes: address field, information block and
subject.

The zones are found from the text itself, not from fixed coordinates, so that form A and B, older layouts,
scanner offsets of ±10 mm and residual skew all work:

1. words become *segments*: runs of words on one visual line with no gap wider than :data:`WORD_GAP_MM`
   (built left to right, so a residual skew of a degree does not break them);
2. the recipient block is a stack of left-aligned segments in the upper-left part of the page that ends with a
   postcode line (``12345 Musterstadt``, ``D-12345 ...``); the small-print line above it with the postcode in
   the middle (``Firma · Straße 1 · 12345 Ort``) is the *return address*: the sender, never the recipient;
   endorsement lines (``Einschreiben``, ``Persönlich/Vertraulich``) are kept apart;
3. the form follows from the distance between return address and first address line (12.7 mm Vermerkzone in
   form A, 17.7 mm in form B), else from the information block's position relative to the address, else from
   the address field's absolute position;
4. the information block is the label/value rows right of the address field; the subject is the first line(s)
   under both, up to the salutation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rapidfuzz import fuzz

from mailroom.model import Page

BoxMm = tuple[float, float, float, float]

WORD_GAP_MM = 6.0  # wider gaps split a visual line into segments (address field | information block)
ZONE_BOTTOM_MM = 170.0  # zones of page 1 lie above this
LEFT_COLUMN_MAX_X0_MM = 70.0  # address lines start left of this (25 mm in DIN 5008, tolerant)
RIGHT_COLUMN_MIN_X0_MM = 100.0  # information block rows start right of this (125 mm in DIN 5008)
ADDRESS_LINE_GAP_MM = 4.6  # most white space between two lines of one address block
RETURN_LINE_SEARCH_MM = 20.0  # how far above the address the return-address line may lie
FORM_B_VERMERK_MM = 14.7  # return line to first address line: ~12.2 mm in form A, ~17.2 mm in form B
FORM_B_INFO_MM = 11.0  # information block starts ~8.6 mm (A) / ~13.5 mm (B) above the first address line
FORM_B_ADDRESS_TOP_MM = 53.0  # first address line at ~41 mm (A) / ~64 mm (B) from the top

_POSTCODE_START = re.compile(r"^\s*(?:D\s?-\s?)?[0-9OIlS]{5}\s+\S")
_POSTCODE_INSIDE = re.compile(r"\S.*(?<![\d])\d{5}\s+\S")
_SEPARATORS = re.compile(r"[·•|*,;]|\s[-–—]\s")
_ENDORSEMENTS = re.compile(
    r"^[-–\s]*(?:einschreiben|einwurf|rückschein|persönlich|vertraulich|per boten|eilt|eilig|"
    r"nicht nachsenden|/|[-–]|\s)+$",
    re.IGNORECASE,
)
_SALUTATION = re.compile(r"^(?:sehr geehrte|guten tag|hallo|liebe|dear|to whom)", re.IGNORECASE)
_SUBJECT_PREFIX = re.compile(r"^\s*(?:betreff|betr\.?)\s*:?\s*", re.IGNORECASE)
_DATE = re.compile(r"\d{1,2}\.\s?(?:\d{1,2}\.|[A-Za-zÄÖÜäöü]+)\s?\d{2,4}")
_INFO_LABELS = {
    "your_reference": ("ihr zeichen", "ihre zeichen", "ihr aktenzeichen", "ihr az"),
    "your_message_date": ("ihre nachricht vom", "ihr schreiben vom", "ihre mail vom"),
    "our_reference": ("unser zeichen", "unser aktenzeichen"),
    "date": ("datum",),
}


@dataclass(frozen=True)
class Segment:
    """Words on one visual line without a wide gap, in millimetres of the page."""

    text: str
    box: BoxMm
    height: float  # median word height

    @property
    def x0(self) -> float:
        return self.box[0]

    @property
    def top(self) -> float:
        return self.box[1]

    @property
    def bottom(self) -> float:
        return self.box[3]

    @property
    def yc(self) -> float:
        return (self.box[1] + self.box[3]) / 2


@dataclass(frozen=True)
class AddressField:
    """The recipient as printed: address lines (without return address and endorsement) and where."""

    lines: tuple[str, ...]
    box_mm: BoxMm
    return_address: str | None
    form: str | None  # "A" | "B"
    endorsement: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class InfoBlock:
    """The information block: its rows (label, value) and the values mailroom cares about."""

    rows: tuple[tuple[str, str], ...]
    box_mm: BoxMm
    your_reference: str | None = None  # "Ihr Zeichen": the town's own Aktenzeichen
    your_message_date: str | None = None  # "Ihre Nachricht vom"
    our_reference: str | None = None  # "Unser Zeichen": the sender's reference
    date: str | None = None


@dataclass(frozen=True)
class Subject:
    text: str
    box_mm: BoxMm


@dataclass(frozen=True)
class LetterZones:
    address: AddressField | None
    info: InfoBlock | None
    subject: Subject | None


def _union(boxes: list[BoxMm]) -> BoxMm:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


class _Open:
    """A segment being built."""

    __slots__ = ("boxes", "heights", "texts")

    def __init__(self, text: str, box: BoxMm) -> None:
        self.texts, self.boxes, self.heights = [text], [box], [box[3] - box[1]]

    def close(self) -> Segment:
        heights = sorted(self.heights)
        return Segment(" ".join(self.texts), _union(self.boxes), heights[len(heights) // 2])


def segments(page: Page, bottom_mm: float = ZONE_BOTTOM_MM) -> list[Segment]:
    """The page's words above ``bottom_mm`` grouped into segments, sorted top to bottom."""
    words = []
    for word in page.words():
        box = page.box_mm(word.box)
        if box[1] < bottom_mm and word.text.strip():
            words.append((box, word.text.strip()))
    words.sort(key=lambda w: w[0][0])
    building: list[_Open] = []
    for box, text in words:
        height = box[3] - box[1]
        yc = (box[1] + box[3]) / 2
        best: _Open | None = None
        best_dy = 0.0
        for seg in building:
            last = seg.boxes[-1]
            gap = box[0] - last[2]
            dy = abs(yc - (last[1] + last[3]) / 2)
            close = -3.0 <= gap <= WORD_GAP_MM and dy < 0.45 * max(height, last[3] - last[1])
            if close and (best is None or dy < best_dy):
                best, best_dy = seg, dy
        if best is None:
            building.append(_Open(text, box))
        else:
            best.texts.append(text)
            best.boxes.append(box)
            best.heights.append(height)
    out = [seg.close() for seg in building]
    out.sort(key=lambda s: (round(s.top), s.x0))
    return out


def _is_postcode_line(text: str) -> bool:
    if not _POSTCODE_START.match(text):
        return False
    return sum(c.isdigit() for c in text.lstrip()[:7]) >= 3


def _is_return_line(seg: Segment, reference_height: float) -> bool:
    """Small print with the sender's postcode in the middle: ``Firma · Straße 1 · 12345 Ort``."""
    if _POSTCODE_START.match(seg.text) or not _POSTCODE_INSIDE.search(seg.text):
        return False
    small = seg.height < 0.85 * reference_height
    return small or _SEPARATORS.search(seg.text) is not None


def _is_endorsement(text: str) -> bool:
    return _ENDORSEMENTS.match(text) is not None


@dataclass
class _Candidate:
    lines: list[Segment]
    return_line: Segment | None


def _candidate(anchor: Segment, left: list[Segment]) -> _Candidate:
    """Walk up from a postcode line over left-aligned lines close above each other."""
    lines = [anchor]
    index = left.index(anchor)
    for seg in reversed(left[:index]):
        current = lines[0]
        if seg.yc > current.yc - 2.0:  # same row (another column, an overlapping OCR box): not above
            continue
        if current.top - seg.bottom > ADDRESS_LINE_GAP_MM or len(lines) >= 9:
            break
        if abs(seg.x0 - anchor.x0) > 6.0 or _is_return_line(seg, anchor.height):
            break
        lines.insert(0, seg)
    top = lines[0].top
    above = [
        s
        for s in left
        if s.bottom <= top + 0.5
        and top - s.top <= RETURN_LINE_SEARCH_MM
        and _is_return_line(s, anchor.height)
    ]
    return _Candidate(lines, max(above, key=lambda s: s.top) if above else None)


def _choose(candidates: list[_Candidate]) -> _Candidate | None:
    """The recipient block: the one under a return line, else the lowest plausible one (letterhead above)."""
    plausible = [c for c in candidates if len(c.lines) >= 2 and 15.0 <= c.lines[0].top <= 105.0]
    if not plausible:
        return None
    with_return = [c for c in plausible if c.return_line is not None]
    pool = with_return or plausible
    return max(pool, key=lambda c: c.lines[-1].top)


def _form(first: Segment, return_line: Segment | None, info_top: float | None) -> str:
    if return_line is not None:
        return "B" if first.top - return_line.top > FORM_B_VERMERK_MM else "A"
    if info_top is not None and first.top - 25.0 <= info_top <= first.top + 10.0:
        return "B" if first.top - info_top > FORM_B_INFO_MM else "A"
    return "B" if first.top > FORM_B_ADDRESS_TOP_MM else "A"


def _address(left: list[Segment]) -> tuple[AddressField, Segment, Segment | None] | None:
    """The address field (form still open), its first address line and its return-address line."""
    anchors = [s for s in left if _is_postcode_line(s.text)]
    chosen = _choose([_candidate(a, left) for a in anchors])
    if chosen is None:
        return None
    endorsement = [s for s in chosen.lines if _is_endorsement(s.text)]
    lines = [s for s in chosen.lines if not _is_endorsement(s.text)]
    if not lines:
        return None
    field = AddressField(
        lines=tuple(s.text for s in lines),
        box_mm=_union([s.box for s in chosen.lines]),
        return_address=chosen.return_line.text if chosen.return_line else None,
        form=None,
        endorsement=" ".join(s.text for s in endorsement) or None,
    )
    return field, lines[0], chosen.return_line


def _label_kind(label: str) -> str | None:
    wanted = label.casefold().rstrip(":. ").strip()
    best, best_score = None, 0.0
    for kind, names in _INFO_LABELS.items():
        for name in names:
            score = fuzz.ratio(wanted, name)
            if score > best_score:
                best, best_score = kind, score
    return best if best_score >= 80 else None


def _rows(segs: list[Segment]) -> list[list[Segment]]:
    """Segments grouped into rows of similar height on the page."""
    rows: list[list[Segment]] = []
    for seg in sorted(segs, key=lambda s: s.yc):
        if rows and abs(rows[-1][0].yc - seg.yc) < 0.5 * max(seg.height, rows[-1][0].height):
            rows[-1].append(seg)
        else:
            rows.append([seg])
    return [sorted(r, key=lambda s: s.x0) for r in rows]


def _split_label(row: list[Segment]) -> tuple[str, str]:
    if len(row) >= 2:
        return row[0].text, " ".join(s.text for s in row[1:])
    label, sep, value = row[0].text.partition(":")
    return (label + sep, value.strip()) if sep else ("", row[0].text)


def _info(right: list[Segment], address: AddressField | None) -> InfoBlock | None:
    if address is not None:
        top, bottom = address.box_mm[1] - 30.0, address.box_mm[3] + 20.0
        segs = [s for s in right if top <= s.top <= bottom]
    else:
        segs = [s for s in right if 20.0 <= s.top <= 110.0]
    found: dict[str, str] = {}
    rows: list[tuple[str, str]] = []
    boxes: list[BoxMm] = []
    for row in _rows(segs):
        label, value = _split_label(row)
        kind = _label_kind(label) if label else None
        date = _DATE.search(value)
        if kind is None and not label and date is not None:
            kind, value = "date", date.group(0)  # "Musterstadt, 12.11.2026" without a label
        if kind is None and not label.endswith(":"):
            continue  # letterhead text, not an information row
        rows.append((label.rstrip(": "), value))
        boxes += [s.box for s in row]
        if kind is not None:
            found.setdefault(kind, value)
    if not rows:
        return None
    return InfoBlock(
        rows=tuple(rows),
        box_mm=_union(boxes),
        your_reference=found.get("your_reference"),
        your_message_date=found.get("your_message_date"),
        our_reference=found.get("our_reference"),
        date=found.get("date"),
    )


def _subject(left: list[Segment], below: float) -> Subject | None:
    lines: list[Segment] = []
    for seg in left:
        if seg.top < below:
            continue
        if _SALUTATION.match(seg.text) or (lines and seg.top - lines[-1].bottom > 3.0):
            break
        lines.append(seg)
        if len(lines) == 3:
            break
    if not lines:
        return None
    text = _SUBJECT_PREFIX.sub("", " ".join(s.text for s in lines)).strip()
    return Subject(text, _union([s.box for s in lines])) if text else None


def find_zones(page: Page) -> LetterZones:
    """Address field, information block and subject of a letter's first page (each ``None`` if not found)."""
    segs = segments(page)
    left = [s for s in segs if s.x0 <= LEFT_COLUMN_MAX_X0_MM and s.box[2] < 125.0]
    right = [s for s in segs if s.x0 >= RIGHT_COLUMN_MIN_X0_MM]
    found = _address(left)
    address = found[0] if found else None
    info = _info(right, address)
    if found is not None:
        info_top = info.box_mm[1] if info is not None else None
        address = replace(found[0], form=_form(found[1], found[2], info_top))
    below = max((z.box_mm[3] for z in (address, info) if z is not None), default=0.0) + 2.0
    body_left = [s for s in segs if s.x0 <= LEFT_COLUMN_MAX_X0_MM]
    subject = _subject(body_left, below) if address is not None else None
    return LetterZones(address=address, info=info, subject=subject)


def find_address_field(page: Page) -> AddressField | None:
    return find_zones(page).address
