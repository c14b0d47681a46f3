"""Reading errors seen on invoices of layouts the extractor was not made for (the independent dev split), one test
per kind: net and VAT swapped, a label two fields share, VAT ids written with spaces, invoice numbers with letters
apart or a suffix, a date under a number's label, tax numbers of every shape, and learned amounts of another
width."""

from __future__ import annotations

from decimal import Decimal

import pytest

from extraction import parsers
from extraction.candidates import Candidate
from extraction.choose import choose_totals, plausible_vat
from extraction.invoice import extract_invoice
from extraction.learning import apply_layout, learn_layout
from extraction.seller import NameCandidate, choose_seller_name
from extraction.suppliers import Supplier, SupplierDirectory
from mailroom.model import Block, Document, Line, Page, TextSource, Word


def _page(*rows: tuple[str, ...], gap: int = 260, confidence: float = 96,
          source: TextSource = TextSource.OCR, row_confidence: dict[int, float] | None = None) -> Document:
    """One page at 300 dpi: each row's words left to right, ``gap`` pixels apart, read with ``confidence`` (or
    the row's in ``row_confidence``)."""
    lines = []
    for n, words in enumerate(rows):
        y = 100 + 40 * n
        sure = (row_confidence or {}).get(n, confidence)
        line_words = [Word(text=w, box=(100 + gap * i, y, 100 + gap * i + 160, y + 30), confidence=sure)
                      for i, w in enumerate(words)]
        lines.append(Line(words=line_words, box=(100, y, 2300, y + 30)))
    return Document(pages=[Page(number=1, width=2480, height=3508, dpi=300, text_source=source,
                                blocks=[Block(lines=lines)])])


def _values(document: Document) -> dict[str, str]:
    invoice = extract_invoice(document).invoice
    return {name: part["value"] for name, part in invoice.items() if isinstance(part, dict) and "value" in part}


def test_net_and_vat_are_not_swapped_when_both_ways_add_up() -> None:
    # "Subtotaal excl. BTW" holds a VAT label too: net + VAT = gross held with the two swapped
    values = _values(_page(("Factuurnummer", "NL-5521"), ("Subtotaal", "excl.", "BTW", "44.682,01", "€"),
                           ("BTW", "19%", "8.489,58", "€"), ("Totaal", "incl.", "BTW", "53.171,59", "€")))
    assert (values["total_net"], values["total_vat"], values["total_gross"]) == ("44682.01", "8489.58", "53171.59")


def test_a_swapped_set_of_totals_is_never_chosen() -> None:
    def candidate(field: str, value: str, row: int) -> Candidate:
        return Candidate(field=field, value=value, score=0.9, page=1, box=(0, 0, 1, 1), source="ocr",
                         evidence="test", row=row)

    swapped_first = [candidate("total_net", "8489.58", 1), candidate("total_vat", "44682.01", 1),
                     candidate("total_net", "44682.01", 2), candidate("total_vat", "8489.58", 2),
                     candidate("total_gross", "53171.59", 3)]
    totals = choose_totals(swapped_first)
    assert totals.consistent
    assert totals.fields["total_net"].value == "44682.01" and totals.fields["total_vat"].value == "8489.58"
    assert plausible_vat(Decimal("1.28"), Decimal("0.20")) and plausible_vat(Decimal("100"), Decimal("0"))
    assert plausible_vat(Decimal("-100.00"), Decimal("-19.00"))
    assert not plausible_vat(Decimal("8489.58"), Decimal("44682.01"))
    assert not plausible_vat(Decimal("100.00"), Decimal("-19.00"))


def test_a_label_two_fields_share_is_read_for_the_one_its_value_fits() -> None:
    # French "TVA" names the VAT amount and the VAT id
    values = _values(_page(("Facture", "N°", "F-2026-118"), ("Total", "HT", "12", "536,84", "€"),
                           ("TVA", "19%", "2", "382,00", "€"), ("Total", "TTC", "14", "918,84", "€"),
                           ("N°", "TVA", "intracommunautaire", ":", "DE136695976")))
    assert (values["total_net"], values["total_vat"], values["total_gross"]) == ("12536.84", "2382.00", "14918.84")
    assert values["seller_vat_id"] == "DE136695976"


