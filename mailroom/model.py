"""The typed document tree: Document → Page → Block → Line → Word.

Boxes are ``(x0, y0, x1, y1)`` in pixels of the page image *after* orientation and skew correction, and every
page carries the dpi of that image, so that positions can be expressed in millimetres (DIN 5008 zones, rule
regions). Pages read from a PDF text layer use the coordinates of the page rendered at ``Page.dpi``.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

Box = tuple[int, int, int, int]

MM_PER_INCH = 25.4


class TextSource(StrEnum):
    OCR = "ocr"
    TEXT_LAYER = "text_layer"
    E_INVOICE = "e_invoice"
    NONE = "none"  # blank page: nothing to read


class ImageSource(StrEnum):
    EMBEDDED = "embedded"  # the scan image pulled out of the PDF as it is
    RASTERISED = "rasterised"  # PDF page rendered by Poppler
    IMAGE_FILE = "image_file"  # TIFF/PNG/JPEG input
    NONE = "none"  # text-layer page: no image was needed


def union_box(boxes: list[Box]) -> Box:
    if not boxes:
        return (0, 0, 0, 0)
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


class Word(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    box: Box
    confidence: float = Field(100.0, description="0..100; 100 for text-layer words")


class Line(BaseModel):
    words: list[Word] = Field(default_factory=list)
    box: Box = (0, 0, 0, 0)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


class Block(BaseModel):
    lines: list[Line] = Field(default_factory=list)
    box: Box = (0, 0, 0, 0)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class PageQuality(BaseModel):
    """Measures of one page image; ``None`` where a measure does not apply (text-layer pages)."""

    skew_degrees: float | None = Field(None, description="Measured skew, corrected before OCR")
    rotation: int = Field(0, description="Clockwise rotation applied to make the page upright: 0/90/180/270")
    sharpness: float | None = Field(
        None, description="Steepest edges' grey-level slope per pixel relative to the contrast (0.2-0.27 sharp, "
        "below 0.12 blurred), on the page as scanned"
    )
    contrast: float | None = Field(None, description="Spread between dark and light grey levels (0..255)")
    ink_ratio: float | None = Field(None, description="Share of dark pixels inside the page margins")
    ocr_confidence: float | None = Field(None, description="Mean word confidence 0..100")
    blank: bool = False
    unreadable: bool = Field(
        False, description="Ink, but the OCR gave up on the page (over its CPU budget also when read the cheaper way)"
    )


class Page(BaseModel):
    number: int = Field(description="1-based page number within the file")
    width: int = Field(description="Image width in pixels")
    height: int = Field(description="Image height in pixels")
    dpi: int
    text_source: TextSource
    image_source: ImageSource = ImageSource.NONE
    blocks: list[Block] = Field(default_factory=list)
    quality: PageQuality = Field(default_factory=PageQuality)
    separator: bool = Field(False, description="A separator sheet between letters (not read, not a letter page)")
    parent_page: int | None = Field(
        None, description="For a letter separated from a stack: this page's number in the stack's file"
    )
    timings_ms: dict[str, float] = Field(default_factory=dict, description="Cost of each stage on this page")

    def words(self) -> Iterator[Word]:
        for block in self.blocks:
            for line in block.lines:
                yield from line.words

    def lines(self) -> Iterator[Line]:
        for block in self.blocks:
            yield from block.lines

    @property
    def text(self) -> str:
        return "\n\n".join(b.text for b in self.blocks if b.lines)

    def px_to_mm(self, px: float) -> float:
        return px * MM_PER_INCH / self.dpi

    def mm_to_px(self, mm: float) -> float:
        return mm * self.dpi / MM_PER_INCH

    def box_mm(self, box: Box) -> tuple[float, float, float, float]:
        return (
            self.px_to_mm(box[0]),
            self.px_to_mm(box[1]),
            self.px_to_mm(box[2]),
            self.px_to_mm(box[3]),
        )


class Document(BaseModel):
    """What intake read from one file (or one letter separated from a stack)."""

    pages: list[Page] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n\f".join(p.text for p in self.pages)

    def words(self) -> Iterator[tuple[Page, Word]]:
        for page in self.pages:
            for word in page.words():
                yield page, word

    @property
    def text_source(self) -> TextSource:
        """The text source of the whole document: the one used by most non-blank pages."""
        sources = [p.text_source for p in self.pages if p.text_source is not TextSource.NONE]
        if not sources:
            return TextSource.NONE
        if TextSource.E_INVOICE in sources:
            return TextSource.E_INVOICE
        return max(set(sources), key=sources.count)
