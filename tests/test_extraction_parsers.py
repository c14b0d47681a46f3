"""Value parsers of invoice extraction: amounts, dates, IBANs, BICs, VAT ids, identifiers, label matching."""

from __future__ import annotations

from datetime import date

import pytest

from extraction import parsers
from extraction.labels import LABELS
from extraction.layout import Row, Token, find_labels


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56 €", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1 234,56 EUR", "1234.56"),
        ("EUR 1,234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("0,79", "0.79"),
        ("-8,79 €", "-8.79"),
        ("8,79-", "-8.79"),
        ("785.603,41", "785603.41"),
        ("€ 12,00", "12.00"),
    ],
)
def test_amounts_german_and_english(text: str, expected: str) -> None:
    value = parsers.parse_amount(text)
    assert value is not None and parsers.amount_text(value) == expected


@pytest.mark.parametrize("text", ["19 %", "1.234", "12,5", "2026", "abc", "1.234,567", ""])
def test_not_amounts(text: str) -> None:
    assert parsers.parse_amount(text) is None


def test_amounts_in_running_text_keep_their_spans() -> None:
    text = "zzgl. USt 19 % 605,24 € und EUR 4,878.77"
    found = [(parsers.amount_text(v), text[s:e]) for v, s, e in parsers.find_amounts(text)]
    assert found == [("605.24", "605,24"), ("4878.77", "4,878.77")]
    assert parsers.find_amounts("Telefon 05759 793897, 12.11.2026") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.11.2026", date(2026, 11, 12)),
        ("1.6.2026", date(2026, 6, 1)),
        ("12.11.26", date(2026, 11, 12)),
        ("12. November 2026", date(2026, 11, 12)),
        ("1. März 2026", date(2026, 3, 1)),
        ("12 November 2026", date(2026, 11, 12)),
        ("November 12, 2026", date(2026, 11, 12)),
        ("2026-11-12", date(2026, 11, 12)),
        ("12.11.2026:", date(2026, 11, 12)),
        ("3. Okt. 2026", date(2026, 10, 3)),
    ],
)
def test_dates(text: str, expected: date) -> None:
    assert parsers.parse_date(text) == expected


@pytest.mark.parametrize("text", ["31.02.2026", "03/04/2026", "12. Foo 2026", "2026", "12.11."])
def test_not_dates(text: str) -> None:
    assert parsers.parse_date(text) is None


def test_dates_in_running_text() -> None:
    found = parsers.find_dates("Payment due within 14 days, by 12 July 2026, without deduction.")
    assert [d for d, _, _ in found] == [date(2026, 7, 12)]
    assert [d for d, _, _ in parsers.find_dates("Leistungszeitraum: 01.05.2026 – 31.05.2026")] == [
        date(2026, 5, 1), date(2026, 5, 31)]


def test_iban_with_and_without_spaces_and_its_checksum() -> None:
    assert parsers.parse_iban("DE36 1237 0024 8621 7879 63") == "DE36123700248621787963"
    assert parsers.parse_iban("IBAN: DE36123700248621787963") == "DE36123700248621787963"
    assert parsers.parse_iban("DE37 1237 0024 8621 7879 63") is None  # one digit off: check digits catch it
    assert parsers.iban_problem("DE37123700248621787963") is not None
    text = "IBAN: DE36 1237 0024 8621 7879 63 BIC: DEUTDEDBMST"
    assert [(v, text[s:e]) for v, s, e in parsers.find_ibans(text)] == [
        ("DE36123700248621787963", "DE36 1237 0024 8621 7879 63")]


def test_ocr_look_alikes_in_an_iban_are_repaired_only_when_the_check_digits_agree() -> None:
    assert [v for v, _, _ in parsers.find_ibans("DEI4 1235 0000 5994 0411 14")] == ["DE14123500005994041114"]
    assert parsers.find_ibans("DEI5 1235 0000 5994 0411 14") == []  # repaired, but then the checksum fails
    assert parsers.find_ibans("DEIO 1235 OOOO 5994 0411 14") == []  # more than two repairs: refused


