"""The rules admin API through the real HTTP server: roles, validation, draft → simulate → activate (hot, seen by
the next processed document), rollback, export/import, change records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

from rules import load_ruleset

JOB_APPLICATION = "0019-job_application.pdf"
RULE = "bewerbung-an-personalamt"
OLD_THEN = "then: {route_to: personalamt, set_type: job_application, tags: [bewerbung], confidential: true}"
NEW_THEN = "then: {route_to: hauptamt, set_type: job_application, tags: [bewerbung], confidential: true}"
YAML = {"Content-Type": "application/yaml"}

INVALID = """\
version: 1
rules:
  - id: kaputt
    when:
      term: Rechnung
      in: kellergeschoss
    then: {route_to: kaemmerei}
    confidence: 0.9
  - id: ohne-sicherheit
    then: {route_to: hauptamt}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-rules"))) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client(server.key("admin", "admin-erika")) as client:
        yield client


def routed(server: ApiServer, station: str) -> dict[str, Any]:
    """Upload the job application from ``station`` (a new document per station) and wait for its routing."""
    with server.client(server.key("station", station)) as client, \
            server.client(server.key("admin", f"{station}-reader")) as admin:
        response = upload(client, JOB_APPLICATION, (SAMPLES / JOB_APPLICATION).read_bytes())
        assert response.status_code == 202, response.text
        # read as admin: a job application is confidential for its named person, which the station then cannot see
        status = wait_settled(admin, response.json()["document_id"])
    assert status["state"] == "routed", status
    routing: dict[str, Any] = status["result"]["routing"]
    return {"document_id": status["document_id"], **routing}


def active_version(admin: httpx.Client) -> int:
    version: int = admin.get("/api/v1/rules").json()["active_version"]
    return version


def test_only_admin_keys_may_use_the_rules_api(server: ApiServer) -> None:
    calls = [
        ("GET", "/api/v1/rules", None),
        ("GET", "/api/v1/rules/versions/1", None),
        ("POST", "/api/v1/rules/validate", "version: 1\nrules: []\n"),
        ("POST", "/api/v1/rules/versions", "version: 1\nrules: []\n"),
        ("POST", "/api/v1/rules/versions/1/activate", None),
        ("POST", "/api/v1/rules/rollback", None),
        ("GET", "/api/v1/rules/export", None),
        ("GET", "/api/v1/rules/changes", None),
    ]
    tokens = [
        server.key("station", "station-403"),
        server.key("reviewer", "reviewer-403"),
        server.key("clerk", "clerk-403", postboxes=["personalamt"]),
        server.key("dms", "dms-403", postboxes=["personalamt"]),
    ]
    for token in tokens:
        with server.client(token) as client:
            for method, url, body in calls:
                response = client.request(method, url, content=body, headers=YAML)
                assert response.status_code == 403, (method, url, response.text)
                assert response.json()["code"] == "forbidden"
    with server.client() as anonymous:
        response = anonymous.get("/api/v1/rules")
        assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_overview_and_a_version_with_its_yaml(admin: httpx.Client) -> None:
    overview = admin.get("/api/v1/rules")
    assert overview.status_code == 200, overview.text
    body = overview.json()
    assert body["name"] == "default" and body["active_version"] == 1
    first = body["versions"][0]
    assert (first["version"], first["status"], first["created_by"]) == (1, "active", "system")
    assert first["url"] == "/api/v1/rules/versions/1"

    version = admin.get("/api/v1/rules/versions/1").json()
    assert version["status"] == "active" and version["rules"] > 10
    assert OLD_THEN in version["yaml"] and "\nversion: 1\n" in f"\n{version['yaml']}"

    missing = admin.get("/api/v1/rules/versions/999")
    assert missing.status_code == 404 and missing.json()["code"] == "ruleset_not_found"


