"""Rule sets against the organisation directory (issue 12): every postbox in ``route_to``/``copy_to`` and every
person and department a condition names must exist, at validate, import, activation and roll back (CLI, REST, the
web UI's editor); a change of the directory lists the rules it affects (names gone, persons moved), no traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from test_api_support import ApiServer, make_settings, serve
from typer.testing import CliRunner

from api.ui.rules import assemble
from cli.main import app
from mailroom.directory import parse_yaml
from mailroom.errors import InvalidRuleSet, RulesNotInDirectory
from rules import check_ruleset, load_ruleset
from rules.validate import directory_change_warnings

TOWN_V1 = """\
town: {name: Teststadt}
departments:
  - {id: kaemmerei, name: Kämmerei, postboxes: [kaemmerei, rechnungen]}
  - {id: kasse, name: Stadtkasse, postboxes: [kasse]}
persons:
  - {id: schmitz, last_name: Schmitz, department: kaemmerei}
  - {id: meier, last_name: Meier, department: kaemmerei}
"""
# version 2: the postbox "rechnungen" is gone, Frau Schmitz moved to the Stadtkasse
TOWN_V2 = TOWN_V1.replace("postboxes: [kaemmerei, rechnungen]", "postboxes: [kaemmerei]").replace(
    "{id: schmitz, last_name: Schmitz, department: kaemmerei}", "{id: schmitz, last_name: Schmitz, department: kasse}"
)

GOOD = """\
version: 1
rules:
  - id: rechnungen
    when: {term: Rechnung}
    then: {route_to: rechnungen, copy_to: [kasse]}
    confidence: 0.9
  - id: schmitz-persoenlich
    when:
      all:
        - {person: schmitz, min_confidence: 0.8}
        - not: {department: kasse}
    then: {route_to: kaemmerei, confidential: true}
    confidence: 0.9
"""

MISSPELT = """\
version: 1
rules:
  - id: rechnungen
    when: {term: Rechnung}
    then: {route_to: rechnungn, copy_to: [kasse, stadtkase]}
    confidence: 0.9
  - id: chefin
    when:
      any:
        - {person: schmit}
        - not: {department: kämmerei}
    then: {route_to: kaemmerei}
    confidence: 0.9
