"""Generate the independent letter set (test + dev) as scanned-looking page images with truth files.

Written by the independent data author (evaldata) without looking at the product. Deterministic (fixed seeds).

    /work/evalbrief/venv/bin/python tests/data/independent/letters/tools/gen_letters.py

Reads occasions_test.txt / occasions_dev.txt next to this script and writes ../test/ and ../dev/,
../manifest.tsv. Needs Pillow and the Debian fonts listed in FONT_DIRS.
"""

from __future__ import annotations

import io
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# ----------------------------------------------------------------------------------------------------------------
# The town (from the evaluation brief's town description)
PERSONS = {
    "buergermeister": ("Herr", "", "Markus", "Hoffmann", "buergermeisterbuero", "buergermeisterbuero"),
    "krueger": ("Frau", "", "Sabine", "Krüger", "buergermeisterbuero", "buergermeisterbuero"),
    "wagner": ("Herr", "", "Jens", "Wagner", "hauptamt", "hauptamt"),
    "lorenz": ("Frau", "", "Petra", "Lorenz", "hauptamt", "hauptamt-vergabe"),
    "becker": ("Frau", "", "Andrea", "Becker", "personalamt", "personalamt"),
    "yilmaz": ("Herr", "", "Murat", "Yılmaz", "personalamt", "personalamt"),
    "meier": ("Herr", "Dr.", "Thomas", "Meier", "kaemmerei", "kaemmerei"),
    "schmitz": ("Frau", "", "Claudia", "Schmitz", "kaemmerei", "kaemmerei-rechnungseingang"),
    "neumann": ("Herr", "", "Frank", "Neumann", "stadtkasse", "stadtkasse"),
    "schulz": ("Frau", "", "Birgit", "Schulz", "stadtkasse", "stadtkasse"),
    "fischer": ("Herr", "", "Uwe", "Fischer", "steueramt", "steueramt"),
    "koch": ("Frau", "", "Monika", "Koch", "steueramt", "steueramt"),
    "richter": ("Frau", "Dr.", "Eva", "Richter", "rechtsamt", "rechtsamt"),
    "braun": ("Herr", "", "Stefan", "Braun", "rechtsamt", "rechtsamt"),
    "hartmann": ("Herr", "", "Klaus", "Hartmann", "umweltamt", "umweltamt"),
    "vogel": ("Frau", "", "Julia", "Vogel", "umweltamt", "umweltamt"),
    "weber": ("Herr", "", "Michael", "Weber", "ordnungsamt", "ordnungsamt"),
    "keller": ("Frau", "", "Nicole", "Keller", "ordnungsamt", "ordnungsamt-gewerbe"),
    "schaefer": ("Frau", "", "Katrin", "Schäfer", "buergerbuero", "buergerbuero"),
    "kaya": ("Frau", "", "Elif", "Kaya", "buergerbuero", "buergerbuero"),
    "zimmermann": ("Herr", "", "Rainer", "Zimmermann", "standesamt", "standesamt"),
    "wolf": ("Frau", "", "Susanne", "Wolf", "schulamt", "schulamt"),
    "schroeder": ("Herr", "", "Dirk", "Schröder", "sozialamt", "sozialamt"),
    "klein": ("Frau", "", "Martina", "Klein", "sozialamt", "sozialamt"),
    "lange": ("Frau", "", "Anja", "Lange", "jugendamt", "jugendamt"),
    "werner": ("Herr", "", "Tobias", "Werner", "jugendamt", "jugendamt"),
    "krause": ("Herr", "Dipl.-Ing.", "Bernd", "Krause", "stadtplanung", "stadtplanung"),
    "schwarz": ("Frau", "Dipl.-Ing.", "Heike", "Schwarz", "bauaufsicht", "bauaufsicht"),
    "peters": ("Herr", "", "Oliver", "Peters", "bauaufsicht", "bauaufsicht"),
    "jung": ("Herr", "", "Sven", "Jung", "tiefbau", "tiefbau"),
}
POSTBOX_DEPT = {
    "buergermeisterbuero": "buergermeisterbuero", "hauptamt": "hauptamt", "hauptamt-vergabe": "hauptamt",
    "personalamt": "personalamt", "kaemmerei-rechnungseingang": "kaemmerei", "kaemmerei": "kaemmerei",
    "stadtkasse": "stadtkasse", "steueramt": "steueramt", "rechtsamt": "rechtsamt", "umweltamt": "umweltamt",
    "ordnungsamt": "ordnungsamt", "ordnungsamt-gewerbe": "ordnungsamt", "buergerbuero": "buergerbuero",
    "standesamt": "standesamt", "schulamt": "schulamt", "sozialamt": "sozialamt", "jugendamt": "jugendamt",
    "stadtplanung": "stadtplanung", "bauaufsicht": "bauaufsicht", "tiefbau": "tiefbau",
}
DOC_TYPES = {
    "invoice", "credit_note", "payment_reminder", "offer", "order_confirmation", "delivery_note", "contract",
    "application_building_permit", "application_housing_benefit", "application_dog_tax",
    "application_trade_registration", "application_daycare", "objection", "complaint", "enquiry",
    "authority_notice", "job_application", "invitation",
}

