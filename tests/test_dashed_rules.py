"""Dashed horizontal rules are taken off the page before OCR (``intake.preprocess.dashed_rules``); solid rules,
letters, hyphens and em dashes are left alone. Real Tesseract reads the line under a removed rule."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pagefactory as pf
import pytest
from PIL import Image, ImageDraw

from intake import preprocess as pp

DPI = 200
FOOTER = ["Schmitt Catering e.K.", "Telefon: 03020 703835", "GLS Bank", "USt-IdNr.: DE189402037"]


def footer_page(*, rule: str = "dashed", gap_px: int = 3, thickness: int = 1) -> np.ndarray:
    """A letter's footer in 7.5 pt type: a rule across the page just above four columns of text."""
    w, h = pf._px(210, DPI), pf._px(60, DPI)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    font = pf._font("sans", 7.5, DPI)
    top = pf._px(20, DPI)
    for column, text in enumerate(FOOTER):
        draw.text((pf._px(20 + 45 * column, DPI), top), text, font=font, fill=0)
    ink_top = top + font.getbbox("U")[1]
    y = ink_top - gap_px - thickness
    left, right = pf._px(20, DPI), pf._px(195, DPI)
    if rule == "dashed":
        dash, space = pf._px(3.2, DPI), pf._px(1.3, DPI)
        for x in range(left, right, dash + space):
            draw.rectangle((x, y, min(right, x + dash - 1), y + thickness - 1), fill=0)
    elif rule == "solid":
        draw.rectangle((left, y, right, y + thickness - 1), fill=0)
    return np.asarray(img, dtype=np.uint8).copy()


def test_a_dashed_rule_just_above_a_line_is_found_and_painted_white() -> None:
    page = pf.scan_grey(footer_page(), seed=3)
    dashes = pp.dashed_rules(page, DPI)
    assert len(dashes) >= 30
    cleaned, removed = pp.remove_dashed_rules(page, DPI)
    assert removed == len(dashes)
    rule_row = min(y0 for _, y0, _, _ in dashes)
    assert cleaned[rule_row - 1 : rule_row + 2].min() > 150  # no dark pixel left on the rule's rows
    text_rows = slice(max(y1 for _, _, _, y1 in dashes) + 3, None)
    assert np.array_equal(cleaned[text_rows], page[text_rows])  # the text below is untouched


@pytest.mark.parametrize("seed", [1, 2])
def test_the_line_under_a_dashed_rule_is_read_after_preparation(tmp_path: Path, seed: int) -> None:
    """One pixel between rule and letters: Tesseract 5 reads the page as it is without the VAT id (it joins
    the dashes to the line); the prepared page gives it back."""
    page = pf.scan_grey(footer_page(gap_px=1), seed=seed)
    prepared = pp.prepare_page(page, DPI)
    assert "rules" in prepared.timings_ms
    text = pf.tesseract_text(prepared.image, tmp_path)
    assert "DE189402037" in text.replace(" ", "")
    assert "Schmitt Cater" in text and "03020 703835" in text


@pytest.mark.parametrize("thickness", [1, 2])
def test_solid_rules_are_no_dashed_rules(thickness: int) -> None:
    assert pp.dashed_rules(pf.scan_grey(footer_page(rule="solid", thickness=thickness)), DPI) == []


def test_a_solid_rule_not_quite_level_is_no_dashed_rule() -> None:
    """Its staircase pieces on neighbouring pixel rows touch or overlap: no gaps, so no dashes."""
    tilted = pf.rotate(footer_page(rule="solid"), 0.12)
    assert pp.dashed_rules(pf.scan_grey(tilted), DPI) == []


