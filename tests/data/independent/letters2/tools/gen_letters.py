"""Render the letters2 evaluation set: scanned-looking letters to Stadt Musterstadt with a truth file each.

Deterministic for a given seed, Pillow and font files (Debian paths under /usr/share/fonts). Standard library + Pillow.

    python gen_letters.py --out .. [--seed 20261207] [--only holdout|kinds]

Inputs: texts_holdout.txt and texts_kinds.txt next to this file (the letter texts) and the town facts below, taken
from the data author's brief on the town (departments, postboxes, persons, document types), nothing else.
"""

from __future__ import annotations

import argparse
import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------------------------
# The town, as given to the data author
# ---------------------------------------------------------------------------------------------------------------

POSTBOX_DEPARTMENT = {
    "buergermeisterbuero": "buergermeisterbuero",
    "hauptamt": "hauptamt",
    "hauptamt-vergabe": "hauptamt",
    "personalamt": "personalamt",
    "kaemmerei-rechnungseingang": "kaemmerei",
    "kaemmerei": "kaemmerei",
    "stadtkasse": "stadtkasse",
    "steueramt": "steueramt",
    "rechtsamt": "rechtsamt",
    "umweltamt": "umweltamt",
    "ordnungsamt": "ordnungsamt",
    "ordnungsamt-gewerbe": "ordnungsamt",
    "buergerbuero": "buergerbuero",
    "standesamt": "standesamt",
    "schulamt": "schulamt",
    "sozialamt": "sozialamt",
    "jugendamt": "jugendamt",
    "stadtplanung": "stadtplanung",
    "bauaufsicht": "bauaufsicht",
    "tiefbau": "tiefbau",
}

# Document type -> the postboxes the town allows for it (a letter's truth must agree).
DOC_TYPE_POSTBOXES = {
    "invoice": {"kaemmerei-rechnungseingang"},
    "credit_note": {"kaemmerei-rechnungseingang"},
    "payment_reminder": {"stadtkasse"},
    "offer": {"hauptamt-vergabe", "tiefbau", "schulamt", "hauptamt", "umweltamt"},
    "order_confirmation": {"hauptamt-vergabe", "tiefbau", "schulamt", "hauptamt"},
    "delivery_note": {"hauptamt", "schulamt", "tiefbau", "hauptamt-vergabe"},
    "contract": {"rechtsamt", "hauptamt-vergabe", "tiefbau", "hauptamt", "kaemmerei"},
    "application_building_permit": {"bauaufsicht"},
    "application_housing_benefit": {"sozialamt"},
    "application_dog_tax": {"steueramt"},
    "application_trade_registration": {"ordnungsamt-gewerbe"},
    "application_daycare": {"jugendamt"},
    "objection": {"steueramt", "bauaufsicht", "ordnungsamt", "sozialamt", "jugendamt", "stadtkasse"},
    "complaint": {"ordnungsamt", "tiefbau", "umweltamt", "buergerbuero", "schulamt", "buergermeisterbuero"},
    "enquiry": {"buergerbuero", "standesamt", "stadtplanung", "umweltamt", "schulamt", "steueramt"},
    "authority_notice": {"ordnungsamt", "umweltamt", "kaemmerei", "personalamt", "steueramt", "sozialamt"},
    "job_application": {"personalamt"},
    "invitation": {"buergermeisterbuero", "umweltamt", "schulamt", "stadtplanung", "hauptamt"},
}


@dataclass(frozen=True)
class Person:
    pid: str
    male: bool
    title: str  # "Dr. ", "Dipl.-Ing. " or ""
    first: str
    last: str
    department: str

    @property
    def salutation(self) -> str:
        if self.pid == "buergermeister":
            return "Sehr geehrter Herr Bürgermeister,"
        dr = "Dr. " if self.title.startswith("Dr.") else ""
        return f"Sehr geehrter Herr {dr}{self.last}," if self.male else f"Sehr geehrte Frau {dr}{self.last},"


PERSONS = {
    p.pid: p
    for p in [
        Person("buergermeister", True, "", "Markus", "Hoffmann", "buergermeisterbuero"),
        Person("krueger", False, "", "Sabine", "Krüger", "buergermeisterbuero"),
        Person("wagner", True, "", "Jens", "Wagner", "hauptamt"),
        Person("lorenz", False, "", "Petra", "Lorenz", "hauptamt"),
        Person("becker", False, "", "Andrea", "Becker", "personalamt"),
        Person("yilmaz", True, "", "Murat", "Yılmaz", "personalamt"),
        Person("meier", True, "Dr. ", "Thomas", "Meier", "kaemmerei"),
        Person("schmitz", False, "", "Claudia", "Schmitz", "kaemmerei"),
        Person("neumann", True, "", "Frank", "Neumann", "stadtkasse"),
        Person("schulz", False, "", "Birgit", "Schulz", "stadtkasse"),
        Person("fischer", True, "", "Uwe", "Fischer", "steueramt"),
        Person("koch", False, "", "Monika", "Koch", "steueramt"),
        Person("richter", False, "Dr. ", "Eva", "Richter", "rechtsamt"),
        Person("braun", True, "", "Stefan", "Braun", "rechtsamt"),
        Person("hartmann", True, "", "Klaus", "Hartmann", "umweltamt"),
        Person("vogel", False, "", "Julia", "Vogel", "umweltamt"),
        Person("weber", True, "", "Michael", "Weber", "ordnungsamt"),
        Person("keller", False, "", "Nicole", "Keller", "ordnungsamt"),
        Person("schaefer", False, "", "Katrin", "Schäfer", "buergerbuero"),
        Person("kaya", False, "", "Elif", "Kaya", "buergerbuero"),
        Person("zimmermann", True, "", "Rainer", "Zimmermann", "standesamt"),
        Person("wolf", False, "", "Susanne", "Wolf", "schulamt"),
        Person("schroeder", True, "", "Dirk", "Schröder", "sozialamt"),
        Person("klein", False, "", "Martina", "Klein", "sozialamt"),
        Person("lange", False, "", "Anja", "Lange", "jugendamt"),
        Person("werner", True, "", "Tobias", "Werner", "jugendamt"),
        Person("krause", True, "Dipl.-Ing. ", "Bernd", "Krause", "stadtplanung"),
        Person("schwarz", False, "Dipl.-Ing. ", "Heike", "Schwarz", "bauaufsicht"),
        Person("peters", True, "", "Oliver", "Peters", "bauaufsicht"),
        Person("jung", True, "", "Sven", "Jung", "tiefbau"),
    ]
}

