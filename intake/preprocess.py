"""Image preprocessing of one scanned page before OCR: borders, blank check, orientation, skew, binarisation.

Every measurement runs on a reduced copy of the page (about 100 dpi, :func:`reduce`) or, for the coarse
features (the scanner border, the paper brightness), on a further halved copy of about 50 dpi. The ink mask
of the reduced copy and its point coordinates are computed once (:func:`ink_mask`, :func:`ink_points`)
and handed to every step that needs them; skew and orientation work on the ink points (a shear of the points
instead of a rotation of the image). The full-resolution image is touched only by the few operations that
must change it (whitening the scanner border, an orthogonal rotation, the deskew rotation and, where it
helps, binarisation), and the search for dashed rules (one erosion). That keeps the whole stage at about
25 ms of CPU on a 200 dpi A4 page (about 40 ms at 300 dpi; most of it the deskew rotation and 5 ms the
dashed rules), against 0.7-3 s for Tesseract on the same page (``bench/bench_preprocess.py`` measures it).

Conventions:

* skew angles are in degrees, positive when the content is rotated counter-clockwise on screen;
  :func:`deskew` rotates it back;
* ``rotation`` is the clockwise rotation in degrees (0/90/180/270) applied to make the page upright, the
  same number Tesseract's OSD prints as ``Rotate:``.

The stage order in :func:`prepare_page` is: reduce → find the scanner border → sharpness → lighting correction
(paper flattened to white, faint ink stretched) → ink mask → quality and blank check (a blank page stops
here) → skew → orientation (the OSD oracle only when the page looks wrong) → full-resolution border whitening,
the same lighting correction, rotation and deskew → binarisation where it helps → dashed rules next to text taken
off (:func:`remove_dashed_rules`). The border comes first because a dark scanner edge would
otherwise count as ink and pull the skew estimate towards the edge's angle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter

import cv2
import numpy as np

from mailroom.errors import UnusablePageSize
from mailroom.model import PageQuality

MEASURE_DPI = 100
"""Resolution of the reduced copy that all measurements run on."""

COARSE_FACTOR = 2
"""The coarse copy (scanner border, paper brightness) is the reduced copy shrunk by this factor (~50 dpi)."""

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

PAPER_WHITE = 225
"""Paper darker than this grey level (grey, coloured, dark paper) is flattened to white before OCR (see
:func:`plan_correction`): Tesseract's global threshold otherwise meets the white of a whitened scanner border or a
deskew wedge next to grey paper and takes the paper for ink (a grey letter in a dark scanner bed read as nothing)."""

FLAT_KERNEL_MM = 8.0
"""The paper brightness for flattening is a grey-level closing over this width: wider than any stroke and most
shaded form fields' text, so that text keeps its darkness relative to the paper (or the shading) around it."""

STRETCH_INK_ABOVE = 110.0
"""After flattening, a page whose darkest ink is still lighter than this (faint print, low contrast, blur) has its
contrast stretched so that the darkest ink lands at :data:`STRETCH_TARGET`."""

STRETCH_TARGET = 40.0
MAX_STRETCH = 6.0
STRETCH_MIN_SHARPNESS = 0.16
STRETCH_MIN_DARKNESS = 0.18
STRETCH_MIN_NOISE = 6.0
"""Stretched only when the darkest ink is at least this share darker than the paper (bleed-through from the back
is about 12 %, and stays a blank page) and this many times the paper's noise (a blank page's noise is no ink)."""

OTSU_FAILS_INK_SHARE = 0.1
"""Faint ink on paper that needs no flattening is stretched and thresholded only when a global Otsu threshold on
the page as it is (what Tesseract does with it) takes more than this share of the page for ink: the threshold then
falls into the paper's noise and Tesseract reads nothing (ink 195 on paper 240: 29 % "ink", no word read; a
letter's text is 3-5 %). Faint print that Otsu still separates from the paper (175 on
240: 3 %) is read best as it is: stretched and thresholded, it read worse than bare Tesseract (CER 0.027 against
0.015), and the page given to Tesseract is never worse than the original. Erring high keeps the stretch (the
earlier behaviour); erring low would leave a page unread, so the bound sits well below the failures seen."""

BLUR_STRIPS = 12
"""Horizontal strips of the full-resolution page the sharpness measure looks at (a cheap sample of the text)."""

MIN_INK_POINTS = 200
"""Fewer ink pixels than this on the reduced page: no skew or orientation can be read from it."""

Image = np.ndarray
OrientationOracle = Callable[[Image], int | None]
"""Given a page image, the clockwise rotation (0/90/180/270) that makes it upright, or None if unsure."""

CLEANED_BORDER_SHARE = 0.01
"""A border (scanner bed, shadow) whitened over more of the sheet than this counts as a cleaned page."""
_COARSE_ANGLES = np.arange(-MAX_SKEW_DEGREES, MAX_SKEW_DEGREES + 0.01, 0.5)
_FINE_OFFSETS = np.arange(-0.5, 0.51, 0.1)
INK_SHARE = 0.6
"""Ink is darker than this share of the paper's brightness (40 % darker)."""
_INK_THRESHOLD = np.ceil(np.arange(256) * INK_SHARE).astype(np.uint8)
"""Per paper grey level, the lowest grey that is no longer ink."""
FAINT_INK_SHARE = 0.8
"""Faint ink (blurred or pale print) is darker than this share of the paper's brightness (20 % darker)."""
_FAINT_THRESHOLD = np.ceil(np.arange(256) * FAINT_INK_SHARE).astype(np.uint8)


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