def test_letters_hyphens_and_em_dashes_are_left_alone() -> None:
    img = Image.new("L", (pf._px(210, DPI), pf._px(50, DPI)), 255)
    draw = ImageDraw.Draw(img)
    for row, (font, text) in enumerate([
        (pf._font("sans-bold", 16, DPI), "ZEITRAUM — EBENE — LETZTE ZAHLUNG — ZINSEN — TERMIN"),
        (pf._font("sans-bold", 16, DPI), "Auftragsbestätigung zu Ihrer Bestellung B-2026-6186"),
        (pf._font("sans", 11, DPI), "Rechnungs-Nr. — Kunden-Nr. — Bestell-Nr. — Liefer-Nr. — Leitweg-ID"),
        (pf._font("sans", 11, DPI), "- - - - - - - - - -   ________   =========="),
    ]):
        draw.text((pf._px(10, DPI), pf._px(5 + 11 * row, DPI)), text, font=font, fill=0)
    clean = np.asarray(img, dtype=np.uint8).copy()
    assert pp.dashed_rules(pf.scan_grey(clean), DPI) == []
    for seed in range(3):  # black-and-white scans thicken and roughen the bold strokes
        assert pp.dashed_rules(pf.scan_bw(pf.rotate(clean, 0.4), seed=seed), DPI) == []


@pytest.mark.parametrize("dpi", [200, 300])
def test_a_letter_without_rules_is_unchanged(dpi: int) -> None:
    page = pf.scan_grey(pf.render_letter(dpi)[0])
    assert pp.dashed_rules(page, dpi) == []
    assert pp.remove_dashed_rules(page, dpi)[0] is page


def test_the_dashes_are_found_on_a_binarised_page_too() -> None:
    page = pf.scan_bw(footer_page(thickness=2))
    assert len(pp.dashed_rules(page, DPI)) >= 30
    assert cv2.countNonZero(255 - pp.remove_dashed_rules(page, DPI)[0]) < cv2.countNonZero(255 - page)


def test_the_baseline_strokes_of_a_bold_heading_are_no_dashed_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The committed black-and-white scan of an order confirmation: the strokes on the baseline of its bold
    subject line come in a row of about equal length, but at the letters' irregular spacing."""
    from intake.checks import inspect_file
    from intake.pages import iter_pages
    from mailroom.settings import Settings

    scan = Path(__file__).resolve().parent.parent / "sample_docs" / "committed" / "0022-order_confirmation.pdf"
    settings = Settings(data_dir=tmp_path / "data")
    page = next(iter_pages(inspect_file(scan, settings), settings, tmp_path / "scratch"))
    assert page.image is not None
    image = cv2.imread(str(page.image.path), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    monkeypatch.setattr(pp, "remove_dashed_rules", lambda image, dpi: (image, 0))  # the page as OCR would get it
    prepared = pp.prepare_page(image, page.image.dpi)
    found = pp.dashed_rules(prepared.image, page.image.dpi)
    # The thin rule above the footer, broken into pieces by the scanner's threshold, may go (it is a rule);
    # nothing above it, where the subject line (y ≈ 815 of 2375) is.
    assert all(y0 > 0.85 * prepared.image.shape[0] for _, y0, _, _ in found)


def test_a_dashed_rule_away_from_text_is_left_alone() -> None:
    """It does not disturb Tesseract; taking it away could change how the page layout analysis splits the page."""
    page = pf.scan_grey(footer_page(gap_px=pf._px(8, DPI)))
    assert pp.dashed_rules(page, DPI) == []
    assert len(pp.dashed_rules(pf.scan_grey(footer_page(gap_px=pf._px(1.5, DPI))), DPI)) >= 30


def test_a_thin_underline_broken_at_its_steps_is_no_dashed_rule() -> None:
    """A photographed thin rule, not quite level: black pieces on one pixel row each, joined by grey where the
    line steps to the next row. The threshold cuts it into regular pieces; the grey between them tells."""
    page = footer_page(rule="none")
    top = min(np.flatnonzero((page < 128).any(axis=1)))
    y, x, step = top - 4, pf._px(20, DPI), 28
    for n in range(40):
        row = y + n // 20  # one step down half way
        page[row, x + n * step : x + n * step + 20] = 30  # the piece
        page[row : row + 2, x + n * step + 20 : x + (n + 1) * step] = 120  # grey where it steps
    assert pp.dashed_rules(pf.scan_grey(page, noise=2.0), DPI) == []


def test_a_dashed_rule_from_the_page_edge_is_found_within_the_page() -> None:
    page = pf.scan_grey(footer_page())[:, pf._px(20, DPI) :].copy()  # cut so that the rule starts at column 0
    dashes = pp.dashed_rules(page, DPI)
    assert len(dashes) >= 30 and min(x0 for x0, _, _, _ in dashes) >= 0
    assert pp.remove_dashed_rules(page, DPI)[1] == len(dashes)
