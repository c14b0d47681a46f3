"""The page source: step 3 "Pages" of the data flow, getting every page of a file the cheapest correct way.

:func:`iter_pages` is a generator that yields one :class:`PageInput` at a time, in page order:

- a PDF page whose text layer has at least ``settings.text_layer_min_chars`` characters becomes a ready
  ``text_page`` (no image at all, no OCR);
- a PDF page that is nothing but one scan image covering the page upright is pulled out as it is stored
  (``pdfimages``: JPEG byte for byte, everything else as uncompressed TIFF), source ``EMBEDDED``, dpi from the
  image listing;
- any other PDF page is rendered in grey (``pdftoppm -r settings.raster_dpi -gray``, PGM), source
  ``RASTERISED``. Reasons why a page with an image was rendered instead end up in ``PageInput.notes``;
- a PNG/JPEG or single-frame TIFF is copied into ``scratch`` as it is (converted to PGM/PPM only if Tesseract
  cannot read its pixel mode), source ``IMAGE_FILE``; a multi-frame TIFF yields one PGM/PBM/PPM per frame;
- an XML e-invoice yields nothing (a later stage reads the XML).

**Streaming contract.** Every ``PageInput.image.path`` is a fresh file inside ``scratch`` that belongs to the
consumer, and the consumer deletes it when it is done with the page (also for image files: the original input
is never handed out, a copy is). The next page image is only produced when the consumer asks for the next
item, so a consumer that deletes each page image before advancing never has more than one page image of this
file on disk, and none in memory: a 200-page stack costs one page at a time. ``pdfimages -list``, ``pdfinfo``
and the PDF structure are read once per file; text layers are read in batches of a few pages.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image, UnidentifiedImageError

from intake import poppler
from intake.textlayer import parse_bbox_layout_pages, text_chars
from intake.types import FileInfo, FileKind, PageImage, PageInput
from mailroom.errors import CorruptFile, ImageTooLarge, MailroomError, ToolFailed
from mailroom.model import ImageSource, Page
from mailroom.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_IMAGE_DPI = 300
PLAUSIBLE_DPI = (50, 2400)  # image-file dpi outside this range is metadata garbage
MIN_EMBEDDED_PPI = 150  # coarser scans are rendered at raster_dpi: Tesseract reads upsampled text better
TEXT_LAYER_BATCH = 8  # pages per pdftotext run
_COVER_TOLERANCE = 0.01  # image edges may miss the crop box by 1 % of the page size (at least 2 pt)
_EMBEDDABLE_COLOURS = {"gray", "rgb", "icc"}
_PAINT_OPERATORS = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "INLINE IMAGE"}
_TEXT_OPERATORS = {"Tj", "TJ", "'", '"'}
_INVISIBLE_TEXT_MODES = {3, 7}
_HARMLESS_ANNOTATIONS = {"/Link", "/Popup"}
_TESSERACT_READY_MODES = {"1", "L", "RGB"}
_IMAGE_SUFFIX = {FileKind.PNG: ".png", FileKind.JPEG: ".jpg", FileKind.TIFF: ".tif"}
_PNM_SUFFIX = {"1": ".pbm", "L": ".pgm", "RGB": ".ppm"}

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def iter_pages(
    info: FileInfo, settings: Settings, scratch: Path, *, only: Collection[int] | None = None
) -> Iterator[PageInput]:
    """Yield the pages of a checked file one at a time, each the cheapest correct way (see module doc).

    ``only`` restricts the pages to these numbers (1-based), e.g. one page for a per-page worker task.
    Tool failures arrive as :mod:`mailroom.errors` carrying the page number in their details.
    """
    if info.kind is FileKind.XML:
        return
    scratch.mkdir(parents=True, exist_ok=True)
    wanted = frozenset(only) if only is not None else None
    if info.kind is FileKind.PDF:
        yield from _pdf_pages(info.path, settings, scratch, wanted)
    else:
        yield from _image_file_pages(info, settings, scratch, wanted)


# --- PDF ------------------------------------------------------------------------------------------------


def _pdf_pages(
    pdf: Path, settings: Settings, scratch: Path, wanted: frozenset[int] | None
) -> Iterator[PageInput]:
    timeout = settings.tool_timeout_seconds
    geometry = [g for g in poppler.page_geometry(pdf, timeout=timeout) if wanted is None or g.number in wanted]
    if not geometry:
        return
    images = poppler.list_images(pdf, timeout=timeout)
    rotations = {g.number: g.rotation for g in geometry}
    structure = _open_structure(pdf)
    try:
        for start in range(0, len(geometry), TEXT_LAYER_BATCH):
            batch = geometry[start : start + TEXT_LAYER_BATCH]
            text_pages, notes = _text_layers(pdf, batch, settings, rotations)
            for geo in batch:
                page_notes = list(notes)
                text_page = text_pages.get(geo.number)
                if text_page is not None and text_chars(text_page) >= settings.text_layer_min_chars:
                    yield PageInput(number=geo.number, text_page=text_page, notes=page_notes)
                    continue
                pike_page = structure.pages[geo.number - 1] if structure is not None else None
                listed = images.get(geo.number, [])
                image = _page_image(pdf, geo, listed, pike_page, settings, scratch, page_notes)
                yield PageInput(number=geo.number, image=image, notes=page_notes)
    finally:
        if structure is not None:
            structure.close()


def _open_structure(pdf: Path) -> pikepdf.Pdf | None:
    """The PDF object structure, to check how a scan image is placed; None if pikepdf cannot read it."""
    try:
        return pikepdf.open(pdf)
    except (pikepdf.PdfError, pikepdf.PasswordError) as exc:
        log.warning("pikepdf cannot read %s (%s): pages with images will be rendered", pdf.name, exc)
        return None


def _text_layers(
    pdf: Path, batch: Sequence[poppler.PageGeometry], settings: Settings, rotations: Mapping[int, int]
) -> tuple[dict[int, Page], list[str]]:
    """Text-layer pages of one batch, by number, from one pdftotext run; notes if the layer is unusable."""
    first, last = batch[0].number, batch[-1].number
    started = time.perf_counter()
    with _on_pages(first, last):
        xhtml = poppler.text_layer_xhtml(pdf, first, last, timeout=settings.tool_timeout_seconds)
    try:
        pages = parse_bbox_layout_pages(xhtml, first, settings.raster_dpi, rotations=rotations)
    except ToolFailed as exc:
        return {}, [f"text layer unreadable, page treated as an image: {exc.message}"]
    per_page_ms = (time.perf_counter() - started) * 1000 / len(batch)
    for page in pages:
        page.timings_ms["text_layer"] = per_page_ms
    return {page.number: page for page in pages}, []


def _page_image(
    pdf: Path,
    geo: poppler.PageGeometry,
    listed: list[poppler.EmbeddedImage],
    pike_page: pikepdf.Page | None,
    settings: Settings,
    scratch: Path,
    notes: list[str],
) -> PageImage:
    timeout = settings.tool_timeout_seconds
    reason = _why_not_embedded(geo, listed, pike_page, settings)
    if reason is None:
        try:
            with _on_pages(geo.number):
                path = poppler.extract_page_image(pdf, geo.number, scratch, timeout=timeout)
            return PageImage(number=geo.number, path=path, dpi=listed[0].x_ppi, source=ImageSource.EMBEDDED)
        except ToolFailed as exc:
            reason = f"extraction failed ({exc.message})"
    if listed:
        notes.append(f"embedded image not used: {reason}; page rendered")
    dpi = _raster_dpi(geo, settings, notes)
    with _on_pages(geo.number):
        path = poppler.rasterise_page(pdf, geo.number, dpi, scratch, timeout=timeout)
    return PageImage(number=geo.number, path=path, dpi=dpi, source=ImageSource.RASTERISED)


def _why_not_embedded(
    geo: poppler.PageGeometry,
    listed: list[poppler.EmbeddedImage],
    pike_page: pikepdf.Page | None,
    settings: Settings,
) -> str | None:
    """None if the page is exactly one upright scan image covering the page; else why it must be rendered."""
    if not listed:
        return "no image on the page"
    if len(listed) != 1 or listed[0].type != "image":
        kinds = ", ".join(image.type for image in listed)
        return f"page draws {len(listed)} images/masks ({kinds})"
    image = listed[0]
    if geo.rotation:
        return f"page is rotated by /Rotate {geo.rotation}"
    if image.color not in _EMBEDDABLE_COLOURS or image.components not in (1, 3):
        return f"colour space {image.color} with {image.components} components"
    if abs(image.x_ppi - image.y_ppi) > 0.02 * max(image.x_ppi, image.y_ppi):
        return f"non-square pixels ({image.x_ppi}x{image.y_ppi} ppi)"
    if image.x_ppi < MIN_EMBEDDED_PPI:
        return f"image resolution {image.x_ppi} ppi below {MIN_EMBEDDED_PPI}"
    if image.width * image.height > settings.max_page_pixels:
        return f"image has {image.width}x{image.height} pixels, more than max_page_pixels"
    if pike_page is None:
        return "PDF structure unreadable"
    return _placement_problem(pike_page, geo.crop_box)


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """m × n for PDF matrices [a b c d e f] (the new CTM after ``m cm`` is ``m × CTM``)."""
    a, b, c, d, e, f = m
    na, nb, nc, nd, ne, nf = n
    return (
        a * na + b * nc,
        a * nb + b * nd,
        c * na + d * nc,
        c * nb + d * nd,
        e * na + f * nc + ne,
        e * nb + f * nd + nf,
    )


def _image_problem(xobject: pikepdf.Object) -> str | None:
    """Why an image XObject's stored pixels are not what the page shows, or None."""
    if bool(xobject.get("/ImageMask", False)):
        return "image is a stencil mask"
    for key in ("/SMask", "/Mask", "/Decode"):
        if key in xobject:
            return f"image has {key}"
    return None


