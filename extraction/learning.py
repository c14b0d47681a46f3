"""Learning a supplier's layout from one confirmed invoice (DocXtractor's "self-learning").

When a reviewer confirms or corrects the fields of an invoice, :func:`learn_layout` finds each confirmed value
on the page and remembers where it sits relative to an *anchor*: the words just left of it on its row (its
label, whatever the supplier calls it), else the words above it; without any anchor, its absolute position in
millimetres. :func:`apply_layout` reads the supplier's next invoices at those places first: an amount where its
right edge was (amounts stand right-aligned, so one of another width starts elsewhere), else, like every other
field, where its left edge was. Positions are kept in millimetres, so a scan at another resolution reads the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass

from extraction.candidates import _FINDERS, Candidate, _covering, _joined, _ocr_factor
from extraction.labels import FIELD_KINDS, Kind
from extraction.layout import Row, Token, page_rows, similarity
from mailroom.model import MM_PER_INCH, Document

#: Score of a value read at its learned place (the label is the supplier's own, confirmed by a person).
LEARNED_SCORE = 0.97
#: How far (mm) a value may sit from where it was learned: left/up, and right (values vary in length).
SLACK_MM = 3.0
RIGHT_SLACK_MM = 25.0
#: How far left of the learned right edge a right-aligned amount may start (the widest amount's width).
AMOUNT_SPAN_MM = 45.0
MIN_ANCHOR_LETTERS = 3
LEARNABLE = frozenset(f for f, kind in FIELD_KINDS.items() if kind is not Kind.PERIOD)


@dataclass(frozen=True)
class FieldPosition:
    """Where one field sits: offset (mm) of the value's top-left from its anchor's top-left (or from the page's
    top-left when ``anchor`` is None), and the value's size."""

    field: str
    page: int
    anchor: str | None
    anchor_x_mm: float
    anchor_y_mm: float
    dx_mm: float
    dy_mm: float
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class SupplierLayout:
    """The learned positions of one supplier's fields."""

    supplier_id: str
    fields: tuple[FieldPosition, ...]
    seller_name: str | None = None  # the confirmed name: the same on every invoice of the supplier

    def to_json(self) -> str:
        return json.dumps({"supplier_id": self.supplier_id, "fields": [asdict(f) for f in self.fields],
                           "seller_name": self.seller_name})

    @classmethod
    def from_json(cls, text: str) -> SupplierLayout:
        data = json.loads(text)
        return cls(data["supplier_id"], tuple(FieldPosition(**f) for f in data["fields"]), data.get("seller_name"))


def _mm(px: float, dpi: int) -> float:
    return px * MM_PER_INCH / dpi


def _dpi(document: Document, page: int) -> int:
    return next(p.dpi for p in document.pages if p.number == page)


def learn_layout(document: Document, confirmed_fields: Mapping[str, str], supplier_id: str) -> SupplierLayout:
    """Learn where each confirmed field value (contract form: ISO dates, ``"1234.56"``) sits on the page.

    Fields whose value cannot be found on the page are left out (nothing to learn from).
    """
    rows = page_rows(document)
    positions = []
    for field, value in confirmed_fields.items():
        if field not in LEARNABLE or not value:
            continue
        place = _find_value(rows, FIELD_KINDS[field], str(value))
        if place is None:
            continue
        row, tokens = place
        dpi = _dpi(document, row.page)
        positions.append(_position(field, rows, row, tokens, dpi))
    name = confirmed_fields.get("seller_name")
    return SupplierLayout(supplier_id, tuple(positions), " ".join(str(name).split()) if name else None)


def _find_value(rows: list[Row], kind: Kind, value: str) -> tuple[Row, tuple[Token, ...]] | None:
    """The first place on the pages where ``value`` is written (as its field kind parses it)."""
    for row in rows:
        for start in range(len(row.tokens)):
            tokens = row.tokens[start:]
            text, starts = _joined(tokens)
            found = _FINDERS[kind](text)
            if found and found[0][0] == value and found[0][1] == 0:
                return row, _covering(tokens, starts, found[0][1], found[0][2])
    return None


def _anchor(rows: list[Row], row: Row, tokens: tuple[Token, ...]) -> Token | None:
    """The nearest word with letters left of the value on its row, else above it."""
    first = row.tokens.index(tokens[0])
    left = [t for t in row.tokens[:first] if len(t.key) >= MIN_ANCHOR_LETTERS]
    if left:
        return left[-1]
    x0, _, x1, _ = tokens[0].box[0], 0, tokens[-1].box[2], 0
    above = [r for r in rows if r.page == row.page and r.index < row.index][-2:]
    for candidate_row in reversed(above):
        near = [t for t in candidate_row.tokens if len(t.key) >= MIN_ANCHOR_LETTERS and t.box[2] >= x0 - 50
                and t.box[0] <= x1]
        if near:
            return near[0]
    return None


