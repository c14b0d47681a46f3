"""Separator sheets as scanners use them: patch codes (own reader) and Code 39 / Code 128 / QR / DataMatrix codes
(zxing-cpp) with configured payloads; and a stack split at a Patch T sheet by the real pipeline."""

from __future__ import annotations

from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pytest
import zxingcpp
from pagefactory import render_letter, scan_grey

from intake.separator_marks import (
    PATCHES,
    is_barcode_separator,
    is_patch_separator,
    read_barcodes,
    read_patch_code,
    reversed_patch,
)
from mailroom.settings import Settings
from workers.inprocess import process_path
from workers.pipeline import PipelineContext

DPI = 200
A4 = (round(297 / 25.4 * DPI), round(210 / 25.4 * DPI))


def px(mm: float) -> int:
    return round(mm * DPI / 25.4)


def patch_sheet(name: str, *, words: bool = True) -> np.ndarray:
    """An A4 sheet with the patch printed near the leading edge (vertical bars, 60 mm long) and its name."""
    page = np.full(A4, 255, np.uint8)
    pattern = next(p for p, n in PATCHES.items() if n == name)
    x, top = px(30), px(40)
    for bar in pattern:
        width = px(5.08 if bar == "W" else 2.03)
        page[top : top + px(60), x : x + width] = 0
        x += width + px(2.03)
    if words:
        cv2.putText(page, f"Patch {name} - Trennblatt", (px(30), px(130)), cv2.FONT_HERSHEY_SIMPLEX, 3, 0, 6)
    return scan_grey(page, seed=3)


def barcode_sheet(text: str, fmt: str) -> np.ndarray:
    page = np.full(A4, 255, np.uint8)
    code = np.asarray(zxingcpp.create_barcode(text, zxingcpp.barcode_format_from_str(fmt)).to_image(scale=6))
    h, w = code.shape
    page[px(40) : px(40) + h, px(30) : px(30) + w] = code
    return scan_grey(page, seed=4)


@pytest.mark.parametrize("name", ["T", "2", "3", "1", "4", "6"])
def test_every_patch_is_read_and_a_sheet_fed_the_other_way_reads_reversed(name: str) -> None:
    sheet = patch_sheet(name)
    assert read_patch_code(sheet, DPI) == name
    assert read_patch_code(cv2.rotate(sheet, cv2.ROTATE_180), DPI) == reversed_patch(name)
    assert read_patch_code(cv2.rotate(sheet, cv2.ROTATE_90_CLOCKWISE), DPI) in (name, reversed_patch(name))


def test_patch_separators_are_the_configured_ones_in_either_direction() -> None:
    t_upside_down = cv2.rotate(patch_sheet("T"), cv2.ROTATE_180)
    assert is_patch_separator(t_upside_down, DPI, ["T", "II"])
    assert is_patch_separator(patch_sheet("2"), DPI, ["Patch T", "Patch II"])
    assert not is_patch_separator(patch_sheet("6"), DPI, ["T", "2"])
    letter = scan_grey(render_letter(DPI)[0], seed=5)
    assert read_patch_code(letter, DPI) is None


@pytest.mark.parametrize("fmt", ["Code39", "Code128", "QRCode", "DataMatrix"])
def test_barcodes_with_a_configured_payload_mark_a_separator(fmt: str) -> None:
    sheet = barcode_sheet("TRENNBLATT-42", fmt)
    assert ("TRENNBLATT-42" in {text for _, text in read_barcodes(sheet, DPI)})
    assert is_barcode_separator(sheet, DPI, ["MAILROOM-SEPARATOR", " trennblatt-42 "])
    assert not is_barcode_separator(sheet, DPI, ["MAILROOM-SEPARATOR"])
    assert not is_barcode_separator(barcode_sheet("RE-2026-04711", fmt), DPI, ["TRENNBLATT-42"])


@pytest.mark.parametrize("words", [True, False])
def test_a_stack_is_split_at_a_patch_t_sheet(tmp_path: Path, words: bool) -> None:
    letter = render_letter(DPI)[0]
    pages = [scan_grey(letter, seed=1), patch_sheet("T", words=words), scan_grey(letter, seed=2)]
    paths = []
    for n, page in enumerate(pages, 1):
        path = tmp_path / f"p{n}.png"
        cv2.imwrite(str(path), page)
        paths.append(str(path))
    stack = tmp_path / "stapel.pdf"
    stack.write_bytes(img2pdf.convert(paths, layout_fun=img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))))
    ctx = PipelineContext.create(Settings(_env_file=None, data_dir=tmp_path / "data"))
    outcome = process_path(stack, ctx, channel="upload", station="poststelle-1")
    assert outcome.error is None and outcome.document is not None
    assert [p.separator for p in outcome.document.pages] == [False, True, False]
    assert [r.parent.pages if r.parent else None for r in outcome.results] == [[1, 1], [3, 3]]
