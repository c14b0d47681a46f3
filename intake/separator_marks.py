"""Separator sheets as scanners use them, besides mailroom's own QR sheet (:mod:`intake.separator`):

* **Patch codes** (Kodak): four black bars, two wide (5.1 mm) and two narrow (2.0 mm), with three narrow spaces
  (2.0 mm), at least 19 mm long. The order of wide and narrow names the patch: Patch 1 ``WWNN``, Patch 2 (II)
  ``WNNW``, Patch 3 ``WNWN``, Patch 4 ``NWWN``, Patch 6 ``NNWW``, Patch T ``NWNW``. Read here by the bar widths
  on rows and columns of a reduced copy of the page (no library reads them). A sheet fed upside down shows a
  pattern reversed (``T`` then reads as ``3``): both directions are accepted, a patch counts when either reading
  is one of the configured ones (``MAILROOM_SEPARATOR_PATCHES``, default ``T,2``).
* **Barcodes**: Code 39, Code 128, QR and DataMatrix read with zxing-cpp; a code whose text is one of the
  configured payloads (``MAILROOM_SEPARATOR_PAYLOADS``, case and surrounding blanks ignored) marks a separator.

Both readers are asked only about pages that already look unusual (the orientation check flags them) or blank
ones (patch codes only: a sheet with nothing but bars has no text lines): a few milliseconds for the patch
reader, tens for zxing at 200 dpi.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import cv2
import numpy as np

PATCHES: dict[str, str] = {"WWNN": "1", "WNNW": "2", "WNWN": "3", "NWWN": "4", "NNWW": "6", "NWNW": "T"}
"""Bar pattern (W wide, N narrow, in reading order) → patch name."""

_PATCH_DPI = 100
NARROW_MM, WIDE_MM = 2.03, 5.08
_TOLERANCE_MM = 0.9
MIN_PATCH_LENGTH_MM = 19.0
"""The bars of a patch are at least this long (Kodak: 0.75 in for the smallest readers, 2 in recommended)."""

_BARCODE_DPI = 200
_FORMATS = ("Code39", "Code128", "QRCode", "DataMatrix")


def _reduced(image: np.ndarray, dpi: int, target: int) -> tuple[np.ndarray, float]:
    if dpi <= target:
        return image, float(dpi)
    factor = target / dpi
    return cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA), float(target)


def _runs(line: np.ndarray) -> list[tuple[int, int, bool]]:
    """(start, length, dark) of the runs of a 0/1 row."""
    changes = np.flatnonzero(np.diff(line.astype(np.int8))) + 1
    starts = np.concatenate(([0], changes))
    ends = np.concatenate((changes, [len(line)]))
    return [(int(s), int(e - s), bool(line[s])) for s, e in zip(starts, ends, strict=True)]


def _classify(width: float, per_mm: float) -> str | None:
    mm = width / per_mm
    if abs(mm - NARROW_MM) <= _TOLERANCE_MM:
        return "N"
    if abs(mm - WIDE_MM) <= _TOLERANCE_MM:
        return "W"
    return None


def _patterns(dark: np.ndarray, per_mm: float) -> Iterable[tuple[str, int]]:
    """(pattern, position of its first bar) of every four-bar patch pattern on the rows of ``dark``.

    All rows at once with NumPy (a loop over the rows in Python cost ~0.7 s per page): the runs of every row,
    each classified narrow / wide / neither, and every window of seven runs (bar, space, bar, space, bar, space,
    bar) with light around it on the same row."""
    rows, cols = dark.shape
    if rows == 0 or cols == 0:
        return []
    line = dark.astype(np.int8)
    change = np.empty((rows, cols), dtype=bool)
    change[:, 0] = True
    np.not_equal(line[:, 1:], line[:, :-1], out=change[:, 1:])
    row, start = np.nonzero(change)  # every run's row and first column, in reading order
    count = len(row)
    if count < 9:
        return []
    last = np.ones(count, dtype=bool)
    last[:-1] = row[1:] != row[:-1]
    end = np.where(last, cols, np.append(start[1:], cols))
    length = end - start
    is_dark = line[row, start] == 1
    mm = length / per_mm
    kind = np.where(np.abs(mm - NARROW_MM) <= _TOLERANCE_MM, 1, np.where(np.abs(mm - WIDE_MM) <= _TOLERANCE_MM, 2, 0))
    quiet = 3.0 * per_mm  # some light around the patch: the bars are not part of something bigger
    i = np.arange(1, count - 7)
    ok = (row[i - 1] == row[i + 7]) & is_dark[i] & (length[i - 1] >= quiet) & (length[i + 7] >= quiet)
    for k in (0, 2, 4, 6):
        ok &= kind[i + k] > 0
    for k in (1, 3, 5):
        ok &= kind[i + k] == 1
    found = []
    for first in i[ok]:
        pattern = "".join("NW"[kind[first + k] - 1] for k in (0, 2, 4, 6))
        if pattern in PATCHES:
            found.append((pattern, int(start[first])))
    return found


def read_patch_code(image: np.ndarray, dpi: int) -> str | None:
    """The patch printed on the page (``"T"``, ``"2"``, ...; read as printed, left to right or top to bottom), or
    ``None``. A patch must show the same pattern at the same place on rows spanning :data:`MIN_PATCH_LENGTH_MM`."""
    small, small_dpi = _reduced(image, dpi, _PATCH_DPI)
    per_mm = small_dpi / 25.4
    _, dark = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    need = MIN_PATCH_LENGTH_MM * per_mm
    for lines in (dark, dark.T):  # vertical bars (read along rows), horizontal bars (read along columns)
        found = Counter((pattern, start // max(1, round(per_mm))) for pattern, start in _patterns(lines, per_mm))
        for (pattern, _), rows in found.most_common(3):
            if rows >= need:
                return PATCHES[pattern]
    return None


def reversed_patch(name: str) -> str:
    """The patch a sheet fed the other way round shows instead (``T`` ↔ ``3``; 2 and 4 read the same)."""
    pattern = next(p for p, n in PATCHES.items() if n == name)
    return PATCHES[pattern[::-1]]


def is_patch_separator(image: np.ndarray, dpi: int, accepted: Iterable[str]) -> bool:
    """Whether the page carries one of the ``accepted`` patches (either reading direction)."""
    found = read_patch_code(image, dpi)
    wanted = {name.strip().upper().replace("II", "2").replace("PATCH", "").strip() for name in accepted}
    return found is not None and (found in wanted or reversed_patch(found) in wanted)


def read_barcodes(image: np.ndarray, dpi: int) -> list[tuple[str, str]]:
    """(format, text) of every Code 39, Code 128, QR and DataMatrix code on the page (zxing-cpp)."""
    import zxingcpp  # imported where used: a page that never looks unusual never loads it

    small, _ = _reduced(image, dpi, _BARCODE_DPI)
    formats = zxingcpp.barcode_formats_from_str(",".join(_FORMATS))
    # printed sheets carry dark codes on light paper: the second, inverted pass (zxing-cpp's default) cost ~40 % of
    # the search on every page that looks unusual, blurred pages among them (issue 16)
    found = zxingcpp.read_barcodes(small, formats=formats, try_invert=False)
    return [(str(code.format).rsplit(".", 1)[-1], code.text) for code in found]


def is_barcode_separator(image: np.ndarray, dpi: int, payloads: Iterable[str]) -> bool:
    """Whether a barcode on the page carries one of ``payloads``."""
    wanted = {p.strip().casefold() for p in payloads if p.strip()}
    return bool(wanted) and any(text.strip().casefold() in wanted for _, text in read_barcodes(image, dpi))