"""
MISSPELT_PROBLEMS = [
    ("unknown_postbox", "rechnungen", "then.route_to", "rechnungn"),
    ("unknown_postbox", "rechnungen", "then.copy_to[1]", "stadtkase"),
    ("unknown_person", "chefin", "when.any[0].person", "schmit"),
    ("unknown_department", "chefin", "when.any[1].not.department", "kämmerei"),
]


def _problems(problems: list[object]) -> list[tuple[str, str, str]]:
    return [(p.code, p.rule_id, p.path) for p in problems]  # type: ignore[attr-defined]


def test_every_unknown_name_is_a_problem_with_rule_field_and_name() -> None:
    town = parse_yaml(TOWN_V1, "teststadt")
    ruleset, problems = check_ruleset(MISSPELT, town)
    assert ruleset is not None
    assert _problems(problems) == [(code, rule, path) for code, rule, path, _ in MISSPELT_PROBLEMS]
    for problem, (_, _, _, name) in zip(problems, MISSPELT_PROBLEMS, strict=True):
        assert repr(name) in problem.message and "'Teststadt'" in problem.message
    assert check_ruleset(MISSPELT)[1] == []  # without a directory only the language is checked
    assert check_ruleset(GOOD, town)[1] == []
    with pytest.raises(RulesNotInDirectory) as refused:
        load_ruleset(MISSPELT, town)
    assert refused.value.code == "rules_not_in_directory" and refused.value.http_status == 422
    assert [p["field"] for p in refused.value.details["problems"]] == [p[2] for p in MISSPELT_PROBLEMS]
    # a rule set that is also malformed is refused for its form first (the names of a broken rule are unknown)
    with pytest.raises(InvalidRuleSet) as malformed:
        load_ruleset(MISSPELT.replace("confidence: 0.9\n  - id: chefin", "  - id: chefin"), town)
    assert malformed.value.code == "invalid_rules"


def test_a_directory_change_names_the_rules_it_affects() -> None:
    old, new = parse_yaml(TOWN_V1, "teststadt"), parse_yaml(TOWN_V2, "teststadt")
    warnings = directory_change_warnings(load_ruleset(GOOD), old, new)
    assert _problems(warnings) == [
        ("unknown_postbox", "rechnungen", "then.route_to"),
        ("person_moved", "schmitz-persoenlich", "when.all[0].person"),
    ]
    assert "moved from department 'kaemmerei' to 'kasse'; the rule routes to 'kaemmerei'" in warnings[1].message
    assert directory_change_warnings(load_ruleset(GOOD), old, old) == []
    own_box = parse_yaml(TOWN_V1.replace("{id: meier, last_name: Meier, department: kaemmerei}",
                                         "{id: meier, last_name: Meier, department: kaemmerei, postbox: rechnungen}"),
                         "teststadt")
    meier = load_ruleset(GOOD.replace("person: schmitz", "person: meier"))
    (moved,) = directory_change_warnings(meier, old, own_box)
    assert moved.code == "person_moved" and "moved from postbox '(main)' to 'rechnungen'" in moved.message


def test_the_rules_editor_shows_unknown_names_at_their_rule() -> None:
    texts = [yaml.safe_dump(rule, allow_unicode=True) for rule in yaml.safe_load(GOOD)["rules"]]
    draft, yaml_text = assemble("version: 1\n", texts, parse_yaml(TOWN_V2, "teststadt"))
    assert yaml_text is None and not draft.header_problems
    assert [len(r.problems) for r in draft.rules] == [1, 0]
    assert draft.rules[0].problems[0].code == "unknown_postbox"
    assert "then.route_to: no postbox 'rechnungen'" in draft.rules[0].problems[0].text
    assert assemble("version: 1\n", texts, parse_yaml(TOWN_V1, "teststadt"))[1] is not None


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output + result.stderr, result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_cli_refuses_names_the_directory_lacks_and_warns_when_it_changes(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    (tmp_path / "v1.yaml").write_text(TOWN_V1, encoding="utf-8")
    (tmp_path / "v2.yaml").write_text(TOWN_V2, encoding="utf-8")
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "misspelt.yaml").write_text(MISSPELT, encoding="utf-8")
    code, _, err = _cli("directory", "import", str(tmp_path / "v1.yaml"), *data)
    assert code == 0, err

    code, _, err = _cli("rules", "validate", str(tmp_path / "misspelt.yaml"), *data)
    assert code == 1
    for _, rule, path, name in MISSPELT_PROBLEMS:
        assert any(f"rule '{rule}', {path}: no " in line and repr(name) in line for line in err.splitlines()), err
    assert err.splitlines()[-1].startswith("error: rules_not_in_directory: 4 problem(s)")

    code, _, err = _cli("rules", "import", str(tmp_path / "misspelt.yaml"), "--activate", *data)
    assert code == 1 and "error: rules_not_in_directory: 4 name(s) not in the organisation directory" in err
    code, listing, _ = _cli("rules", "list", "--json", *data)
    assert [v["version"] for v in json.loads(listing)] == ["1"]  # nothing stored: only the default pack

    code, _, err = _cli("rules", "import", str(tmp_path / "good.yaml"), *data)
    assert code == 0, err  # version 2, a draft
    code, _, err = _cli("directory", "import", str(tmp_path / "v2.yaml"), *data)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: rule set 'default' version 2 (draft)")]
    assert len(warnings) == 2, err
    assert "rule 'rechnungen', then.route_to: no postbox 'rechnungen'" in warnings[0]
    assert "rule 'schmitz-persoenlich', when.all[0].person: person 'schmitz' moved" in warnings[1]
    # the active default pack names Musterstadt's postboxes, which Teststadt does not have: listed as well
    assert any(line.startswith("warning: rule set 'default' version 1 (active)") for line in err.splitlines())
    assert "rule warning(s)" in err.splitlines()[-1]

    code, _, err = _cli("rules", "activate", "2", *data)
    assert code == 1 and "error: rules_not_in_directory:" in err and "no postbox 'rechnungen'" in err
    code, listing, _ = _cli("rules", "list", "--json", *data)
    assert {v["version"]: v["status"] for v in json.loads(listing)} == {"1": "active", "2": "draft"}


def test_cli_directory_import_lists_problems_without_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(TOWN_V1.replace("department: kasse}", "department: kase}")
                      + "  - {id: meier, last_name: Meier2, department: kaemmerei}\n", encoding="utf-8")
    code, _, err = _cli("directory", "import", str(broken), "--data-dir", str(tmp_path / "data"))
    lines = err.splitlines()
    assert code == 1
    assert "broken.yaml: duplicate person id 'meier'" in lines
    assert lines[-1] == "error: invalid_directory: 1 problem(s) in broken.yaml; nothing installed"
    assert not (tmp_path / "data" / "directory.yaml").exists()
    code, _, err = _cli("directory", "import", str(tmp_path / "missing.yaml"), "--data-dir", str(tmp_path / "data"))
    assert code == 1 and err.startswith("error: file_not_found: ") and len(err.splitlines()) == 1


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("rules-directory"))) as running:
        yield running


def test_rest_api_checks_rules_against_the_directory(server: ApiServer) -> None:
    yaml_type = {"Content-Type": "application/yaml"}
    with server.client(server.key("admin", "admin-rules-dir")) as admin:
        put = admin.put("/api/v1/directory", content=TOWN_V1.encode(), headers=yaml_type)
        assert put.status_code == 200, put.text
        answer = admin.post("/api/v1/rules/validate", content=MISSPELT, headers=yaml_type).json()
        assert answer["valid"] is False
        assert [(p["code"], p["field"]) for p in answer["problems"]] == [(c, f) for c, _, f, _ in MISSPELT_PROBLEMS]
        for path in ("/api/v1/rules/versions", "/api/v1/rules/import?activate=true"):
            refused = admin.post(path, content=MISSPELT, headers=yaml_type)
            assert refused.status_code == 422, refused.text
            error = refused.json()["error"] if "error" in refused.json() else refused.json()
            assert error["code"] == "rules_not_in_directory"
            assert len(error["details"]["problems"]) == 4
        created = admin.post("/api/v1/rules/versions", content=GOOD, headers=yaml_type)
        assert created.status_code == 201, created.text
        draft = created.json()["version"]

        changed = admin.put("/api/v1/directory", content=TOWN_V2.encode(), headers=yaml_type)
        assert changed.status_code == 200, changed.text
        mine = [w for w in changed.json()["warnings"] if f"version {draft} (draft)" in w]
        assert len(mine) == 2 and "[person_moved]" in mine[1], changed.json()["warnings"]

        activated = admin.post(f"/api/v1/rules/versions/{draft}/activate")
        assert activated.status_code == 422, activated.text
        assert "no postbox 'rechnungen'" in activated.text
        assert admin.get("/api/v1/rules").json()["active_version"] != draft


# --- set_type against the document types the type model knows ----------------------------------------------

TYPO_TYPE = """\
version: 1
rules:
  - id: widersprueche
    when: {term: Widerspruch}
    then: {route_to: kaemmerei, set_type: widerspruch}
    confidence: 0.9
