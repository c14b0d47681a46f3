"""The responsibilities catalogue at work: which department a letter's words and its address lines point to.

    catalogue = catalogue_for(directory)
    catalogue.content_evidence(text, subject)   # [PostboxEvidence(postbox, department, score, hits)], best first
    catalogue.address_hits(line)                # [UnitHit(department, kind, score, matched)]: "Team Personalservice"
    catalogue.addressed_postbox(lines, department)  # ("ordnungsamt-gewerbe", "Gewerbeamt"): a task's unit named

**Content.** The letter is read from its subject line on (letterhead, address field and information block are
about the sender, not the matter), without lines of a letterhead or footer (bank, register, contact, a
company's name) and without street addresses and postcodes. Every word of every task (``Hundesteuer``,
``Schlagloch``, ``Hund anmelden``) becomes a *signature*: the set of word stems it is made of after compound
splitting (:mod:`classifiers.german`), so that ``Hundesteuer`` = {hund, steu} is found in
``Hundesteuerabmeldung``, ``Hundesteuer-Bescheid`` and in ``Steuer für meinen Hund`` (parts at most
:data:`WINDOW` words apart), in any inflection. A signature that several departments list counts for each with
``1 / their number``; a signature of several parts counts more than one of a single part (it is more specific),
and a match that a longer signature of another department contains is dropped (``Abfallgebühr`` is the
Steueramt's, not the Umweltamt's ``Abfall``). Words in the subject line count :data:`SUBJECT_WEIGHT` times.

**Address lines.** A line names a unit when it carries a unit word (Amt, Fachbereich, Fachdienst, Sachgebiet,
Abteilung, Team, Referat, Dezernat, Stabsstelle, Bereich, Dienststelle ...; ``FB``, ``FD``, ``SG``, ``Abt.``)
or a compound on ``-amt`` / ``-stelle`` / ``-behörde``, and what remains are words of one department's names,
aliases, former names or unit names (``Abteilung Finanzen und Controlling`` → Kämmerei; ``Fachdienst
Öffentliche Sicherheit und Ordnung`` → Ordnungsamt; OCR-misread words within an edit or two). Unit numbers:
``Amt 66``, ``Amt 66.2``, ``FB 3`` or ``Fachbereich 3`` when a department lists it under ``numbers``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from classifiers.german import Vocabulary, fold, stem, words
from mailroom.directory import Directory

WINDOW = 4  # the parts of a signature may lie this many words apart ("Steuer für meinen Hund")
SUBJECT_WEIGHT = 1.5
MULTI_PART_WEIGHT = 1.5  # a signature of two or more parts is more specific than one of a single part
# a task word found only as the first part of a compound whose last part (its head, what the word means) is
# unknown weighs this much: a "Geburtstag" is a day, not a birth ("Geburt", Standesamt)
UNKNOWN_HEAD_WEIGHT = 0.5
NAME_WEIGHT = 1.0  # a department's own name in the text ("an das Steueramt")
MIN_FUZZY = 85.0  # rapidfuzz ratio for an OCR-misread word of an address line (words of 5+ letters)

# unit words of German municipal administrations (folded), with their abbreviations
UNIT_WORDS = {
    "amt": "Amt", "fachbereich": "Fachbereich", "fb": "Fachbereich", "fachdienst": "Fachdienst",
    "fd": "Fachdienst", "sachgebiet": "Sachgebiet", "sg": "Sachgebiet", "abteilung": "Abteilung",
    "abt": "Abteilung", "team": "Team", "referat": "Referat", "ref": "Referat", "dezernat": "Dezernat",
    "dez": "Dezernat", "stabsstelle": "Stabsstelle", "bereich": "Bereich", "geschaftsbereich": "Bereich",
    "dienststelle": "Dienststelle", "fachgebiet": "Fachgebiet", "fachstelle": "Fachstelle", "stelle": "Stelle",
    "sachbereich": "Sachbereich", "service": "Service", "servicestelle": "Servicestelle", "buro": "Büro",
    "zentrum": "Zentrum", "fachamt": "Amt", "verwaltung": "Verwaltung", "behorde": "Behörde",
    "produktbereich": "Bereich", "gruppe": "Gruppe", "arbeitsgruppe": "Gruppe", "sachgebietsleitung": "Sachgebiet",
}
_UNIT_SUFFIXES = ("amt", "amts", "stelle", "behorde", "abteilung", "buro", "verwaltung", "kasse", "service")
_STOP = {
    "fur", "und", "der", "die", "das", "des", "den", "dem", "u", "sowie", "im", "in", "zu", "zur", "zum", "an",
    "am", "von", "vom", "mit", "stadt", "stadtverwaltung", "gemeinde", "gemeindeverwaltung", "kreisstadt",
    "verwaltung", "angelegenheiten", "herrn", "herr", "frau", "z", "hd", "zhd", "attn", "oder", "bzw", "et",
}
_NUMBERED = re.compile(
    r"\b(amt|fachbereich|fb|fachdienst|fd|sachgebiet|sg|abteilung|abt|team|referat|ref|dezernat|dez|bereich)"
    r"\.?\s*(\d{1,3}(?:\.\d{1,3})*)\b",
    re.IGNORECASE,
)
_STREET = re.compile(
    r"\b[\wäöüÄÖÜß.\-]*(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer|chaussee)\s*\d+\s*[a-z]?\b",
    re.IGNORECASE,
)
_POSTCODE_CITY = re.compile(r"\b\d{5}\s+[\wäöüÄÖÜß\-]+")

# parts that German municipal compounds are built from: known even when no catalogue word stands alone
_COMPONENT_TEXT = (
    "Hund Steuer Grund Gewerbe Straße Weg Geh Rad Bau Antrag Genehmigung Bescheid Meldung Anmeldung Abmeldung "
    "Ummeldung Geburt Ehe Sterbe Urkunde Kind Kita Schule Schüler Wohnung Geld Miete Sozial Hilfe Jugend Familie "
    "Baum Fällung Park Verkehr Lärm Müll Abfall Wasser Kanal Abwasser Licht Beleuchtung Winter Dienst Gebühr "
    "Beitrag Mahnung Rechnung Vollstreckung Konto Kasse Personal Ausbildung Vergabe Angebot Ausschreibung Plan "
    "Bebauung Fläche Nutzung Sonder Erlaubnis Platz Halle Sport Markt Ausweis Reise Pass Melde Register Auskunft "
    "Feuer Wehr Schutz Natur Klima Umwelt Grün Spiel Betreuung Pflege Unterhalt Vorschuss Sorge Recht Zahlung "
    "Gaststätte Fund Sache Zeugnis Führung Wahl Brief Zweit Wohnsitz Ordnung Sicherheit Finanz Haushalt Bürger "
    "Einwohner Stand Amt Stelle Behörde Vertrag Schaden Fahrbahn Lampe Laterne Schnee Glätte Reinigung Anschluss "
    "Entwässerung Regen Gebäude Dach Garten Hof Gericht Klage Versicherung Zuschuss Teilhabe Senior Pflicht "
    "Gestattung Zeit Sperr Veranstaltung Kultur Bücher Musik Haus Nummer Eigentum Pacht Kauf Verkauf Tier "
    "Taube Ratte Tonne Sack Sperrmüll Graffiti Firma Zuzug Umzug"
)
COMPONENTS = _COMPONENT_TEXT.split()
_UNIT_STEMS = {stem(w) for w in (*UNIT_WORDS, "stelle", "abteilung", "behörde", "büro", "verwaltung", "amt")}


@dataclass(frozen=True)
class TaskHit:
    """One task word found in the letter."""

    word: str  # the catalogue word ("Hundesteuer")
    found: str  # what the letter says ("Hundesteuerabmeldung")
    task: str
    weight: float


@dataclass
class PostboxEvidence:
    """What the letter's words say for one postbox (of one department)."""

    postbox: str
    department: str
    score: float = 0.0
    hits: list[TaskHit] = field(default_factory=list)

    def reason(self, limit: int = 4) -> str:
        shown = sorted(self.hits, key=lambda h: -h.weight)[:limit]
        words_found = ", ".join(f"'{h.found}' ({h.task})" for h in shown)
        return f"catalogue: {words_found} → {self.department} ({self.score:.1f})"


