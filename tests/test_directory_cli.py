"""``mailroom directory validate`` and ``export``: every problem listed and a ``code: message`` line, no traceback;
the directory in force exported as YAML that ``import`` accepts, round trip (issue 12)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from mailroom.directory import DEFAULT_PATH, default_directory, load_directory, parse_csv, parse_yaml, to_yaml

CSV = """\
kind,id,name,department,last_name,postboxes,aliases,deputies,retention_days,tasks,numbers
department,kaemmerei,Kämmerei,,,kaemmerei|rechnungen,Finanzverwaltung,,,Hundesteuer|Grundsteuer,FB 2
department,kasse,Stadtkasse,,,kasse,,,,,
postbox,kaemmerei,Postkorb Kämmerei,kaemmerei,,,,,,,
postbox,rechnungen,Rechnungseingang,kaemmerei,,,,,180,,
postbox,kasse,Postkorb Kasse,kasse,,,,,0,,
person,schmitz,,kaemmerei,Schmitz,,Schmitz-Lange,meier,,,
person,meier,,kasse,Meier,,,,,,
"""


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_to_yaml_round_trips_every_field() -> None:
    town = default_directory()
    again = parse_yaml(to_yaml(town), "x")
    assert again == town
    assert sum(len(d.tasks) for d in again.departments.values()) > 30  # the catalogue came along
    small = parse_csv(CSV, "teststadt")
    assert parse_yaml(to_yaml(small), "other") == small
    assert small.postboxes["rechnungen"].retention_days == 180 and small.postboxes["kasse"].retention_days == 0


def test_export_writes_what_import_accepts(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    code, default_text, err = _cli("directory", "export", *data)
    assert code == 0, err
    assert default_text == DEFAULT_PATH.read_text(encoding="utf-8")  # the default, comments and all
    (tmp_path / "town.csv").write_text(CSV, encoding="utf-8")
    assert _cli("directory", "import", str(tmp_path / "town.csv"), *data)[0] == 0
    out = tmp_path / "exported.yaml"
    code, _, err = _cli("directory", "export", "--out", str(out), *data)
    assert code == 0 and f"wrote {out} (installed directory)" in err
    assert load_directory(out) == parse_csv(CSV, "directory")  # as installed (the file is directory.csv)
    code, _, err = _cli("directory", "import", str(out), *data)  # round trip: the export is accepted as it is
    assert code == 0, err
    code, again, _ = _cli("directory", "export", *data)
    assert again == out.read_text(encoding="utf-8")  # installed as YAML now: exported as it is
    code, _, err = _cli("directory", "export", "--out", str(tmp_path / "no" / "such" / "x.yaml"), *data)
    assert code == 1 and err.startswith("error: output_not_writable: ") and len(err.splitlines()) == 1


def test_validate_lists_every_problem_and_ends_with_its_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "town: {name: T}\ndepartments:\n  - {id: a, name: A, postboxes: [a, b]}\n  - {id: a, name: A2}\n"
        "persons:\n  - {id: p, last_name: P, department: x, deputy: q}\n",
        encoding="utf-8",
    )
    code, _, err = _cli("directory", "validate", str(bad))
    lines = err.splitlines()
    assert code == 1
    for expected in ("duplicate department id 'a'",
                     "person 'p': unknown department 'x'", "person 'p': unknown deputy 'q'"):
        assert f"bad.yaml: {expected}" in lines, lines
    assert lines[-1].startswith("error: invalid_directory: ") and "problem(s) in bad.yaml" in lines[-1]
    bad.write_text("town: [\n", encoding="utf-8")
    code, _, err = _cli("directory", "validate", str(bad))
    assert code == 1 and len(err.splitlines()) == 1 and err.startswith("error: invalid_directory: bad: not valid YAML")
    code, _, err = _cli("directory", "validate", str(tmp_path / "missing.yaml"))
    assert code == 1 and err.startswith("error: file_not_found: ")
    code, _, err = _cli("directory", "validate", str(DEFAULT_PATH))
    assert code == 0 and "valid: 17 departments" in err
