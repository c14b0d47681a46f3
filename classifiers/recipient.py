"""Who a letter is for: the address field matched against the organisation directory.

Each address line is compared, tolerant of OCR errors (rapidfuzz), with every department's name, aliases,
former names and unit names ("Amt für Finanzen", "Fachbereich 3", "Stadtkämmerei"), its Amt number ("Kämmerei
(Amt 20)") and with the persons' names ("z. Hd. Herrn Dr. Meier"). The responsibilities catalogue
(:mod:`classifiers.responsibilities`) adds the variants towns use for the same unit: any unit word with the
unit's subject ("Abteilung Finanzen und Controlling", "Team Personalservice", "Fachdienst Öffentliche Sicherheit
und Ordnung") and unit numbers ("Amt 66", "FB 3"). A person who moved is routed to their *current*
department; "persönlich" / "vertraulich" mark the letter confidential for the named person. When the address
names only the town, the town's own Aktenzeichen ("Ihr Zeichen" in the information block, else anywhere in
the text) or a Leitweg-ID names the department. Every match carries the evidence that made it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from classifiers.responsibilities import catalogue_for
from mailroom.directory import Directory, Person
from mailroom.result import Recipient

MIN_NAME_SCORE = 85.0  # rapidfuzz ratio (0..100) for a department name or surname to count
# Confidence of a match by what produced it (times the similarity of the best name match).
CONFIDENCE = {
    "name": 0.97,
    "alias": 0.95,
    "former_name": 0.92,
    "amt_number": 0.9,
    "unit_name": 0.95,
    "unit_number": 0.93,
    "person": 0.95,
    "person_and_department": 0.99,
    "person_moved": 0.93,
    "person_conflict": 0.6,
    "aktenzeichen_info": 0.88,
    "aktenzeichen_text": 0.75,
    "leitweg_id": 0.9,
}

_HANDS = {"z", "zh", "hd", "zhd", "zu", "handen", "von", "attn", "an"}  # "z. Hd.", "zu Händen von"
_SALUTATIONS = {"herrn": "Herr", "herr": "Herr", "hr": "Herr", "frau": "Frau", "fr": "Frau"}
_TITLES = {"dr", "prof", "dipl", "ing", "med", "jur", "rer", "nat", "phil", "mba", "ma", "ba", "habil"}
_CONFIDENTIAL = ("persönlich", "vertraulich", "personlich", "persönlich/vertraulich")
_AMT_NUMBER = re.compile(r"\(?\s*\bamt\s+(\d{2})\s*\)?", re.IGNORECASE)
_LEITWEG = re.compile(r"\b\d{2,12}(?:-[0-9A-Z]{1,30})?-\d{2}\b")
_FOLD = str.maketrans({"ı": "i", "ß": "ss", "ſ": "s", "’": "'", "–": "-", "—": "-"})


@dataclass(frozen=True)
class Evidence:
    """One reason for the match: what was read, what it matched, and how well (0..1)."""

    kind: str  # name, alias, former_name, amt_number, person, person_moved, confidential, aktenzeichen_*
    text: str
    matched: str
    score: float

    def __str__(self) -> str:
        return f"{self.kind}: '{self.text}' ~ {self.matched} ({self.score:.2f})"


@dataclass(frozen=True)
class RecipientMatch:
    department: str | None
    person: str | None
    confidential: bool
    confidence: float
    source: str | None  # "address", "aktenzeichen" or "leitweg_id": where the department came from
    evidence: tuple[Evidence, ...]
    text: str | None = None  # the address field as read

    @property
    def addressed_department(self) -> str | None:
        """The department the address field itself names (not inferred from references)."""
        return self.department if self.source == "address" else None

    def to_result(self) -> Recipient:
        return Recipient(
            text=self.text,
            department=self.department,
            person=self.person,
            confidence=round(self.confidence, 3),
        )


@lru_cache(maxsize=16384)
def normalise(text: str) -> str:
    """Casefolded, accents and punctuation folded away, single spaces: what names are compared as."""
    text = unicodedata.normalize("NFC", text).translate(_FOLD).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


@dataclass(frozen=True)
class _Hit:
    key: str  # department or person id
    kind: str
    text: str
    matched: str
    score: float  # 0..100


_NAME_TABLES: dict[int, tuple[Directory, list[tuple[str, str, str]], list[str]]] = {}


def _name_table(directory: Directory) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(department, kind, name) of every name a whole address line may be, and the names normalised."""
    held = _NAME_TABLES.get(id(directory))
    if held is None or held[0] is not directory:
        rows = []
        for dep in directory.departments.values():
            unit_names = tuple(n for n in dep.all_unit_names if len(n) >= 6)
            for kind, names in (
                ("name", (dep.name,)), ("alias", dep.aliases), ("former_name", dep.former_names),
                ("alias", unit_names),
            ):
                rows += [(dep.id, kind, name) for name in names]
        if len(_NAME_TABLES) >= 8:
            _NAME_TABLES.pop(next(iter(_NAME_TABLES)))
        held = (directory, rows, [normalise(name) for _, _, name in rows])
        _NAME_TABLES[id(directory)] = held
    return held[1], held[2]


