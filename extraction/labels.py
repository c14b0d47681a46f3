"""The label anchors of invoice fields, German and English (and the common French ones of Factur-X invoices), and
the kind of value each field holds.

A label is written as it appears on invoices; matching ignores everything but its letters (see
:mod:`extraction.layout`), so ``"Rechnungs-Nr."`` also matches ``"Rechnungs Nr:"`` and ``"RechnungsNr."``.
"""

from __future__ import annotations

from enum import StrEnum

from extraction.layout import Label


class Kind(StrEnum):
    """How a field's value is written and parsed."""

    IDENTIFIER = "identifier"
    DATE = "date"
    AMOUNT = "amount"
    IBAN = "iban"
    BIC = "bic"
    VAT_ID = "vat_id"
    TAX_NUMBER = "tax_number"
    LEITWEG = "leitweg"
    PERIOD = "period"


FIELD_KINDS: dict[str, Kind] = {
    "invoice_number": Kind.IDENTIFIER,
    "issue_date": Kind.DATE,
    "due_date": Kind.DATE,
    "service_date": Kind.DATE,
    "service_period": Kind.PERIOD,
    "customer_number": Kind.IDENTIFIER,
    "order_reference": Kind.IDENTIFIER,
    "buyer_reference": Kind.LEITWEG,
    "iban": Kind.IBAN,
    "bic": Kind.BIC,
    "seller_vat_id": Kind.VAT_ID,
    "seller_tax_number": Kind.TAX_NUMBER,
    "total_net": Kind.AMOUNT,
    "total_vat": Kind.AMOUNT,
    "total_gross": Kind.AMOUNT,
    "amount_due": Kind.AMOUNT,
}

_LABEL_TEXTS: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        "Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr.", "Rechnungsnr.", "Re.-Nr.", "Beleg-Nr.", "Belegnummer",
        "Gutschriftsnummer", "Gutschrift-Nr.", "Gutschrift Nr.", "Invoice No.", "Invoice number", "Invoice #",
        "Credit note No.", "Rechnung-Nr.", "Facture", "Facture N°", "N° de facture", "Numéro de facture",
        "Avoir", "Avoir N°",
    ),
    "issue_date": (
        "Rechnungsdatum", "Datum", "Belegdatum", "Gutschriftsdatum", "Invoice date", "Date", "Ausstellungsdatum",
        "Rechnungsdatum/Lieferdatum", "Date de facture", "Date de l'avoir",
    ),
    "due_date": ("Fälligkeitsdatum", "Fällig am", "Zahlbar bis", "Zahlungsziel", "Due date", "Payment due",
                 "Date d'échéance"),
    "service_date": ("Leistungsdatum", "Lieferdatum", "Tag der Leistung", "Delivery date", "Liefertermin"),
    "service_period": ("Leistungszeitraum", "Abrechnungszeitraum", "Service period", "Lieferzeitraum"),
    "customer_number": (
        "Kundennummer", "Kunden-Nr.", "Ihre Kundennr.", "Kundennr.", "Kd.-Nr.", "Customer ID", "Customer No.",
        "Customer number",
    ),
    "order_reference": (
        "Bestellnummer", "Bestell-Nr.", "Ihre Bestellung", "Auftragsnummer", "Auftrags-Nr.", "PO number",
        "Order No.", "Order number", "Ihre Bestellnummer",
    ),
    "buyer_reference": (
        "Leitweg-ID", "Ihre Leitweg-ID", "Leitweg-ID des Auftraggebers", "Käuferreferenz (Leitweg-ID)",
        "Käuferreferenz", "Buyer reference",
    ),
    "iban": ("IBAN", "Verkäufer-IBAN", "Zahlungsempfänger-IBAN", "IBAN des Verkäufers", "IBAN des Zahlungsempfängers"),
    "bic": ("BIC", "SWIFT", "BIC/SWIFT", "SWIFT-BIC", "BIC-Code"),
    "seller_vat_id": (
        "USt-IdNr.", "USt-ID", "USt.-Id.-Nr.", "Umsatzsteuer-ID", "UStIdNr", "VAT ID", "VAT No.", "USt.-Identnr.",
        "USt-Ident-Nr.", "Umsatzsteuer-Identifikationsnummer", "USt-IdNr. des Verkäufers", "TVA", "N° TVA",
        "TVA intracommunautaire", "N° TVA intracommunautaire",
    ),
    "seller_tax_number": ("Steuernummer", "Steuer-Nr.", "St.-Nr.", "StNr.", "Tax number"),
    "total_net": (
        "Nettobetrag", "Summe netto", "Zwischensumme netto", "Gesamt netto", "Netto", "Warenwert netto",
        "Nettosumme", "Summe Netto", "Net total", "Net amount", "Subtotal", "Total net", "Gesamtbetrag netto",
        "Rechnungsbetrag netto", "Summe Positionen", "Rechnungssumme netto", "Gesamtsumme netto",
        "Summe der Nettobeträge", "Nettowert", "Rechnungssumme ohne USt.", "Summe ohne USt.", "Betrag ohne USt.",
        "Gesamtbetrag ohne USt.", "Summe ohne MwSt.", "Total without VAT", "Total excl. VAT", "Positionssumme",
        "Summe der Positionen", "Total HT", "Montant HT",
    ),
    "total_vat": (
        "MwSt.", "zzgl. USt", "zzgl. MwSt.", "Umsatzsteuer", "USt", "Mehrwertsteuer", "zzgl. Umsatzsteuer",
        "VAT", "Summe USt", "Summe MwSt.", "enthaltene MwSt.", "Steuerbetrag", "Total VAT",
        "Umsatzsteuerbetrag", "USt.-Betrag", "MwSt.-Betrag", "Gesamtsumme USt", "Total taxes", "Total TVA",
        "Montant TVA",
    ),
    "total_gross": (
        "Bruttobetrag", "Gesamtbetrag", "Gesamtbetrag brutto", "Rechnungsbetrag", "Endbetrag", "Gesamtsumme",
        "Summe brutto", "Gesamt brutto", "Brutto", "Rechnungssumme", "Gutschriftsbetrag", "Total due",
        "Total amount", "Invoice total", "Total", "Rechnungsbetrag brutto", "Bruttosumme", "Rechnungssumme brutto",
        "Gesamtsumme brutto", "Gesamtbetrag inkl. USt", "Rechnungsendbetrag", "Total TTC", "Montant TTC",
    ),
    "amount_due": ("Zahlbetrag", "Zu zahlen", "Zu zahlender Betrag", "Amount due", "Offener Betrag",
                   "Fälliger Betrag", "Zahlungsbetrag", "Restbetrag", "Net à payer", "Solde à payer"),
}

