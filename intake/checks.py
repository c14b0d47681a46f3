"""The intake checks: is a received file something mailroom can and may process?

:func:`inspect_file` is step 1 ("Receive") of the data flow before anything is stored: it enforces the limits
of :class:`~mailroom.settings.Settings` (size first, from ``stat``, before reading a byte), hashes the file,
sniffs its real type and checks its structure per kind. Every bad input raises a permanent
:class:`~mailroom.errors.InputError` with a stable code; nothing is written anywhere.

Costs are bounded by the limits, not by what the file claims: image dimensions are read from the header and
refused before any pixel is decoded (decompression bombs), TIFF frames are counted only up to ``max_pages``,
and embedded XML is inflated only up to ``max_xml_bytes``.
"""

from __future__ import annotations

import hashlib
import math
import re
import stat
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pikepdf
from PIL import Image, UnidentifiedImageError

from intake import poppler
from intake.einvoice import find_embedded_invoice_xml, xml_invoice_root
from intake.filetype import SNIFF_BYTES, sniff
from intake.types import FileInfo, FileKind
from mailroom.errors import (
    ContentTooComplex,
    CorruptFile,
    EmptyFile,
    EncryptedPdf,
    FileNotFound,
    FileTooLarge,
    ImageTooLarge,
    InputError,
    ToolMissing,
    TooManyPages,
    TruncatedFile,
    UnsupportedFileType,
    UnusablePageSize,
)
from mailroom.settings import Settings

MIME_TYPES: dict[FileKind, str] = {
    FileKind.PDF: "application/pdf",
    FileKind.TIFF: "image/tiff",
    FileKind.PNG: "image/png",
    FileKind.JPEG: "image/jpeg",
    FileKind.XML: "application/xml",
}

_CHUNK = 1024 * 1024
#: A PDF page edge must lie within these bounds in points (1/72 in): the PDF implementation limit is 14400.
_MIN_PAGE_POINTS = 1.0
_MAX_PAGE_POINTS = 14400.0
#: The shortest edge of a PDF page that can carry a letter (half an inch); smaller pages are refused.
_MIN_LETTER_POINTS = 36.0
#: ``N 0 obj`` headers in the raw file: a cheap count of objects before qpdf builds its tables.
_OBJ_HEADER = re.compile(rb"\d+\s+\d+\s+obj\b")
#: PDF readers look for ``%%EOF`` within the last kilobyte.
_PDF_TAIL_BYTES = 1024


@dataclass(frozen=True)
class _Scan:
    """What one streaming read of the file yields: its hash and its real size."""

    sha256: str
    size: int


@dataclass(frozen=True)
class _Contents:
    """What the per-kind check learned."""

    page_count: int
    embedded_xml_name: str | None = None


def inspect_file(path: Path, settings: Settings) -> FileInfo:
    """Check a received file against the limits and its own structure; return what was learned.

    Raises a permanent :class:`~mailroom.errors.InputError` subclass for every bad input: ``file_not_found``,
    ``empty_file``, ``file_too_large``, ``unsupported_file_type``, ``too_many_pages``, ``image_too_large``,
    ``encrypted_pdf``, ``corrupt_file``, ``truncated_file``, ``invalid_xml``, ``hostile_xml``,
    ``content_too_complex``, ``page_size_unusable``.
    """
    size = _regular_file_size(path)
    if size == 0:
        raise EmptyFile("The file is empty (0 bytes).")
    if size > settings.max_upload_bytes:
        raise _too_large(size, settings.max_upload_bytes)
    kind = sniff(_read_head(path))
    if kind is FileKind.XML and size > settings.max_xml_bytes:
        raise _too_large(size, settings.max_xml_bytes, what="XML e-invoice")
    scan = _hash(path, settings.max_upload_bytes)
    if kind is FileKind.PDF:
        contents = _check_pdf(path, settings)
    elif kind is FileKind.XML:
        contents = _check_xml(path, scan.size, settings)
    else:
        contents = _check_image(path, kind, settings)
    return FileInfo(
        path=path,
        kind=kind,
        sha256=scan.sha256,
        size=scan.size,
        page_count=contents.page_count,
        mime_type=MIME_TYPES[kind],
        embedded_xml_name=contents.embedded_xml_name,
    )


