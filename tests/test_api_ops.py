"""Operations endpoints (healthz, readyz, metrics, OpenAPI) and JSON errors for every kind of failure."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import badfiles
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from servicekit import read_only
from test_api_support import ApiServer, make_settings, serve, upload, wait_settled

from mailroom.storage.db import session_scope
from mailroom.storage.models import DocumentRow


def _metrics(server: ApiServer) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = httpx.get(f"{server.base_url}/metrics", timeout=60)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-ops"))) as running:
        yield running


def test_healthz_readyz_and_docs(server: ApiServer) -> None:
    assert httpx.get(f"{server.base_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.base_url}/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "blobs", "tesseract", "poppler"}
    assert all(check["ok"] for check in checks.values())
    assert "deu" in checks["tesseract"]["detail"]
    docs = httpx.get(f"{server.base_url}/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()  # a closed network sees the API docs too
    script = re.search(r'src="([^"]+swagger-ui-bundle\.js)"', docs.text)
    assert script is not None and httpx.get(f"{server.base_url}{script.group(1)}").status_code == 200
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    assert {"/api/v1/documents", "/api/v1/documents/{document_id}", "/api/v1/documents/{document_id}/original",
            "/api/v1/documents/{document_id}/searchable.pdf", "/api/v1/documents/{document_id}/events",
            "/api/v1/documents/{document_id}/pages/{n}/image", "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    used = {tag for path in spec["paths"].values() for operation in path.values() for tag in operation["tags"]}
    described = {t["name"]: t.get("description") for t in spec["tags"]}
    assert used == set(described) and all(described.values())  # every group of the API docs is explained
    upload_op = spec["paths"]["/api/v1/documents"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert "ApiKey" in spec["components"]["securitySchemes"]


def test_metrics_count_documents_by_state(server: ApiServer) -> None:
    before = _metrics(server)
    with server.client(server.key("station", "metrics")) as station:
        first = upload(station, "one.pdf", badfiles.pdf_bytes(1) + b"one").json()["document_id"]
        two = badfiles.pdf_bytes(2)
        second = upload(station, "two.pdf", two).json()["document_id"]
        assert upload(station, "two.pdf", two).json()["duplicate"] is True
        assert upload(station, "empty.pdf", b"").status_code == 422
        for document_id in (first, second):
            wait_settled(station, document_id)
    after = _metrics(server)
    with session_scope(server.ctx.sessions, readonly=True) as session:
        states = [row.state for row in session.query(DocumentRow)]
    for state in ("received", "ocr", "recognised", "routed", "review", "failed"):
        assert after["mailroom_documents"][(("state", state),)] == states.count(state)
    assert after["mailroom_pages_processed_total"][()] >= before["mailroom_pages_processed_total"][()] + 3
    assert after["mailroom_uploads_total"][(("outcome", "accepted"),)] == 2
    assert after["mailroom_uploads_total"][(("outcome", "duplicate"),)] == 1
    assert after["mailroom_uploads_refused_total"][(("code", "empty_file"),)] == 1
    assert after["mailroom_upload_ack_seconds_count"][()] == 3
    assert "mailroom_ocr_seconds_per_page_count" in after


def test_errors_are_json_with_stable_codes(server: ApiServer) -> None:
    with server.client(server.key("station", "errors-station")) as station:
        document_id = upload(station, "e.pdf", badfiles.pdf_bytes(1)).json()["document_id"]
    with server.client(server.key("admin", "errors")) as admin:
        missing = admin.get("/api/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        absent = admin.get("/api/v1/documents/0000")
        assert absent.status_code == 404 and absent.json()["code"] == "document_not_found"
        wrong_method = admin.put("/api/v1/documents")
        assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
        invalid = admin.get(f"/api/v1/documents/{document_id}/pages/1/image", params={"dpi": 5000})
        assert invalid.status_code == 422
        assert invalid.json()["code"] == "validation_error" and invalid.json()["field"] == "dpi"


def test_unexpected_failure_is_500_without_internals(server: ApiServer) -> None:
    """A damaged blob (disk or operator fault) makes rendering fail: 500 internal_error, no path or traceback."""
    with server.client(server.key("station", "damaged")) as station:
        document_id = upload(station, "tiff.tif", badfiles.tiff_bytes(1)).json()["document_id"]
        wait_settled(station, document_id)
        with session_scope(server.ctx.sessions, readonly=True) as session:
            row = session.get(DocumentRow, document_id)
            assert row is not None and row.original_sha is not None
            blob = server.ctx.blobs.path(row.original_sha)
        blob.chmod(0o644)
        blob.write_bytes(b"garbage")
        response = station.get(f"/api/v1/documents/{document_id}/pages/1/image")
        assert response.status_code == 500
        assert response.json() == {"code": "internal_error", "message": "internal error; see the service log"}
        assert httpx.get(f"{server.base_url}/healthz").status_code == 200


class _BrokerDown:
    """Fault injection: a dispatcher whose broker does not answer."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, document_id: str, *, again: bool = False) -> None:
        self.submitted.append(document_id)

    def ready(self) -> bool:
        raise ConnectionRefusedError("redis://localhost:1: connection refused")

    def queue_depths(self) -> Mapping[str, int]:
        raise ConnectionRefusedError("connection refused")


