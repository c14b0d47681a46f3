"""Realistic German (and some English) wording for every document type, with varied phrasing and length.

``make_letter(document_type, rng, town)`` returns a ``Letter`` with its ground truth: the target postbox,
the recipient named in the address field, the Aktenzeichen cited and, for invoices and credit notes, line
items and totals that add up exactly (each line rounded to cents, VAT per rate rounded to cents).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from sample_docs.letter import (
    Column,
    Invoice,
    Letter,
    LineItem,
    Paragraph,
    Recipient,
    Table,
    de_amount,
    de_date,
    de_long_date,
    de_quantity,
    decimal_text,
    en_amount,
    en_date,
)
from sample_docs.parties import (
    FIRST_NAMES_F,
    FIRST_NAMES_M,
    Party,
    make_authority,
    make_citizen,
    make_company,
    money,
)
from sample_docs.town import Department, Town

DOCUMENT_TYPES = (
    "invoice",
    "credit_note",
    "payment_reminder",
    "offer",
    "order_confirmation",
    "delivery_note",
    "contract",
    "application_building_permit",
    "application_housing_benefit",
    "application_dog_tax",
    "application_trade_registration",
    "application_daycare",
    "objection",
    "complaint",
    "enquiry",
    "authority_notice",
    "job_application",
    "invitation",
)

POSTFACH = ("Postfach 10 11 20", "12301 Musterstadt")


# --------------------------------------------------------------------------------------------- helpers


def _letter_date(rng: random.Random) -> date:
    return date(2026, 1, 1) + timedelta(days=rng.randint(10, 350))


def _date_text(rng: random.Random, d: date) -> str:
    return de_long_date(d) if rng.random() < 0.35 else de_date(d)


def _pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


def _paragraphs(rng: random.Random, pool: list[str], low: int, high: int) -> list[Paragraph]:
    chosen = rng.sample(pool, k=min(len(pool), rng.randint(low, high)))
    return [Paragraph(text) for text in chosen]


def _town_aktenzeichen(rng: random.Random, dep: Department, year: int = 2026) -> str:
    return dep.aktenzeichen.make(dep.amt, year, rng.randint(1, 4999))


def address_field(
    rng: random.Random, town: Town, dep_id: str, style: str | None = None, allow_town_only: bool = True
) -> Recipient:
    """Compose the address field for a letter meant for ``dep_id`` in one of the usual variants."""
    dep = town.departments[dep_id]
    people = town.persons_in(dep_id)
    styles = ["department", "department", "alias", "person", "confidential", "former", "town"]
    if not allow_town_only:
        styles.remove("town")
    if not dep.former_names:
        styles.remove("former")
    style = style or rng.choice(styles)
    head = _pick(rng, "Stadtverwaltung Musterstadt", "Stadt Musterstadt", "Stadtverwaltung Musterstadt")
    street, city = ("Rathausplatz 1", "12345 Musterstadt") if rng.random() < 0.8 else POSTFACH
    department: str | None = dep_id
    person = None
    confidential = False
    endorsement = None
    if style == "department":
        middle = [dep.name] if rng.random() < 0.7 else [f"{dep.name} (Amt {dep.amt})"]
        if rng.random() < 0.3:
            head = f"Stadtverwaltung Musterstadt / {dep.name}"
            middle = []
    elif style == "alias":
        middle = [rng.choice(dep.aliases)]
    elif style == "former":
        middle = [rng.choice(dep.former_names)]
    elif style == "person" and people:
        chosen = rng.choice(people)
        person = chosen.id
        middle = (
            [dep.name, f"z. Hd. {chosen.addressed}"]
            if rng.random() < 0.6
            else [rng.choice((dep.name, *dep.aliases)), f"{chosen.addressed}"]
        )
    elif style == "confidential" and people:
        chosen = rng.choice(people)
        person = chosen.id
        confidential = True
        if rng.random() < 0.5:
            middle = [f"{chosen.addressed} - persönlich -"]
        else:
            middle = [dep.name, chosen.addressed]
            endorsement = _pick(rng, "Persönlich/Vertraulich", "Vertraulich", "- persönlich -")
    else:
        middle = []
        department = None
        head = _pick(rng, "Stadt Musterstadt", "Stadtverwaltung Musterstadt", "An die Stadt Musterstadt")
    if endorsement is None and rng.random() < 0.08:
        endorsement = _pick(rng, "Einschreiben", "Einschreiben Einwurf", "Per Boten")
    return Recipient(
        department=department,
        person=person,
        confidential=confidential,
        address_lines=[head, *middle, street, city],
        endorsement=endorsement,
    )


def _company_info(
    rng: random.Random, sender: Party, d: date, their_ref: str | None = None, their_date: date | None = None
) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if their_ref or rng.random() < 0.3:
        rows.append(
            ("Ihr Zeichen:", their_ref or f"{rng.choice(['Ki', 'Ha', 'Sc', 'Mü'])}/{rng.randint(10, 99)}")
        )
    if their_date:
        rows.append(("Ihre Nachricht vom:", de_date(their_date)))
    if rng.random() < 0.7:
        initials = "".join(p[0] for p in (sender.contact or "X Y").split()[:2]).upper()
        rows.append(("Unser Zeichen:", f"{initials}-{rng.randint(100, 999)}"))
    if sender.contact and rng.random() < 0.7:
        rows.append((_pick(rng, "Name:", "Ansprechpartner:", "Bearbeiter:"), sender.contact))
    if sender.phone and rng.random() < 0.6:
        rows.append(("Telefon:", sender.phone))
    if sender.email and rng.random() < 0.4:
        rows.append(("E-Mail:", sender.email))
    rows.append(("Datum:", _date_text(rng, d)))
    return rows


def _closing_company(rng: random.Random, sender: Party, english: bool = False) -> tuple[list[str], list[str]]:
    greeting = (
        "Kind regards"
        if english
        else _pick(rng, "Mit freundlichen Grüßen", "Freundliche Grüße", "Mit freundlichem Gruß")
    )
    closing = [greeting, sender.name] if rng.random() < 0.6 else [greeting]
    signature = [sender.contact or sender.name]
    if sender.contact_role and rng.random() < 0.6:
        signature.append(sender.contact_role)
    return closing, signature


def _closing_citizen(rng: random.Random, sender: Party) -> tuple[list[str], list[str]]:
    return [
        _pick(
            rng, "Mit freundlichen Grüßen", "Mit freundlichen Grüßen", "Freundliche Grüße", "Hochachtungsvoll"
        )
    ], [sender.name]


def _salutation(rng: random.Random, recipient: Recipient, town: Town, english: bool = False) -> str:
    if english:
        return "Dear Sir or Madam,"
    if recipient.person and rng.random() < 0.8:
        p = town.persons[recipient.person]
        form = "Sehr geehrter Herr" if p.salutation == "Herr" else "Sehr geehrte Frau"
        return f"{form} {p.title + ' ' if p.title else ''}{p.last_name},"
    return _pick(rng, "Sehr geehrte Damen und Herren,", "Sehr geehrte Damen und Herren,", "Guten Tag,")


def _citizen_letter(
    rng: random.Random,
    town: Town,
    document_type: str,
    postbox: str,
    sender: Party,
    subject: str,
    body: list[Paragraph | Table],
    recipient: Recipient | None = None,
    aktenzeichen: str | None = None,
    enclosures: list[str] | None = None,
) -> Letter:
    d = _letter_date(rng)
    dep_id = town.postboxes[postbox].department
    recipient = recipient or address_field(rng, town, dep_id)
    info: list[tuple[str, str]] = []
    date_line = None
    if aktenzeichen and rng.random() < 0.6:
        info = [("Ihr Zeichen:", aktenzeichen), ("Datum:", _date_text(rng, d))]
    elif rng.random() < 0.25:
        info = [("Datum:", _date_text(rng, d))]
    else:
        date_line = f"{sender.city}, {_date_text(rng, d)}"
    closing, signature = _closing_citizen(rng, sender)
    return Letter(
        document_type=document_type,
        postbox=postbox,
        sender=sender,
        recipient=recipient,
        date=d,
        subject=subject,
        info=info,
        date_line=date_line,
        salutation=_salutation(rng, recipient, town),
        body=body,
        closing=closing,
        signature=signature,
        enclosures=enclosures or [],
        aktenzeichen=aktenzeichen,
    )


# ------------------------------------------------------------------------------------------- invoices


def _line_items(rng: random.Random, sender: Party, n: int) -> list[LineItem]:
    assert sender.industry is not None
    items = []
    for _ in range(n):
        item = rng.choice(sender.industry.catalog)
        if item.unit == "kWh":
            quantity = Decimal(rng.randint(800, 48000))
            price = Decimal(rng.randint(2200, 3900)) / Decimal(10000)
            price = price.quantize(Decimal("0.0001"))
        else:
            if item.fractional:
                quantity = Decimal(rng.randint(2, 400)) / Decimal(2)
            else:
                quantity = Decimal(rng.choice([1, 1, 1, 2, 3, 4, 5, 6, 10, 12, 20, 25, 50]))
            cents = rng.randint(max(1, item.low) * 100, max(item.high, item.low + 1) * 100)
            price = Decimal(cents) / Decimal(100)
        amount = money(quantity * price)
        items.append(LineItem(item.description, quantity, item.unit, price, item.vat_rate, amount))
    return items


def _totals(items: list[LineItem]) -> tuple[dict[int, tuple[Decimal, Decimal]], Decimal, Decimal, Decimal]:
    breakdown: dict[int, tuple[Decimal, Decimal]] = {}
    for rate in sorted({i.vat_rate for i in items}):
        base = sum((i.amount for i in items if i.vat_rate == rate), Decimal(0))
        breakdown[rate] = (base, money(base * Decimal(rate) / Decimal(100)))
    net = sum((b for b, _ in breakdown.values()), Decimal(0))
    vat = sum((t for _, t in breakdown.values()), Decimal(0))
    return breakdown, net, vat, net + vat


def _order_reference(rng: random.Random, town: Town, dep_id: str) -> str:
    amt = town.departments[dep_id].amt
    return _pick(
        rng,
        f"B-2026-{rng.randint(100, 9999):04d}",
        f"BE-{amt}-2026-{rng.randint(10, 999)}",
        f"{amt}/{rng.randint(1000, 9999)}",
    )


def _invoice_number(rng: random.Random, credit: bool) -> str:
    if credit:
        return _pick(rng, f"GS-2026-{rng.randint(1, 999):04d}", f"G{rng.randint(26000, 26999)}")
    return _pick(
        rng,
        f"RE-2026-{rng.randint(1, 99999):05d}",
        f"2026/{rng.randint(100, 9999)}",
        f"R{rng.randint(260000, 269999)}",
        f"INV-2026-{rng.randint(1, 9999):04d}",
    )


def make_invoice_letter(
    rng: random.Random,
    town: Town,
    credit: bool = False,
    english: bool | None = None,
    n_items: int | None = None,
    leitweg: bool | None = None,
) -> Letter:
    """An invoice (or credit note) from a company to the town, with exact totals.

    ``leitweg`` forces (True) or suppresses (False) the town's Leitweg-ID as buyer reference; e-invoices for
    XRechnung need it.
    """
    sender = make_company(rng)
    english = (rng.random() < 0.15 and not credit) if english is None else english
    ordering = rng.choice(["hauptamt", "tiefbau", "schulamt", "kaemmerei", "umweltamt", "buergerbuero"])
    recipient_dep = "kaemmerei" if rng.random() < 0.55 else ordering
    recipient = address_field(rng, town, recipient_dep, allow_town_only=True)
    d = _letter_date(rng)
    n = n_items or rng.choice([1, 2, 3, 3, 4, 5, 6, 8, 12, 18, 30])
    items = _line_items(rng, sender, n)
    breakdown, net, vat, gross = _totals(items)
    number = _invoice_number(rng, credit)
    days = rng.choice([10, 14, 14, 30, 30])
    due = d + timedelta(days=days)
    customer = f"{_pick(rng, 'KD-', '', 'K')}{rng.randint(10000, 99999)}" if rng.random() < 0.75 else None
    order_ref = _order_reference(rng, town, ordering) if rng.random() < 0.6 else None
    buyer_ref = town.leitweg_id if (rng.random() < 0.6 if leitweg is None else leitweg) else None
    period = None
    service_date = None
    r = rng.random()
    if r < 0.5:
        service_date = d - timedelta(days=rng.randint(0, 20))
    elif r < 0.7:
        start = date(d.year, d.month, 1) - timedelta(days=1)
        period = (date(start.year, start.month, 1), start)
    invoice = Invoice(
        type_code="381" if credit else "380",
        invoice_number=number,
        issue_date=d,
        due_date=None if credit else due,
        currency="EUR",
        seller=sender,
        buyer_name="Stadt Musterstadt",
        buyer_lines=recipient.address_lines,
        customer_number=customer,
        order_reference=order_ref,
        buyer_reference=buyer_ref,
        service_date=service_date,
        service_period=period,
        items=items,
        vat_breakdown=breakdown,
        total_net=net,
        total_vat=vat,
        total_gross=gross,
        amount_due=gross,
        payment_terms=None,
    )
    if english:
        return _english_invoice(rng, town, sender, recipient, invoice, days)
    dt = lambda x: _date_text(rng, x)  # noqa: E731
    number_label = _pick(rng, "Rechnungsnummer:", "Rechnungs-Nr.:", "Rechnung Nr.:", "Beleg-Nr.:")
    if credit:
        number_label = _pick(rng, "Gutschriftsnummer:", "Gutschrift-Nr.:")
    info = [(number_label, number), (_pick(rng, "Rechnungsdatum:", "Datum:", "Belegdatum:"), dt(d))]
    if customer:
        info.append((_pick(rng, "Kundennummer:", "Kunden-Nr.:", "Ihre Kundennr.:"), customer))
    if order_ref:
        info.append(
            (_pick(rng, "Bestellnummer:", "Ihre Bestellung:", "Bestell-Nr.:", "Auftragsnummer:"), order_ref)
        )
    if service_date and rng.random() < 0.6:
        info.append((_pick(rng, "Leistungsdatum:", "Lieferdatum:"), dt(service_date)))
        service_line = None
    elif service_date:
        service_line = (
            f"{_pick(rng, 'Leistungsdatum', 'Lieferdatum', 'Tag der Leistung')}: {de_date(service_date)}"
        )
    else:
        service_line = None
    if buyer_ref and rng.random() < 0.5:
        info.append((_pick(rng, "Leitweg-ID:", "Leitweg-ID:", "Ihre Leitweg-ID:"), buyer_ref))
        leitweg_line = None
    elif buyer_ref:
        label = _pick(rng, "Leitweg-ID", "Leitweg-ID des Auftraggebers", "Käuferreferenz (Leitweg-ID)")
        leitweg_line = f"{label}: {buyer_ref}"
    else:
        leitweg_line = None
    if sender.contact and len(info) < 7 and rng.random() < 0.5:
        info.append(("Ansprechpartner:", sender.contact))
    body: list[Paragraph | Table] = []
    if credit:
        ref = f"{_pick(rng, 'RE-2026-', 'R26')}{rng.randint(1000, 9999)}"
        subject = _pick(
            rng, f"Gutschrift Nr. {number}", f"Gutschrift {number} zu unserer Rechnung {ref}", "Gutschrift"
        )
        intro = _pick(
            rng,
            f"zu unserer Rechnung {ref} erhalten Sie folgende Gutschrift:",
            f"aufgrund Ihrer Reklamation schreiben wir Ihnen zu Rechnung {ref} folgende Positionen gut:",
            "wie telefonisch besprochen, erstellen wir Ihnen die nachstehende Gutschrift:",
        )
    else:
        subject = _pick(
            rng,
            f"Rechnung Nr. {number}",
            "Rechnung",
            f"Rechnung {number}",
            f"Rechnung {number} – {sender.industry.tagline.split(' · ')[0] if sender.industry else ''}",
        )
        intro = _pick(
            rng,
            "vielen Dank für Ihren Auftrag. Wir berechnen Ihnen wie folgt:",
            "für die erbrachten Leistungen erlauben wir uns, wie folgt zu berechnen:",
            "wir bedanken uns für die gute Zusammenarbeit und stellen Ihnen folgende Leistungen in Rechnung:",
            "vereinbarungsgemäß berechnen wir Ihnen:",
        )
    body.append(Paragraph(intro))
    if period:
        body.append(
            Paragraph(
                f"{_pick(rng, 'Leistungszeitraum', 'Abrechnungszeitraum')}: {de_date(period[0])} – "
                f"{de_date(period[1])}"
            )
        )
    if service_line:
        body.append(Paragraph(service_line))
    body.append(_items_table(rng, items, breakdown, net, vat, gross, credit))
    if credit:
        invoice.payment_terms = _pick(
            rng,
            "Der Betrag wird Ihnen innerhalb von 10 Tagen auf Ihr Konto erstattet.",
            "Wir verrechnen die Gutschrift mit unserer nächsten Rechnung.",
        )
    else:
        invoice.payment_terms = _pick(
            rng,
            f"Zahlbar bis {de_date(due)} ohne Abzug.",
            f"Bitte überweisen Sie den Rechnungsbetrag bis zum {de_date(due)} unter Angabe der "
            "Rechnungsnummer "
            "auf das unten genannte Konto.",
            f"Zahlungsziel: {days} Tage netto, fällig am {de_date(due)}.",
            f"Zahlbar innerhalb von {days} Tagen ohne Abzug (bis {de_date(due)}).",
        )
    body.append(Paragraph(invoice.payment_terms))
    if leitweg_line:
        body.append(Paragraph(leitweg_line))
    if rng.random() < 0.4:
        body.append(
            Paragraph(
                _pick(
                    rng,
                    "Vielen Dank für Ihren Auftrag!",
                    "Bei Rückfragen zu dieser Rechnung stehen wir Ihnen gerne zur Verfügung.",
                    "Wir danken für Ihr Vertrauen und freuen uns auf die weitere Zusammenarbeit.",
                )
            )
        )
    closing, signature = _closing_company(rng, sender)
    return Letter(
        document_type="credit_note" if credit else "invoice",
        postbox="kaemmerei-rechnungseingang",
        sender=sender,
        recipient=recipient,
        date=d,
        subject=subject,
        info=info,
        date_line=None,
        salutation=_salutation(rng, recipient, town),
        body=body,
        closing=closing,
        signature=signature,
        invoice=invoice,
    )


def _items_table(
    rng: random.Random,
    items: list[LineItem],
    breakdown: dict[int, tuple[Decimal, Decimal]],
    net: Decimal,
    vat: Decimal,
    gross: Decimal,
    credit: bool = False,
) -> Table:
    euro = _pick(rng, "€", "EUR")
    columns = [
        Column("Pos.", 11),
        Column(_pick(rng, "Bezeichnung", "Beschreibung", "Artikel / Leistung"), 62),
        Column("Menge", 18, "r"),
        Column("Einheit", 16),
        Column(_pick(rng, "Einzelpreis", "E-Preis"), 28, "r"),
        Column(_pick(rng, "Gesamt", "Betrag", "Gesamtpreis"), 30, "r"),
    ]
    mixed = len(breakdown) > 1
    rows = []
    for n, item in enumerate(items, 1):
        desc = item.description + (f" ({item.vat_rate} %)" if mixed else "")
        price = decimal_text(item.unit_price).replace(".", ",")
        rows.append([str(n), desc, de_quantity(item.quantity), item.unit, price, de_amount(item.amount)])
    totals = [
        (_pick(rng, "Summe netto", "Nettobetrag", "Zwischensumme netto"), f"{de_amount(net)} {euro}", False)
    ]
    for rate, (_base, tax) in breakdown.items():
        totals.append(
            (
                f"{_pick(rng, 'zzgl. USt', 'MwSt.', 'Umsatzsteuer')} {rate} %",
                f"{de_amount(tax)} {euro}",
                False,
            )
        )
    label = (
        "Gutschriftsbetrag" if credit else _pick(rng, "Rechnungsbetrag", "Gesamtbetrag brutto", "Endbetrag")
    )
    totals.append((label, f"{de_amount(gross)} {euro}", True))
    return Table(columns, rows, totals)


def _english_invoice(
    rng: random.Random, town: Town, sender: Party, recipient: Recipient, invoice: Invoice, days: int
) -> Letter:
    d = invoice.issue_date
    info = [("Invoice No.:", invoice.invoice_number), ("Invoice date:", en_date(d))]
    if invoice.customer_number:
        info.append(("Customer ID:", invoice.customer_number))
    if invoice.order_reference:
        info.append(("PO number:", invoice.order_reference))
    if invoice.buyer_reference:
        info.append(("Buyer reference:", invoice.buyer_reference))
    if invoice.service_date:
        info.append(("Delivery date:", en_date(invoice.service_date)))
    body: list[Paragraph | Table] = [
        Paragraph(
            _pick(
                rng,
                "Thank you for your order. We invoice you as follows:",
                "Please find below our invoice for the services rendered.",
            )
        )
    ]
    if invoice.service_period:
        body.append(
            Paragraph(
                f"Service period: {en_date(invoice.service_period[0])} – {en_date(invoice.service_period[1])}"
            )
        )
    columns = [
        Column("Item", 11),
        Column("Description", 62),
        Column("Qty", 18, "r"),
        Column("Unit", 16),
        Column("Unit price", 28, "r"),
        Column("Amount", 30, "r"),
    ]
    rows = [
        [
            str(n),
            i.description,
            f"{i.quantity.normalize():f}",
            i.unit,
            en_amount(i.unit_price),
            en_amount(i.amount),
        ]
        for n, i in enumerate(invoice.items, 1)
    ]
    totals = [("Net total", f"EUR {en_amount(invoice.total_net)}", False)]
    for rate, (_base, tax) in invoice.vat_breakdown.items():
        totals.append((f"VAT {rate} %", f"EUR {en_amount(tax)}", False))
    totals.append(("Total due", f"EUR {en_amount(invoice.total_gross)}", True))
    body.append(Table(columns, rows, totals))
    due = invoice.due_date
    assert due is not None
    invoice.payment_terms = f"Payment due within {days} days, by {en_date(due)}, without deduction."
    body.append(Paragraph(invoice.payment_terms))
    closing, signature = _closing_company(rng, sender, english=True)
    return Letter(
        document_type="invoice",
        postbox="kaemmerei-rechnungseingang",
        sender=sender,
        recipient=recipient,
        date=d,
        subject=f"Invoice {invoice.invoice_number}",
        info=info,
        date_line=None,
        salutation="Dear Sir or Madam,",
        body=body,
        closing=closing,
        signature=signature,
        invoice=invoice,
        language="en",
    )


def _payment_reminder(rng: random.Random, town: Town) -> Letter:
    sender = make_company(rng)
    d = _letter_date(rng)
    recipient = address_field(rng, town, rng.choice(["kaemmerei", "stadtkasse", "stadtkasse", "hauptamt"]))
    n = rng.randint(1, 3)
    level = rng.choice([0, 1, 1, 2, 3])
    rows = []
    total = Decimal(0)
    refs = []
    for _ in range(n):
        inv_date = d - timedelta(days=rng.randint(30, 90))
        amount = Decimal(rng.randint(5000, 900000)) / Decimal(100)
        ref = f"RE-2026-{rng.randint(1, 99999):05d}"
        refs.append((ref, inv_date, amount))
        rows.append([ref, de_date(inv_date), de_date(inv_date + timedelta(days=14)), de_amount(amount)])
        total += amount
    fee = Decimal(rng.choice([0, 5, 10, 15])) if level >= 2 else Decimal(0)
    totals = [("Offener Betrag", f"{de_amount(total)} €", False)]
    if fee:
        totals.append(("Mahngebühr", f"{de_amount(fee)} €", False))
    totals.append(("Zu zahlen", f"{de_amount(total + fee)} €", True))
    table = Table(
        [Column("Rechnung", 40), Column("Datum", 30), Column("Fällig seit", 30), Column("Betrag €", 35, "r")],
        rows,
        totals,
    )
    ref, inv_date, amount = refs[0]
    subject = [
        _pick(rng, "Zahlungserinnerung", f"Zahlungserinnerung zu Rechnung {ref}"),
        f"1. Mahnung – Rechnung Nr. {ref}",
        "2. Mahnung",
        "Letzte Mahnung vor Einleitung des gerichtlichen Mahnverfahrens",
    ][level]
    intro = [
        f"sicherlich haben Sie im Tagesgeschäft übersehen, dass unsere Rechnung {ref} vom "
        f"{de_date(inv_date)} noch "
        "nicht beglichen ist. Bitte prüfen Sie den Vorgang.",
        "bei der Durchsicht unserer Konten haben wir festgestellt, dass folgende Rechnungen noch offen sind:",
        "trotz unserer Zahlungserinnerung konnten wir bis heute keinen Zahlungseingang feststellen.",
        "leider haben Sie auf unsere bisherigen Mahnungen nicht reagiert. Wir fordern Sie hiermit "
        "letztmalig auf, "
        "den offenen Betrag zu begleichen.",
    ][level]
    deadline = d + timedelta(days=rng.choice([7, 10, 14]))
    body: list[Paragraph | Table] = [
        Paragraph(intro),
        table,
        Paragraph(
            f"Bitte überweisen Sie den Betrag bis spätestens {de_date(deadline)} auf das unten angegebene "
            "Konto."
        ),
        Paragraph(
            _pick(
                rng,
                "Sollten Sie die Zahlung zwischenzeitlich veranlasst haben, betrachten Sie dieses "
                "Schreiben bitte als gegenstandslos.",
                "Falls sich Ihre Zahlung mit diesem Schreiben überschnitten hat, danken wir Ihnen und bitten "
                "Sie, dieses Schreiben als gegenstandslos zu betrachten.",
            )
        ),
    ]
    if level == 3:
        body.append(
            Paragraph(
                "Nach Ablauf der Frist werden wir ohne weitere Ankündigung das gerichtliche "
                "Mahnverfahren einleiten. Die dadurch entstehenden Kosten gehen zu Ihren Lasten."
            )
        )
    closing, signature = _closing_company(rng, sender)
    return Letter(
        "payment_reminder",
        "stadtkasse",
        sender,
        recipient,
        d,
        subject,
        _company_info(rng, sender, d),
        None,
        _salutation(rng, recipient, town),
        body,
        closing,
        signature,
    )


def _commercial(rng: random.Random, town: Town, document_type: str) -> Letter:
    """Offer, order confirmation or delivery note to the department that asked or ordered."""
    sender = make_company(rng)
    dep_id = rng.choice(
        ["hauptamt", "tiefbau", "schulamt", "umweltamt"]
        if document_type == "offer"
        else ["hauptamt", "tiefbau", "schulamt"]
    )
    postbox = "hauptamt-vergabe" if dep_id == "hauptamt" and rng.random() < 0.5 else dep_id
    recipient = address_field(rng, town, dep_id)
    if postbox == "hauptamt-vergabe" and recipient.department == "hauptamt" and rng.random() < 0.5:
        recipient.address_lines.insert(len(recipient.address_lines) - 2, "Zentrale Vergabestelle")
    d = _letter_date(rng)
    items = _line_items(rng, sender, rng.randint(2, 9))
    breakdown, net, vat, gross = _totals(items)
    order_ref = _order_reference(rng, town, dep_id)
    earlier = d - timedelta(days=rng.randint(3, 30))
    info = _company_info(rng, sender, d, their_date=earlier)
    number = f"{rng.randint(1000, 99999)}"
    if document_type == "offer":
        subject = _pick(
            rng,
            f"Angebot Nr. AN-{number}",
            f"Unser Angebot {number} – Ihre Anfrage vom {de_date(earlier)}",
            "Angebot",
        )
        intro = _pick(
            rng,
            f"vielen Dank für Ihre Anfrage vom {de_date(earlier)}. Gerne bieten wir Ihnen an:",
            "bezugnehmend auf Ihre Ausschreibung unterbreiten wir Ihnen folgendes Angebot:",
            "wie besprochen erhalten Sie unser Angebot für die angefragten Leistungen:",
        )
        tail = [
            f"Dieses Angebot ist gültig bis {de_date(d + timedelta(days=30))}.",
            _pick(
                rng,
                "Lieferzeit: ca. 2–3 Wochen nach Auftragseingang.",
                "Die Ausführung kann nach Auftragserteilung kurzfristig erfolgen.",
                "Es gelten unsere Allgemeinen Geschäftsbedingungen.",
            ),
        ]
        table = _items_table(rng, items, breakdown, net, vat, gross)
    elif document_type == "order_confirmation":
        subject = _pick(
            rng,
            f"Auftragsbestätigung Nr. AB-{number}",
            f"Auftragsbestätigung zu Ihrer Bestellung {order_ref}",
        )
        intro = _pick(
            rng,
            f"vielen Dank für Ihre Bestellung {order_ref} vom {de_date(earlier)}, die wir hiermit "
            "wie folgt bestätigen:",
            f"wir bestätigen Ihren Auftrag {order_ref} zu den nachstehenden Konditionen:",
        )
        tail = [
            f"Voraussichtlicher Liefertermin: {de_date(d + timedelta(days=rng.randint(5, 40)))}.",
            "Bitte prüfen Sie diese Bestätigung. Abweichungen teilen Sie uns bitte umgehend mit.",
        ]
        table = _items_table(rng, items, breakdown, net, vat, gross)
    else:
        subject = _pick(
            rng, f"Lieferschein Nr. LS-{number}", f"Lieferschein {number} zu Bestellung {order_ref}"
        )
        intro = _pick(
            rng,
            f"zu Ihrer Bestellung {order_ref} liefern wir Ihnen heute:",
            "wir liefern Ihnen folgende Ware:",
        )
        table = Table(
            [Column("Pos.", 12), Column("Artikel", 95), Column("Menge", 25, "r"), Column("Einheit", 25)],
            [[str(n), i.description, de_quantity(i.quantity), i.unit] for n, i in enumerate(items, 1)],
        )
        tail = [
            "Lieferadresse: "
            f"{rng.choice(['Rathaus, Rathausplatz 1', 'Bauhof, Industriestraße 12', 'Schulstraße 4'])}",
            "Ware vollständig und unbeschädigt erhalten:",
            "Datum, Unterschrift: ______________________",
        ]
    body: list[Paragraph | Table] = [Paragraph(intro), table, *[Paragraph(t) for t in tail]]
    closing, signature = _closing_company(rng, sender)
    return Letter(
        document_type,
        postbox,
        sender,
        recipient,
        d,
        subject,
        info,
        None,
        _salutation(rng, recipient, town),
        body,
        closing,
        signature,
    )


CONTRACT_KINDS = [
    ("Wartungsvertrag", "die Wartung und Instandhaltung der Aufzugsanlagen im Rathaus", "tiefbau"),
    ("Rahmenvertrag", "die Unterhaltsreinigung städtischer Gebäude", "hauptamt-vergabe"),
    (
        "Dienstleistungsvertrag",
        "den Betrieb und Support der IT-Arbeitsplätze der Stadtverwaltung",
        "hauptamt",
    ),
    ("Mietvertrag", "die Anmietung von Büroflächen in der Bahnhofstraße 14", "kaemmerei"),
    (
        "Vergleichsvereinbarung",
        "die Beilegung der Streitigkeiten aus dem Bauvorhaben Sporthalle Nord",
        "rechtsamt",
    ),
    ("Sponsoringvertrag", "die Unterstützung des Stadtfestes 2026", "rechtsamt"),
    ("Ingenieurvertrag", "die Objektplanung für die Sanierung der Brücke Mühlbachweg", "tiefbau"),
]

CONTRACT_CLAUSES = [
    (
        "Vertragsgegenstand",
        "Gegenstand dieses Vertrages ist {what}. Einzelheiten ergeben sich aus der "
        "Leistungsbeschreibung in Anlage 1, die Bestandteil dieses Vertrages ist.",
    ),
    (
        "Leistungsumfang",
        "Der Auftragnehmer erbringt die Leistungen fachgerecht nach den anerkannten Regeln der "
        "Technik und unter Beachtung der einschlägigen Vorschriften. Er setzt nur fachkundiges und "
        "zuverlässiges "
        "Personal ein. Änderungen des Leistungsumfangs bedürfen einer schriftlichen Vereinbarung.",
    ),
    (
        "Vergütung",
        "Für die vertraglichen Leistungen erhält der Auftragnehmer eine Vergütung von {amount} Euro "
        "netto zuzüglich der gesetzlichen Umsatzsteuer. Die Vergütung wird {rhythm} nachträglich fällig. "
        "Rechnungen sind als elektronische Rechnung unter Angabe der Leitweg-ID {leitweg} einzureichen.",
    ),
    (
        "Vertragsdauer und Kündigung",
        "Der Vertrag beginnt am {start} und wird auf unbestimmte Zeit geschlossen. "
        "Er kann von beiden Seiten mit einer Frist von drei Monaten zum Ende eines Kalenderjahres gekündigt "
        "werden. "
        "Das Recht zur außerordentlichen Kündigung aus wichtigem Grund bleibt unberührt.",
    ),
    (
        "Haftung",
        "Der Auftragnehmer haftet für Schäden, die er oder seine Erfüllungsgehilfen bei der Ausführung "
        "der Leistungen schuldhaft verursachen, nach den gesetzlichen Bestimmungen. Er weist eine "
        "Betriebshaftpflichtversicherung mit einer Deckungssumme von mindestens 3.000.000 Euro nach.",
    ),
    (
        "Datenschutz und Verschwiegenheit",
        "Soweit der Auftragnehmer personenbezogene Daten im Auftrag verarbeitet, "
        "schließen die Parteien eine Vereinbarung nach Art. 28 DSGVO. Der Auftragnehmer verpflichtet sich, "
        "über alle "
        "ihm bekannt gewordenen Angelegenheiten der Stadt Stillschweigen zu bewahren, auch nach "
        "Vertragsende.",
    ),
    (
        "Gewährleistung",
        "Die Gewährleistung richtet sich nach den gesetzlichen Vorschriften. Mängel sind "
        "unverzüglich nach ihrer Entdeckung schriftlich anzuzeigen; der Auftragnehmer beseitigt sie "
        "innerhalb "
        "angemessener Frist auf eigene Kosten.",
    ),
    (
        "Tariftreue und Mindestlohn",
        "Der Auftragnehmer verpflichtet sich, seinen Beschäftigten bei der Ausführung "
        "der Leistung mindestens den gesetzlichen Mindestlohn zu zahlen und die Bestimmungen des "
        "Landestariftreuegesetzes einzuhalten. Dies gilt auch für Nachunternehmer.",
    ),
    (
        "Abtretung und Nachunternehmer",
        "Die Abtretung von Forderungen aus diesem Vertrag bedarf der Zustimmung der "
        "Stadt. Der Einsatz von Nachunternehmern ist nur mit vorheriger schriftlicher Zustimmung zulässig.",
    ),
    (
        "Schlussbestimmungen",
        "Änderungen und Ergänzungen dieses Vertrages bedürfen der Schriftform. Sollte eine "
        "Bestimmung unwirksam sein, bleibt die Wirksamkeit der übrigen Bestimmungen unberührt. "
        "Gerichtsstand ist "
        "Musterstadt.",
    ),
]


def _contract(rng: random.Random, town: Town) -> Letter:
    sender = make_company(rng)
    kind, what, postbox = rng.choice(CONTRACT_KINDS)
    dep_id = town.postboxes[postbox].department
    recipient = address_field(rng, town, dep_id)
    d = _letter_date(rng)
    start = date(2027, 1, 1) if d.month > 9 else date(2026, d.month + 2, 1)
    subject = _pick(rng, f"{kind} über {what}", f"{kind} – Unterzeichnung", f"Ihr Auftrag: {kind}")
    fill = {
        "what": what,
        "amount": de_amount(Decimal(rng.randint(200000, 9000000)) / 100),
        "rhythm": rng.choice(["monatlich", "vierteljährlich", "jährlich"]),
        "leitweg": town.leitweg_id,
        "start": de_date(start),
    }
    clauses = (
        CONTRACT_CLAUSES[:1] + rng.sample(CONTRACT_CLAUSES[1:-1], k=rng.randint(4, 8)) + CONTRACT_CLAUSES[-1:]
    )
    body: list[Paragraph | Table] = [
        Paragraph(
            _pick(
                rng,
                f"anbei erhalten Sie den {kind} in zweifacher Ausfertigung. Bitte senden Sie uns ein "
                "unterschriebenes Exemplar zurück.",
                f"wie vereinbart übersenden wir Ihnen den {kind} zur Gegenzeichnung.",
            )
        ),
        Paragraph(kind, bold=True, gap_before=1.5),
        Paragraph(
            f"zwischen der Stadt Musterstadt, vertreten durch den Bürgermeister, Rathausplatz 1, 12345 "
            f"Musterstadt – nachfolgend „Auftraggeber“ – und der {sender.name}, {sender.street}, "
            f"{sender.postcode} {sender.city} – nachfolgend „Auftragnehmer“ – wird folgender Vertrag "
            "geschlossen:"
        ),
    ]
    for n, (title, text) in enumerate(clauses, 1):
        body.append(Paragraph(f"§ {n} {title}", bold=True))
        body.append(Paragraph(text.format(**fill), gap_before=0.3))
    body.append(
        Paragraph(f"Musterstadt, den ____________          {sender.city}, den {de_date(d)}", gap_before=2)
    )
    body.append(
        Paragraph("Für den Auftraggeber                         Für den Auftragnehmer", gap_before=2.5)
    )
    closing, signature = _closing_company(rng, sender)
    return Letter(
        "contract",
        postbox,
        sender,
        recipient,
        d,
        subject,
        _company_info(rng, sender, d),
        None,
        _salutation(rng, recipient, town),
        body,
        closing,
        signature,
        enclosures=["Vertrag in zweifacher Ausfertigung", "Anlage 1 Leistungsbeschreibung"],
    )


# ------------------------------------------------------------------------------------------ applications


def _building_permit(rng: random.Random, town: Town) -> Letter:
    sender = make_citizen(rng) if rng.random() < 0.6 else make_company(rng, "bau")
    bauherr = (
        sender.name
        if sender.kind == "citizen"
        else f"{rng.choice(FIRST_NAMES_M)} {rng.choice(['Kaya', 'Bauer', 'Lehmann', 'Roth'])}"
    )
    vorhaben = rng.choice(
        [
            "Neubau eines Einfamilienhauses mit Doppelgarage",
            "Anbau eines Wintergartens an das bestehende Wohnhaus",
            "Errichtung eines Carports mit Geräteraum",
            "Umnutzung einer Scheune zu Wohnzwecken",
            "Neubau eines Mehrfamilienhauses mit sechs Wohneinheiten und Tiefgarage",
            "Aufstockung des Bestandsgebäudes um ein Vollgeschoss",
            "Errichtung einer Lagerhalle mit Büroanbau",
        ]
    )
    gemarkung = rng.choice(["Musterstadt", "Altdorf", "Nord"])
    parcel = f"{rng.randint(10, 999)}/{rng.randint(1, 9)}"
    plot = f"Gemarkung {gemarkung}, Flur {rng.randint(1, 30)}, Flurstück {parcel}"
    site_street = rng.choice(["Am Mühlbach", "Rosenweg", "Birkenallee", "Talstraße"])
    site = f"{site_street} {rng.randint(1, 60)}, 12345 Musterstadt"
    existing = rng.random() < 0.3
    az = _town_aktenzeichen(rng, town.departments["bauaufsicht"]) if existing else None
    body: list[Paragraph | Table] = [
        Paragraph(
            _pick(
                rng,
                f"namens und im Auftrag unseres Bauherrn {bauherr} beantragen wir die Baugenehmigung "
                "für folgendes Bauvorhaben:",
                "im Auftrag des unten genannten Bauherrn reichen wir den Bauantrag ein.",
            )
            if sender.kind == "company"
            else _pick(
                rng,
                "hiermit beantrage ich die Erteilung einer Baugenehmigung für das nachfolgend "
                "beschriebene Vorhaben.",
                "ich beantrage die Baugenehmigung für das unten beschriebene Bauvorhaben.",
            )
        ),
        Paragraph(f"Bauherr: {bauherr}"),
        Paragraph(f"Baugrundstück: {site}", gap_before=0.2),
        Paragraph(plot, gap_before=0.2),
        Paragraph(f"Vorhaben: {vorhaben}", gap_before=0.2),
        Paragraph(
            _pick(
                rng,
                "Das Grundstück liegt im Geltungsbereich des Bebauungsplans Nr. "
                f"{rng.randint(10, 80)} „{rng.choice(['Am Sonnenhang', 'Nördlich der Bahn', 'Ortsmitte'])}“. "
                "Die Festsetzungen werden eingehalten; eine Befreiung wird nicht beantragt.",
                "Das Grundstück liegt im unbeplanten Innenbereich. Das Vorhaben fügt sich nach Art und Maß "
                "der "
                "baulichen Nutzung in die Eigenart der näheren Umgebung ein.",
            )
        ),
        Paragraph(
            _pick(
                rng,
                "Die Erschließung ist durch die vorhandene öffentliche Straße gesichert. Die "
                "Entwässerung erfolgt über den bestehenden Anschluss an den Mischwasserkanal.",
                "Die Stellplätze werden auf dem eigenen Grundstück nachgewiesen. Niederschlagswasser wird "
                "auf dem Grundstück versickert.",
            )
        ),
    ]
    extra = [
        "Die Nachbarn wurden über das Vorhaben informiert; die Zustimmungserklärungen der angrenzenden "
        "Eigentümer "
        "liegen bei.",
        "Mit der Planung und Bauleitung ist das Architekturbüro Lindner & Partner beauftragt. "
        "Bauvorlageberechtigt "
        "ist Frau Dipl.-Ing. Katrin Lindner, Mitglied der Architektenkammer.",
        "Die Grundflächenzahl beträgt 0,35, die Geschossflächenzahl 0,6. Die Abstandsflächen werden auf dem "
        "eigenen Grundstück eingehalten.",
        "Wir bitten um Mitteilung, falls weitere Unterlagen benötigt werden, und um eine "
        "Eingangsbestätigung.",
        "Für Rückfragen zum Tragwerk steht der Tragwerksplaner, Herr Dipl.-Ing. Paul Sommer, zur Verfügung.",
        "Wir bitten, das Verfahren möglichst zügig durchzuführen, da der Baubeginn für das Frühjahr geplant "
        "ist.",
    ]
    body += _paragraphs(rng, extra, 1, 5)
    body.append(Paragraph("Folgende Bauvorlagen sind beigefügt:"))
    docs = [
        "Bauantragsformular",
        "Lageplan im Maßstab 1:500",
        "Bauzeichnungen (Grundrisse, Schnitte, Ansichten)",
        "Baubeschreibung",
        "Berechnung der Grund- und Geschossflächen",
        "Standsicherheitsnachweis",
        "Nachweis der Stellplätze",
        "Entwässerungsplan",
        "Auszug aus der Liegenschaftskarte",
    ]
    for item in rng.sample(docs, k=rng.randint(4, len(docs))):
        body.append(Paragraph(f"- {item}", gap_before=0.1))
    return _citizen_letter(
        rng,
        town,
        "application_building_permit",
        "bauaufsicht",
        sender,
        _pick(
            rng,
            "Antrag auf Baugenehmigung",
            f"Bauantrag – {vorhaben}",
            f"Antrag auf Erteilung einer Baugenehmigung, {plot}",
        ),
        body,
        aktenzeichen=az,
    )


def _housing_benefit(rng: random.Random, town: Town) -> Letter:
    sender = make_citizen(rng, with_bank=True)
    persons = rng.randint(1, 5)
    rent = Decimal(rng.randint(38000, 98000)) / 100
    income = Decimal(rng.randint(90000, 240000)) / 100
    first_time = rng.random() < 0.6
    subject = _pick(
        rng,
        "Antrag auf Wohngeld (Mietzuschuss)",
        "Wohngeldantrag",
        "Antrag auf Weiterleistung von Wohngeld" if not first_time else "Antrag auf Mietzuschuss",
    )
    body: list[Paragraph | Table] = [
        Paragraph(
            _pick(
                rng,
                "hiermit beantrage ich Wohngeld in Form eines Mietzuschusses für meine Wohnung.",
                "ich möchte Wohngeld beantragen, da mein Einkommen nicht ausreicht, um die Miete zu zahlen.",
                "hiermit stelle ich einen Antrag auf Weiterleistung des Wohngeldes, da mein "
                "Bewilligungszeitraum demnächst endet.",
            )
        ),
        Paragraph(
            f"Zu meinem Haushalt gehören {persons} Person{'en' if persons > 1 else ''}. Die monatliche "
            f"Bruttokaltmiete beträgt {de_amount(rent)} Euro, das monatliche Bruttoeinkommen des Haushalts "
            f"beträgt {de_amount(income)} Euro."
        ),
        Paragraph(
            f"Das Wohngeld überweisen Sie bitte auf mein Konto bei der {sender.bank}, IBAN {sender.iban}."
        ),
    ]
    extra = [
        "Eine Kopie des Mietvertrages und die Mietbescheinigung des Vermieters lege ich bei.",
        "Meine Lohnabrechnungen der letzten drei Monate füge ich ebenfalls bei.",
        "Seit dem Umzug im vergangenen Jahr hat sich die Miete erhöht; die Mieterhöhung liegt in Kopie bei.",
        "Ich beziehe keine Leistungen nach dem SGB II oder SGB XII.",
        "Bitte teilen Sie mir mit, falls noch Unterlagen fehlen. Ich bin tagsüber telefonisch erreichbar.",
        "Meine Tochter befindet sich in der Ausbildung und erhält eine Ausbildungsvergütung; der Nachweis "
        "liegt bei.",
    ]
    body += _paragraphs(rng, extra, 1, 4)
    az = _town_aktenzeichen(rng, town.departments["sozialamt"]) if not first_time else None
    return _citizen_letter(
        rng,
        town,
        "application_housing_benefit",
        "sozialamt",
        sender,
        subject,
        body,
        aktenzeichen=az,
        enclosures=["Mietbescheinigung", "Einkommensnachweise"],
    )


def _dog_tax(rng: random.Random, town: Town) -> Letter:
    with_bank = rng.random() < 0.5
    sender = make_citizen(rng, with_bank=with_bank)
    breed = rng.choice(
        [
            "Labrador Retriever",
            "Dackel",
            "Mischling",
            "Golden Retriever",
            "Border Collie",
            "Französische Bulldogge",
            "Jack Russell Terrier",
            "Australian Shepherd",
        ]
    )
    name = rng.choice(["Bello", "Luna", "Emma", "Balu", "Sammy", "Kira", "Paul", "Nala", "Rocky"])
    since = _letter_date(rng) - timedelta(days=rng.randint(3, 25))
    chip = f"276{rng.randint(10**11, 10**12 - 1)}"
    body: list[Paragraph | Table] = [
        Paragraph(
            _pick(
                rng,
                "hiermit melde ich meinen Hund zur Hundesteuer an.",
                "ich möchte meinen Hund anmelden, den ich vor kurzem aus dem Tierheim übernommen habe.",
                "wie vorgeschrieben zeige ich Ihnen die Haltung eines Hundes an.",
            )
        ),
        Paragraph(f"Rasse: {breed}"),
        Paragraph(f"Name des Hundes: {name}", gap_before=0.2),
        Paragraph(f"Gehalten seit: {de_date(since)}", gap_before=0.2),
        Paragraph(f"Transpondernummer (Chip): {chip}", gap_before=0.2),
    ]
    if rng.random() < 0.4:
        body.append(
            Paragraph(
                "In meinem Haushalt wird bereits ein weiterer Hund gehalten, der bei Ihnen angemeldet ist."
            )
        )
    if rng.random() < 0.3:
        body.append(
            Paragraph(
                "Der Hund stammt aus dem Tierheim Musterstadt. Ich bitte um Prüfung, ob eine "
                "Steuerermäßigung gewährt werden kann; die Bescheinigung des Tierheims liegt bei."
            )
        )
    if with_bank:
        body.append(
            Paragraph(
                f"Die Hundesteuer können Sie gerne per Lastschrift von meinem Konto IBAN {sender.iban} "
                f"({sender.bank}) einziehen. Ein SEPA-Lastschriftmandat liegt bei."
            )
        )
    body.append(
        Paragraph(
            _pick(
                rng,
                "Bitte senden Sie mir die Hundesteuermarke zu.",
                "Für die Zusendung der Steuermarke bedanke ich mich im Voraus.",
            )
        )
    )
    return _citizen_letter(
        rng,
        town,
        "application_dog_tax",
        "steueramt",
        sender,
        _pick(
            rng, "Anmeldung eines Hundes zur Hundesteuer", "Anmeldung Hundesteuer", f"Hundeanmeldung – {name}"
        ),
        body,
    )


def _trade_registration(rng: random.Random, town: Town) -> Letter:
    sender = make_citizen(rng)
    activity = rng.choice(
        [
            "Handel mit Fahrrädern und Zubehör",
            "Hausmeisterservice und Gartenpflege",
            "IT-Dienstleistungen und Webdesign",
            "Betrieb eines Cafés",
            "Online-Handel mit Naturkosmetik",
            "Kosmetikstudio",
            "Umzugs- und Transportdienstleistungen",
            "Reinigungsdienst für Privathaushalte",
        ]
    )
    start = _letter_date(rng) + timedelta(days=rng.randint(5, 40))
    kind = rng.choice(["Anmeldung", "Anmeldung", "Ummeldung", "Abmeldung"])
    body: list[Paragraph | Table] = [
        Paragraph(
            _pick(
                rng,
                f"hiermit zeige ich die {kind} meines Gewerbes an.",
                f"ich möchte zum {de_date(start)} ein Gewerbe "
                f"{'anmelden' if kind == 'Anmeldung' else 'ändern'}.",
            )
        ),
        Paragraph(f"Angemeldete Tätigkeit: {activity}"),
        Paragraph(f"Beginn der Tätigkeit: {de_date(start)}", gap_before=0.2),
        Paragraph(
            f"Betriebsstätte: {rng.choice(['Hauptstraße', 'Marktplatz', 'Bahnhofstraße'])} "
            f"{rng.randint(1, 50)}, 12345 Musterstadt",
            gap_before=0.2,
        ),
        Paragraph(
            f"Rechtsform: {rng.choice(['Einzelunternehmen', 'GbR', 'UG (haftungsbeschränkt)'])}",
            gap_before=0.2,
        ),
        Paragraph(
            _pick(
                rng,
                "Das ausgefüllte Formular zur Gewerbeanzeige sowie eine Kopie meines Personalausweises "
                "liegen bei.",
                "Bitte senden Sie mir die Bestätigung über die Gewerbeanzeige zu. Die Gebühr überweise ich "
                "nach Erhalt des Bescheides.",
            )
        ),
    ]
    if rng.random() < 0.4:
        body.append(
            Paragraph(
                "Die Tätigkeit wird zunächst im Nebenerwerb ausgeübt. Ich bin hauptberuflich angestellt."
            )
        )
    return _citizen_letter(
        rng,
        town,
        "application_trade_registration",
        "ordnungsamt-gewerbe",
        sender,
        _pick(rng, f"Gewerbe{kind.lower()}", f"{kind} eines Gewerbes", "Gewerbeanzeige"),
        body,
        enclosures=["Gewerbeanzeige (Formular)", "Kopie Personalausweis"],
    )


def _daycare(rng: random.Random, town: Town) -> Letter:
    sender = make_citizen(rng)
    child = rng.choice(FIRST_NAMES_F + FIRST_NAMES_M)
    born = date(rng.randint(2021, 2025), rng.randint(1, 12), rng.randint(1, 28))
    start = date(2027, rng.choice([1, 3, 8, 9]), 1)
    hours = rng.choice([25, 35, 45])
    kitas = rng.sample(
        [
            "Kita Sonnenschein",
            "Kita Regenbogen",
            "Ev. Kindergarten St. Martin",
            "Kita Am Stadtpark",
            "Waldkindergarten Wichtelwald",
            "Familienzentrum Nord",
        ],
        k=2,
    )
    body: list[Paragraph | Table] = [
        Paragraph(
            _pick(
                rng,
                f"hiermit beantragen wir einen Betreuungsplatz für unser Kind {child} "
                f"{sender.last_name}, geboren am {de_date(born)}.",
                f"wir möchten unser Kind {child}, geb. {de_date(born)}, für einen Kita-Platz vormerken "
                "lassen.",
            )
        ),
        Paragraph(
            f"Gewünschter Betreuungsbeginn: {de_date(start)}, Betreuungsumfang: {hours} Stunden pro Woche."
        ),
        Paragraph(f"Wunscheinrichtungen: 1. {kitas[0]}, 2. {kitas[1]}"),
        Paragraph(
            _pick(
                rng,
                "Beide Elternteile sind berufstätig; die Arbeitgeberbescheinigungen reichen wir nach.",
                "Ich bin alleinerziehend und nehme zum Betreuungsbeginn meine Berufstätigkeit wieder auf.",
                "Ein Geschwisterkind besucht bereits die Kita Sonnenschein.",
            )
        ),
    ]
    if rng.random() < 0.4:
        body.append(
            Paragraph(
                "Falls in den Wunscheinrichtungen kein Platz frei ist, bitten wir um ein Angebot in "
                "einer anderen Einrichtung oder in der Kindertagespflege."
            )
        )
    return _citizen_letter(
        rng,
        town,
        "application_daycare",
        "jugendamt",
        sender,
        _pick(
            rng,
            "Antrag auf einen Betreuungsplatz in einer Kindertageseinrichtung",
            "Anmeldung Kita-Platz",
            f"Kita-Platz für {child} {sender.last_name}",
        ),
        body,
    )


# --------------------------------------------------------------------------------------- citizens' mail

NOTICES = {
    "steueramt": ["Hundesteuerbescheid", "Grundsteuerbescheid", "Bescheid über die Zweitwohnungsteuer"],
    "bauaufsicht": [
        "Bescheid über die Ablehnung meines Bauantrages",
        "Gebührenbescheid zur Baugenehmigung",
        "Bescheid über die Beseitigungsanordnung",
    ],
    "ordnungsamt": [
        "Gebührenbescheid über die Abschleppmaßnahme",
        "Bescheid über die Untersagung der Sondernutzung",
        "Kostenbescheid für die Ersatzvornahme",
    ],
    "sozialamt": [
        "Wohngeldbescheid",
        "Ablehnungsbescheid zum Wohngeldantrag",
        "Rückforderungsbescheid Wohngeld",
    ],
    "jugendamt": [
        "Bescheid über die Elternbeiträge für die Kindertagesbetreuung",
        "Ablehnungsbescheid zum Kita-Platz",
    ],
    "stadtkasse": ["Bescheid über Säumniszuschläge", "Mahngebührenbescheid"],
}

OBJECTION_REASONS = [
    "Der Bescheid ist rechtswidrig und verletzt mich in meinen Rechten. Die zugrunde gelegten Tatsachen "
    "treffen "
    "nicht zu.",
    "Sie haben bei Ihrer Entscheidung meine Einwände aus dem Schreiben vom Frühjahr offenbar nicht "
    "berücksichtigt. "
    "Eine Anhörung hat vor Erlass des Bescheides nicht stattgefunden.",
    "Die Berechnung ist nicht nachvollziehbar. Insbesondere ist mir unklar, auf welcher Grundlage die "
    "festgesetzte "
    "Höhe ermittelt wurde. Ich bitte um Übersendung einer nachvollziehbaren Berechnung.",
    "Bei der Festsetzung wurden meine Einkommensverhältnisse falsch angesetzt. Das Einkommen ist seit "
    "Jahresbeginn "
    "deutlich gesunken; entsprechende Nachweise füge ich bei.",
    "Der Bescheid ist mir erst mit erheblicher Verspätung zugegangen, sodass ich mich nicht rechtzeitig "
    "äußern "
    "konnte.",
    "Die Maßnahme war auch unverhältnismäßig. Ein milderes Mittel, etwa ein Hinweis oder eine Fristsetzung, "
    "wäre "
    "ohne weiteres möglich gewesen.",
    "Andere Anwohner in vergleichbarer Lage wurden anders behandelt. Ich sehe hierin einen Verstoß gegen den "
    "Gleichbehandlungsgrundsatz.",
    "Zur weiteren Begründung verweise ich auf die beigefügten Unterlagen sowie auf mein bisheriges "
    "Vorbringen im "
    "Verwaltungsverfahren.",
    "Ich bitte Sie außerdem um Akteneinsicht, um meinen Widerspruch abschließend begründen zu können. Eine "
    "ergänzende Begründung behalte ich mir ausdrücklich vor.",
    "Aus den genannten Gründen ist der Bescheid aufzuheben. Hilfsweise beantrage ich, die Festsetzung auf "
    "einen "
    "angemessenen Betrag zu reduzieren.",
    "Mir ist bewusst, dass der Widerspruch grundsätzlich keine aufschiebende Wirkung hat. Wegen der "
    "erheblichen "
    "Zweifel an der Rechtmäßigkeit beantrage ich jedoch die Aussetzung der Vollziehung bis zur Entscheidung "
    "über "
    "den Widerspruch.",
    "Ich habe mich bereits telefonisch an Ihre Dienststelle gewandt, leider ohne Ergebnis. Eine schriftliche "
    "Antwort auf meine Fragen habe ich bis heute nicht erhalten.",
    "Die Begründung des Bescheides beschränkt sich auf formelhafte Wendungen. Eine Auseinandersetzung mit "
    "den "
    "Umständen des Einzelfalls findet nicht statt; damit genügt der Bescheid nicht den Anforderungen des "
    "§ 39 VwVfG.",
    "Vorsorglich weise ich darauf hin, dass ich im fraglichen Zeitraum ortsabwesend war. Entsprechende "
    "Belege "
    "(Reisebuchung, Bescheinigung des Arbeitgebers) füge ich in Kopie bei.",
]


def _objection(rng: random.Random, town: Town, long: bool = False) -> Letter:
    dep_id = rng.choice(list(NOTICES))
    dep = town.departments[dep_id]
    sender = make_citizen(rng)
    notice = rng.choice(NOTICES[dep_id])
    az = _town_aktenzeichen(rng, dep)
    notice_date = _letter_date(rng) - timedelta(days=rng.randint(5, 28))
    nd = _date_text(rng, notice_date)
    subject = _pick(
        rng,
        f"Widerspruch gegen den {notice} vom {nd}, Az. {az}",
        f"Widerspruch – Aktenzeichen {az}",
        f"Widerspruch gegen Ihren Bescheid vom {nd}",
        f"Ihr Bescheid vom {nd} (Az.: {az}) – Widerspruch",
    )
    body: list[Paragraph | Table] = [
        Paragraph(
            _pick(
                rng,
                f"gegen Ihren {notice} vom {nd}, Aktenzeichen {az}, lege ich hiermit fristgerecht "
                "Widerspruch ein.",
                f"hiermit erhebe ich Widerspruch gegen den {notice} vom {nd} (Aktenzeichen {az}), mir "
                f"zugestellt am {de_date(notice_date + timedelta(days=3))}.",
                f"gegen den oben genannten Bescheid vom {nd} mit dem Aktenzeichen {az} lege ich Widerspruch "
                "ein.",
            )
        ),
        Paragraph("Begründung:", bold=True),
    ]
    reasons = rng.sample(OBJECTION_REASONS, k=rng.randint(8, 14) if long else rng.randint(2, 6))
    body += [Paragraph(r, gap_before=0.6) for r in reasons]
    body.append(
        Paragraph(
            _pick(
                rng,
                "Ich bitte um eine schriftliche Eingangsbestätigung.",
                "Bitte bestätigen Sie mir den Eingang dieses Widerspruchs.",
                "Ich bitte um Mitteilung des weiteren Verfahrens.",
            )
        )
    )
    recipient = (
        address_field(rng, town, dep_id) if rng.random() < 0.85 else address_field(rng, town, "rechtsamt")
    )
    return _citizen_letter(
        rng, town, "objection", dep.main_postbox, sender, subject, body, recipient=recipient, aktenzeichen=az
    )


COMPLAINTS = {
    "ordnungsamt": (
        "Ruhestörung und Falschparker in der {street}",
        [
            "seit Wochen parken in der {street} regelmäßig Fahrzeuge auf dem Gehweg, sodass Kinderwagen und "
            "Rollstuhlfahrer auf die Fahrbahn ausweichen müssen.",
            "außerdem kommt es nachts regelmäßig zu erheblicher Ruhestörung durch laute Musik aus der "
            "Gaststätte an der Ecke.",
        ],
    ),
    "tiefbau": (
        "Schlaglöcher und defekte Straßenbeleuchtung in der {street}",
        [
            "in der {street} haben sich nach dem Winter zahlreiche tiefe Schlaglöcher gebildet. Gestern ist "
            "dort "
            "ein Radfahrer gestürzt.",
            "zudem ist die Straßenbeleuchtung zwischen Hausnummer 10 und 24 seit über drei Wochen "
            "ausgefallen.",
        ],
    ),
    "umweltamt": (
        "Illegale Müllablagerung am Waldrand, {street}",
        [
            "am Waldrand am Ende der {street} werden seit einiger Zeit Bauschutt, Altreifen und Sperrmüll "
            "abgeladen.",
            "außerdem wurden dort offenbar ohne Genehmigung mehrere große Bäume gefällt.",
        ],
    ),
    "buergerbuero": (
        "Lange Wartezeiten im Bürgerbüro",
        [
            "am vergangenen Dienstag habe ich über zwei Stunden im Bürgerbüro gewartet, um einen neuen "
            "Personalausweis zu beantragen.",
            "online waren über Wochen keine Termine buchbar, telefonisch war niemand zu erreichen.",
        ],
    ),
    "schulamt": (
        "Schulbusverbindung in der {street}",
        [
            "der Schulbus der Linie 4 ist seit Schuljahresbeginn regelmäßig so überfüllt, dass Kinder an der "
            "Haltestelle {street} nicht mehr mitgenommen werden.",
            "mehrfach kamen die Kinder dadurch zu spät zum Unterricht.",
        ],
    ),
    "buergermeisterbuero": (
        "Beschwerde über die Bearbeitung meines Anliegens",
        [
            "ich wende mich direkt an Sie, weil mein Anliegen seit Monaten nicht bearbeitet wird.",
            "auf meine Schreiben und E-Mails habe ich keine Antwort erhalten.",
        ],
    ),
}

COMPLAINT_MORE = [
    "Ich habe den Zustand mehrfach telefonisch gemeldet, ohne dass sich etwas geändert hat.",
    "Ich bitte Sie dringend, sich der Sache anzunehmen, bevor jemand ernsthaft zu Schaden kommt.",
    "Fotos des Zustandes füge ich diesem Schreiben bei.",
    "Viele Nachbarn teilen meinen Unmut; einige haben sich bereits an die Lokalzeitung gewandt.",
    "Ich erwarte eine Stellungnahme, welche Maßnahmen Sie ergreifen werden und bis wann.",
    "Als Steuerzahler erwarte ich, dass die Stadt ihren Aufgaben nachkommt.",
    "Ich bitte um eine kurze Rückmeldung, ob mein Schreiben angekommen ist und wer zuständig ist.",
]


def _complaint(rng: random.Random, town: Town) -> Letter:
    dep_id = rng.choice(list(COMPLAINTS))
    subject_t, opening = COMPLAINTS[dep_id]
    street = rng.choice(["Lindenstraße", "Schillerstraße", "Talstraße", "Bergstraße", "Goethestraße"])
    sender = make_citizen(rng)
    body: list[Paragraph | Table] = [Paragraph(opening[0].format(street=street))]
    body.append(Paragraph(opening[1][0].upper() + opening[1][1:].format(street=street)))
    body += _paragraphs(rng, COMPLAINT_MORE, 1, 4)
    subject = _pick(
        rng, f"Beschwerde: {subject_t.format(street=street)}", subject_t.format(street=street), "Beschwerde"
    )
    return _citizen_letter(
        rng, town, "complaint", town.departments[dep_id].main_postbox, sender, subject, body
    )


ENQUIRIES = {
    "buergerbuero": (
        "Anfrage Meldebescheinigung",
        [
            "für eine Bewerbung benötige ich eine erweiterte Meldebescheinigung. Können Sie mir diese per "
            "Post "
            "zusenden, und welche Gebühr fällt dafür an?",
            "außerdem möchte ich wissen, ob ich meinen Reisepass auch ohne Termin abholen kann.",
        ],
    ),
    "standesamt": (
        "Anfrage zur Eheschließung",
        [
            "wir möchten im kommenden Sommer im Standesamt Musterstadt heiraten. Welche Unterlagen "
            "benötigen wir für "
            "die Anmeldung der Eheschließung?",
            "ist eine Trauung auch im historischen Trauzimmer der Wasserburg möglich, und wie früh können "
            "wir einen "
            "Termin reservieren?",
        ],
    ),
    "stadtplanung": (
        "Anfrage zum Bebauungsplan",
        [
            "wir beabsichtigen, das Grundstück Flurstück 412/3 zu erwerben. Können Sie uns mitteilen, "
            "welcher "
            "Bebauungsplan dort gilt und ob eine Bebauung mit einem Doppelhaus zulässig wäre?",
            "gibt es Planungen der Stadt, die das Gebiet betreffen, etwa eine Änderung des "
            "Flächennutzungsplans?",
        ],
    ),
    "umweltamt": (
        "Anfrage Baumfällung",
        [
            "auf unserem Grundstück steht eine etwa 60 Jahre alte Blutbuche, deren Wurzeln die Hauswand "
            "beschädigen. "
            "Benötigen wir für die Fällung eine Genehmigung nach der Baumschutzsatzung?",
            "falls ja, welche Unterlagen müssen wir einreichen und mit welcher Bearbeitungszeit ist zu "
            "rechnen?",
        ],
    ),
    "schulamt": (
        "Anfrage Schulanmeldung",
        [
            "wir ziehen zum neuen Schuljahr nach Musterstadt. Welche Grundschule ist für unsere neue Adresse "
            "zuständig, und bis wann muss die Anmeldung erfolgen?",
            "gibt es an der Schule ein Angebot der offenen Ganztagsbetreuung?",
        ],
    ),
    "steueramt": (
        "Frage zur Grundsteuer",
        [
            "in meinem Grundsteuerbescheid ist ein Hebesatz angegeben, den ich nicht nachvollziehen kann. "
            "Können Sie mir "
            "erläutern, wie sich der Betrag zusammensetzt?",
            "außerdem bitte ich um Mitteilung, ob eine Zahlung in Jahresbeträgen möglich ist.",
        ],
    ),
}


def _enquiry(rng: random.Random, town: Town) -> Letter:
    dep_id = rng.choice(list(ENQUIRIES))
    subject, paras = ENQUIRIES[dep_id]
    sender = make_citizen(rng)
    body: list[Paragraph | Table] = [Paragraph(paras[0])]
    if rng.random() < 0.7:
        body.append(Paragraph(paras[1][0].upper() + paras[1][1:]))
    body.append(
        Paragraph(
            _pick(
                rng,
                "Für eine kurze Antwort wäre ich Ihnen dankbar.",
                "Vielen Dank im Voraus für Ihre Hilfe.",
                "Sie erreichen mich auch telefonisch oder per E-Mail.",
            )
        )
    )
    return _citizen_letter(
        rng,
        town,
        "enquiry",
        town.departments[dep_id].main_postbox,
        sender,
        _pick(rng, subject, f"{subject} – Bitte um Auskunft", "Anfrage"),
        body,
    )


def _job_application(rng: random.Random, town: Town) -> Letter:
    sender = make_citizen(rng)
    job = rng.choice(
        [
            "Verwaltungsfachangestellte/r",
            "Sachbearbeiter/in Bauaufsicht",
            "Erzieher/in",
            "IT-Administrator/in",
            "Auszubildende/r Verwaltungsfachangestellte/r",
            "Ingenieur/in Tiefbau",
            "Sachbearbeiter/in Wohngeld",
        ]
    )
    code = f"{rng.randint(1, 40):02d}/2026"
    body: list[Paragraph | Table] = [
        Paragraph(
            _pick(
                rng,
                f"mit großem Interesse habe ich Ihre Stellenausschreibung „{job}“ (Kennziffer {code}) "
                "gelesen und bewerbe mich hiermit um diese Stelle.",
                f"hiermit bewerbe ich mich um die ausgeschriebene Stelle als {job}, Kennziffer {code}.",
            )
        ),
        Paragraph(
            _pick(
                rng,
                "Nach meiner Ausbildung habe ich mehrere Jahre in der Verwaltung eines Landkreises "
                "gearbeitet und dort Erfahrungen in der Sachbearbeitung und im Bürgerkontakt gesammelt.",
                "Derzeit schließe ich mein Studium an der Hochschule für öffentliche Verwaltung ab. In "
                "meinen "
                "Praxisphasen habe ich unter anderem im Ordnungsamt und in der Kämmerei mitgearbeitet.",
                "Ich bringe eine abgeschlossene Berufsausbildung und fünf Jahre Berufserfahrung mit.",
            )
        ),
        Paragraph(
            _pick(
                rng,
                "Besonders reizt mich an der Stelle die Möglichkeit, die Digitalisierung der "
                "Verwaltung aktiv mitzugestalten.",
                "Die Arbeit für die Bürgerinnen und Bürger meiner Heimatstadt ist mir ein besonderes "
                "Anliegen.",
            )
        ),
        Paragraph(
            _pick(
                rng,
                "Über eine Einladung zu einem persönlichen Gespräch freue ich mich sehr.",
                "Ich stehe Ihnen ab sofort bzw. nach Einhaltung meiner Kündigungsfrist zur Verfügung und "
                "freue mich auf Ihre Rückmeldung.",
            )
        ),
    ]
    recipient = address_field(rng, town, "personalamt")
    return _citizen_letter(
        rng,
        town,
        "job_application",
        "personalamt",
        sender,
        _pick(
            rng,
            f"Bewerbung als {job}",
            f"Bewerbung – Kennziffer {code}",
            f"Bewerbung um die Stelle {job} (Kennziffer {code})",
        ),
        body,
        recipient=recipient,
        enclosures=["Lebenslauf", "Zeugnisse", "Nachweise"],
    )


# ------------------------------------------------------------------------------------ authorities & others

AUTHORITY_NOTICES = {
    "ordnung": (
        "ordnungsamt",
        [
            (
                "Mitteilung über einen Verkehrsunfall mit Beschädigung städtischen Eigentums",
                "am {d} kam es auf der Kreuzung Hauptstraße/Bahnhofstraße zu einem Verkehrsunfall, bei dem "
                "eine "
                "Lichtsignalanlage der Stadt beschädigt wurde. Die Personalien des Verursachers liegen vor.",
            ),
            (
                "Anhörung zur geplanten Allgemeinverfügung",
                "wir beabsichtigen, für das Gebiet des Musterkreises eine Allgemeinverfügung zum Verbot von "
                "Feuerwerk in "
                "der Nähe von Fachwerkhäusern zu erlassen, und geben Ihnen Gelegenheit zur Stellungnahme "
                "bis zum {f}.",
            ),
        ],
    ),
    "umwelt": (
        "umweltamt",
        [
            (
                "Wasserrechtliche Erlaubnis für die Einleitung von Niederschlagswasser",
                "auf Ihren Antrag vom {d} wird die wasserrechtliche Erlaubnis zur Einleitung von "
                "Niederschlagswasser aus "
                "dem Baugebiet in den Mühlbach unter Auflagen erteilt.",
            ),
        ],
    ),
    "steuer": (
        "steueramt",
        [
            (
                "Mitteilung über den Gewerbesteuermessbetrag",
                "für das Unternehmen mit Sitz in Ihrer Gemeinde wurde der Gewerbesteuermessbetrag für 2025 "
                "festgesetzt. "
                "Die Angaben zur Festsetzung der Gewerbesteuer teilen wir Ihnen nachfolgend mit.",
            ),
        ],
    ),
    "personal": (
        "personalamt",
        [
            (
                "Ankündigung einer Betriebsprüfung nach § 28p SGB IV",
                "wir beabsichtigen, in Ihrer Verwaltung ab dem {f} eine Prüfung der Arbeitgeberpflichten "
                "für den "
                "Zeitraum 01.01.2022 bis 31.12.2025 durchzuführen.",
            ),
        ],
    ),
    "finanzen": (
        "kaemmerei",
        [
            (
                "Genehmigung der Haushaltssatzung 2027",
                "die vom Rat der Stadt Musterstadt beschlossene Haushaltssatzung für das Haushaltsjahr 2027 "
                "ist am {d} "
                "hier eingegangen. Der Gesamtbetrag der Kredite für Investitionen wird genehmigt.",
            ),
            (
                "Vierteljährliche Erhebung der Schulden und Finanzvermögen",
                "wir bitten Sie, die Meldung zur vierteljährlichen Schuldenstatistik bis zum {f} über das "
                "Online-Portal "
                "abzugeben.",
            ),
        ],
    ),
    "sozial": (
        "sozialamt",
        [
            (
                "Kostenerstattung nach § 40a SGB II",
                "wir machen hiermit einen Erstattungsanspruch gegenüber der Stadt Musterstadt für den "
                "Zeitraum vom {d} "
                "bis heute geltend. Die Aufstellung der Leistungen liegt bei.",
            ),
        ],
    ),
}

AUTHORITY_MORE = [
    "Bitte teilen Sie uns Ihre Stellungnahme bis zum {f} mit.",
    "Rechtsbehelfsbelehrung: Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Klage beim "
    "Verwaltungsgericht Musterstadt erhoben werden.",
    "Für Rückfragen steht Ihnen die oben genannte Sachbearbeitung zur Verfügung.",
    "Die Unterlagen zu diesem Vorgang können nach Terminvereinbarung eingesehen werden.",
    "Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig.",
    "Wir bitten, bei Antworten stets das oben genannte Zeichen anzugeben.",
]


def _authority_notice(rng: random.Random, town: Town) -> Letter:
    topic = rng.choice(list(AUTHORITY_NOTICES))
    dep_id, notices = AUTHORITY_NOTICES[topic]
    sender = make_authority(rng, topic)
    subject, opening = rng.choice(notices)
    d = _letter_date(rng)
    fill = {
        "d": de_date(d - timedelta(days=rng.randint(10, 60))),
        "f": de_date(d + timedelta(days=rng.randint(14, 42))),
    }
    dep = town.departments[dep_id]
    az = _town_aktenzeichen(rng, dep) if rng.random() < 0.5 else None
    info = []
    if az:
        info.append(("Ihr Zeichen:", az))
    info.append(
        (
            "Unser Zeichen:",
            f"{rng.choice(['32', 'WR', 'St', 'P'])}-{rng.randint(100, 999)}/{rng.randint(10, 26)}",
        )
    )
    info.append((_pick(rng, "Bearbeiter/in:", "Auskunft erteilt:", "Sachbearbeitung:"), sender.contact or ""))
    if sender.phone:
        info.append(("Telefon:", sender.phone))
    info.append(("Datum:", _date_text(rng, d)))
    body: list[Paragraph | Table] = [Paragraph(opening.format(**fill))]
    body += [Paragraph(t.format(**fill)) for t in rng.sample(AUTHORITY_MORE, k=rng.randint(1, 4))]
    recipient = address_field(rng, town, dep_id)
    closing = [_pick(rng, "Mit freundlichen Grüßen", "Mit freundlichen Grüßen", "Hochachtungsvoll")]
    signature = [_pick(rng, "Im Auftrag", "Im Auftrag", "Mit freundlichen Grüßen"), sender.contact or ""]
    if signature[0] == closing[0]:
        signature = signature[1:]
    return Letter(
        "authority_notice",
        dep.main_postbox,
        sender,
        recipient,
        d,
        subject,
        info,
        None,
        _salutation(rng, recipient, town),
        body,
        closing,
        signature,
        aktenzeichen=az,
    )


INVITATIONS = {
    "buergermeisterbuero": (
        "Einladung zum Jubiläum",
        "anlässlich unseres 50-jährigen Firmenjubiläums laden wir Sie "
        "herzlich zu einem Empfang am {d} um 17:00 Uhr in unsere Geschäftsräume ein.",
    ),
    "umweltamt": (
        "Einladung zur Fachtagung „Kommunaler Klimaschutz“",
        "wir laden Sie herzlich zu unserer "
        "Fachtagung am {d} in die Stadthalle Beispielheim ein. Themen sind die kommunale Wärmeplanung und "
        "Förderprogramme.",
    ),
    "schulamt": (
        "Einladung zum Tag der offenen Tür",
        "am {d} öffnet unsere Ausbildungswerkstatt ihre Türen für "
        "Schülerinnen und Schüler. Gerne möchten wir auch die Schulen der Stadt einbinden.",
    ),
    "stadtplanung": (
        "Einladung zur Bürgerinformation Quartier Bahnhof",
        "wir laden Sie zur Vorstellung unseres "
        "Entwurfs für das Quartier am Bahnhof am {d} ein und würden uns über Ihre Teilnahme freuen.",
    ),
    "hauptamt": (
        "Einladung zur Produktpräsentation",
        "gerne stellen wir Ihnen am {d} unsere neue Lösung für die "
        "digitale Akte in öffentlichen Verwaltungen vor.",
    ),
}


def _invitation(rng: random.Random, town: Town) -> Letter:
    dep_id = rng.choice(list(INVITATIONS))
    subject, text = INVITATIONS[dep_id]
    sender = make_company(rng) if rng.random() < 0.7 else make_authority(rng)
    d = _letter_date(rng)
    event = d + timedelta(days=rng.randint(14, 60))
    recipient = address_field(rng, town, dep_id)
    body: list[Paragraph | Table] = [
        Paragraph(text.format(d=_date_text(rng, event))),
        Paragraph(
            _pick(
                rng,
                "Im Anschluss laden wir zu einem kleinen Imbiss und Gesprächen ein.",
                "Das ausführliche Programm finden Sie in der Anlage.",
            )
        ),
        Paragraph(f"Wir bitten um Rückmeldung bis zum {de_date(event - timedelta(days=7))}."),
    ]
    closing, signature = _closing_company(rng, sender)
    return Letter(
        "invitation",
        town.departments[dep_id].main_postbox,
        sender,
        recipient,
        d,
        subject,
        _company_info(rng, sender, d),
        None,
        _salutation(rng, recipient, town),
        body,
        closing,
        signature,
        enclosures=["Programm"] if rng.random() < 0.5 else [],
    )


BUILDERS: dict[str, Callable[[random.Random, Town], Letter]] = {
    "invoice": lambda rng, town: make_invoice_letter(rng, town),
    "credit_note": lambda rng, town: make_invoice_letter(rng, town, credit=True),
    "payment_reminder": _payment_reminder,
    "offer": lambda rng, town: _commercial(rng, town, "offer"),
    "order_confirmation": lambda rng, town: _commercial(rng, town, "order_confirmation"),
    "delivery_note": lambda rng, town: _commercial(rng, town, "delivery_note"),
    "contract": _contract,
    "application_building_permit": _building_permit,
    "application_housing_benefit": _housing_benefit,
    "application_dog_tax": _dog_tax,
    "application_trade_registration": _trade_registration,
    "application_daycare": _daycare,
    "objection": lambda rng, town: _objection(rng, town, long=rng.random() < 0.3),
    "complaint": _complaint,
    "enquiry": _enquiry,
    "authority_notice": _authority_notice,
    "job_application": _job_application,
    "invitation": _invitation,
}


def make_letter(document_type: str, rng: random.Random, town: Town) -> Letter:
    """Build one letter of the given type with its ground truth."""
    return BUILDERS[document_type](rng, town)