# Ways German town halls name the unit behind a postbox (written by the data author; KGSt-style numbers where usual).
UNIT_NAMES = {
    "buergermeisterbuero": ["Büro des Bürgermeisters", "Bürgermeisterbüro", "Stabsstelle Bürgermeister",
                            "Referat Repräsentation und Protokoll", "Büro des Bürgermeisters / Protokoll"],
    "hauptamt": ["Hauptamt", "Amt 10 – Hauptamt", "Fachbereich 1 – Zentrale Dienste",
                 "Zentrale Dienste und Organisation", "Hauptverwaltung"],
    "hauptamt-vergabe": ["Zentrale Vergabestelle", "Vergabestelle", "Hauptamt – Zentrale Vergabestelle",
                         "Submissionsstelle", "Sachgebiet 10.3 Vergabe und Beschaffung"],
    "personalamt": ["Personalamt", "Amt 11 – Personal", "Personalabteilung", "Fachdienst Personal", "Personalservice"],
    "kaemmerei-rechnungseingang": ["Rechnungseingang", "Kämmerei – Rechnungseingang", "Zentraler Rechnungseingang",
                                   "Amt 20 – Rechnungsbearbeitung", "Fachbereich Finanzen / Kreditorenbuchhaltung"],
    "kaemmerei": ["Kämmerei", "Amt 20 – Kämmerei", "Fachbereich 2 – Finanzen", "Finanzverwaltung",
                  "Abteilung Haushalt und Finanzen", "Stadtkämmerei"],
    "stadtkasse": ["Stadtkasse", "Amt 21 – Stadtkasse", "Kasse und Vollstreckung", "Sachgebiet Zahlungsverkehr",
                   "Städtische Kasse"],
    "steueramt": ["Steueramt", "Amt 22 – Steuern und Abgaben", "Steuerabteilung", "Fachdienst Steuern",
                  "Abgabenstelle"],
    "rechtsamt": ["Rechtsamt", "Amt 30 – Rechtsamt", "Justiziariat", "Stabsstelle Recht", "Rechtsabteilung"],
    "umweltamt": ["Umweltamt", "Fachdienst Umwelt und Klimaschutz", "Abteilung Natur- und Umweltschutz",
                  "Amt für Umwelt, Klima und Grün", "Umweltschutzamt"],
    "ordnungsamt": ["Ordnungsamt", "Amt 32 – Ordnungsamt", "Fachbereich Öffentliche Sicherheit und Ordnung",
                    "Sachgebiet Allgemeine Ordnungsangelegenheiten", "Ordnungsbehörde"],
    "ordnungsamt-gewerbe": ["Gewerbeamt", "Ordnungsamt – Gewerbeangelegenheiten", "Amt 32 – Gewerbeabteilung",
                            "Sachgebiet Gewerbe", "Gewerbemeldestelle", "Gewerbe- und Gaststättenbehörde"],
    "buergerbuero": ["Bürgerbüro", "Einwohnermeldeamt", "Amt 33 – Bürgerservice", "Bürgerservice / Meldebehörde",
                     "Bürgeramt"],
    "standesamt": ["Standesamt", "Amt 34 – Standesamt", "Personenstandswesen", "Standesamt – Urkundenstelle"],
    "schulamt": ["Schulamt", "Schulverwaltungsamt", "Amt 40 – Schule und Sport", "Fachbereich Bildung und Schulen",
                 "Schulverwaltung / Schulträgeraufgaben"],
    "sozialamt": ["Sozialamt", "Amt 50 – Soziales", "Fachdienst Soziales und Wohnen", "Abteilung Soziale Leistungen",
                  "Sozial- und Wohnungsamt"],
    "jugendamt": ["Jugendamt", "Amt 51 – Jugend und Familie", "Fachbereich Kinder, Jugend und Familie",
                  "Jugendhilfe", "Fachdienst Jugend"],
    "stadtplanung": ["Stadtplanungsamt", "Amt 61 – Stadtplanung", "Fachbereich Stadtentwicklung", "Planungsamt",
                     "Stadtplanung und Stadtentwicklung"],
    "bauaufsicht": ["Bauaufsichtsamt", "Untere Bauaufsichtsbehörde", "Amt 63 – Bauordnung", "Bauordnungsamt",
                    "Fachdienst Bauordnung und Denkmalschutz"],
    "tiefbau": ["Tiefbauamt", "Amt 66 – Tiefbau", "Fachbereich Tiefbau und Verkehr", "Abteilung Straßenbau",
                "Straßen- und Brückenbau"],
}

# Task-specific unit names, used when the letter's text mentions the task (keyword, postbox, unit name).
TASK_UNITS = [
    ("Hund", "steueramt", "Sachgebiet Hundesteuer"),
    ("Wohngeld", "sozialamt", "Wohngeldstelle"),
    ("Verwarn", "ordnungsamt", "Bußgeldstelle"),
    ("Betreuungsplatz", "jugendamt", "Fachdienst Kindertagesbetreuung"),
    ("Tagespflege", "jugendamt", "Kindertagespflege / Kita-Platzvergabe"),
    ("Schülerfahrkarte", "schulamt", "Abteilung Schülerbeförderung"),
    ("Winterdienst", "tiefbau", "Straßenunterhaltung / Winterdienst"),
    ("Bebauungsplan", "stadtplanung", "Abteilung Bauleitplanung"),
    ("Stadtarchiv", "hauptamt", "Stadtarchiv"),
    ("Ratssitzung", "hauptamt", "Ratsbüro / Sitzungsdienst"),
    ("Fundbüro", "buergerbuero", "Fundbüro"),
    ("Personalausweis", "buergerbuero", "Pass- und Ausweisstelle"),
    ("Vollstreckung", "stadtkasse", "Vollstreckungsstelle"),
    ("Baumschutzsatzung", "umweltamt", "Untere Naturschutzbehörde"),
    ("Ruhestörung", "ordnungsamt", "Kommunaler Ordnungsdienst"),
]

TOWN_NAMES = ["Stadtverwaltung Musterstadt", "Stadt Musterstadt", "Rathaus Musterstadt", "An die Stadt Musterstadt",
              "An die Stadtverwaltung Musterstadt", "Stadt Musterstadt – Der Bürgermeister –",
              "Magistrat der Stadt Musterstadt"]
