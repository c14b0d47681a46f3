"""The Poppler wrapper: the one place that runs ``pdfinfo``, ``pdfimages``, ``pdftoppm`` and ``pdftotext``.

It owns their version check, timeouts and the translation of their failures into :mod:`mailroom.errors`:
exit status 1 (cannot open / damaged file) → :class:`CorruptFile`, 3 (permissions) → :class:`EncryptedPdf`,
anything else → :class:`ToolFailed`, a missing program → :class:`ToolMissing`, a hang → :class:`ToolTimeout`.

Page images are written in raw formats only, never PNG: ``pdftoppm -gray`` writes PGM; ``pdfimages -j -tiff``
writes an embedded JPEG byte for byte (no decode, no re-encode) and every other image as uncompressed TIFF
(1-bit stays 1-bit, grey stays grey; Poppler's default PPM output would triple a grey page into RGB).

Why not pdf2image (DESIGN.md names it): ``convert_from_path`` runs ``pdfinfo`` before every ``pdftoppm`` to learn
the page count (one more process per rendered page: pages are rendered one at a time, in parallel tasks), it does
not cover ``pdfimages`` (embedded scans taken out without re-encoding, the cheapest way to a page image) nor
``pdftotext -bbox-layout``, and its errors would still have to be translated into the codes above. So the programs
are called directly, all from this module.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mailroom.errors import CorruptFile, EncryptedPdf, FileNotFound, ToolFailed, ToolMissing, ToolTimeout

log = logging.getLogger(__name__)

_STDERR_TAIL_CHARS = 600
_VERSION_TIMEOUT_SECONDS = 30.0
DEFAULT_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class EmbeddedImage:
    """One row of ``pdfimages -list``: an image drawn on a page (an image drawn twice is listed twice)."""

    page: int
    num: int  # index of the image within the whole listing
    type: str  # image, mask, smask, stencil
    width: int
    height: int
    color: str  # gray, rgb, cmyk, index, icc, lab, sep, devn, -
    components: int
    bpc: int
    encoding: str  # image (flate/raw), jpeg, jp2, jbig2, ccitt, ...
    interpolate: bool
    object_id: int
    x_ppi: int
    y_ppi: int


@dataclass(frozen=True)
class PageGeometry:
    """Size and rotation of one PDF page as Poppler renders it (crop box, in PDF points)."""

    number: int
    crop_box: tuple[float, float, float, float]
    rotation: int  # /Rotate, normalised to 0/90/180/270 clockwise

    @property
    def width_pt(self) -> float:
        """Width of the crop box before rotation."""
        return self.crop_box[2] - self.crop_box[0]

    @property
    def height_pt(self) -> float:
        """Height of the crop box before rotation."""
        return self.crop_box[3] - self.crop_box[1]


def _tail(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").strip()[-_STDERR_TAIL_CHARS:]


POPPLER_TOOLS = ("pdfinfo", "pdfimages", "pdftoppm", "pdftotext")


def check_poppler(timeout: float = _VERSION_TIMEOUT_SECONDS) -> str:
    """Return the Poppler version; raise :class:`ToolMissing` unless all four programs we use answer."""
    return ", ".join(sorted({_version(tool, timeout) for tool in POPPLER_TOOLS}))


@lru_cache(maxsize=8)
def _version(tool: str, timeout: float = _VERSION_TIMEOUT_SECONDS) -> str:
    """The version of one Poppler program (cached); raises :class:`ToolMissing` if it is absent."""
    try:
        proc = subprocess.run([tool, "-v"], capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise ToolMissing(
            f"{tool} is not installed or not on PATH: install poppler-utils (scripts/bootstrap.sh does)", tool=tool
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolMissing(f"{tool} -v did not answer", tool=tool) from exc
    match = re.search(rb"version (\S+)", proc.stderr + proc.stdout)
    if match is None:
        raise ToolMissing(f"{tool} does not answer like Poppler", tool=tool)
    return match.group(1).decode()


def _run(args: list[str], pdf: Path, *, timeout: float) -> bytes:
    """Run one Poppler program on ``pdf``; return its stdout or raise the matching mailroom error."""
    tool = args[0]
    _version(tool)
    if not pdf.is_file():
        raise FileNotFound(f"{pdf.name} does not exist", path=str(pdf))
    try:
        proc = subprocess.run(
            args, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError as exc:
        raise ToolMissing(
            f"{tool} is not installed or not on PATH: install poppler-utils (scripts/bootstrap.sh does)", tool=tool
        ) from exc
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed the child
        message = f"{tool} did not finish within {timeout:g} s on {pdf.name}"
        raise ToolTimeout(message, timeout=timeout) from exc
    if proc.returncode == 0:
        return proc.stdout
    # Poppler's own words (and the stored file's internal name) go to the log for the operator; the error that a
    # clerk or a station reads says what is wrong with the document
    log.warning("%s failed on %s (exit %d): %s", tool, pdf.name, proc.returncode, _tail(proc.stderr))
    if proc.returncode == 1:
        raise CorruptFile(f"The PDF is damaged: Poppler ({tool}) cannot read it. Scan the paper again or ask the "
                          "sender for an intact file.", tool=tool)
    if proc.returncode == 3:
        raise EncryptedPdf(f"The PDF is protected and Poppler ({tool}) may not read it.", tool=tool)
    raise ToolFailed(f"{tool} failed on the PDF (exit {proc.returncode}); details in the worker's log", tool=tool,
                     exit_code=proc.returncode)


def _unique_root(out_dir: Path, prefix: str, suffix: str = "") -> Path:
    """Reserve a fresh file name in ``out_dir``: outputs never overwrite a page image still in use."""
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=out_dir)
    os.close(handle)
    return Path(name)


def page_count(pdf: Path, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> int:
    """Number of pages according to ``pdfinfo``."""
    out = _run(["pdfinfo", str(pdf)], pdf, timeout=timeout)
    match = re.search(rb"^Pages:\s+(\d+)", out, re.MULTILINE)
    if match is None:
        raise ToolFailed(f"pdfinfo reported no page count for {pdf.name}")
    return int(match.group(1))


_BOX_LINE = re.compile(rb"^Page\s+(\d+)\s+(CropBox|rot):\s+(.+)$", re.MULTILINE)


def page_geometry(pdf: Path, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> list[PageGeometry]:
    """Crop box and rotation of every page, from one ``pdfinfo -box -f 1 -l N`` run."""
    count = page_count(pdf, timeout=timeout)
    out = _run(["pdfinfo", "-box", "-f", "1", "-l", str(count), str(pdf)], pdf, timeout=timeout)
    boxes: dict[int, tuple[float, float, float, float]] = {}
    rotations: dict[int, int] = {}
    for match in _BOX_LINE.finditer(out):
        number = int(match.group(1))
        if match.group(2) == b"rot":
            rotations[number] = int(match.group(3)) % 360
        else:
            x0, y0, x1, y1 = (float(v) for v in match.group(3).split())
            boxes[number] = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    if sorted(boxes) != list(range(1, count + 1)):
        raise ToolFailed(f"pdfinfo reported page boxes for {len(boxes)} of {count} pages of {pdf.name}")
    return [PageGeometry(number=n, crop_box=boxes[n], rotation=rotations.get(n, 0)) for n in sorted(boxes)]


def parse_image_list(listing: bytes) -> list[EmbeddedImage]:
    """Parse the table printed by ``pdfimages -list``."""
    images = []
    for raw in listing.decode("utf-8", errors="replace").splitlines()[2:]:
        cols = raw.split()
        if len(cols) < 14:
            continue
        try:
            images.append(
                EmbeddedImage(
                    page=int(cols[0]),
                    num=int(cols[1]),
                    type=cols[2],
                    width=int(cols[3]),
                    height=int(cols[4]),
                    color=cols[5],
                    components=int(cols[6]),
                    bpc=int(cols[7]),
                    encoding=cols[8],
                    interpolate=cols[9] == "yes",
                    object_id=int(cols[10]),
                    x_ppi=int(cols[12]),
                    y_ppi=int(cols[13]),
                )
            )
        except ValueError as exc:
            raise ToolFailed(f"unexpected pdfimages -list row: {raw[:120]!r}") from exc
    return images


def list_images(pdf: Path, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> dict[int, list[EmbeddedImage]]:
    """Every image drawn on every page, by page number (pages without images are absent): one run per file."""
    by_page: dict[int, list[EmbeddedImage]] = {}
    for image in parse_image_list(_run(["pdfimages", "-list", str(pdf)], pdf, timeout=timeout)):
        by_page.setdefault(image.page, []).append(image)
    return by_page


def extract_page_image(
    pdf: Path, page: int, out_dir: Path, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> Path:
    """Pull the one image drawn on ``page`` out of the PDF as it is stored: no rendering, no resampling.

    DCT (JPEG) images are copied byte for byte to ``.jpg``; all others are decoded to an uncompressed ``.tif``
    (CCITT/JBIG2 1-bit → 1-bit, grey → grey, RGB → RGB). The TIFF's resolution tag says 72 dpi: the dpi of
    the page is the ``x_ppi`` of :func:`list_images`. Raises :class:`ToolFailed` unless exactly one image
    comes out (call it only for pages whose listing shows exactly one image).
    """
    root = _unique_root(out_dir, f"embedded-{page:04d}-")
    args = ["pdfimages", "-j", "-tiff", "-f", str(page), "-l", str(page), str(pdf), str(root)]
    try:
        _run(args, pdf, timeout=timeout)
    finally:
        root.unlink()
        produced = sorted(out_dir.glob(f"{root.name}-*"))
    if len(produced) != 1:
        for path in produced:
            path.unlink(missing_ok=True)
        raise ToolFailed(f"pdfimages wrote {len(produced)} images for page {page} of {pdf.name}, expected 1")
    return produced[0]


def rasterise_page(
    pdf: Path, page: int, dpi: int, out_dir: Path, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> Path:
    """Render one page in grey at ``dpi`` (``pdftoppm -r dpi -gray``) to a fresh ``page-NNNN-*.pgm``."""
    path = _unique_root(out_dir, f"page-{page:04d}-", ".pgm")
    args = ["pdftoppm", "-r", str(dpi), "-gray", "-f", str(page), "-l", str(page), "-singlefile"]
    try:
        _run([*args, str(pdf), str(path.with_suffix(""))], pdf, timeout=timeout)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if path.stat().st_size == 0:
        path.unlink()
        raise ToolFailed(f"pdftoppm wrote no image for page {page} of {pdf.name}")
    return path


def text_layer_xhtml(
    pdf: Path, page: int, last_page: int | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> bytes:
    """The text layer of ``page`` (through ``last_page``) as ``pdftotext -bbox-layout`` XHTML.

    One run for a range of pages is much cheaper than one run per page; each page is one ``<page>`` element.
    """
    last = page if last_page is None else last_page
    args = ["pdftotext", "-bbox-layout", "-enc", "UTF-8", "-f", str(page), "-l", str(last), str(pdf), "-"]
    return _run(args, pdf, timeout=timeout)
