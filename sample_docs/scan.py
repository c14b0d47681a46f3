"""Scan simulation: rasterise PDF pages with ``pdftoppm`` and degrade them like a real mailroom scanner.

Conventions recorded in the truth files:

- ``skew_degrees``: the angle by which the page content is rotated, **positive = counter-clockwise as seen on
  screen** (image y axis pointing down), measured on the page after ``rotation`` has been undone. A
  deskew stage that finds ``s`` must rotate the image by ``-s`` (clockwise for positive ``s``).
- ``rotation``: the clockwise rotation in degrees (0/90/180/270) that makes the page upright again. A page fed
  upside down has ``rotation`` 180; a page turned a quarter counter-clockwise needs 90.

Degradations: paper tone and ink density, slight blur, uneven illumination, scanner offset (translation),
skew (the image grows so that no content is cut off), Gaussian noise and dust, then either grey or
black-and-white (global threshold). Blank back pages (duplex) are near-white with faint noise and sometimes a
mirrored bleed-through of the front. Grey pages are stored as JPEG, black-and-white pages as CCITT G4; the dpi
is written into the image metadata.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pikepdf
from PIL import Image

ROTATE = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


@dataclass(frozen=True)
class ScanSettings:
    """How one page is degraded."""

    dpi: int = 200
    bw: bool = False
    skew: float = 0.0  # degrees, positive = counter-clockwise on screen
    rotation: int = 0  # clockwise degrees needed to make the page upright
    noise: float = 4.0  # Gaussian noise sigma in grey levels
    blur: float = 0.6  # Gaussian blur sigma in pixels at 300 dpi
    illumination: float = 0.08  # depth of the brightness gradient (0..1)
    offset_mm: tuple[float, float] = (0.0, 0.0)  # scanner offset (x, y), mm
    dark_background: bool = False  # black scanner background instead of a white lid


@dataclass
class ScannedPage:
    image: np.ndarray  # uint8 grey, or uint8 0/255 for black-and-white
    dpi: int
    bw: bool


def rasterise(pdf: bytes, dpi: int) -> list[np.ndarray]:
    """Render every page of a PDF to a grey image with pdftoppm (PGM, no PNG intermediates)."""
    with tempfile.TemporaryDirectory(prefix="sample-scan-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-gray", "-r", str(dpi), str(src), str(Path(tmp) / "p")],
            check=True,
            capture_output=True,
            timeout=120,
        )
        files = sorted(Path(tmp).glob("p-*.pgm"), key=lambda p: int(p.stem.split("-")[-1]))
        return [np.asarray(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE), dtype=np.uint8) for f in files]


def _skew_and_shift(img: np.ndarray, settings: ScanSettings, background: float) -> np.ndarray:
    h, w = img.shape
    px_per_mm = settings.dpi / 25.4
    dx, dy = (v * px_per_mm for v in settings.offset_mm)
    angle = np.deg2rad(abs(settings.skew))
    new_w = int(np.ceil(w * np.cos(angle) + h * np.sin(angle) + 2 * abs(dx)))
    new_h = int(np.ceil(h * np.cos(angle) + w * np.sin(angle) + 2 * abs(dy)))
    # cv2: positive angle = counter-clockwise with the origin at the top-left (y down), as seen on screen
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), settings.skew, 1.0)
    matrix[0, 2] += (new_w - w) / 2 + dx
    matrix[1, 2] += (new_h - h) / 2 + dy
    return cv2.warpAffine(
        img,
        matrix,
        (new_w, new_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=background,
    )


def _illumination(shape: tuple[int, int], depth: float, rng: np.random.Generator) -> np.ndarray:
    small = rng.uniform(1 - depth, 1.0, size=(3, 3)).astype(np.float32)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def degrade(img: np.ndarray, settings: ScanSettings, rng: np.random.Generator) -> ScannedPage:
    """Turn a clean rendering into a plausible scan."""
    paper = rng.uniform(232, 250)
    ink = rng.uniform(15, 55)
    out = paper - (paper - ink) * (1.0 - img.astype(np.float32) / 255.0)
    sigma = settings.blur * settings.dpi / 300
    if sigma > 0.2:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), sigma), dtype=np.float32)
    out *= _illumination(out.shape, settings.illumination, rng)
    background = 35.0 if settings.dark_background else float(paper)
    out = _skew_and_shift(out, settings, background)
    out += rng.normal(0.0, settings.noise, size=out.shape).astype(np.float32)
    dust = rng.integers(0, out.size, size=int(out.size * 2e-5))
    out.flat[dust] = rng.uniform(20, 90, size=dust.size)
    page = np.clip(out, 0, 255).astype(np.uint8)
    if settings.bw:
        page = np.where(page < 150, 0, 255).astype(np.uint8)
    if settings.rotation:
        # undoing needs `rotation` clockwise, so the page is turned the same amount counter-clockwise
        page = cv2.rotate(page, ROTATE[settings.rotation])
    return ScannedPage(page, settings.dpi, settings.bw)


def blank_back(front: ScannedPage, rng: np.random.Generator, bleed: bool) -> ScannedPage:
    """The empty back side of a sheet scanned in duplex: paper tone, faint noise, maybe bleed-through."""
    h, w = front.image.shape
    paper = rng.uniform(236, 250)
    out = np.full((h, w), paper, dtype=np.float32)
    if bleed:
        mirrored = cv2.flip(front.image, 1).astype(np.float32)
        out -= (255.0 - mirrored) * 0.06
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), 2.0), dtype=np.float32)
    out += rng.normal(0.0, 2.5, size=out.shape).astype(np.float32)
    page = np.clip(out, 0, 255).astype(np.uint8)
    if front.bw:
        page = np.where(page < 150, 0, 255).astype(np.uint8)
    return ScannedPage(page, front.dpi, front.bw)


def _pil(page: ScannedPage) -> Image.Image:
    if page.bw:
        return Image.fromarray(page.image).convert("1", dither=Image.Dither.NONE)
    return Image.fromarray(page.image, mode="L")


def encode_page(page: ScannedPage, quality: int) -> bytes:
    """JPEG for grey, CCITT G4 TIFF for black-and-white, with the dpi in the metadata."""
    buf = io.BytesIO()
    if page.bw:
        _pil(page).save(buf, format="TIFF", compression="group4", dpi=(page.dpi, page.dpi))
    else:
        _pil(page).save(buf, format="JPEG", quality=quality, dpi=(page.dpi, page.dpi), optimize=True)
    return buf.getvalue()


def write_pdf(pages: list[ScannedPage], path: Path, quality: int) -> None:
    """Image-only PDF, one image per page, page size from the image dpi; deterministic document id."""
    encoded = [encode_page(p, quality) for p in pages]
    raw = img2pdf.convert(encoded, nodate=True)
    doc_id = hashlib.md5(b"".join(encoded), usedforsecurity=False).digest()
    with pikepdf.open(io.BytesIO(raw)) as pdf:
        pdf.trailer.ID = pikepdf.Array([pikepdf.String(doc_id), pikepdf.String(doc_id)])
        pdf.save(path, static_id=True)


def write_tiff(pages: list[ScannedPage], path: Path, quality: int) -> None:
    """Multi-page TIFF: G4 if all pages are black-and-white, else JPEG-compressed grey."""
    bw = all(p.bw for p in pages)
    images = [_pil(p) if bw else Image.fromarray(p.image, mode="L") for p in pages]
    dpi = (pages[0].dpi, pages[0].dpi)
    if bw:
        images[0].save(
            path, format="TIFF", save_all=True, append_images=images[1:], compression="group4", dpi=dpi
        )
    else:
        images[0].save(
            path,
            format="TIFF",
            save_all=True,
            append_images=images[1:],
            compression="jpeg",
            quality=quality,
            dpi=dpi,
        )


def write_single(page: ScannedPage, path: Path, fmt: str, quality: int) -> None:
    """PNG or JPEG of one page."""
    img = _pil(page)
    if fmt == "png":
        img.save(path, format="PNG", dpi=(page.dpi, page.dpi), optimize=True)
    else:
        img.convert("L").save(path, format="JPEG", quality=quality, dpi=(page.dpi, page.dpi), optimize=True)
