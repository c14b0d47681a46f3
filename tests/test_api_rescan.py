"""Rescan requests by people through the real HTTP API: a reviewer sends a scan in review back to its station
(``POST /documents/{id}/rescan``), the station closes the request once the new scan is in (``.../dismiss``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

from mailroom import audit
from mailroom.storage import repository
from mailroom.storage.db import session_scope

# born-digital samples (text layer: no OCR, fast)
SENT_BACK = "0027-enquiry.pdf"
BY_MAIL = "0011-contract.pdf"
NEW_SCAN = "0017-application_trade_registration.pdf"
OTHER_STATION = "0014-authority_notice.pdf"
MESSAGE = "Seite 2 ist schief eingezogen, bitte neu scannen"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-rescan"))) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(server: ApiServer) -> dict[str, str]:
    return {"station": server.key("station", "poststelle-1"), "other": server.key("station", "poststelle-2"),
            "reviewer": server.key("reviewer", "pruefer-1"), "admin": server.key("admin", "it-admin"),
            "clerk": server.key("clerk", "sb-1", postboxes=["buergerbuero"])}


@pytest.fixture(scope="module")
def ids(server: ApiServer, tokens: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, token in ((SENT_BACK, "station"), (BY_MAIL, "station"), (NEW_SCAN, "station"),
                        (OTHER_STATION, "other")):
        with server.client(tokens[token]) as station, server.client(tokens["admin"]) as admin:
            response = upload(station, name, (SAMPLES / name).read_bytes())
            assert response.status_code == 202, response.text
            out[name] = response.json()["document_id"]
            assert wait_settled(admin, out[name])["state"] in {"routed", "review"}
    for name in (SENT_BACK, BY_MAIL):
        to_review(server, out[name])
    with session_scope(server.ctx.sessions) as session:  # as the mail intake stores it: no station
        row = repository.get_document(session, out[BY_MAIL])
        assert row is not None
        row.station, row.source_channel = None, "mail"
    return out


def to_review(server: ApiServer, document_id: str) -> None:
    """Test setup: the document waits in the review queue (as the pipeline leaves an uncertain one)."""
    with session_scope(server.ctx.sessions) as session:
        row = repository.get_document(session, document_id)
        assert row is not None and row.result_json
        result = json.loads(row.result_json)
        result["routing"] = {**result["routing"], "postbox": None, "status": "review", "decided_by": "model:test"}
        repository.save_result(session, row, result)
        if row.state != "review":
            repository.transition(session, row, "review", reason="test setup")


def audit_entries(server: ApiServer, document_id: str, action: str) -> list[dict[str, Any]]:
    with session_scope(server.ctx.sessions, readonly=True) as session:
        return [e for e in audit.export(session) if e["object_id"] == document_id and e["action"] == action]


def rescan_ids(client: httpx.Client) -> set[str]:
    response = client.get("/api/v1/documents", params={"state": "rescan"})
    assert response.status_code == 200, response.text
    return {d["document_id"] for d in response.json()["documents"]}


def test_reviewer_sends_a_scan_back_and_the_station_closes_the_request(
    server: ApiServer, tokens: dict[str, str], ids: dict[str, str]
) -> None:
    document_id = ids[SENT_BACK]
    url = f"/api/v1/documents/{document_id}"
    with server.client(tokens["reviewer"]) as reviewer:
        assert reviewer.post(f"{url}/rescan", json={"message": ""}).status_code == 422
        blank = reviewer.post(f"{url}/rescan", json={"message": "   "})
        assert blank.status_code == 422 and blank.json()["code"] == "validation_error"
        assert blank.json()["field"] == "message"
        sent = reviewer.post(f"{url}/rescan", json={"message": MESSAGE, "pages": [1, 99, 1]})
        assert sent.status_code == 200, sent.text
        body = sent.json()
        assert body["state"] == "rescan"
        assert body["rescan"] == {"reason": "reviewer", "pages": [1], "message": MESSAGE, "warnings": []}
        # out of the queue, out of the reviewer's sight (it decided nothing there); an admin is told the state
        assert reviewer.post(f"{url}/rescan", json={"message": MESSAGE}).status_code == 404
    with server.client(tokens["admin"]) as admin:
        again = admin.post(f"{url}/rescan", json={"message": MESSAGE})
        assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    [requested] = audit_entries(server, document_id, "document.rescan_requested")
    assert requested["actor"] == "reviewer:pruefer-1" and requested["details"]["message"] == MESSAGE

    with server.client(tokens["station"]) as station, server.client(tokens["other"]) as other, \
            server.client(tokens["reviewer"]) as reviewer, server.client(tokens["clerk"]) as clerk:
        assert document_id in rescan_ids(station)
        assert station.get(url).json()["rescan"]["message"] == MESSAGE  # what the operator reads
        # another station does not see it at all; reviewers and clerks do not close station requests
        hidden = other.post(f"{url}/dismiss", json={})
        assert hidden.status_code == 404 and hidden.json()["code"] == "document_not_found"
        assert reviewer.post(f"{url}/dismiss", json={}).status_code == 403
        assert clerk.post(f"{url}/dismiss", json={}).status_code == 403
        # the new scan must be one of the station's own documents
        foreign = station.post(f"{url}/dismiss", json={"replaced_by": ids[OTHER_STATION]})
        assert foreign.status_code == 422 and foreign.json()["field"] == "replaced_by"
        assert station.get(url).json()["state"] == "rescan"
        closed = station.post(f"{url}/dismiss", json={"replaced_by": ids[NEW_SCAN], "note": "neu gescannt"})
        assert closed.status_code == 200, closed.text
        assert closed.json()["state"] == "dismissed"
        assert document_id not in rescan_ids(station)
        twice = station.post(f"{url}/dismiss", json={})
        assert twice.status_code == 409 and twice.json()["code"] == "invalid_transition"
        # the document and its trail stay: the events tell who asked for the rescan and who closed it
        events = station.get(f"{url}/events").json()["events"]
        assert [e["to_state"] for e in events][-2:] == ["rescan", "dismissed"]
        assert ids[NEW_SCAN] in events[-1]["reason"] and "station:poststelle-1" in events[-1]["reason"]
    [dismissed] = audit_entries(server, document_id, "document.rescan_dismissed")
    assert dismissed["actor"] == "station:poststelle-1"
    assert dismissed["details"]["replaced_by"] == ids[NEW_SCAN] and dismissed["details"]["note"] == "neu gescannt"


def test_a_document_no_station_scanned_cannot_go_back_for_a_rescan(
    server: ApiServer, tokens: dict[str, str], ids: dict[str, str]
) -> None:
    url = f"/api/v1/documents/{ids[BY_MAIL]}"
    with server.client(tokens["admin"]) as admin:
        refused = admin.post(f"{url}/rescan", json={"message": MESSAGE})
        assert refused.status_code == 409 and refused.json()["code"] == "no_station"
        assert admin.get(url).json()["state"] == "review"  # still waiting for a decision
        # a routed document is no rescan request: nothing to dismiss
        routed = admin.post(f"/api/v1/documents/{ids[NEW_SCAN]}/dismiss", json={})
        assert routed.status_code == 409 and routed.json()["code"] == "invalid_transition"
    assert audit_entries(server, ids[BY_MAIL], "document.rescan_requested") == []


def test_the_endpoints_are_documented_in_the_openapi_schema(server: ApiServer) -> None:
    with server.client() as client:
        paths = client.get("/openapi.json").json()["paths"]
    for suffix in ("rescan", "dismiss"):
        operation = paths[f"/api/v1/documents/{{document_id}}/{suffix}"]["post"]
        assert {"401", "403", "404", "409", "422"} <= set(operation["responses"])
        assert operation["description"]
