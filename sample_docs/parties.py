"""Senders of synthetic mail: citizens, companies of several industries, and other authorities.

Every identifier printed on a letter is valid: IBANs carry correct check digits, company VAT ids
(USt-IdNr.) the German MOD 11,10 check digit. Names, streets and towns are fictitious but plausible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from sample_docs.checksums import make_german_iban, make_german_vat_id

FIRST_NAMES_F = [
    "Anna",
    "Maria",
    "Sabine",
    "Petra",
    "Julia",
    "Katharina",
    "Sandra",
    "Nicole",
    "Stefanie",
    "Laura",
    "Lea",
    "Sophie",
    "Ingrid",
    "Renate",
    "Ursula",
    "Gisela",
    "Helga",
    "Christina",
    "Melanie",
    "Jana",
    "Ayşe",
    "Fatma",
    "Olga",
    "Agnieszka",
    "Elena",
    "Birgit",
    "Daniela",
    "Kerstin",
    "Franziska",
    "Hannah",
]
FIRST_NAMES_M = [
    "Thomas",
    "Michael",
    "Andreas",
    "Stefan",
    "Christian",
    "Jürgen",
    "Klaus",
    "Peter",
    "Wolfgang",
    "Markus",
    "Jan",
    "Lukas",
    "Felix",
    "Tim",
    "Sebastian",
    "Hans-Peter",
    "Karl-Heinz",
    "Günter",
    "Dieter",
    "Mehmet",
    "Ali",
    "Piotr",
    "Sergej",
    "Matthias",
    "Florian",
    "Tobias",
    "Alexander",
    "Daniel",
    "Uwe",
    "Rüdiger",
]
LAST_NAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Öztürk",
    "Yıldız",
    "Nowak",
    "Kowalski",
    "Popescu",
    "Dąbrowski",
    "Ivanović",
    "Al-Hassan",
]
STREETS = [
    "Hauptstraße",
    "Bahnhofstraße",
    "Lindenstraße",
    "Gartenweg",
    "Schillerstraße",
    "Goethestraße",
    "Am Mühlbach",
    "Kirchgasse",
    "Rosenweg",
    "Bergstraße",
    "Birkenallee",
    "Friedhofstraße",
    "Am Sportplatz",
    "Industriestraße",
    "Gewerbepark",
    "Ringstraße",
    "Schulstraße",
    "Waldweg",
    "Marktplatz",
    "Eichendorffweg",
    "Kastanienallee",
    "Im Winkel",
    "Brunnenstraße",
    "Mozartstraße",
    "Feldstraße",
    "Dorfstraße",
    "Heinrich-Heine-Straße",
    "Am Rathaus",
    "Wiesengrund",
    "Talstraße",
]
# (postcode, town); the first entries are Musterstadt itself, which most citizens write from
PLACES = [
    ("12345", "Musterstadt"),
    ("12345", "Musterstadt"),
    ("12347", "Musterstadt-Nord"),
    ("12349", "Musterstadt-Altdorf"),
    ("12350", "Beispielheim"),
    ("12355", "Neudorf am See"),
    ("12360", "Probstadt"),
    ("12361", "Kleinmusterhausen"),
    ("20095", "Hamburg"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"),
    ("80331", "München"),
    ("10115", "Berlin"),
    ("04109", "Leipzig"),
    ("44135", "Dortmund"),
    ("90402", "Nürnberg"),
    ("30159", "Hannover"),
    ("28195", "Bremen"),
    ("01067", "Dresden"),
    ("55116", "Mainz"),
    ("66111", "Saarbrücken"),
]
# (bank name, BIC, Bankleitzahl); fictitious Bankleitzahlen
BANKS = [
    ("Sparkasse Musterstadt", "WELADED1MST", "12350000"),
    ("Volksbank Musterland eG", "GENODEF1MVB", "12361234"),
    ("Commerzbank", "COBADEFFXXX", "12340000"),
    ("Deutsche Bank", "DEUTDEDBMST", "12370024"),
    ("Postbank", "PBNKDEFFXXX", "10010010"),
    ("GLS Bank", "GENODEM1GLS", "43060967"),
    ("Kreissparkasse Beispielheim", "BYLADEM1KSB", "12450050"),
    ("Raiffeisenbank Neudorf eG", "GENODEF1NDR", "12369410"),
]
LEGAL_FORMS = ["GmbH", "GmbH & Co. KG", "e.K.", "AG", "KG", "OHG", "UG (haftungsbeschränkt)"]


@dataclass(frozen=True)
class CatalogItem:
    """A product or service a company invoices: description, unit, price range in EUR, VAT rate in %."""

    description: str
    unit: str
    low: int
    high: int
    vat_rate: int = 19
    fractional: bool = False  # quantities like 2,5 (hours, m³)


@dataclass(frozen=True)
class Industry:
    id: str
    tagline: str
    name_patterns: tuple[str, ...]
    catalog: tuple[CatalogItem, ...]
    colour: tuple[float, float, float]


def _items(*rows: tuple) -> tuple[CatalogItem, ...]:
    return tuple(CatalogItem(*row) for row in rows)


INDUSTRIES = [
    Industry(
        "buerobedarf",
        "Bürobedarf · Büromöbel · Drucker-Service",
        ("{last} Bürobedarf", "Büro-Center {last}", "Papier & Co. {last}", "Office Partner {last}"),
        _items(
            ("Kopierpapier A4, 80 g/m², 500 Blatt", "Pack", 3, 6),
            ("Ordner A4, 8 cm, blau", "Stück", 2, 4),
            ("Toner schwarz für Laserdrucker", "Stück", 45, 120),
            ("Kugelschreiber, Druckmechanik", "Karton", 8, 25),
            ("Bürostuhl ergonomisch mit Armlehnen", "Stück", 180, 420),
            ("Haftnotizen 76 x 76 mm", "Pack", 4, 9),
            ("Briefumschläge DIN lang, mit Fenster", "Karton", 18, 35),
            ("Schreibtischleuchte LED", "Stück", 29, 79),
            ("Hängeregistratur, 25 Stück", "Pack", 12, 22),
            ("Laminierfolien A4, 100 Stück", "Pack", 9, 19),
        ),
        (0.1, 0.3, 0.6),
    ),
    Industry(
        "bau",
        "Hochbau · Tiefbau · Sanierung",
        ("{last} Bau", "Bauunternehmung {last}", "{last} & {last2} Bau", "Tiefbau {last}"),
        _items(
            ("Asphaltdeckschicht einbauen, AC 11 D N", "m²", 18, 45, 19, True),
            ("Baustelleneinrichtung und Verkehrssicherung", "psch", 800, 2500),
            ("Bordsteine setzen, Beton, 15/30 cm", "m", 28, 55, 19, True),
            ("Facharbeiterstunden", "Std.", 52, 68, 19, True),
            ("Bagger 14 t inkl. Fahrer", "Std.", 85, 120, 19, True),
            ("Entsorgung Bauschutt, Container 7 m³", "Stück", 280, 450),
            ("Pflasterarbeiten Gehweg", "m²", 42, 80, 19, True),
            ("Schachtabdeckung erneuern", "Stück", 350, 780),
        ),
        (0.8, 0.4, 0.0),
    ),
    Industry(
        "it",
        "IT-Systemhaus · Netzwerke · Support",
        ("{last} IT-Systeme", "IT-Service {last}", "Datentechnik {last}", "{last} Digital Solutions"),
        _items(
            ('Notebook 14", 16 GB RAM, 512 GB SSD', "Stück", 780, 1350),
            ('Monitor 27" WQHD', "Stück", 210, 380),
            ("Lizenz Virenschutz, 12 Monate", "Lizenz", 25, 45),
            ("Technikerstunde vor Ort", "Std.", 85, 125, 19, True),
            ("Switch 24 Port, managed", "Stück", 260, 690),
            ("Wartungsvertrag Server, Quartal", "psch", 450, 1200),
            ("Dockingstation USB-C", "Stück", 120, 230),
            ("Einrichtung Benutzerkonten", "Std.", 75, 95, 19, True),
        ),
        (0.0, 0.45, 0.45),
    ),
    Industry(
        "energie",
        "Strom · Gas · Wärme",
        ("Stadtwerke {city}", "{last} Energie", "Energieversorgung {last}", "EnergiePlus {last}"),
        _items(
            ("Arbeitspreis Strom", "kWh", 0, 1, 19, True),
            ("Grundpreis Strom, Abrechnungsmonat", "Monat", 9, 18),
            ("Arbeitspreis Erdgas", "kWh", 0, 1, 19, True),
            ("Messstellenbetrieb", "Monat", 2, 9),
            ("Fernwärme Leistungspreis", "kW", 20, 45, 19, True),
        ),
        (0.9, 0.7, 0.0),
    ),
    Industry(
        "reinigung",
        "Gebäudereinigung · Glasreinigung · Hausmeisterdienste",
        ("{last} Gebäudeservice", "Glanz & Co. {last}", "Reinigungsdienst {last}", "CleanTeam {last}"),
        _items(
            ("Unterhaltsreinigung Rathaus, Monat", "Monat", 2800, 5200),
            ("Glasreinigung Fensterflächen", "m²", 2, 4, 19, True),
            ("Grundreinigung Turnhalle", "psch", 650, 1400),
            ("Sonderreinigung nach Veranstaltung", "Std.", 29, 38, 19, True),
            ("Hygieneartikel Nachfüllung", "psch", 120, 340),
            ("Winterdienst Gehwege, Einsatz", "Einsatz", 85, 190),
        ),
        (0.2, 0.6, 0.2),
    ),
    Industry(
        "druckerei",
        "Druck · Werbetechnik · Medien",
        ("Druckerei {last}", "{last} Druck & Medien", "Offsetdruck {last}"),
        _items(
            ("Broschüre A5, 16 Seiten, 4/4-farbig", "Stück", 1, 3, 19, True),
            ("Plakat A1", "Stück", 4, 12),
            ("Visitenkarten, 250 Stück", "Pack", 25, 45),
            ("Amtsblatt, Auflage 8.000", "Ausgabe", 900, 1800),
            ("Satz und Gestaltung", "Std.", 55, 80, 19, True),
            ("Fachbuch Kommunalrecht", "Stück", 29, 89, 7),
        ),
        (0.6, 0.0, 0.3),
    ),
    Industry(
        "garten",
        "Garten- und Landschaftsbau · Baumpflege",
        ("{last} Garten- und Landschaftsbau", "Grün-Service {last}", "Baumpflege {last}"),
        _items(
            ("Baumschnitt mit Hubsteiger", "Std.", 95, 140, 19, True),
            ("Rasenmahd Grünanlage", "m²", 0, 1, 19, True),
            ("Pflanzung Straßenbaum inkl. Material", "Stück", 380, 750),
            ("Rindenmulch liefern und einbauen", "m³", 45, 75, 19, True),
            ("Spielplatzkontrolle nach DIN EN 1176", "Stück", 60, 110),
            ("Stauden, Topfware", "Stück", 3, 7, 7),
        ),
        (0.1, 0.5, 0.1),
    ),
    Industry(
        "catering",
        "Catering · Veranstaltungsservice",
        ("Landgasthof {last}", "{last} Catering", "Partyservice {last}"),
        _items(
            ("Mittagessen Menü, Schulverpflegung", "Portion", 3, 6, 7),
            ("Kaffee und Gebäck", "Person", 4, 8, 7),
            ("Kaltgetränke", "Flasche", 1, 3, 19),
            ("Servicepersonal", "Std.", 28, 38, 19, True),
            ("Buffet Neujahrsempfang", "Person", 18, 35, 7),
            ("Geschirrverleih", "psch", 60, 180, 19),
        ),
        (0.7, 0.1, 0.1),
    ),
    Industry(
        "elektro",
        "Elektroinstallation · Gebäudetechnik",
        ("Elektro {last}", "{last} Elektrotechnik", "Elektroanlagen {last} & Söhne"),
        _items(
            ("Prüfung ortsveränderlicher Geräte (DGUV V3)", "Stück", 3, 7),
            ("LED-Panel 62 x 62 cm", "Stück", 45, 95),
            ("Monteurstunde", "Std.", 55, 72, 19, True),
            ("Anfahrtspauschale", "psch", 25, 49),
            ("Fehlerstromschutzschalter 40 A", "Stück", 38, 75),
            ("Straßenleuchte LED, Austausch", "Stück", 420, 890),
        ),
        (0.2, 0.2, 0.2),
    ),
]


@dataclass
class Party:
    """The sender of a letter, as printed on it."""

    kind: str  # citizen | company | authority
    name: str
    street: str
    postcode: str
    city: str
    salutation: str | None = None  # Herr / Frau, citizens only
    first_name: str | None = None
    last_name: str | None = None
    unit: str | None = None  # department of an authority, e.g. "Fachbereich Ordnung"
    industry: Industry | None = None
    contact: str | None = None  # who signs, e.g. "Jana Becker"
    contact_role: str | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    bank: str | None = None
    iban: str | None = None
    bic: str | None = None
    vat_id: str | None = None
    tax_number: str | None = None
    register: str | None = None
    managing_director: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def address_lines(self) -> list[str]:
        lines = [self.name]
        if self.unit:
            lines.append(self.unit)
        return [*lines, self.street, f"{self.postcode} {self.city}"]

    @property
    def return_line(self) -> str:
        """The one-line return address (Rücksendeangabe) printed at the top of the address field."""
        return f"{self.name} · {self.street} · {self.postcode} {self.city}"


def _phone(rng: random.Random) -> str:
    return f"0{rng.randint(1000, 9999)} {rng.randint(10000, 999999)}"


def _bank(rng: random.Random) -> tuple[str, str, str]:
    name, bic, blz = rng.choice(BANKS)
    account = str(rng.randint(10**6, 10**10 - 1))
    return name, bic, make_german_iban(blz, account)


def person_name(rng: random.Random) -> tuple[str, str, str]:
    """(salutation, first name, last name) of a random person."""
    if rng.random() < 0.5:
        return "Frau", rng.choice(FIRST_NAMES_F), rng.choice(LAST_NAMES)
    return "Herr", rng.choice(FIRST_NAMES_M), rng.choice(LAST_NAMES)


def make_citizen(rng: random.Random, with_bank: bool = False) -> Party:
    salutation, first, last = person_name(rng)
    postcode, city = rng.choice(PLACES[:8])
    street = f"{rng.choice(STREETS)} {rng.randint(1, 120)}{rng.choice(['', '', '', 'a', 'b'])}"
    party = Party(
        kind="citizen",
        name=f"{first} {last}",
        street=street,
        postcode=postcode,
        city=city,
        salutation=salutation,
        first_name=first,
        last_name=last,
        phone=_phone(rng) if rng.random() < 0.6 else None,
        email=f"{first.lower()}.{last.lower()}@example.de".replace("ü", "ue")
        .replace("ö", "oe")
        .replace("ä", "ae")
        .replace("ß", "ss")
        if rng.random() < 0.4
        else None,
    )
    if with_bank:
        party.bank, party.bic, party.iban = _bank(rng)
    return party


def make_company(rng: random.Random, industry_id: str | None = None) -> Party:
    industry = next(i for i in INDUSTRIES if i.id == industry_id) if industry_id else rng.choice(INDUSTRIES)
    last, last2 = rng.choice(LAST_NAMES), rng.choice(LAST_NAMES)
    postcode, city = rng.choice(PLACES)
    base = rng.choice(industry.name_patterns).format(last=last, last2=last2, city=city.split("-")[0])
    legal = "GmbH" if base.startswith("Stadtwerke") else rng.choice(LEGAL_FORMS)
    name = f"{base} {legal}"
    bank, bic, iban = _bank(rng)
    _, c_first, c_last = person_name(rng)
    domain = "".join(ch for ch in last.lower() if ch.isascii() and ch.isalpha()) or "firma"
    register = None
    if legal != "e.K." or rng.random() < 0.5:
        kind = "HRA" if legal in ("KG", "OHG", "e.K.") else "HRB"
        court = rng.choice(["Musterstadt", "Beispielheim", city.split(" ")[0]])
        register = f"Amtsgericht {court} {kind} {rng.randint(1000, 99999)}"
    return Party(
        kind="company",
        name=name,
        street=f"{rng.choice(STREETS)} {rng.randint(1, 80)}",
        postcode=postcode,
        city=city,
        industry=industry,
        contact=f"{c_first} {c_last}",
        contact_role=rng.choice(
            ["Vertrieb", "Buchhaltung", "Projektleitung", "Kundenservice", "Geschäftsführung", "Innendienst"]
        ),
        phone=_phone(rng),
        email=f"{rng.choice(['info', 'service', 'buchhaltung', 'vertrieb'])}@{domain}-{industry.id}.de",
        website=f"www.{domain}-{industry.id}.de",
        bank=bank,
        iban=iban,
        bic=bic,
        vat_id=make_german_vat_id(rng),
        tax_number=f"{rng.randint(10, 99)}/{rng.randint(100, 999)}/{rng.randint(10000, 99999)}",
        register=register,
        managing_director=f"{rng.choice(FIRST_NAMES_F + FIRST_NAMES_M)} {rng.choice(LAST_NAMES)}"
        if legal not in ("e.K.",)
        else None,
    )


# (name, unit, street, postcode, city, topics it writes about to the town)
AUTHORITIES = [
    (
        "Landratsamt Musterkreis",
        "Fachbereich Öffentliche Sicherheit und Ordnung",
        "Kreishausstraße 3",
        "12340",
        "Musterstadt",
        "ordnung",
    ),
    (
        "Landratsamt Musterkreis",
        "Untere Wasserbehörde",
        "Kreishausstraße 3",
        "12340",
        "Musterstadt",
        "umwelt",
    ),
    (
        "Finanzamt Musterstadt",
        "Veranlagungsstelle Körperschaften",
        "Steuerstraße 12",
        "12344",
        "Musterstadt",
        "steuer",
    ),
    (
        "Deutsche Rentenversicherung Bund",
        "Abteilung Prüfdienst",
        "Ruhrstraße 2",
        "10709",
        "Berlin",
        "personal",
    ),
    (
        "Polizeipräsidium Musterland",
        "Polizeiinspektion Musterstadt",
        "Wachstraße 8",
        "12346",
        "Musterstadt",
        "ordnung",
    ),
    (
        "Regierungspräsidium Musterland",
        "Referat Kommunalaufsicht",
        "Schlossplatz 1",
        "55116",
        "Mainz",
        "finanzen",
    ),
    (
        "Statistisches Landesamt Musterland",
        "Referat Finanz- und Personalstatistiken",
        "Mainzer Straße 14",
        "55116",
        "Mainz",
        "finanzen",
    ),
    ("Jobcenter Musterkreis", "Leistungsabteilung", "Agenturstraße 5", "12340", "Musterstadt", "sozial"),
]


def make_authority(rng: random.Random, topic: str | None = None) -> Party:
    choices = [a for a in AUTHORITIES if topic is None or a[5] == topic] or AUTHORITIES
    name, unit, street, postcode, city, topic_ = rng.choice(choices)
    _, c_first, c_last = person_name(rng)
    bank, bic, iban = _bank(rng)
    printed = rng.random() < 0.5  # authorities print their Landeskasse account on some letters
    return Party(
        kind="authority",
        name=name,
        unit=unit,
        street=street,
        postcode=postcode,
        city=city,
        contact=f"{c_first} {c_last}",
        contact_role=rng.choice(["Sachbearbeitung", "Im Auftrag", "Referent"]),
        phone=_phone(rng),
        email=f"poststelle@{name.split(' ')[0].lower()}.example.de".replace("ä", "ae"),
        bank=bank if printed else None,
        iban=iban if printed else None,
        bic=bic if printed else None,
        extra={"topic": topic_},
    )


def money(value: Decimal) -> Decimal:
    """Round half up to cents."""
    return value.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