def test_validate_names_rule_field_and_why_and_never_saves(admin: httpx.Client) -> None:
    before = admin.get("/api/v1/rules").json()["versions"]

    response = admin.post("/api/v1/rules/validate", content=INVALID, headers=YAML)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is False
    by_rule = {p["rule"]: p for p in body["problems"]}
    assert set(by_rule) == {"kaputt", "ohne-sicherheit"}
    assert by_rule["kaputt"]["field"].endswith("in") and "kellergeschoss" in by_rule["kaputt"]["message"]
    assert by_rule["ohne-sicherheit"]["field"] == "confidence" and by_rule["ohne-sicherheit"]["message"]
    assert all(p["code"] for p in body["problems"])

    as_json = admin.post("/api/v1/rules/validate", json={"yaml": INVALID}).json()
    assert as_json == body

    good = admin.post("/api/v1/rules/validate", json={"yaml": admin.get("/api/v1/rules/versions/1").json()["yaml"]})
    assert good.json()["valid"] is True and good.json()["problems"] == []

    not_yaml = admin.post("/api/v1/rules/validate", content="rules: [", headers=YAML).json()
    assert not_yaml["valid"] is False and not_yaml["problems"][0]["code"] == "yaml_syntax"

    bad_json = admin.post("/api/v1/rules/validate", json={"rules": []})
    assert bad_json.status_code == 422 and bad_json.json()["field"] == "yaml"

    assert admin.get("/api/v1/rules").json()["versions"] == before


def test_an_invalid_draft_answers_422_with_every_problem(admin: httpx.Client) -> None:
    response = admin.post("/api/v1/rules/versions", content=INVALID, headers=YAML)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "invalid_rules"
    problems = body["details"]["problems"]
    assert {(p["rule"], p["field"]) for p in problems} >= {("ohne-sicherheit", "confidence")}
    assert any(p["rule"] == "kaputt" and "kellergeschoss" in p["message"] for p in problems)
    assert all(v["status"] != "draft" for v in admin.get("/api/v1/rules").json()["versions"])


def test_draft_simulate_activate_is_hot_and_rollback_restores(server: ApiServer, admin: httpx.Client) -> None:
    before = routed(server, "station-before")
    baseline = active_version(admin)
    assert before["postbox"] == "personalamt" and before["decided_by"] == f"rule:{RULE}@{baseline}"

    current = admin.get(f"/api/v1/rules/versions/{baseline}").json()["yaml"]
    assert current.count(OLD_THEN) == 1
    created = admin.post("/api/v1/rules/versions", content=current.replace(OLD_THEN, NEW_THEN), headers=YAML)
    assert created.status_code == 201, created.text
    draft = created.json()
    number = draft["version"]
    assert draft["status"] == "draft" and draft["created_by"] == "admin:admin-erika"
    assert created.headers["location"] == f"/api/v1/rules/versions/{number}"
    assert NEW_THEN in draft["yaml"] and f"version: {number}" in draft["yaml"]

    # drafts change; active versions do not
    edited = current.replace(OLD_THEN, NEW_THEN).replace("description:", "description: (Test)", 1)
    updated = admin.put(f"/api/v1/rules/versions/{number}", json={"yaml": edited})
    assert updated.status_code == 200, updated.text
    assert updated.json()["sha256"] != draft["sha256"] and "(Test)" in updated.json()["yaml"]
    frozen = admin.put(f"/api/v1/rules/versions/{baseline}", content=current, headers=YAML)
    assert frozen.status_code == 409 and frozen.json()["code"] == "ruleset_conflict"
    broken = admin.put(f"/api/v1/rules/versions/{number}", content=INVALID, headers=YAML)
    assert broken.status_code == 422 and broken.json()["code"] == "invalid_rules"

    # simulation: the document just processed would move personalamt → hauptamt
    simulation = admin.post(f"/api/v1/rules/versions/{number}/simulate", params={"last": 20})
    assert simulation.status_code == 200, simulation.text
    report = simulation.json()
    assert (report["baseline_version"], report["candidate_version"]) == (baseline, number)
    assert report["documents"] >= 1 and sum(report["totals"].values()) == report["documents"]
    change = next(c for c in report["changes"] if c["document_id"] == before["document_id"])
    assert change["kind"] == "changed" and change["change"] == "personalamt → hauptamt"
    assert change["old"]["postbox"] == "personalamt" and change["new"]["postbox"] == "hauptamt"
    assert change["new"]["decided_by"] == f"rule:{RULE}@{number}"
    by_date = admin.post(f"/api/v1/rules/versions/{number}/simulate", params={"since": "2000-01-01"}).json()
    assert before["document_id"] in {c["document_id"] for c in by_date["changes"]}
    bad_date = admin.post(f"/api/v1/rules/versions/{number}/simulate", params={"since": "gestern"})
    assert bad_date.status_code == 422 and bad_date.json()["field"] == "since"
    assert active_version(admin) == baseline  # simulation changes nothing

    # activation takes effect for the next document, without a restart
    activated = admin.post(f"/api/v1/rules/versions/{number}/activate")
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active" and active_version(admin) == number
    again = admin.post(f"/api/v1/rules/versions/{number}/activate")
    assert again.status_code == 409 and again.json()["code"] == "ruleset_conflict"
    after = routed(server, "station-after")
    assert after["postbox"] == "hauptamt" and after["decided_by"] == f"rule:{RULE}@{number}"

    # rollback copies the previous version into a new active one
    rolled = admin.post("/api/v1/rules/rollback")
    assert rolled.status_code == 200, rolled.text
    restored = rolled.json()
    assert restored["status"] == "active" and restored["version"] == number + 1
    assert restored["source"] == f"rollback to version {baseline}"
    versions = {v["version"]: v["status"] for v in admin.get("/api/v1/rules").json()["versions"]}
    assert versions[baseline] == versions[number] == "history"
    rolled_back = routed(server, "station-rolled-back")
    assert rolled_back["postbox"] == "personalamt" and rolled_back["decided_by"] == f"rule:{RULE}@{number + 1}"

    # every change: who, when, old and new
    changes = admin.get("/api/v1/rules/changes").json()["changes"]
    mine = [(c["action"], c["version"]) for c in changes if c["actor"] == "admin:admin-erika"]
    assert mine == [("create_draft", number), ("update_draft", number), ("activate", number),
                    ("rollback", number + 1)]
    activation = next(c for c in changes if c["action"] == "activate" and c["version"] == number)
    assert activation["old"] == {"active_version": baseline} and activation["new"] == {"active_version": number}
    assert activation["at"]
    update = next(c for c in changes if c["action"] == "update_draft")
    assert NEW_THEN in update["old"]["yaml"] and "(Test)" in update["new"]["yaml"]


