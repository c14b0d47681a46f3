"""Render DIN-5008-like German letter pages as scanned greyscale images, with known degradations.

Pages are drawn with Pillow and TrueType fonts straight into a ``uint8`` array at the requested dpi (no PDF
and no PNG intermediates), so tests know the exact text and geometry. Degradations reproduce what a
mailroom scanner produces: skew, 180°/90° rotation, grey noise and blur, black-and-white thresholding, dark
scanner borders, uneven illumination and near-blank duplex backs with bleed-through.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

A4_MM = (210.0, 297.0)
_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
FONT_DIR = Path("/usr/share/fonts/truetype")
FONTS = {
    "sans": FONT_DIR / "liberation" / "LiberationSans-Regular.ttf",
    "sans-bold": FONT_DIR / "liberation" / "LiberationSans-Bold.ttf",
    "serif": FONT_DIR / "liberation" / "LiberationSerif-Regular.ttf",
    "dejavu": FONT_DIR / "dejavu" / "DejaVuSans.ttf",
}

SENDER = "Müller & Söhne GmbH · Industriestraße 12 · 50667 Köln"
ADDRESS = [
    "Stadtverwaltung Musterstadt",
    "Amt für Finanzen",
    "z. Hd. Frau Schmitz",
    "Rathausplatz 1",
    "52070 Musterstadt",
]
INFO = ["Ihr Zeichen: FB20-4711", "Unser Zeichen: MS/kl", "Datum: 12.11.2026"]
SUBJECT = "Rechnung Nr. RE-2026-04711 für Wartungsarbeiten"
BODY = [
    "Sehr geehrte Frau Schmitz,",
    "",
    "wir bedanken uns für Ihren Auftrag vom 3. November und berechnen Ihnen für die Wartung der "
    "Heizungsanlage im Bürgerhaus die folgenden Leistungen. Die Arbeiten wurden am 10. November "
    "vollständig ausgeführt und von Ihrem Hausmeister abgenommen.",
    "",
    "Bitte überweisen Sie den Gesamtbetrag von 558,35 Euro innerhalb von vierzehn Tagen ohne Abzug "
    "auf das unten genannte Konto. Geben Sie dabei bitte die Rechnungsnummer als Verwendungszweck an, "
    "damit wir Ihre Zahlung schnell zuordnen können.",
    "",
    "Für Rückfragen zu dieser Rechnung steht Ihnen unsere Buchhaltung montags bis freitags von acht "
    "bis sechzehn Uhr gerne zur Verfügung. Wir freuen uns auf die weitere gute Zusammenarbeit mit "
    "Ihrer Verwaltung und wünschen Ihnen einen angenehmen Tag.",
    "",
    "Mit freundlichen Grüßen",
    "",
    "Julia Kaufmann",
    "Buchhaltung",
]
FOOTER = "Sparkasse KölnBonn · IBAN DE89 3704 0044 0532 0130 00 · USt-IdNr. DE123456789"


def _px(mm: float, dpi: int) -> int:
    return round(mm * dpi / 25.4)


def _font(name: str, pt: float, dpi: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS[name]), size=max(6, round(pt * dpi / 72)))


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return lines


def render_letter(dpi: int = 300, *, font: str = "sans", pt: float = 11.0) -> tuple[np.ndarray, str]:
    """A clean upright DIN letter page (white paper, black ink) and the text on it, line by line."""
    w, h = _px(A4_MM[0], dpi), _px(A4_MM[1], dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    body_font = _font(font, pt, dpi)
    small = _font(font, 7.5, dpi)
    bold = _font("sans-bold", pt, dpi)
    line_h = round(pt * 1.35 * dpi / 72)
    text: list[str] = []

    def put(x_mm: float, y: int, s: str, f: ImageFont.FreeTypeFont) -> None:
        draw.text((_px(x_mm, dpi), y), s, font=f, fill=0)
        text.append(s)

    put(130, _px(15, dpi), "Müller & Söhne GmbH", _font("sans-bold", 16, dpi))
    put(25, _px(47, dpi), SENDER, small)
    y = _px(55, dpi)
    for s in ADDRESS:
        put(25, y, s, body_font)
        y += line_h
    y = _px(50, dpi)
    for s in INFO:
        put(125, y, s, body_font)
        y += line_h
    put(25, _px(103, dpi), SUBJECT, bold)
    y = _px(115, dpi)
    for para in BODY:
        if not para:
            y += line_h // 2
            continue
        for s in _wrap(draw, para, body_font, _px(165, dpi)):
            put(25, y, s, body_font)
            y += line_h
    put(25, _px(280, dpi), FOOTER, small)
    return np.asarray(img, dtype=np.uint8).copy(), "\n".join(text)


def render_short_note(dpi: int = 300) -> np.ndarray:
    """A page with only three short lines of text (must not count as blank)."""
    w, h = _px(A4_MM[0], dpi), _px(A4_MM[1], dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    f = _font("sans", 11, dpi)
    for i, s in enumerate(["Anlage zum Antrag", "Seite 2 von 2", "gez. Meier"]):
        draw.text((_px(25, dpi), _px(120, dpi) + i * round(15 * dpi / 72)), s, font=f, fill=0)
    return np.asarray(img, dtype=np.uint8).copy()


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate content counter-clockwise on screen by ``degrees`` (white fill), as a skewed feed does."""
    h, w = image.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def scan_grey(
    image: np.ndarray,
    *,
    seed: int = 0,
    paper: int = 236,
    ink: int = 35,
    noise: float = 6.0,
    blur: float = 0.7,
) -> np.ndarray:
    """Grey scan look: slight optical blur, paper/ink levels that are not pure white/black, sensor noise."""
    rng = np.random.default_rng(seed)
    f = cv2.GaussianBlur(image.astype(np.float32), (0, 0), blur) / 255.0
    out = ink + f * (paper - ink) + rng.normal(0.0, noise, image.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def scan_bw(image: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Black-and-white scan look: the scanner thresholds a slightly noisy grey image at mid-grey."""
    grey = scan_grey(image, seed=seed, paper=245, ink=20, noise=10.0, blur=0.8)
    return np.where(grey < 128, 0, 255).astype(np.uint8)


def add_black_border(image: np.ndarray, *, left: int, top: int, level: int = 25) -> np.ndarray:
    """The scanner bed showing beside the sheet: a dark strip on the left and along the top edge."""
    out = image.copy()
    out[:, :left] = level
    out[:top, :] = level
    return out


def uneven_light(image: np.ndarray, *, darkest: float = 0.55) -> np.ndarray:
    """Illumination falling off towards one corner (e.g. a book-edge shadow or a phone photo)."""
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gain = 1.0 - (1.0 - darkest) * ((xx / w) * 0.6 + (yy / h) * 0.4)
    return np.clip(image.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def blank_back(dpi: int = 300, *, seed: int = 0, bleed: bool = True) -> np.ndarray:
    """An empty duplex back side: faint mirrored bleed-through of the front, noise and a few dust specks."""
    rng = np.random.default_rng(seed)
    front, _ = render_letter(dpi)
    page = np.full(front.shape, 255, dtype=np.uint8)
    if bleed:
        mirrored = cv2.GaussianBlur(front[:, ::-1], (0, 0), 2.0)
        page = (255 - (255 - mirrored.astype(np.float32)) * 0.12).astype(np.uint8)
    page = scan_grey(page, seed=seed, paper=240, ink=30, noise=7.0)
    h, w = front.shape
    for _ in range(25):
        y, x = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
        page[y : y + 3, x : x + 3] = 60
    return page


def write_pgm(image: np.ndarray, path: Path) -> Path:
    """Write a raw PGM (the pipeline's page format; no PNG intermediates)."""
    cv2.imwrite(str(path), image)
    return path


def tesseract_text(
    image: np.ndarray, workdir: Path, *, lang: str = "deu", cpu_seconds: int = 120, gave_up_reads_nothing: bool = False
) -> str:
    """Plain text from a real Tesseract run (one thread) on the image, limited by CPU time (a wall clock would cut
    a run short on a busy machine). A run over ``cpu_seconds`` raises, or with ``gave_up_reads_nothing`` counts as
    having read nothing: what a service with a per-page budget makes of a page Tesseract spends minutes on."""
    path = write_pgm(image, workdir / "ocr.pgm")

    def limit_cpu() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))

    out = subprocess.run(
        ["tesseract", str(path), "stdout", "-l", lang, "--psm", "3"],
        capture_output=True,
        text=True,
        timeout=cpu_seconds * 30,  # a hung run only: CPU time is what limits a working one
        env=_ENV,
        preexec_fn=limit_cpu,
    )
    if gave_up_reads_nothing and out.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return ""
    out.check_returncode()
    return out.stdout


def osd_rotation(image: np.ndarray, workdir: Path) -> int | None:
    """The clockwise rotation Tesseract's OSD says the page needs, or None when it cannot tell."""
    path = write_pgm(image, workdir / "osd.pgm")
    out = subprocess.run(
        ["tesseract", str(path), "stdout", "--psm", "0", "-l", "osd"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_ENV,
    )
    for line in out.stdout.splitlines():
        if line.startswith("Rotate:"):
            return int(line.split(":")[1]) % 360
    return None
