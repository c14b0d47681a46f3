"""Image preprocessing of one scanned page before OCR: borders, blank check, orientation, skew, binarisation.

Every measurement runs on a reduced copy of the page (about 100 dpi, :func:`reduce`); the full-resolution
image is touched only by the few operations that must change it (whitening the scanner border, an orthogonal
rotation, the deskew rotation and, where it helps, binarisation). That keeps the whole stage at a few tens of
milliseconds on a 300 dpi A4 page, against 1-3 s for Tesseract on the same page.

Conventions:

* skew angles are in degrees, positive when the content is rotated counter-clockwise on screen;
  :func:`deskew` rotates it back;
* ``rotation`` is the clockwise rotation in degrees (0/90/180/270) applied to make the page upright, the
  same number Tesseract's OSD prints as ``Rotate:``.

The stage order in :func:`prepare_page` is: reduce → find the scanner border → quality and blank check
(a blank page stops here) → skew → orientation (the OSD oracle only when the page looks wrong) →
full-resolution border whitening, rotation and deskew → binarisation where it helps. The border comes
first because a dark scanner edge would otherwise count as ink and pull the skew estimate towards the
edge's angle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter

import cv2
import numpy as np

from mailroom.model import PageQuality

MEASURE_DPI = 100
"""Resolution of the reduced copy that all measurements run on."""

MIN_DESKEW_DEGREES = 0.1
"""Below this the full-resolution rotation is skipped: it cannot change what Tesseract reads."""

MAX_SKEW_DEGREES = 7.0
"""Search range of the skew estimate (scans are specified up to ±5°)."""

UPRIGHT_MIN_SCORE = 0.1
"""Ascender/descender asymmetry above which a page with horizontal lines counts as upright."""

UPRIGHT_MIN_EVIDENCE = 300.0
"""Ink (reduced pixels in the line tails) needed before the asymmetry is trusted at all."""

SIDEWAYS_RATIO = 1.0
"""Column-to-row profile sharpness above which the text lines are taken to run vertically."""

UNEVEN_LIGHT_SPREAD = 0.25
"""Relative spread of the paper brightness above which binarisation normalises the background first."""

Image = np.ndarray
OrientationOracle = Callable[[Image], int | None]
"""Given a page image, the clockwise rotation (0/90/180/270) that makes it upright, or None if unsure."""


@dataclass(frozen=True)
class OrientationGuess:
    """The cheap orientation heuristic's verdict.

    ``rotation`` is its best guess of the clockwise rotation needed; ``looks_wrong`` says whether the page
    should be shown to the OSD oracle; ``score`` is the ascender/descender asymmetry of the text lines
    (about +0.3..+0.7 upright, negative upside down, 0 when there is too little text to tell).
    """

    rotation: int
    looks_wrong: bool
    score: float


@dataclass(frozen=True)
class QualityMeasures:
    """Image measures of a reduced page (see :class:`mailroom.model.PageQuality`)."""

    sharpness: float
    contrast: float
    ink_ratio: float


@dataclass
class PreparedPage:
    """The page image handed to OCR, its dpi, its quality record and the cost of each step in ms."""

    image: Image
    dpi: int
    quality: PageQuality
    timings_ms: dict[str, float] = field(default_factory=dict)


def _percentile(image: Image, share: float) -> float:
    """The grey level below which ``share`` of the pixels lie (from the histogram: cheap on uint8)."""
    cumulative = np.bincount(image.ravel(), minlength=256).cumsum()
    return float(np.searchsorted(cumulative, cumulative[-1] * share))


# --- reduction and ink ------------------------------------------------------------------------------------


def reduce(image: Image, dpi: int) -> tuple[Image, float]:
    """A copy reduced by an integer factor to about :data:`MEASURE_DPI`, and its scale (small/full).

    Each reduced pixel is the mean of a factor × factor block (a box filter sampled at the block centres:
    the same as ``INTER_AREA`` and several times cheaper).
    """
    factor = max(1, round(dpi / MEASURE_DPI))
    if factor == 1:
        return image, 1.0
    h, w = image.shape
    start = factor // 2
    rows, cols = slice(start, h - h % factor, factor), slice(start, w - w % factor, factor)
    return np.ascontiguousarray(cv2.blur(image, (factor, factor))[rows, cols]), 1.0 / factor


def paper_background(small: Image) -> Image:
    """The local paper brightness: a grey-level closing that removes strokes thinner than ~2 mm."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
    return cv2.blur(cv2.dilate(small, kernel), (9, 9))