@pytest.mark.parametrize(("written", "read"), [
    (("DE", "136", "695", "976"), "DE136695976"),  # valid, spaced in groups
    (("DE", "123", "456", "788"), "DE123456788"),
    (("ATU", "12345675"), "ATU12345675"),
])
def test_vat_ids_written_with_spaces(written: tuple[str, ...], read: str) -> None:
    assert _values(_page(("USt-IdNr.", *written)))["seller_vat_id"] == read


@pytest.mark.parametrize("written", [("DE", "123", "456", "789"), ("ATU", "123456789")])
def test_vat_ids_that_fail_their_check_digits_are_given_as_printed_for_review(written: tuple[str, ...]) -> None:
    invoice = extract_invoice(_page(("Rechnungsnummer", "R-1"), ("USt-IdNr.", *written))).invoice
    assert invoice["seller_vat_id"]["value"] == "".join(written)
    assert invoice["seller_vat_id"]["confidence"] < 0.8  # below the review line: the check digits fail


@pytest.mark.parametrize(("row", "number"), [
    (("Rechnungsnummer", "RE", "2026-0042"), "RE 2026-0042"),
    (("Rechnung", "Nr.", "R", "4711"), "R 4711"),
    (("Factuurnummer", ":018304", "/", "28865"), "018304 / 28865"),
    (("Rechnungsnummer", "4711", "/", "03.02.2026"), "4711"),  # a date is no suffix
    (("Rechnungsnummer", "NR", "4711"), "4711"),  # a word naming the number is no prefix
])
def test_invoice_numbers_keep_their_letters_and_suffix(row: tuple[str, ...], number: str) -> None:
    assert _values(_page(row)).get("invoice_number") == number


def test_a_date_under_a_numbers_label_is_not_the_number() -> None:
    assert parsers.parse_identifier("23.02.2016") is None and parsers.parse_identifier("2016-02-23") is None
    assert parsers.parse_identifier("RE-2016.02") == "RE-2016.02"
    values = _values(_page(("Rechnungsnummer", "Rechnungsdatum"), ("Dummywert", "23.02.2016")))
    assert values["invoice_number"] == "Dummywert"  # the word in the number's cell as printed, never the date


@pytest.mark.parametrize(("row", "number"), [
    (("Steuernummer", "201/113/40209"), "201/113/40209"),
    (("Steuernummer", "22/815/0815/4"), "22/815/0815/4"),  # with its suffix
    (("St.-Nr.", "123/456/789"), "123/456/789"),
    (("Tax", "No.:201/113/40209"), "201/113/40209"),  # glued to its label
    (("Fiscaal", "nr.:", "9990815"), "9990815"),
    (("Steuer-Nr.", "12", "345/6789"), "12 345/6789"),  # Austrian
])
def test_tax_numbers_of_every_shape(row: tuple[str, ...], number: str) -> None:
    assert _values(_page(row, gap=200))["seller_tax_number"] == number


def test_tax_numbers_are_not_amounts_or_dates() -> None:
    assert parsers.find_tax_numbers("4711,50 EUR") == []
    assert parsers.find_tax_numbers("am 03.02.2026") == []
    assert [v for v, _, _ in parsers.find_tax_numbers(": 4711 ")] == ["4711"]  # digits alone: first after the label
    assert parsers.find_tax_numbers("Telefon 96483") == []


def _totals_page(net: str, vat: str, gross: str) -> Document:
    """Totals under the supplier's own words, the amounts right-aligned at x = 1500 (about 30 px per character)."""
    lines = []
    for n, (label, amount) in enumerate([("Warenwert", net), ("Steueranteil", vat), ("Endsumme", gross)]):
        y = 1400 + 95 * n
        lines.append(Line(words=[Word(text=label, box=(240, y, 600, y + 30), confidence=96),
                                 Word(text=amount, box=(1500 - 30 * len(amount), y, 1500, y + 30), confidence=96)],
                          box=(240, y, 1500, y + 30)))
    return Document(pages=[Page(number=1, width=2480, height=3508, dpi=300, text_source=TextSource.OCR,
                                blocks=[Block(lines=lines)])])