def test_discard_a_draft(admin: httpx.Client) -> None:
    current = admin.get("/api/v1/rules/versions/1").json()["yaml"]
    number = admin.post("/api/v1/rules/versions", json={"yaml": current}).json()["version"]
    assert admin.delete(f"/api/v1/rules/versions/{number}").status_code == 204
    assert admin.get(f"/api/v1/rules/versions/{number}").status_code == 404
    assert admin.delete(f"/api/v1/rules/versions/{active_version(admin)}").status_code == 409


def test_export_import_round_trip(admin: httpx.Client) -> None:
    exported = admin.get("/api/v1/rules/export", params={"version": 1, "town": "Stadt Musterstadt"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/yaml")
    assert 'filename="rules-default-v1.yaml"' in exported.headers["content-disposition"]
    pack = yaml.safe_load(exported.text)
    assert pack["pack"]["version"] == 1 and pack["pack"]["town"] == "Stadt Musterstadt"

    imported = admin.post("/api/v1/rules/import", content=exported.content, headers=YAML)
    assert imported.status_code == 201, imported.text
    number = imported.json()["version"]
    assert imported.json()["status"] == "draft" and imported.headers["location"].endswith(f"/versions/{number}")
    original = load_ruleset(admin.get("/api/v1/rules/versions/1").json()["yaml"])
    copy = load_ruleset(admin.get(f"/api/v1/rules/versions/{number}").json()["yaml"])
    assert copy.rules == original.rules

    reexported = admin.get("/api/v1/rules/export", params={"version": number, "town": "Stadt Musterstadt"})
    assert yaml.safe_load(reexported.text)["rules"] == pack["rules"]

    activated = admin.post("/api/v1/rules/import", params={"activate": "true"}, json={"yaml": exported.text})
    assert activated.status_code == 201 and activated.json()["status"] == "active"
    assert active_version(admin) == activated.json()["version"]

    invalid = admin.post("/api/v1/rules/import", content=INVALID, headers=YAML)
    assert invalid.status_code == 422 and invalid.json()["code"] == "invalid_rules"
    assert admin.get("/api/v1/rules/export", params={"version": 999}).status_code == 404