def ink_mask(small: Image) -> Image:
    """Pixels at least 40 % darker than the paper around them (uint8 0/1).

    Relative to the local paper, so that uneven illumination, bleed-through from the back side (only a few
    per cent darker) and sensor noise do not count as ink.
    """
    background = paper_background(small).astype(np.uint16)
    return (small.astype(np.uint16) * 5 < background * 3).astype(np.uint8)


# --- scanner borders --------------------------------------------------------------------------------------


def border_mask(small: Image) -> Image:
    """The dark area around the sheet (uint8, 255 = outside the paper) on the reduced page.

    The sheet is the largest bright region after closing the gaps that text leaves in it; everything outside
    its outer contour, plus a 2-pixel seam for the shadowed paper edge, is border. A page that is not mostly
    bright paper gets an empty mask: nothing is removed when the sheet cannot be found.
    """
    h, w = small.shape
    light = _percentile(small, 0.9)
    bright = cv2.morphologyEx(
        (small > light * 0.5).astype(np.uint8),
        cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15)),
    )
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    outside = np.zeros_like(small)
    if count < 2:
        return outside
    sheet = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[sheet, cv2.CC_STAT_AREA] < 0.5 * h * w:
        return outside
    contours, _ = cv2.findContours(
        (labels == sheet).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    paper = np.zeros_like(small)
    cv2.drawContours(paper, contours, -1, 255, thickness=cv2.FILLED)
    paper = cv2.erode(paper, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)), borderValue=255)
    return cv2.bitwise_not(paper)


def whiten(image: Image, mask: Image) -> Image:
    """``image`` with the pixels under ``mask`` (255, any resolution) set to white."""
    if not mask.any():
        return image
    h, w = image.shape
    if mask.shape != image.shape:
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    return cv2.max(image, mask)


def clean_borders(image: Image, dpi: int) -> Image:
    """Remove dark scanner borders and edges around the sheet (filled with white)."""
    small, _ = reduce(image, dpi)
    return whiten(image, border_mask(small))


# --- binarisation ------------------------------------------------------------------------------------------


