"""Page images for viewing (``GET /api/v1/documents/{id}/pages/{n}/image``): page ``n`` of the stored original
rendered as PNG at a viewing resolution.

This is a download for people (a station checking a scan, a clerk without a PDF viewer), not a pipeline
intermediate: PDF pages are rasterised by Poppler (``intake.poppler``) in grey, image files are scaled from
their own resolution, never to more than :data:`MAX_VIEW_PIXELS` (a huge page is rendered at a lower resolution).
A letter separated from a stack counts its pages from its first page in the stack (a letter of a letter: the
offsets added up).
"""

from __future__ import annotations

import io
import math
import shutil
import tempfile
from pathlib import Path

import pikepdf
from PIL import Image

from intake.poppler import rasterise_page
from intake.types import FileKind
from mailroom.errors import NotAvailable, PageNotFound
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from mailroom.storage.models import DocumentRow
from workers.pipeline import PipelineContext

DEFAULT_VIEW_DPI = 100
MIN_VIEW_DPI = 30
MAX_VIEW_DPI = 300
_ASSUMED_IMAGE_DPI = 300
#: The most pixels a rendered view may have (A4 at 300 dpi is 8.7 Mpx): a larger page is rendered at a lower
#: resolution instead (a 200 × 200 inch page at dpi=100 would be 400 Mpx, a 792 MB raster).
MAX_VIEW_PIXELS = 16_000_000
#: How many parents up a letter's first page is looked for (each "split here" of a letter adds one).
_MAX_NESTING = 16


def view_dpi(width_pt: float, height_pt: float, dpi: int, max_pixels: int = MAX_VIEW_PIXELS) -> int:
    """``dpi``, lowered so that a page of ``width_pt`` × ``height_pt`` points stays within ``max_pixels``."""
    square_inches = (width_pt / 72.0) * (height_pt / 72.0)
    if square_inches <= 0:
        return dpi
    return max(1, min(dpi, math.floor(math.sqrt(max_pixels / square_inches))))


def _page_points(original: Path, page: int) -> tuple[float, float]:
    """The size of a PDF page in points (crop box, user unit applied); (0, 0) when it cannot be read."""
    try:
        with pikepdf.open(original) as pdf:
            found = pdf.pages[page - 1]
            box = [float(v) for v in found.cropbox]
            unit = float(found.obj.get("/UserUnit", 1))
    except (pikepdf.PdfError, IndexError, TypeError, ValueError):
        return 0.0, 0.0
    return abs(box[2] - box[0]) * unit, abs(box[3] - box[1]) * unit


def render_page_png(ctx: PipelineContext, row: DocumentRow, number: int, dpi: int) -> bytes:
    """PNG bytes of page ``number`` (1-based, within the document) of the document's original."""
    if row.kind == FileKind.XML.value or row.original_sha is None:
        raise NotAvailable(f"document {row.id} has no page images ({row.kind})")
    if number < 1 or (row.pages is not None and number > row.pages):
        raise PageNotFound(f"document {row.id} has {row.pages} page(s), not page {number}", field="n")
    page_in_file = _first_page_in_file(ctx, row) + number - 1
    original = ctx.blobs.path(row.original_sha)
    if row.kind == FileKind.PDF.value:
        return _pdf_page(ctx, original, page_in_file, dpi)
    return _image_page(original, page_in_file, dpi)


def _first_page_in_file(ctx: PipelineContext, row: DocumentRow) -> int:
    """Where the document's first page lies in its original file: 1 for a file, its first page in the stack for a
    letter, and for a letter of a letter (a reviewer split a letter of a stack) the offsets added up."""
    first = row.page_from or 1
    parent_id = row.parent_id
    if parent_id is None:
        return first
    with session_scope(ctx.sessions, readonly=True) as session:
        for _ in range(_MAX_NESTING):
            parent = repository.get_document(session, parent_id) if parent_id else None
            if parent is None or parent.page_from is None:
                break
            first += parent.page_from - 1
            parent_id = parent.parent_id
    return first


def render_reading_png(ctx: PipelineContext, row: DocumentRow, number: int, dpi: int) -> bytes:
    """PNG bytes of page ``number`` as it was read: from the searchable PDF (the deskewed, cropped page image
    the words' boxes refer to) when there is one, else from the original."""
    if row.searchable_pdf_sha is None:
        return render_page_png(ctx, row, number, dpi)
    if number < 1 or (row.pages is not None and number > row.pages):
        raise PageNotFound(f"document {row.id} has {row.pages} page(s), not page {number}", field="n")
    return _pdf_page(ctx, ctx.blobs.path(row.searchable_pdf_sha), number, dpi)


def _pdf_page(ctx: PipelineContext, original: Path, page: int, dpi: int) -> bytes:
    ctx.settings.work_dir.mkdir(parents=True, exist_ok=True)
    dpi = view_dpi(*_page_points(original, page), dpi)
    scratch = Path(tempfile.mkdtemp(prefix="view-", dir=ctx.settings.work_dir))
    try:
        pgm = rasterise_page(original, page, dpi, scratch, timeout=ctx.settings.tool_timeout_seconds)
        with Image.open(pgm) as image:
            return _png(image)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _image_page(original: Path, page: int, dpi: int) -> bytes:
    with Image.open(original) as image:
        image.seek(page - 1)
        own = image.info.get("dpi", (_ASSUMED_IMAGE_DPI, _ASSUMED_IMAGE_DPI))[0] or _ASSUMED_IMAGE_DPI
        scale = min(1.0, dpi / float(own))
        frame = image.convert("L" if image.mode in ("1", "L", "I;16") else "RGB")
        if scale < 1.0:
            size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
            frame = frame.resize(size, Image.Resampling.LANCZOS)
        return _png(frame)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