# --- size and hash ----------------------------------------------------------------------------------------


def _regular_file_size(path: Path) -> int:
    """Size from ``stat``; refuse what is missing or not a regular file (a FIFO would block a read)."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise FileNotFound(f"No such file: {path.name}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise UnsupportedFileType(f"{path.name} is not a regular file.", detected="not a regular file")
    return info.st_size


def _too_large(size: int, limit: int, what: str = "file") -> FileTooLarge:
    """The error for a file above a size limit."""
    return FileTooLarge(
        f"The {what} has {size} bytes, more than the limit of {limit} bytes.", size=size, limit=limit
    )


def _read_head(path: Path) -> bytes:
    """The first bytes of the file, enough to sniff its type."""
    with path.open("rb") as stream:
        return stream.read(SNIFF_BYTES)


def _hash(path: Path, limit: int) -> _Scan:
    """SHA-256 and size, streamed in chunks; stop if the file has grown past ``limit`` since ``stat``."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        for chunk in _chunks(stream):
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            digest.update(chunk)
    if size == 0:
        raise EmptyFile("The file is empty (0 bytes).")
    return _Scan(sha256=digest.hexdigest(), size=size)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    """Successive chunks of a binary stream until its end."""
    while chunk := stream.read(_CHUNK):
        yield chunk


# --- PDF --------------------------------------------------------------------------------------------------


def _check_pdf(path: Path, settings: Settings) -> _Contents:
    """Open the PDF structure, check its pages and look for an embedded e-invoice."""
    if _pdf_lacks_eof(path):
        raise TruncatedFile("The PDF ends without %%EOF: the file was cut off (incomplete upload or copy).")
    _check_object_count(path, settings.max_pdf_objects)
    try:
        with pikepdf.open(path) as pdf:
            repaired = bool(pdf.get_warnings())  # read once: qpdf clears them on reading
            declared = pdf.trailer.get("/Size")
            if isinstance(declared, int) and declared > settings.max_pdf_objects + 1:
                raise _too_many_objects(int(declared), settings.max_pdf_objects)
            page_count = _check_pdf_pages(pdf, settings.max_pages, repaired=repaired)
            for number, page in enumerate(pdf.pages, start=1):
                _check_page_shape_pdf(page, number, settings.max_page_aspect)
                _check_content_cost(page, number, settings)
            embedded = find_embedded_invoice_xml(pdf, settings.max_xml_bytes)
    except pikepdf.PasswordError as exc:
        raise EncryptedPdf("The PDF is protected by a password and cannot be opened.") from exc
    except pikepdf.PikepdfError as exc:
        raise _pdf_damage(str(exc).replace(str(path), path.name)) from exc
    if repaired:
        _check_poppler_reads(path, settings)
    return _Contents(page_count=page_count, embedded_xml_name=embedded[0] if embedded else None)


def _check_poppler_reads(path: Path, settings: Settings) -> None:
    """qpdf repaired the file; Poppler, which renders and reads its pages later, must be able to read it too, or
    the file is refused now (``corrupt_file``) rather than failing in the worker after it was accepted. Where
    Poppler is not installed (an API-only host) the worker finds out."""
    try:
        poppler.page_count(path, timeout=settings.tool_timeout_seconds)
    except ToolMissing:
        return


def _too_many_objects(count: int, limit: int) -> ContentTooComplex:
    return ContentTooComplex(f"The PDF has {count} objects, more than the limit of {limit}.", objects=count,
                             limit=limit)


