"""Text conditions: terms with word boundaries, folding, fuzzy OCR tolerance, phrases, regexes; and zones."""

from __future__ import annotations

import pytest
from test_rules_builder import check, letter, page

from mailroom.model import Document
from rules.text import fold, tokenize
from rules.zones import Din5008Zones


def test_folding_of_case_umlauts_and_sharp_s() -> None:
    assert fold("GEBÜHR") == fold("Gebuehr") == "gebuehr"
    assert fold("Straße") == "strasse"
    assert fold("Café") == "cafe"
    assert tokenize("„Rechnung:“  RE-2026-04711,") == ("rechnung", "re-2026-04711")


def test_term_matches_whole_words_only() -> None:
    doc = letter(body=["Ihre Rechnungsnummer bitte angeben"], subject="Angebot")
    assert not check({"term": "Rechnung"}, doc).matched
    assert check({"term": "Rechnungsnummer"}, doc).matched


def test_term_is_folded() -> None:
    doc = letter(body=["STRASSENREINIGUNGSGEBUEHREN 2026"])
    assert check({"term": "Straßenreinigungsgebühren"}, doc).matched


def test_fuzzy_tolerates_ocr_confusion_but_not_other_words() -> None:
    doc = letter(subject="Rechnunq Nr. 4711")
    assert not check({"term": "Rechnung", "in": "subject"}, doc).matched
    assert check({"term": "Rechnung", "in": "subject", "fuzzy": 0.85}, doc).matched
    mahnung = letter(subject="Mahnung Nr. 4711")
    assert not check({"term": "Rechnung", "in": "subject", "fuzzy": 0.85}, mahnung).matched


def test_phrase_needs_consecutive_words() -> None:
    doc = letter()
    assert check({"phrase": "Amt für Finanzen", "in": "address_field"}, doc).matched
    assert not check({"phrase": "Amt Finanzen", "in": "address_field"}, doc).matched
    assert check({"phrase": "Amt fur Finanzen", "in": "address_field", "fuzzy": 0.8}, doc).matched


def test_regex_in_a_zone_with_evidence() -> None:
    trace = check({"regex": r"RE-\d{4}-\d+", "in": "subject"}, letter())
    assert trace.matched
    evidence = trace.evidence[0]  # type: ignore[attr-defined]
    assert evidence["page"] == 1 and evidence["words"] == ["RE-2026-04711"]
    x0, y0, _, _ = evidence["box_mm"]
    assert 40 < x0 < 60 and abs(y0 - 103) < 0.5
    assert not check({"regex": r"RE-\d{4}-\d+", "in": "footer"}, letter()).matched


@pytest.mark.parametrize(
    ("zone", "word", "inside"),
    [
        ("address_field", "Schmitz", True),
        ("address_field", "Industriestraße", False),  # the return address is cut out of the address field
        ("return_address", "Industriestraße", True),
        ("info_block", "Kundennummer", True),
        ("info_block", "Schmitz", False),
        ("subject", "Wartungsarbeiten", True),
        ("letterhead", "Söhne", True),
        ("footer", "IBAN", True),
        ("first_page", "Leistungsnachweis", False),
        ("any_page", "Leistungsnachweis", True),
    ],
)
def test_zones(zone: str, word: str, inside: bool) -> None:
    assert check({"term": word, "in": zone}, letter(pages=2)).matched is inside


def test_region_in_millimetres() -> None:
    doc = letter()
    assert check({"term": "Schmitz", "in": {"page": 1, "x_mm": [20, 105], "y_mm": [60, 70]}}, doc).matched
    assert not check({"term": "Schmitz", "in": {"page": 1, "x_mm": [20, 105], "y_mm": [70, 80]}}, doc).matched
    assert not check({"term": "Schmitz", "in": {"page": 2, "x_mm": [0, 210], "y_mm": [0, 297]}}, doc).matched


def _form(doc: Document) -> tuple[float, float]:
    rect = Din5008Zones().locate(doc)[1].rects["address_field"]
    return rect.y0, rect.y1


def test_din5008_form_a_and_b_are_detected_from_the_address() -> None:
    assert _form(letter()) == (45.0, 90.0)
    assert _form(letter(address_top=40)) == (27.0, 72.0)


def test_zones_follow_a_scanner_offset_and_skew() -> None:
    y0, y1 = _form(letter(address_top=70))  # shifted down: the address ends at 94.7 mm, below form B's 90
    assert (round(y0, 1), round(y1, 1)) == (49.7, 94.7)
    skewed = letter(skew=2.5)
    assert check({"term": "Schmitz", "in": "address_field"}, skewed).matched
    assert check({"term": "Wartungsarbeiten", "in": "subject"}, skewed).matched
    assert check({"term": "Kundennummer", "in": "info_block"}, skewed).matched


def test_no_address_block_falls_back_to_form_b() -> None:
    doc = Document(pages=[page([(25, 150, "Nur ein Satz", 11)])])
    assert _form(doc) == (45.0, 90.0)