def illumination_spread(small: Image) -> float:
    """How unevenly the paper is lit: relative spread (0..1) of the paper brightness inside the margins.

    The paper brightness is a grey-level closing over ~8 mm, wide enough to swallow headings and logos.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (31, 31))
    paper = cv2.dilate(small, kernel)[_inner(small, 0.05)]
    high = _percentile(paper, 0.95)
    return (high - _percentile(paper, 0.05)) / max(high, 1.0)


def binarise(image: Image, dpi: int) -> Image:
    """Black-and-white version of the page for OCR: Otsu's global threshold on a 3×3 box-smoothed page.

    The smoothing keeps sensor noise from splitting the paper's grey levels (on a sparse, noisy page plain
    Otsu lands inside the paper peak and turns the paper into speckle that costs Tesseract minutes). Under
    uneven illumination (:func:`illumination_spread` above :data:`UNEVEN_LIGHT_SPREAD`) the page is first
    divided by its paper brightness, estimated on the reduced copy, so that one threshold fits the whole page.
    """
    small, _ = reduce(image, dpi)
    if illumination_spread(small) > UNEVEN_LIGHT_SPREAD:
        h, w = image.shape
        paper = cv2.resize(paper_background(small), (w, h), interpolation=cv2.INTER_LINEAR)
        image = cv2.divide(image, paper, scale=255)
    _, out = cv2.threshold(cv2.blur(image, (3, 3)), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return out


# --- quality and blank pages ------------------------------------------------------------------------------


def _inner(small: Image, margin: float) -> tuple[slice, slice]:
    """The page without a margin of ``margin`` (fraction of width and height) on each side."""
    h, w = small.shape
    dy, dx = round(h * margin), round(w * margin)
    return slice(dy, h - dy), slice(dx, w - dx)


def measure_quality(small: Image) -> QualityMeasures:
    """Sharpness (variance of the Laplacian), contrast (paper grey minus darkest ink grey) and ink ratio.

    All three are taken inside a 5 % margin, where scanner edges and punch holes do not reach.
    """
    inner = _inner(small, 0.05)
    sharpness = float(cv2.Laplacian(small[inner], cv2.CV_32F).var())
    dark, light = _percentile(small[inner], 0.005), _percentile(small[inner], 0.9)
    ink_ratio = float(ink_mask(small)[inner].mean())
    return QualityMeasures(sharpness=sharpness, contrast=float(light - dark), ink_ratio=ink_ratio)


def text_line_count(small: Image, dpi: float = MEASURE_DPI) -> int:
    """How many line-like ink clusters (at least ~12 mm wide, 1-15 mm tall) lie inside the margins.

    Ink pixels are smeared sideways over ~2.5 mm so that the letters of a word or line merge, while isolated
    dust specks, punch holes (in the excluded side margins) and bleed-through (not ink) stay small or absent.
    """
    inner = ink_mask(small)[_inner(small, 0.08)]
    per_mm = dpi / 25.4
    smeared = cv2.dilate(inner, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, round(2.5 * per_mm)), 1)))
    _, _, stats, _ = cv2.connectedComponentsWithStats(smeared, connectivity=8)
    widths, heights = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    lines = (widths >= 12 * per_mm) & (heights >= 1 * per_mm) & (heights <= 15 * per_mm)
    return int(lines.sum())


def is_blank(small: Image, dpi: float = MEASURE_DPI) -> bool:
    """True for an empty page (duplex back with noise, dust or bleed-through); False if a text line is on it.

    ``dpi`` is the resolution of the reduced page (``dpi * scale`` from :func:`reduce`).
    """
    return text_line_count(small, dpi) == 0


# --- skew ---------------------------------------------------------------------------------------------------


def _ink_points(small: Image) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates (float32, centred on the page's central pixel) of the ink pixels."""
    h, w = small.shape
    ys, xs = np.nonzero(ink_mask(small))
    return (ys - h // 2).astype(np.float32), (xs - w // 2).astype(np.float32)


def _profile_score(along: np.ndarray, across: np.ndarray, degrees: float) -> float:
    """Sharpness of the projection profile of points sheared by ``degrees``: sum of squared bin differences.

    ``along`` is the coordinate the profile is taken over (rows for horizontal text lines), ``across`` the
    other one. Text lines that line up with the shear give narrow, tall peaks and a high score.
    """
    bins = np.floor(along + across * np.float32(np.tan(np.radians(degrees)))).astype(np.int32)
    hist = np.bincount(bins - bins.min()).astype(np.float64)
    steps = np.diff(hist)
    return float(steps @ steps)


def _best_angle(along: np.ndarray, across: np.ndarray, angles: np.ndarray) -> tuple[float, float]:
    """The angle with the sharpest profile among ``angles`` (refined by a parabola) and its score."""
    scores = np.array([_profile_score(along, across, float(a)) for a in angles])
    i = int(np.argmax(scores))
    best = float(angles[i])
    if 0 < i < len(angles) - 1:
        left, mid, right = scores[i - 1], scores[i], scores[i + 1]
        curvature = left - 2 * mid + right
        if curvature < 0:
            best += 0.5 * (left - right) / curvature * float(angles[1] - angles[0])
    return best, float(scores[i])


def estimate_skew(small: Image) -> float:
    """The skew of the text lines in degrees (positive = content rotated counter-clockwise on screen).

    Coarse-to-fine projection-profile search on the ink of the reduced page: 0.5° steps over ±7° on every
    third ink pixel, then 0.1° steps around the best on all of them, then a parabola through the three best
    scores. Returns 0.0 for a page with (almost) no ink.
    """
    ys, xs = _ink_points(small)
    if len(ys) < 200:
        return 0.0
    coarse, _ = _best_angle(ys[::3], xs[::3], np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 0.01, 0.5))
    fine, _ = _best_angle(ys, xs, coarse + np.arange(-0.5, 0.51, 0.1))
    return round(fine, 2)