@dataclass(frozen=True)
class UnitHit:
    """An address line that names a unit of a department, and how well (0..100)."""

    department: str
    kind: str  # unit_name | unit_number
    score: float
    text: str
    matched: str


@dataclass(frozen=True)
class _Signature:
    parts: tuple[str, ...]  # sorted, distinct
    word: str
    department: str
    postbox: str
    task: str


class Catalogue:
    """The responsibilities of a directory, prepared for matching (see the module doc)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._town = {fold(w) for name in directory.town_names for w in words(name)}  # "Musterstadt"
        everything: list[str] = list(COMPONENTS)
        for dep in directory.departments.values():
            for task in dep.tasks:
                everything += [w for phrase in task.all_words for w in words(phrase)]
            for name in (*dep.names, *dep.all_unit_names):
                everything += words(name)
        self.vocabulary = Vocabulary(_atomic({stem(w) for w in everything if len(w) >= 3}), stemmed=True)
        self._signatures: dict[tuple[str, ...], list[_Signature]] = defaultdict(list)
        for dep in directory.departments.values():
            main = dep.main_postbox
            for task in dep.tasks:
                postbox = task.postbox or main
                if postbox is None:
                    continue
                for phrase in task.all_words:
                    parts = self.signature(phrase)
                    if parts and not any(s.department == dep.id for s in self._signatures[parts]):
                        self._signatures[parts].append(_Signature(parts, phrase, dep.id, postbox, task.name))
            if main is not None:
                # a name that is a task's unit ("Gewerbeamt") points to that task's postbox
                unit_postbox = {fold(n): t.postbox for t in dep.tasks if t.postbox for n in t.unit_names}
                for name in (dep.name, *dep.aliases, *dep.former_names):
                    parts = self.signature(name)
                    if len(parts) == 1 and len(parts[0]) < 8:  # "Kasse", "Recht": too common in other words
                        continue
                    if parts and not any(s.department == dep.id for s in self._signatures[parts]):
                        postbox = unit_postbox.get(fold(name), main)
                        self._signatures[parts].append(_Signature(parts, name, dep.id, postbox, dep.name))
        self._by_part: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for parts in self._signatures:
            for part in parts:
                self._by_part[part].append(parts)
        # address: the name parts of every department (names, aliases, former names, unit names)
        self._name_parts: dict[str, set[str]] = {}
        self._whole_names: dict[str, set[frozenset[str]]] = {}
        self._name_specificity: dict[str, float] = {}
        holders: dict[str, set[str]] = defaultdict(set)
        for dep in directory.departments.values():
            each = [frozenset(self._content_parts(name)) for name in (*dep.names, *dep.all_unit_names)]
            self._whole_names[dep.id] = {parts for parts in each if parts}
            name_parts = {p for parts in each for p in parts}
            self._name_parts[dep.id] = name_parts
            for p in name_parts:
                holders[p].add(dep.id)
        self._name_specificity = {p: 1.0 / len(deps) for p, deps in holders.items()}
        # the units of tasks with their own postbox ("Gewerbeamt", "Zentrale Vergabestelle"): name parts per postbox
        # with the parts only they have in the department ("vergabe", not the "zentral" of "Zentrale Dienste")
        self._postbox_units: dict[str, dict[str, tuple[set[str], set[str]]]] = defaultdict(dict)
        for dep in directory.departments.values():
            named: dict[str, set[str]] = defaultdict(set)
            for task in dep.tasks:
                if task.postbox is None or task.postbox == dep.main_postbox:
                    continue
                names = list(task.unit_names)
                box = directory.postboxes.get(task.postbox)
                if box is not None and box.name != box.id:
                    names.append(box.name)
                named[task.postbox].update(p for name in names for p in self._unit_parts(name))
            task_units = {fold(n) for t in dep.tasks for n in t.unit_names}
            for postbox, unit_parts in named.items():
                others = {p for name in (*dep.names, *dep.unit_names) if fold(name) not in task_units
                          for p in self._unit_parts(name)}
                others.update(p for box, other in named.items() if box != postbox for p in other)
                if unit_parts - others:
                    self._postbox_units[dep.id][postbox] = (unit_parts, unit_parts - others)
        self._numbers: dict[tuple[str, str], set[str]] = defaultdict(set)
        for dep in directory.departments.values():
            for number in dep.numbers:
                found = _NUMBERED.search(number)
                if found:
                    self._numbers[(UNIT_WORDS[found.group(1).lower()], found.group(2))].add(dep.id)

    # --- signatures -----------------------------------------------------------------------------------

    def signature(self, phrase: str) -> tuple[str, ...]:
        """The distinct stems a catalogue word or phrase is made of (sorted); unknown words count whole."""
        parts: set[str] = set()
        for word in words(phrase):
            if fold(word) in _STOP or len(word) < 3:
                continue
            whole = stem(word)
            # split only when known parts make up the whole word ("Hunde-steuer"); "Leitweg" stays one part
            covering = self.vocabulary.covering(whole) if whole not in self.vocabulary.stems else None
            parts.update(covering if covering else (whole,))
        return tuple(sorted(parts))

    def _content_parts(self, name: str) -> list[str]:
        out: list[str] = []
        for word in words(name):
            folded = fold(word)
            if folded in _STOP or folded in UNIT_WORDS:
                continue
            parts = self.vocabulary.parts(word) or ((stem(word),) if len(word) >= 3 else ())
            out += [p for p in parts if p not in UNIT_WORDS]
        return out

    def _unit_parts(self, name: str) -> list[str]:
        """The subject parts of a unit's name, without parts of unit words ("Gewerbe-melde-stelle": gewerb, meld)."""
        return [p for p in self._content_parts(name) if p not in _UNIT_STEMS]

    # --- content --------------------------------------------------------------------------------------

    def content_evidence(self, text: str, subject: str = "", address: str = "") -> list[PostboxEvidence]:
        """Postboxes the letter's words point to, best first (see the module doc)."""
        body = readable_body(text, subject, address)
        found: dict[tuple[str, ...], tuple[float, str]] = {}  # signature -> (weight factor, word found)
        for source, factor in ((body, 1.0), (_readable(subject, ""), SUBJECT_WEIGHT)):
            for parts, word, head in self._matches(source):
                if parts not in found or found[parts][0] < factor * head:
                    found[parts] = (factor * head, word)
        # a signature contained in a longer matched one does not count again ("Haftpflicht" in
        # "Haftpflichtversicherung"), nor for another department ("Abfall" in "Abfallgebühr")
        kept = {
            parts: value
            for parts, value in found.items()
            if not any(len(other) > len(parts) and set(parts) <= set(other) for other in found)
        }
        evidence: dict[str, PostboxEvidence] = {}
        for parts, (factor, word) in kept.items():
            holders = self._signatures[parts]
            departments = {s.department for s in holders}
            weight = factor * (MULTI_PART_WEIGHT if len(parts) > 1 else 1.0) / len(departments)
            for sig in holders:
                entry = evidence.setdefault(sig.postbox, PostboxEvidence(sig.postbox, sig.department))
                entry.score += weight
                entry.hits.append(TaskHit(sig.word, word, sig.task, weight))
        return sorted(evidence.values(), key=lambda e: -e.score)

    def _matches(self, text: str) -> Iterable[tuple[tuple[str, ...], str, float]]:
        """(signature, the letter's word, weight factor) for every signature found: all its parts in one word
        ("Hunde-steuer-abmeldung"), or each part a word of its own within the window ("Steuer für meinen Hund");
        parts inside different compounds do not combine ("Berechnungsgrundlagen ... Steuerkraft" is no
        "Grundsteuer"). Found only in words whose head is unknown ("Geburts|tag"): :data:`UNKNOWN_HEAD_WEIGHT`."""
        tokens = words(text)
        inside: dict[str, list[int]] = defaultdict(list)  # part -> positions of words containing it
        whole: dict[str, list[int]] = defaultdict(list)  # part -> positions of words that are just it
        headless: set[int] = set()  # positions of compounds whose last part is unknown
        for i, token in enumerate(tokens):
            if len(token) < 3:
                continue
            parts = self.vocabulary.parts(token) or (stem(token),)
            for part in parts:
                inside[part].append(i)
            if not _ends_in(token, parts[-1]):
                headless.add(i)
            elif len(set(parts)) == 1:
                whole[parts[0]].append(i)
        seen: set[tuple[str, ...]] = set()
        for part in inside:
            for parts in self._by_part.get(part, ()):
                if parts in seen or any(p not in inside for p in parts):
                    continue
                seen.add(parts)
                anchor, factor = _in_one_word(parts, inside, headless), 1.0
                if anchor is not None and anchor in headless:
                    factor = UNKNOWN_HEAD_WEIGHT
                if (anchor is None or anchor in headless) and all(p in whole for p in parts):
                    anchor, factor = _within_window(parts, whole) or anchor, 1.0
                if anchor is not None:
                    yield parts, tokens[anchor], factor

    # --- address lines --------------------------------------------------------------------------------

    def address_hits(self, line: str) -> list[UnitHit]:
        """Departments a line of the address field names by unit name or unit number (see the module doc)."""
        hits: list[UnitHit] = []
        for found in _NUMBERED.finditer(line):
            kind, number = UNIT_WORDS[found.group(1).lower()], found.group(2)
            for dep_id in self._departments_numbered(kind, number):
                hits.append(UnitHit(dep_id, "unit_number", 100.0, found.group(0), f"{kind} {number}"))
        tokens = [fold(w) for w in words(_NUMBERED.sub(" ", line))]
        if not tokens:
            return hits
        unit_word = any(self._is_unit_word(t) for t in tokens)
        content = [t for t in tokens if t not in _STOP and t not in self._town and not self._is_unit_word(t)]
        if not content or not (unit_word or any(t.endswith(_UNIT_SUFFIXES) for t in content)):
            return hits
        line_parts: list[str] = []
        for token in content:
            known = self.vocabulary.parts(token)
            parts = [p for p in known if p not in UNIT_WORDS and p != "amt"]
            if not parts and len(token) >= 5:
                fuzzy = self._fuzzy_part(token)
                parts = [fuzzy] if fuzzy else []
            if not parts:
                parts = [stem(token)]
            elif known and not (_ends_in(token, known[-1]) and fold(token).startswith(known[0])):
                # its first or last part is unknown: the word names something else ("Bürger|beauftragter" is no
                # Bürgerbüro, "Beige|ordneter" no Ordnungsamt); the unknown part stays unexplained
                parts = [*parts, stem(token)]
            line_parts += parts
        if not line_parts:
            return hits
        scored = []
        for dep_id, names in self._name_parts.items():
            explained = [p for p in line_parts if p in names]
            if not explained:
                continue
            coverage = len(explained) / len(line_parts)
            specific = max(self._name_specificity.get(p, 0.0) for p in explained)
            whole = 0.05 if frozenset(line_parts) in self._whole_names[dep_id] else 0.0  # one of its names exactly
            scored.append((min(1.0, coverage * (0.85 + 0.15 * specific) + whole), dep_id, explained))
        if scored:
            scored.sort(key=lambda s: -s[0])
            best = scored[0][0]
            for score, dep_id, explained in scored:
                if score >= best - 1e-9 and score >= 0.99 * 0.85:
                    hits.append(UnitHit(dep_id, "unit_name", round(100 * score, 1), line.strip(),
                                        " ".join(explained)))
        return hits

    def addressed_postbox(self, lines: Sequence[str], department: str) -> tuple[str, str] | None:
        """The postbox of ``department`` whose task's unit an address line names, with that line: every subject
        word of the line (or of a part between dashes, slashes, commas) belongs to the unit names of one task
        with its own postbox ("Gewerbeamt", "Zentrale Vergabe- und Beschaffungsstelle"); OCR-misread words within
        an edit or two. A line that also names other matters ("Ordnung und Gewerbe") names the department."""
        units = self._postbox_units.get(department)
        if not units:
            return None
        for line in lines:
            for piece in {line, *re.split(r"\s*[/,]\s*|\s+[—–-]+\s+|\s*[—–]\s*", line)}:
                if any(c.isdigit() for c in piece):
                    continue
                parts = set(self._unit_parts(piece)) - self._town
                if not parts:
                    continue
                for postbox, (unit_parts, own) in units.items():
                    if all(_similar(p, unit_parts) for p in parts) and any(_similar(p, own) for p in parts):
                        return postbox, piece.strip()
        return None

    def _is_unit_word(self, token: str) -> bool:
        if token in UNIT_WORDS:
            return True
        return len(token) >= 7 and any(fuzz.ratio(token, u) >= MIN_FUZZY for u in UNIT_WORDS if len(u) >= 7)

    def _departments_numbered(self, kind: str, number: str) -> set[str]:
        listed = self._numbers.get((kind, number), set())
        if listed:
            return listed
        head = number.split(".")[0]
        if kind in ("Amt", "Fachdienst", "Sachgebiet", "Abteilung", "Referat", "Team") and len(head) == 2:
            return {d.id for d in self.directory.departments.values() if d.amt == head}
        return set()

    def _fuzzy_part(self, token: str) -> str | None:
        """A name part an OCR-misread token stands for (one or two wrong letters in a word of 5+ letters)."""
        best, best_score = None, MIN_FUZZY
        for part in self._name_specificity:
            if abs(len(part) - len(token)) > 3:
                continue
            score = fuzz.ratio(stem(token), part)
            if score >= best_score:
                best, best_score = part, score
        return best