def test_learned_right_aligned_amounts_of_another_width_are_read() -> None:
    layout = learn_layout(_totals_page("1.250,00", "237,50", "1.487,50"),
                          {"total_net": "1250.00", "total_vat": "237.50", "total_gross": "1487.50"}, "K-1")
    wider = _totals_page("112.431,70", "21.362,02", "133.793,72")
    read = {c.field: c.value for c in apply_layout(wider, layout, {1: "ocr"})}
    assert read == {"total_net": "112431.70", "total_vat": "21362.02", "total_gross": "133793.72"}
    narrower = _totals_page("12,00", "2,28", "14,28")
    assert {c.field: c.value for c in apply_layout(narrower, layout, {1: "ocr"})} == {
        "total_net": "12.00", "total_vat": "2.28", "total_gross": "14.28"}


def _placed(*words: tuple[str, int, int, int]) -> Document:
    """One page at 300 dpi with words placed by hand: (text, x, y, height); about 22 px per character."""
    tokens = [Word(text=t, box=(x, y, x + 22 * len(t), y + h), confidence=96) for t, x, y, h in words]
    lines = [Line(words=[w], box=w.box) for w in tokens]
    return Document(pages=[Page(number=1, width=2480, height=3508, dpi=300, text_source=TextSource.OCR,
                                blocks=[Block(lines=lines)])])


