"""Review decisions, re-routes and the organisation directory through the real HTTP API; scheduled retraining."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

from mailroom.directory import DEFAULT_PATH
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from mailroom.storage.labels import labels_of, training_labels
from routing.training import split_labels
from workers import tasks
from workers.celery_app import RETRAIN_MODELS, create_celery

# born-digital samples (text layer: no OCR, fast)
DECIDED = "0027-enquiry.pdf"
REROUTED = "0011-contract.pdf"
UNTOUCHED = "0017-application_trade_registration.pdf"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-corrections"))) as running:
        yield running


@pytest.fixture(scope="module")
def station_token(server: ApiServer) -> str:
    return server.key("station", "poststelle-1")


@pytest.fixture(scope="module")
def reviewer(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client(server.key("reviewer", "pruefer-1")) as client:
        yield client


@pytest.fixture(scope="module")
def uploaded(server: ApiServer, station_token: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    with server.client(station_token) as station:
        for name in (DECIDED, REROUTED, UNTOUCHED):
            response = upload(station, name, (SAMPLES / name).read_bytes())
            assert response.status_code == 202, response.text
            ids[name] = response.json()["document_id"]
        for document_id in ids.values():
            assert wait_settled(station, document_id)["state"] in {"routed", "review"}
    return ids


def put_in(server: ApiServer, document_id: str, state: str, postbox: str | None) -> None:
    """Test setup: move a settled document to ``state`` with ``postbox`` in its result (as the pipeline would)."""
    with session_scope(server.ctx.sessions) as session:
        row = repository.get_document(session, document_id)
        assert row is not None and row.result_json
        result = json.loads(row.result_json)
        result["routing"] = {**result["routing"], "postbox": postbox, "status": state,
                             "decided_by": "model:test", "confidence": 0.5}
        repository.save_result(session, row, result)
        if row.state != state or state == "routed":
            repository.transition(session, row, state, reason="test setup")


def labels(server: ApiServer, document_id: str) -> list[tuple[str, Any, str]]:
    with session_scope(server.ctx.sessions, readonly=True) as session:
        return [(label.kind, label.value, label.who) for label in labels_of(session, document_id)]


def test_reviewer_decides_a_document_in_review(server: ApiServer, uploaded: dict[str, str],
                                               reviewer: httpx.Client) -> None:
    document_id = uploaded[DECIDED]
    put_in(server, document_id, "review", None)
    queue = reviewer.get("/api/v1/documents", params={"state": "review"}).json()["documents"]
    assert document_id in [d["document_id"] for d in queue]

    typo = reviewer.post(f"/api/v1/documents/{document_id}/decision",
                         json={"postbox": "buergerbuero", "document_type": "rechnung"})
    assert typo.status_code == 422 and typo.json()["code"] == "unknown_document_type", typo.text
    assert "invoice" in typo.json()["message"] and labels(server, document_id) == []  # nothing stored

    response = reviewer.post(f"/api/v1/documents/{document_id}/decision",
                             json={"postbox": "buergerbuero", "document_type": "enquiry"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "routed"
    routing = body["result"]["routing"]
    assert routing["postbox"] == "buergerbuero" and routing["status"] == "routed"
    assert routing["decided_by"] == "reviewer:pruefer-1"
    assert [(h["status"], h.get("postbox"), h["decided_by"]) for h in routing["history"]] == [
        ("review", None, "model:test")
    ]
    assert body["result"]["document_type"] == {"label": "enquiry", "confidence": 1.0,
                                               "decided_by": "reviewer:pruefer-1"}
    assert sorted(labels(server, document_id)) == [
        ("reroute", "buergerbuero", "pruefer-1"), ("type", "enquiry", "pruefer-1")
    ]
    events = reviewer.get(f"/api/v1/documents/{document_id}/events").json()["events"]
    assert events[-1]["from_state"] == "review" and events[-1]["to_state"] == "routed"
    assert "reviewer:pruefer-1" in events[-1]["reason"]
    assert reviewer.get(f"/api/v1/documents/{document_id}").json()["result"]["routing"]["postbox"] == "buergerbuero"

    again = reviewer.post(f"/api/v1/documents/{document_id}/decision", json={"postbox": "hauptamt"})
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert len(labels(server, document_id)) == 2


def test_clerk_of_the_postbox_reroutes(server: ApiServer, uploaded: dict[str, str]) -> None:
    document_id = uploaded[REROUTED]
    put_in(server, document_id, "routed", "tiefbau")
    with server.client(server.key("clerk", "tiefbau-1", postboxes=["tiefbau"])) as clerk, \
            server.client(server.key("clerk", "hauptamt-1", postboxes=["hauptamt"])) as other:
        assert other.post(f"/api/v1/documents/{document_id}/reroute",
                          json={"postbox": "hauptamt", "reason": "mine"}).status_code == 404

        response = clerk.post(f"/api/v1/documents/{document_id}/reroute",
                              json={"postbox": "hauptamt", "reason": "Vertrag der Vergabestelle"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["state"] == "routed"
        routing = body["result"]["routing"]
        assert routing["postbox"] == "hauptamt" and routing["status"] == "routed"
        assert routing["decided_by"] == "clerk:tiefbau-1" and routing["reason"] == "Vertrag der Vergabestelle"
        assert [h["postbox"] for h in routing["history"]] == ["tiefbau"]
        assert labels(server, document_id) == [("reroute", "hauptamt", "tiefbau-1")]
        events = clerk.get(f"/api/v1/documents/{document_id}/events")
        assert events.status_code == 404  # no longer in the clerk's postbox
        seen = other.get(f"/api/v1/documents/{document_id}/events").json()["events"]
        assert (seen[-1]["from_state"], seen[-1]["to_state"]) == ("routed", "routed")
        assert "Vertrag der Vergabestelle" in seen[-1]["reason"]
        assert clerk.post(f"/api/v1/documents/{document_id}/reroute",
                          json={"postbox": "tiefbau", "reason": "zurück"}).status_code == 404


def test_refusals_change_nothing(server: ApiServer, uploaded: dict[str, str], station_token: str,
                                 reviewer: httpx.Client) -> None:
    document_id = uploaded[UNTOUCHED]
    put_in(server, document_id, "routed", "ordnungsamt-gewerbe")
    admin = server.client(server.key("admin", "it-refusals"))
    before = admin.get(f"/api/v1/documents/{document_id}").json()
    reroute = f"/api/v1/documents/{document_id}/reroute"
    decision = f"/api/v1/documents/{document_id}/decision"
    with server.client(station_token) as station, \
            server.client(server.key("clerk", "gewerbe-1", postboxes=["ordnungsamt-gewerbe"])) as clerk, \
            server.client() as anonymous:
        assert station.get(f"/api/v1/documents/{document_id}").status_code == 200  # the station sees it ...
        refused = station.post(reroute, json={"postbox": "hauptamt", "reason": "x"})
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"  # ... but may not move it
        assert station.post(decision, json={"postbox": "hauptamt"}).status_code == 403
        assert clerk.post(decision, json={"postbox": "hauptamt"}).status_code == 403
        assert anonymous.post(reroute, json={"postbox": "hauptamt", "reason": "x"}).status_code == 401

        unknown = clerk.post(reroute, json={"postbox": "gibt-es-nicht", "reason": "x"})
        assert unknown.status_code == 422, unknown.text
        assert unknown.json()["code"] == "unknown_postbox" and unknown.json()["field"] == "postbox"
        # a reviewer sees the review queue and what it decided, not the routed mail: 404 as if it did not exist
        hidden = reviewer.post(reroute, json={"postbox": "hauptamt", "reason": "x"})
        assert hidden.status_code == 404 and hidden.json()["code"] == "document_not_found"
        assert reviewer.get(f"/api/v1/documents/{document_id}").status_code == 404
        assert admin.post(decision, json={"postbox": "gibt-es-nicht"}).json()["code"] == "unknown_postbox"
        same = admin.post(reroute, json={"postbox": "ordnungsamt-gewerbe", "reason": "x"})
        assert same.status_code == 422 and same.json()["code"] == "same_postbox"
        no_reason = clerk.post(reroute, json={"postbox": "hauptamt"})
        assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
        not_in_review = admin.post(decision, json={"postbox": "hauptamt"})
        assert not_in_review.status_code == 409 and not_in_review.json()["code"] == "invalid_transition"
        missing = reviewer.post(f"/api/v1/documents/{'0' * 32}/reroute", json={"postbox": "hauptamt", "reason": "x"})
        assert missing.status_code == 404 and missing.json()["code"] == "document_not_found"

    after = admin.get(f"/api/v1/documents/{document_id}").json()
    admin.close()
    assert after["result"] == before["result"] and after["state"] == "routed"
    assert labels(server, document_id) == []


# --- organisation directory -------------------------------------------------------------------------------------


@pytest.fixture
def directory_server(tmp_path: Path) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path / "data")) as running:
        yield running


def test_directory_read_by_all_replaced_by_admins(directory_server: ApiServer) -> None:
    server = directory_server
    data_dir = server.settings.data_dir
    with server.client(server.key("station", "poststelle-1")) as station, \
            server.client(server.key("reviewer", "pruefer-1")) as reviewer, \
            server.client(server.key("admin", "it-1")) as admin:
        assert server.client().get("/api/v1/directory").status_code == 401
        shown = station.get("/api/v1/directory")
        assert shown.status_code == 200
        body = shown.json()
        assert body["source"] == "default" and body["name"] == "Stadt Musterstadt"
        assert {"buergerbuero", "kaemmerei-rechnungseingang"} <= {b["id"] for b in body["postboxes"]}
        meier = next(p for p in body["persons"] if p["id"] == "meier")
        assert meier["display_name"] == "Dr. Thomas Meier" and meier["department"] == "kaemmerei"
        assert "former_names" not in meier and "aliases" not in meier  # personal data stays inside

        raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
        raw["departments"][0]["postboxes"].append("buergermeister-presse")
        raw["postboxes"].append({"id": "buergermeister-presse", "name": "Pressestelle",
                                 "department": raw["departments"][0]["id"]})
        extended = yaml.safe_dump(raw, allow_unicode=True).encode()
        yaml_type = {"Content-Type": "application/yaml"}
        assert reviewer.put("/api/v1/directory", content=extended, headers=yaml_type).status_code == 403

        broken = dict(raw, persons=[*raw["persons"], {"id": "meier", "last_name": "Doppelt", "department": "nix"}])
        refused = admin.put("/api/v1/directory", content=yaml.safe_dump(broken).encode(), headers=yaml_type)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_directory"
        problems = refused.json()["details"]["problems"]
        assert "duplicate person id 'meier'" in problems
        assert "person 'meier': unknown department 'nix'" in problems
        not_yaml = admin.put("/api/v1/directory", content=b"departments: [unclosed", headers=yaml_type)
        assert not_yaml.status_code == 422 and not_yaml.json()["details"]["problems"]
        wrong_type = admin.put("/api/v1/directory", content=b"{}", headers={"Content-Type": "application/json"})
        assert wrong_type.status_code == 415
        assert not (data_dir / "directory.yaml").exists() and not (data_dir / "directory.csv").exists()

        installed = admin.put("/api/v1/directory", content=extended, headers=yaml_type)
        assert installed.status_code == 200, installed.text
        assert installed.json()["source"] == "installed"
        assert (data_dir / "directory.yaml").read_bytes() == extended
        assert "buergermeister-presse" in {b["id"] for b in station.get("/api/v1/directory").json()["postboxes"]}

        # the new postbox is a valid target at once
        document_id = upload(station, "0029-objection.pdf", (SAMPLES / "0029-objection.pdf").read_bytes()).json()[
            "document_id"]
        state = wait_settled(station, document_id)["state"]
        target = "decision" if state == "review" else "reroute"
        mover = reviewer if state == "review" else admin  # a reviewer sees the review queue, not routed mail
        moved = mover.post(f"/api/v1/documents/{document_id}/{target}",
                              json={"postbox": "buergermeister-presse", "reason": "Presseanfrage"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["result"]["routing"]["postbox"] == "buergermeister-presse"

        csv_text = (
            "kind,id,name,department,last_name,postboxes\n"
            "department,amt-a,Amt A,,,amt-a\n"
            "postbox,amt-a,Postkorb Amt A,amt-a,,\n"
            "person,muster,,amt-a,Muster,\n"
        )
        as_csv = admin.put("/api/v1/directory", content=csv_text.encode(), headers={"Content-Type": "text/csv"})
        assert as_csv.status_code == 200, as_csv.text
        assert (data_dir / "directory.csv").exists() and not (data_dir / "directory.yaml").exists()
        now = station.get("/api/v1/directory").json()
        assert [b["id"] for b in now["postboxes"]] == ["amt-a"] and [p["id"] for p in now["persons"]] == ["muster"]
        assert not list(data_dir.glob(".directory-upload-*"))  # no temporary file left behind


# --- scheduled retraining ---------------------------------------------------------------------------------------


def test_retrain_task_reports_promotion(server: ApiServer, uploaded: dict[str, str], tmp_path: Path) -> None:
    """The beat task retrains from the corrections (own models folder: the suite's shared models stay as they are)."""
    settings = make_settings(server.settings.data_dir, models_dir=tmp_path / "models")
    app = create_celery(settings, worker=True)
    assert app.conf.beat_schedule["retrain"]["task"] == RETRAIN_MODELS
    assert app.conf.beat_schedule["retrain"]["schedule"] == settings.retrain_interval_hours * 3600 == 24 * 3600

    assert tasks.retrain_models.name == RETRAIN_MODELS
    outcome = app.tasks[RETRAIN_MODELS].apply(kwargs={"count": 300, "seed": 3})
    assert outcome.successful(), outcome.traceback
    report = outcome.result
    assert report["generated_rows"] > 0 and report["heldout_rows"] > 0
    with session_scope(server.ctx.sessions, readonly=True) as session:
        corrected, _ = split_labels(training_labels(session))
    assert report["correction_rows"] == len(corrected)  # the corrections of the tests above are trained on
    for kind in ("document_type", "postbox"):
        assert report[kind] == {"promoted": True, "version": 1, "reason": "first model"}
    assert (tmp_path / "models" / "doctype-0001.json").exists()
    assert (tmp_path / "models" / "postbox" / "postbox-0001.json").exists()