def _similar(part: str, parts: set[str]) -> bool:
    """``part`` is one of ``parts``, or (5+ letters) an OCR-misread one."""
    return part in parts or (len(part) >= 5 and any(fuzz.ratio(part, p) >= MIN_FUZZY for p in parts))


def _atomic(stems: set[str]) -> set[str]:
    """Stems that are not themselves a compound of other known stems (so that compounds split finely)."""
    vocabulary = Vocabulary(stems, stemmed=True)
    out = set()
    for s in stems:
        parts = vocabulary.covering(s, exclude=s)
        if not parts or len(parts) < 2:
            out.add(s)
    return out


def _in_one_word(parts: Sequence[str], positions: dict[str, list[int]], headless: set[int]) -> int | None:
    """A position of a word that contains every part (one whose head is known first), else None."""
    common = set(positions[parts[0]])
    for part in parts[1:]:
        common &= set(positions[part])
    return min(common, key=lambda i: (i in headless, i)) if common else None


def _ends_in(token: str, part: str) -> bool:
    """The word ends in its last known part (up to an ending of two letters): its head is known."""
    base = stem(fold(token).split("-")[-1])
    return any(base[: len(base) - k].endswith(part) for k in range(3))


def _within_window(parts: Sequence[str], positions: dict[str, list[int]]) -> int | None:
    """A position of the first part with every other part at most WINDOW words away, else None."""
    if len(parts) == 1:
        return positions[parts[0]][0]
    for anchor in positions[parts[0]]:
        if all(any(abs(i - anchor) <= WINDOW for i in positions[p]) for p in parts[1:]):
            return anchor
    return None