_BODY = [(word, 200 + 300 * (n % 5), 1200 + 60 * (n // 5), 30) for n, word in enumerate(
    ["Rechnung", "Nummer", "Menge", "Preis", "Betrag", "Pflaster", "2", "Stk", "12,00", "24,00"] * 4)]


def _seller(document: Document) -> str | None:
    part = extract_invoice(document).invoice.get("seller_name")
    return part["value"] if part else None


def test_a_letterhead_whose_logo_words_stand_on_two_rows_is_one_name() -> None:
    # the logo's baselines differ a little: rows "Bei GmbH" and "Spiel"; "GmbH" alone is no name
    document = _placed(("Bei", 300, 200, 50), ("GmbH", 540, 200, 42), ("Spiel", 400, 210, 52),
                       ("Seite", 2100, 205, 30), ("1", 2230, 205, 30), *_BODY)
    assert _seller(document) == "Bei Spiel GmbH"


def test_the_street_under_a_letterhead_and_a_dutch_postcode_are_no_names() -> None:
    # "Am Mühlbach 3 - 12345 Musterstadt - Hotline" looks like a sender line; "6211 AB" like a Swedish AB
    document = _placed(("Stadtwerke", 300, 150, 30), ("Musterstadt", 560, 150, 30), ("GmbH", 840, 150, 30),
                       ("Am", 300, 200, 30), ("Mühlbach", 380, 200, 30), ("3", 590, 200, 30), ("-", 630, 200, 30),
                       ("12345", 670, 200, 30), ("Musterstadt", 810, 200, 30), ("-", 1070, 200, 30),
                       ("Hotline", 1110, 200, 30), ("6211", 1700, 260, 30), ("AB", 1810, 260, 30),
                       ("Maastricht", 1880, 260, 30), ("Stadt", 300, 500, 30), ("Musterstadt", 440, 500, 30),
                       *_BODY)
    assert _seller(document) == "Stadtwerke Musterstadt GmbH"  # "Stadtwerke" is no town addressee


def test_a_name_over_its_street_and_postcode_is_the_seller() -> None:
    document = _placed(("Test", 1200, 150, 30), ("company", 1310, 150, 30), ("Friedrichstraße", 1200, 200, 30),
                       ("68", 1540, 200, 30), ("10117", 1200, 250, 30), ("Berlin", 1330, 250, 30),
                       ("Stadt", 200, 400, 30), ("Musterstadt", 330, 400, 30), ("Rathausplatz", 200, 450, 30),
                       ("1", 480, 450, 30), ("12345", 200, 500, 30), ("Musterstadt", 330, 500, 30), *_BODY)
    assert _seller(document) == "Test company"


@pytest.mark.parametrize(("written", "name"), [
    (("Grundbesitz", "GmbH", "&", "Co."), "Grundbesitz GmbH & Co."),
    (("MUSTERLIEFERANT", "GMBH"), "MUSTERLIEFERANT GMBH"),
    (("Druckerei", "Peters", "UG", "(haftungsbeschränkt)"), "Druckerei Peters UG (haftungsbeschränkt)"),
])
def test_legal_forms_written_in_full_or_in_capitals(written: tuple[str, ...], name: str) -> None:
    words = [(w, 300 + sum(22 * len(v) + 20 for v in written[:i]), 150, 30) for i, w in enumerate(written)]
    assert _seller(_placed(*words, *_BODY)) == name


def test_a_date_with_an_apostrophe_before_its_year() -> None:
    assert parsers.parse_date("25 April'2018").isoformat() == "2018-04-25"  # type: ignore[union-attr]


def test_a_value_below_a_label_that_belongs_to_another_label_is_not_taken() -> None:
    # the invoice date was unreadable: the due date on the row below is the due date's, not the issue date's
    invoice = extract_invoice(_page(("Invoice", "date", "25", "Apr!l"), ("Due", "date", "25", "May", "2018"),
                                    gap=140)).invoice
    assert "issue_date" not in invoice
    assert invoice["due_date"]["value"] == "2018-05-25"


def test_the_continuation_title_of_page_two_is_a_second_reading_of_the_number() -> None:
    # OCR misread the number in the header grid; page 2's "Rechnung 471102 vom ..." disagrees: never sure then
    invoice = extract_invoice(_page(("Rechnungs-Nr.", "471192"), ("Datum", "05.03.2018"),
                                    ("Rechnung", "471102", "vom", "05.03.2018", "(Fortsetzung)"))).invoice
    assert invoice["invoice_number"]["confidence"] < 0.8


def test_an_iban_with_a_speck_read_as_a_point() -> None:
    assert parsers.find_ibans("IBAN: DE74 5514. 0120 3202 0801 46")[0][0] == "DE74551401203202080146"


@pytest.mark.parametrize("printed", ["DE0815", "DE/12/345/67890"])
def test_a_vat_id_is_given_as_printed_however_wrong(printed: str) -> None:
    invoice = extract_invoice(_page(("USt-IdNr.:", printed), ("Rechnungsnummer", "R-1"))).invoice
    assert invoice["seller_vat_id"]["value"] == printed
    assert invoice["validation"]["needs_review"]


def test_a_credit_note_whose_tax_amounts_lost_their_signs_keeps_its_negative_gross() -> None:
    # "TVA 20,0 % -20,48 € 4,10 €" / "Total taxes 14,99 €" / "TVA 5,5 % -198,00 € -10,89 €" / "Total TTC 233,47 €":
    # the bases are negative (so the VAT field has negative readings), some tax amounts and the gross lost the sign
    def candidate(field: str, value: str, row: int, score: float = 0.8) -> Candidate:
        return Candidate(field=field, value=value, score=score, page=1, box=(0, 0, 1, 1), source="ocr",
                         evidence="test", row=row)

    totals = choose_totals([candidate("total_net", "-218.48", 28, 0.92), candidate("total_vat", "-20.48", 29),
                            candidate("total_vat", "4.10", 29, 0.7), candidate("total_vat", "14.99", 30, 0.68),
                            candidate("total_vat", "-198.00", 31), candidate("total_vat", "-10.89", 31, 0.71),
                            candidate("total_gross", "233.47", 32)])
    assert totals.consistent
    assert totals.fields["total_gross"].value == "-233.47"
    assert totals.fields["total_vat"].value == "-14.99"
    assert totals.fields["total_gross"].confidence < 0.8  # a repaired sign is checked by a person


_LONE = (("Rechnungsnummer", "R-4711"), ("Rechnungsdatum", "05.03.2026"))


@pytest.mark.parametrize(("rows", "confidence"), [
    (_LONE, 89),  # OCR was not sure enough of the words: a misread "471192" for "471102" had 0.899
    ((("Rechnungsnumer", "R-4711"), ("Rechnungsdatm", "05.03.2026")), 96),  # the labels themselves misread
    ((*_LONE, ("Rechnungsnummer", "R-4741"), ("Datum", "05.08.2026")), 96),  # another value printed for each
])
def test_a_lone_ocr_reading_of_the_number_and_date_is_not_trusted_without_evidence(
        rows: tuple[tuple[str, ...], ...], confidence: float) -> None:
    # no check digits and no arithmetic vouch for them: one misread digit reads as well as the right one
    lone = extract_invoice(_page(*rows, confidence=confidence, gap=400)).invoice
    assert lone["invoice_number"]["confidence"] < 0.8 and lone["issue_date"]["confidence"] < 0.8
    assert lone["validation"]["needs_review"]


def test_a_clear_label_and_surely_read_words_vouch_for_an_ocr_reading() -> None:
    invoice = extract_invoice(_page(*_LONE, confidence=96, gap=400)).invoice
    assert invoice["invoice_number"]["confidence"] >= 0.8 and invoice["issue_date"]["confidence"] >= 0.8
    # Tesseract is less sure of any word with letters and digits: "R-4711" at 0.91 is as well read as "4711" at 0.96
    lettered = extract_invoice(_page(*_LONE, confidence=91, gap=400)).invoice
    assert lettered["invoice_number"]["confidence"] >= 0.8 and lettered["issue_date"]["confidence"] < 0.8
    digits = extract_invoice(_page(("Rechnungsnummer", "471192"), confidence=91, gap=400)).invoice
    assert digits["invoice_number"]["confidence"] < 0.8


def test_a_text_layer_value_under_a_clear_label_is_no_misreading() -> None:
    # a born-digital PDF: the words are the ones printed, whatever the label's match; a rival value still doubts
    invoice = extract_invoice(_page(*_LONE, confidence=100, gap=400, source=TextSource.TEXT_LAYER)).invoice
    assert invoice["invoice_number"]["confidence"] >= 0.8 and invoice["issue_date"]["confidence"] >= 0.8
    assert invoice["invoice_number"]["source"] == "text_layer"
    rival = extract_invoice(_page(*_LONE, ("Rechnungsnummer", "R-4741"), confidence=100, gap=400,
                                  source=TextSource.TEXT_LAYER)).invoice
    assert rival["invoice_number"]["confidence"] < 0.8


def test_a_second_reading_or_the_payment_terms_vouch_for_the_number_and_date() -> None:
    # read with word confidences too low to vouch alone (0.89)
    invoice = extract_invoice(_page(
        ("Rechnungsnummer", "R-4711"), ("Rechnungsdatum", "05.03.2026"), ("Fällig", "am", "19.03.2026"),
        ("Rechnung", "R-4711", "vom", "05.03.2026"), ("Zahlbar", "innerhalb", "14", "Tagen", "netto"), gap=200,
        confidence=89)).invoice
    assert invoice["invoice_number"]["confidence"] >= 0.8  # header and title agree
    assert invoice["issue_date"]["confidence"] >= 0.8
    dated_by_terms = extract_invoice(_page(
        ("Rechnungsnummer", "R-4711"), ("Rechnungsdatum", "05.03.2026"), ("Fällig", "am", "19.03.2026"),
        ("Zahlbar", "innerhalb", "14", "Tagen", "netto"), gap=200, confidence=89)).invoice
    assert dated_by_terms["issue_date"]["confidence"] >= 0.8  # 05.03. + 14 days = the printed 19.03.
    assert dated_by_terms["invoice_number"]["confidence"] < 0.8


@pytest.mark.parametrize("rows", [
    (("Rechnungs-Nr.", "©", "Rechnungsnummer"), ("Datum", "05.03.2018")),  # a speck between label and word
    (("Invoice", "No.", "Rechnungsnummer"), ("Invoice", "date", "05.03.2018")),
    # a header grid: the number's label over its cell, the date's label beside it
    (("Rechnungsnummer", "Rechnungsdatum", "Kundennummer"), ("Rechnungsnummer]|", "23.02.2016", "48147")),
])
def test_an_invoice_number_printed_as_a_word_is_given_as_printed(rows: tuple[tuple[str, ...], ...]) -> None:
    invoice = extract_invoice(_page(*rows, gap=330)).invoice
    assert invoice["invoice_number"]["value"] == "Rechnungsnummer"
    assert invoice["invoice_number"]["confidence"] < 0.8  # a person confirms it


def test_a_word_is_no_invoice_number_when_one_with_digits_is_printed() -> None:
    invoice = extract_invoice(_page(("Rechnungsnummer", "Rechnungsdatum"), ("R-4711", "23.02.2016"),
                                    gap=330)).invoice
    assert invoice["invoice_number"]["value"] == "R-4711"


def test_an_iban_whose_check_digits_or_groups_ocr_misread() -> None:
    # "S" read for the check digit "5" and a point inside a group; "O" for "0" in a Dutch IBAN's check digits
    assert parsers.find_ibans("IBAN: DES3 7721.0786 2419 0899 94")[0][0] == "DE53772107862419089994"
    assert parsers.find_ibans(": NLO2 INGB 0581 2352 36")[0][0] == "NL02INGB0581235236"
    assert parsers.find_ibans(": NLO3 INGB 0581 2352 36") == []  # repaired, mod 97 still fails: no IBAN


@pytest.mark.parametrize(("text", "day"), [("5..März 2018", "2018-03-05"), ("6 aoüt 2018", "2018-08-06")])
def test_dates_with_a_doubled_point_or_a_wrong_accent(text: str, day: str) -> None:
    assert parsers.parse_date(text).isoformat() == day  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "amount"), [
    ("Gutschriftsbetrag (233,47 €)", "-233.47"), ("Total (€ 1,233.47)", "-1233.47"), ("Summe –233,47 €", "-233.47"),
    ("Betrag 233,47–", "-233.47"), ("Summe – 233,47 €", "233.47"),  # a dash standing apart is a separator
    ("19 % auf 100,00)", "100.00"),  # a closing parenthesis alone is no sign
])
def test_credit_note_amounts_in_parentheses_or_with_an_en_dash_are_negative(text: str, amount: str) -> None:
    assert [parsers.amount_text(a) for a, _, _ in parsers.find_amounts(text)] == [amount]