def _position(field: str, rows: list[Row], row: Row, tokens: tuple[Token, ...], dpi: int) -> FieldPosition:
    x0 = min(t.box[0] for t in tokens)
    y0 = min(t.box[1] for t in tokens)
    x1 = max(t.box[2] for t in tokens)
    y1 = max(t.box[3] for t in tokens)
    anchor = _anchor(rows, row, tokens)
    ax, ay = (anchor.box[0], anchor.box[1]) if anchor else (0, 0)
    return FieldPosition(
        field=field, page=row.page, anchor=anchor.key if anchor else None,
        anchor_x_mm=_mm(ax, dpi), anchor_y_mm=_mm(ay, dpi),
        dx_mm=_mm(x0 - ax, dpi), dy_mm=_mm(y0 - ay, dpi), width_mm=_mm(x1 - x0, dpi), height_mm=_mm(y1 - y0, dpi),
    )


def apply_layout(document: Document, layout: SupplierLayout, sources: dict[int, str]) -> list[Candidate]:
    """Candidates read at the learned places; a field whose anchor or value is not found gives none."""
    rows = page_rows(document)
    out = []
    for position in layout.fields:
        if not any(p.number == position.page for p in document.pages):
            continue
        dpi = _dpi(document, position.page)
        origin = _locate_anchor(rows, position, dpi)
        if origin is None:
            continue
        found = _read_at(rows, position, origin, dpi)
        if found is None:
            continue
        value, tokens = found
        out.append(Candidate(
            field=position.field, value=value, score=round(LEARNED_SCORE * _ocr_factor(tokens), 4),
            page=position.page, box=(min(t.box[0] for t in tokens), min(t.box[1] for t in tokens),
                                     max(t.box[2] for t in tokens), max(t.box[3] for t in tokens)),
            source="learned", evidence=f"learned:{position.anchor or 'absolute'}", row=-2,
        ))
    return out


def _locate_anchor(rows: list[Row], position: FieldPosition, dpi: int) -> tuple[float, float] | None:
    """Pixel top-left of the anchor word nearest to where it was learned (page origin without anchor)."""
    if position.anchor is None:
        return (0.0, 0.0)
    near: list[tuple[float, Token]] = []
    for row in rows:
        if row.page != position.page:
            continue
        for token in row.tokens:
            if token.key and similarity(token.key, position.anchor) >= 0.85:
                distance = abs(_mm(token.box[0], dpi) - position.anchor_x_mm) + abs(
                    _mm(token.box[1], dpi) - position.anchor_y_mm)
                near.append((distance, token))
    if not near:
        return None
    token = min(near, key=lambda item: item[0])[1]
    return float(token.box[0]), float(token.box[1])


def _read_at(
    rows: list[Row], position: FieldPosition, origin: tuple[float, float], dpi: int
) -> tuple[str, tuple[Token, ...]] | None:
    """The value at its learned place. An amount is first looked for ending where the learned one ended (amounts
    stand right-aligned in columns: one of another width starts elsewhere), then, as every other field, starting
    where the learned one started (left-aligned values vary in length to the right)."""
    if FIELD_KINDS[position.field] is Kind.AMOUNT:
        found = _read_right_aligned(rows, position, origin, dpi)
        if found is not None:
            return found
    px = dpi / MM_PER_INCH
    left = origin[0] + (position.dx_mm - SLACK_MM) * px
    right = origin[0] + (position.dx_mm + position.width_mm + RIGHT_SLACK_MM) * px
    for tokens in _rows_at(rows, position, origin, dpi):
        tokens = tuple(t for t in tokens if left <= (t.box[0] + t.box[2]) / 2 <= right and t.box[0] >= left)
        if not tokens:
            continue
        text, starts = _joined(tokens)
        matches = _FINDERS[FIELD_KINDS[position.field]](text)
        if matches:
            value, start, end = matches[0]
            return value, _covering(tokens, starts, start, end)
    return None


def _read_right_aligned(
    rows: list[Row], position: FieldPosition, origin: tuple[float, float], dpi: int
) -> tuple[str, tuple[Token, ...]] | None:
    """An amount whose right edge is within :data:`SLACK_MM` of the learned value's right edge."""
    px = dpi / MM_PER_INCH
    edge = origin[0] + (position.dx_mm + position.width_mm) * px
    for tokens in _rows_at(rows, position, origin, dpi):
        tokens = tuple(t for t in tokens if edge - AMOUNT_SPAN_MM * px <= t.box[0] and t.box[2] <= edge + SLACK_MM * px)
        if not tokens:
            continue
        text, starts = _joined(tokens)
        for value, start, end in reversed(_FINDERS[Kind.AMOUNT](text)):
            covering = _covering(tokens, starts, start, end)
            if abs(max(t.box[2] for t in covering) - edge) <= SLACK_MM * px:
                return value, covering
    return None


def _rows_at(
    rows: list[Row], position: FieldPosition, origin: tuple[float, float], dpi: int
) -> Iterator[tuple[Token, ...]]:
    """The words of each row of the learned page within the learned value's height (with slack)."""
    px = dpi / MM_PER_INCH
    top = origin[1] + (position.dy_mm - SLACK_MM) * px
    bottom = origin[1] + (position.dy_mm + position.height_mm + SLACK_MM) * px
    for row in rows:
        if row.page == position.page:
            yield tuple(t for t in row.tokens if top <= t.centre_y <= bottom)
