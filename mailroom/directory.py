"""The organisation directory: departments (Ämter), persons and postboxes of one town administration.

Admins maintain it as YAML (the format of ``data/musterstadt.yaml``, the default directory) or as one CSV
table. Loading validates the whole directory at once and raises :class:`InvalidDirectory` listing every
problem (duplicate ids, references to unknown departments, persons or postboxes, broken regexes).

YAML: top-level ``town`` (``name``, ``administration``, optional ``leitweg_id``), ``departments``,
``postboxes`` (optional: derived from the departments' postbox lists; a postbox has ``id``, ``name``,
``department`` and optionally ``retention_days``) and ``persons``. A department has
``id``, ``name``, ``amt``, ``aliases``, ``former_names``, ``postboxes``, ``leitweg_ids`` and its Aktenzeichen
patterns either as ``aktenzeichen: {regex: ...}`` or as a list ``aktenzeichen_patterns``. A person has ``id``,
``title``, ``salutation``, ``first_name``, ``last_name``, ``department``, ``role``, ``aliases``,
``former_names`` (e.g. a maiden name), ``former_department(s)``, ``deputy``/``deputies`` and optionally
``postbox`` (a postbox of their department that mail for them goes to; default: the department's main postbox).
Other keys (generator hints) are ignored.

The *responsibilities catalogue* (``docs/directory.md``) is part of each department: ``product_area`` (its KGSt
product area, for people), ``unit_names`` (what the unit is about: "Finanzen", "Sicherheit und Ordnung", found in
the address with any unit word such as Amt für / Fachbereich / Team), ``numbers`` ("FB 3", "Fachbereich 3"; the
``amt`` number is always known) and ``tasks``: ``{task: name, words: [...], postbox: optional, unit_names:
optional}``, the department's products in the words citizens and companies use. A task's postbox must belong to
its department; a task's ``unit_names`` name the unit that handles it as an address may ("Gewerbeamt", "Zentrale
Vergabestelle"): mail addressed to one goes to the task's postbox (they are unit names of the department too).

CSV: one row per entry with a ``kind`` column (``department``, ``person`` or ``postbox``) and the field
names above as columns; list values are separated by ``|``.

The directory in force is :func:`current_directory`: the one installed with ``mailroom directory import`` or
``PUT /api/v1/directory`` (:func:`installed_directory_file`), else the default one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from mailroom import yamlio
from mailroom.errors import InvalidDirectory, UnknownPostbox, UnknownSubscriptionPerson
from mailroom.settings import Settings

DEFAULT_PATH = Path(__file__).with_name("data") / "musterstadt.yaml"
LIST_SEPARATOR = "|"


@dataclass(frozen=True)
class Postbox:
    """A Postkorb of the DMS that documents are routed into.

    ``retention_days``: how long mailroom keeps a document of this postbox after it was acknowledged (else after
    it was placed); ``None``: the service default (``MAILROOM_RETENTION_DAYS``), ``0``: forever.
    """

    id: str
    name: str
    department: str
    retention_days: float | None = None


@dataclass(frozen=True)
class Task:
    """One product of a department (KGSt product plan) in the words people write about it."""

    name: str
    words: tuple[str, ...] = ()
    postbox: str | None = None  # a postbox of the department; None: its main postbox
    unit_names: tuple[str, ...] = ()  # the unit handling the task as an address names it ("Gewerbeamt")

    @property
    def all_words(self) -> tuple[str, ...]:
        """The words to find; a task without words is found by its name ("Hundesteuer")."""
        return self.words or (self.name,)


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    amt: str = ""
    aliases: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()
    postboxes: tuple[str, ...] = ()
    leitweg_ids: tuple[str, ...] = ()
    aktenzeichen_patterns: tuple[str, ...] = ()
    product_area: str = ""
    unit_names: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    tasks: tuple[Task, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Official name, aliases and former names."""
        return (self.name, *self.aliases, *self.former_names)

    @property
    def all_unit_names(self) -> tuple[str, ...]:
        """The department's unit names and those of its tasks' units ("Gewerbeamt"), without repeats."""
        names = [*self.unit_names, *(n for task in self.tasks for n in task.unit_names)]
        return tuple(dict.fromkeys(names))

    @property
    def main_postbox(self) -> str | None:
        """The department's general postbox: the one named like the department, else the first."""
        if self.id in self.postboxes:
            return self.id
        return self.postboxes[0] if self.postboxes else None