@dataclass(frozen=True)
class InkPoints:
    """Row and column coordinates (float32, centred on the page's central pixel) of a page's ink pixels."""

    ys: np.ndarray
    xs: np.ndarray

    def __len__(self) -> int:
        return len(self.ys)

    def every(self, step: int) -> InkPoints:
        """Every ``step``-th point (row-major order, so spread evenly over the page)."""
        return InkPoints(self.ys[::step], self.xs[::step])

    def turned(self, rotation: int) -> InkPoints:
        """The points of the page turned clockwise by 0, 90, 180 or 270 degrees."""
        r = rotation % 360
        if r == 90:
            return InkPoints(self.xs, -self.ys)
        if r == 180:
            return InkPoints(-self.ys, -self.xs)
        if r == 270:
            return InkPoints(-self.xs, self.ys)
        return self


@dataclass
class PreparedPage:
    """The page image handed to OCR, its dpi, its quality record and the cost of each step in ms."""

    image: Image
    dpi: int
    quality: PageQuality
    timings_ms: dict[str, float] = field(default_factory=dict)
    cleaned: bool = True
    """Whether the preparation did more than a reading cannot suffer from: changed the grey levels (lighting
    correction, binarisation), turned the page a quarter or half, painted dashed rules or more than
    :data:`CLEANED_BORDER_SHARE` of the sheet white. False: the page was at most deskewed and its thin margins
    whitened, and the page as scanned cannot read any better (the pipeline's re-read of the original is skipped)."""


def _histogram(image: Image) -> np.ndarray:
    """Grey-level histogram (256 bins, float32) of a uint8 image; works on strided views without a copy."""
    return cv2.calcHist([image], [0], None, [256], [0, 256]).ravel()


def _percentile_of(hist: np.ndarray, share: float) -> float:
    """The grey level below which ``share`` of the pixels counted in ``hist`` lie."""
    cumulative = hist.cumsum()
    return float(np.searchsorted(cumulative, cumulative[-1] * share))


def _percentile(image: Image, share: float) -> float:
    """The grey level below which ``share`` of the pixels lie (from the histogram: cheap on uint8)."""
    return _percentile_of(_histogram(image), share)


# --- reduction and ink ------------------------------------------------------------------------------------


def _shrink(image: Image, factor: int) -> Image:
    """The mean of every ``factor`` × ``factor`` block (the remainder rows and columns are dropped).

    For a factor of 2 ``cv2.resize`` with ``INTER_AREA`` has a dedicated vectorised path, about 20 times
    cheaper than a box filter; for other factors (generic and slower there) a box filter sampled at the block
    centres is used.
    """
    if factor == 1:
        return image
    h, w = image.shape
    hs, ws = h // factor, w // factor
    if factor == 2:
        return cv2.resize(image[: hs * 2, : ws * 2], (ws, hs), interpolation=cv2.INTER_AREA)
    start = factor // 2
    rows, cols = slice(start, hs * factor, factor), slice(start, ws * factor, factor)
    return np.ascontiguousarray(cv2.blur(image, (factor, factor))[rows, cols])


def reduce(image: Image, dpi: int) -> tuple[Image, float]:
    """A copy reduced by an integer factor to about :data:`MEASURE_DPI`, and its scale (small/full).

    Each reduced pixel is the mean of a factor × factor block.
    """
    factor = max(1, round(dpi / MEASURE_DPI))
    return _shrink(image, factor), 1.0 / factor


def coarse_copy(small: Image) -> Image:
    """The reduced page shrunk by :data:`COARSE_FACTOR` (about 50 dpi) for coarse features."""
    return _shrink(small, COARSE_FACTOR)


def paper_background(small: Image) -> Image:
    """The local paper brightness: a grey-level closing that removes strokes thinner than ~2 mm."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
    return cv2.blur(cv2.dilate(small, kernel), (9, 9))


def ink_mask(small: Image) -> Image:
    """Pixels at least 40 % darker than the paper around them (uint8 0/1).

    Relative to the local paper, so that uneven illumination, bleed-through from the back side (only a few
    per cent darker) and sensor noise do not count as ink.
    """
    threshold = cv2.LUT(paper_background(small), _INK_THRESHOLD)
    return np.less(small, threshold).view(np.uint8)


def ink_points(ink: Image) -> InkPoints:
    """The coordinates of the ink pixels of an :func:`ink_mask`, centred on the page's central pixel."""
    h, w = ink.shape
    found = cv2.findNonZero(ink)
    if found is None:
        empty = np.zeros(0, np.float32)
        return InkPoints(empty, empty)
    xy = found.reshape(-1, 2)
    return InkPoints((xy[:, 1] - h // 2).astype(np.float32), (xy[:, 0] - w // 2).astype(np.float32))


def _ink_points(small: Image) -> InkPoints:
    """:func:`ink_points` of a reduced page's :func:`ink_mask`."""
    return ink_points(ink_mask(small))


# --- scanner borders --------------------------------------------------------------------------------------


def border_mask(small: Image, dpi: float = MEASURE_DPI) -> Image:
    """The dark area around the sheet (uint8, 255 = outside the paper) on a reduced page of ``dpi``.

    The sheet is the largest bright region after closing the gaps that text leaves in it (its outer contour
    filled); everything outside it, plus a seam of ~0.5 mm for the shadowed paper edge, is border. A page
    that is not mostly bright paper gets an empty mask: nothing is removed when the sheet cannot be found.
    Coarse by nature: :func:`prepare_page` runs it on the ~50 dpi :func:`coarse_copy`.
    """
    h, w = small.shape
    size = max(3, round(15 * dpi / MEASURE_DPI))
    seam = max(3, 2 * round(2 * dpi / MEASURE_DPI) + 1)
    bright = cv2.morphologyEx(
        (small > _percentile(small, 0.9) * 0.5).view(np.uint8),
        cv2.MORPH_CLOSE,
        cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)),
    )
    outside = np.zeros_like(small)
    if cv2.countNonZero(bright) == h * w:
        return outside  # bright everywhere: no border
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return outside
    largest = max(contours, key=cv2.contourArea)
    paper = np.zeros_like(small)
    cv2.drawContours(paper, [largest], -1, 255, thickness=cv2.FILLED)
    if cv2.countNonZero(cv2.bitwise_and(paper, bright)) < 0.5 * h * w:
        return outside
    paper = cv2.erode(paper, cv2.getStructuringElement(cv2.MORPH_RECT, (seam, seam)), borderValue=255)
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
    small, scale = reduce(image, dpi)
    return whiten(image, border_mask(coarse_copy(small), dpi * scale / COARSE_FACTOR))


