"""Text that Tesseract's page layout analysis dropped, found and read again.

Tesseract (``--psm 3``) sometimes discards a whole column of clearly printed text as "not text": on the totals
table of the FeRD sample invoices, for example, the bold gross total and the amount due vanish from the
output of a straight page while the same page rotated by one degree reads them. Whatever the cause, the
symptom can be measured: ink that looks like a line of text where no recognised word lies.

:func:`missed_regions` finds such ink (on a ~100 dpi copy: a few milliseconds per page), :func:`strip` cuts the
regions out of the full-resolution page and stacks them into one small image that Tesseract reads with
``--psm 6`` (one extra run, only on pages that need it), and :func:`place_words` moves the words read there
back to their places on the page. Ruling lines, specks, logos and stamps are no text lines: long lines are
removed first; a region must have the height of a text line and several characters; words read with low
confidence or fewer than two letters or digits are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from intake.preprocess import MEASURE_DPI, Image, ink_mask, reduce
from mailroom.model import Block, Box, Line, Word

#: Ink of a text line is between these heights (inches): 6 pt captions to 28 pt headings.
MIN_LINE_HEIGHT_IN = 0.06
MAX_LINE_HEIGHT_IN = 0.4
#: A region narrower than this (inches) is a speck, a dot or a stray mark.
MIN_REGION_WIDTH_IN = 0.12
#: Characters closer than this (inches) belong to one region (the gap between words of a line).
JOIN_GAP_IN = 0.12
#: Ruling lines at least this long (inches) are removed before looking for text.
RULE_LENGTH_IN = 0.5
#: Recognised words are widened by this much (inches) when their ink is taken off the page.
WORD_MARGIN_IN = 0.03
#: A text line's ink covers this share of its box, and it has at least this many characters of line height.
MIN_INK_DENSITY = 0.08
MAX_INK_DENSITY = 0.6
MIN_CHARACTERS = 3
#: At most this many regions are read again per page (a photo or a dense stamp is not worth more).
MAX_REGIONS = 24
#: Padding around each region and white space between regions in the strip (inches).
PAD_IN = 0.06
GAP_IN = 0.25
#: Words read again with less confidence (0..100) than this are dropped: a logo read as text is noise.
MIN_WORD_CONFIDENCE = 60.0


@dataclass(frozen=True)
class Placement:
    """Where one region of the strip came from: rows ``top``..``bottom`` of the strip hold the page's ``box``."""

    top: int
    bottom: int
    box: Box


def _inches(value: float, dpi: float) -> int:
    return max(1, round(value * dpi))


def missed_regions(image: Image, dpi: int, blocks: list[Block]) -> list[Box]:
    """Boxes (page pixels) of text-like ink that no recognised word covers, top to bottom, at most
    :data:`MAX_REGIONS`."""
    small, scale = reduce(image, dpi)
    small_dpi = dpi * scale
    ink = ink_mask(small) * np.uint8(255)
    for kernel in ((_inches(RULE_LENGTH_IN, small_dpi), 1), (1, _inches(RULE_LENGTH_IN, small_dpi))):
        rules = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        ink[cv2.dilate(rules, np.ones((3, 3), np.uint8)) > 0] = 0
    margin = WORD_MARGIN_IN * small_dpi
    for block in blocks:
        for line in block.lines:
            for word in line.words:
                x0, y0, x1, y1 = word.box
                ink[
                    max(0, int(y0 * scale - margin)) : int(y1 * scale + margin) + 1,
                    max(0, int(x0 * scale - margin)) : int(x1 * scale + margin) + 1,
                ] = 0
    joined = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (_inches(JOIN_GAP_IN, small_dpi), 1)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    low, high = MIN_LINE_HEIGHT_IN * small_dpi, MAX_LINE_HEIGHT_IN * small_dpi
    min_width = MIN_REGION_WIDTH_IN * small_dpi
    boxes: list[Box] = []
    for label in range(1, count):
        x, y, w, h, _ = (int(v) for v in stats[label])
        if not (low <= h <= high and w >= min_width):
            continue
        if w < h or not _looks_like_text(ink[y : y + h, x : x + w]):
            continue
        boxes.append((round(x / scale), round(y / scale), round((x + w) / scale), round((y + h) / scale)))
    boxes.sort(key=lambda b: (b[1], b[0]))
    return boxes[:MAX_REGIONS]


def _looks_like_text(region: Image) -> bool:
    """Several characters of about the same height, neither hairlines nor solid bars: a signature, a fold mark
    or a punched hole is one or two large strokes."""
    dense = cv2.countNonZero(region) / region.size
    if not MIN_INK_DENSITY <= dense <= MAX_INK_DENSITY:
        return False
    count, _, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
    height = region.shape[0]
    tall = sum(1 for label in range(1, count) if stats[label][3] >= 0.4 * height and stats[label][2] <= 1.5 * height)
    return tall >= MIN_CHARACTERS


def strip(image: Image, dpi: int, regions: list[Box]) -> tuple[Image, list[Placement]]:
    """The regions cut out of the page (padded) and stacked top to bottom with white space between them."""
    pad, gap = _inches(PAD_IN, dpi), _inches(GAP_IN, dpi)
    height, width = image.shape[:2]
    crops: list[tuple[Image, Box]] = []
    for x0, y0, x1, y1 in regions:
        box = (max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad))
        crops.append((image[box[1] : box[3], box[0] : box[2]], box))
    strip_width = max(c.shape[1] for c, _ in crops) + 2 * gap
    strip_height = sum(c.shape[0] for c, _ in crops) + gap * (len(crops) + 1)
    out = np.full((strip_height, strip_width), 255, dtype=np.uint8)
    placements: list[Placement] = []
    top = gap
    for crop, box in crops:
        out[top : top + crop.shape[0], gap : gap + crop.shape[1]] = crop
        placements.append(Placement(top, top + crop.shape[0], (box[0] - gap, box[1] - top, box[2], box[3])))
        top += crop.shape[0] + gap
    return out, placements


def place_words(blocks: list[Block], placements: list[Placement]) -> list[Block]:
    """The words read on the strip, moved to their places on the page: one block per region, confident words
    only."""
    found: dict[int, list[Word]] = {}
    for block in blocks:
        for line in block.lines:
            for word in line.words:
                if word.confidence < MIN_WORD_CONFIDENCE or sum(c.isalnum() for c in word.text) < 2:
                    continue
                centre = (word.box[1] + word.box[3]) / 2
                index = next((i for i, p in enumerate(placements) if p.top <= centre <= p.bottom), None)
                if index is None:
                    continue
                dx, dy = placements[index].box[0], placements[index].box[1]
                x0, y0, x1, y1 = word.box
                found.setdefault(index, []).append(
                    word.model_copy(update={"box": (x0 + dx, y0 + dy, x1 + dx, y1 + dy)})
                )
    out: list[Block] = []
    for index in sorted(found):
        words = sorted(found[index], key=lambda w: w.box[0])
        box = (min(w.box[0] for w in words), min(w.box[1] for w in words),
               max(w.box[2] for w in words), max(w.box[3] for w in words))
        out.append(Block(lines=[Line(words=words, box=box)], box=box))
    return out


__all__ = ["MEASURE_DPI", "Placement", "missed_regions", "place_words", "strip"]
