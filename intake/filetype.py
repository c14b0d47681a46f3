"""Recognise the real type of an uploaded file from its first bytes.

The file name and its extension are never trusted: a scanner, a mail gateway or an attacker can name anything
``.pdf``. :func:`sniff` looks only at the magic bytes. What mailroom cannot process is refused with
:class:`~mailroom.errors.UnsupportedFileType`, naming what the bytes look like when that is known, so that the
mailroom staff understand at once what was sent (a Word document, a ZIP archive, a program ...).
"""

from __future__ import annotations

import codecs
import re

from intake.types import FileKind
from mailroom.errors import EmptyFile, UnsupportedFileType

#: How many leading bytes :func:`sniff` needs to decide.
SNIFF_BYTES = 4096
#: PDF readers accept junk before ``%PDF-`` within the first kilobyte.
PDF_JUNK_WINDOW = 1024

ACCEPTED = "mailroom accepts PDF, TIFF, PNG, JPEG and XML e-invoices (ZUGFeRD, Factur-X, XRechnung)"

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

# (magic at offset 0, what it looks like); checked before the PDF junk window so that a ZIP archive that
# happens to hold a PDF within its first kilobyte is not mistaken for a PDF.
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Microsoft Office document (DOC, XLS, PPT or MSG)"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x7fELF", "an executable program (ELF)"),
    (b"\xcf\xfa\xed\xfe", "an executable program (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "an executable program (Mach-O)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"%!PS", "a PostScript file"),
    (b"{\\rtf", "an RTF document"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 codestream"),
    (b"AT&TFORM", "a DjVu document"),
    (b"#!", "a script"),
)

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ZIP_CONTENT_HINTS: tuple[tuple[bytes, str], ...] = (
    (b"word/", "a Word document (DOCX)"),
    (b"xl/", "an Excel workbook (XLSX)"),
    (b"ppt/", "a PowerPoint presentation (PPTX)"),
    (b"application/vnd.oasis.opendocument", "an OpenDocument file (ODT/ODS)"),
    (b"[Content_Types].xml", "an Office Open XML document (DOCX/XLSX/PPTX)"),
)

_HTML = re.compile(rb"<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE)
_XML_START = re.compile(rb"<(\?xml[\s?]|!--|!DOCTYPE\s|[A-Za-z_:])")


def sniff(head: bytes) -> FileKind:
    """Return the kind of file whose first bytes (ideally :data:`SNIFF_BYTES` of them) are ``head``.

    Raises :class:`EmptyFile` for no bytes and :class:`UnsupportedFileType` for anything mailroom does not
    process, with a message naming what the bytes look like when that is known.
    """
    if not head:
        raise EmptyFile("The file is empty (0 bytes).")
    kind = _image_or_pdf_at_start(head)
    if kind is not None:
        return kind
    foreign = _describe_foreign(head)
    if foreign is not None:
        raise _unsupported(foreign)
    if b"%PDF-" in head[:PDF_JUNK_WINDOW]:
        return FileKind.PDF
    if _looks_like_xml(head):
        return FileKind.XML
    raise _unsupported(_describe_unknown(head))


def _image_or_pdf_at_start(head: bytes) -> FileKind | None:
    """The accepted kinds that have a fixed signature at offset 0."""
    if head.startswith(b"%PDF-"):
        return FileKind.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FileKind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return FileKind.TIFF
    return None


def _describe_foreign(head: bytes) -> str | None:
    """Name a known format we refuse, by its signature at offset 0, or None."""
    if head.startswith(_ZIP_MAGIC):
        for hint, description in _ZIP_CONTENT_HINTS:
            if hint in head:
                return description
        return "a ZIP archive"
    if head.startswith((b"II+\x00", b"MM\x00+")):
        return "a BigTIFF image (not supported; save as classic TIFF)"
    if head[4:8] == b"ftyp":
        return "a HEIC/HEIF image or MP4 video"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP image"
    if head.startswith(b"MZ") and b"PE\x00\x00" in head[:PDF_JUNK_WINDOW]:
        return "an executable program (Windows EXE/DLL)"
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":
        return "a BMP image"
    for magic, description in _FOREIGN_MAGIC:
        if head.startswith(magic):
            return description
    if _HTML.match(_strip_bom_and_space(head)):
        return "an HTML page"
    return None


def _strip_bom_and_space(head: bytes) -> bytes:
    """``head`` without a leading byte order mark and whitespace, as bytes of the text's first characters.

    UTF-16 text is narrowed to its ASCII characters so that the same patterns apply.
    """
    for bom in _BOMS:
        if head.startswith(bom):
            body = head[len(bom) :]
            if bom != _BOMS[0]:
                body = body.replace(b"\x00", b"")
            return body.lstrip()
    return head.lstrip()


def _looks_like_xml(head: bytes) -> bool:
    """True when the text (after an optional BOM and whitespace) starts like an XML document."""
    return _XML_START.match(_strip_bom_and_space(head)) is not None


def _describe_unknown(head: bytes) -> str:
    """Best description of bytes that match no signature: blank, plain text or unknown binary data."""
    if not head.strip(b"\x00"):
        return "blank data (only zero bytes)"
    for encoding in ("utf-8", "cp1252"):
        try:
            # final=False: a multi-byte character cut at the end of the head is still text
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if all(ch.isprintable() or ch in "\r\n\t\f" for ch in text):
            return "plain text"
    return "unknown binary data"


def _unsupported(description: str) -> UnsupportedFileType:
    """The error for a refused type, with the description in the message and as a detail."""
    return UnsupportedFileType(f"The file looks like {description}; {ACCEPTED}.", detected=description)