def deskew(image: Image, angle: float) -> Image:
    """Rotate ``image`` by ``-angle`` about its centre (same size, white fill); no-op below 0.1°."""
    if abs(angle) < MIN_DESKEW_DEGREES:
        return image
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


# --- orientation --------------------------------------------------------------------------------------------


def rotate_orthogonal(image: Image, rotation: int) -> Image:
    """Rotate ``image`` clockwise by 0, 90, 180 or 270 degrees."""
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    if rotation % 360 == 0:
        return image
    return cv2.rotate(image, codes[rotation % 360])


def _runs(present: np.ndarray) -> np.ndarray:
    """``(start, end)`` pairs of the runs of True in a 1-D boolean array (end exclusive)."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], present.view(np.int8), [0]))))
    return edges.reshape(-1, 2)


def ascender_asymmetry(ink: Image, dpi: float = MEASURE_DPI) -> tuple[float, float]:
    """How much more ink sits above the x-height band of the text lines than below it.

    Latin script, and German with its capitalised nouns even more, has far more ascenders (b d f h k l t,
    capitals, digits, i-dots, umlauts) than descenders (g j p q y). The page is cut into ~4 cm wide strips so
    that a residual skew of a few tenths of a degree does not smear the line profiles; in each strip every
    text line's row profile is split into the x-height band (rows with at least half the line's peak ink), the
    tail above and the tail below. Returns ``(score, evidence)``: ``(above - below) / (above + below)`` over
    all lines (positive = upright) and ``above + below`` in pixels.
    """
    w = ink.shape[1]
    strip = max(16, round(1.6 * dpi))
    min_height, max_height = max(4, round(0.04 * dpi)), round(0.4 * dpi)
    above = below = 0.0
    for x0 in range(0, w, strip):
        profile = ink[:, x0 : x0 + strip].sum(axis=1, dtype=np.int32)
        present = profile > 0
        present[1:-1] |= present[:-2] & present[2:]  # keep i-dots and umlauts with their line
        for start, end in _runs(present):
            if not min_height <= end - start <= max_height:
                continue
            line = profile[start:end]
            core = np.flatnonzero(line >= 0.5 * line.max())
            above += float(line[: core[0]].sum())
            below += float(line[core[-1] + 1 :].sum())
    evidence = above + below
    return ((above - below) / evidence if evidence else 0.0), evidence


def guess_orientation(small: Image, skew: float = 0.0, dpi: float = MEASURE_DPI) -> OrientationGuess:
    """Whether a reduced page looks sideways or upside down (cheap; the OSD oracle decides).

    ``skew`` is the page's :func:`estimate_skew`, ``dpi`` the resolution of ``small``. Sideways: the column
    profile of the ink, at its best angle within ±7°, is sharper than the row profile at the skew angle
    (text lines run vertically). Upside down: the :func:`ascender_asymmetry` of the deskewed lines is not
    clearly positive; with too little text to tell, the page also counts as looking wrong, so that
    upside-down pages are practically never waved through.
    """
    ys, xs = _ink_points(small)
    if len(ys) < 200:
        return OrientationGuess(rotation=0, looks_wrong=False, score=0.0)
    ys, xs = ys[::3], xs[::3]  # a ratio of several times needs no more
    horizontal = _profile_score(ys, xs, skew)
    column_skew, vertical = _best_angle(xs, ys, np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 0.01, 0.5))
    if vertical > SIDEWAYS_RATIO * horizontal:
        # turned a quarter clockwise, columns sheared by column_skew become rows skewed by -column_skew
        score, _ = ascender_asymmetry(ink_mask(deskew(rotate_orthogonal(small, 90), -column_skew)), dpi)
        return OrientationGuess(rotation=90 if score >= 0 else 270, looks_wrong=True, score=score)
    score, evidence = ascender_asymmetry(ink_mask(deskew(small, skew)), dpi)
    looks_wrong = score < UPRIGHT_MIN_SCORE or evidence < UPRIGHT_MIN_EVIDENCE * (dpi / MEASURE_DPI) ** 2
    return OrientationGuess(rotation=0 if score >= 0 else 180, looks_wrong=looks_wrong, score=score)


# --- the composed stage -------------------------------------------------------------------------------------


class _Stopwatch:
    """Adds the wall time since the previous lap to a step's total, in milliseconds."""

    def __init__(self) -> None:
        self.timings_ms: dict[str, float] = {}
        self._last = perf_counter()

    def lap(self, step: str) -> None:
        now = perf_counter()
        self.timings_ms[step] = self.timings_ms.get(step, 0.0) + (now - self._last) * 1000
        self._last = now


