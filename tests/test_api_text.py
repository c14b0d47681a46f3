"""``GET /api/v1/documents/{id}/text``: what a DMS indexes and a person searches, with the document's own scope."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

from mailroom.storage import repository
from mailroom.storage.db import session_scope

SCAN = "0008-complaint.png"  # a photographed letter to "Frau Schäfer - persönlich -" of the Bürgerbüro
XML = "0002-invoice.xml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-text"))) as running:
        yield running


def _upload(server: ApiServer, name: str) -> str:
    with server.client(server.key("station", f"station-{name}")) as station:
        response = upload(station, name, (SAMPLES / name).read_bytes())
        assert response.status_code == 202, response.text
        document_id: str = response.json()["document_id"]
    with server.client(server.key("admin", f"admin-{name}")) as admin:
        wait_settled(admin, document_id)
    return document_id


@pytest.fixture(scope="module")
def scan(server: ApiServer) -> str:
    """The scan, routed to the Bürgerbüro as a personal letter for Frau Schäfer (as the recipient reader marks it)."""
    document_id = _upload(server, SCAN)
    with session_scope(server.ctx.sessions) as session:
        row = repository.get_document(session, document_id)
        assert row is not None and row.result_json
        result = json.loads(row.result_json)
        result["routing"] = {**result["routing"], "postbox": "buergerbuero", "status": "routed",
                             "confidential": True, "person": "schaefer", "decided_by": "model:test"}
        repository.save_result(session, row, result)
        repository.transition(session, row, "routed", reason="test setup")
    return document_id


def _get(server: ApiServer, token: str, url: str) -> httpx.Response:
    with server.client(token) as client:
        return client.get(url)


def test_plain_text_per_page(server: ApiServer, scan: str) -> None:
    response = _get(server, server.key("admin", "admin-plain"), f"/api/v1/documents/{scan}/text")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    pages = response.text.split("\f")
    assert len(pages) == 2 and pages[1] == ""  # one page, ended by a form feed
    for word in ("Beschwerde", "Wartezeiten", "Bürgerbüro"):
        assert word in pages[0]


def test_words_with_boxes_and_confidences(server: ApiServer, scan: str) -> None:
    response = _get(server, server.key("admin", "admin-words"), f"/api/v1/documents/{scan}/text?format=words")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schema"] == "mailroom.text/v1" and body["document_id"] == scan
    [page] = body["pages"]
    assert page["number"] == 1 and page["text_source"] == "ocr" and page["dpi"] > 0
    words = page["words"]
    assert len(words) > 50
    for word in words:
        x0, y0, x1, y1 = word["box"]
        assert 0 <= x0 < x1 <= page["width"] and 0 <= y0 < y1 <= page["height"]
        assert 0 <= word["confidence"] <= 100
    assert sum(w["confidence"] for w in words) / len(words) > 60
    assert " ".join(w["text"] for w in words).split() == page["text"].split()
    assert "Wartezeiten" in [w["text"] for w in words]


def test_one_page_and_a_page_it_does_not_have(server: ApiServer, scan: str) -> None:
    admin = server.key("admin", "admin-page")
    assert _get(server, admin, f"/api/v1/documents/{scan}/text?page=1").text.count("\f") == 1
    missing = _get(server, admin, f"/api/v1/documents/{scan}/text?page=2")
    assert missing.status_code == 404 and missing.json()["code"] == "page_not_found"
    bad = _get(server, admin, f"/api/v1/documents/{scan}/text?format=pdf")
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"


def test_the_scope_of_the_document_confidential_rules_included(server: ApiServer, scan: str) -> None:
    url = f"/api/v1/documents/{scan}/text"
    schaefer = server.key("clerk", "schaefer", postboxes=["buergerbuero"], person="schaefer")
    kaya = server.key("clerk", "kaya", postboxes=["buergerbuero"], person="kaya")
    other_postbox = server.key("clerk", "ordnungsamt-1", postboxes=["ordnungsamt"])
    assert _get(server, schaefer, url).status_code == 200
    for token in (kaya, other_postbox):  # not her letter / not their postbox: as if it did not exist
        response = _get(server, token, url)
        assert response.status_code == 404 and response.json()["code"] == "document_not_found"
    assert _get(server, "mr_not-a-key", url).status_code == 401


def test_an_e_invoice_has_no_pages_to_read(server: ApiServer) -> None:
    document_id = _upload(server, XML)
    response = _get(server, server.key("admin", "admin-xml"), f"/api/v1/documents/{document_id}/text")
    assert response.status_code == 404 and response.json()["code"] == "not_available"