#: A scan page's content stream draws one image: a few hundred bytes. Longer content is not parsed operator by
#: operator (pikepdf holds every operator as Python objects: ~0.5 GB per million); such a page is rasterised.
MAX_PLACEMENT_CONTENT_BYTES = 64 * 1024


def _content_length(page: pikepdf.Page) -> int:
    """The decoded length of the page's content streams (bounded by the intake check's limit)."""
    contents = page.obj.get("/Contents")
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents] if contents is not None else []
    return sum(len(s.read_bytes()) for s in streams if isinstance(s, pikepdf.Stream))


def _placement_problem(page: pikepdf.Page, crop_box: tuple[float, float, float, float]) -> str | None:
    """Walk the page's content stream: None if it draws one image upright over the whole crop box and
    nothing visible after it; else the reason. Paint before the image is hidden by it and allowed."""
    try:
        if _content_length(page) > MAX_PLACEMENT_CONTENT_BYTES:
            return "page content too long for a plain scan"  # parsing it would cost memory: rasterise it
        instructions = pikepdf.parse_content_stream(page)
        resources = page.resources
        xobjects = resources.get("/XObject", pikepdf.Dictionary())
        annotations = page.obj.get("/Annots", pikepdf.Array())
        for annotation in annotations:
            if annotation.get("/Subtype") not in _HARMLESS_ANNOTATIONS and "/AP" in annotation:
                return "page has visible annotations"
    except (pikepdf.PdfError, AttributeError, TypeError) as exc:
        return f"page structure unreadable ({exc})"
    ctm, text_mode = _IDENTITY, 0
    stack: list[tuple[Matrix, int]] = []
    placed: Matrix | None = None
    for instruction in instructions:
        op, operands = str(instruction.operator), instruction.operands
        if op == "q":
            stack.append((ctm, text_mode))
        elif op == "Q" and stack:
            ctm, text_mode = stack.pop()
        elif op == "cm" and len(operands) == 6:
            a, b, c, d, e, f = (float(v) for v in operands)
            ctm = _multiply((a, b, c, d, e, f), ctm)
        elif op == "Tr" and operands:
            text_mode = int(operands[0])
        elif op == "Do":
            xobject = xobjects.get(str(operands[0])) if operands else None
            if xobject is None or xobject.get("/Subtype") != "/Image":
                return "page draws a form or unknown XObject"
            if placed is not None:
                return "page draws more than one image"
            problem = _image_problem(xobject)
            if problem:
                return problem
            placed = ctm
        elif placed is not None and (
            op in _PAINT_OPERATORS or (op in _TEXT_OPERATORS and text_mode not in _INVISIBLE_TEXT_MODES)
        ):
            return f"page paints over the image ({op})"
    if placed is None:
        return "content stream draws no image"
    a, b, c, d, e, f = placed
    if abs(b) > 1e-6 * abs(a) or abs(c) > 1e-6 * abs(d) or a <= 0 or d <= 0:
        return "image is rotated or mirrored on the page"
    x0, y0, x1, y1 = crop_box
    tolerance = max(2.0, _COVER_TOLERANCE * max(x1 - x0, y1 - y0))
    if max(abs(e - x0), abs(f - y0), abs(e + a - x1), abs(f + d - y1)) > tolerance:
        return "image does not cover the page"
    return None