def test_bic_and_vat_id() -> None:
    assert parsers.parse_bic("DEUTDEDBMST") == "DEUTDEDBMST"
    assert parsers.parse_bic("COBADEFFXXX") == "COBADEFFXXX"
    assert parsers.parse_bic("COBADEFF") == "COBADEFF"
    assert parsers.parse_bic("COBA12FF") is None
    assert parsers.parse_vat_id("DE 458 864 807") == "DE458864807"
    assert parsers.parse_vat_id("DE458864808") is None
    assert parsers.vat_id_problem("DE458864808") is not None
    assert [v for v, _, _ in parsers.find_vat_ids("USt-IdNr.: DE792712654")] == ["DE792712654"]
    assert [v for v, _, _ in parsers.find_vat_ids("USt-IdNr.: DE7927I2654")] == ["DE792712654"]
    assert [v for v, _, _ in parsers.find_vat_ids("YSt.-TId.-Nr: 2 DEL36695976")] == ["DE136695976"]  # L for 1
    assert [v for v, _, _ in parsers.find_vat_ids("USt-IdNr.: DEAU2378603")] == ["DE402378603"]  # worn serif 4 and 0
    assert parsers.find_vat_ids("USt-IdNr.: DEAU2378604") == []  # repaired, but the check digit disagrees
    assert [v for v, _, _ in parsers.find_vat_ids("TVA : FR11999999998 - ATU13585627")] == ["FR11999999998",
                                                                                             "ATU13585627"]


def test_a_bic_is_checked_against_the_bank_of_its_iban() -> None:
    gls = "DE27430609673357021825"  # bank code 430 609 67: GLS Gemeinschaftsbank, GENODEM1GLS
    assert parsers.bank_bic(gls) == "GENODEM1GLS"
    assert parsers.bank_bic("DE12123400007620591717") is None  # no such bank code
    assert parsers.bank_bic("DE12") is None
    assert parsers.repair_bic("GENODEMIGLS", gls) == "GENODEM1GLS"  # OCR's I for 1
    assert parsers.repair_bic("GENODEMI", gls) == "GENODEM1"
    assert parsers.repair_bic("GENODEM1GLS", gls) == "GENODEM1GLS"
    assert parsers.repair_bic("COBADEFFXXX", gls) == "COBADEFFXXX"  # another bank: left as printed
    # A merged bank: the registry still names the Dresdner Bank, the invoice prints Commerzbank's BIC.
    assert parsers.repair_bic("COBADEFFXXX", "DE88200800000970375700") == "COBADEFFXXX"
    # Without the bank of the IBAN: the one look-alike variant that is a known BIC ...
    assert parsers.repair_bic("GENODEFINDR", "DE12123400007620591717") == "GENODEF1NDR"
    assert parsers.repair_bic("GENODEFINDR") == "GENODEF1NDR"
    # ... else a character no German BIC has at its place (8th: never I, often 1) gives way to its look-alike
    assert parsers.repair_bic("BYLADEMIKSB") == "BYLADEM1KSB"
    assert parsers.repair_bic("DEUTDEDBMST") == "DEUTDEDBMST"  # known as printed
    assert parsers.repair_bic("COBADEFF") == "COBADEFF"
    assert parsers.repair_bic("ABCDXXZZ") == "ABCDXXZZ"  # no registry for the country: as printed


def test_identifiers_tax_numbers_and_rates() -> None:
    assert parsers.parse_identifier("RE-2026-04711") == "RE-2026-04711"
    assert parsers.parse_identifier("2026/7628,") == "2026/7628"
    assert parsers.parse_identifier("Rechnung") is None
    assert parsers.parse_identifier("x" * 40 + "1") is None
    assert [v for v, _, _ in parsers.find_tax_numbers("Steuernummer: 96/483/64352")] == ["96/483/64352"]
    assert parsers.find_tax_numbers("Telefon 96483") == []


def _row(*words: str) -> Row:
    tokens = tuple(Token(w, (100 * i, 0, 100 * i + 90, 30), 95.0, 1) for i, w in enumerate(words))
    return Row(tokens, 1, 0)


@pytest.mark.parametrize(
    ("words", "field"),
    [
        (("Rechnungs-Nr.:", "R1"), "invoice_number"),
        (("Rechnung", "Nr.:", "R1"), "invoice_number"),
        (("Rechnunqsnummer:", "R1"), "invoice_number"),  # OCR: q for g
        (("Invoice", "No.:", "R1"), "invoice_number"),
        (("USt-IdNr.:", "DE1"), "seller_vat_id"),
        (("Gesamtbetrag", "brutto", "1,00"), "total_gross"),
        (("Zwischensumme", "netto", "1,00"), "total_net"),
        (("Leitweg-ID:", "x"), "buyer_reference"),
    ],
)
def test_labels_are_found_fuzzily_on_whole_words(words: tuple[str, ...], field: str) -> None:
    hits = find_labels([_row(*words)], LABELS)
    assert hits and hits[0].label.field == field
    assert hits[0].after[-1].text == words[-1]