# --- paper flattening and contrast ------------------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """How a page's lighting is corrected before OCR: divided by its paper brightness (``background``, on the
    reduced page; ``None``: not flattened) and its contrast stretched by ``gain`` (1: not stretched)."""

    background: Image | None
    gain: float

    @property
    def needed(self) -> bool:
        return self.background is not None or self.gain > 1.0

    def apply(self, image: Image) -> Image:
        """The corrected image (any resolution: the background is scaled to it)."""
        if self.background is not None:
            h, w = image.shape
            background = self.background
            if background.shape != image.shape:
                background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
            image = cv2.divide(image, background, scale=255)
        if self.gain > 1.0:
            # the stretch amplifies the paper's noise as much as the ink: :func:`prepare_page` thresholds a
            # stretched page at its end (:func:`binarise`), after deskew and the dashed rules
            image = cv2.LUT(image, _stretch_table(self.gain))
        return image


def _stretch_table(gain: float) -> np.ndarray:
    levels = np.arange(256, dtype=np.float32)
    return np.clip(255.0 - (255.0 - levels) * gain, 0, 255).astype(np.uint8)


def flat_background(small: Image, border: Image, dpi: float = MEASURE_DPI) -> Image:
    """The paper brightness of a reduced page, for flattening: a closing over :data:`FLAT_KERNEL_MM` with the
    scanner border counted as paper (so that the whitened border does not brighten the paper next to it)."""
    paper = _percentile(small[_inner(small, 0.05)], 0.9)
    filled = small.copy()
    if border.any():
        if border.shape != small.shape:
            border = cv2.resize(border, small.shape[::-1], interpolation=cv2.INTER_NEAREST)
        filled[border > 0] = int(paper)
    size = max(3, round(FLAT_KERNEL_MM * dpi / 25.4) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    closed = cv2.dilate(cv2.medianBlur(filled, 5), kernel)  # the median first: the paper's noise peaks are no paper
    closed = cv2.erode(closed, cv2.getStructuringElement(cv2.MORPH_RECT, (size // 2 | 1, size // 2 | 1)))
    return cv2.max(cv2.blur(closed, (size, size)), 1)


def plan_correction(
    small: Image, border: Image, dpi: float = MEASURE_DPI, *, sharpness: float = 1.0, full: Image | None = None
) -> Correction:
    """What the page needs: flattening when the paper is not white (or unevenly lit), stretching when the ink
    is faint after that and its edges are sharp (:data:`STRETCH_MIN_SHARPNESS`: on a blurred page the ink looks
    faint because it is smeared, and a threshold would break its strokes; Tesseract reads those better as they
    are). Decided on the reduced page; applied to it and to the full page alike. How dark the darkest ink is
    comes from ``full`` (every second pixel of the page as scanned) when the paper needs no flattening: on the
    reduced copy the thin strokes of small print are averaged with the paper and would look faint."""
    inner = small[_inner(small, 0.05)]
    paper = _percentile(inner, 0.9)
    background = None
    if paper < PAPER_WHITE or illumination_spread(coarse_copy(small), dpi / COARSE_FACTOR) > UNEVEN_LIGHT_SPREAD:
        background = flat_background(small, border, dpi)
    flat = Correction(background, 1.0).apply(small) if background is not None else small
    hist = _histogram(flat[_inner(flat, 0.05)])
    white, dark = _percentile_of(hist, 0.9), _percentile_of(hist, 0.002)
    full_hist = None
    if background is None and full is not None:
        sample = full[::2, ::2]  # every second pixel keeps the paper's noise, which a reduced copy averages away
        on_paper = np.zeros(sample.shape, np.uint8)  # the page within 5 % of its edges, without the scanner border
        on_paper[_inner(sample, 0.05)] = 1
        on_paper[cv2.resize(border, sample.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0] = 0
        dark = _percentile_of(cv2.calcHist([sample], [0], on_paper, [256], [0, 256]).ravel(), 0.002)
        # the whole sheet, margins included, as Tesseract thresholds it (without the margins Otsu behaves otherwise)
        sheet = (cv2.resize(border, sample.shape[::-1], interpolation=cv2.INTER_NEAREST) == 0).view(np.uint8)
        full_hist = cv2.calcHist([sample], [0], sheet, [256], [0, 256]).ravel()
    noise = max(1.0, _percentile_of(hist, 0.5) - _percentile_of(hist, 0.16))
    gain = 1.0
    faint = dark > STRETCH_INK_ABOVE and white - dark >= STRETCH_MIN_DARKNESS * white
    faint = faint and sharpness >= STRETCH_MIN_SHARPNESS
    # faint ink on white paper that Tesseract's own global threshold separates is left as it is; flattened paper
    # keeps the stretch (its clipped paper noise makes Otsu's share no guide: 110 on 150 flattened read nothing)
    if faint and white - dark >= STRETCH_MIN_NOISE * noise and (full_hist is None or otsu_fails(full_hist)):
        gain = min(MAX_STRETCH, (255.0 - STRETCH_TARGET) / max(255.0 - dark, 1.0))
    return Correction(background, gain)


def otsu_fails(hist: np.ndarray) -> bool:
    """Whether Otsu's global threshold on a page with this histogram takes more than
    :data:`OTSU_FAILS_INK_SHARE` of it for ink (see there)."""
    total = float(hist.sum())
    if total <= 0:
        return False
    levels = np.arange(256, dtype=np.float64)
    weight = np.cumsum(hist, dtype=np.float64)  # pixels at or below each level
    mass = np.cumsum(hist * levels, dtype=np.float64)
    below, above = weight[:-1], total - weight[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mass[-1] * below / total - mass[:-1]) ** 2 / (below * above)
    between[~np.isfinite(between)] = -1.0
    threshold = int(np.argmax(between))
    return bool(weight[threshold] > OTSU_FAILS_INK_SHARE * total)


# --- binarisation ------------------------------------------------------------------------------------------


def illumination_spread(small: Image, dpi: float = MEASURE_DPI) -> float:
    """How unevenly the paper is lit: relative spread (0..1) of the paper brightness inside the margins.

    The paper brightness is a grey-level closing over ~8 mm, wide enough to swallow headings and logos.
    ``dpi`` is the resolution of ``small``; the ~50 dpi :func:`coarse_copy` is plenty for it.
    """
    size = max(3, round(31 * dpi / MEASURE_DPI))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    hist = _histogram(cv2.dilate(small, kernel)[_inner(small, 0.05)])
    high = _percentile_of(hist, 0.95)
    return (high - _percentile_of(hist, 0.05)) / max(high, 1.0)


def binarise(image: Image, dpi: int) -> Image:
    """Black-and-white version of the page for OCR: Otsu's global threshold on a 3×3 box-smoothed page.

    The smoothing keeps sensor noise from splitting the paper's grey levels (on a sparse, noisy page plain
    Otsu lands inside the paper peak and turns the paper into speckle that costs Tesseract minutes). Under
    uneven illumination (:func:`illumination_spread` above :data:`UNEVEN_LIGHT_SPREAD`) the page is first
    divided by its paper brightness, estimated on the reduced copy, so that one threshold fits the whole page.
    """
    small, scale = reduce(image, dpi)
    if illumination_spread(coarse_copy(small), dpi * scale / COARSE_FACTOR) > UNEVEN_LIGHT_SPREAD:
        h, w = image.shape
        paper = cv2.resize(paper_background(small), (w, h), interpolation=cv2.INTER_LINEAR)
        image = cv2.divide(image, paper, scale=255)
    _, out = cv2.threshold(cv2.blur(image, (3, 3)), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return out


# --- dashed rules -------------------------------------------------------------------------------------------

DASH_MIN_IN = 0.06
"""A dash of a dashed rule is at least this long (inches); shorter strokes are hyphens and letter bars."""

DASH_MAX_HEIGHT_IN = 0.03
"""...and at most this thick."""

DASHED_RULE_MIN_DASHES = 6
DASHED_RULE_MIN_SPAN_IN = 1.5
"""A dashed rule has at least this many dashes in a row and spans at least this width."""

DASH_MIN_GAP_IN = 0.01
"""The gap between two dashes is at least this wide (inches)."""

DASH_GAP_PAPER = 0.8
"""A gap between dashes has a column at least this bright (share of the paper's brightness) from top to bottom."""

DASH_TEXT_NEAR_IN = 0.12
DASH_TEXT_INK = 0.01
"""A dashed rule is taken away only when ink covers at least this share of a band this high (inches) just
above or below it: text that Tesseract would read together with the dashes."""

DASH_ERASE_PAD_IN = 0.012
"""Each dash is painted white with this margin (inches)."""

DASH_LENGTH_SPREAD = 0.25
DASH_PERIOD_SPREAD = 0.08
"""Dashes of a rule have about the same length and, above all, the same spacing: relative spread (std / median)
of their lengths and of their periods at most these. The baseline strokes of a bold heading come in rows too,
but at the letters' irregular spacing."""


def dashed_rules(image: Image, dpi: int) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) of the dashes of dashed horizontal rules on an upright, deskewed page.

    A dashed rule printed close above a text line (the usual line above a letter's footer) makes Tesseract
    read the line as one with the dashes and garble it ("USHENE:DE189402097" for "USt-IdNr.: DE189402037"),
    and its layout analysis does not remove dashed rules as it removes solid ones. A dashed rule is a row of
    at least :data:`DASHED_RULE_MIN_DASHES` thin horizontal strokes of about equal length at about equal
    spacing over :data:`DASHED_RULE_MIN_SPAN_IN`, with clean paper between the dashes (a thin solid rule not
    quite level breaks into pieces at its steps, with grey between them); letter bars, underlines and em
    dashes are none. Only rules with text close above or below them (:data:`DASH_TEXT_NEAR_IN`) are
    returned: a rule away from text does not disturb Tesseract, and taking it away can change how the page
    layout analysis splits the page. About 4 ms at 200 dpi, 6 ms at 300: a horizontal erosion of every row at
    ~100 dpi across, the contours of what is left (long horizontal strokes only) and numpy.
    """
    paper = _percentile(np.ascontiguousarray(image[::8, ::8]), 0.9)
    step = _column_step(dpi)  # every row (a dash may be one pixel thin), every step-th column: ~100 dpi across
    _, ink = cv2.threshold(np.ascontiguousarray(image[:, ::step]), INK_SHARE * paper, 255, cv2.THRESH_BINARY_INV)
    length = max(2, round(DASH_MIN_IN * dpi / step))
    strokes = cv2.erode(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    contours, _ = cv2.findContours(strokes, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) < DASHED_RULE_MIN_DASHES:
        return []
    boxes = np.array([cv2.boundingRect(c) for c in contours], dtype=np.int64)  # x, y, w, h of eroded strokes
    boxes[:, 0] = np.maximum(0, (boxes[:, 0] - length // 2) * step)  # the strokes as printed, in page pixels:
    boxes[:, 2] = (boxes[:, 2] + length - 1) * step  # erosion took length - 1 columns off their width
    boxes = boxes[boxes[:, 3] <= max(2, DASH_MAX_HEIGHT_IN * dpi)]
    boxes = boxes[np.lexsort((boxes[:, 0], boxes[:, 1] * 2 + boxes[:, 3]))]  # by centre row, then x
    centre = boxes[:, 1] * 2 + boxes[:, 3]  # twice the centre row, in whole pixels
    found: list[tuple[int, int, int, int]] = []
    breaks = np.flatnonzero(np.diff(centre) > 4) + 1  # strokes on one row: centres within ±2 px
    for first, last in zip(np.r_[0, breaks], np.r_[breaks, len(boxes)], strict=True):
        row = boxes[first:last]
        if len(row) >= DASHED_RULE_MIN_DASHES and np.ptp(row[:, 0]) >= (DASHED_RULE_MIN_SPAN_IN - 0.5) * dpi:
            found.extend(_dashes_of_row(row, dpi, image, paper))
    return found


def _column_step(dpi: int) -> int:
    return max(1, round(dpi / MEASURE_DPI))


def _dashes_of_row(row: np.ndarray, dpi: int, image: Image, paper: float) -> list[tuple[int, int, int, int]]:
    """The runs of regular dashes among the strokes of one row (x, y, w, h).

    Strokes that touch or overlap are no dashes: a thin solid rule, not quite level, leaves staircase pieces
    on neighbouring pixel rows that fill each other's gaps.
    """
    row = row[np.argsort(row[:, 0], kind="stable")]
    x, w = row[:, 0], row[:, 2]
    gaps = x[1:] - (x[:-1] + w[:-1])
    wider = np.maximum(w[1:], w[:-1])
    joined = (gaps >= max(2, DASH_MIN_GAP_IN * dpi)) & (gaps <= 2 * wider)
    breaks = np.flatnonzero(~joined) + 1
    starts, ends = np.r_[0, breaks], np.r_[breaks, len(row)]
    out: list[tuple[int, int, int, int]] = []
    for first, last in zip(starts, ends, strict=True):
        if last - first < DASHED_RULE_MIN_DASHES or not _regular(run := row[first:last], dpi):
            continue
        if _gaps_are_paper(run, image, paper) and _text_near(run, dpi, image, paper):
            out.extend((int(x0), int(y0), int(x0 + w0), int(y0 + h0)) for x0, y0, w0, h0 in run)
    return out


def _gaps_are_paper(run: np.ndarray, image: Image, paper: float) -> bool:
    """Between most dashes there is a column of clean paper (not the grey of a broken solid line). The run's
    dashes are apart (:func:`_dashes_of_row` joins only strokes with a gap between them)."""
    top = max(0, int(run[:, 1].min()) - 2)
    bottom = int((run[:, 1] + run[:, 3]).max()) + 2
    clean = [
        image[top:bottom, int(a[0] + a[2]) : int(b[0])].min(axis=0).max() >= DASH_GAP_PAPER * paper
        for a, b in itertools.pairwise(run)
    ]
    return sum(clean) >= 0.75 * len(clean)


def _text_near(run: np.ndarray, dpi: int, image: Image, paper: float) -> bool:
    """Ink (text) in the bands just above or just below the rule."""
    near = max(3, round(DASH_TEXT_NEAR_IN * dpi))
    top, bottom = int(run[:, 1].min()), int((run[:, 1] + run[:, 3]).max())
    left, right = int(run[0, 0]), int(run[-1, 0] + run[-1, 2])
    above = image[max(0, top - near) : max(0, top - 2), left:right]
    below = image[bottom + 2 : bottom + near, left:right]
    for band in (above, below):
        if band.size and np.count_nonzero(band < INK_SHARE * paper) >= DASH_TEXT_INK * band.size:
            return True
    return False


def _regular(run: np.ndarray, dpi: int) -> bool:
    span = run[-1, 0] + run[-1, 2] - run[0, 0]
    widths, periods = run[:, 2], np.diff(run[:, 0])
    return bool(
        span >= DASHED_RULE_MIN_SPAN_IN * dpi
        and np.std(widths) <= DASH_LENGTH_SPREAD * np.median(widths)
        and np.std(periods) <= DASH_PERIOD_SPREAD * np.median(periods)
    )


def remove_dashed_rules(image: Image, dpi: int) -> tuple[Image, int]:
    """The page with its dashed rules (:func:`dashed_rules`) painted white, and how many dashes were removed."""
    dashes = dashed_rules(image, dpi)
    if not dashes:
        return image, 0
    out = image.copy()
    pad = max(2, round(DASH_ERASE_PAD_IN * dpi))  # the dashes' grey, anti-aliased ends and edges too
    across = pad + _column_step(dpi)  # and the columns between those the search looked at
    for x0, y0, x1, y1 in dashes:
        out[max(0, y0 - pad) : y1 + pad, max(0, x0 - across) : x1 + across] = 255
    return out, len(dashes)


# --- quality and blank pages ------------------------------------------------------------------------------


def _inner(small: Image, margin: float) -> tuple[slice, slice]:
    """The page without a margin of ``margin`` (fraction of width and height) on each side."""
    h, w = small.shape
    dy, dx = round(h * margin), round(w * margin)
    return slice(dy, h - dy), slice(dx, w - dx)


def measure_quality(
    small: Image, ink: Image | None = None, *, full: Image | None = None, sharpness: float | None = None
) -> QualityMeasures:
    """Sharpness (:func:`edge_steepness`), contrast (paper grey minus darkest ink grey) and ink ratio.

    Measured on the page as scanned (before any correction), inside a 5 % margin, where scanner edges and punch
    holes do not reach. ``ink`` is the page's :func:`ink_mask` if known; ``full`` the full-resolution page for
    the sharpness (the reduced page's averaging hides blur), else the reduced one is used.
    """
    inner = _inner(small, 0.05)
    hist = _histogram(small[inner])
    dark, light = _percentile_of(hist, 0.005), _percentile_of(hist, 0.9)
    inner_ink = (ink_mask(small) if ink is None else ink)[inner]
    ink_ratio = cv2.countNonZero(inner_ink) / inner_ink.size
    return QualityMeasures(
        sharpness=sharpness if sharpness is not None else edge_steepness(small if full is None else full),
        contrast=float(light - dark),
        ink_ratio=float(ink_ratio),
    )


def edge_steepness(image: Image) -> float:
    """How sharp the text is: the steepest edges' grey-level slope per pixel relative to the page's contrast
    (about 0.2-0.27 for sharp scans, 0.13 at a blur of 2.5 px, 0.09 at 4 px), on :data:`BLUR_STRIPS` strips of
    the page's central area, lightly smoothed so that sensor noise does not count as edges. Independent of the
    contrast and the paper's brightness, unlike the variance of the Laplacian."""
    h, w = image.shape
    top, bottom, left, right = h // 5, h * 4 // 5, w // 8, w * 7 // 8
    strip = max(16, (bottom - top) // (BLUR_STRIPS * 3))
    starts = np.linspace(top, bottom - strip, BLUR_STRIPS).astype(int)
    hist = np.zeros(256, np.float32)
    magnitudes = []
    for y in starts:
        sample = image[y : y + strip, left:right]
        hist += _histogram(sample)
        smooth = cv2.GaussianBlur(sample, (0, 0), 1.0)
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0)
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
        magnitudes.append(cv2.magnitude(gx, gy)[3:-3, 3:-3].ravel())  # the strip's own edges are no text edges
    contrast = _percentile_of(hist, 0.9) - _percentile_of(hist, 0.002)
    if contrast < 8:
        return 0.0
    magnitude = np.concatenate(magnitudes)
    k = int(magnitude.size * 0.995)
    steepest = float(np.partition(magnitude, k)[k])
    return round(steepest / 8.0 / contrast, 3)  # the Sobel kernel's gain is 8


def text_line_count(small: Image, dpi: float = MEASURE_DPI, ink: Image | None = None) -> int:
    """How many line-like ink clusters (at least ~12 mm wide, 1-15 mm tall) lie inside the margins.

    Ink pixels are smeared sideways over ~2.5 mm so that the letters of a word or line merge, while isolated
    dust specks, punch holes (in the excluded side margins) and bleed-through (not ink) stay small or absent.
    Clusters are the outer contours of the smeared ink (a cluster inside another's hole is not counted).
    ``ink`` is the page's :func:`ink_mask` if known.
    """
    inner = (ink_mask(small) if ink is None else ink)[_inner(small, 0.08)]
    per_mm = dpi / 25.4
    smeared = cv2.dilate(inner, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, round(2.5 * per_mm)), 1)))
    contours, _ = cv2.findContours(smeared, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return 0
    boxes = np.array([cv2.boundingRect(c) for c in contours])
    widths, heights = boxes[:, 2], boxes[:, 3]
    lines = (widths >= 12 * per_mm) & (heights >= 1 * per_mm) & (heights <= 15 * per_mm)
    return int(lines.sum())


def is_blank(small: Image, dpi: float = MEASURE_DPI, ink: Image | None = None) -> bool:
    """True for an empty page (duplex back with noise, dust or bleed-through); False if a text line is on it.

    ``dpi`` is the resolution of the reduced page (``dpi * scale`` from :func:`reduce`). A page without lines of
    ink is looked at once more for lines of faint ink (:data:`FAINT_INK_SHARE`): a blurred page's strokes are
    smeared lighter than ink, but still form lines, which bleed-through (about 12 % darker) and noise do not.
    """
    if text_line_count(small, dpi, ink) > 0:
        return False
    faint = np.less(small, cv2.LUT(paper_background(small), _FAINT_THRESHOLD)).view(np.uint8)
    return text_line_count(small, dpi, faint) == 0


# --- skew ---------------------------------------------------------------------------------------------------


def _profile_scores(along: np.ndarray, across: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """Sharpness of the projection profile of points sheared by each of ``degrees``: sum of squared bin steps.

    ``along`` is the coordinate the profile is taken over (rows for horizontal text lines), ``across`` the
    other one. Text lines that line up with the shear give narrow, tall peaks and a high score. All angles
    are binned in one ``bincount`` (each angle in its own range of bins, zero-padded at both ends).
    """
    tans = np.tan(np.radians(np.asarray(degrees, dtype=np.float64))).astype(np.float32)
    reach = float(np.abs(along).max() + np.abs(across).max() * np.abs(tans).max()) + 2.0
    width = int(2 * reach) + 2
    sheared = np.multiply.outer(tans, across)
    sheared += along + np.float32(reach)  # positive, so truncation is floor
    bins = sheared.astype(np.int32)
    bins += (np.arange(len(tans), dtype=np.int32) * width)[:, None]
    hist = np.bincount(bins.ravel(), minlength=len(tans) * width).reshape(len(tans), width)
    steps = np.diff(hist, axis=1).astype(np.float64)
    return np.einsum("ij,ij->i", steps, steps)


def _profile_score(along: np.ndarray, across: np.ndarray, degrees: float) -> float:
    """:func:`_profile_scores` for one angle."""
    return float(_profile_scores(along, across, np.array([degrees]))[0])


def _best_angle(along: np.ndarray, across: np.ndarray, angles: np.ndarray) -> tuple[float, float]:
    """The angle with the sharpest profile among ``angles`` (refined by a parabola) and its score."""
    scores = _profile_scores(along, across, angles)
    i = int(np.argmax(scores))
    best = float(angles[i])
    if 0 < i < len(angles) - 1:
        left, mid, right = scores[i - 1], scores[i], scores[i + 1]
        curvature = left - 2 * mid + right
        if curvature < 0:
            best += 0.5 * (left - right) / curvature * float(angles[1] - angles[0])
    return best, float(scores[i])


def estimate_skew(small: Image, points: InkPoints | None = None) -> float:
    """The skew of the text lines in degrees (positive = content rotated counter-clockwise on screen).

    Coarse-to-fine projection-profile search on the ink of the reduced page: 0.5° steps over ±7° on every
    third ink pixel, then 0.1° steps around the best on all of them, then a parabola through the three best
    scores. Returns 0.0 for a page with (almost) no ink. ``points`` are the page's :func:`ink_points` if
    known.
    """
    pts = _ink_points(small) if points is None else points
    if len(pts) < MIN_INK_POINTS:
        return 0.0
    sparse = pts.every(3)
    coarse, _ = _best_angle(sparse.ys, sparse.xs, _COARSE_ANGLES)
    fine, _ = _best_angle(pts.ys, pts.xs, coarse + _FINE_OFFSETS)
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


def strip_profiles(points: InkPoints, skew: float, dpi: float = MEASURE_DPI) -> np.ndarray:
    """Row profiles of the ink in ~4 cm wide vertical strips, after removing ``skew`` (int64, strips × rows).

    The points are sheared so that text lines skewed by ``skew`` become level (row ``y + x·tan(skew)``):
    the same as deskewing the image, to within a fraction of a pixel on a reduced page.
    """
    rows = np.floor(points.ys + points.xs * np.float32(np.tan(np.radians(skew)))).astype(np.int32)
    rows -= rows.min()
    strip = max(16, round(1.6 * dpi))
    strips = ((points.xs - points.xs.min()) // strip).astype(np.int32)
    height = int(rows.max()) + 1
    counts = np.bincount(strips * height + rows, minlength=(int(strips.max()) + 1) * height)
    return counts.reshape(-1, height)


def ascender_asymmetry(profiles: np.ndarray, dpi: float = MEASURE_DPI) -> tuple[float, float]:
    """How much more ink sits above the x-height band of the text lines than below it.

    Latin script, and German with its capitalised nouns even more, has far more ascenders (b d f h k l t,
    capitals, digits, i-dots, umlauts) than descenders (g j p q y). ``profiles`` are the row profiles of the
    level text in ~4 cm wide strips (:func:`strip_profiles`), so that a residual skew of a few tenths of a
    degree does not smear the line profiles; in each strip every text line's row profile is split into the
    x-height band (rows with at least half the line's peak ink), the tail above and the tail below. Returns
    ``(score, evidence)``: ``(above - below) / (above + below)`` over all lines (positive = upright) and
    ``above + below`` in pixels. Vectorised over all lines of all strips.
    """
    min_height, max_height = max(4, round(0.04 * dpi)), round(0.4 * dpi)
    # two empty rows after every strip keep runs (and the one-row gap bridging) from crossing strips
    flat = np.pad(profiles, ((0, 0), (0, 2))).ravel()
    present = flat > 0
    present[1:-1] |= present[:-2] & present[2:]  # keep i-dots and umlauts with their line
    runs = _runs(present)
    runs = runs[(runs[:, 1] - runs[:, 0] >= min_height) & (runs[:, 1] - runs[:, 0] <= max_height)]
    if not len(runs):
        return 0.0, 0.0
    starts, ends = runs[:, 0], runs[:, 1]
    lengths = ends - starts
    line = np.repeat(np.arange(len(runs)), lengths)
    index = np.arange(int(lengths.sum())) + np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    values = flat[index]
    peak = np.maximum.reduceat(values, np.cumsum(lengths) - lengths)
    core = values >= 0.5 * peak[line]
    big = np.iinfo(np.int64).max
    first = np.minimum.reduceat(np.where(core, index, big), np.cumsum(lengths) - lengths)
    last = np.maximum.reduceat(np.where(core, index, -1), np.cumsum(lengths) - lengths)
    before = np.concatenate(([0], np.cumsum(flat)))  # before[i] = sum of flat[:i]
    above = float((before[first] - before[starts]).sum())
    below = float((before[ends] - before[last + 1]).sum())
    evidence = above + below
    return ((above - below) / evidence if evidence else 0.0), evidence


def guess_orientation(
    small: Image, skew: float = 0.0, dpi: float = MEASURE_DPI, points: InkPoints | None = None
) -> OrientationGuess:
    """Whether a reduced page looks sideways or upside down (cheap; the OSD oracle decides).

    ``skew`` is the page's :func:`estimate_skew`, ``dpi`` the resolution of ``small``, ``points`` its
    :func:`ink_points` if known. Sideways: the column profile of every sixth ink pixel, at its best angle
    within ±7°, is sharper than the row profile at the skew angle (text lines run vertically). Upside down:
    the :func:`ascender_asymmetry` of the deskewed lines is not clearly positive; with too little text to
    tell, the page also counts as looking wrong, so that upside-down pages are practically never waved
    through.
    """
    pts = _ink_points(small) if points is None else points
    if len(pts) < MIN_INK_POINTS:
        return OrientationGuess(rotation=0, looks_wrong=False, score=0.0)
    sparse = pts.every(6)  # a ratio of several times needs no more
    horizontal = _profile_score(sparse.ys, sparse.xs, skew)
    column_skew, vertical = _best_angle(sparse.xs, sparse.ys, _COARSE_ANGLES)
    if vertical > SIDEWAYS_RATIO * horizontal:
        # turned a quarter clockwise, columns sheared by column_skew become rows skewed by -column_skew
        score, _ = ascender_asymmetry(strip_profiles(pts.turned(90), -column_skew, dpi), dpi)
        return OrientationGuess(rotation=90 if score >= 0 else 270, looks_wrong=True, score=score)
    score, evidence = ascender_asymmetry(strip_profiles(pts, skew, dpi), dpi)
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


#: The shortest edge of the coarse copy (about 50 dpi) the measures need.
MIN_EDGE_PIXELS = 4


def prepare_page(image: Image, dpi: int, *, orientation_oracle: OrientationOracle | None = None) -> PreparedPage:
    """Make a scanned page ready for OCR and measure it (see the module docstring for the step order).

    ``orientation_oracle`` (Tesseract OSD, supplied by the pipeline) is asked only when
    :func:`guess_orientation` says the page looks wrong; without an oracle, or when it is unsure, the page
    is left in the orientation it came in. A blank page is returned unchanged after the quality step.
    Paper that is not white (grey, coloured, dark) or unevenly lit is flattened to white first, and faint but
    sharp ink stretched and thresholded (:func:`plan_correction`); the quality measures are taken on the page as
    scanned. Binarisation is applied only under uneven illumination, where it measurably helps Tesseract; on
    evenly lit pages Tesseract's own thresholding of the grey image reads as well or slightly better.
    """
    watch = _Stopwatch()
    if min(image.shape[:2]) < MIN_EDGE_PIXELS * max(1, round(dpi / MEASURE_DPI)) * COARSE_FACTOR:
        # intake refuses such pages; this guards the pages it cannot see (an embedded image, a rendered box)
        raise UnusablePageSize(f"the page image is {image.shape[1]} × {image.shape[0]} pixels at {dpi} dpi: too "
                               "small to be read", width=int(image.shape[1]), height=int(image.shape[0]))
    small, scale = reduce(image, dpi)
    small_dpi, coarse_dpi = dpi * scale, dpi * scale / COARSE_FACTOR
    coarse = coarse_copy(small)
    watch.lap("reduce")
    border = border_mask(coarse, coarse_dpi)
    small, coarse = whiten(small, border), whiten(coarse, border)
    watch.lap("borders")
    scanned = small
    uneven = illumination_spread(coarse, coarse_dpi) > UNEVEN_LIGHT_SPREAD
    sharpness = edge_steepness(image)
    correction = plan_correction(small, border, small_dpi, sharpness=sharpness, full=image)
    if correction.needed:
        small = correction.apply(small)
        coarse = coarse_copy(small)
    watch.lap("lighting")
    ink = ink_mask(small)
    measures = measure_quality(scanned, ink, sharpness=sharpness)
    blank = is_blank(small, small_dpi, ink)
    watch.lap("quality")
    if blank:
        quality = PageQuality(
            sharpness=measures.sharpness, contrast=measures.contrast, ink_ratio=measures.ink_ratio, blank=True
        )
        return PreparedPage(image=image, dpi=dpi, quality=quality, timings_ms=watch.timings_ms)

    points = ink_points(ink)
    skew = estimate_skew(small, points)
    watch.lap("skew")
    guess = guess_orientation(small, skew, small_dpi, points)
    watch.lap("orientation")
    page = whiten(image, border)
    watch.lap("borders")
    if correction.needed:
        page = correction.apply(page)
        watch.lap("lighting")
    rotation = 0
    if guess.looks_wrong and orientation_oracle is not None:
        answer = orientation_oracle(page)
        watch.lap("osd")
        rotation = answer % 360 if answer in (0, 90, 180, 270) else 0
        if rotation in (90, 270):
            skew = estimate_skew(small, points.turned(rotation))
            watch.lap("skew")
    page = deskew(rotate_orthogonal(page, rotation), skew)
    watch.lap("deskew")
    # dashed rules come off the grey page: binarisation's smoothing closes the pixel or two between a rule and
    # the line under it, and the dashes would no longer stand apart from the letters
    page, dashes = remove_dashed_rules(page, dpi)
    watch.lap("rules")
    # thresholded when uneven light was flattened, or faint ink stretched (the stretch amplifies the paper's
    # noise as much as the ink: a smoothed global threshold gives Tesseract clean strokes): measurably better
    binarised = uneven or correction.gain > 1.0
    if binarised:
        page = binarise(page, dpi)
    watch.lap("binarise")
    cleaned = (correction.needed or binarised or rotation != 0 or dashes > 0
               or float(np.count_nonzero(border)) > CLEANED_BORDER_SHARE * border.size)
    quality = PageQuality(
        skew_degrees=skew,
        rotation=rotation,
        sharpness=measures.sharpness,
        contrast=measures.contrast,
        ink_ratio=measures.ink_ratio,
    )
    return PreparedPage(image=page, dpi=dpi, quality=quality, timings_ms=watch.timings_ms, cleaned=cleaned)
