"""Render scanned-looking invoices from the EN 16931 truth of the public e-invoice samples.

Independent evaluation data for mailroom's OCR invoice extraction. Written without reading the product.

Usage (own venv with Pillow + numpy; needs the Debian fonts fonts-liberation, fonts-dejavu, fonts-crosextra-*,
fonts-freefont-ttf):

    python gen_invoices.py --shared /work/shared --out tests/data/independent/invoices --seed 20261207

Reads ``<shared>/data/einvoices/**/*.truth.json`` (never copies them), splits the business cases into dev/test,
renders each chosen sample in one of eight layout families, degrades it like a scanner and writes
``{dev,test}/NAME.{png,tif,pdf}`` + ``NAME.truth.json`` + ``manifest.tsv``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import io
import json
import os
import random
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DPI = 300
A4 = (2480, 3508)
FONT_DIR = "/usr/share/fonts/truetype"
FONTS = {
    "sans": ("liberation/LiberationSans-Regular.ttf", "liberation/LiberationSans-Bold.ttf"),
    "serif": ("liberation/LiberationSerif-Regular.ttf", "liberation/LiberationSerif-Bold.ttf"),
    "dejavu": ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    "condensed": ("dejavu/DejaVuSansCondensed.ttf", "dejavu/DejaVuSansCondensed-Bold.ttf"),
    "carlito": ("crosextra/Carlito-Regular.ttf", "crosextra/Carlito-Bold.ttf"),
    "caladea": ("crosextra/Caladea-Regular.ttf", "crosextra/Caladea-Bold.ttf"),
    "freesans": ("freefont/FreeSans.ttf", "freefont/FreeSansBold.ttf"),
    "mono": ("liberation/LiberationMono-Regular.ttf", "liberation/LiberationMono-Bold.ttf"),
    "narrow": ("liberation/LiberationSansNarrow-Regular.ttf", "liberation/LiberationSansNarrow-Bold.ttf"),
}
_font_cache: dict[tuple[str, bool, int], ImageFont.FreeTypeFont] = {}

BUYER = ["Stadt Musterstadt", "Rathausplatz 1", "12345 Musterstadt"]
C = Decimal("0.01")


def font(name: str, size_pt: float, bold: bool = False) -> ImageFont.FreeTypeFont:
    px = round(size_pt * DPI / 72)
    key = (name, bold, px)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(os.path.join(FONT_DIR, FONTS[name][1 if bold else 0]), px)
    return _font_cache[key]


def mm(v: float) -> int:
    return round(v * DPI / 25.4)


class Page:
    def __init__(self, face: str) -> None:
        self.img = Image.new("L", A4, 255)
        self.d = ImageDraw.Draw(self.img)
        self.face = face

    def text(self, x: float, y: float, s: str, size: float = 10, bold: bool = False, align: str = "l",
             face: str | None = None, fill: int = 0) -> float:
        f = font(face or self.face, size, bold)
        w = self.d.textlength(s, font=f)
        px = mm(x)
        if align == "r":
            px -= w
        elif align == "c":
            px -= w / 2
        self.d.text((px, mm(y)), s, font=f, fill=fill)
        return w * 25.4 / DPI

    def lines(self, x: float, y: float, rows: list[str], size: float = 10, lead: float = 1.35, **kw: object) -> float:
        for r in rows:
            self.text(x, y, r, size, **kw)  # type: ignore[arg-type]
            y += size * lead * 25.4 / 72
        return y

    def hline(self, x1: float, x2: float, y: float, w: float = 0.3, fill: int = 0) -> None:
        self.d.line([(mm(x1), mm(y)), (mm(x2), mm(y))], fill=fill, width=max(1, mm(w)))

    def vline(self, x: float, y1: float, y2: float, w: float = 0.3) -> None:
        self.d.line([(mm(x), mm(y1)), (mm(x), mm(y2))], fill=0, width=max(1, mm(w)))

    def box(self, x1: float, y1: float, x2: float, y2: float, fill: int | None = None, outline: int | None = 0,
            w: float = 0.3) -> None:
        self.d.rectangle([mm(x1), mm(y1), mm(x2), mm(y2)], fill=fill, outline=outline, width=max(1, mm(w)))


# ---------------------------------------------------------------- formatting

MONTHS = {
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"],
}


def fdate(d: dt.date, style: str) -> str:
    if style == "de":
        return d.strftime("%d.%m.%Y")
    if style == "de_long":
        return f"{d.day}. {MONTHS['de'][d.month - 1]} {d.year}"
    if style == "iso":
        return d.isoformat()
    if style == "en_us":
        return f"{MONTHS['en'][d.month - 1][:3]} {d.day}, {d.year}"
    if style == "en_long":
        return f"{d.day} {MONTHS['en'][d.month - 1]} {d.year}"
    if style == "slash":
        return d.strftime("%d/%m/%Y")
    if style == "fr_long":
        return f"{'1er' if d.day == 1 else d.day} {MONTHS['fr'][d.month - 1]} {d.year}"
    if style == "nl_dash":
        return d.strftime("%d-%m-%Y")
    if style == "nl_long":
        return f"{d.day} {MONTHS['nl'][d.month - 1]} {d.year}"
    raise ValueError(style)


def famount(a: Decimal, style: str, thousands: bool = True) -> str:
    neg = a < 0
    q = abs(a).quantize(C, ROUND_HALF_UP)
    ip, fp = f"{q:.2f}".split(".")
    sep = {"de": ".", "en": ",", "fr": " ", "nl": "."}[style] if thousands else ""
    groups = []
    while len(ip) > 3:
        groups.insert(0, ip[-3:])
        ip = ip[:-3]
    groups.insert(0, ip)
    dec = "." if style == "en" else ","
    return ("-" if neg else "") + sep.join(groups) + dec + fp


def iban_check(country: str, bban: str) -> str:
    s = bban + country + "00"
    n = int("".join(str(int(ch, 36)) for ch in s))
    return f"{country}{98 - n % 97:02d}{bban}"


def group4(s: str) -> str:
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


# ---------------------------------------------------------------- invoice model

@dataclass
class Line:
    desc: str
    qty: int
    unit: str
    price: Decimal
    amount: Decimal


@dataclass
class Inv:
    number: str
    issue: dt.date
    due: dt.date | None
    terms_days: int | None  # printed as "payable within N days" instead of a date
    type_code: str
    currency: str
    seller: str
    seller_addr: list[str]
    vat_id: str | None
    tax_no: str | None
    iban: str
    bic: str
    bank: str
    line_net: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal
    due_amount: Decimal | None
    buyer_ref: str | None
    order_ref: str | None
    lines: list[Line] = field(default_factory=list)
    vat_rows: list[tuple[Decimal | None, Decimal, Decimal]] = field(default_factory=list)  # rate, basis, vat
    customer_no: str = ""
    filled: list[str] = field(default_factory=list)

    @property
    def adjust(self) -> Decimal:
        return self.net - self.line_net

    @property
    def prepaid(self) -> Decimal:
        return Decimal(0) if self.due_amount is None else self.gross - self.due_amount


PLACEHOLDER_SELLERS = re.compile(r"^\[.*\]$|^Seller name$|^GLN ")

SELLER_POOL = {
    "handwerk": ["Elektro Brandt GmbH", "Sanitär Köhler & Sohn GmbH", "Malerbetrieb Yilmaz e.K.",
                 "Dachdeckerei Petersen GmbH", "Tischlerei Hoffmann GbR", "Heizungsbau Wagner GmbH & Co. KG"],
    "grosshandel": ["Bürobedarf Nord Großhandel GmbH", "Technikhandel Rhein-Main AG", "Papier & Mehr GmbH",
                    "Reinigungsbedarf Schulte KG"],
    "consulting": ["Northbridge Advisory Ltd", "Clearpath Consulting GmbH", "Meridian Digital Services B.V."],
    "fr": ["Services Municipaux Dupont SARL", "Atelier Lefèvre SAS", "Fournitures Bernard & Fils"],
    "nl": ["Van der Berg Installatietechniek B.V.", "De Vries Kantoorbenodigdheden", "Jansen & Bakker B.V."],
    "stadtwerke": ["Stadtwerke Musterstadt GmbH", "Energieversorgung Nordtal AG", "Wasserverband Obere Aue"],
    "zweiseitig": ["Baustoffe Krämer GmbH", "IT-Systemhaus Lange GmbH", "Gartenbau Schröder e.K."],
    "gutschrift": ["Kopiertechnik Meyer GmbH", "Autohaus Becker GmbH", "Möbelwerkstatt Klein"],
}
STREETS = {
    "de": ["Industriestraße 14", "Am Mühlbach 3", "Hauptstraße 112", "Gewerbepark 7", "Lindenallee 22",
           "Bahnhofstraße 5a", "Kirchweg 9", "Zum Hafen 41"],
    "fr": ["12 rue de la République", "5 avenue Jean Jaurès", "28 boulevard Victor Hugo"],
    "nl": ["Keizersgracht 221", "Stationsweg 14", "Industrieweg 8"],
    "en": ["Unit 4, Riverside Park", "12 King Street", "Friedrichstraße 68"],  # paired with CITIES["en"]
}
CITIES = {
    "de": ["34117 Kassel", "04109 Leipzig", "70173 Stuttgart", "28195 Bremen", "90402 Nürnberg", "12345 Musterstadt",
           "48143 Münster", "55116 Mainz"],
    "fr": ["67000 Strasbourg", "69002 Lyon", "57000 Metz"],
    "nl": ["1016 DC Amsterdam", "3511 CE Utrecht", "6211 AB Maastricht"],
    "en": ["Manchester M1 4BT", "London EC2A 4NE", "10117 Berlin"],
}
COUNTRY_NAME = {"de": "", "fr": "ALLEMAGNE", "nl": "DUITSLAND", "en": "GERMANY"}

ITEMS = {
    "handwerk": [("Arbeitszeit Geselle", "Std"), ("Arbeitszeit Meister", "Std"), ("Anfahrtspauschale", "psch"),
                 ("Kupferrohr 15 mm", "m"), ("Installationsmaterial", "psch"), ("Dispersionsfarbe weiß 12,5 l", "Stk"),
                 ("Steckdose Unterputz", "Stk"), ("Entsorgung Altmaterial", "psch"), ("Silikonfuge erneuern", "m")],
    "grosshandel": [("Kopierpapier A4 80 g, 500 Bl.", "Pck"), ("Ordner 8 cm blau", "Stk"),
                    ("Toner schwarz TK-5240", "Stk"),
                    ("Kugelschreiber Druck blau", "Stk"), ("Handseife 5 l", "Kan"), ("Müllbeutel 120 l", "Rol"),
                    ("Haftnotizen 76x76", "Pck"), ("Hängeregistratur A4", "Stk"), ("Batterien AA 10er", "Pck")],
    "consulting": [("Consulting services (senior consultant)", "h"), ("Workshop facilitation", "day"),
                   ("Project management", "h"), ("Travel expenses (flat rate)", "lump"), ("Software licence", "pcs")],
    "fr": [("Prestation de maintenance", "h"), ("Fournitures diverses", "forfait"), ("Déplacement", "forfait"),
           ("Pièces détachées", "pce")],
    "nl": [("Onderhoudswerkzaamheden", "uur"), ("Materiaalkosten", "post"), ("Voorrijkosten", "post"),
           ("Kantoorartikelen", "stk")],
    "stadtwerke": [("Arbeitspreis Strom HT", "kWh"), ("Grundpreis Strom", "Mon"), ("Arbeitspreis Erdgas", "kWh"),
                   ("Grundpreis Wasser", "Mon"), ("Frischwasser", "m³"), ("Schmutzwasser", "m³"),
                   ("Messstellenbetrieb", "Mon")],
    "zweiseitig": [("Pflasterstein grau 20x10", "m²"), ("Frostschutzkies 0/32", "t"), ("Kantenstein 100x25", "Stk"),
                   ("Notebook 14\" inkl. Einrichtung", "Stk"), ("Monitor 27\"", "Stk"),
                   ("Dienstleistung Technik", "Std"),
                   ("Rasenpflege", "Std"), ("Heckenschnitt", "Std"), ("Grünschnittentsorgung", "m³"),
                   ("Netzwerkkabel Cat6 5 m", "Stk"), ("Sand gewaschen 0/2", "t")],
    "gutschrift": [("Rückgabe Artikel", "Stk"), ("Preisnachlass gem. Vereinbarung", "psch"),
                   ("Gutschrift Wartungsvertrag", "Mon"), ("Korrektur Abrechnung", "psch")],
}
QTYS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 24, 25, 40, 50, 100]


def split_lines(total: Decimal, n: int, family: str, rng: random.Random) -> list[Line]:
    cents = int((total * 100).to_integral_value())
    items = ITEMS[family]
    if n <= 1 or abs(cents) < n:
        parts = [cents]
    else:
        w = [rng.uniform(0.3, 1.0) for _ in range(n)]
        s = sum(w)
        parts = [int(cents * x / s) for x in w]
        parts[-1] += cents - sum(parts)
    out = []
    for p in parts:
        desc, unit = rng.choice(items)
        qs = [q for q in QTYS if p % q == 0 and abs(p // q) >= 50] or [1]
        q = rng.choice(qs)
        out.append(Line(desc, q, unit, Decimal(p // q) / 100, Decimal(p) / 100))
    return out


STD_RATES = [Decimal(x) for x in ("19", "7", "20", "21", "10", "5.5", "16", "5", "0")]


def vat_rows(net: Decimal, vat: Decimal) -> list[tuple[Decimal | None, Decimal, Decimal]]:
    if net == 0:
        return [(Decimal(0) if vat == 0 else None, net, vat)]
    for r in STD_RATES:
        if abs(net * r / 100 - vat) <= Decimal("0.02") + abs(net) * Decimal("0.00002"):
            return [(r, net, vat)]
    b1 = ((vat - net * Decimal("0.07")) / Decimal("0.12")).quantize(C, ROUND_HALF_UP)
    if 0 < b1 < net:
        v1 = (b1 * Decimal("0.19")).quantize(C, ROUND_HALF_UP)
        return [(Decimal(19), b1, v1), (Decimal(7), net - b1, vat - v1)]
    return [(None, net, vat)]


def dec(s: str | None) -> Decimal | None:
    return None if s is None else Decimal(s)


def build(t: dict, family: str, lang: str, rng: random.Random, n_lines: int) -> Inv:
    filled: list[str] = []
    seller = " ".join((t["BT-27_seller_name"] or "").split())
    if not seller or PLACEHOLDER_SELLERS.search(seller):
        seller = rng.choice(SELLER_POOL[family])
        filled.append("seller_name")
    country = {"fr": "fr", "nl": "nl"}.get(lang, "de")
    ck = "en" if lang == "en" else country
    k = rng.randrange(len(STREETS[ck]))
    addr = [STREETS[ck][k], CITIES[ck][rng.randrange(len(CITIES[ck])) if ck != "en" else k]]
    issue = dt.date.fromisoformat(t["BT-2_issue_date"])
    due = dt.date.fromisoformat(t["BT-9_due_date"]) if t["BT-9_due_date"] else None
    terms = None
    if due is not None:
        delta = (due - issue).days
        if delta in (7, 10, 14, 20, 21, 28, 30, 45, 60) and rng.random() < 0.4:
            terms = delta
    else:
        r = rng.random()
        if r < 0.4:
            terms = rng.choice([14, 30, 10, 21])
            due = issue + dt.timedelta(days=terms)
            filled.append("due_date")
        elif r < 0.65:
            due = issue + dt.timedelta(days=rng.choice([14, 30]))
            filled.append("due_date")
    iban = (t["BT-84_payee_iban"] or "").replace(" ", "").upper()
    if not iban:
        c = {"fr": "FR", "nl": "NL"}.get(lang, "DE")
        if c == "DE":
            iban = iban_check("DE", f"{rng.randint(10000000, 89999999)}{rng.randint(0, 9999999999):010d}")
        elif c == "NL":
            iban = iban_check("NL", f"{rng.choice(['ABNA', 'RABO', 'INGB'])}0{rng.randint(100000000, 999999999)}")
        else:
            iban = iban_check("FR", f"{rng.randint(10000, 39999)}{rng.randint(10000, 99999)}"
                                    f"{rng.randint(0, 99999999999):011d}{rng.randint(10, 96)}")
        filled.append("iban")
    vat_id = t["BT-31_seller_vat_id"]
    if not vat_id:
        vat_id = {"fr": "FR", "nl": "NL"}.get(lang, "DE") + (
            f"{rng.randint(10, 99)}{rng.randint(100000000, 999999999)}" if lang == "fr"
            else f"{rng.randint(100000000, 999999999)}B01" if lang == "nl" else f"{rng.randint(100000000, 999999999)}")
        filled.append("seller_vat_id")
    net = dec(t["BT-109_total_without_vat_norm"])
    gross = dec(t["BT-112_total_with_vat_norm"])
    assert net is not None and gross is not None
    vat = dec(t.get("BT-110_total_vat_norm"))
    if vat is None:
        vat = gross - net
        filled.append("total_vat")
    line_net = dec(t.get("BT-106_line_net_total_norm")) or net
    if t.get("BT-106_line_net_total_norm") is None:
        line_net = net
    currency = t["BT-5_currency"] or "EUR"
    if not t["BT-5_currency"]:
        filled.append("currency")
    bic = {"DE": "DEUTDEFFXXX", "FR": "BNPAFRPPXXX", "NL": "RABONL2U", "IT": "BCITITMM", "BE": "GEBABEBB"}.get(
        iban[:2], "COBADEFFXXX")
    bic = rng.choice([bic, {"DE": "GENODEF1S04", "FR": "CRLYFRPP", "NL": "INGBNL2A"}.get(iban[:2], bic)])
    bank = {"DE": rng.choice(["Sparkasse Musterstadt", "Volksbank Nordtal eG", "Commerzbank"]),
            "FR": "BNP Paribas", "NL": "Rabobank", "BE": "BNP Paribas Fortis", "IT": "Intesa Sanpaolo"}.get(
        iban[:2], "Bank")
    inv = Inv(
        number=t["BT-1_invoice_number"], issue=issue, due=due, terms_days=terms, type_code=t["BT-3_type_code"] or "380",
        currency=currency, seller=seller, seller_addr=addr, vat_id=vat_id, tax_no=t["BT-32_seller_tax_number"],
        iban=iban, bic=bic, bank=bank, line_net=line_net, net=net, vat=vat, gross=gross,
        due_amount=dec(t.get("BT-115_amount_due_norm")), buyer_ref=t["BT-10_buyer_reference"] or None,
        order_ref=t["BT-13_order_reference"] or None, filled=filled,
        customer_no=f"{rng.randint(10000, 99999)}",
    )
    inv.lines = split_lines(line_net, n_lines, family, rng)
    inv.vat_rows = vat_rows(net, vat)
    return inv


# ---------------------------------------------------------------- labels

TITLES = {
    "de": {"380": "Rechnung", "381": "Gutschrift", "384": "Rechnungskorrektur", "389": "Gutschrift",
           "326": "Teilrechnung", "877": "Schlussrechnung", "575": "Versicherungsrechnung", "751": "Rechnung",
           "204": "Abrechnung", "387": "Mietrechnung"},
    "en": {"380": "INVOICE", "381": "CREDIT NOTE", "384": "CORRECTED INVOICE", "389": "SELF-BILLED INVOICE"},
    "fr": {"380": "FACTURE", "381": "AVOIR", "384": "FACTURE RECTIFICATIVE", "389": "AUTOFACTURATION"},
    "nl": {"380": "FACTUUR", "381": "CREDITNOTA", "384": "CORRECTIEFACTUUR", "389": "ZELFFACTURATIE"},
}


def title(inv: Inv, lang: str) -> str:
    return TITLES[lang].get(inv.type_code, TITLES[lang]["380"])


def cur(inv: Inv, lang: str) -> str:
    if inv.currency == "EUR":
        return "EUR" if lang in ("de",) else "€"
    return inv.currency


def is_leitweg(s: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{2,12}(-[0-9A-Za-z]{1,30})?-[0-9]{2}", s))


def rate_txt(r: Decimal | None, lang: str) -> str:
    if r is None:
        return ""
    s = f"{r.normalize():f}"
    if lang != "en":
        s = s.replace(".", ",")
    return f"{s} %" if lang in ("de", "fr") else f"{s}%"


# ---------------------------------------------------------------- families

def addr_window(p: Page, x: float, y: float, inv: Inv, lang: str, size: float = 10.5) -> None:
    p.text(x, y - 6, f"{inv.seller} · {inv.seller_addr[0]} · {inv.seller_addr[1]}", 6.5)
    p.hline(x, x + 85, y - 2.2, 0.15)
    rows = [*BUYER]
    if COUNTRY_NAME[lang]:
        rows.append(COUNTRY_NAME[lang])
    p.lines(x, y, rows, size)


def payment_de(inv: Inv, style: str = "de") -> str:
    if inv.terms_days is not None:
        return f"Zahlbar innerhalb {inv.terms_days} Tagen ohne Abzug."
    if inv.due is not None:
        return f"Bitte überweisen Sie den Betrag bis zum {fdate(inv.due, style)}."
    return "Bitte überweisen Sie den Betrag unter Angabe der Rechnungsnummer."


def totals_block(p: Page, x_lab: float, x_val: float, y: float, inv: Inv, lang: str, st: str, size: float = 10,
                 labels: dict[str, str] | None = None, shade: int | None = None, thousands: bool = True) -> float:
    lab = labels or {}
    step = size * 1.5 * 25.4 / 72
    cu = cur(inv, lang)

    def row(k: str, a: Decimal, bold: bool = False) -> None:
        nonlocal y
        if bold and shade is not None:
            p.box(x_lab - 2, y - 1, x_val + 1.5, y + step - 0.5, fill=shade, outline=None)
        p.text(x_lab, y, lab[k], size, bold=bold)
        p.text(x_val, y, f"{famount(a, st, thousands)} {cu}", size, bold=bold, align="r")
        y += step

    if inv.adjust != 0:
        row("lines", inv.line_net)
        row("charge" if inv.adjust > 0 else "allow", inv.adjust)
    row("net", inv.net)
    for r, _b, v in inv.vat_rows:
        p.text(x_lab, y, lab["vat"] + (f" {rate_txt(r, lang)}" if r is not None else ""), size)
        p.text(x_val, y, f"{famount(v, st, thousands)} {cu}", size, align="r")
        y += step
    p.hline(x_lab, x_val, y - 0.8, 0.2)
    row("gross", inv.gross, bold=inv.due_amount is None or inv.prepaid == 0)
    if inv.due_amount is not None and inv.prepaid != 0:
        row("prepaid" if inv.prepaid > 0 else "extra", -inv.prepaid)
        row("due", inv.due_amount, bold=True)
    return y


LAB_DE = {"lines": "Summe Positionen", "charge": "Zuschläge", "allow": "Nachlass", "net": "Nettobetrag",
          "vat": "zzgl. USt", "gross": "Rechnungsbetrag", "prepaid": "abzüglich Anzahlung",
          "extra": "zuzüglich Restbetrag Vorrechnung", "due": "Zahlbetrag"}


def table(p: Page, x0: float, x1: float, y: float, cols: list[tuple[str, float, str]], rows: list[list[str]],
          size: float, head_fill: int | None = 225, grid: bool = False, stripe: int | None = None,
          lead: float = 1.45) -> float:
    """cols: (header, right edge or left x, align). Returns y after the table."""
    step = size * lead * 25.4 / 72
    if head_fill is not None:
        p.box(x0, y - 1, x1, y + step - 0.3, fill=head_fill, outline=None)
    for h, x, a in cols:
        p.text(x, y, h, size, bold=True, align=a)
    y += step
    p.hline(x0, x1, y - 0.8, 0.25)
    for i, r in enumerate(rows):
        if stripe is not None and i % 2 == 1:
            p.box(x0, y - 0.8, x1, y + step - 0.8, fill=stripe, outline=None)
        for (_h, x, a), v in zip(cols, r, strict=True):
            p.text(x, y, v, size, align=a)
        y += step
        if grid:
            p.hline(x0, x1, y - 0.8, 0.1)
    p.hline(x0, x1, y - 0.5, 0.25)
    return y + 1


def fam_handwerk(inv: Inv, rng: random.Random) -> tuple[list[Page], str]:
    lang, st = "de", "de"
    p = Page(rng.choice(["sans", "dejavu", "carlito", "freesans"]))
    p.text(20, 14, inv.seller, 20, bold=True)
    p.text(20, 23, f"Meisterbetrieb · {inv.seller_addr[0]} · {inv.seller_addr[1]}", 9)
    p.text(20, 27.5, f"Tel. 0{rng.randint(200, 999)} {rng.randint(100000, 999999)} · info@"
           f"{re.sub(r'[^a-z]', '', inv.seller.lower())[:14]}.de", 9)
    p.hline(20, 190, 32, 0.5)
    addr_window(p, 25, 52, inv, lang)
    y = 95
    p.text(20, y, title(inv, lang), 16, bold=True)
    y += 10
    grid = [("Rechnungsnummer", inv.number), ("Rechnungsdatum", fdate(inv.issue, "de")),
            ("Kundennummer", inv.customer_no)]
    if inv.buyer_ref:
        grid.append(("Leitweg-ID" if is_leitweg(inv.buyer_ref) else "Ihre Referenz", inv.buyer_ref))
    if inv.order_ref:
        grid.append(("Bestellnummer", inv.order_ref))
    w = 170 / len(grid)
    shade = rng.choice([None, 230, 215])
    for i, (k, v) in enumerate(grid):
        x = 20 + i * w
        p.box(x, y, x + w, y + 13, fill=shade, outline=0, w=0.25)
        p.text(x + 2, y + 1.5, k, 7.5)
        p.text(x + 2, y + 6.5, v, 9.5 if len(v) < 22 else 7.5, bold=True)
    y += 19
    p.text(20, y, f"Leistungszeitraum: {fdate(inv.issue - dt.timedelta(days=rng.randint(3, 20)), 'de')} bis "
                  f"{fdate(inv.issue - dt.timedelta(days=1), 'de')}", 9.5)
    y += 8
    rows = [[str(i + 1), ln.desc, f"{ln.qty}", ln.unit, famount(ln.price, st), famount(ln.amount, st)]
            for i, ln in enumerate(inv.lines)]
    y = table(p, 20, 190, y, [("Pos.", 20.5, "l"), ("Bezeichnung", 32, "l"), ("Menge", 120, "r"), ("Einh.", 123, "l"),
                              ("Einzelpreis", 160, "r"), ("Gesamt", 189, "r")], rows, 9.5, head_fill=shade)
    y = totals_block(p, 115, 189, y + 3, inv, lang, st, 10, LAB_DE, shade=shade)
    y += 6
    p.text(20, y, payment_de(inv), 10)
    p.text(20, y + 6, "Vielen Dank für Ihren Auftrag!", 10)
    fy = 270
    p.hline(20, 190, fy - 2, 0.2)
    p.lines(20, fy, [inv.seller, *inv.seller_addr], 7.5, lead=1.3)
    p.lines(80, fy, [inv.bank, f"IBAN: {group4(inv.iban)}", f"BIC: {inv.bic}"], 7.5, lead=1.3)
    tax = [f"USt-IdNr.: {inv.vat_id}"]
    if inv.tax_no:
        tax.insert(0, f"Steuernummer: {inv.tax_no}")
    p.lines(145, fy, ["Geschäftsführung: " + rng.choice(["K. Brandt", "M. Köhler", "A. Yilmaz"]), *tax], 7.5,
            lead=1.3)
    return [p], lang


def fam_grosshandel(inv: Inv, rng: random.Random) -> tuple[list[Page], str]:
    lang, st = "de", "de"
    thousands = rng.random() < 0.5
    p = Page(rng.choice(["narrow", "condensed", "sans"]))
    p.box(15, 10, 195, 30, fill=rng.choice([200, 215, 235]), outline=None)
    p.text(18, 13, inv.seller.upper(), 17, bold=True)
    p.text(18, 22, f"{inv.seller_addr[0]} | {inv.seller_addr[1]} | Großhandel für Behörden und Gewerbe", 8.5)
    addr_window(p, 20, 50, inv, lang, 10)
    meta = [("Beleg", title(inv, lang)), ("Beleg-Nr.", inv.number), ("Belegdatum", fdate(inv.issue, "de")),
            ("Lieferdatum", fdate(inv.issue - dt.timedelta(days=rng.randint(1, 6)), "de")),
            ("Kunden-Nr.", inv.customer_no), ("Lieferschein", f"LS-{rng.randint(100000, 999999)}")]
    if inv.order_ref:
        meta.append(("Ihre Bestellung", inv.order_ref))
    if inv.buyer_ref:
        meta.append(("Leitweg-ID" if is_leitweg(inv.buyer_ref) else "Käuferreferenz", inv.buyer_ref))
    if inv.terms_days is None and inv.due is not None:
        meta.append(("Fällig am", fdate(inv.due, "de")))
    y = 45
    for k, v in meta:
        p.text(125, y, k + ":", 8.5)
        p.text(155, y, v, 8.5, bold=k in ("Beleg", "Beleg-Nr."))
        y += 4.6
    y = max(y, 80) + 6
    single = len(inv.vat_rows) == 1 and inv.vat_rows[0][0] is not None
    rows = []
    for i, ln in enumerate(inv.lines):
        rows.append([f"{(i + 1) * 10}", f"{rng.randint(100000, 999999)}", ln.desc, f"{ln.qty}", ln.unit,
                     famount(ln.price, st, thousands), famount(ln.amount, st, thousands),
                     rate_txt(inv.vat_rows[0][0], lang) if single else "*"])
    y = table(p, 15, 195, y, [("Pos", 16, "l"), ("Art.-Nr.", 25, "l"), ("Bezeichnung", 43, "l"), ("Menge", 128, "r"),
                              ("ME", 130, "l"), ("EP", 158, "r"), ("GP", 180, "r"), ("USt", 194, "r")], rows, 8,
              head_fill=rng.choice([190, 210, 225]), grid=True, lead=1.55)
    y += 3
    # per-rate VAT summary
    cols = [("USt-Satz", 17, "l"), ("Nettobetrag", 75, "r"), ("USt-Betrag", 115, "r"), ("Bruttobetrag", 155, "r")]
    vrows = [[rate_txt(r, lang) or "gesamt", famount(b, st, thousands), famount(v, st, thousands),
              famount(b + v, st, thousands)] for r, b, v in inv.vat_rows]
    y = table(p, 15, 160, y, cols, vrows, 8, head_fill=225)
    y += 2
    labs = dict(LAB_DE, net="Warenwert netto", vat="Umsatzsteuer", gross="Endbetrag", due="Zu zahlen",
                prepaid="abzgl. geleistete Anzahlung")
    y = totals_block(p, 120, 194, y, inv, lang, st, 9.5, labs, shade=rng.choice([None, 220]), thousands=thousands)
    y += 4
    p.text(15, y, payment_de(inv) + f" Währung: {inv.currency}.", 8.5)
    p.text(15, y + 4.5, "Es gelten unsere Allgemeinen Geschäftsbedingungen. Ware bleibt bis zur vollständigen "
                        "Bezahlung unser Eigentum.", 7.5)
    fy = 275
    p.box(15, fy - 2, 195, fy + 14, fill=235, outline=None)
    parts = [f"Bankverbindung: {inv.bank}", f"IBAN {inv.iban}  BIC {inv.bic}"]
    p.lines(17, fy, parts, 7.5, lead=1.3)
    tx = [f"USt-ID {inv.vat_id}"] + ([f"St.-Nr. {inv.tax_no}"] if inv.tax_no else [])
    p.lines(110, fy, [*tx, "Amtsgericht Musterstadt HRB " + str(rng.randint(1000, 9999))], 7.5, lead=1.3)
    return [p], lang


def fam_consulting(inv: Inv, rng: random.Random) -> tuple[list[Page], str]:
    lang, st = "en", "en"
    ds = rng.choice(["en_us", "en_long"])
    p = Page(rng.choice(["carlito", "sans", "caladea"]))
    p.text(190, 15, inv.seller, 18, bold=True, align="r")
    p.lines(190, 24, [inv.seller_addr[0], inv.seller_addr[1], f"VAT Reg. No.: {inv.vat_id}"]
            + ([f"Tax No.: {inv.tax_no}"] if inv.tax_no else []), 9, align="r")
    p.text(20, 45, title(inv, lang), 26, bold=True, fill=60)
    p.text(20, 62, "BILL TO", 8.5, bold=True, fill=90)
    p.lines(20, 67, [*BUYER, "Germany"], 10)
    meta = [("Invoice No.", inv.number), ("Invoice date", fdate(inv.issue, ds))]
    if inv.terms_days is not None:
        meta.append(("Terms", f"Net {inv.terms_days} days"))
    elif inv.due is not None:
        meta.append(("Due date", fdate(inv.due, ds)))
    if inv.order_ref:
        meta.append(("PO number", inv.order_ref))
    if inv.buyer_ref:
        meta.append(("Buyer reference" if not is_leitweg(inv.buyer_ref) else "Leitweg-ID", inv.buyer_ref))
    y = 62
    for k, v in meta:
        p.text(120, y, k, 9.5, bold=True)
        p.text(190, y, v, 9.5, align="r")
        y += 5.5
    y = max(y, 92) + 6
    rows = [[ln.desc, f"{ln.qty}", famount(ln.price, st), famount(ln.amount, st)] for ln in inv.lines]
    y = table(p, 20, 190, y, [("Description", 22, "l"), ("Qty", 125, "r"), ("Rate", 155, "r"), ("Amount", 188, "r")],
              rows, 9.5, head_fill=None, stripe=rng.choice([None, 240]))
    labs = {"lines": "Subtotal (services)", "charge": "Surcharge", "allow": "Discount", "net": "Subtotal",
            "vat": "VAT", "gross": "Total", "prepaid": "Less amount paid", "extra": "Plus balance carried forward",
            "due": "Balance due"}
    y = totals_block(p, 120, 188, y + 3, inv, lang, st, 10, labs, shade=235)
    y += 6
    if inv.terms_days is not None:
        p.text(20, y, f"Payment terms: {inv.terms_days} days net. Currency: {inv.currency}.", 9.5)
    elif inv.due is not None:
        p.text(20, y, f"Please pay by {fdate(inv.due, ds)}. Currency: {inv.currency}.", 9.5)
    else:
        p.text(20, y, f"Currency: {inv.currency}. Please quote the invoice number with your payment.", 9.5)
    y += 10
    p.text(20, y, "Payment details", 10, bold=True)
    p.lines(20, y + 5.5, [f"Bank: {inv.bank}", f"IBAN: {group4(inv.iban)}", f"SWIFT/BIC: {inv.bic}"], 9.5)
    p.text(105, 285, "Thank you for your business.", 8, align="c", fill=80)
    return [p], lang


def fam_fr(inv: Inv, rng: random.Random) -> tuple[list[Page], str]:
    lang, st = "fr", "fr"
    ds = rng.choice(["slash", "slash", "fr_long"])
    p = Page(rng.choice(["serif", "dejavu", "caladea"]))
    p.text(20, 15, inv.seller, 17, bold=True)
    p.lines(20, 23, [*inv.seller_addr, "France"], 9)
    p.box(115, 45, 190, 75, outline=0, w=0.3)
    p.lines(118, 48, [*BUYER, "ALLEMAGNE"], 10)
    p.text(20, 85, f"{title(inv, lang)} N° {inv.number}", 15, bold=True)
    meta = [f"Date de facture : {fdate(inv.issue, ds)}"]
    if inv.terms_days is not None:
        meta.append(f"Conditions de paiement : {inv.terms_days} jours net")
    elif inv.due is not None:
        meta.append(f"Date d'échéance : {fdate(inv.due, ds)}")
    if inv.order_ref:
        meta.append(f"N° de commande : {inv.order_ref}")
    if inv.buyer_ref:
        meta.append(f"Référence acheteur : {inv.buyer_ref}")
    meta.append(f"Code client : {inv.customer_no}")
    y = p.lines(20, 94, meta, 9.5) + 5
    single = len(inv.vat_rows) == 1 and inv.vat_rows[0][0] is not None
    rows = [[ln.desc, f"{ln.qty}", famount(ln.price, st), rate_txt(inv.vat_rows[0][0], lang) if single else "",
             famount(ln.amount, st)] for ln in inv.lines]
    y = table(p, 20, 190, y, [("Désignation", 22, "l"), ("Qté", 115, "r"), ("P.U. HT", 142, "r"), ("TVA", 160, "r"),
                              ("Montant HT", 188, "r")], rows, 9.5, head_fill=rng.choice([220, 235]), grid=True)
    labs = {"lines": "Total lignes HT", "charge": "Frais", "allow": "Remise", "net": "Total HT", "vat": "TVA",
            "gross": "Total TTC", "prepaid": "Acompte versé", "extra": "Solde antérieur", "due": "Net à payer"}
    y = totals_block(p, 120, 188, y + 3, inv, lang, st, 10, labs, shade=225)
    y += 6
    p.text(20, y, "Règlement par virement bancaire. Pas d'escompte pour paiement anticipé.", 9)
    p.text(20, y + 5, "En cas de retard de paiement, indemnité forfaitaire pour frais de recouvrement : 40 €.", 8)
    fy = 268
    p.hline(20, 190, fy - 2, 0.2)
    p.lines(105, fy, [f"{inv.seller} – {inv.seller_addr[0]} – {inv.seller_addr[1]}",
                      f"N° TVA intracommunautaire : {inv.vat_id}"
                      + (f" – N° fiscal : {inv.tax_no}" if inv.tax_no else ""),
                      f"SIRET {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)} 000"
                      f"{rng.randint(10, 99)}",
                      f"IBAN : {group4(inv.iban)} – BIC : {inv.bic} ({inv.bank})"], 7.5, align="c", lead=1.35)
    return [p], lang


def fam_nl(inv: Inv, rng: random.Random) -> tuple[list[Page], str]:
    lang, st = "nl", "nl"
    ds = rng.choice(["nl_dash", "nl_long"])
    p = Page(rng.choice(["sans", "freesans", "carlito"]))
    p.box(0, 0, 210, 8, fill=rng.choice([120, 170]), outline=None)
    p.text(20, 16, inv.seller, 16, bold=True)
    p.lines(140, 16, [*inv.seller_addr, "Nederland", f"BTW-nr.: {inv.vat_id}"]
            + ([f"Fiscaal nr.: {inv.tax_no}"] if inv.tax_no else []) + [f"KvK: {rng.randint(10000000, 99999999)}"],
            8.5)
    p.text(20, 50, "Factuuradres:", 8.5, fill=80)
    p.lines(20, 55, [*BUYER, "DUITSLAND"], 10)
    p.text(20, 85, title(inv, lang), 20, bold=True)
    meta = [("Factuurnummer", inv.number), ("Factuurdatum", fdate(inv.issue, ds))]
    if inv.terms_days is not None:
        meta.append(("Betalingstermijn", f"{inv.terms_days} dagen"))
    elif inv.due is not None:
        meta.append(("Vervaldatum", fdate(inv.due, ds)))
    if inv.order_ref:
        meta.append(("Ordernummer", inv.order_ref))
    if inv.buyer_ref:
        meta.append(("Uw referentie", inv.buyer_ref))
    meta.append(("Klantnummer", inv.customer_no))
    y = 97
    for k, v in meta:
        p.text(20, y, k, 9.5)
        p.text(60, y, ": " + v, 9.5)
        y += 5
    y += 5
    rows = [[ln.desc, f"{ln.qty} {ln.unit}", famount(ln.price, st), famount(ln.amount, st)] for ln in inv.lines]
    y = table(p, 20, 190, y, [("Omschrijving", 22, "l"), ("Aantal", 125, "r"), ("Prijs", 155, "r"),
                              ("Bedrag", 188, "r")], rows, 9.5, head_fill=235, stripe=rng.choice([None, 245]))
    labs = {"lines": "Subtotaal regels", "charge": "Toeslag", "allow": "Korting", "net": "Subtotaal excl. BTW",
            "vat": "BTW", "gross": "Totaal incl. BTW", "prepaid": "Reeds betaald", "extra": "Openstaand saldo",
            "due": "Te betalen"}
    y = totals_block(p, 115, 188, y + 3, inv, lang, st, 10, labs, shade=rng.choice([None, 225]))
    y += 8
    when = (f"binnen {inv.terms_days} dagen" if inv.terms_days is not None
            else f"vóór {fdate(inv.due, ds)}" if inv.due is not None else "zo spoedig mogelijk")
    p.lines(20, y, [f"Wij verzoeken u het bedrag {when} over te maken op",
                    f"IBAN {group4(inv.iban)} (BIC {inv.bic}) t.n.v. {inv.seller},",
                    "onder vermelding van het factuurnummer."], 9.5)
    return [p], lang


def fam_stadtwerke(inv: Inv, rng: random.Random) -> tuple[list[Page], str]:
    lang, st = "de", "de"
    p = Page(rng.choice(["sans", "dejavu", "freesans"]))
    p.box(15, 12, 32, 29, fill=rng.choice([80, 140]), outline=None)
    p.text(36, 13, inv.seller, 16, bold=True)
    hotline = f"0800 {rng.randint(1000000, 9999999)}"
    p.text(36, 21, f"{inv.seller_addr[0]} · {inv.seller_addr[1]} · Service-Hotline {hotline}", 8.5)
    addr_window(p, 22, 50, inv, lang, 10)
    # info column
    info = [("Vertragskonto", f"{rng.randint(100000000, 999999999)}"), ("Kundennummer", inv.customer_no),
            ("Rechnungsnummer", inv.number), ("Rechnungsdatum", fdate(inv.issue, "de_long"))]
    if inv.buyer_ref:
        info.append(("Leitweg-ID" if is_leitweg(inv.buyer_ref) else "Ihr Zeichen", inv.buyer_ref))
    if inv.order_ref:
        info.append(("Auftragsnummer", inv.order_ref))
    info.append(("Verbrauchsstelle", "Rathausplatz 1, Musterstadt"))
    y = 45
    p.box(120, y - 2, 193, y + 5.2 * len(info) + 1, fill=rng.choice([235, 225]), outline=None)
    for k, v in info:
        p.text(122, y, k, 8.5)
        p.text(191, y, v, 8.5, bold=k == "Rechnungsnummer", align="r")
        y += 5.2
    y = max(y, 85) + 6
    period = f"{fdate(inv.issue - dt.timedelta(days=365), 'de')} – {fdate(inv.issue - dt.timedelta(days=1), 'de')}"
    p.text(22, y, f"Ihre {title(inv, lang)} für den Abrechnungszeitraum {period}", 11, bold=True)
    y += 10
    rows = [[ln.desc, f"{ln.qty} {ln.unit}", famount(ln.price, st), famount(ln.amount, st)] for ln in inv.lines]
    cols = [("Leistung", 23, "l"), ("Menge", 120, "r"), ("Preis", 150, "r"), ("Betrag netto", 189, "r")]
    y = table(p, 22, 190, y, cols, rows, 9, head_fill=225)
    labs = dict(LAB_DE, net="Summe netto", vat="Umsatzsteuer", gross="Rechnungsbetrag brutto",
                prepaid="abzüglich geleisteter Abschlagszahlungen", extra="zuzüglich offener Betrag",
                due="zu zahlender Betrag")
    y = totals_block(p, 100, 189, y + 3, inv, lang, st, 10, labs, shade=rng.choice([200, 215]))
    y += 6
    if inv.due_amount is not None and inv.due_amount < 0:
        p.text(22, y, "Das Guthaben erstatten wir auf Ihr Konto.", 10)
        y += 6
    if inv.terms_days is not None:
        p.text(22, y, f"Der Betrag ist zahlbar innerhalb {inv.terms_days} Tagen nach Rechnungsdatum.", 10)
    elif inv.due is not None:
        p.text(22, y, f"Der Betrag wird fällig am {fdate(inv.due, 'de_long')}.", 10)
    y += 12
    p.box(22, y, 190, y + 20, outline=0, w=0.3)
    p.text(25, y + 2, "Bankverbindung für Ihre Überweisung", 9, bold=True)
    p.text(25, y + 7.5, f"Empfänger: {inv.seller}", 9)
    p.text(25, y + 12.5, f"IBAN {group4(inv.iban)}   BIC {inv.bic}   ({inv.bank})", 9)
    fy = 274
    tx = f"USt-IdNr. {inv.vat_id}" + (f" · Steuer-Nr. {inv.tax_no}" if inv.tax_no else "")
    p.text(105, fy, f"{inv.seller} · Sitz Musterstadt · Registergericht Musterstadt HRB {rng.randint(100, 999)}",
           7, align="c")
    p.text(105, fy + 3.5, tx, 7, align="c")
    return [p], lang


def fam_zweiseitig(inv: Inv, rng: random.Random) -> tuple[list[Page], str]:
    lang, st = "de", "de"
    ds = rng.choice(["iso", "de", "de_long"])
    face = rng.choice(["serif", "sans", "caladea", "mono"])
    p1, p2 = Page(face), Page(face)
    for pg, n in ((p1, 1), (p2, 2)):
        pg.text(20, 12, inv.seller, 14, bold=True)
        pg.text(20, 18.5, f"{inv.seller_addr[0]}, {inv.seller_addr[1]}", 8.5)
        pg.text(190, 12, f"Seite {n} von 2", 8.5, align="r")
        pg.hline(20, 190, 23, 0.3)
    addr_window(p1, 25, 45, inv, lang)
    meta = [("Rechnungs-Nr.", inv.number), ("Datum", fdate(inv.issue, ds)), ("Kunden-Nr.", inv.customer_no)]
    if inv.buyer_ref:
        meta.append(("Leitweg-ID" if is_leitweg(inv.buyer_ref) else "Ihre Referenz", inv.buyer_ref))
    if inv.order_ref:
        meta.append(("Bestell-Nr.", inv.order_ref))
    y = 42
    for k, v in meta:
        p1.text(125, y, k, 9)
        p1.text(155, y, v, 9, bold=k.startswith("Rechnungs"))
        y += 4.8
    p1.text(20, 85, title(inv, lang), 15, bold=True)
    p1.text(20, 93, "Sehr geehrte Damen und Herren, wir berechnen Ihnen folgende Lieferungen und Leistungen:", 9.5)
    cols = [("Pos.", 20.5, "l"), ("Artikel / Leistung", 32, "l"), ("Menge", 118, "r"), ("Einheit", 121, "l"),
            ("E-Preis", 160, "r"), ("Betrag", 189, "r")]
    rows = [[str(i + 1), ln.desc, str(ln.qty), ln.unit, famount(ln.price, st), famount(ln.amount, st)]
            for i, ln in enumerate(inv.lines)]
    k = min(len(rows) - 3, 30)
    y = table(p1, 20, 190, 101, cols, rows[:k], 9, head_fill=rng.choice([None, 225]))
    carry = sum((ln.amount for ln in inv.lines[:k]), Decimal(0))
    p1.text(120, y + 1, "Übertrag", 9.5, bold=True)
    p1.text(189, y + 1, famount(carry, st), 9.5, bold=True, align="r")
    p1.text(105, 285, "– Fortsetzung auf Seite 2 –", 8.5, align="c")
    p2.text(20, 28, f"{title(inv, lang)} {inv.number} vom {fdate(inv.issue, ds)} (Fortsetzung)", 9.5, bold=True)
    p2.text(120, 35, "Übertrag", 9.5)
    p2.text(189, 35, famount(carry, st), 9.5, align="r")
    y = table(p2, 20, 190, 42, cols, rows[k:], 9, head_fill=rng.choice([None, 225]))
    labs = dict(LAB_DE, net="Summe netto", vat="Umsatzsteuer", gross="Gesamtbetrag", due="Offener Betrag")
    y = totals_block(p2, 115, 189, y + 3, inv, lang, st, 10, labs, shade=rng.choice([None, 220]))
    y += 6
    p2.text(20, y, payment_de(inv, ds), 10)
    y += 12
    p2.lines(20, y, ["Bankverbindung:", f"{inv.bank}", f"IBAN {group4(inv.iban)}", f"BIC {inv.bic}"], 9)
    p2.lines(110, y, ["Steuerliche Angaben:", f"USt-IdNr. {inv.vat_id}"]
             + ([f"Steuernummer {inv.tax_no}"] if inv.tax_no else []), 9)
    return [p1, p2], lang


def fam_gutschrift(inv: Inv, rng: random.Random) -> tuple[list[Page], str]:
    lang, st = "de", "de"
    ds = rng.choice(["de", "de_long"])
    p = Page(rng.choice(["dejavu", "sans", "serif"]))
    p.text(190, 14, inv.seller, 15, bold=True, align="r")
    p.lines(190, 21, inv.seller_addr, 9, align="r")
    addr_window(p, 25, 48, inv, lang)
    t = title(inv, lang)
    if inv.type_code == "380":
        t = "Rechnung / Korrektur" if inv.gross < 0 else "Rechnung"
    p.box(20, 88, 190, 100, fill=rng.choice([210, 230]), outline=None)
    p.text(23, 90, f"{t} Nr. {inv.number}", 15, bold=True)
    meta = [f"Datum: {fdate(inv.issue, ds)}"]
    meta.append(f"Kundennummer: {inv.customer_no}")
    if inv.buyer_ref:
        meta.append(("Leitweg-ID: " if is_leitweg(inv.buyer_ref) else "Ihre Referenz: ") + inv.buyer_ref)
    if inv.order_ref:
        meta.append(f"Bezug: Bestellung {inv.order_ref}")
    y = p.lines(20, 105, meta, 9.5) + 4
    p.text(20, y, "Wir schreiben Ihnen folgende Beträge gut:" if inv.type_code in ("381", "389")
           else "Wir berechnen bzw. korrigieren wie folgt:", 10)
    y += 8
    rows = [[ln.desc, str(ln.qty), famount(ln.price, st), famount(ln.amount, st)] for ln in inv.lines]
    y = table(p, 20, 190, y, [("Beschreibung", 21, "l"), ("Anzahl", 120, "r"), ("Einzelbetrag", 155, "r"),
                              ("Betrag", 189, "r")], rows, 9.5, head_fill=None, grid=True)
    labs = dict(LAB_DE, net="Gutschrift netto" if inv.type_code in ("381", "389") else "Netto",
                vat="Umsatzsteuer", gross="Gutschriftsbetrag" if inv.type_code in ("381", "389") else "Gesamt",
                due="Auszahlungsbetrag" if inv.type_code in ("381", "389") else "Zahlbetrag")
    y = totals_block(p, 115, 189, y + 3, inv, lang, st, 10, labs)
    y += 6
    if inv.type_code in ("381", "389"):
        p.text(20, y, f"Den Betrag überweisen wir auf Ihr Konto. Unsere Bankverbindung: IBAN {inv.iban}", 9)
        if inv.due is not None:
            p.text(20, y + 5, f"Wertstellung spätestens am {fdate(inv.due, ds)}." if inv.terms_days is None
                   else f"Ausgleich innerhalb {inv.terms_days} Tagen.", 9)
    else:
        p.text(20, y, payment_de(inv, ds), 9.5)
        p.text(20, y + 5, f"Bankverbindung: {inv.bank}, IBAN {group4(inv.iban)}, BIC {inv.bic}", 9)
    fy = 276
    p.hline(20, 190, fy - 2, 0.2)
    p.text(20, fy, f"{inv.seller} · USt-IdNr. {inv.vat_id}" + (f" · StNr. {inv.tax_no}" if inv.tax_no else ""), 7.5)
    return [p], lang


FAMILIES = {
    "handwerk_de": fam_handwerk,
    "grosshandel_de": fam_grosshandel,
    "consulting_en": fam_consulting,
    "facture_fr": fam_fr,
    "factuur_nl": fam_nl,
    "stadtwerke_de": fam_stadtwerke,
    "zweiseitig_de": fam_zweiseitig,
    "gutschrift_de": fam_gutschrift,
}
POOL_KEY = {"handwerk_de": "handwerk", "grosshandel_de": "grosshandel", "consulting_en": "consulting",
            "facture_fr": "fr", "factuur_nl": "nl", "stadtwerke_de": "stadtwerke", "zweiseitig_de": "zweiseitig",
            "gutschrift_de": "gutschrift"}
LANG = {"handwerk_de": "de", "grosshandel_de": "de", "consulting_en": "en", "facture_fr": "fr", "factuur_nl": "nl",
        "stadtwerke_de": "de", "zweiseitig_de": "de", "gutschrift_de": "de"}


def choose_family(t: dict, rng: random.Random, counts: dict[str, int]) -> str:
    vat = t["BT-31_seller_vat_id"] or ""
    if vat.startswith("FR"):
        return "facture_fr"
    if vat.startswith("BE"):
        return "factuur_nl"
    if t["BT-3_type_code"] in ("381", "384", "389") and rng.random() < 0.7:
        return "gutschrift_de"
    if t.get("n_line_items", 1) > 14:
        return "zweiseitig_de"
    due = t.get("BT-115_amount_due_norm")
    if due is not None and due != t["BT-112_total_with_vat_norm"] and rng.random() < 0.6:
        return "stadtwerke_de"
    # least used family first, with some randomness
    fams = [f for f in FAMILIES if f != "gutschrift_de"]
    rng.shuffle(fams)
    return min(fams, key=lambda f: counts.get(f, 0))


# ---------------------------------------------------------------- degradation

def scan_params(rng: random.Random) -> dict:
    photocopy = rng.random() < 0.3
    bilevel = photocopy or rng.random() < 0.3
    return {
        "dpi": rng.choice([200, 200, 300]),
        "skew_deg": round(rng.uniform(-3, 3), 2) if rng.random() < 0.8 else 0.0,
        "blur_px": round(rng.uniform(0.3, 1.1), 2) if rng.random() < 0.6 else 0.0,
        "noise_sigma": round(rng.uniform(2, 8) if bilevel else rng.uniform(1, 3), 1) if rng.random() < 0.6 else 0.0,
        "speckle": round(rng.uniform(0.0002, 0.0012), 4) if rng.random() < 0.5 else 0.0,
        "photocopy": photocopy,
        "bilevel": bilevel,
        "paper": rng.randint(228, 252),
        "ink": rng.randint(0, 45),
    }


def degrade(pages: list[Image.Image], info: dict, rng: random.Random) -> list[Image.Image]:
    """Pages are already rendered at info["dpi"]."""
    paper, ink = info["paper"], info["ink"]
    skew, blur, noise, speckle = info["skew_deg"], info["blur_px"], info["noise_sigma"], info["speckle"]
    out = []
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    for img in pages:
        a = np.asarray(img, dtype=np.float32) / 255.0
        a = paper * a + ink * (1 - a)  # grey paper, grey ink
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        if skew:
            img = img.rotate(skew, resample=Image.BICUBIC, expand=True, fillcolor=paper)
        if blur:
            img = img.filter(ImageFilter.GaussianBlur(blur * info["dpi"] / 300))
        a = np.asarray(img, dtype=np.float32)
        if noise:
            a = a + nrng.normal(0, noise, a.shape).astype(np.float32)
        if speckle:
            m = nrng.random(a.shape, dtype=np.float32) < speckle
            a[m] = nrng.uniform(0, 120, int(m.sum()))
        if info["photocopy"]:
            a = (a - 128) * 1.6 + 140  # crush greys
            w = a.shape[1]
            band = int(nrng.integers(8, 30))
            if nrng.random() < 0.7:
                a[:, :band] *= 0.25  # dark edge of the copier lid
            if nrng.random() < 0.5:
                x = int(nrng.integers(w // 5, 4 * w // 5))
                a[:, x:x + 2] *= 0.55  # drum streak
            t = nrng.random(a.shape, dtype=np.float32) < 0.001
            a[t] = 30  # toner specks
        out.append(Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)))
    return out


def save(pages: list[Image.Image], base: str, info: dict, rng: random.Random) -> str:
    dpi = info["dpi"]
    if info["bilevel"]:
        thr = rng.randint(120, 165)
        pages = [im.point(lambda v, t=thr: 255 if v > t else 0).convert("1") for im in pages]
        info["bilevel_threshold"] = thr
        if len(pages) > 1 or rng.random() < 0.5:
            path = base + ".tif"
            pages[0].save(path, compression="group4", dpi=(dpi, dpi), save_all=True, append_images=pages[1:])
            info["format"] = "bilevel-g4-tiff"
        else:
            path = base + ".png"
            pages[0].save(path, dpi=(dpi, dpi), optimize=True)
            info["format"] = "bilevel-png"
        return path
    q = rng.randint(28, 50)
    info["jpeg_quality"] = q
    info["format"] = "grey-jpeg-pdf"
    path = base + ".pdf"
    jp = []
    for im in pages:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=q)
        jp.append(Image.open(io.BytesIO(buf.getvalue())))
    jp[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=jp[1:], quality=q)
    return path


# ---------------------------------------------------------------- main

def money(x: Decimal | None) -> str | None:
    return None if x is None else f"{x.quantize(C, ROUND_HALF_UP):.2f}"


def truth_record(inv: Inv, fam: str, lang: str, t: dict, rel: str) -> dict:
    return {
        "family": fam,
        "language": lang,
        "source_case": t["case"],
        "source_truth": rel,
        "document_type": inv.type_code,
        "invoice": {
            "invoice_number": inv.number,
            "issue_date": inv.issue.isoformat(),
            "due_date": inv.due.isoformat() if inv.due else None,
            "due_date_from_terms": inv.terms_days is not None if inv.due else None,
            "seller_name": inv.seller,
            "seller_vat_id": inv.vat_id,
            "seller_tax_number": inv.tax_no,
            "iban": inv.iban,
            "currency": inv.currency,
            "total_net": money(inv.net),
            "total_vat": money(inv.vat),
            "total_gross": money(inv.gross),
            "amount_due": money(inv.due_amount),
            "buyer_reference": inv.buyer_ref,
            "order_reference": inv.order_ref,
        },
        "filled_in": sorted(inv.filled),
    }


def main() -> None:
    global DPI, A4
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="/work/shared")
    ap.add_argument("--out", default="tests/data/independent/invoices")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--dev-share", type=float, default=0.3)
    ap.add_argument("--per-case-test", type=int, default=3)
    ap.add_argument("--per-case-dev", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0, help="render only the first N jobs (for trying out)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    root = os.path.join(args.shared, "data", "einvoices")
    by_case: dict[str, list[tuple[str, dict]]] = {}
    for f in sorted(glob.glob(os.path.join(root, "**", "*.truth.json"), recursive=True)):
        with open(f, encoding="utf-8") as fh:
            t = json.load(fh)
        if not t.get("BT-1_invoice_number") or not t.get("BT-2_issue_date"):
            continue
        if t.get("BT-112_total_with_vat_norm") is None:
            continue
        by_case.setdefault(t["case"], []).append((os.path.relpath(f, args.shared), t))
    cases = sorted(by_case)
    rng.shuffle(cases)
    # roughly dev_share of the samples to dev, split by case
    total = sum(min(len(by_case[c]), args.per_case_test) for c in cases)
    # two credit-note/correction cases go to dev first, so that every family occurs in dev
    credit = [c for c in cases if any(t["BT-3_type_code"] in ("381", "384", "389") for _r, t in by_case[c])]
    cases = credit[:2] + [c for c in cases if c not in credit[:2]]
    dev_cases: set[str] = set()
    acc = 0
    for c in cases:
        if acc >= total * args.dev_share * 0.95:
            break
        dev_cases.add(c)
        acc += min(len(by_case[c]), args.per_case_test)
    jobs: list[tuple[str, str, dict]] = []
    for c in sorted(by_case):
        split = "dev" if c in dev_cases else "test"
        samples = list(by_case[c])
        rng.shuffle(samples)
        # prefer samples with distinct truth values
        seen: set[str] = set()
        picked: list[tuple[str, dict]] = []
        for rel, t in samples:
            key = json.dumps({k: v for k, v in t.items() if k.startswith("BT-")}, sort_keys=True)
            if key not in seen:
                seen.add(key)
                picked.append((rel, t))
        for rel, t in samples:
            if (rel, t) not in picked:
                picked.append((rel, t))
        cap = args.per_case_dev if split == "dev" else args.per_case_test
        for rel, t in picked[:cap]:
            jobs.append((split, rel, t))
    rng.shuffle(jobs)
    print({s: sum(1 for j in jobs if j[0] == s) for s in ("dev", "test")}, len(dev_cases), "dev cases of", len(cases))
    if args.limit:
        jobs = jobs[: args.limit]
    counts: dict[str, int] = {}
    manifest = ["file\tsplit\tfamily\tlanguage\tpages\tsource_case\tsource_truth\tdpi\tskew_deg\tblur_px\tnoise\t"
                "speckle\tphotocopy\tformat\tbytes"]
    idx = {"dev": 0, "test": 0}
    for split in ("dev", "test"):
        os.makedirs(os.path.join(args.out, split), exist_ok=True)
        for f in glob.glob(os.path.join(args.out, split, "*")):
            os.remove(f)
    for split, rel, t in jobs:
        fam = choose_family(t, rng, counts)
        counts[fam] = counts.get(fam, 0) + 1
        lang = LANG[fam]
        n = max(1, min(int(t.get("n_line_items") or 1), 12))
        if fam == "zweiseitig_de":
            n = max(int(t.get("n_line_items") or 1), rng.randint(34, 40))
        inv = build(t, POOL_KEY[fam], lang, rng, n)
        info = scan_params(rng)
        DPI = info["dpi"]
        A4 = (round(210 / 25.4 * DPI), round(297 / 25.4 * DPI))
        pages, lang = FAMILIES[fam](inv, rng)
        imgs = degrade([p.img for p in pages], info, rng)
        idx[split] += 1
        name = f"{split}_{idx[split]:04d}"
        path = save(imgs, os.path.join(args.out, split, name), info, rng)
        rec = truth_record(inv, fam, lang, t, rel)
        rec["pages"] = len(pages)
        rec["scan"] = info
        with open(os.path.join(args.out, split, name + ".truth.json"), "w", encoding="utf-8") as fh:
            json.dump(rec, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        manifest.append("\t".join(str(x) for x in (
            f"{split}/{os.path.basename(path)}", split, fam, lang, len(pages), t["case"], rel, info["dpi"],
            info["skew_deg"], info["blur_px"], info["noise_sigma"], info["speckle"], info["photocopy"], info["format"],
            os.path.getsize(path))))
        print(split, name, fam, os.path.basename(path), os.path.getsize(path) // 1024, "KB", flush=True)
    with open(os.path.join(args.out, "manifest.tsv"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
