"""Millimetre geometry on a page: rectangles, residual-skew estimation and the spatial relations of rules.

Boxes arrive in page pixels (``mailroom.model``); rules speak millimetres. A scan that was deskewed still
carries a residual tilt of a degree or two, so a line of text drifts a few millimetres over the width of the
sheet. We estimate that tilt from the OCR lines themselves (median slope of the word centres of each line) and
compare positions in *deskewed* coordinates, rotated back about the page centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from mailroom.model import Page

#: Largest residual skew we correct; beyond it the page was not deskewed at all and slopes are noise.
MAX_SKEW_DEGREES = 10.0


@dataclass(frozen=True, slots=True)
class RectMm:
    """An axis-parallel rectangle in millimetres (deskewed page coordinates)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def union(self, other: RectMm) -> RectMm:
        return RectMm(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )

    def gap(self, other: RectMm) -> float:
        """Shortest distance between the two rectangles (0 when they touch or overlap)."""
        dx = max(0.0, other.x0 - self.x1, self.x0 - other.x1)
        dy = max(0.0, other.y0 - self.y1, self.y0 - other.y1)
        return math.hypot(dx, dy)

    def rounded(self) -> list[float]:
        return [round(self.x0, 1), round(self.y0, 1), round(self.x1, 1), round(self.y1, 1)]


def estimate_skew(page: Page) -> float:
    """Residual skew in radians: the median slope of the OCR lines (image y grows downwards)."""
    slopes: list[float] = []
    for line in page.lines():
        if len(line.words) < 2:
            continue
        first, last = line.words[0].box, line.words[-1].box
        dx = (last[0] + last[2]) / 2 - (first[0] + first[2]) / 2
        if page.px_to_mm(dx) < 20:
            continue
        dy = (last[1] + last[3]) / 2 - (first[1] + first[3]) / 2
        slopes.append(math.atan2(dy, dx))
    if not slopes:
        return 0.0
    angle = median(slopes)
    return angle if abs(angle) <= math.radians(MAX_SKEW_DEGREES) else 0.0


class Deskewer:
    """Maps pixel boxes of one page to deskewed millimetre rectangles."""

    def __init__(self, page: Page) -> None:
        self.scale = 25.4 / page.dpi
        angle = estimate_skew(page)
        self.cos, self.sin = math.cos(angle), math.sin(angle)
        self.cx, self.cy = page.width / 2, page.height / 2

    def rect(self, box: tuple[int, int, int, int]) -> RectMm:
        """The box rotated back about the page centre (its centre moves; its size stays), in mm."""
        x, y = (box[0] + box[2]) / 2 - self.cx, (box[1] + box[3]) / 2 - self.cy
        rx = self.cx + x * self.cos + y * self.sin
        ry = self.cy - x * self.sin + y * self.cos
        hw, hh = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
        s = self.scale
        return RectMm((rx - hw) * s, (ry - hh) * s, (rx + hw) * s, (ry + hh) * s)


# --- spatial relations between two rectangles (deskewed) -------------------------------------------


def same_line(a: RectMm, b: RectMm) -> bool:
    """Vertical centres closer than half the taller height: on one text line."""
    return abs(a.cy - b.cy) <= 0.5 * max(a.height, b.height)


def left_of(a: RectMm, b: RectMm) -> bool:
    """``a`` ends before ``b`` starts, on the same line (1 mm slack for touching boxes)."""
    return a.x1 <= b.x0 + 1.0 and same_line(a, b)


def above(a: RectMm, b: RectMm) -> bool:
    """``a`` is on a higher line than ``b`` and they share some horizontal extent (the same column)."""
    return a.cy < b.cy and not same_line(a, b) and a.x0 <= b.x1 and b.x0 <= a.x1


def reads_before(a: RectMm, b: RectMm) -> bool:
    """Reading order: ``b`` follows ``a`` on the same line, or on any lower line."""
    if same_line(a, b):
        return a.x1 <= b.x0 + 1.0
    return a.cy < b.cy


RELATION_TESTS = {
    "near": lambda a, b: True,
    "left_of": left_of,
    "right_of": lambda a, b: left_of(b, a),
    "above": above,
    "below": lambda a, b: above(b, a),
    "same_line": same_line,
}