# How real towns name these units: official names, numbered offices (KGSt scheme), Fachbereich/Fachdienst/Team,
# task synonyms and abbreviations. Keyed by postbox (the Vergabestelle / Gewerbe / Rechnungseingang have own names).
DEPT_NAMES = {
    "buergermeisterbuero": ["Büro des Bürgermeisters", "Bürgermeisterbüro", "Der Bürgermeister",
                            "Büro Bürgermeister / Repräsentation", "Stabsstelle Bürgermeister", "BM-Büro"],
    "hauptamt": ["Hauptamt", "Amt 10 – Hauptamt", "Fachbereich Zentrale Dienste", "Hauptverwaltung",
                 "Abteilung Organisation und Zentrale Dienste", "Sachgebiet Innerer Service", "FB 1 Zentrale Dienste"],
    "hauptamt-vergabe": ["Zentrale Vergabestelle", "Vergabestelle", "Submissionsstelle",
                         "Sachgebiet Vergabe und Beschaffung", "Zentrale Vergabe- und Beschaffungsstelle",
                         "Hauptamt – Vergabestelle"],
    "personalamt": ["Personalamt", "Amt 11", "Team Personalservice", "Fachdienst Personal", "Personalabteilung",
                    "Abteilung Personal und Organisation", "Sachgebiet Personalwesen", "Personalverwaltung"],
    "kaemmerei": ["Kämmerei", "Amt 20 – Kämmerei", "Fachbereich Finanzen", "Abteilung Finanzen und Controlling",
                  "Finanzverwaltung", "Fachdienst Haushalt und Finanzen", "FB 2 – Finanzen", "Stadtkämmerei"],
    "kaemmerei-rechnungseingang": ["Kämmerei – Rechnungseingang", "Zentraler Rechnungseingang",
                                   "Rechnungseingangsstelle", "Kreditorenbuchhaltung", "Buchhaltung",
                                   "Fachbereich Finanzen / Rechnungsbearbeitung"],
    "stadtkasse": ["Stadtkasse", "Amt 21 – Stadtkasse", "Kasse", "Fachdienst Kasse und Vollstreckung",
                   "Stadtkasse / Vollstreckungsstelle", "Sachgebiet Zahlungsverkehr und Vollstreckung",
                   "Stadtkasse Musterstadt"],
    "steueramt": ["Steueramt", "Amt 22", "Steuerabteilung", "Sachgebiet Steuern und Abgaben", "Fachdienst Steuern",
                  "Abt. Gemeindesteuern", "Team Steuern und Abgaben", "Amt für Steuern und Abgaben"],
    "rechtsamt": ["Rechtsamt", "Amt 30", "Rechtsabteilung", "Justiziariat", "Fachdienst Recht", "Stabsstelle Recht",
                  "Rechts- und Versicherungsamt"],
    "umweltamt": ["Umweltamt", "Amt für Umwelt- und Klimaschutz", "Fachdienst Umwelt", "Untere Naturschutzbehörde",
                  "Umweltschutzamt", "Sachgebiet Umwelt und Klimaschutz", "Abt. Natur- und Umweltschutz"],
    "ordnungsamt": ["Ordnungsamt", "Amt 32", "Fachdienst Öffentliche Sicherheit und Ordnung",
                    "Abteilung Sicherheit und Ordnung", "Ordnungsbehörde", "Kommunaler Ordnungsdienst",
                    "Amt für öffentliche Ordnung", "Straßenverkehrsbehörde"],
    "ordnungsamt-gewerbe": ["Gewerbeamt", "Gewerbeabteilung", "Ordnungsamt – Gewerbeangelegenheiten",
                            "Sachgebiet Gewerbe", "Gewerbemeldestelle", "Team Gewerbe und Gaststätten"],
    "buergerbuero": ["Bürgerbüro", "Bürgeramt", "Einwohnermeldeamt", "Meldebehörde", "Bürgerservice",
                     "Amt 33 – Bürgerdienste", "Pass- und Meldestelle", "Bürgerservicecenter"],
    "standesamt": ["Standesamt", "Amt 34", "Standesamt Musterstadt", "Personenstandswesen", "Standesbeamter",
                   "Fachdienst Standesamt"],
    "schulamt": ["Schulamt", "Amt 40", "Schulverwaltungsamt", "Fachbereich Bildung", "Abteilung Schulen und Sport",
                 "Fachdienst Schule", "Schulträger – Schulverwaltung", "Amt für Schule und Bildung"],
    "sozialamt": ["Sozialamt", "Amt 50", "Wohngeldstelle", "Fachdienst Soziales", "Abteilung Soziales und Wohnen",
                  "Sozialverwaltung", "Fachbereich Soziales"],
    "jugendamt": ["Jugendamt", "Amt 51", "Fachdienst Kinder, Jugend und Familie", "Kita-Verwaltung",
                  "Abteilung Kindertagesbetreuung", "Fachbereich Jugend und Familie", "Amt für Jugend und Familie"],
    "stadtplanung": ["Stadtplanungsamt", "Amt 61", "Fachbereich Stadtentwicklung", "Planungsamt",
                     "Abteilung Stadtplanung und Bauleitplanung", "Fachdienst Stadtentwicklung",
                     "Amt für Stadtentwicklung"],
    "bauaufsicht": ["Bauaufsichtsamt", "Amt 63", "Bauordnungsamt", "Untere Bauaufsichtsbehörde",
                    "Fachdienst Bauordnung", "Baugenehmigungsbehörde", "Bauaufsicht", "Bauamt – Bauordnung"],
    "tiefbau": ["Tiefbauamt", "Amt 66", "Abteilung Straßenbau", "Fachdienst Tiefbau", "Straßenbauamt",
                "Fachbereich Tiefbau und Verkehrsanlagen", "Sachgebiet Straßenunterhaltung"],
}
TOWN_LINES = ["Stadt Musterstadt", "Stadtverwaltung Musterstadt", "Stadtverwaltung Musterstadt",
              "An die Stadtverwaltung Musterstadt", "Stadt Musterstadt", "An die Stadt Musterstadt",
              "Rathaus Musterstadt"]

# Sender pools: split into disjoint halves for test and dev.
FIRST = ["Anna", "Jürgen", "Sabrina", "Mehmet", "Helga", "Lukas", "Renate", "Dimitrios", "Karin", "Tim", "Ursula",
         "Kevin", "Gisela", "Ahmad", "Marion", "Florian", "Ingrid", "Sergej", "Heike", "Jonas", "Waltraud", "Nils",
         "Fatma", "Dieter", "Lea", "Horst", "Bianca", "Paul", "Irina", "Manfred", "Svenja", "Wolfgang", "Aylin",
         "Rüdiger", "Mareike", "Gerhard", "Olga", "Hannes", "Brigitte", "Yusuf", "Doris", "Marco", "Elke", "Piotr"]
LAST = ["Schneider", "Böhm", "Kowalski", "Lehmann", "Arslan", "Engel", "Haas", "Pohl", "Franke", "Graf", "Ludwig",
        "Seidel", "Winkler", "Kuhn", "Jäger", "Popescu", "Voigt", "Ernst", "Horn", "Brandt", "Sommer", "Otto",
        "Schuster", "Kraus", "Stein", "Öztürk", "Berger", "Roth", "Frank", "Baumann", "Albrecht", "Schreiber",
        "Nowak", "Dietrich", "Kühn", "Marx", "Lindner", "Wiesner", "Hahn", "Petrović", "Simon", "Busch", "Thiel",
        "Möller"]
STREETS = ["Am Sonnenhang", "Birkenweg", "Goethestraße", "Mühlenstraße", "Lindenallee", "Kirchgasse", "Hauptstraße",
           "Am Bahnhof", "Schulstraße", "Eichendorffweg", "Wiesengrund", "Bergstraße", "Rosenstraße", "Ahornweg",
           "Uhlandstraße", "Am Markt", "Gartenstraße", "Dorfstraße", "Kastanienallee", "Heideweg", "Talstraße",
           "Frankfurter Straße", "Burgweg", "Amselweg", "Parkstraße", "Schillerplatz", "Friedhofstraße",
           "Kolpingstraße", "Brunnenweg", "Ringstraße"]
CITIES = ["12345 Musterstadt"] * 14 + ["12347 Musterstadt-Nord", "12399 Waldkirchen", "12401 Neustadt",
                                     "12420 Südfeld", "12389 Oberhausen am See"]
DOGS = ["Bello", "Luna", "Emma", "Balu", "Sammy", "Frieda", "Rocky", "Nala", "Paul", "Kira", "Lotte", "Oskar"]
BREEDS = ["Labrador-Mischling", "Dackel", "Border Collie", "Jack Russell Terrier", "Golden Retriever",
          "Mischling (mittelgroß)", "Französische Bulldogge", "Schäferhund-Mix"]
CHILDREN = ["Mia", "Noah", "Emilia", "Ben", "Leni", "Finn", "Hannah", "Elias", "Lina", "Matteo", "Ida", "Emil"]
SCHOOLS = ["Grundschule am Lindenhof", "Astrid-Lindgren-Schule", "Gesamtschule Musterstadt", "Pestalozzischule",
           "Realschule am Stadtpark", "Grundschule Nord"]
KITAS = ["Kita Sonnenschein", "Kita Pusteblume", "Kita Sternschnuppe", "Ev. Kita Arche Noah", "Kita Waldwichtel"]
MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember"]