def _check_object_count(path: Path, limit: int) -> None:
    """Count ``N 0 obj`` headers in the raw file (chunk by chunk, overlapping) before qpdf reads it."""
    count = 0
    tail = b""
    with path.open("rb") as stream:
        for chunk in _chunks(stream):
            data = tail + chunk
            cut = max(0, len(data) - 64)
            count += len(_OBJ_HEADER.findall(data, 0, cut))
            tail = data[cut:]
            if count > limit:
                raise _too_many_objects(count, limit)
    count += len(_OBJ_HEADER.findall(tail))
    if count > limit:
        raise _too_many_objects(count, limit)


def _decoded_length(stream: pikepdf.Stream, budget: int) -> bytes | None:
    """The decoded bytes of a content stream if they fit into ``budget`` (None otherwise), decompressed chunk by
    chunk so that a flate bomb never occupies more than the budget."""
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else ([str(filters)] if filters else [])
    raw = stream.read_raw_bytes()
    if not names:
        return raw if len(raw) <= budget else None
    if names == ["/FlateDecode"]:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(raw, budget + 1)
        except zlib.error:
            return b""  # damaged: qpdf and Poppler read what they can; nothing big to fear
        return data if len(data) <= budget else None
    data = stream.read_bytes()  # other filters (rare in content streams): bounded by the file size limit
    return data if len(data) <= budget else None


def _check_content_cost(page: pikepdf.Page, number: int, settings: Settings) -> None:
    """Refuse a page whose content streams decompress to more than ``max_content_stream_bytes`` or nest graphics
    states deeper than ``max_content_nesting``: reading them would cost memory and time out of all proportion
    to the file (18 KB of ``q Q`` are millions of operators)."""
    contents = page.obj.get("/Contents")
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents] if contents is not None else []
    budget = settings.max_content_stream_bytes
    depth = deepest = 0
    for stream in streams:
        if not isinstance(stream, pikepdf.Stream):
            continue
        try:
            data = _decoded_length(stream, budget)
        except pikepdf.PdfError:
            continue  # undecodable: the structure checks and the renderer deal with it
        if data is None:
            raise ContentTooComplex(
                f"The content of page {number} of the PDF is longer than {budget} bytes after decompression: "
                "too costly to read (a content-stream bomb?).", page=number, limit=budget)
        budget -= len(data)
        depth, deepest = _nesting(data, depth, deepest)
        if deepest > settings.max_content_nesting:
            raise ContentTooComplex(
                f"Page {number} of the PDF nests graphics states {deepest} deep, more than "
                f"{settings.max_content_nesting}: too costly to read.", page=number,
                limit=settings.max_content_nesting)


#: Bytes that end a PDF token: whitespace and delimiters.
_DELIMITER = np.zeros(256, dtype=bool)
_DELIMITER[list(b" \t\r\n\f\x00[]()<>{}/%")] = True


def _nesting(data: bytes, depth: int, deepest: int) -> tuple[int, int]:
    """The graphics-state depth after ``data`` and the deepest reached, starting at ``depth``: ``q`` saves,
    ``Q`` restores (never below zero), counted as tokens, vectorised (millions of operators in milliseconds)."""
    if data.count(b"q") + depth <= deepest:
        return max(0, depth - data.count(b"Q")), deepest  # cannot get deeper than already seen
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size == 0:
        return depth, deepest
    padded = np.concatenate(([32], raw, [32])).astype(np.uint8)
    alone = _DELIMITER[padded[:-2]] & _DELIMITER[padded[2:]]
    step = np.where(alone & (raw == ord("q")), 1, 0) - np.where(alone & (raw == ord("Q")), 1, 0)
    moves = step[step != 0].astype(np.int64)
    if moves.size == 0:
        return depth, deepest
    walk = depth + np.cumsum(moves)
    levels = walk - np.minimum(0, np.minimum.accumulate(walk))  # restores below zero are ignored
    return int(levels[-1]), max(deepest, int(levels.max()))


def _check_page_shape_pdf(page: pikepdf.Page, number: int, max_aspect: float) -> None:
    """Refuse a page too small or too narrow to carry a letter (the size is valid: checked before)."""
    box = [float(value) for value in page.mediabox]
    unit = float(page.obj.get("/UserUnit", 1))
    width, height = abs(box[2] - box[0]) * unit, abs(box[3] - box[1]) * unit
    _check_shape(width, height, _MIN_LETTER_POINTS, max_aspect, "pt", number)