TOWN_STREETS = [["Rathausplatz 1", "12345 Musterstadt"], ["Rathausplatz 1", "12345 Musterstadt"],
                ["Postfach 11 20", "12341 Musterstadt"], ["Rathausplatz 1", "D-12345 Musterstadt"]]

# ---------------------------------------------------------------------------------------------------------------
# Senders
# ---------------------------------------------------------------------------------------------------------------

FIRST_F = ["Anna", "Birgit", "Carina", "Doris", "Emine", "Franziska", "Gabriele", "Hanna", "Ines", "Jana", "Katharina",
           "Lea", "Maria", "Natalia", "Olga", "Paula", "Renate", "Sandra", "Tatjana", "Ursula", "Vanessa", "Yvonne",
           "Zeynep", "Agnieszka", "Lucia", "Mira", "Helga", "Svenja"]
FIRST_M = ["Achim", "Bernd", "Christian", "Daniel", "Emre", "Florian", "Georg", "Hakan", "Igor", "Jan", "Konstantin",
           "Lukas", "Mehmet", "Niklas", "Oskar", "Patrick", "Ralf", "Sebastian", "Thorsten", "Volker", "Wolfgang",
           "Piotr", "Duc", "Matthias", "Rüdiger", "Henrik"]
LAST = ["Albrecht", "Bauer", "Schneider", "Dietrich", "Engel", "Franke", "Günther", "Haas", "Ivanova", "Jansen",
        "Kowalski", "Lehmann", "Möller", "Nguyen", "Ostermann", "Popescu", "Quast", "Roth", "Sommer", "Thiele",
        "Ulrich", "Vogt", "Winkler", "Yıldız", "Ziegler", "Brinkmann", "Hübner", "Kaiser", "Pohl", "Seifert",
        "Walter", "Kühn", "Böhm", "Stein", "Marx", "Lindemann"]
STREETS = ["Lindenallee", "Bahnhofstraße", "Am Mühlbach", "Kirchgasse", "Schillerstraße", "Goethering", "Eichenweg",
           "Hauptstraße", "Birkenweg", "Rosenstraße", "Feldstraße", "Am Sportplatz", "Wiesenweg", "Brunnenstraße",
           "Am Anger", "Gartenstraße", "Ahornweg", "Talweg", "Mozartstraße", "Schulstraße", "Uhlandstraße"]
CITIES = ["12345 Musterstadt", "12345 Musterstadt", "12345 Musterstadt", "12347 Musterstadt-Eschenfeld",
          "12346 Musterstadt-Nordviertel"]
ORG_CITIES = ["12345 Musterstadt", "12350 Musterburg", "12361 Nachbarhausen", "30159 Hannover", "33602 Bielefeld",
              "37073 Göttingen", "34117 Kassel", "49074 Osnabrück", "32423 Minden", "31785 Hameln"]


@dataclass
class Sender:
    kind: str  # citizen, firm, lawyer, auth, assoc
    org: str | None
    name: str  # signing person
    role: str | None
    address: list[str]
    phone: str
    email: str
    extra: dict[str, str] = field(default_factory=dict)


def make_sender(spec: str, rng: random.Random, from_addr: list[str] | None, sex: str | None = None) -> Sender:
    kind, _, org = spec.partition(":")
    male = rng.random() < 0.5 if sex is None else sex == "m"
    first = rng.choice(FIRST_M if male else FIRST_F)
    last = rng.choice(LAST)
    name = f"{first} {last}"
    street = f"{rng.choice(STREETS)} {rng.randint(1, 88)}{rng.choice(['', '', '', 'a', 'b'])}"
    if kind == "citizen":
        addr = from_addr or [street, rng.choice(CITIES)]
        mail = f"{first[0].lower()}.{last.lower()}@{rng.choice(['web.de', 'gmx.de', 't-online.de', 'posteo.de'])}"
        mail = mail.translate(str.maketrans("äöüßı", "aoueı")).replace("ı", "i")
        phone = f"0{rng.randint(1500, 1799)} {rng.randint(1000000, 9999999)}"
        return Sender("citizen", None, name, None, addr, phone, mail)
    assert org, spec
    city = "12345 Musterstadt" if ("Musterstadt" in org or kind == "assoc") else rng.choice(ORG_CITIES)
    addr = from_addr or [street, city]
    roles = {
        "firm": ["Geschäftsführer" if male else "Geschäftsführerin", "Vertrieb", "Buchhaltung", "Projektleitung",
                 "Sachbearbeitung"],
        "lawyer": ["Rechtsanwalt" if male else "Rechtsanwältin"],
        "auth": ["Sachbearbeiter" if male else "Sachbearbeiterin", "Im Auftrag", "Abteilungsleitung"],
        "assoc": ["1. Vorsitzender" if male else "1. Vorsitzende", "Schriftführer" if male else "Schriftführerin",
                  "Sprecher" if male else "Sprecherin"],
    }[kind]
    slug = "".join(c for c in org.lower().split(" ")[0] if c.isalnum())[:14] or "info"
    slug = slug.translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    phone = f"0{rng.randint(511, 5999)} {rng.randint(10000, 99999)}-{rng.randint(0, 99)}"
    extra = {
        "iban": "DE{:02d} {:04d} {:04d} {:04d} {:04d} {:02d}".format(
            *(rng.randint(10, 99), *(rng.randint(1000, 9999) for _ in range(4)), rng.randint(10, 99))),
        "bank": rng.choice(["Sparkasse Musterstadt", "Volksbank Weserbergland eG", "Commerzbank AG",
                            "Deutsche Bank AG", "Postbank"]),
        "hrb": f"Amtsgericht Musterburg HRB {rng.randint(1000, 29999)}",
        "ust": f"DE{rng.randint(100000000, 999999999)}",
        "ref": f"{rng.choice('ABCDEFGHKLMPRS')}{rng.choice('ABCDEFGHKLMPRS')}-{rng.randint(100, 9999)}",
    }
    return Sender(kind, org, name, rng.choice(roles), addr, phone, f"info@{slug}.de", extra)


# ---------------------------------------------------------------------------------------------------------------
# Letter texts
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Spec:
    postbox: str
    doc_type: str | None
    sender: str
    occasion: str
    flags: dict[str, str]
    subject: str
    paragraphs: list[str]
    enclosure_title: str | None
    enclosure: list[str]


