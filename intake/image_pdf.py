"""Page images in PDF pages.

* :func:`write_image_pdf`: a one-page PDF showing a page image without text, for pages the OCR could not read
  (over their budget): the searchable PDF keeps every page of the scan, readable or not.
* :func:`add_page_image`: a grey page's image put under the invisible text layer that Tesseract wrote alone
  (``textonly_pdf``). Tesseract's own PDF page compresses a grey page with zlib (Flate) itself: some 0.2 s CPU
  for a noisy 200-dpi A4 page, a tenth of its whole reading, for a picture of 2.6 MB. As JPEG (libjpeg-turbo,
  quality :data:`SEARCHABLE_JPEG_QUALITY`) it costs some 0.015 s and 1.1 MB; OCR reads the lossless page image
  in any case, the PDF is what people look at (the original file is kept as it came). Black-and-white pages stay
  Tesseract's own (CCITT G4: lossless, small and cheap).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pikepdf

from mailroom.errors import ToolFailed

JPEG_QUALITY = 75
SEARCHABLE_JPEG_QUALITY = 90
"""The grey page image under the text of a searchable PDF page: text edges stay clean at 200-300 dpi."""


def _jpeg_image(pdf: pikepdf.Pdf, image: np.ndarray, quality: int, name: str) -> pikepdf.Stream:
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ToolFailed(f"could not encode the page image for {name}")
    picture = pikepdf.Stream(pdf, jpeg.tobytes())
    picture.Type = pikepdf.Name.XObject
    picture.Subtype = pikepdf.Name.Image
    picture.Width, picture.Height = image.shape[1], image.shape[0]
    picture.ColorSpace = pikepdf.Name.DeviceGray
    picture.BitsPerComponent = 8
    picture.Filter = pikepdf.Name.DCTDecode
    return picture


def write_image_pdf(image: np.ndarray, dpi: int, target: Path) -> Path:
    """Write ``image`` (greyscale uint8) as the only page of a PDF at ``dpi`` (JPEG inside); returns ``target``."""
    height, width = image.shape[:2]
    points_w, points_h = width * 72.0 / dpi, height * 72.0 / dpi
    with pikepdf.new() as pdf:
        picture = _jpeg_image(pdf, image, JPEG_QUALITY, target.name)
        content = pikepdf.Stream(pdf, f"q {points_w:.2f} 0 0 {points_h:.2f} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, points_w, points_h], Contents=content,
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=picture)),
        )
        pdf.pages.append(pikepdf.Page(page))
        pdf.save(target)
    return target


def add_page_image(pdf_path: Path, image: np.ndarray) -> None:
    """Put ``image`` (greyscale uint8) under everything on the one page of ``pdf_path`` (Tesseract's text-only
    page of that image), filling the page; the file is rewritten in place."""
    with pikepdf.open(pdf_path, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0]
        x0, y0, x1, y1 = (float(v) for v in page.mediabox)
        name = page.add_resource(_jpeg_image(pdf, image, SEARCHABLE_JPEG_QUALITY, pdf_path.name), pikepdf.Name.XObject)
        page.contents_add(pikepdf.Stream(pdf, f"q {x1 - x0:.4f} 0 0 {y1 - y0:.4f} {x0:.4f} {y0:.4f} cm {name} Do Q"
                                              .encode()), prepend=True)
        pdf.save(pdf_path)