def _raster_dpi(geo: poppler.PageGeometry, settings: Settings, notes: list[str]) -> int:
    """``settings.raster_dpi``, lowered for oversized pages so that the image stays within max_page_pixels."""
    square_inches = (geo.width_pt / 72.0) * (geo.height_pt / 72.0)
    if square_inches <= 0:
        return settings.raster_dpi
    fitting = math.floor(math.sqrt(settings.max_page_pixels / square_inches))
    if fitting >= settings.raster_dpi:
        return settings.raster_dpi
    notes.append(
        f"page too large for {settings.raster_dpi} dpi within max_page_pixels; rendered at {fitting} dpi"
    )
    return max(1, fitting)


@contextmanager
def _on_pages(first: int, last: int | None = None) -> Iterator[None]:
    """Re-raise mailroom errors from a tool run with the page number(s) in message and details."""
    try:
        yield
    except MailroomError as exc:
        if "page" in exc.details:
            raise
        where = f"page {first}" if last is None or last == first else f"pages {first}-{last}"
        raise type(exc)(f"{where}: {exc.message}", field=exc.field, page=first, **exc.details) from exc


# --- image files ----------------------------------------------------------------------------------------


def _image_file_pages(
    info: FileInfo, settings: Settings, scratch: Path, wanted: frozenset[int] | None
) -> Iterator[PageInput]:
    try:
        image = Image.open(info.path)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"{info.path.name} is too large to decode: {exc}") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise CorruptFile(f"{info.path.name} cannot be read as an image: {exc}") from exc
    with image:
        frames = getattr(image, "n_frames", 1) if info.kind is FileKind.TIFF else 1
        for index in range(frames):
            number = index + 1
            if wanted is not None and number not in wanted:
                continue
            notes: list[str] = []
            try:
                image.seek(index)
                _check_pixels(image, number, settings)
                dpi = _image_dpi(image, notes)
                if frames == 1 and _tesseract_reads(image):
                    path = _fresh_path(scratch, number, _IMAGE_SUFFIX[info.kind])
                    shutil.copyfile(info.path, path)
                else:
                    path = _write_pnm(image, scratch, number)
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                message = f"page {number} of {info.path.name} cannot be decoded: {exc}"
                raise CorruptFile(message, page=number) from exc
            yield PageInput(
                number=number,
                image=PageImage(number=number, path=path, dpi=dpi, source=ImageSource.IMAGE_FILE),
                notes=notes,
            )


