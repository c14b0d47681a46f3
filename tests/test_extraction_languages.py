"""Invoices in six languages: label tables as data, month names, the day-month order of slashed dates decided
by the seller's country and the page language, due dates from payment terms in days, the seller's name."""

from __future__ import annotations

from datetime import date

import pytest

from extraction import parsers
from extraction.invoice import extract_invoice
from extraction.labels import LANGUAGES, language_tables
from extraction.language import date_order_of, page_language
from mailroom.model import Block, Document, Line, Page, TextSource, Word


def _page(*rows: tuple[str, ...], gap: int = 180, height: int = 3508) -> Document:
    """One page: each row's words left to right, ``gap`` pixels apart (a tuple of strings per row)."""
    lines = []
    for n, words in enumerate(rows):
        y = 100 + 40 * n
        line_words = [Word(text=w, box=(100 + gap * i, y, 100 + gap * i + 160, y + 30), confidence=96)
                      for i, w in enumerate(words)]
        lines.append(Line(words=line_words, box=(100, y, 1900, y + 30)))
    page = Page(number=1, width=2480, height=height, dpi=300, text_source=TextSource.OCR,
                blocks=[Block(lines=lines)])
    return Document(pages=[page])


def test_every_language_has_a_table_with_labels_for_the_primary_fields() -> None:
    tables = language_tables()
    assert set(tables) == set(LANGUAGES) == {"de", "en", "fr", "nl", "it", "es"}
    for table in tables.values():
        for field in ("invoice_number", "issue_date", "total_gross", "total_net", "total_vat", "seller_vat_id"):
            assert table.fields[field], (table.language, field)
        assert len(set(table.months.values())) == 12, table.language


@pytest.mark.parametrize(("text", "expected"), [
    ("1er mars 2026", date(2026, 3, 1)),
    ("3 févr. 2026", date(2026, 2, 3)),
    ("12 de marzo de 2026", date(2026, 3, 12)),
    ("12 mei 2026", date(2026, 5, 12)),
    ("15 luglio 2026", date(2026, 7, 15)),
    ("12-Mar-2026", date(2026, 3, 12)),
    ("2026/04/03", date(2026, 4, 3)),
    ("13/04/2026", date(2026, 4, 13)),  # only one order makes a date
])
def test_month_names_and_unambiguous_slashed_dates(text: str, expected: date) -> None:
    assert parsers.parse_date(text) == expected


def test_slashed_dates_follow_the_writers_order() -> None:
    assert parsers.parse_date("03/04/2026") is None  # nobody said who wrote it
    with parsers.date_order("DMY"):
        assert parsers.parse_date("03/04/2026") == date(2026, 4, 3)
    with parsers.date_order("MDY"):
        assert parsers.parse_date("03/04/2026") == date(2026, 3, 4)


def test_date_order_from_country_language_and_other_dates() -> None:
    assert date_order_of("Invoice 03/04/2026 VAT DE136695976 total 12.00") == "DMY"  # a German seller
    assert date_order_of("Invoice 03/04/2026 Total $12.00, Springfield, IL 62704-1234, USA") == "MDY"
    assert date_order_of("Factuur 03/04/2026 betalen binnen 14 dagen op de rekening") == "DMY"  # Dutch page
    assert date_order_of("Invoice 03/04/2026, shipped 04/25/2026 to you") == "MDY"  # 25 can only be a day
    assert date_order_of("Invoice 03/04/2026 for the work") is None


def test_page_language() -> None:
    assert page_language("Veuillez payer la facture dans les 30 jours avec la référence") == "fr"
    assert page_language("Si prega di pagare la fattura entro 30 giorni con il riferimento") == "it"
    assert page_language("Por favor pague la factura en 30 días con la referencia del pedido") == "es"


