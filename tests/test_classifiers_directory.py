"""The organisation directory: default, YAML and CSV loading, validation errors, look-ups."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mailroom.directory import default_directory, load_directory, parse_yaml
from mailroom.errors import InvalidDirectory

MINIMAL = """
town: {name: Stadt Beispiel}
departments:
  - {id: kasse, name: Stadtkasse, amt: "21", postboxes: [kasse], aktenzeichen: {regex: "21-\\\\d{4}"}}
persons:
  - {id: mayer, last_name: Mayer, department: kasse}
"""


def test_default_directory_is_musterstadt() -> None:
    d = default_directory()
    assert d.name == "Stadt Musterstadt"
    assert "Stadtverwaltung Musterstadt" in d.town_names
    assert d.departments["kaemmerei"].main_postbox == "kaemmerei"
    assert "Amt für Finanzen" in d.departments["kaemmerei"].names
    lorenz = d.persons["lorenz"]
    assert lorenz.department == "hauptamt" and lorenz.former_departments == ("kaemmerei",)
    assert lorenz.deputies == ("wagner",)
    assert d.postboxes["hauptamt-vergabe"].department == "hauptamt"


def test_aktenzeichen_and_leitweg_lookups() -> None:
    d = default_directory()
    found = d.department_for_aktenzeichen("Widerspruch (Az.: 21-V-2026-01105).")
    assert found is not None and found[0].id == "stadtkasse" and found[1] == "21-V-2026-01105"
    assert d.department_for_aktenzeichen("Bestellung 4711-2026-0001-99") is None
    leitweg = d.department_for_leitweg_id("123450000000-RE01-10")
    assert leitweg is not None and leitweg.id == "kaemmerei"


def test_minimal_yaml_derives_postboxes() -> None:
    d = parse_yaml(MINIMAL)
    assert d.postboxes["kasse"].department == "kasse"
    assert d.department_for_aktenzeichen("Az. 21-1234") is not None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("department: kasse}", "department: bauamt}"), "unknown department 'bauamt'"),
        (
            lambda t: t + "  - {id: mayer, last_name: Maier, department: kasse}\n",
            "duplicate person id 'mayer'",
        ),
        (lambda t: t.replace("department: kasse}", "department: kasse, deputy: nobody}"), "unknown deputy"),
        (lambda t: t.replace('"21-\\\\d{4}"', '"21-(["'), "invalid Aktenzeichen regex"),
    ],
)
def test_invalid_directory_is_refused_with_every_problem(edit: Callable[[str], str], message: str) -> None:
    with pytest.raises(InvalidDirectory) as info:
        parse_yaml(edit(MINIMAL))
    assert message in info.value.message
    assert info.value.code == "invalid_directory"
    assert info.value.details["problems"]


def test_csv_directory(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_text(
        "kind,id,name,amt,aliases,former_names,postboxes,department,last_name,title,former_departments,deputies\n"
        "department,bau,Bauamt,63,Bauaufsicht|Bauordnung,Bauordnungsamt,bau,,,,,\n"
        "department,kasse,Stadtkasse,21,,,kasse,,,,,\n"
        "postbox,bau,Postkorb Bauamt,,,,,bau,,,,\n"
        "postbox,kasse,Postkorb Kasse,,,,,kasse,,,,\n"
        "person,schulz,,,,,,kasse,Schulz,Dr.,bau,\n",
        encoding="utf-8",
    )
    d = load_directory(path)
    assert d.departments["bau"].aliases == ("Bauaufsicht", "Bauordnung")
    assert d.persons["schulz"].former_departments == ("bau",)
    path.write_text("kind,id,name,department\nperson,x,,nowhere\n", encoding="utf-8")
    with pytest.raises(InvalidDirectory, match="unknown department 'nowhere'"):
        load_directory(path)


def test_unreadable_or_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InvalidDirectory):
        load_directory(tmp_path / "missing.yaml")
    (tmp_path / "dir.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidDirectory, match="yaml"):
        load_directory(tmp_path / "dir.txt")