def test_a_credit_note_with_its_amounts_in_parentheses_has_a_negative_gross() -> None:
    invoice = extract_invoice(_page(("Gutschrift", "Nr.", "G-2201"), ("Nettobetrag", "(100,00", "€)"),
                                    ("Umsatzsteuer", "19", "%", "(19,00", "€)"), ("Gesamtbetrag", "(119,00", "€)"),
                                    gap=300)).invoice
    assert invoice["total_gross"]["value"] == "-119.00"
    assert invoice["total_net"]["value"] == "-100.00" and invoice["total_vat"]["value"] == "-19.00"


@pytest.mark.parametrize("text", ["IBAN DE53 7721 0786 2419 0899 94", "IBAN DES3 7721 0786 2419 0899 94"])
def test_the_word_iban_is_no_country_code_that_swallows_the_iban(text: str) -> None:
    assert [value for value, _, _ in parsers.find_ibans(text)] == ["DE53772107862419089994"]


def test_a_name_read_with_its_accents_at_one_place_is_given_with_them() -> None:
    # Tesseract's German model drops the French accents in the letterhead but kept them in the footer
    name = choose_seller_name([NameCandidate("Atelier Lefevre SAS", 0.8, 1, (0, 0, 1, 1), "letterhead"),
                               NameCandidate("Atelier Lefèvre SAS", 0.75, 1, (0, 9, 1, 10), "footer")], "ocr")
    assert name is not None and name.value == "Atelier Lefèvre SAS"
    assert name.confidence > 0.8  # two places agree