_FOOTER = re.compile(
    r"IBAN|\bBIC\b|USt|Steuer-?Nr|St\.-?Nr|\bHR[AB]\b|Registergericht|Geschäftsführ|Bankverbindung|Telefon|"
    r"Telefax|\bTel\.|\bFax\b|E-Mail|www\.|https?:|@|\bGmbH\b|\bmbH\b|\bAG\b|\bKG\b|\be\.\s?K\.|\bUG\b|"
    r"\be\.\s?V\.",
    re.IGNORECASE,
)


# the closing of a letter: the lines after it are the signature (a name, a role), not the matter
_CLOSING = re.compile(
    r"^\W*(?:mit\s+)?(?:freundliche[nm]?|viele[nm]?|beste[nm]?|herzliche[nm]?|liebe[nm]?|sonnige[nm]?)\s+gr[üu]"
    r"|^\W*hochachtungsvoll|^\W*mfg\b|^\W*gru[ßs]\s*$",
    re.IGNORECASE,
)
_AFTER_SIGNATURE = re.compile(r"^\W*(?:anlage|p\.?\s?s\.|kopie|verteiler|beilage)", re.IGNORECASE)
SIGNATURE_LINES = 3  # lines after the closing taken for the signature
# a person's name after a form of address: "Herrn Müller", "Frau Dr. Schneider", "Familie Baumann" (surnames are
# words too: Müller, Schneider, Baumann would count as Müll, Schnee, Baum); roles stay ("Herr Bürgermeister")
_NAMED = re.compile(
    r"\b(?:Herrn?|Frau|Familie|Fam\.)\s+(?:(?:Dr|Prof)\.\s*)*"
    r"(?!(?:Ober)?[Bb]ürgermeister|Stadtr|Amtsleit|Landr|Kämmerer|Beigeordnet|Dezernent|Vorsitzend|Direktor)"
    r"([A-ZÄÖÜ][\wäöüß]+(?:-[A-ZÄÖÜ][\wäöüß]+)?)"
)