FONT_DIRS = ["/usr/share/fonts/truetype", "/usr/share/fonts/opentype"]


def font_path(name: str) -> str:
    for d in FONT_DIRS:
        for p in Path(d).rglob(name):
            return str(p)
    raise FileNotFoundError(name)


FONTS = {
    "sans": "LiberationSans-Regular.ttf", "sans_b": "LiberationSans-Bold.ttf",
    "serif": "LiberationSerif-Regular.ttf", "serif_b": "LiberationSerif-Bold.ttf",
    "dejavu": "DejaVuSans.ttf", "dejavu_b": "DejaVuSans-Bold.ttf",
    "carlito": "Carlito-Regular.ttf", "carlito_b": "Carlito-Bold.ttf",
    "caladea": "Caladea-Regular.ttf", "caladea_b": "Caladea-Bold.ttf",
    "nimbus": "NimbusSans-Regular.otf", "nimbus_b": "NimbusSans-Bold.otf",
    "roman": "NimbusRoman-Regular.otf", "roman_b": "NimbusRoman-Bold.otf",
    "narrow": "LiberationSansNarrow-Regular.ttf", "narrow_b": "LiberationSansNarrow-Bold.ttf",
    "free": "FreeSans.ttf", "free_b": "FreeSansBold.ttf",
    "mono": "FreeMono.ttf", "mono_b": "FreeMonoBold.ttf",
    "typewriter": "GNUTypewriter.ttf", "courier": "Courier Prime.otf", "courier_b": "Courier Prime Bold.otf",
    "dancing": "DancingScript-Regular.otf", "klee": "KleeOne-Regular.ttf", "comic": "ComicNeue-Regular.otf",
    "humor": "Humor-Sans.ttf", "chancery": "Z003-MediumItalic.otf", "gothic": "URWGothic-Book.otf",
    "gothic_b": "URWGothic-Demi.otf", "bookman": "URWBookman-Light.otf", "bookman_b": "URWBookman-Demi.otf",
}
_font_cache: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def font(key: str, px: int) -> ImageFont.FreeTypeFont:
    k = (key, px)
    if k not in _font_cache:
        _font_cache[k] = ImageFont.truetype(font_path(FONTS[key]), px)
    return _font_cache[k]


# ----------------------------------------------------------------------------------------------------------------
# Occasion files


@dataclass
class Occasion:
    key: str
    split: str
    postbox: str
    doc_type: str | None
    sender: str
    persons: list[str]
    n: int
    occasion: str
    subject: str
    body: str
    firms: list[list[str]] = field(default_factory=list)
    items: list[list[str]] = field(default_factory=list)
    style: str = ""
    addr_dept: str | None = None
    long: bool = False
    young: bool = False


def parse_occasions(path: Path, split: str) -> list[Occasion]:
    out: list[Occasion] = []
    blocks = re.split(r"^## ", path.read_text(encoding="utf-8"), flags=re.M)[1:]
    for block in blocks:
        lines = block.split("\n")
        head = dict(kv.split(": ", 1) for kv in (p.strip() for p in lines[0].split(" | ")))
        occ = subject = ""
        firms: list[list[str]] = []
        items: list[list[str]] = []
        body_lines: list[str] = []
        for ln in lines[1:]:
            if ln.startswith("occasion: "):
                occ = ln[10:]
            elif ln.startswith("subject: "):
                subject = ln[9:]
            elif ln.startswith("firm: "):
                firms.append([x.strip() for x in ln[6:].split("|")])
            elif ln.startswith("item: "):
                items.append([x.strip() for x in ln[6:].split("|")])
            else:
                body_lines.append(ln)
        pb = head["postbox"]
        assert pb in POSTBOX_DEPT, pb
        dt = None if head["type"] == "null" else head["type"]
        assert dt is None or dt in DOC_TYPES, dt
        persons = head["persons"].split(",")
        assert all(p in PERSONS for p in persons), persons
        out.append(Occasion(
            key=head["id"], split=split, postbox=pb, doc_type=dt, sender=head["sender"], persons=persons,
            n=int(head.get("n", "3")), occasion=occ, subject=subject, body="\n".join(body_lines).strip(),
            firms=firms, items=items, style=head.get("style", ""), addr_dept=head.get("addr_dept"),
            long=head.get("long") == "1", young=head.get("young") == "1"))
    return out


# ----------------------------------------------------------------------------------------------------------------
# Text helpers


def fmt_money(v: float) -> str:
    s = f"{abs(v):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return ("-" if v < 0 else "") + s


def fmt_date(rng: random.Random, day: int, month: int, year: int, style: int | None = None) -> str:
    st = rng.randrange(4) if style is None else style
    if st == 0:
        return f"{day:02d}.{month:02d}.{year}"
    if st == 1:
        return f"{day}. {MONTHS[month - 1]} {year}"
    if st == 2:
        return f"{day}.{month}.{year}"
    return f"{day:02d}.{month:02d}.{str(year)[2:]}"


def rand_date(rng: random.Random, kind: str) -> tuple[int, int, int]:
    if kind == "past":
        m = rng.choice([(8, 2026), (9, 2026), (10, 2026), (11, 2026)])
        return rng.randint(1, 28), m[0], m[1]
    if kind == "past2":
        m = rng.choice([(2, 2026), (3, 2026), (4, 2026), (5, 2026), (6, 2026), (7, 2026)])
        return rng.randint(1, 28), m[0], m[1]
    m = rng.choice([(1, 2027), (2, 2027), (3, 2027), (4, 2027), (5, 2027), (6, 2027)])
    return rng.randint(1, 28), m[0], m[1]


def expand_choices(text: str, rng: random.Random) -> str:
    return re.sub(r"\[\[(.*?)\]\]", lambda m: rng.choice(m.group(1).split("|")), text, flags=re.S)


def fill(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], text)


def clumsify(text: str, rng: random.Random, level: float) -> str:
    """Typos and sloppy writing of a hurried citizen."""
    words = text.split(" ")
    out = []
    for w in words:
        r = rng.random()
        core = w.strip(".,;:!?\"„“()")
        if len(core) > 4 and r < level * 0.12:
            i = rng.randrange(1, len(core) - 2)
            w = w.replace(core, core[:i] + core[i + 1] + core[i] + core[i + 2:], 1)
        elif len(core) > 5 and r < level * 0.18:
            i = rng.randrange(1, len(core) - 1)
            w = w.replace(core, core[:i] + core[i + 1:], 1)
        elif core[:1].isupper() and len(core) > 3 and r < level * 0.28:
            w = w.replace(core, core.lower(), 1)
        elif w.endswith(",") and r < level * 0.45:
            w = w[:-1]
        out.append(w)
    text = " ".join(out)
    if rng.random() < level:
        text = text.replace("ß", "ss")
    if rng.random() < level * 0.5:
        text = text.replace(" dass ", " das ")
    return text


# ----------------------------------------------------------------------------------------------------------------
# Letter model


@dataclass
class Letter:
    split: str
    occ: Occasion
    idx: int
    mode: str = ""
    dept_written: str | None = None
    person: str | None = None
    sender_lines: list[str] = field(default_factory=list)
    sender_name: str = ""
    firm: list[str] | None = None
    recipient: list[str] = field(default_factory=list)
    date_line: str = ""
    subject: str = ""
    salutation: str = ""
    paragraphs: list[str] = field(default_factory=list)
    closing: str = ""
    signature: list[str] = field(default_factory=list)
    table: list[list[str]] | None = None
    table_kind: str = ""
    layout: str = ""
    refs: list[tuple[str, str]] = field(default_factory=list)


