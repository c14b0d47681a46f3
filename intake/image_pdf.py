"""A one-page PDF showing a page image without text, for pages the OCR could not read (over their budget): the
searchable PDF keeps every page of the scan, readable or not."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pikepdf

from mailroom.errors import ToolFailed

JPEG_QUALITY = 75


def write_image_pdf(image: np.ndarray, dpi: int, target: Path) -> Path:
    """Write ``image`` (greyscale uint8) as the only page of a PDF at ``dpi`` (JPEG inside); returns ``target``."""
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ToolFailed(f"could not encode the page image for {target.name}")
    height, width = image.shape[:2]
    points_w, points_h = width * 72.0 / dpi, height * 72.0 / dpi
    with pikepdf.new() as pdf:
        picture = pikepdf.Stream(pdf, jpeg.tobytes())
        picture.Type = pikepdf.Name.XObject
        picture.Subtype = pikepdf.Name.Image
        picture.Width, picture.Height = width, height
        picture.ColorSpace = pikepdf.Name.DeviceGray
        picture.BitsPerComponent = 8
        picture.Filter = pikepdf.Name.DCTDecode
        content = pikepdf.Stream(pdf, f"q {points_w:.2f} 0 0 {points_h:.2f} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, points_w, points_h], Contents=content,
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=picture)),
        )
        pdf.pages.append(pikepdf.Page(page))
        pdf.save(target)
    return target
