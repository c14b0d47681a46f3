"""The text of a document as a DMS indexes it and a person searches it: plain text per page, or every word with its
box and OCR confidence.

One home for both forms, used by ``GET /api/v1/documents/{id}/text`` and ``mailroom process --text``. Plain text
ends every page with a form feed (``\\f``), as ``pdftotext`` does, so that page *n* is the *n*-th piece. Boxes are
``[x0, y0, x1, y1]`` in pixels of the page image at the page's ``dpi`` (after orientation and skew correction:
the searchable PDF's coordinates); confidences are 0..100 (100 for a PDF's own text layer).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from mailroom.model import Box, Page

SCHEMA = "mailroom.text/v1"
PAGE_END = "\f"


def plain_text(pages: Iterable[Page]) -> str:
    """Each page's text (blocks apart by an empty line), each page ended by a form feed."""
    return "".join(page.text + PAGE_END for page in pages)


class TextWord(BaseModel):
    text: str
    box: Box = Field(description="x0, y0, x1, y1 in pixels of the page image at the page's dpi")
    confidence: float = Field(description="0..100; 100 for a PDF's own text layer")


class TextPage(BaseModel):
    number: int = Field(description="1-based page number within the document")
    width: int = Field(description="Page image width in pixels")
    height: int = Field(description="Page image height in pixels")
    dpi: int
    text_source: str = Field(description="ocr, text_layer or none (blank page)")
    text: str
    words: list[TextWord]

    @classmethod
    def of(cls, page: Page) -> TextPage:
        return cls(
            number=page.number, width=page.width, height=page.height, dpi=page.dpi,
            text_source=page.text_source.value, text=page.text,
            words=[TextWord(text=w.text, box=w.box, confidence=round(w.confidence, 2)) for w in page.words()],
        )


class DocumentText(BaseModel):
    """``mailroom.text/v1``: the words of a document's pages with boxes and confidences."""

    schema_: str = Field(SCHEMA, alias="schema")
    document_id: str
    pages: list[TextPage]

    @classmethod
    def of(cls, document_id: str, pages: Iterable[Page]) -> DocumentText:
        return cls(document_id=document_id, pages=[TextPage.of(page) for page in pages])

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)