#: Labels of amounts that are none of the fields but begin like one ("Gesamtbetrag der Zuschläge 0,00" is not the
#: gross total): matching takes the longest label at a position, so these keep the shorter ones from matching there.
_OTHER_AMOUNT_LABELS: tuple[str, ...] = (
    "Gesamtbetrag der Zuschläge", "Gesamtbetrag der Abschläge", "Summe der Zuschläge", "Summe der Abschläge",
    "Summe Zuschläge", "Summe Abschläge", "Erhaltene Anzahlungen", "Gesamtbetrag der Nachlässe",
    "Gesamtbetrag der Rabatte", "Total allowances", "Total charges", "Sum of allowances", "Sum of charges",
)
#: Identifiers of the buyer that begin like the seller's ("N° TVA client FR19...", "USt-IdNr. des Käufers").
_BUYER_ID_LABELS: tuple[str, ...] = (
    "N° TVA client", "TVA client", "USt-IdNr. des Käufers", "USt-IdNr. Käufer", "Käufer-USt-IdNr.",
    "Ihre USt-IdNr.", "Buyer VAT ID", "Customer VAT ID", "Käufer-IBAN", "IBAN des Käufers",
)

LABELS: list[Label] = [
    *(Label(field, text) for field, texts in _LABEL_TEXTS.items() for text in texts),
    *(Label("other_amount", text) for text in _OTHER_AMOUNT_LABELS),
    *(Label("buyer_identifier", text) for text in _BUYER_ID_LABELS),
]

#: Words that open the sentence of the payment terms ("Zahlbar bis ...", "Bitte überweisen Sie ... bis zum").
PAYMENT_TERM_ANCHORS: list[Label] = [
    Label("payment_terms", text)
    for text in ("Zahlbar", "Zahlungsziel", "Bitte überweisen", "Payment due", "Zahlungsbedingungen", "fällig am")
]

#: Words telling that a prepayment is deducted, so that the amount due is not the gross total.
PREPAID_LABELS: list[Label] = [
    Label("prepaid", text) for text in ("Anzahlung", "bereits bezahlt", "Vorauszahlung", "Abschlagszahlung",
                                        "Prepaid", "abzüglich")
]
