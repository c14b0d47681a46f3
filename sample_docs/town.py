"""Typed loader of the organisation directory of Stadt Musterstadt (``musterstadt.yaml``).

The directory lists departments (Ämter) with their official names, aliases, former names, Amt numbers,
postboxes (Postkörbe: the inboxes of the DMS that documents are routed into) and Aktenzeichen (file reference)
formats; the persons working there with deputies; and the target postbox of every document type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from sample_docs.checksums import leitweg_id_ok

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "mailroom" / "data" / "musterstadt.yaml"


@dataclass(frozen=True)
class Postbox:
    id: str
    name: str
    department: str


@dataclass(frozen=True)
class AktenzeichenFormat:
    """How a department writes its file references: a ``str.format`` pattern and a regex matching it."""

    format: str
    regex: str

    def make(self, amt: str, year: int, seq: int) -> str:
        return self.format.format(amt=amt, year=year, seq=seq)

    def matches(self, text: str) -> bool:
        return re.fullmatch(self.regex, text) is not None


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    amt: str
    aliases: tuple[str, ...]
    former_names: tuple[str, ...]
    postboxes: tuple[str, ...]
    aktenzeichen: AktenzeichenFormat

    @property
    def main_postbox(self) -> str:
        """The department's general postbox (the one named like the department, else the first)."""
        return self.id if self.id in self.postboxes else self.postboxes[0]


@dataclass(frozen=True)
class Person:
    id: str
    title: str
    salutation: str  # "Herr" or "Frau"
    first_name: str
    last_name: str
    department: str
    role: str
    deputy: str | None = None
    former_department: str | None = None
    postbox: str | None = None  # where mail for them goes (the directory's optional person postbox)

    @property
    def display_name(self) -> str:
        """E.g. ``Dr. Thomas Meier``."""
        return " ".join(p for p in (self.title, self.first_name, self.last_name) if p)

    @property
    def addressed(self) -> str:
        """Form used in an address field, e.g. ``Herrn Dr. Meier`` (accusative ``Herrn``)."""
        salutation = "Herrn" if self.salutation == "Herr" else "Frau"
        return " ".join(p for p in (salutation, self.title, self.last_name) if p)


@dataclass(frozen=True)
class TownAddress:
    name: str
    administration: str
    street: str
    postcode: str
    city: str
    phone: str
    email: str
    website: str


@dataclass(frozen=True)
class DocumentTypeRoute:
    """Target postbox of a document type: fixed, or one of several candidates decided by the content."""

    postbox: str | None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Town:
    address: TownAddress
    leitweg_id: str
    mayor: str
    departments: dict[str, Department]
    postboxes: dict[str, Postbox]
    persons: dict[str, Person]
    document_types: dict[str, DocumentTypeRoute] = field(default_factory=dict)

    def department_of_postbox(self, postbox: str) -> Department:
        return self.departments[self.postboxes[postbox].department]

    def persons_in(self, department: str) -> list[Person]:
        return [p for p in self.persons.values() if p.department == department]

    def department_by_name(self, name: str) -> Department | None:
        """Find a department by official name, alias or former name (exact, case-insensitive)."""
        wanted = name.casefold()
        for dep in self.departments.values():
            names = (dep.name, *dep.aliases, *dep.former_names)
            if any(n.casefold() == wanted for n in names):
                return dep
        return None


def _parse(raw: dict[str, Any]) -> Town:
    t = raw["town"]
    address = TownAddress(
        name=t["name"],
        administration=t["administration"],
        street=t["street"],
        postcode=str(t["postcode"]),
        city=t["city"],
        phone=t["phone"],
        email=t["email"],
        website=t["website"],
    )
    departments = {
        d["id"]: Department(
            id=d["id"],
            name=d["name"],
            amt=str(d["amt"]),
            aliases=tuple(d.get("aliases") or ()),
            former_names=tuple(d.get("former_names") or ()),
            postboxes=tuple(d["postboxes"]),
            aktenzeichen=AktenzeichenFormat(**d["aktenzeichen"]),
        )
        for d in raw["departments"]
    }
    postboxes = {p["id"]: Postbox(**p) for p in raw["postboxes"]}
    persons = {p["id"]: Person(**p) for p in raw["persons"]}
    routes = {
        name: DocumentTypeRoute(postbox=r.get("postbox"), candidates=tuple(r.get("postboxes") or ()))
        for name, r in raw["document_types"].items()
    }
    town = Town(
        address=address,
        leitweg_id=t["leitweg_id"],
        mayor=t["mayor"],
        departments=departments,
        postboxes=postboxes,
        persons=persons,
        document_types=routes,
    )
    _check(town)
    return town


def _check(town: Town) -> None:
    """Reject an inconsistent directory early: dangling ids or an invalid Leitweg-ID."""
    problems: list[str] = []
    if not leitweg_id_ok(town.leitweg_id):
        problems.append(f"Leitweg-ID {town.leitweg_id} has wrong check digits")
    for dep in town.departments.values():
        problems += [f"{dep.id}: unknown postbox {p}" for p in dep.postboxes if p not in town.postboxes]
    for box in town.postboxes.values():
        if box.department not in town.departments:
            problems.append(f"postbox {box.id}: unknown department {box.department}")
    for person in town.persons.values():
        for dep_id in (person.department, person.former_department):
            if dep_id is not None and dep_id not in town.departments:
                problems.append(f"person {person.id}: unknown department {dep_id}")
        if person.deputy is not None and person.deputy not in town.persons:
            problems.append(f"person {person.id}: unknown deputy {person.deputy}")
    for name, route in town.document_types.items():
        for box_id in (route.postbox, *route.candidates):
            if box_id is not None and box_id not in town.postboxes:
                problems.append(f"document type {name}: unknown postbox {box_id}")
    if town.mayor not in town.persons:
        problems.append(f"unknown mayor {town.mayor}")
    if problems:
        raise ValueError("invalid town directory: " + "; ".join(problems))


def load_town(path: Path | None = None) -> Town:
    """Load and check an organisation directory; the default is Stadt Musterstadt."""
    if path is None:
        return _default_town()
    return _parse(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _default_town() -> Town:
    return _parse(yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8")))