def test_readyz_fails_without_broker_and_without_database(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    dispatcher = _BrokerDown()
    with serve(settings, dispatcher=dispatcher) as server:
        response = httpx.get(f"{server.base_url}/readyz", timeout=60)
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "not_ready" and body["checks"]["broker"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        assert "mailroom_queue_depth" not in _metrics(server)  # the scrape survives the broker outage

        for path in settings.data_dir.glob("mailroom.sqlite3*"):
            path.unlink()
        gone = httpx.get(f"{server.base_url}/readyz", timeout=60)
        assert gone.status_code == 503
        assert gone.json()["checks"]["database"]["ok"] is False
        assert httpx.get(f"{server.base_url}/healthz", timeout=60).status_code == 200


def test_an_unwritable_data_dir_is_503_retry_later_and_heals(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    with serve(settings) as server, server.client(server.key("station", "ro-station")) as station:
        with read_only(settings.data_dir):
            refused = upload(station, "ro.pdf", badfiles.pdf_bytes(1) + b"read-only")
            assert refused.status_code == 503, refused.text
            assert refused.json()["code"] == "storage_unavailable" and "Retry-After" in refused.headers
        again = upload(station, "ro.pdf", badfiles.pdf_bytes(1) + b"read-only")  # the station's retry
        assert again.status_code == 202
        assert wait_settled(station, again.json()["document_id"])["state"] == "review"


def test_a_failed_document_is_processed_again_under_its_id(server: ApiServer) -> None:
    """Once the cause is fixed an admin sends a failed document through the pipeline again: same id, so the
    station keeps seeing it (a new upload would answer duplicate); audited; other documents are refused."""
    from sqlalchemy import select

    from mailroom.errors import ToolMissing
    from mailroom.storage.models import AuditLogRow
    from workers.pipeline import fail

    with server.client(server.key("station", "reprocess-station")) as station, \
            server.client(server.key("admin", "reprocess-admin")) as admin:
        data = badfiles.pdf_bytes(1) + b"reprocess"
        document_id = upload(station, "r.pdf", data).json()["document_id"]
        assert wait_settled(station, document_id)["state"] == "review"
        refused = admin.post(f"/api/v1/documents/{document_id}/reprocess")
        assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"

        fail(document_id, ToolMissing("tesseract is not installed"), server.ctx)  # the fault, now fixed
        assert station.get(f"/api/v1/documents/{document_id}").json()["state"] == "failed"
        again = upload(station, "r.pdf", data)  # what a station could do before: nothing happens
        assert again.json()["duplicate"] and again.json()["document_id"] == document_id

        response = admin.post(f"/api/v1/documents/{document_id}/reprocess")
        assert response.status_code == 202, response.text
        assert response.json()["previous_error"] == "tool_missing" and response.json()["document_id"] == document_id
        assert wait_settled(station, document_id)["state"] == "review"  # the station sees it settle again
        assert station.post(f"/api/v1/documents/{document_id}/reprocess").status_code == 403
    with session_scope(server.ctx.sessions, readonly=True) as session:
        entries = session.scalars(select(AuditLogRow).where(AuditLogRow.action == "document.reprocessed")).all()
        assert [(e.object_id, e.actor) for e in entries] == [(document_id, "admin:reprocess-admin")]