@dataclass(frozen=True)
class Person:
    id: str
    last_name: str
    department: str
    first_name: str = ""
    title: str = ""
    salutation: str = ""  # "Herr" / "Frau" / ""
    role: str = ""
    aliases: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()
    former_departments: tuple[str, ...] = ()
    deputies: tuple[str, ...] = ()
    postbox: str | None = None  # where their mail goes; None: their department's main postbox

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.title, self.first_name, self.last_name) if p)

    @property
    def surnames(self) -> tuple[str, ...]:
        """Current surname, former surnames and aliases: the names an address line may use."""
        return (self.last_name, *self.former_names, *self.aliases)


@dataclass(frozen=True)
class Directory:
    """A validated organisation directory; look-ups by id, Aktenzeichen and Leitweg-ID."""

    name: str
    departments: Mapping[str, Department]
    persons: Mapping[str, Person]
    postboxes: Mapping[str, Postbox]
    leitweg_id: str | None = None
    town_names: tuple[str, ...] = ()  # "Stadt Musterstadt", "Stadtverwaltung Musterstadt": the whole town

    def persons_in(self, department: str) -> list[Person]:
        return [p for p in self.persons.values() if p.department == department]

    def department_for_aktenzeichen(self, text: str) -> tuple[Department, str] | None:
        """The department whose Aktenzeichen pattern occurs in ``text``, with the matched reference."""
        for dep in self.departments.values():
            for pattern in _compiled(dep.aktenzeichen_patterns):
                found = pattern.search(text)
                if found:
                    return dep, found.group(0)
        return None

    def department_for_leitweg_id(self, leitweg_id: str) -> Department | None:
        wanted = leitweg_id.strip().upper()
        for dep in self.departments.values():
            if wanted in (x.upper() for x in dep.leitweg_ids):
                return dep
        return None


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Patterns as searches for a whole reference: not a piece of a longer number or code."""
    return tuple(re.compile(rf"(?<![\w.\-/])(?:{p})(?![\w\-/]|\.\d)") for p in patterns)


# --- parsing -----------------------------------------------------------------------------------------------


def _text(raw: Mapping[str, Any], key: str, default: str = "") -> str:
    value = raw.get(key)
    return default if value is None else str(value).strip()


def _list(raw: Mapping[str, Any], *keys: str) -> tuple[str, ...]:
    """A list field under any of ``keys``: YAML lists, single values, or ``|``-separated CSV cells."""
    out: list[str] = []
    for key in keys:
        value = raw.get(key)
        if value is None or value == "":
            continue
        items: Iterable[Any]
        if isinstance(value, list | tuple):
            items = value
        elif isinstance(value, str):
            items = value.split(LIST_SEPARATOR)
        else:
            items = [value]
        out += [str(v).strip() for v in items if str(v).strip()]
    return tuple(out)


class DirectoryProblem(str):
    """One problem of a directory: its English text (what the CLI, the REST API and the logs show) with a stable
    ``code`` and the ``values`` it names, from which the web UI writes it in German (``dir.detail.<code>``)."""

    code: str
    values: dict[str, object]

    def __new__(cls, text: str, code: str = "invalid_directory", **values: object) -> DirectoryProblem:
        problem = super().__new__(cls, text)
        problem.code = code
        problem.values = values
        return problem


def _refused(text: str, code: str, *, field: str | None = None, **values: object) -> InvalidDirectory:
    """A directory that cannot be read at all: its one problem (with its code) is the error's message."""
    return InvalidDirectory(DirectoryProblem(text, code, **values), field=field)