def parse_texts(path: Path) -> list[Spec]:
    specs: list[Spec] = []
    blocks = path.read_text(encoding="utf-8").split("\n=== ")
    for block in blocks[1:]:
        head, _, body = block.partition("\n")
        parts = [p.strip() for p in head.split("|")]
        postbox, doc_type, sender, occasion = parts[:4]
        flags: dict[str, str] = {}
        for tok in (parts[4] if len(parts) > 4 else "").split(" "):
            if tok:
                k, _, v = tok.partition("=")
                flags[k] = v
        main, _, encl = body.partition("\n--- ")
        lines = main.strip("\n").split("\n")
        subject = lines[0].strip()
        paragraphs = [" ".join(p.split("\n")).strip() for p in "\n".join(lines[1:]).split("\n\n") if p.strip()]
        enc_title = None
        enc_lines: list[str] = []
        if encl:
            enc_head, _, enc_body = encl.partition("\n")
            enc_title = enc_head.strip()
            enc_lines = [ln.strip() for ln in enc_body.strip().split("\n") if ln.strip()]
        dt = None if doc_type == "-" else doc_type
        assert postbox in POSTBOX_DEPARTMENT, postbox
        if dt is not None:
            assert postbox in DOC_TYPE_POSTBOXES[dt], (occasion, dt, postbox)
        specs.append(Spec(postbox, dt, sender, occasion, flags, subject, paragraphs, enc_title, enc_lines))
    return specs


# ---------------------------------------------------------------------------------------------------------------
# Fonts
# ---------------------------------------------------------------------------------------------------------------

TT = "/usr/share/fonts/truetype"
OT = "/usr/share/fonts/opentype"
FONT_FAMILIES = {
    "DejaVu Sans": (f"{TT}/dejavu/DejaVuSans.ttf", f"{TT}/dejavu/DejaVuSans-Bold.ttf"),
    "DejaVu Serif": (f"{TT}/dejavu/DejaVuSerif.ttf", f"{TT}/dejavu/DejaVuSerif-Bold.ttf"),
    "Liberation Sans": (f"{TT}/liberation/LiberationSans-Regular.ttf", f"{TT}/liberation/LiberationSans-Bold.ttf"),
    "Liberation Serif": (f"{TT}/liberation/LiberationSerif-Regular.ttf", f"{TT}/liberation/LiberationSerif-Bold.ttf"),
    "Liberation Mono": (f"{TT}/liberation/LiberationMono-Regular.ttf", f"{TT}/liberation/LiberationMono-Bold.ttf"),
    "Nimbus Sans": (f"{OT}/urw-base35/NimbusSans-Regular.otf", f"{OT}/urw-base35/NimbusSans-Bold.otf"),
    "Nimbus Roman": (f"{OT}/urw-base35/NimbusRoman-Regular.otf", f"{OT}/urw-base35/NimbusRoman-Bold.otf"),
    "P052": (f"{OT}/urw-base35/P052-Roman.otf", f"{OT}/urw-base35/P052-Bold.otf"),
    "URW Bookman": (f"{OT}/urw-base35/URWBookman-Light.otf", f"{OT}/urw-base35/URWBookman-Demi.otf"),
    "URW Gothic": (f"{OT}/urw-base35/URWGothic-Book.otf", f"{OT}/urw-base35/URWGothic-Demi.otf"),
    "C059": (f"{OT}/urw-base35/C059-Roman.otf", f"{OT}/urw-base35/C059-Bold.otf"),
    "Carlito": (f"{TT}/crosextra/Carlito-Regular.ttf", f"{TT}/crosextra/Carlito-Bold.ttf"),
    "Caladea": (f"{TT}/crosextra/Caladea-Regular.ttf", f"{TT}/crosextra/Caladea-Bold.ttf"),
    "FreeSans": (f"{TT}/freefont/FreeSans.ttf", f"{TT}/freefont/FreeSansBold.ttf"),
    "FreeSerif": (f"{TT}/freefont/FreeSerif.ttf", f"{TT}/freefont/FreeSerifBold.ttf"),
    "Courier Prime": (f"{OT}/courier-prime/Courier Prime.otf", f"{OT}/courier-prime/Courier Prime Bold.otf"),
    "Nimbus Mono": (f"{OT}/urw-base35/NimbusMonoPS-Regular.otf", f"{OT}/urw-base35/NimbusMonoPS-Bold.otf"),
    "GNU Typewriter": (f"{TT}/gnutypewriter/GNUTypewriter.ttf", f"{TT}/gnutypewriter/GNUTypewriter.ttf"),
    "Comic Neue": (f"{OT}/comic-neue/ComicNeue-Regular.otf", f"{OT}/comic-neue/ComicNeue-Bold.otf"),
}
CITIZEN_FONTS = ["DejaVu Sans", "Liberation Sans", "Liberation Serif", "Carlito", "Courier Prime", "GNU Typewriter",
                 "Comic Neue", "FreeSans", "Nimbus Roman", "Liberation Mono", "URW Gothic"]
ORG_FONTS = ["DejaVu Sans", "DejaVu Serif", "Liberation Sans", "Liberation Serif", "Nimbus Sans", "Nimbus Roman",
             "P052", "URW Bookman", "C059", "Carlito", "Caladea", "FreeSerif", "Nimbus Mono", "URW Gothic"]
SIGNATURE_FONT = f"{OT}/dancingscript/DancingScript-Regular.otf"

_font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font(path: str, px: int) -> ImageFont.FreeTypeFont:
    key = (path, px)
    if key not in _font_cache:
        # BASIC layout: no ligatures (URW fonts would turn "Nr." into a numero sign)
        _font_cache[key] = ImageFont.truetype(path, px, layout_engine=ImageFont.Layout.BASIC)
    return _font_cache[key]


# ---------------------------------------------------------------------------------------------------------------
# Page composition (DIN 5008 geometry in millimetres)
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Style:
    dpi: int
    family: str
    body_pt: float
    layout: str  # din5008-b, din5008-a, private, email


