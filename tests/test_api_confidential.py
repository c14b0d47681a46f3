"""A personal letter stays personal when it is sent on; a reason that looks like a secret is refused cleanly."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

from mailroom.storage import repository
from mailroom.storage.db import session_scope

LETTER = "0027-enquiry.pdf"  # born-digital: read without OCR


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-confidential"))) as running:
        yield running


@pytest.fixture(scope="module")
def personal_letter(server: ApiServer) -> str:
    """A letter routed to the Bauaufsichtsamt, marked confidential for Herr Huber (as the recipient reader would)."""
    with server.client(server.key("station", "poststelle-1")) as station:
        response = upload(station, LETTER, (SAMPLES / LETTER).read_bytes())
        assert response.status_code == 202, response.text
        document_id: str = response.json()["document_id"]
        wait_settled(station, document_id)
    with session_scope(server.ctx.sessions) as session:
        row = repository.get_document(session, document_id)
        assert row is not None and row.result_json
        result = json.loads(row.result_json)
        result["routing"] = {**result["routing"], "postbox": "bauaufsicht", "status": "routed", "confidential": True,
                             "person": "huber", "decided_by": "model:test", "confidence": 0.9}
        repository.save_result(session, row, result)
        repository.transition(session, row, "routed", reason="test setup")
    return document_id


def test_a_confidential_letter_sent_on_stays_confidential(server: ApiServer, personal_letter: str) -> None:
    huber = server.key("clerk", "huber", postboxes=["bauaufsicht", "ordnungsamt"], person="huber")
    colleague = server.key("clerk", "ordnungsamt-1", postboxes=["ordnungsamt"])
    with server.client(huber) as client:
        moved = client.post(f"/api/v1/documents/{personal_letter}/reroute",
                            json={"postbox": "ordnungsamt", "reason": "Herr Huber works there now"})
        assert moved.status_code == 200, moved.text
        routing = moved.json()["result"]["routing"]
        assert routing["postbox"] == "ordnungsamt" and routing["confidential"] is True and routing["person"] == "huber"
        assert client.get(f"/api/v1/documents/{personal_letter}").status_code == 200
    with server.client(colleague) as client:  # the other clerk of the new postbox does not see it
        assert client.get(f"/api/v1/documents/{personal_letter}").status_code == 404
        listed = client.get("/api/v1/postboxes/ordnungsamt/documents").json()
        assert personal_letter not in json.dumps(listed)


def test_a_reason_that_looks_like_a_secret_is_refused_with_422(server: ApiServer, personal_letter: str) -> None:
    with server.client(server.key("admin", "admin-1")) as admin:
        response = admin.post(f"/api/v1/documents/{personal_letter}/copy",
                              json={"postbox": "stadtkasse", "reason": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "secret_in_audit_details"