def _without_signature(lines: list[str]) -> list[str]:
    """The lines without the signature block: the few lines after the closing ("Mit freundlichen Grüßen"), up to
    an enclosure or postscript line, which is kept."""
    out: list[str] = []
    signature = 0
    for line in lines:
        if signature and line.strip():
            if _AFTER_SIGNATURE.search(line):
                signature = 0
            else:
                signature -= 1
                continue
        if _CLOSING.search(line):
            signature = SIGNATURE_LINES
            continue
        out.append(line)
    return out


def readable_body(text: str, subject: str = "", address: str = "") -> str:
    """What a letter is about, to be read for its matter: from the subject line on (letterhead, address field and
    information block are about the sender), without letterhead/footer lines, the signature and persons' names,
    street addresses and postcodes. The catalogue and the routing memory read this."""
    if subject.strip() and subject.strip() in text:
        text = text[text.index(subject.strip()) + len(subject.strip()) :]
    return _readable(text, address)


def _readable(text: str, address: str) -> str:
    """The text without the address field's lines, letterhead/footer lines (bank, register, contact), the
    signature and persons' names, street addresses and postcode + town."""
    skip = {line.strip() for line in address.splitlines() if line.strip()}
    kept = [line for line in text.splitlines() if line.strip() not in skip and not _FOOTER.search(line)]
    joined = _NAMED.sub(" ", "\n".join(_without_signature(kept)))
    return _POSTCODE_CITY.sub(" ", _STREET.sub(" ", joined))


_PREPARED: dict[int, tuple[Directory, Catalogue]] = {}


def catalogue_for(directory: Directory) -> Catalogue:
    """The prepared catalogue of a directory (built once per directory object)."""
    held = _PREPARED.get(id(directory))
    if held is not None and held[0] is directory:
        return held[1]
    if len(_PREPARED) >= 8:
        _PREPARED.pop(next(iter(_PREPARED)))
    catalogue = Catalogue(directory)
    _PREPARED[id(directory)] = (directory, catalogue)
    return catalogue