def _tasks(raw: Mapping[str, Any]) -> tuple[Task, ...]:
    value = raw.get("tasks")
    if value is None or value == "":
        return ()
    if isinstance(value, str):  # CSV: "Hundesteuer|Grundsteuer": tasks named by their one word
        return tuple(Task(name=v.strip()) for v in value.split(LIST_SEPARATOR) if v.strip())
    if not isinstance(value, list):
        raise _refused(f"department {_text(raw, 'id')!r}: 'tasks' must be a list", "tasks_not_a_list", field="tasks",
                       department=_text(raw, "id"))
    out = []
    for i, item in enumerate(value, 1):
        if isinstance(item, str):
            out.append(Task(name=item.strip()))
            continue
        if not isinstance(item, Mapping):
            raise _refused(f"department {_text(raw, 'id')!r}: task #{i} must be a name or a mapping", "bad_task",
                           field="tasks", department=_text(raw, "id"), number=i)
        unknown = sorted(set(item) - {"task", "words", "postbox", "unit_names"})
        if unknown:
            raise _refused(f"department {_text(raw, 'id')!r}: task #{i} has unknown keys {', '.join(unknown)}",
                           "task_unknown_keys", field="tasks", department=_text(raw, "id"), number=i,
                           keys=", ".join(unknown))
        out.append(Task(name=_text(item, "task"), words=_list(item, "words"), postbox=_text(item, "postbox") or None,
                        unit_names=_list(item, "unit_names")))
    return tuple(out)


def _department(raw: Mapping[str, Any]) -> Department:
    patterns = list(_list(raw, "aktenzeichen_patterns"))
    akz = raw.get("aktenzeichen")
    if isinstance(akz, Mapping) and akz.get("regex"):
        patterns.append(str(akz["regex"]))
    elif isinstance(akz, str) and akz:
        patterns += akz.split(LIST_SEPARATOR)
    return Department(
        id=_text(raw, "id"),
        name=_text(raw, "name"),
        amt=_text(raw, "amt"),
        aliases=_list(raw, "aliases"),
        former_names=_list(raw, "former_names"),
        postboxes=_list(raw, "postboxes"),
        leitweg_ids=_list(raw, "leitweg_ids", "leitweg_id"),
        aktenzeichen_patterns=tuple(patterns),
        product_area=_text(raw, "product_area"),
        unit_names=_list(raw, "unit_names"),
        numbers=_list(raw, "numbers"),
        tasks=_tasks(raw),
    )


def _person(raw: Mapping[str, Any]) -> Person:
    return Person(
        id=_text(raw, "id"),
        title=_text(raw, "title"),
        salutation=_text(raw, "salutation"),
        first_name=_text(raw, "first_name"),
        last_name=_text(raw, "last_name"),
        department=_text(raw, "department"),
        role=_text(raw, "role"),
        aliases=_list(raw, "aliases"),
        former_names=_list(raw, "former_names"),
        former_departments=_list(raw, "former_departments", "former_department"),
        deputies=_list(raw, "deputies", "deputy"),
        postbox=_text(raw, "postbox") or None,
    )


def _retention_days(raw: Mapping[str, Any]) -> float | None:
    value = raw.get("retention_days")
    if value is None or value == "":
        return None
    try:
        days = float(value)
    except (TypeError, ValueError):
        days = -1.0
    if isinstance(value, bool) or not days >= 0 or days == float("inf"):
        raise _refused(
            f"postbox {_text(raw, 'id')!r}: retention_days must be a number of days >= 0 (0: keep forever), "
            f"not {value!r}", "bad_retention_days", field="retention_days", postbox=_text(raw, "id"), value=value,
        )
    return days


def _postbox(raw: Mapping[str, Any]) -> Postbox:
    return Postbox(id=_text(raw, "id"), name=_text(raw, "name"), department=_text(raw, "department"),
                   retention_days=_retention_days(raw))


def _unique(kind: str, ids: list[str], problems: list[DirectoryProblem]) -> None:
    seen: set[str] = set()
    for i, entry_id in enumerate(ids, 1):
        if not entry_id:
            problems.append(DirectoryProblem(f"{kind} #{i}: missing id", f"{kind}_missing_id", number=i))
        elif entry_id in seen:
            problems.append(DirectoryProblem(f"duplicate {kind} id {entry_id!r}", f"{kind}_duplicate_id", id=entry_id))
        seen.add(entry_id)