class Canvas:
    """Pages of ink masks (mode L, 0 = paper, 255 = ink) drawn in millimetre coordinates."""

    def __init__(self, style: Style) -> None:
        self.s = style
        self.w = round(210 / 25.4 * style.dpi)
        self.h = round(297 / 25.4 * style.dpi)
        self.pages: list[Image.Image] = []
        self.new_page()
        reg, bold = FONT_FAMILIES[style.family]
        self.reg_path, self.bold_path = reg, bold

    def new_page(self) -> None:
        self.pages.append(Image.new("L", (self.w, self.h), 0))
        self.draw = ImageDraw.Draw(self.pages[-1])

    def px(self, mm: float) -> int:
        return round(mm / 25.4 * self.s.dpi)

    def f(self, pt: float, bold: bool = False, path: str | None = None) -> ImageFont.FreeTypeFont:
        return font(path or (self.bold_path if bold else self.reg_path), round(pt / 72 * self.s.dpi))

    def text(self, x_mm: float, y_mm: float, s: str, pt: float, bold: bool = False, anchor: str = "ls",
             path: str | None = None, underline: bool = False) -> None:
        fnt = self.f(pt, bold, path)
        x, y = self.px(x_mm), self.px(y_mm)
        self.draw.text((x, y), s, fill=255, font=fnt, anchor=anchor)
        if underline:
            w = self.draw.textlength(s, font=fnt)
            self.draw.line([(x, y + self.px(0.6)), (x + w, y + self.px(0.6))], fill=255, width=max(1, self.px(0.15)))

    def line_mm(self, x0: float, y0: float, x1: float, y1: float, width_mm: float = 0.25) -> None:
        self.draw.line([(self.px(x0), self.px(y0)), (self.px(x1), self.px(y1))], fill=255,
                       width=max(1, self.px(width_mm)))

    def wrap(self, s: str, pt: float, width_mm: float, bold: bool = False) -> list[str]:
        fnt = self.f(pt, bold)
        limit = self.px(width_mm)
        out: list[str] = []
        cur = ""
        for word in s.split(" "):
            trial = f"{cur} {word}" if cur else word
            if cur and fnt.getlength(trial) > limit:
                out.append(cur)
                cur = word
            else:
                cur = trial
        if cur:
            out.append(cur)
        return out


@dataclass
class Letter:
    lid: str
    split: str
    spec: Spec
    addressing: str
    person: str | None
    address_lines: list[str]
    dept_as_written: str | None
    salutation: str
    sender: Sender
    date: str
    style: Style
    fmt: str
    degradations: list[str]
    params: dict[str, float]
    pages: int = 0


ENCLOSURE_MARKS = ["beigefügt", "liegt bei", "liegen bei", "lege ich bei", "füge ich bei", "fügen wir bei",
                   "lege ich diesem", "anbei", "beiliegend"]

MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November",
          "Dezember"]


def compose(letter: Letter) -> list[Image.Image]:
    s = letter.style
    c = Canvas(s)
    snd = letter.sender
    pt = s.body_pt
    lh = pt * 0.3528 * 1.38  # line height in mm
    left, right = 25.0, 190.0
    small = max(9.0, pt - 2)
    footer_top = 297 - 22.0
    org = snd.org is not None

    if s.layout == "email":
        y = 20.0
        c.text(left, y, "Ausdruck einer E-Mail", small, bold=True)
        y += lh * 1.6
        recipient = ", ".join(letter.address_lines[:-2]) if len(letter.address_lines) > 2 else letter.address_lines[0]
        mail_to = "post@musterstadt.de"
        header = [("Von:", f"{snd.org or snd.name} <{snd.email}>"),
                  ("Gesendet:", letter.date),
                  ("An:", f"{recipient} <{mail_to}>"),
                  ("Betreff:", letter.spec.subject)]
        for k, v in header:
            wrapped = c.wrap(v, small, right - left - 25)
            c.text(left, y, k, small, bold=True)
            for i, part in enumerate(wrapped):
                c.text(left + 25, y + i * lh, part, small)
            y += lh * len(wrapped)
        c.line_mm(left, y, right, y, 0.3)
        y += lh * 1.8
    else:
        # letterhead or private sender block
        if org:
            head_pt = pt + 5
            if s.layout == "din5008-a":
                c.text(right, 14, snd.org or "", head_pt, bold=True, anchor="rs")
                c.text(right, 14 + lh, " · ".join(snd.address), small, anchor="rs")
            else:
                c.text(left, 16, snd.org or "", head_pt, bold=True)
                c.text(left, 16 + lh * 1.1, " · ".join([*snd.address, f"Tel. {snd.phone}"]), small)
                c.line_mm(left, 16 + lh * 1.6, right, 16 + lh * 1.6, 0.35)
        else:
            lines = [snd.name, *snd.address, f"Tel. {snd.phone}", snd.email]
            for i, ln in enumerate(lines):
                c.text(left, 15 + i * lh, ln, pt, bold=(i == 0))
        # address field (form A: 27 mm, form B: 45 mm from the top)
        top = 27.0 if s.layout == "din5008-a" else 45.0
        ret = f"{snd.org or snd.name}, {', '.join(snd.address)}"
        ret_pt = small - 0.5 if small > 9.5 else small
        while c.f(ret_pt).getlength(ret) > c.px(85) and ret_pt > 7.5:
            ret_pt -= 0.25  # the return line stays inside the 85 mm address field
        c.text(left, top + 6, ret, ret_pt, underline=True)
        y = top + 6 + lh * 1.5
        for ln in letter.address_lines:
            c.text(left, y, ln, pt)
            y += lh
        # info block / date
        if org:
            ix = 125.0
            iy = top + 12
            info = [("Ihr Zeichen:", "–"), ("Unser Zeichen:", snd.extra.get("ref", "")),
                    ("Ansprechpartner:", snd.name), ("Telefon:", snd.phone), ("Datum:", letter.date)]
            for k, v in info:
                c.text(ix, iy, k, small)
                c.text(ix + 32, iy, v, small)
                iy += lh * 0.95
            y = max(y, iy) + lh * 2.2
        else:
            city = snd.address[-1].split(" ", 1)[-1] if snd.address[-1][:1].isdigit() else "Musterstadt"
            y = max(y, top + 50) + lh
            c.text(right, y, f"{city}, {letter.date}", pt, anchor="rs")
            y += lh * 2.2
        for i, part in enumerate(c.wrap(letter.spec.subject, pt, right - left, bold=True)):
            c.text(left, y + i * lh, part, pt, bold=True)
            y += 0
        y += lh * len(c.wrap(letter.spec.subject, pt, right - left, bold=True)) + lh
    # salutation and body
    bottom = footer_top - 6 if org else 297 - 20.0
    page_no = [1]

    def need(y: float, mm: float) -> float:
        if y + mm > bottom:
            c.new_page()
            page_no[0] += 1
            c.text(right, 15, f"Seite {page_no[0]}", small, anchor="rs")
            c.text(left, 15, letter.spec.subject[:60] + ("…" if len(letter.spec.subject) > 60 else ""), small)
            return 28.0
        return y

    c.text(left, y, letter.salutation, pt)
    y += lh * 1.6
    for para in letter.spec.paragraphs:
        lines = c.wrap(para, pt, right - left)
        for ln in lines:
            y = need(y, lh)
            c.text(left, y, ln, pt)
            y += lh
        y += lh * 0.7
    y = need(y, lh * 6)
    y += lh * 0.4
    c.text(left, y, "Mit freundlichen Grüßen", pt)
    y += lh * 1.2
    if snd.kind == "auth":
        c.text(left, y, "Im Auftrag", pt)
        y += lh
    sig_pt = pt + 9
    c.text(left + 4, y + lh * 1.2, snd.name.split(" ")[-1] if org else snd.name, sig_pt, path=SIGNATURE_FONT)
    y += lh * 2.3
    c.text(left, y, snd.name, pt)
    if snd.role and org:
        y += lh
        c.text(left, y, snd.role, pt)
    body = " ".join(letter.spec.paragraphs)
    if letter.spec.enclosure_title or any(m in body for m in ENCLOSURE_MARKS):
        y = need(y + lh * 1.8, lh * 2)
        c.text(left, y, "Anlage(n)", pt, bold=True)
    # footer on the first page for organisations
    if org and snd.kind != "assoc":
        first = c.pages[0]
        d = ImageDraw.Draw(first)
        fy = c.px(footer_top)
        d.line([(c.px(left), fy), (c.px(right), fy)], fill=255, width=max(1, c.px(0.2)))
        fnt = c.f(9.0)
        cols = [[snd.org or "", *snd.address], [snd.extra["bank"], f"IBAN {snd.extra['iban']}"]]
        if snd.kind == "firm":
            court, _, hrb = snd.extra["hrb"].partition(" HRB ")
            cols.append([court, f"HRB {hrb}", f"USt-IdNr. {snd.extra['ust']}"])
        else:
            cols.append([f"Telefon {snd.phone}", snd.email])
        colw = (right - left) / len(cols)
        for ci, col in enumerate(cols):
            flat: list[str] = []
            for txt in col:
                words = txt.split(" ")
                cur = ""
                for wd in words:
                    trial = f"{cur} {wd}" if cur else wd
                    if cur and fnt.getlength(trial) > c.px(colw - 2):
                        flat.append(cur)
                        cur = wd
                    else:
                        cur = trial
                flat.append(cur)
            for ri, txt in enumerate(flat[:4]):
                d.text((c.px(left + ci * colw), fy + c.px(4 + ri * 3.8)), txt, fill=255, font=fnt, anchor="ls")
    # enclosure page
    if letter.spec.enclosure_title:
        c.new_page()
        page_no[0] += 1
        c.text(right, 15, f"Seite {page_no[0]}", small, anchor="rs")
        y = 30.0
        c.text(left, y, letter.spec.enclosure_title, pt + 1, bold=True)
        y += lh * 2
        for item in letter.spec.enclosure:
            for ln in c.wrap(item, pt, right - left):
                c.text(left, y, ln, pt)
                y += lh
            y += lh * 0.6
    if len(c.pages) > 1:
        n = len(c.pages)
        for i, pg in enumerate(c.pages):
            d = ImageDraw.Draw(pg)
            d.text((c.px(105), c.px(290)), f"Seite {i + 1} von {n}", fill=255, font=c.f(9.0), anchor="ms")
    return c.pages