def _check_shape(width: float, height: float, minimum: float, max_aspect: float, unit: str, number: int) -> None:
    short, long = min(width, height), max(width, height)
    if short < minimum:
        raise UnusablePageSize(
            f"Page {number} is {width:.0f} × {height:.0f} {unit}: too small to be a letter (the shorter edge must "
            f"be at least {minimum:.0f} {unit}).", page=number, width=round(width), height=round(height))
    if long > max_aspect * short:
        raise UnusablePageSize(
            f"Page {number} is {width:.0f} × {height:.0f} {unit}: a strip, not a letter (the longer edge may be "
            f"at most {max_aspect:g} times the shorter).", page=number, width=round(width), height=round(height))


def _pdf_lacks_eof(path: Path) -> bool:
    """True if no ``%%EOF`` marker appears in the last kilobyte, the sign of a cut-off file."""
    with path.open("rb") as stream:
        stream.seek(0, 2)
        stream.seek(max(0, stream.tell() - _PDF_TAIL_BYTES))
        return b"%%EOF" not in stream.read()


def _pdf_damage(detail: str) -> InputError:
    """The error for a PDF whose structure cannot be read."""
    if "encrypt" in detail.lower():
        return EncryptedPdf(f"The PDF uses an encryption mailroom cannot open: {detail}")
    return CorruptFile(f"The PDF is damaged and cannot be read: {detail}")


def _check_pdf_pages(pdf: pikepdf.Pdf, max_pages: int, *, repaired: bool) -> int:
    """Page count within 1..max_pages, and every page a real page object with a sane size.

    qpdf repairs a damaged file silently and reads objects it could not recover as null, so that a lost
    content stream looks like a page without content. Such a page is a legitimate blank page in an intact
    file, but in a file qpdf had to repair it is taken as lost content.
    """
    count = len(pdf.pages)
    if count == 0:
        raise EmptyFile("The PDF has no pages.")
    if count > max_pages:
        raise TooManyPages(
            f"The PDF has {count} pages, more than the limit of {max_pages}.", pages=count, limit=max_pages
        )
    for number, page in enumerate(pdf.pages, start=1):
        _check_pdf_page(page, number, repaired=repaired)
    return count


def _check_pdf_page(page: pikepdf.Page, number: int, *, repaired: bool) -> None:
    """Refuse a page that is no page object, whose content streams are not streams, or lost (see above)."""
    obj = page.obj
    if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != pikepdf.Name.Page:
        raise CorruptFile(f"Page {number} of the PDF is not a page object.", page=number)
    contents = obj.get("/Contents")
    if contents is None and repaired:
        raise CorruptFile(f"The content of page {number} of the damaged PDF is lost.", page=number)
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    if contents is not None and not all(isinstance(stream, pikepdf.Stream) for stream in streams):
        raise CorruptFile(f"The content of page {number} of the PDF is damaged.", page=number)
    _check_page_size(page, number)


def _check_page_size(page: pikepdf.Page, number: int) -> None:
    """Refuse a page whose media box is missing, degenerate or beyond the PDF size limit."""
    try:
        box = [float(value) for value in page.mediabox]
        unit = float(page.obj.get("/UserUnit", 1))
    except (TypeError, ValueError) as exc:
        raise CorruptFile(f"Page {number} of the PDF has no valid size.", page=number) from exc
    width = abs(box[2] - box[0]) * unit
    height = abs(box[3] - box[1]) * unit
    if not all(
        math.isfinite(edge) and _MIN_PAGE_POINTS <= edge <= _MAX_PAGE_POINTS for edge in (width, height)
    ):
        raise CorruptFile(
            f"Page {number} of the PDF has an implausible size of {width:.0f} × {height:.0f} pt.", page=number
        )


# --- images -----------------------------------------------------------------------------------------------