def prepare_page(
    image: Image, dpi: int, *, orientation_oracle: OrientationOracle | None = None
) -> PreparedPage:
    """Make a scanned page ready for OCR and measure it (see the module docstring for the step order).

    ``orientation_oracle`` (Tesseract OSD, supplied by the pipeline) is asked only when
    :func:`guess_orientation` says the page looks wrong; without an oracle, or when it is unsure, the page
    is left in the orientation it came in. A blank page is returned unchanged after the quality step.
    Binarisation is applied only under uneven illumination, where it measurably helps Tesseract; on evenly
    lit pages Tesseract's own thresholding of the grey image reads as well or slightly better.
    """
    watch = _Stopwatch()
    small, scale = reduce(image, dpi)
    small_dpi = dpi * scale
    watch.lap("reduce")
    border = border_mask(small)
    small = whiten(small, border)
    watch.lap("borders")
    measures = measure_quality(small)
    blank = is_blank(small, small_dpi)
    watch.lap("quality")
    if blank:
        quality = PageQuality(
            sharpness=measures.sharpness, contrast=measures.contrast, ink_ratio=measures.ink_ratio, blank=True
        )
        return PreparedPage(image=image, dpi=dpi, quality=quality, timings_ms=watch.timings_ms)

    skew = estimate_skew(small)
    watch.lap("skew")
    guess = guess_orientation(small, skew, small_dpi)
    watch.lap("orientation")
    page = whiten(image, border)
    watch.lap("borders")
    rotation = 0
    if guess.looks_wrong and orientation_oracle is not None:
        answer = orientation_oracle(page)
        watch.lap("osd")
        rotation = answer % 360 if answer in (0, 90, 180, 270) else 0
        if rotation in (90, 270):
            skew = estimate_skew(rotate_orthogonal(small, rotation))
            watch.lap("skew")
    page = deskew(rotate_orthogonal(page, rotation), skew)
    watch.lap("deskew")
    if illumination_spread(small) > UNEVEN_LIGHT_SPREAD:
        page = binarise(page, dpi)
    watch.lap("binarise")
    quality = PageQuality(
        skew_degrees=skew,
        rotation=rotation,
        sharpness=measures.sharpness,
        contrast=measures.contrast,
        ink_ratio=measures.ink_ratio,
    )
    return PreparedPage(image=page, dpi=dpi, quality=quality, timings_ms=watch.timings_ms)