_NUMBER = re.compile(r"^\s*[A-Za-zÄÖÜäöüß.\- ]+?\s*\d{1,3}(?:\.\d{1,3})*\s*$")


def _catalogue_problems(
    dep: Department, box_ids: set[str], box_department: Mapping[str, str]
) -> list[DirectoryProblem]:
    """What is wrong with a department's responsibilities catalogue (tasks, numbers, unit names)."""
    problems = []
    seen: set[str] = set()
    for i, task in enumerate(dep.tasks, 1):
        name = task.name or f"#{i}"
        where = f"department {dep.id!r}, task {name!r}"

        def problem(text: str, code: str, **values: object) -> DirectoryProblem:
            return DirectoryProblem(f"{where}: {text}", code, department=dep.id, task=name, **values)  # noqa: B023

        if not task.name:
            problems.append(problem("missing task name", "task_missing_name"))
        elif task.name in seen:
            problems.append(problem("listed twice", "task_twice"))
        seen.add(task.name)
        if task.postbox is not None:
            if task.postbox not in box_ids:
                problems.append(problem(f"unknown postbox {task.postbox!r}", "task_unknown_postbox",
                                        postbox=task.postbox))
            elif box_department.get(task.postbox) != dep.id:
                problems.append(problem(f"postbox {task.postbox!r} belongs to another department",
                                        "task_foreign_postbox", postbox=task.postbox))
        if not any(len(w) >= 3 for w in task.all_words):
            problems.append(problem("no word of at least 3 letters", "task_no_word"))
        if task.unit_names and task.postbox is None:
            problems.append(problem("unit_names need the task's own postbox (mail to the unit goes there)",
                                    "task_unit_without_postbox"))
        problems += [problem("empty unit name", "task_empty_unit_name") for n in task.unit_names if not n.strip()]
    for number in dep.numbers:
        if not _NUMBER.match(number):
            problems.append(DirectoryProblem(
                f"department {dep.id!r}: number {number!r} is not a unit word and a number ('FB 3')",
                "department_bad_number", department=dep.id, number=number))
    problems += [DirectoryProblem(f"department {dep.id!r}: empty unit name", "department_empty_unit_name",
                                  department=dep.id) for n in dep.unit_names if not n.strip()]
    return problems


def build_directory(
    name: str,
    departments: list[Department],
    persons: list[Person],
    postboxes: list[Postbox] | None = None,
    leitweg_id: str | None = None,
    town_names: tuple[str, ...] = (),
) -> Directory:
    """Validate and assemble a directory; postboxes default to those the departments list."""
    if postboxes is None:
        postboxes = [Postbox(box, box, d.id) for d in departments for box in d.postboxes]
    problems: list[DirectoryProblem] = []
    _unique("department", [d.id for d in departments], problems)
    _unique("person", [p.id for p in persons], problems)
    _unique("postbox", [b.id for b in postboxes], problems)
    dep_ids = {d.id for d in departments}
    box_ids = {b.id for b in postboxes}
    person_ids = {p.id for p in persons}
    box_department = {b.id: b.department for b in postboxes}
    for dep in departments:
        if not dep.name:
            problems.append(DirectoryProblem(f"department {dep.id!r}: missing name", "department_missing_name",
                                             department=dep.id))
        problems += [
            DirectoryProblem(f"department {dep.id!r}: unknown postbox {b!r}", "department_unknown_postbox",
                             department=dep.id, postbox=b)
            for b in dep.postboxes if b not in box_ids
        ]
        problems += _catalogue_problems(dep, box_ids, box_department)
        for pattern in dep.aktenzeichen_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(DirectoryProblem(
                    f"department {dep.id!r}: invalid Aktenzeichen regex {pattern!r} ({exc})",
                    "department_bad_aktenzeichen", department=dep.id, pattern=pattern, error=str(exc)))
    for box in postboxes:
        if box.department not in dep_ids:
            problems.append(DirectoryProblem(f"postbox {box.id!r}: unknown department {box.department!r}",
                                             "postbox_unknown_department", postbox=box.id, department=box.department))
    for person in persons:
        if not person.last_name:
            problems.append(DirectoryProblem(f"person {person.id!r}: missing last_name", "person_missing_last_name",
                                             person=person.id))
        for dep_id in (person.department, *person.former_departments):
            if dep_id not in dep_ids:
                problems.append(DirectoryProblem(f"person {person.id!r}: unknown department {dep_id!r}",
                                                 "person_unknown_department", person=person.id, department=dep_id))
        problems += [
            DirectoryProblem(f"person {person.id!r}: unknown deputy {d!r}", "person_unknown_deputy",
                             person=person.id, deputy=d)
            for d in person.deputies if d not in person_ids
        ]
        if person.postbox is not None and person.postbox not in box_ids:
            problems.append(DirectoryProblem(f"person {person.id!r}: unknown postbox {person.postbox!r}",
                                             "person_unknown_postbox", person=person.id, postbox=person.postbox))
        elif person.postbox is not None and box_department.get(person.postbox) != person.department:
            problems.append(DirectoryProblem(
                f"person {person.id!r}: postbox {person.postbox!r} is not one of their department's",
                "person_foreign_postbox", person=person.id, postbox=person.postbox))
    if problems:
        raise InvalidDirectory(
            f"invalid organisation directory {name!r}: " + "; ".join(problems), problems=problems
        )
    return Directory(
        name=name,
        departments={d.id: d for d in departments},
        persons={p.id: p for p in persons},
        postboxes={b.id: b for b in postboxes},
        leitweg_id=leitweg_id,
        town_names=town_names or (name,),
    )


