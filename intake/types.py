"""Types shared by the intake stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from mailroom.model import ImageSource, Page


class FileKind(StrEnum):
    PDF = "pdf"
    TIFF = "tiff"
    PNG = "png"
    JPEG = "jpeg"
    XML = "xml"

    @property
    def is_image(self) -> bool:
        return self in (FileKind.TIFF, FileKind.PNG, FileKind.JPEG)


@dataclass(frozen=True)
class FileInfo:
    """What the intake checks learned about a file. Produced only for files that passed every check."""

    path: Path
    kind: FileKind
    sha256: str
    size: int
    page_count: int  # 1 for XML
    mime_type: str
    # e-invoice XML embedded in a PDF: attachment file name (e.g. "factur-x.xml"); None if there is none
    embedded_xml_name: str | None = None


@dataclass
class PageImage:
    """One page as an image file on disk in a raw format (PGM/PPM/PBM/TIFF; never PNG intermediates).

    The file is owned by the caller's scratch directory and deleted once the page is done.
    """

    number: int
    path: Path
    dpi: int
    source: ImageSource


@dataclass
class PageInput:
    """What a page source yields for one page: either a ready text-layer page, or an image to OCR."""

    number: int
    text_page: Page | None = None
    image: PageImage | None = None
    notes: list[str] = field(default_factory=list)
