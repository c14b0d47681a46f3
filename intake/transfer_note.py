"""Build the transfer note (TR-RESISCAN) of a file whose pages have been read; stored by ``mailroom.transfer_notes``.

The image settings come from what the pipeline knows about every page (resolution, where the image came from,
text source, quality) plus the colour mode and bit depth the file itself declares: the image header of a TIFF,
PNG or JPEG page, the ``/ColorSpace`` and ``/BitsPerComponent`` of a PDF page's scan image. Only headers are read,
never pixels. Pages rendered from a PDF are rendered in grey (8 bit); text-layer pages have no image.
"""

from __future__ import annotations

import logging
from typing import Any

import pikepdf
from PIL import Image, ImageSequence

from intake.types import FileInfo, FileKind
from mailroom.audit import iso
from mailroom.model import Document, ImageSource, TextSource
from mailroom.result import Quality
from mailroom.storage.models import DocumentRow

log = logging.getLogger(__name__)

#: PIL image modes → (colour mode, bits per pixel).
_PIL_MODES: dict[str, tuple[str, int]] = {
    "1": ("bitonal", 1), "L": ("grey", 8), "LA": ("grey", 16), "I;16": ("grey", 16), "I;16B": ("grey", 16),
    "I": ("grey", 32), "P": ("palette", 8), "PA": ("palette", 16), "RGB": ("colour", 24), "RGBA": ("colour", 32),
    "CMYK": ("colour", 32), "YCbCr": ("colour", 24), "LAB": ("colour", 24),
}
#: PDF colour spaces → (colour mode, components).
_PDF_SPACES: dict[str, tuple[str, int]] = {
    "/DeviceGray": ("grey", 1), "/CalGray": ("grey", 1), "/DeviceRGB": ("colour", 3), "/CalRGB": ("colour", 3),
    "/Lab": ("colour", 3), "/DeviceCMYK": ("colour", 4),
}
#: What a rendered PDF page is (``pdftoppm -gray``).
_RENDERED = ("grey", 8)

ImageMode = tuple[str, int] | None


def _image_file_modes(info: FileInfo) -> dict[int, ImageMode]:
    modes: dict[int, ImageMode] = {}
    with Image.open(info.path) as image:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            modes[number] = _PIL_MODES.get(frame.mode)
    return modes


def _pdf_space(obj: Any) -> tuple[str, int] | None:
    if isinstance(obj, pikepdf.Name):
        return _PDF_SPACES.get(str(obj))
    if isinstance(obj, pikepdf.Array) and len(obj) >= 1:
        family = str(obj[0])
        if family == "/ICCBased" and len(obj) >= 2:
            n = int(obj[1].get("/N", 0))
            return {1: ("grey", 1), 3: ("colour", 3), 4: ("colour", 4)}.get(n)
        if family == "/Indexed":
            return ("palette", 1)
        return _PDF_SPACES.get(family)
    return None


def _pdf_modes(info: FileInfo, pages: set[int]) -> dict[int, ImageMode]:
    """The scan image's colour mode per page: the largest image XObject of each page in ``pages``."""
    modes: dict[int, ImageMode] = {}
    with pikepdf.open(info.path) as pdf:
        for number in sorted(pages):
            if number > len(pdf.pages):
                continue
            best: tuple[int, ImageMode] | None = None
            for image in pdf.pages[number - 1].get_images().values():
                area = int(image.get("/Width", 0)) * int(image.get("/Height", 0))
                if image.get("/ImageMask", False):
                    mode: ImageMode = ("bitonal", 1)
                else:
                    space = _pdf_space(image.get("/ColorSpace"))
                    bits = int(image.get("/BitsPerComponent", 8))
                    mode = None if space is None else (
                        "bitonal" if space[0] == "grey" and bits == 1 else space[0], bits * space[1]
                    )
                if best is None or area > best[0]:
                    best = (area, mode)
            modes[number] = best[1] if best else None
    return modes


def image_modes(info: FileInfo, document: Document) -> dict[int, ImageMode]:
    """Colour mode and bits per pixel of each page's image as the file declares it (``None``: not known)."""
    try:
        if info.kind.is_image:
            return _image_file_modes(info)
        if info.kind is FileKind.PDF:
            embedded = {p.number for p in document.pages if p.image_source is ImageSource.EMBEDDED}
            modes = _pdf_modes(info, embedded) if embedded else {}
            for page in document.pages:
                if page.image_source is ImageSource.RASTERISED:
                    modes[page.number] = _RENDERED
            return modes
    except Exception as exc:  # the note is documentation: an odd header must never stop the pipeline
        log.warning("transfer note: image settings not readable (%s)", exc)
    return {}


def _summary(values: list[Any]) -> Any:
    distinct = sorted({v for v in values if v is not None}, key=str)
    if not distinct:
        return None
    return distinct[0] if len(distinct) == 1 else distinct


def build_note(row: DocumentRow, info: FileInfo, document: Document, quality: Quality) -> dict[str, Any]:
    """The transfer note of the file ``row`` (its intake facts are in the ``document.received`` entry too, but the
    note stands alone)."""
    modes = image_modes(info, document)
    pages: list[dict[str, Any]] = []
    for page in document.pages:
        mode = modes.get(page.number)
        scanned = page.image_source is not ImageSource.NONE
        pages.append({
            "page": page.number,
            "dpi": page.dpi if scanned else None,
            "width": page.width if scanned else None,
            "height": page.height if scanned else None,
            "image_source": page.image_source.value,
            "colour": mode[0] if mode else None,
            "bit_depth": mode[1] if mode else None,
            "text_source": page.text_source.value,
            "blank": page.quality.blank,
            "separator": page.separator,
            "ocr_confidence": page.quality.ocr_confidence,
            "skew_degrees": None if page.quality.skew_degrees is None else round(page.quality.skew_degrees, 2),
            "rotation": page.quality.rotation,
        })
    text_sources = sorted({p.text_source.value for p in document.pages if p.text_source is not TextSource.NONE})
    return {
        "station": row.station,
        "channel": row.source_channel,
        "filename": row.filename,
        "file_type": row.kind,
        "mime_type": row.mime_type,
        "size": row.size,
        "sha256": row.sha256,
        "received_at": iso(row.received_at),
        "page_count": len(document.pages) if info.kind is not FileKind.XML else 0,
        "dpi": _summary([p["dpi"] for p in pages]),
        "colour": _summary([p["colour"] for p in pages]),
        "bit_depth": _summary([p["bit_depth"] for p in pages]),
        "text_source": text_sources[0] if len(text_sources) == 1 else (text_sources or None),
        "quality": {
            "ocr_confidence": quality.ocr_confidence,
            "skew_degrees": quality.skew_degrees,
            "blank_pages": list(quality.blank_pages),
            "warnings": [w.code for w in quality.warnings],
            "separator_pages": [p.number for p in document.pages if p.separator],
        },
        "pages": pages,
    }
