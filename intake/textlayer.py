"""Reading the text layer of born-digital PDF pages from ``pdftotext -bbox-layout`` XHTML.

pdftotext reports blocks, lines and words with boxes in PDF points, measured from the top-left corner of
the (rotated) crop box. They become :class:`mailroom.model.Page` objects in pixels of the page rendered at
``dpi``, exactly as if the page had been rasterised at that resolution and OCR'd, so that later stages
(address field, rule regions) work the same on both. Parsing goes through :func:`mailroom.safexml.parse_xml`
(the XHTML comes from the PDF's own strings and is never trusted: the document type declaration Poppler writes is
allowed, entities and external references are not).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from xml.etree.ElementTree import Element

from mailroom.errors import InvalidXml, ToolFailed
from mailroom.model import Block, Box, ImageSource, Line, Page, TextSource, Word, union_box
from mailroom.safexml import parse_xml

_NS = "{http://www.w3.org/1999/xhtml}"
POINTS_PER_INCH = 72.0


def _children(element: Element, tag: str) -> list[Element]:
    return [child for child in element if child.tag in (_NS + tag, tag)]


def _box(element: Element, scale: float, width: int, height: int) -> Box | None:
    """The element's box in pixels, clipped to the page; None if it lies entirely outside the page."""
    x0 = max(0, min(width, math.floor(float(element.get("xMin", "0")) * scale)))
    y0 = max(0, min(height, math.floor(float(element.get("yMin", "0")) * scale)))
    x1 = max(0, min(width, math.ceil(float(element.get("xMax", "0")) * scale)))
    y1 = max(0, min(height, math.ceil(float(element.get("yMax", "0")) * scale)))
    if x1 <= x0 or y1 <= y0:
        return None
    return (x0, y0, x1, y1)


def _page(element: Element, number: int, dpi: int, rotation: int) -> Page:
    scale = dpi / POINTS_PER_INCH
    width_pt = float(element.get("width", "0"))
    height_pt = float(element.get("height", "0"))
    if rotation in (90, 270):  # pdftotext rotates the words but reports the unrotated page size
        width_pt, height_pt = height_pt, width_pt
    # the size pdftoppm gives the page at this dpi (it rounds up), so text and rendered pages line up
    width, height = math.ceil(width_pt * scale - 1e-6), math.ceil(height_pt * scale - 1e-6)
    blocks: list[Block] = []
    for flow in _children(element, "flow"):
        for block_el in _children(flow, "block"):
            lines: list[Line] = []
            for line_el in _children(block_el, "line"):
                words = []
                for word_el in _children(line_el, "word"):
                    text = (word_el.text or "").strip()
                    box = _box(word_el, scale, width, height)
                    if text and box is not None:
                        words.append(Word(text=text, box=box, confidence=100.0))
                if words:
                    lines.append(Line(words=words, box=union_box([w.box for w in words])))
            if lines:
                blocks.append(Block(lines=lines, box=union_box([line.box for line in lines])))
    return Page(
        number=number,
        width=width,
        height=height,
        dpi=dpi,
        text_source=TextSource.TEXT_LAYER,
        image_source=ImageSource.NONE,
        blocks=blocks,
    )


def parse_bbox_layout_pages(
    xhtml: bytes, first_page: int, dpi: int, *, rotations: Mapping[int, int] | None = None
) -> list[Page]:
    """All ``<page>`` elements of one pdftotext run over pages ``first_page``, ``first_page + 1``, ...

    ``rotations`` maps page numbers to their ``/Rotate`` (needed because pdftotext reports the page size
    unrotated). Raises :class:`ToolFailed` when the XHTML cannot be parsed.
    """
    try:
        root = parse_xml(xhtml, allow_doctype=True)
    except InvalidXml as exc:  # HostileXml too
        raise ToolFailed(f"pdftotext produced unreadable XHTML: {exc.message}") from exc
    rotations = rotations or {}
    pages: list[Page] = []
    for body in _children(root, "body"):
        for doc in _children(body, "doc"):
            for element in _children(doc, "page"):
                number = first_page + len(pages)
                pages.append(_page(element, number, dpi, rotations.get(number, 0)))
    return pages


def parse_bbox_layout(xhtml: bytes, page_number: int, dpi: int, *, rotation: int = 0) -> Page:
    """The first page of ``pdftotext -bbox-layout`` output as text-layer :class:`Page` ``page_number``.

    Boxes and the page size are in pixels at ``dpi``; every word has confidence 100.
    """
    pages = parse_bbox_layout_pages(xhtml, page_number, dpi, rotations={page_number: rotation})
    if not pages:
        raise ToolFailed(f"pdftotext output holds no page (expected page {page_number})")
    return pages[0]


def text_chars(page: Page) -> int:
    """Number of non-blank characters on a page: what decides whether its text layer is enough."""
    return sum(len(word.text) for word in page.words())