def person_address(pid: str, rng: random.Random) -> tuple[str, str]:
    anrede, title, first, last, _d, _pb = PERSONS[pid]
    herr = "Herrn" if anrede == "Herr" else "Frau"
    t = f"{title} " if title else ""
    role = ""
    if pid == "buergermeister" and rng.random() < 0.6:
        line = rng.choice([f"Herrn Bürgermeister {first} {last}", f"Herrn Bürgermeister {last}",
                           f"z. Hd. Herrn Bürgermeister {first} {last}"])
    else:
        line = rng.choice([f"z. Hd. {herr} {t}{first} {last}", f"z. Hd. {herr} {t}{last}",
                           f"zu Händen {herr} {t}{first} {last}", f"z.Hd. {herr} {t}{first} {last}",
                           f"{herr} {t}{first} {last}"])
    greet_title = f"{title} " if title == "Dr." else ""
    if pid == "buergermeister":
        sal = rng.choice(["Sehr geehrter Herr Bürgermeister,", "Sehr geehrter Herr Hoffmann,",
                          "Sehr geehrter Herr Bürgermeister Hoffmann,"])
    elif anrede == "Herr":
        sal = f"Sehr geehrter Herr {greet_title}{last},"
    else:
        sal = f"Sehr geehrte Frau {greet_title}{last},"
    return line + role, sal


def build_letter(lt: Letter, rng: random.Random, pools: dict[str, list[str]]) -> None:
    occ = lt.occ
    is_firm = occ.sender == "firm"
    first = rng.choice(pools["first"])
    last = rng.choice(pools["last"])
    street = f"{rng.choice(pools['streets'])} {rng.randint(1, 88)}{rng.choice(['', '', '', 'a', 'b'])}"
    city = rng.choice(CITIES)
    locs = rng.sample(STREETS, 2)
    d_letter = (rng.randint(1, 7) if rng.random() < 0.7 else rng.randint(20, 30), 12 if rng.random() < 0.6 else 11,
                2026)
    fut = rand_date(rng, "future")
    fut2 = rand_date(rng, "future")
    vals = {
        "name": f"{first} {last}", "first": first, "last": last, "street": street, "city": city.split(" ", 1)[1],
        "loc": locs[0], "loc2": locs[1], "hnr": str(rng.randint(1, 60)),
        "past": fmt_date(rng, *rand_date(rng, "past")), "past2": fmt_date(rng, *rand_date(rng, "past2")),
        "future": fmt_date(rng, *fut), "future2": fmt_date(rng, *fut2), "year": rng.choice(["2026", "2027"]),
        "az": rng.choice([f"{rng.randint(10, 66)}.{rng.randint(1, 9)}-{rng.randint(100, 999)}/26",
                          f"{rng.choice(['VG', 'BA', 'OW', 'SG'])}-2026-{rng.randint(1000, 9999)}",
                          f"{rng.randint(1000, 9999)}/{rng.randint(10, 99)}"]),
        "kz": f"{rng.randint(1000, 9999)}.{rng.randint(1000, 9999)}.{rng.randint(10, 99)}",
        "num": str(rng.randint(2, 9)),
        "amount": fmt_money(rng.choice([rng.uniform(80, 900), rng.uniform(1000, 60000)])),
        "child": rng.choice(CHILDREN), "girl": rng.choice(CHILDREN[0::2]), "boy": rng.choice(CHILDREN[1::2]),
        "cbirth": fmt_date(rng, rng.randint(1, 28), rng.randint(1, 12),
                                                           rng.choice([2020, 2021, 2022, 2023, 2024, 2025])),
        "dog": rng.choice(DOGS), "breed": rng.choice(BREEDS),
        "iban": f"DE{rng.randint(10, 99)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} "
                f"{rng.randint(1000, 9999)} {rng.randint(1000, 9999)} {rng.randint(10, 99)}",
        "tel": f"0{rng.randint(1000, 9999)} {rng.randint(10000, 999999)}",
        "email": f"{first.lower()}.{last.lower()}@{rng.choice(['web.de', 'gmx.de', 't-online.de', 'posteo.de'])}",
        "inv": f"{rng.choice(['RE', 'R', '', 'AB', 'LS'])}{rng.randint(2026000, 2026999)}",
        "inv2": f"RE-{rng.randint(20250, 20269)}-{rng.randint(100, 999)}", "cust": f"K-{rng.randint(10000, 99999)}",
        "name2": f"{rng.choice(pools['first'])} {rng.choice(pools['last'])}",
        "birth": fmt_date(rng, rng.randint(1, 28), rng.randint(1, 12), rng.randint(1950, 2000)),
        "birth2": fmt_date(rng, rng.randint(1, 28), rng.randint(1, 12), rng.randint(1950, 2000)),
        "school": rng.choice(SCHOOLS), "kita": rng.choice(KITAS),
        "quarter": rng.choice(["3. Quartal 2026", "III. Quartal 2026", "Quartal Juli–September 2026"]),
    }
    vals["name"] = vals["name"]
    # --- sender
    if is_firm:
        f = occ.firms[lt.idx % len(occ.firms)]
        lt.firm = f
        lt.sender_lines = [f[0], f[1], f[2]]
        signer = f"{rng.choice(pools['first'])} {rng.choice(pools['last'])}"
        lt.sender_name = signer
        if occ.style == "authority":
            lt.signature = ["Im Auftrag", "", signer]
        else:
            lt.signature = [rng.choice(["", "i. A. ", "ppa. ", "i. V. "]) + signer,
                            rng.choice(["Geschäftsführer", "Sachbearbeitung", "Vertrieb", "Buchhaltung",
                                        "Projektleitung", "Vorsitzender", ""])]
            if f[3] in ("Rechtsanwälte", "Rechtsanwalt", "Rechtsanwältin", "Notariat", "Notarin") or "anwält" in f[3]:
                lt.signature = [signer, "Rechtsanwalt" if "Notar" not in f[3] else "Notar"]
    else:
        lt.sender_name = f"{first} {last}"
        lt.sender_lines = [f"{first} {last}", street, city]
        lt.signature = [f"{first} {last}"]
    # --- recipient & addressing
    pb = occ.postbox
    written_pb = occ.addr_dept or pb
    town = rng.choice(TOWN_LINES)
    if lt.mode == "department":
        name = rng.choice(DEPT_NAMES[written_pb])
        lt.dept_written = name
        if rng.random() < 0.2 and not name.startswith("Amt "):
            lt.recipient = [f"{town.replace('An die ', '')} – {name} –"]
            lt.dept_written = name
        elif rng.random() < 0.12:
            lt.recipient = [name, town.replace("An die ", "")]
        else:
            lt.recipient = [town, name]
        sal = "Sehr geehrte Damen und Herren,"
    elif lt.mode == "person":
        pid = rng.choice(occ.persons)
        lt.person = pid
        line, sal = person_address(pid, rng)
        if rng.random() < 0.25:
            ppb = PERSONS[pid][5]
            name = rng.choice(DEPT_NAMES[ppb])
            lt.dept_written = name
            lt.recipient = [town, name, line]
        else:
            lt.recipient = [town, line]
    else:
        lt.recipient = [town]
        sal = "Sehr geehrte Damen und Herren,"
    lt.recipient += [rng.choice(["Rathausplatz 1", "Rathausplatz 1", "Rathausplatz 1", "Postfach 10 01 20"])]
    lt.recipient += ["12345 Musterstadt" if "Postfach" not in lt.recipient[-1] else "12301 Musterstadt"]
    # --- date, subject, body
    lt.date_line = fmt_date(rng, *d_letter)
    subject = fill(expand_choices(occ.subject, rng), vals)
    body = fill(expand_choices(occ.body, rng), vals)
    paragraphs = [p.strip().replace("\n", " ") for p in body.split("\n\n") if p.strip()]
    casual = (not is_firm) and rng.random() < 0.35
    if not is_firm and lt.mode != "person" and casual:
        sal = rng.choice(["Hallo,", "Guten Tag,", "Sehr geehrte Damen und Herren", "Sehr geehrte Damen und Herren,",
                          "Liebe Stadtverwaltung,"])
    if occ.young:
        sal = sal if lt.mode == "person" else "Sehr geehrte Damen und Herren,"
    if casual:
        paragraphs = [clumsify(p, rng, rng.uniform(0.3, 1.0)) for p in paragraphs]
        subject = clumsify(subject, rng, 0.3)
    lt.subject = subject
    lt.salutation = sal
    paragraphs[0] = paragraphs[0][0].upper() + paragraphs[0][1:] if sal.endswith(("Herren", "Hallo")) else paragraphs[0]
    lt.paragraphs = paragraphs
    if paragraphs[-1].startswith("Viele Grüße"):
        lt.closing = ""
    elif is_firm:
        lt.closing = rng.choice(["Mit freundlichen Grüßen", "Mit freundlichen Grüßen", "Freundliche Grüße",
                                 "Mit freundlichem Gruß", "Hochachtungsvoll"] if occ.style != "authority"
                                else ["Mit freundlichen Grüßen", "Mit freundlichen Grüßen"])
    else:
        lt.closing = rng.choice(["Mit freundlichen Grüßen", "Mit freundlichen Grüßen", "Freundliche Grüße", "MfG",
                                 "Mit freundlichem Gruß", "Hochachtungsvoll", "Viele Grüße", "Danke und Gruß"])
    # --- tables for invoices / delivery notes
    if occ.items:
        if len(occ.items) == len(occ.firms) and occ.style == "invoice":
            chosen = [occ.items[lt.idx % len(occ.items)]]
        else:
            chosen = rng.sample(occ.items, k=rng.randint(max(1, len(occ.items) - 1), len(occ.items)))
        rows = []
        total = 0.0
        for pos, it in enumerate(chosen, 1):
            qty = int(it[1]) if it[1].isdigit() else 1
            qty = max(1, int(qty * rng.uniform(0.6, 1.4))) if qty > 1 else qty
            if len(it) > 3 and it[3]:
                price = float(it[3].replace(".", "").replace(",", "."))
                line_total = qty * price
                total += line_total
                rows.append([str(pos), it[0], f"{qty} {it[2]}", fmt_money(price), fmt_money(line_total)])
            else:
                rows.append([str(pos), it[0], f"{qty} {it[2]}"])
        lt.table = rows
        lt.table_kind = "invoice" if occ.style == "invoice" else "delivery"
        if occ.style == "invoice":
            vat = round(total * 0.19, 2)
            lt.table.append(["", "Nettobetrag", "", "", fmt_money(total)])
            lt.table.append(["", "zzgl. 19 % USt.", "", "", fmt_money(vat)])
            lt.table.append(["", "Rechnungsbetrag" if total >= 0 else "Gutschriftbetrag", "", "",
                             fmt_money(total + vat) + " EUR"])
            if total >= 0:
                lt.paragraphs.append(rng.choice([
                    f"Zahlbar innerhalb von 30 Tagen ohne Abzug auf das Konto {vals['iban']}.",
                    f"Bitte überweisen Sie den Betrag bis zum {vals['future']} unter Angabe der Rechnungsnummer.",
                    "Zahlungsziel: 14 Tage netto, 2 % Skonto bei Zahlung innerhalb von 8 Tagen."]))
        else:
            lt.paragraphs.append("Ware vollständig und unbeschädigt erhalten: ____________________ (Unterschrift)")
    lt.refs = []
    if is_firm:
        lt.refs = [("Ihr Zeichen", rng.choice(["", vals["az"], "–"])),
                   ("Unser Zeichen",
                    f"{rng.choice('ABCDEFGHKLMRS')}{rng.choice('abcdefgkmrst')}-{rng.randint(10, 999)}"),
                   ("Telefon", vals["tel"])]
        if occ.style in ("invoice", "delivery"):
            lt.refs = [("Rechnungs-Nr." if occ.style == "invoice" else "Lieferschein-Nr.", vals["inv"]),
                       ("Kunden-Nr.", vals["cust"]), ("Datum", lt.date_line)]