def test_the_master_data_spelling_restores_the_accents_ocr_dropped() -> None:
    directory = SupplierDirectory([Supplier("70009", "Atelier Lefèvre SAS", vat_id="FR40303265045")])
    invoice = extract_invoice(_placed(("Atelier", 300, 150, 40), ("Lefevre", 480, 150, 40), ("SAS", 680, 150, 40),
                                      ("TVA", 300, 800, 30), ("FR40303265045", 420, 800, 30), *_BODY),
                              suppliers=directory).invoice
    assert invoice["supplier"]["creditor_number"] == "70009"
    assert invoice["seller_name"]["value"] == "Atelier Lefèvre SAS"


def test_an_iban_printed_under_its_label_but_unreadable_sends_the_invoice_to_review() -> None:
    rows = (("Rechnungsnummer", "4711"), ("Rechnungsdatum", "05.03.2026"), ("Nettobetrag", "100,00", "€"),
            ("USt", "19", "%", "19,00", "€"), ("Gesamtbetrag", "119,00", "€"), ("USt-IdNr.", "DE136695976"))
    invoice = extract_invoice(_page(*rows, ("IBAN:", "D4:61", "1236", "0410", "0575", "0728", "42"),
                                    gap=300)).invoice
    assert "iban" not in invoice
    assert any(r.startswith("unread iban") for r in invoice["validation"]["review_reasons"])
    without = extract_invoice(_page(*rows, gap=300)).invoice  # no IBAN printed (paid by direct debit)
    assert not any(r.startswith("unread") for r in without["validation"]["review_reasons"])