def _check_image(path: Path, kind: FileKind, settings: Settings) -> _Contents:
    """Header-only size check of every frame before decoding, then decode each frame once."""
    _allow_pillow_up_to(settings.max_page_pixels)
    try:
        with Image.open(path, formats=[kind.name]) as image:
            frames = _check_frames(image, settings)
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(
            f"The image announces far more than {settings.max_page_pixels} pixels: a decompression bomb.",
            limit=settings.max_page_pixels,
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise _image_damage(path, kind, exc) from exc
    return _Contents(page_count=frames)


def _allow_pillow_up_to(max_pixels: int) -> None:
    """Raise Pillow's own bomb limit to ours if it is lower, so that our limit is the one that decides."""
    if Image.MAX_IMAGE_PIXELS is not None and max_pixels > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = max_pixels


def _check_frames(image: Image.Image, settings: Settings) -> int:
    """Check and decode frame after frame; stop at ``max_pages`` + 1 without walking further IFDs."""
    frame = 0
    while True:
        _check_pixels(image, frame, settings.max_page_pixels)
        _check_shape(image.size[0], image.size[1], settings.min_page_pixels, settings.max_page_aspect, "pixels",
                     frame + 1)
        _decode(image)
        frame += 1
        try:
            image.seek(frame)
        except EOFError:
            return frame
        if frame >= settings.max_pages:
            raise TooManyPages(
                f"The image has more than {settings.max_pages} pages (frames), the limit.",
                limit=settings.max_pages,
            )


def _check_pixels(image: Image.Image, frame: int, max_pixels: int) -> None:
    """Refuse a frame whose header announces more pixels than allowed (before decoding it)."""
    width, height = image.size
    if width <= 0 or height <= 0:
        raise CorruptFile(f"Page {frame + 1} of the image has no size ({width} × {height}).", page=frame + 1)
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"Page {frame + 1} of the image has {width} × {height} = {width * height} pixels, more than the "
            f"limit of {max_pixels}.",
            page=frame + 1,
            width=width,
            height=height,
            limit=max_pixels,
        )


def _decode(image: Image.Image) -> None:
    """Decode the current frame to prove its data is complete; JPEG at 1/8 scale (same entropy decoding)."""
    if image.format == "JPEG":
        image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
    image.load()


def _image_damage(path: Path, kind: FileKind, exc: Exception) -> CorruptFile:
    """Translate a Pillow failure: truncated if Pillow says so or the end marker is missing, else corrupt."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, UnidentifiedImageError):
        return CorruptFile(f"The {kind.name} image header is damaged and cannot be read.")
    if "truncated" in detail.lower() or not _image_has_end_marker(path, kind):
        return TruncatedFile(f"The {kind.name} image is cut off: {detail}")
    return CorruptFile(f"The {kind.name} image is damaged: {detail}")


def _image_has_end_marker(path: Path, kind: FileKind) -> bool:
    """True if a PNG ends with its IEND chunk or a JPEG with EOI; TIFF has no end marker."""
    markers = {FileKind.PNG: b"IEND\xaeB`\x82", FileKind.JPEG: b"\xff\xd9"}
    marker = markers.get(kind)
    if marker is None:
        return True
    with path.open("rb") as stream:
        stream.seek(0, 2)
        stream.seek(max(0, stream.tell() - 64))
        return marker in stream.read()


# --- XML --------------------------------------------------------------------------------------------------


def _check_xml(path: Path, size: int, settings: Settings) -> _Contents:
    """Size limit, safe parse, and the root must be an e-invoice."""
    if size > settings.max_xml_bytes:
        raise _too_large(size, settings.max_xml_bytes, what="XML e-invoice")
    if xml_invoice_root(path.read_bytes()) is None:
        raise UnsupportedFileType(
            "The file is XML but not an e-invoice (expected a CII CrossIndustryInvoice, a ZUGFeRD 1.0 "
            "CrossIndustryDocument or a UBL Invoice/CreditNote).",
            detected="XML, not an e-invoice",
        )
    return _Contents(page_count=1)