# ---------------------------------------------------------------------------------------------------------------
# Scan simulation
# ---------------------------------------------------------------------------------------------------------------


def noise_image(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def scan(mask: Image.Image, letter: Letter, rng: random.Random) -> Image.Image:
    """Turn an ink mask into a scanned page (mode L) according to the letter's degradations."""
    deg = set(letter.degradations)
    p = letter.params
    w, h = mask.size
    dpi_scale = letter.style.dpi / 300
    paper_level = int(p.get("paper", 255))
    ink_level = int(p.get("ink", 12))
    if "grey_paper" in deg:
        tex = noise_image(rng, (max(2, w // 150), max(2, h // 150))).resize((w, h), Image.Resampling.BICUBIC)
        tex = tex.filter(ImageFilter.GaussianBlur(w / 300))
        tex = tex.point(lambda v: max(0, min(255, paper_level + (v - 128) // 18)))
        paper = tex
    else:
        paper = Image.new("L", (w, h), paper_level)
    ink = Image.new("L", (w, h), ink_level)
    img = Image.composite(ink, paper, mask)
    if "photocopy" in deg:
        img = img.point(lambda v: 0 if v < 150 else min(255, int(v * 1.05)))
        img = img.filter(ImageFilter.MinFilter(3 if letter.style.dpi >= 240 else 1)) if letter.style.dpi >= 240 else img
        band = Image.new("L", (w, h), 0)
        bd = ImageDraw.Draw(band)
        edge = max(4, int(w * 0.012))
        for i in range(edge):
            shade = int(150 * (1 - i / edge))
            bd.line([(i, 0), (i, h)], fill=shade)
            bd.line([(w - 1 - i, 0), (w - 1 - i, h)], fill=shade)
        img = ImageChops.subtract(img, band)
        sw, sh = w // 4, h // 4
        specks = noise_image(rng, (sw, sh)).point(lambda v: 255 if v == 255 else 0)
        thin = noise_image(rng, (sw, sh)).point(lambda v: 255 if v < 96 else 0)
        specks = ImageChops.multiply(specks, thin).resize((w, h), Image.Resampling.NEAREST)
        img = ImageChops.subtract(img, specks)
    if "blur" in deg:
        img = img.filter(ImageFilter.GaussianBlur(p.get("blur", 1.0) * dpi_scale))
    if "noise" in deg and letter.fmt in ("png1", "tiffg4"):
        # black-and-white scans: dust specks and dropouts (grey noise would vanish in the binarisation)
        dots = ImageChops.multiply(noise_image(rng, (w, h)).point(lambda v: 255 if v == 255 else 0),
                                   noise_image(rng, (w, h)).point(lambda v: 255 if v < 110 else 0))
        holes = ImageChops.multiply(noise_image(rng, (w, h)).point(lambda v: 255 if v == 0 else 0),
                                    noise_image(rng, (w, h)).point(lambda v: 255 if v < 160 else 0))
        img = ImageChops.add(ImageChops.subtract(img, dots), holes)
    elif "noise" in deg:
        sigma = p.get("noise", 18)
        n = noise_image(rng, (w, h)).point(lambda v: 128 + round(sigma * (v - 127.5) / 127.5))
        img = ImageChops.add(img, n, 1.0, -128)
    if "skew" in deg:
        img = img.rotate(p.get("skew", 1.0), resample=Image.Resampling.BICUBIC, fillcolor=paper_level)
    if "jpeg" in deg:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(p.get("jpeg_q", 25)))
        buf.seek(0)
        img = Image.open(buf).convert("L")
    return img


def binarize(img: Image.Image, letter: Letter) -> Image.Image:
    p = letter.params
    paper, ink = p.get("paper", 255), p.get("ink", 12)
    frac = 0.35 if "faint_ink" in letter.degradations else 0.5
    thr = int(ink + (paper - ink) * frac) if "faint_ink" in letter.degradations else int((paper + ink) / 2)
    thr = max(40, min(215, thr))
    return img.point(lambda v: 255 if v > thr else 0, mode="1")


def save(pages: list[Image.Image], letter: Letter, path: Path) -> None:
    dpi = (letter.style.dpi, letter.style.dpi)
    if letter.fmt == "png1":
        binarize(pages[0], letter).save(path, optimize=True, dpi=dpi)
    elif letter.fmt == "pngL":
        pages[0].save(path, optimize=True, dpi=dpi)
    elif letter.fmt == "tiffg4":
        bw = [binarize(pg, letter) for pg in pages]
        bw[0].save(path, compression="group4", save_all=True, append_images=bw[1:], dpi=dpi)
    elif letter.fmt == "pdfjpeg":
        q = int(letter.params.get("pdf_q", 65))
        pages[0].save(path, "PDF", save_all=True, append_images=pages[1:], resolution=float(letter.style.dpi),
                      quality=q)
    else:
        raise ValueError(letter.fmt)


EXT = {"png1": "png", "pngL": "png", "tiffg4": "tif", "pdfjpeg": "pdf"}

# ---------------------------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------------------------


def person_lines(p: Person, rng: random.Random) -> list[str]:
    herr = "Herrn" if p.male else "Frau"
    if p.pid == "buergermeister":
        return rng.choice([["Herrn Bürgermeister", "Markus Hoffmann"], ["Herrn Bürgermeister Markus Hoffmann"],
                           ["Herrn Bürgermeister Hoffmann"], ["z. Hd. Herrn Bürgermeister Hoffmann"]])
    full = f"{herr} {p.title}{p.first} {p.last}"
    return rng.choice([[full], [full], [f"z. Hd. {herr} {p.title}{p.last}"], [f"z. Hd. {full}"],
                       [herr, f"{p.title}{p.first} {p.last}"]])


def plan_address(spec: Spec, addressing: str, person: str | None, rng: random.Random,
                 unit_override: str | None) -> tuple[list[str], str | None]:
    street = rng.choice(TOWN_STREETS)
    vermerk = []
    if rng.random() < 0.12:
        vermerk = [rng.choice(["Einschreiben", "Vorab per Fax", "Persönlich/Vertraulich" if person else "Eilt!"])]
    if addressing == "town":
        town = rng.choice(TOWN_NAMES)
        return [*vermerk, town, *street], None
    if addressing == "unit":
        if unit_override:
            unit = unit_override
        else:
            choices = list(UNIT_NAMES[spec.postbox])
            text = " ".join([spec.subject, *spec.paragraphs])
            specific = [u for kw, pb, u in TASK_UNITS if pb == spec.postbox and kw in text]
            unit = specific[0] if specific and rng.random() < 0.6 else rng.choice(choices)
        town = rng.choice(["Stadt Musterstadt", "Stadtverwaltung Musterstadt", "Stadt Musterstadt"])
        if rng.random() < 0.2:
            return [*vermerk, f"{town} – {unit}", *street], unit
        if rng.random() < 0.15:
            return [*vermerk, unit, town, *street], unit
        return [*vermerk, town, unit, *street], unit
    assert person is not None
    p = PERSONS[person]
    town = rng.choice(["Stadt Musterstadt", "Stadtverwaltung Musterstadt"])
    unit = None
    if rng.random() < 0.3 and p.pid != "buergermeister":
        unit = rng.choice(UNIT_NAMES[spec.postbox if POSTBOX_DEPARTMENT[spec.postbox] == p.department
                                     else next(pb for pb, d in POSTBOX_DEPARTMENT.items() if d == p.department)])
    pl = person_lines(p, rng)
    if rng.random() < 0.2:
        return [*vermerk, *pl, town, *([unit] if unit else []), *street], unit
    return [*vermerk, town, *([unit] if unit else []), *pl, *street], unit


DEGRADATIONS = ["skew", "blur", "noise", "jpeg", "photocopy", "grey_paper", "faint_ink"]


def plan_style(rng: random.Random, spec: Spec, sender: Sender, two_pages: bool,
               idx: int) -> tuple[Style, str, list[str], dict[str, float]]:
    dpi = rng.choice([200, 200, 240, 300, 300])
    fmts = ["png1", "png1", "png1", "tiffg4", "tiffg4", "pngL", "pdfjpeg", "pdfjpeg"]
    fmt = rng.choice(fmts)
    if two_pages and fmt.startswith("png"):
        fmt = rng.choice(["tiffg4", "pdfjpeg"])
    if fmt == "pngL":
        dpi = 200
    if fmt == "pdfjpeg":
        dpi = rng.choice([200, 200, 240])
    if sender.kind == "citizen":
        family = rng.choice(CITIZEN_FONTS)
        layout = rng.choice(["private", "private", "private", "email", "din5008-b"])
    else:
        family = rng.choice(ORG_FONTS)
        layout = rng.choice(["din5008-b", "din5008-b", "din5008-a"])
    mono = family in ("Courier Prime", "Liberation Mono", "Nimbus Mono", "GNU Typewriter")
    body_pt = rng.choice([10.5, 11.0, 11.0, 11.5, 12.0]) - (0.5 if mono else 0)
    body_pt = max(10.0, body_pt)
    degr: list[str] = []
    params: dict[str, float] = {}
    if idx % 4 != 0:  # three quarters degraded
        k = rng.choice([1, 2, 2, 3])
        pool = list(DEGRADATIONS)
        if fmt in ("png1", "tiffg4"):
            pool = [d for d in pool if d != "grey_paper"] + ["skew", "photocopy", "blur"]
        if fmt in ("pngL", "pdfjpeg"):
            pool = [d for d in pool if d not in ("noise", "photocopy")] + ["grey_paper", "faint_ink", "skew"]
        while len(degr) < k:
            d = rng.choice(pool)
            if d not in degr:
                degr.append(d)
        if "photocopy" in degr and "faint_ink" in degr:
            degr.remove("faint_ink")
    if "skew" in degr:
        params["skew"] = round(rng.choice([-1, 1]) * rng.uniform(0.4, 2.2), 2)
    if "blur" in degr:
        params["blur"] = round(rng.uniform(0.7, 1.5), 2)
    if "noise" in degr:
        params["noise"] = round(rng.uniform(14, 30) if fmt in ("png1", "tiffg4") else rng.uniform(8, 16), 1)
    if "jpeg" in degr:
        params["jpeg_q"] = rng.randint(14, 30)
    if "grey_paper" in degr:
        params["paper"] = rng.randint(196, 228)
    if "faint_ink" in degr:
        params["ink"] = rng.randint(95, 135)
    params["pdf_q"] = rng.randint(60, 72)
    return Style(dpi, family, body_pt, layout), fmt, degr, params


def fmt_date(rng: random.Random) -> str:
    day = rng.randint(1, 4)
    return rng.choice([f"{day:02d}.12.2026", f"{day}. Dezember 2026", f"{day:02d}.12.26", f"2026-12-{day:02d}"])


def build(split: str, specs: list[Spec], seed: int) -> list[Letter]:
    rng = random.Random(f"{seed}-{split}")
    n = len(specs)
    # addressing: person/unit/town forced by flags, the rest to reach ~45 % unit in the holdout split
    modes: list[str | None] = []
    for sp in specs:
        if split == "kinds" or "town" in sp.flags:
            modes.append("town")
        elif "person" in sp.flags:
            modes.append("person")
        elif "unit" in sp.flags:
            modes.append("unit")
        else:
            modes.append(None)
    free = [i for i, m in enumerate(modes) if m is None]
    rng.shuffle(free)
    want_unit = round(n * 0.45) - sum(1 for m in modes if m == "unit")
    for j, i in enumerate(free):
        modes[i] = "unit" if j < want_unit else "town"
    order = list(range(n))
    rng.shuffle(order)
    letters: list[Letter] = []
    prefix = "H" if split == "holdout" else "K"
    for num, i in enumerate(order, start=1):
        sp = specs[i]
        lrng = random.Random(f"{seed}-{split}-{sp.occasion}")
        mode = modes[i]
        assert mode is not None
        person = sp.flags.get("person") if mode == "person" else None
        addr, as_written = plan_address(sp, mode, person, lrng, sp.flags.get("unit"))
        from_addr = sp.flags["from"].split(";") if "from" in sp.flags else None
        sender = make_sender(sp.sender, lrng, from_addr, sp.flags.get("sex"))
        salutation = PERSONS[person].salutation if person else lrng.choice(
            ["Sehr geehrte Damen und Herren,"] * 6 + ["Guten Tag,", "Sehr geehrte Damen und Herren!"])
        if sender.kind == "citizen" and not person and lrng.random() < 0.1:
            salutation = "Hallo,"
        style, fmt, degr, params = plan_style(lrng, sp, sender, sp.enclosure_title is not None, num)
        letters.append(Letter(f"L2-{prefix}{num:03d}", split, sp, mode, person, addr, as_written, salutation,
                              sender, fmt_date(lrng), style, fmt, degr, params))
    return letters


def truth(letter: Letter) -> dict[str, object]:
    sp = letter.spec
    t: dict[str, object] = {
        "postbox": sp.postbox,
        "department": POSTBOX_DEPARTMENT[sp.postbox],
        "addressing": "department" if letter.addressing == "unit" else letter.addressing,
        "person": letter.person,
        "document_type": sp.doc_type,
        "department_name_as_written": letter.dept_as_written,
        "occasion": sp.occasion,
    }
    if "kind" in sp.flags:
        t["kind"] = sp.flags["kind"]
    return t


MANIFEST_COLS = ["file", "split", "postbox", "department", "addressing", "person", "document_type", "kind", "pages",
                 "dpi", "format", "degradations", "layout", "occasion"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE.parent, help="folder that gets holdout/, kinds/, manifest.tsv")
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--only", choices=["holdout", "kinds"], help="render one split (manifest keeps rows of both)")
    ap.add_argument("--limit", type=int, default=0, help="render only the first N letters of each split (preview)")
    args = ap.parse_args()
    rows: list[list[str]] = []
    for split, fname in (("holdout", "texts_holdout.txt"), ("kinds", "texts_kinds.txt")):
        letters = build(split, parse_texts(HERE / fname), args.seed)
        outdir = args.out / split
        outdir.mkdir(parents=True, exist_ok=True)
        for k, letter in enumerate(letters):
            name = f"{letter.lid}.{EXT[letter.fmt]}"
            render = (args.only in (None, split)) and (not args.limit or k < args.limit)
            if render:
                srng = random.Random(f"{args.seed}-scan-{letter.lid}")
                pages = [scan(m, letter, srng) for m in compose(letter)]
                letter.pages = len(pages)
                save(pages, letter, outdir / name)
                (outdir / f"{letter.lid}.truth.json").write_text(
                    json.dumps(truth(letter), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            else:
                letter.pages = len(compose(letter))
            t = truth(letter)
            rows.append([f"{split}/{name}", split, letter.spec.postbox, str(t["department"]), str(t["addressing"]),
                         letter.person or "", letter.spec.doc_type or "", letter.spec.flags.get("kind", ""),
                         str(letter.pages), str(letter.style.dpi), letter.fmt, ",".join(letter.degradations) or "none",
                         f"{letter.style.layout}/{letter.style.family}/{letter.style.body_pt}pt", letter.spec.occasion])
    with (args.out / "manifest.tsv").open("w", encoding="utf-8") as fh:
        fh.write("\t".join(MANIFEST_COLS) + "\n")
        for r in rows:
            fh.write("\t".join(x.replace("\t", " ") for x in r) + "\n")


if __name__ == "__main__":
    main()