# ----------------------------------------------------------------------------------------------------------------
# Rendering


class Page:
    def __init__(self, dpi: int, paper: int) -> None:
        self.dpi = dpi
        self.w = round(210 / 25.4 * dpi)
        self.h = round(297 / 25.4 * dpi)
        self.img = Image.new("L", (self.w, self.h), paper)
        self.draw = ImageDraw.Draw(self.img)

    def mm(self, v: float) -> int:
        return round(v / 25.4 * self.dpi)

    def pt(self, v: float) -> int:
        return round(v / 72 * self.dpi)


@dataclass
class Style:
    body: str
    bold: str
    size: float
    leading: float
    ink: int
    jitter: float = 0.0
    left_mm: float = 25
    right_mm: float = 20


def wrap(text: str, fnt: ImageFont.FreeTypeFont, width: int) -> list[str]:
    words = text.split(" ")
    lines: list[str] = []
    cur = ""
    for w in words:
        cand = (cur + " " + w).strip()
        if fnt.getlength(cand) <= width or not cur:
            cur = cand
        else:
            lines.append(cur)
            cur = w
    if cur:
        lines.append(cur)
    return lines


class Renderer:
    def __init__(self, lt: Letter, rng: random.Random, dpi: int, paper: int, st: Style) -> None:
        self.lt, self.rng, self.dpi, self.paper, self.st = lt, rng, dpi, paper, st
        self.pages: list[Page] = []
        self.y = 0
        self.new_page()

    @property
    def page(self) -> Page:
        return self.pages[-1]

    def new_page(self) -> None:
        p = Page(self.dpi, self.paper)
        self.pages.append(p)
        if len(self.pages) > 1:
            f = font(self.st.body, p.pt(self.st.size - 1))
            head = f"Seite {len(self.pages)}" if self.rng.random() < 0.6 else f"- {len(self.pages)} -"
            p.draw.text((p.w // 2 - int(f.getlength(head)) // 2, p.mm(12)), head, font=f, fill=self.st.ink)
            self.y = p.mm(25)
        if self.lt.firm and self.lt.layout in ("firm", "invoice"):
            self.footer(p)

    def footer(self, p: Page) -> None:
        f = self.lt.firm
        assert f is not None
        fnt = font("narrow", p.pt(7))
        txt = [f"{f[0]} · {f[1]} · {f[2]}",
               f"Bankverbindung: Sparkasse Musterland · IBAN DE{self.rng.randint(10, 99)} 5005 "
               f"{self.rng.randint(1000, 9999)} 0000 {self.rng.randint(1000, 9999)} {self.rng.randint(10, 99)}"
               f" · USt-IdNr. DE{self.rng.randint(100000000, 999999999)}"]
        y = p.mm(280)
        p.draw.line((p.mm(25), y - p.mm(2), p.w - p.mm(20), y - p.mm(2)), fill=120, width=max(1, p.mm(0.2)))
        for t in txt:
            p.draw.text((p.mm(25), y), t, font=fnt, fill=self.st.ink)
            y += p.pt(9)

    def bottom(self) -> int:
        return self.page.mm(268 if (self.lt.firm and self.lt.layout in ("firm", "invoice")) else 278)

    def text_line(self, x: int, txt: str, fnt: ImageFont.FreeTypeFont, lead: int | None = None) -> None:
        p = self.page
        lead = lead or p.pt(self.st.size * self.st.leading)
        if self.y + lead > self.bottom():
            self.new_page()
            p = self.page
        dx = dy = 0
        if self.st.jitter:
            dx = round(self.rng.gauss(0, self.st.jitter * p.mm(1)))
            dy = round(self.rng.gauss(0, self.st.jitter * p.mm(0.5)))
        p.draw.text((x + dx, self.y + dy), txt, font=fnt, fill=self.st.ink)
        self.y += lead

    def paragraph(self, txt: str, fnt: ImageFont.FreeTypeFont | None = None) -> None:
        p = self.page
        fnt = fnt or font(self.st.body, p.pt(self.st.size))
        x0 = p.mm(self.st.left_mm)
        width = p.w - x0 - p.mm(self.st.right_mm)
        for ln in wrap(txt, fnt, width):
            self.text_line(x0, ln, fnt)

    def gap(self, lines: float = 1.0) -> None:
        self.y += round(self.page.pt(self.st.size * self.st.leading) * lines)

    def table(self, rows: list[list[str]], kind: str) -> None:
        p = self.page
        fnt = font(self.st.body, p.pt(self.st.size - 1))
        bfnt = font(self.st.bold, p.pt(self.st.size - 1))
        x0 = p.mm(self.st.left_mm)
        if kind == "invoice":
            heads = ["Pos.", "Bezeichnung", "Menge", "Einzelpreis", "Gesamt"]
            cols = [0, 12, 92, 118, 145]
        else:
            heads = ["Pos.", "Artikel / Bezeichnung", "Menge"]
            cols = [0, 12, 130]
        lead = p.pt((self.st.size - 1) * 1.5)
        right = p.w - p.mm(self.st.right_mm)
        p.draw.line((x0, self.y - p.mm(1), right, self.y - p.mm(1)), fill=self.st.ink, width=max(1, p.mm(0.25)))
        for h, c in zip(heads, cols, strict=True):
            p.draw.text((x0 + p.mm(c), self.y), h, font=bfnt, fill=self.st.ink)
        self.y += lead
        p.draw.line((x0, self.y - p.mm(0.5), right, self.y - p.mm(0.5)), fill=self.st.ink, width=max(1, p.mm(0.2)))
        for r in rows:
            if self.y + lead * 2 > self.bottom():
                self.new_page()
                p = self.page
            is_sum = r[0] == ""
            f = bfnt if is_sum and ("betrag" in r[1]) else fnt
            for i, (cell, c) in enumerate(zip(r, cols, strict=False)):
                if i == 1:
                    maxw = p.mm((cols[2] - cols[1] - 3) if len(cols) > 2 else 100)
                    lines = wrap(cell, f, maxw)
                    for j, ln in enumerate(lines):
                        p.draw.text((x0 + p.mm(c), self.y + j * lead), ln, font=f, fill=self.st.ink)
                elif i >= 3:
                    tw = f.getlength(cell)
                    edge = x0 + p.mm(cols[i + 1] - 3) if i + 1 < len(cols) else right
                    p.draw.text((edge - tw, self.y), cell, font=f, fill=self.st.ink)
                else:
                    p.draw.text((x0 + p.mm(c), self.y), cell, font=f, fill=self.st.ink)
            nlines = len(wrap(r[1], f, p.mm((cols[2] - cols[1] - 3) if len(cols) > 2 else 100)))
            self.y += lead * max(1, nlines)
        p.draw.line((x0, self.y, right, self.y), fill=self.st.ink, width=max(1, p.mm(0.2)))
        self.y += lead


MISSING_GLYPHS = {
    "typewriter": {"–": "-", "·": "-", "ğ": "g", "²": "2", "³": "3", "€": "EUR", "§": "Par."},
    "dancing": {"ć": "c", "ğ": "g", "ş": "s"},
}


def sanitize(lt: Letter, key: str) -> None:
    """Write the letter the way the chosen font/typewriter can: replace glyphs the font lacks."""
    table = MISSING_GLYPHS.get(key)
    if not table:
        return

    def fix(t: str) -> str:
        for a, b in table.items():
            t = t.replace(a, b)
        return t

    lt.recipient = [fix(t) for t in lt.recipient]
    lt.sender_lines = [fix(t) for t in lt.sender_lines]
    lt.subject, lt.salutation, lt.closing, lt.sender_name = (fix(lt.subject), fix(lt.salutation), fix(lt.closing),
                                                             fix(lt.sender_name))
    lt.paragraphs = [fix(t) for t in lt.paragraphs]
    lt.signature = [fix(t) for t in lt.signature]
    lt.date_line = fix(lt.date_line)
    if lt.table:
        lt.table = [[fix(c) for c in row] for row in lt.table]
    if lt.dept_written:
        lt.dept_written = fix(lt.dept_written)


def render(lt: Letter, rng: random.Random) -> list[Image.Image]:
    occ = lt.occ
    dpi = rng.choice([200, 200, 240, 300])
    paper = 255 if rng.random() < 0.7 else rng.randint(215, 240)
    ink = rng.choice([0, 0, 20, 40])
    if occ.sender == "firm":
        lt.layout = "invoice" if occ.style == "invoice" else rng.choice(["firm", "firm", "firm", "din_b"])
        if occ.style in ("authority",):
            lt.layout = rng.choice(["firm", "din_a", "din_b"])
        if occ.style == "delivery":
            lt.layout = "firm"
    elif occ.style == "handwritten":
        lt.layout = "hand"
    else:
        lt.layout = rng.choice(["din_b", "din_b", "din_a", "plain", "plain", "hand", "typewriter"])
    if lt.layout == "hand":
        key = rng.choice(["dancing", "klee", "comic", "comic", "chancery"])
        size = {"dancing": 17, "klee": 13, "comic": 13.5, "chancery": 17}[key]
        st = Style(key, key, size, 1.45, rng.choice([10, 30, 50]), jitter=0.6, left_mm=rng.uniform(15, 25),
                   right_mm=rng.uniform(12, 22))
    elif lt.layout == "typewriter":
        key = rng.choice(["typewriter", "courier", "mono"])
        st = Style(key, {"courier": "courier_b", "mono": "mono_b"}.get(key, key), 11.5, 1.5, ink, jitter=0.15)
    else:
        fam = rng.choice(["sans", "serif", "dejavu", "carlito", "caladea", "nimbus", "roman", "free", "gothic",
                          "bookman", "narrow"])
        size = rng.choice([10, 10.5, 11, 11, 11.5, 12]) if fam != "bookman" else 10
        st = Style(fam, fam + "_b", size, rng.choice([1.25, 1.35, 1.45]), ink)
    sanitize(lt, st.body)
    if occ.long and rng.random() < 0.6:
        st.size += 1.5
        st.leading += 0.15
    elif occ.sender != "firm" and rng.random() < 0.12:  # large writing, spills onto a second sheet
        st.size += 3
        st.leading += 0.35
    r = Renderer(lt, rng, dpi, paper, st)
    p = r.page
    f = font(st.body, p.pt(st.size))
    fb = font(st.bold, p.pt(st.size))
    small = font(st.body, p.pt(max(7, st.size - 3)))
    x0 = p.mm(st.left_mm)
    sender_str = ", ".join(lt.sender_lines)
    # ------------------------------------------------------------------ headers
    if lt.layout in ("firm", "invoice"):
        assert lt.firm is not None
        big = font(st.bold, p.pt(rng.choice([16, 18, 20])))
        logo = rng.random() < 0.6
        xl = x0
        if logo:
            s = p.mm(16)
            shape = rng.randrange(3)
            box = (x0, p.mm(12), x0 + s, p.mm(12) + s)
            if shape == 0:
                p.draw.rectangle(box, fill=60)
            elif shape == 1:
                p.draw.ellipse(box, outline=40, width=p.mm(1.5))
            else:
                p.draw.polygon([(x0, p.mm(28)), (x0 + s // 2, p.mm(12)), (x0 + s, p.mm(28))], fill=90)
            xl = x0 + s + p.mm(4)
        p.draw.text((xl, p.mm(13)), lt.firm[0], font=big, fill=st.ink)
        p.draw.text((xl, p.mm(13) + p.pt(24)), lt.firm[3], font=font(st.body, p.pt(9)), fill=90)
        rx = p.mm(140)
        yy = p.mm(34)
        for t in [lt.firm[1], lt.firm[2], f"Tel. {rng.randint(10000, 99999)} {rng.randint(1000, 9999)}-0",
                  "info@" + re.sub(r"[^a-z]", "", lt.firm[0].lower().split(" ")[0])[:14] + ".de"]:
            p.draw.text((rx, yy), t, font=font(st.body, p.pt(8.5)), fill=st.ink)
            yy += p.pt(11)
        addr_top = 50
        p.draw.text((x0, p.mm(addr_top - 5)), f"{lt.firm[0]} · {lt.firm[1]} · {lt.firm[2]}"[:95],
                    font=font(st.body, p.pt(6.5)), fill=st.ink)
        yy = p.mm(addr_top)
        for t in lt.recipient:
            p.draw.text((x0, yy), t, font=f, fill=st.ink)
            yy += p.pt(st.size * 1.25)
        yy = p.mm(addr_top + 2)
        for k, v in lt.refs + ([("Datum", lt.date_line)] if all(k != "Datum" for k, _ in lt.refs) else []):
            p.draw.text((p.mm(125), yy), f"{k}:", font=small, fill=st.ink)
            p.draw.text((p.mm(155), yy), v, font=small, fill=st.ink)
            yy += p.pt(st.size + 2)
        r.y = p.mm(100)
        r.text_line(x0, lt.subject if rng.random() < 0.8 else f"Betreff: {lt.subject}", fb)
        r.gap(1)
    elif lt.layout in ("din_a", "din_b"):
        top = 27 if lt.layout == "din_a" else 45
        yy = p.mm(12)
        if occ.sender != "firm" or rng.random() < 0.5:
            for t in lt.sender_lines:
                p.draw.text((p.mm(125) if rng.random() < 0.0 else x0, yy), t, font=f, fill=st.ink)
                yy += p.pt(st.size * 1.2)
            if lt.occ.sender != "firm" and rng.random() < 0.6:
                p.draw.text((x0, yy), f"Tel. {rng.randint(1000, 9999)} {rng.randint(10000, 99999)}", font=f,
                            fill=st.ink)
        if lt.layout == "din_b" or occ.sender == "firm":
            p.draw.text((x0, p.mm(top + 2)), sender_str[:90], font=font(st.body, p.pt(7)), fill=st.ink)
            p.draw.line((x0, p.mm(top + 5.5), x0 + p.mm(80), p.mm(top + 5.5)), fill=st.ink, width=1)
        yy = p.mm(top + 12.7)
        for t in lt.recipient:
            p.draw.text((x0, yy), t, font=f, fill=st.ink)
            yy += p.pt(st.size * 1.25)
        p.draw.text((p.mm(125), p.mm(top + 12.7)), "Datum:", font=small, fill=st.ink)
        p.draw.text((p.mm(143), p.mm(top + 12.7)), lt.date_line, font=small, fill=st.ink)
        r.y = p.mm(top + 54)
        r.text_line(x0, lt.subject, fb)
        r.gap(1)
    elif lt.layout == "plain":
        yy = p.mm(15)
        if rng.random() < 0.5:
            line = "  ·  ".join(lt.sender_lines)
            p.draw.text((p.w // 2 - int(f.getlength(line)) // 2, yy), line, font=f, fill=st.ink)
            yy += p.mm(5)
            p.draw.line((x0, yy, p.w - p.mm(20), yy), fill=st.ink, width=max(1, p.mm(0.3)))
            yy += p.mm(14)
        else:
            for t in lt.sender_lines:
                p.draw.text((x0, yy), t, font=f, fill=st.ink)
                yy += p.pt(st.size * 1.3)
            yy += p.mm(12)
        for t in lt.recipient:
            p.draw.text((x0, yy), t, font=f, fill=st.ink)
            yy += p.pt(st.size * 1.3)
        yy += p.mm(8)
        d = f"{lt.sender_lines[2].split(' ', 1)[1]}, den {lt.date_line}" if occ.sender != "firm" else lt.date_line
        p.draw.text((p.w - p.mm(20) - int(f.getlength(d)), yy), d, font=f, fill=st.ink)
        r.y = yy + p.mm(14)
        subj = rng.choice([lt.subject, f"Betreff: {lt.subject}", f"Betr.: {lt.subject}"])
        r.paragraph(subj, fb)
        r.gap(1)
    else:  # hand / typewriter: sender top right, loose address, date
        yy = p.mm(rng.uniform(12, 20))
        for t in lt.sender_lines:
            tw = int(f.getlength(t))
            p.draw.text((p.w - p.mm(st.right_mm) - tw, yy), t, font=f, fill=st.ink)
            yy += p.pt(st.size * 1.3)
        r.y = yy + p.mm(8)
        if lt.layout == "hand" and rng.random() < 0.3:
            r.text_line(x0, "An", f)
        for t in lt.recipient:
            r.text_line(x0, t, f)
        r.gap(1)
        d = f"{lt.sender_lines[2].split(' ', 1)[1]}, {lt.date_line}"
        p.draw.text((p.w - p.mm(st.right_mm) - int(f.getlength(d)), r.y), d, font=f, fill=st.ink)
        r.gap(2)
        r.paragraph(lt.subject if rng.random() < 0.5 else f"Betreff: {lt.subject}",
                    fb if lt.layout == "typewriter" else f)
        r.gap(1)
    # ------------------------------------------------------------------ body
    r.paragraph(lt.salutation, f)
    r.gap(0.5)
    paras = list(lt.paragraphs)
    if lt.table:
        r.paragraph(paras[0])
        r.gap(0.6)
        r.table(lt.table, lt.table_kind)
        r.gap(0.4)
        paras = paras[1:]
    for para in paras:
        r.paragraph(para)
        r.gap(0.5)
    if lt.closing:
        r.gap(0.5)
        r.paragraph(lt.closing, f)
    r.gap(0.4)
    if rng.random() < 0.75:  # a scribbled signature
        sig = font(rng.choice(["dancing", "chancery"]), p.pt(20))
        if r.y + p.pt(28) > r.bottom():
            r.new_page()
        r.page.draw.text((x0 + p.mm(rng.uniform(0, 10)), r.y), lt.sender_name.split(" ")[-1], font=sig,
                         fill=rng.choice([30, 60, 90]))
        r.gap(2)
    for s in lt.signature:
        if s:
            r.text_line(x0, s, f)
    if lt.layout == "typewriter" or (lt.layout in ("din_a", "din_b") and rng.random() < 0.3):
        r.gap(1)
        r.text_line(x0, rng.choice(["Anlagen", "Anlage:", "Anlagen: Kopien"]), f)
    return [pg.img for pg in r.pages]


# ----------------------------------------------------------------------------------------------------------------
# Scanner simulation


def degrade(img: Image.Image, rng: random.Random, recipe: list[str]) -> Image.Image:
    if "photocopy" in recipe:
        img = img.point(lambda v: 0 if v < 150 else min(255, int(v * 1.05)))
        d = ImageDraw.Draw(img)
        w, h = img.size
        for _ in range(rng.randint(150, 600)):
            x, y = rng.randrange(w), rng.randrange(h)
            rr = rng.choice([1, 1, 2, 3])
            d.ellipse((x, y, x + rr, y + rr), fill=rng.randint(0, 90))
        band = rng.randint(10, 40)
        d.rectangle((0, 0, band, h), fill=rng.randint(40, 110))
        if rng.random() < 0.5:
            d.line((rng.randrange(w), 0, rng.randrange(w), h), fill=rng.randint(120, 180), width=2)
    if "blur" in recipe:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.3)))
    if "noise" in recipe:
        noise = Image.effect_noise(img.size, rng.uniform(12, 28))
        img = Image.blend(img, noise, rng.uniform(0.08, 0.16))
    if "skew" in recipe:
        bg = 255 if img.getpixel((5, 5)) > 200 else int(img.getpixel((img.size[0] - 5, 5)))
        img = img.rotate(rng.uniform(-3, 3), resample=Image.Resampling.BICUBIC, expand=False, fillcolor=bg)
    if "jpeg" in recipe:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(12, 30))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    return img


def save_letter(pages: list[Image.Image], rng: random.Random, stem: Path, recipe: list[str]) -> tuple[str, str]:
    dpi = pages[0].info.get("dpi", (200, 200))
    bilevel = rng.random() < 0.55 and "noise" not in recipe
    multi = len(pages) > 1
    if bilevel:
        thr = rng.randint(110, 170)
        pages = [pg.point(lambda v, t=thr: 255 if v > t else 0).convert("1") for pg in pages]
        if multi or rng.random() < 0.35:
            out = stem.with_suffix(".tif")
            pages[0].save(out, compression="group4", save_all=True, append_images=pages[1:],
                          dpi=dpi)
            return out.name, "bilevel TIFF G4"
        out = stem.with_suffix(".png")
        pages[0].save(out, optimize=True, dpi=dpi)
        return out.name, "bilevel PNG"
    if multi or not set(recipe) <= {"skew"} or rng.random() < 0.4:
        out = stem.with_suffix(".pdf")
        pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=float(dpi[0]),
                      quality=rng.randint(25, 45))
        return out.name, "grayscale JPEG in PDF"
    out = stem.with_suffix(".png")
    # posterise to 8 grey levels to keep PNG small
    q = pages[0].point(lambda v: min(255, (v // 32) * 36))
    q.save(out, optimize=True, dpi=dpi)
    return out.name, "grayscale PNG (8 levels)"


# ----------------------------------------------------------------------------------------------------------------


def assign_modes(n: int, rng: random.Random) -> list[str]:
    nd = round(n * 0.45)
    nt = round(n * 0.35)
    modes = ["department"] * nd + ["town"] * nt + ["person"] * (n - nd - nt)
    rng.shuffle(modes)
    return modes


def main() -> None:
    manifest = ["file\tsplit\tpostbox\tdepartment\taddressing\tperson\tdocument_type\tpages\tdpi\tformat\t"
                "degradations\tlayout\toccasion"]
    for split, seed in (("test", 20261207), ("dev", 7121962)):
        rng = random.Random(seed)
        half = 0 if split == "test" else 1
        pools = {
            "first": FIRST[half::2], "last": LAST[half::2], "streets": STREETS[half::2],
        }
        occs = parse_occasions(HERE / f"occasions_{split}.txt", split)
        letters = [Letter(split, o, i) for o in occs for i in range(o.n)]
        rng.shuffle(letters)
        for lt, mode in zip(letters, assign_modes(len(letters), rng), strict=True):
            lt.mode = mode
        outdir = ROOT / split
        outdir.mkdir(parents=True, exist_ok=True)
        for old in outdir.iterdir():
            old.unlink()
        for num, lt in enumerate(letters, 1):
            lrng = random.Random(f"{seed}-{num}")
            build_letter(lt, lrng, pools)
            pages = render(lt, lrng)
            recipe: list[str] = []
            for deg, pr in (("skew", 0.45), ("blur", 0.2), ("noise", 0.15), ("jpeg", 0.15), ("photocopy", 0.15)):
                if lrng.random() < pr:
                    recipe.append(deg)
            pages = [degrade(pg, lrng, recipe) for pg in pages]
            stem = outdir / f"{split}_{num:04d}"
            dpi = round(pages[0].width / (210 / 25.4))
            for pg in pages:
                pg.info["dpi"] = (dpi, dpi)
            fname, fmt = save_letter(pages, lrng, stem, recipe)
            dept = POSTBOX_DEPT[lt.occ.postbox]
            truth = {
                "postbox": lt.occ.postbox, "department": dept, "addressing": lt.mode, "person": lt.person,
                "document_type": lt.occ.doc_type, "department_name_as_written": lt.dept_written,
                "occasion": lt.occ.occasion,
            }
            (outdir / f"{split}_{num:04d}.truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1)
                                                                  + "\n", encoding="utf-8")
            manifest.append("\t".join([
                f"{split}/{fname}", split, lt.occ.postbox, dept, lt.mode, lt.person or "", lt.occ.doc_type or "",
                str(len(pages)), str(dpi), fmt, ",".join(recipe) or "none", lt.layout,
                f"{lt.occ.key}: {lt.occ.occasion}"]))
            print(split, num, fname, lt.occ.postbox, lt.mode, len(pages), fmt, recipe, flush=True)
    (ROOT / "manifest.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