def _best_department(part: str, directory: Directory) -> _Hit | None:
    wanted = normalise(part)
    if not wanted:
        return None
    rows, names = _name_table(directory)
    found = process.extractOne(wanted, names, scorer=fuzz.ratio)
    if found is None:
        return None
    dep_id, kind, name = rows[found[2]]
    best = _Hit(dep_id, kind, part, name, float(found[1]))
    town = max((fuzz.ratio(wanted, normalise(n)) for n in directory.town_names), default=0.0)
    if best.score < MIN_NAME_SCORE or town >= best.score:
        return None
    name = names[found[2]]
    if best.score < 100.0 and len(wanted.split()) != len(name.split()) and Levenshtein.distance(wanted, name) >= 3:
        return None  # other words, not OCR slips: "Der Bürgermeister" is no "Oberbürgermeister"
    return best


# the authority's formula under the town's name ("Stadt Musterstadt / - Der Bürgermeister -", "Der Magistrat der
# Stadt ..."): the head of the administration stands for the whole town, not for the mayor's office
_AUTHORITY = re.compile(r"^(?:der|die) (?:ober)?(?:burgermeister(?:in)?|magistrat)(?: der (?:stadt|gemeinde) \w+)?$")


def _department_hits(line: str, directory: Directory) -> list[_Hit]:
    """Department names in one address line (split at "/" and ","), an Amt number, and the catalogue's unit
    names and numbers. The authority's formula ("Der Bürgermeister") names none: it is the town."""
    if _AUTHORITY.match(normalise(line)):
        return []
    original = line
    hits = []
    amt = _AMT_NUMBER.search(line)
    if amt:
        for dep in directory.departments.values():
            if dep.amt == amt.group(1):
                hits.append(_Hit(dep.id, "amt_number", amt.group(0).strip(), f"Amt {dep.amt}", 100.0))
        line = line.replace(amt.group(0), " ")
    for part in [line, *re.split(r"\s*[/,]\s*|\s+[—–-]+\s+|\s*[—–]\s*", line)]:
        if _AUTHORITY.match(normalise(part)):  # "Stadt Musterstadt – Der Bürgermeister –" on one line
            continue
        hit = _best_department(part, directory)
        if hit is not None:
            hits.append(hit)
    if not hits or max(h.score for h in hits) < 95.0:
        catalogue = catalogue_for(directory)
        for piece in {original, *re.split(r"\s*[/,]\s*|\s+[—–-]+\s+|\s*[—–]\s*", original)}:
            hits += [_Hit(h.department, h.kind, h.text, h.matched, h.score) for h in catalogue.address_hits(piece)]
    return hits


def _strip_marker(text: str) -> tuple[str, bool]:
    """The line without "persönlich"/"vertraulich" words, and whether there were any."""
    found = False
    kept = []
    for token in re.split(r"(\s+|/)", text):
        if normalise(token) and max(fuzz.ratio(normalise(token), normalise(m)) for m in _CONFIDENTIAL) >= 85:
            found = True
            continue
        kept.append(token)
    return "".join(kept).strip(" -–/"), found


def _name_score(read: str, name: str) -> float:
    """Similarity 0..100; one OCR error in a name of four or more letters still counts as a match (90)."""
    score = fuzz.ratio(read, name)
    if len(name) >= 4 and Levenshtein.distance(read, name) <= 1:
        score = max(score, 90.0)
    return score


# words before a surname that are roles or titles, not first names ("Herrn Bürgermeister Weber")
_ROLE = re.compile(r"(?:ober)?b[uü]rgermeister|stadtr|amtsleit|landr|k[aä]mmerer|beigeordnet|dezernent|vorsitzend|"
                   r"direktor|leiter|sachbearbeit|beauftragt|referent|kollege|kollegin|dipl|ing$|prof|dr$")


def _is_first_name(token: str) -> bool:
    return token.isalpha() and not _ROLE.match(token)


def _person_hits(line: str, directory: Directory) -> list[_Hit]:
    """A person named in a line: "z. Hd. Herrn Dr. Meier", "Frau Schmitz", "Dr. Thomas Meier"."""
    tokens = normalise(line).split()
    prefixed = False
    salutation = ""
    while tokens and (tokens[0] in _HANDS or tokens[0] in _SALUTATIONS):
        prefixed = True
        salutation = _SALUTATIONS.get(tokens[0], salutation)
        tokens = tokens[1:]
    tokens = [t for t in tokens if t not in _TITLES]
    if not tokens or len(tokens) > 3 or any(c.isdigit() for t in tokens for c in t):
        return []
    needed = MIN_NAME_SCORE if prefixed else 92.0
    hits = []
    for person in directory.persons.values():
        score = max(_name_score(tokens[-1], normalise(n)) for n in person.surnames)
        given = tokens[-2] if len(tokens) > 1 else ""
        if given and person.first_name and fuzz.ratio(given, normalise(person.first_name)) > 85:
            score = min(100.0, score + 5.0)
        elif given and person.first_name and _is_first_name(given) and not (
            len(given) == 1 and given == normalise(person.first_name)[:1]
        ):
            continue  # "Klaus Weber" is not Michael Weber
        if salutation and person.salutation and salutation != person.salutation:
            score -= 10.0
        if score >= needed:
            hits.append(_Hit(person.id, "person", line, person.display_name, score))
    return hits