"""


def test_a_set_type_the_type_model_does_not_know_is_a_problem_of_the_rule() -> None:
    ruleset, problems = check_ruleset(TYPO_TYPE, document_types={"objection", "invoice"})
    assert ruleset is not None
    assert [(p.code, p.rule_id, p.path) for p in problems] == [("unknown_document_type", "widersprueche",
                                                                   "then.set_type")]
    assert "'widerspruch'" in problems[0].message and "known: invoice, objection" in problems[0].message
    assert check_ruleset(TYPO_TYPE.replace("set_type: widerspruch", "set_type: objection"),
                         document_types={"objection"})[1] == []
    assert check_ruleset(TYPO_TYPE)[1] == []  # no type model yet: not checked
    with pytest.raises(InvalidRuleSet) as refused:
        load_ruleset(TYPO_TYPE, document_types={"objection"})
    assert refused.value.code == "invalid_rules"  # not a name of the directory: not rules_not_in_directory


def test_cli_refuses_a_set_type_the_type_model_does_not_know(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    (tmp_path / "typo.yaml").write_text(TYPO_TYPE, encoding="utf-8")  # kaemmerei: a postbox of the default directory
    code, _, err = _cli("rules", "validate", str(tmp_path / "typo.yaml"), *data)
    assert code == 1
    assert "rule 'widersprueche', then.set_type: unknown document type 'widerspruch'" in err, err
    assert "[unknown_document_type]" in err
    assert err.splitlines()[-1].startswith("error: invalid_rules: 1 problem(s)"), err
    code, _, err = _cli("rules", "import", str(tmp_path / "typo.yaml"), "--activate", *data)
    last = err.splitlines()[-1]
    assert code == 1 and last.startswith("error: invalid_rules: 1 problem(s): rule 'widersprueche', then.set_type"), err
    code, listing, _ = _cli("rules", "list", "--json", *data)
    assert [v["version"] for v in json.loads(listing)] == ["1"]  # nothing stored


def test_rest_api_refuses_a_set_type_the_type_model_does_not_know(server: ApiServer) -> None:
    yaml_type = {"Content-Type": "application/yaml"}
    typo = TYPO_TYPE  # kaemmerei: a postbox of the default directory
    with server.client(server.key("admin", "admin-rules-types")) as admin:
        answer = admin.post("/api/v1/rules/validate", content=typo, headers=yaml_type).json()
        assert answer["valid"] is False
        assert [(p["code"], p["rule"], p["field"]) for p in answer["problems"]] == [
            ("unknown_document_type", "widersprueche", "then.set_type")]
        for path in ("/api/v1/rules/versions", "/api/v1/rules/import?activate=true"):
            refused = admin.post(path, content=typo, headers=yaml_type)
            assert refused.status_code == 422, refused.text
            error = refused.json()["error"] if "error" in refused.json() else refused.json()
            assert error["code"] == "invalid_rules"
            assert [p["code"] for p in error["details"]["problems"]] == ["unknown_document_type"]
        fixed = admin.post("/api/v1/rules/validate", headers=yaml_type,
                           content=typo.replace("set_type: widerspruch", "set_type: objection")).json()
        assert fixed["valid"] is True, fixed