def test_a_missing_vat_id_with_an_illegible_row_on_the_page_sends_the_invoice_to_review() -> None:
    # the footer holding the VAT id was smudged: "UStIANT:DEOSSEMEE" with word confidences 0-30
    rows = (("Rechnungsnummer", "4711"), ("Rechnungsdatum", "05.03.2026"), ("Gesamtbetrag", "119,00", "€"))
    legible = extract_invoice(_page(*rows, ("Neal", "GaNindeterien", "UStIANT:DEOSSEMEE"), gap=300)).invoice
    assert not any(r.startswith("unread") for r in legible["validation"]["review_reasons"])
    smudged = _page(*rows, ("Neal", "GaNindeterien", "UStIANT:DEOSSEMEE"), gap=300, row_confidence={3: 6})
    invoice = extract_invoice(smudged).invoice
    assert any(r.startswith("unread seller_vat_id") for r in invoice["validation"]["review_reasons"])
    # one word of the footer read with 0 ("USIANT:DESETETE" in a row of well-read words) is enough
    one_word = _page(*rows, ("GLS", "Bank", "USIANT:DESETETE"), gap=300)
    assert not any(r.startswith("unread") for r in extract_invoice(one_word).invoice["validation"]["review_reasons"])
    smudged_word = _page(*rows, ("GLS", "Bank", "USIANT:DESETETE"), gap=300)
    words = smudged_word.pages[0].blocks[0].lines[3].words
    smudged_word.pages[0].blocks[0].lines[3].words = [*words[:2], words[2].model_copy(update={"confidence": 0})]
    assert any(r.startswith("unread seller_vat_id")
               for r in extract_invoice(smudged_word).invoice["validation"]["review_reasons"])


def _field(value: str, confidence: float) -> dict[str, object]:
    return {"value": value, "confidence": confidence, "page": 1, "box": None, "source": "ocr"}


def test_misread_line_items_of_a_scan_whose_totals_add_up_do_not_block() -> None:
    from extraction import validation
    from extraction.invoice import _line_checks

    items = [{"description": "Kaltgetränke", "quantity": "50", "unit_price": "187.00", "amount": "93.50"},  # 1,87
             {"description": "Kaffee", "quantity": "20", "unit_price": "4.10", "amount": "82.00"}]
    sure = {"total_net": _field("175.50", 0.95), "total_vat": _field("33.35", 0.95),
            "total_gross": _field("208.85", 0.95)}
    checks = _line_checks(items, sure, None, read_from_page=True)
    failed = [c for c in checks if not c.ok]
    assert [c.check for c in failed] == ["line_amounts"] and not failed[0].blocking
    assert failed[0].to_dict()["blocking"] is False
    complete = {**sure, "invoice_number": _field("4711", 0.95), "issue_date": _field("2026-03-05", 0.95)}
    assert validation.review_reasons(checks, complete) == []
    assert validation.status_of(checks, {name: f["value"] for name, f in complete.items()}) == "valid"
    # totals not vouched (a lone gross), or an e-invoice's own lines: the failed check blocks as before
    unsure = {**sure, "total_gross": _field("208.85", 0.75)}
    assert all(c.blocking for c in _line_checks(items, unsure, None, read_from_page=True))
    assert all(c.blocking for c in _line_checks(items, sure, None, read_from_page=False))
    wrong_sum = {**sure, "total_net": _field("275.50", 0.95)}  # net + VAT ≠ gross
    assert all(c.blocking for c in _line_checks(items, wrong_sum, None, read_from_page=True))