def _resolve_person(hits: list[_Hit], departments: set[str], directory: Directory) -> _Hit | None:
    """The best person hit; ties go to a person of a department named in the same address."""
    if not hits:
        return None

    def rank(hit: _Hit) -> tuple[float, bool]:
        person = directory.persons[hit.key]
        related = person.department in departments or bool(departments & set(person.former_departments))
        return hit.score, related

    return max(hits, key=rank)


def _with_person(person: Person, person_hit: _Hit, dep_hits: list[_Hit]) -> tuple[str, float, list[Evidence]]:
    """Department, confidence and evidence when a person is named (maybe together with a department)."""
    evidence = [Evidence("person", person_hit.text, person_hit.matched, person_hit.score / 100)]
    named = {h.key for h in dep_hits}
    similarity = person_hit.score / 100
    if not named or person.department in named:
        kind = "person_and_department" if named else "person"
        return person.department, CONFIDENCE[kind] * similarity, evidence
    moved_from = named & set(person.former_departments)
    if moved_from:
        evidence.append(
            Evidence("person_moved", ", ".join(sorted(moved_from)), person.department, similarity)
        )
        return person.department, CONFIDENCE["person_moved"] * similarity, evidence
    evidence.append(Evidence("person_conflict", ", ".join(sorted(named)), person.department, similarity))
    return person.department, CONFIDENCE["person_conflict"] * similarity, evidence


def _from_references(
    your_reference: str | None, text: str, directory: Directory
) -> tuple[str, str, float, Evidence] | None:
    """Department from the town's Aktenzeichen (information block first, then text) or a Leitweg-ID."""
    for source, kind in ((your_reference, "aktenzeichen_info"), (text, "aktenzeichen_text")):
        found = directory.department_for_aktenzeichen(source) if source else None
        if found is not None:
            dep, reference = found
            return dep.id, "aktenzeichen", CONFIDENCE[kind], Evidence(kind, reference, dep.id, 1.0)
    for candidate in _LEITWEG.findall(text):
        leitweg_dep = directory.department_for_leitweg_id(candidate)
        if leitweg_dep is not None:
            evidence = Evidence("leitweg_id", candidate, leitweg_dep.id, 1.0)
            return leitweg_dep.id, "leitweg_id", CONFIDENCE["leitweg_id"], evidence
    return None


def match_recipient(
    lines: Sequence[str],
    directory: Directory,
    *,
    endorsement: str | None = None,
    your_reference: str | None = None,
    text: str = "",
) -> RecipientMatch:
    """Match address lines (recipient lines only: no return address) to a department and person."""
    evidence: list[Evidence] = []
    confidential = False
    dep_hits: list[_Hit] = []
    person_hits: list[_Hit] = []
    if endorsement and _strip_marker(endorsement)[1]:
        confidential = True
        evidence.append(Evidence("confidential", endorsement, "endorsement", 1.0))
    for raw in lines:
        line, marked = _strip_marker(raw)
        if marked:
            confidential = True
            evidence.append(Evidence("confidential", raw, "address line", 1.0))
        line_persons = _person_hits(line, directory)
        if line_persons:
            person_hits += line_persons
        else:
            dep_hits += _department_hits(line, directory)
    address_text = "\n".join(lines) or None
    person_hit = _resolve_person(person_hits, {h.key for h in dep_hits}, directory)
    if person_hit is not None:
        person = directory.persons[person_hit.key]
        department, confidence, person_evidence = _with_person(person, person_hit, dep_hits)
        evidence += [Evidence(h.kind, h.text, h.matched, h.score / 100) for h in dep_hits] + person_evidence
        return RecipientMatch(
            department, person.id, confidential, confidence, "address", tuple(evidence), address_text
        )
    if dep_hits:
        best = max(dep_hits, key=lambda h: (h.score, h.kind == "name"))
        agreeing = {h.key for h in dep_hits}
        confidence = CONFIDENCE[best.kind] * best.score / 100 * (1.0 if len(agreeing) == 1 else 0.7)
        evidence += [Evidence(h.kind, h.text, h.matched, h.score / 100) for h in dep_hits]
        return RecipientMatch(
            best.key, None, confidential, confidence, "address", tuple(evidence), address_text
        )
    inferred = _from_references(your_reference, text, directory)
    if inferred is not None:
        department, source, confidence, reason = inferred
        evidence.append(reason)
        return RecipientMatch(
            department, None, confidential, confidence, source, tuple(evidence), address_text
        )
    return RecipientMatch(None, None, confidential, 0.0, None, tuple(evidence), address_text)