def test_an_english_invoice_with_a_slashed_date_and_terms_in_days() -> None:
    document = _page(
        ("Invoice", "No.", "INV-0042/B"),
        ("Invoice", "Date", "03/04/2026"),
        ("VAT", "Reg.", "No.", "DE136695976"),
        ("Subtotal", "100.00"),
        ("VAT", "19%", "19.00"),
        ("Total", "119.00"),
        ("Payment", "within", "30", "days", "net."),
    )
    invoice = extract_invoice(document).invoice
    assert invoice["invoice_number"]["value"] == "INV-0042/B"
    assert invoice["issue_date"]["value"] == "2026-04-03"  # a German VAT id: the day comes first
    assert invoice["due_date"]["value"] == "2026-05-03"
    assert invoice["due_date"]["raw_confidence"] <= invoice["issue_date"]["raw_confidence"]
    assert invoice["total_gross"]["value"] == "119.00"


def test_due_date_from_german_terms_is_the_net_term_not_the_discount() -> None:
    document = _page(
        ("Rechnungsnummer", "R-77"),
        ("Rechnungsdatum", "10.06.2026"),
        ("Zahlbar", "innerhalb", "10", "Tagen", "mit", "2", "%", "Skonto,"),
        ("innerhalb", "30", "Tagen", "ohne", "Abzug."),
    )
    invoice = extract_invoice(document).invoice
    assert invoice["due_date"]["value"] == "2026-07-10"


@pytest.mark.parametrize(("rows", "number", "issue", "gross"), [
    ((("Facture", "N°", "F-2026-118"), ("Date", "de", "facture", "15", "juillet", "2026"), ("Total", "HT", "200,00"),
      ("Total", "TVA", "40,00"), ("Total", "TTC", "240,00")), "F-2026-118", "2026-07-15", "240.00"),
    ((("Factuurnummer", "NL-5521"), ("Factuurdatum", "12-03-2026"), ("Subtotaal", "100,00"), ("BTW", "21,00"),
      ("Totaal", "121,00")), "NL-5521", "2026-03-12", "121.00"),
    ((("Numero", "fattura", "FT/118"), ("Data", "fattura", "05/02/2026"), ("Imponibile", "100,00"),
      ("IVA", "22,00"), ("Totale", "fattura", "122,00")), "FT/118", "2026-02-05", "122.00"),
    ((("Número", "de", "factura", "A-77"), ("Fecha", "de", "factura", "7", "de", "abril", "de", "2026"),
      ("Base", "imponible", "100,00"), ("Cuota", "IVA", "21,00"), ("Total", "factura", "121,00")),
     "A-77", "2026-04-07", "121.00"),
])
def test_invoices_in_french_dutch_italian_spanish(rows: tuple[tuple[str, ...], ...], number: str, issue: str,
                                                   gross: str) -> None:
    invoice = extract_invoice(_page(*rows, gap=260)).invoice
    assert invoice["invoice_number"]["value"] == number
    assert invoice["issue_date"]["value"] == issue
    assert invoice["total_gross"]["value"] == gross
    assert invoice["total_gross"]["confidence"] >= 0.85  # a consistent set of totals (generic labels)


def test_seller_name_from_the_sender_line_and_the_footer_not_the_buyer() -> None:
    document = _page(
        ("Müller", "Haustechnik", "GmbH", "·", "Hauptstr.", "5", "·", "50667", "Köln"),
        ("Stadtverwaltung", "Musterstadt"),
        ("Rathausplatz", "1"),
        ("Rechnungsnummer", "R-1"),
        *[("Text",)] * 60,
        ("Müller", "Haustechnik", "GmbH"),
        gap=120,
    )
    invoice = extract_invoice(document).invoice
    assert invoice["seller_name"]["value"] == "Müller Haustechnik GmbH"


def test_seller_name_from_a_seller_block() -> None:
    document = _page(
        ("Käufer:",),
        ("Kunden", "AG", "Mitte"),
        ("Verkäufer:",),
        ("Nummer:", "549910"),
        ("Lieferant", "GmbH"),
        ("Lieferantenstraße", "20"),
        gap=120,
    )
    invoice = extract_invoice(document).invoice
    assert invoice["seller_name"]["value"] == "Lieferant GmbH"
