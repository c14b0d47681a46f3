"""Separator sheets (Trennblätter) between the letters of a scanned stack.

A separator sheet carries a QR code with the payload :data:`SEPARATOR_PAYLOAD`. Looking for a QR code costs
about 10 ms per page even on a reduced copy, so the pipeline asks only about pages that already look unusual
(the orientation check flags them: a sheet with a big code and one word has no normal text lines).
"""

from __future__ import annotations

import cv2
import numpy as np

SEPARATOR_PAYLOAD = "MAILROOM-SEPARATOR"

_SEARCH_DPI = 50  # the code is 100 mm wide: at 50 dpi its modules are still several pixels


#: The sheet's code is 100 mm wide; a detected code much smaller is something else (a stamp, a pattern).
MIN_CODE_MM = 50.0


def _side_mm(points: np.ndarray, dpi: float) -> float:
    """The shortest side of the detected code's quadrilateral, in millimetres."""
    quad = points.reshape(-1, 2)
    sides = [float(np.linalg.norm(quad[i] - quad[(i + 1) % len(quad)])) for i in range(len(quad))]
    return min(sides) * 25.4 / dpi


def is_separator_sheet(image: np.ndarray, dpi: int) -> bool:
    """True when the page shows the mailroom separator QR code (any orientation)."""
    factor = _SEARCH_DPI / dpi
    small = image if factor >= 1 else cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    detector = cv2.QRCodeDetector()
    try:
        found, points = detector.detect(small)
        if not found or points is None or _side_mm(points, min(_SEARCH_DPI, dpi)) < MIN_CODE_MM:
            return False  # nothing, or something code-like far smaller than the sheet's: decoding costs ~0.5 s
        payload, _ = detector.decode(small, points)[:2]
    except cv2.error:  # OpenCV's detector asserts on some degenerate candidate shapes: no readable code
        return False
    return bool(payload == SEPARATOR_PAYLOAD)
