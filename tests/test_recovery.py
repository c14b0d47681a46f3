"""Text that the page OCR left out is found (text-like ink without words) and read again on a strip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from pagefactory import _font, render_letter
from PIL import Image, ImageDraw

from intake import recovery
from intake.tesseract import TesseractEngine
from mailroom.model import Block, Line, Word

DPI = 300


def _totals_page() -> tuple[np.ndarray, dict[str, tuple[int, int, int, int]]]:
    """A page with two label/amount rows, a table rule under each, a signature stroke and a long rule."""
    image = Image.new("L", (2480, 1200), 255)
    draw = ImageDraw.Draw(image)
    font = _font("sans-bold", 11, DPI)
    boxes = {}
    for n, (label, amount) in enumerate((("Bruttosumme", "340,96"), ("Zahlbetrag", "340,96"))):
        y = 200 + 250 * n
        draw.text((300, y), label, font=font, fill=0)
        draw.text((1900, y), amount, font=font, fill=0)
        boxes[f"{label}-label"] = draw.textbbox((300, y), label, font=font)
        boxes[f"{label}-amount"] = draw.textbbox((1900, y), amount, font=font)
        draw.line((280, y + 90, 2150, y + 90), fill=200, width=3)  # a light table rule
    draw.line((300, 1000, 2150, 1000), fill=0, width=4)  # a long black rule
    draw.arc((400, 800, 800, 900), 200, 340, fill=0, width=5)  # a signature-like stroke
    return np.asarray(image, dtype=np.uint8).copy(), boxes


def _words_at(*boxes: tuple[int, int, int, int]) -> list[Block]:
    words = [Word(text="x", box=box, confidence=95) for box in boxes]
    return [Block(lines=[Line(words=words)])]


def test_ink_without_words_is_found_rules_and_strokes_are_not() -> None:
    page, boxes = _totals_page()
    read = _words_at(boxes["Bruttosumme-label"], boxes["Zahlbetrag-label"])  # the OCR read only the labels
    regions = recovery.missed_regions(page, DPI, read)
    assert len(regions) == 2
    for region, amount in zip(regions, ("Bruttosumme-amount", "Zahlbetrag-amount"), strict=True):
        x0, y0, x1, y1 = boxes[amount]
        assert region[0] <= x0 + 5 and region[2] >= x1 - 5 and region[1] <= y0 + 5 and region[3] >= y1 - 5
    everything = _words_at(*boxes.values())
    assert recovery.missed_regions(page, DPI, everything) == []  # nothing left out: no extra OCR run


def test_the_missed_values_are_read_on_a_strip_and_put_back_in_place(tmp_path: Path) -> None:
    page, boxes = _totals_page()
    regions = recovery.missed_regions(page, DPI, _words_at(boxes["Bruttosumme-label"], boxes["Zahlbetrag-label"]))
    strip, placements = recovery.strip(page, DPI, regions)
    assert strip.shape[0] < page.shape[0] / 2  # one small image, not the page again
    path = tmp_path / "strip.pgm"
    cv2.imwrite(str(path), strip)
    out = TesseractEngine().recognise_lines(path, tmp_path / "strip", dpi=DPI)
    blocks = recovery.place_words(out.blocks, placements)
    words = [w for b in blocks for line in b.lines for w in line.words]
    assert [w.text for w in words] == ["340,96", "340,96"]
    for word, amount in zip(words, ("Bruttosumme-amount", "Zahlbetrag-amount"), strict=True):
        x0, y0, x1, _ = boxes[amount]
        assert abs(word.box[0] - x0) <= 8 and abs(word.box[1] - y0) <= 12 and abs(word.box[2] - x1) <= 8


def test_a_letter_read_in_full_needs_no_second_run(tmp_path: Path) -> None:
    page, _ = render_letter(DPI)
    path = tmp_path / "letter.pgm"
    cv2.imwrite(str(path), page)
    out = TesseractEngine().recognise(path, tmp_path / "letter", dpi=DPI, pdf=False)
    assert recovery.missed_regions(page, DPI, out.blocks) == []