def _check_pixels(image: Image.Image, number: int, settings: Settings) -> None:
    width, height = image.size
    if width * height > settings.max_page_pixels:
        raise ImageTooLarge(
            f"page {number} has {width}x{height} pixels, more than {settings.max_page_pixels}", page=number
        )


def _image_dpi(image: Image.Image, notes: list[str]) -> int:
    """The horizontal dpi from the image metadata, or 300 when it is missing or absurd."""
    raw = image.info.get("dpi")
    try:
        dpi = round(float(raw[0])) if raw else 0
    except (TypeError, ValueError, IndexError):
        dpi = 0
    if PLAUSIBLE_DPI[0] <= dpi <= PLAUSIBLE_DPI[1]:
        return dpi
    notes.append(f"image resolution {'missing' if not dpi else f'{dpi} dpi is implausible'}; assumed 300 dpi")
    return DEFAULT_IMAGE_DPI


def _tesseract_reads(image: Image.Image) -> bool:
    """Whether Tesseract/Leptonica read this pixel mode correctly as it is (no alpha, no 16 bit, no CMYK)."""
    return image.mode in _TESSERACT_READY_MODES or (image.mode == "P" and "transparency" not in image.info)


def _fresh_path(scratch: Path, number: int, suffix: str) -> Path:
    """A new file name in ``scratch`` that no other page image (of any file) is using."""
    handle, name = tempfile.mkstemp(prefix=f"page-{number:04d}-", suffix=suffix, dir=scratch)
    os.close(handle)
    return Path(name)


def _write_pnm(image: Image.Image, scratch: Path, number: int) -> Path:
    """Write the current frame as PBM/PGM/PPM, converting other pixel modes (alpha onto white)."""
    frame = _raw_mode(image)
    path = _fresh_path(scratch, number, _PNM_SUFFIX[frame.mode])
    frame.save(path, format="PPM")
    return path


def _raw_mode(image: Image.Image) -> Image.Image:
    """The frame in mode 1, L or RGB: what PBM/PGM/PPM can hold."""
    if image.mode in _TESSERACT_READY_MODES:
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        pixels = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        return Image.fromarray(np.clip(pixels * (255.0 / top), 0, 255).astype(np.uint8), mode="L")
    if image.mode in ("LA", "La", "PA", "RGBA", "RGBa", "P"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flattened = Image.alpha_composite(white, rgba).convert("RGB")
        return flattened.convert("L") if image.mode in ("LA", "La") else flattened
    return image.convert("RGB")