def _entries(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise _refused(f"'{key}' must be a list of mappings", "not_a_list", field=key, name=key)
    return value


def parse_yaml(text: str, name: str = "directory") -> Directory:
    try:
        raw = yamlio.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidDirectory(DirectoryProblem(f"{name}: not valid YAML ({exc})", "yaml_syntax",
                                                **yamlio.place(exc))) from exc
    if not isinstance(raw, Mapping):
        raise _refused(f"{name}: expected a mapping with departments and persons", "not_a_mapping")
    town = raw.get("town") or {}
    boxes = _entries(raw, "postboxes")
    return build_directory(
        name=_text(town, "name", name),
        departments=[_department(d) for d in _entries(raw, "departments")],
        persons=[_person(p) for p in _entries(raw, "persons")],
        postboxes=[_postbox(b) for b in boxes] if boxes else None,
        leitweg_id=_text(town, "leitweg_id") or None,
        town_names=tuple(n for n in (_text(town, "name"), _text(town, "administration")) if n),
    )


def parse_csv(text: str, name: str = "directory") -> Directory:
    rows = list(csv.DictReader(text.splitlines()))
    if not rows or "kind" not in rows[0]:
        raise _refused(f"{name}: a CSV directory needs a header with a 'kind' column", "csv_without_kind", field="kind")
    by_kind: dict[str, list[dict[str, str]]] = {"department": [], "person": [], "postbox": []}
    for number, row in enumerate(rows, 2):
        kind = (row.get("kind") or "").strip().lower()
        if kind not in by_kind:
            raise _refused(f"{name}, line {number}: unknown kind {kind!r}", "csv_unknown_kind", field="kind",
                           line=number, kind=kind)
        by_kind[kind].append({k: v for k, v in row.items() if k and v})
    return build_directory(
        name=name,
        departments=[_department(d) for d in by_kind["department"]],
        persons=[_person(p) for p in by_kind["person"]],
        postboxes=[_postbox(b) for b in by_kind["postbox"]] or None,
    )


def load_directory(path: Path) -> Directory:
    """Load and validate a directory from a ``.yaml``/``.yml`` or ``.csv`` file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidDirectory(f"cannot read directory {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidDirectory(f"{path.name}: not UTF-8 text (byte {exc.start})") from exc
    if path.suffix.lower() == ".csv":
        return parse_csv(text, path.stem)
    if path.suffix.lower() in (".yaml", ".yml"):
        return parse_yaml(text, path.stem)
    raise InvalidDirectory(f"{path.name}: a directory is a .yaml, .yml or .csv file")


def to_yaml(directory: Directory) -> str:
    """The directory in the YAML form :func:`parse_yaml` reads (every field; empty ones left out), so that
    ``parse_yaml(to_yaml(d))`` equals ``d``: ``mailroom directory export`` of a directory installed as CSV."""

    def compact(entry: dict[str, Any]) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in entry.items() if v not in ("", (), None)}

    town: dict[str, Any] = {"name": directory.name}
    if len(directory.town_names) > 1:
        town["administration"] = directory.town_names[1]
    if directory.leitweg_id:
        town["leitweg_id"] = directory.leitweg_id
    departments = []
    for dep in directory.departments.values():
        entry = compact({
            "id": dep.id, "name": dep.name, "amt": dep.amt, "aliases": dep.aliases, "former_names": dep.former_names,
            "postboxes": dep.postboxes, "leitweg_ids": dep.leitweg_ids,
            "aktenzeichen_patterns": dep.aktenzeichen_patterns, "product_area": dep.product_area,
            "unit_names": dep.unit_names, "numbers": dep.numbers,
        })
        if dep.tasks:
            entry["tasks"] = [compact({"task": t.name, "words": t.words, "postbox": t.postbox,
                                       "unit_names": t.unit_names}) for t in dep.tasks]
        departments.append(entry)
    postboxes = [compact({"id": b.id, "name": b.name, "department": b.department, "retention_days": b.retention_days})
                 for b in directory.postboxes.values()]
    persons = [
        compact({
            "id": p.id, "title": p.title, "salutation": p.salutation, "first_name": p.first_name,
            "last_name": p.last_name, "department": p.department, "role": p.role, "aliases": p.aliases,
            "former_names": p.former_names, "former_departments": p.former_departments, "deputies": p.deputies,
            "postbox": p.postbox,
        })
        for p in directory.persons.values()
    ]
    data = {"town": town, "departments": departments, "postboxes": postboxes, "persons": persons}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


@lru_cache(maxsize=1)
def default_directory() -> Directory:
    """Stadt Musterstadt's directory, shipped with the package (matches the sample mail)."""
    return load_directory(DEFAULT_PATH)


def installed_directory_file(settings: Settings) -> Path | None:
    """The directory installed with ``mailroom directory import`` (``<data_dir>/directory.yaml|csv``)."""
    return next((p for p in (settings.data_dir / f"directory.{s}" for s in ("yaml", "csv")) if p.exists()), None)


def current_directory(settings: Settings) -> Directory:
    """The installed organisation directory, else the default one; read per call, so that a newly installed
    directory counts at once."""
    installed = installed_directory_file(settings)
    return load_directory(installed) if installed else default_directory()


def postbox_names(settings: Settings) -> dict[str, str]:
    """The postboxes' names by id in the directory in force: a person reads "Standesamt", not its id."""
    return {box.id: box.name for box in current_directory(settings).postboxes.values()}


def check_known_postbox(settings: Settings, postbox: str) -> None:
    """:class:`UnknownPostbox` (422 ``unknown_postbox``) unless the current organisation directory has ``postbox``."""
    directory = current_directory(settings)
    if postbox not in directory.postboxes:
        raise UnknownPostbox(f"no postbox {postbox!r} in the organisation directory {directory.name!r}",
                             field="postbox")


def check_scope(settings: Settings, postboxes: Iterable[str] = (), person: str | None = None) -> None:
    """The postboxes and the person an API key, a user or a subscription is given must exist in the current
    organisation directory: :class:`UnknownPostbox` naming every unknown postbox, :class:`UnknownSubscriptionPerson`
    (``unknown_person``) for an unknown person. A misspelt postbox would give a key that sees nothing."""
    directory = current_directory(settings)
    unknown = [box for box in postboxes if box not in directory.postboxes]
    if unknown:
        raise UnknownPostbox(f"no postbox {', '.join(map(repr, unknown))} in the organisation directory "
                             f"{directory.name!r}", field="postbox")
    if person is not None and person not in directory.persons:
        raise UnknownSubscriptionPerson(f"no person {person!r} in the organisation directory {directory.name!r}",
                                        field="person")
