"""Upload through the real HTTP API, process with the real pipeline, download; bad uploads get JSON errors."""

from __future__ import annotations

import io
import json
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import badfiles
import httpx
import pytest
from PIL import Image
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

LIMIT = 2 * 1024 * 1024

# one of each kind: born-digital PDF, scanned PDF, TIFF, JPEG, PNG, XML e-invoice
SAMPLE_FILES = [
    "0000-invoice.pdf",
    "0014-authority_notice.pdf",
    "0006-invoice.tif",
    "0007-application_building_permit.jpg",
    "0008-complaint.png",
    "0002-invoice.xml",
]
#: A letter marked "persönlich/vertraulich" for a named person: once routed, only that person's keys and admins see
#: it (``api.auth``), not the station that scanned it; these tests read it with an admin key.
CONFIDENTIAL = "0008-complaint.png"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    settings = make_settings(tmp_path_factory.mktemp("api-docs"), max_upload_bytes=LIMIT)
    with serve(settings) as running:
        yield running


@pytest.fixture(scope="module")
def station(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client(server.key("station", "poststelle-1")) as client:
        yield client


@pytest.fixture(scope="module")
def admin(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client(server.key("admin", "it-1")) as client:
        yield client


@pytest.fixture(scope="module")
def uploaded(station: httpx.Client) -> dict[str, str]:
    """Every sample uploaded at once (the pipeline works through them while the API answers)."""
    ids: dict[str, str] = {}
    for name in SAMPLE_FILES:
        response = upload(station, name, (SAMPLES / name).read_bytes())
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["duplicate"] is False and body["state"] == "received"
        assert response.headers["location"] == body["status_url"] == f"/api/v1/documents/{body['document_id']}"
        ids[name] = body["document_id"]
    return ids


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_upload_is_processed_and_downloadable(station: httpx.Client, admin: httpx.Client, uploaded: dict[str, str],
                                              name: str, tmp_path: Path) -> None:
    document_id = uploaded[name]
    if name == CONFIDENTIAL:
        assert wait_settled(admin, document_id)["result"]["routing"].get("confidential") is True
        assert station.get(f"/api/v1/documents/{document_id}").status_code == 404
        station = admin
    status = wait_settled(station, document_id)
    assert status["state"] in {"recognised", "routed", "review"}, status
    assert status["error"] is None
    assert status["source"] == {"channel": "upload", "station": "poststelle-1"}
    assert status["filename"] == name
    result = status["result"]
    assert result["schema"] == "mailroom.result/v1" and result["document_id"] == document_id
    assert isinstance(status["warnings"], list)

    original = station.get(status["links"]["original"])
    assert original.status_code == 200
    assert original.content == (SAMPLES / name).read_bytes()
    assert name in original.headers["content-disposition"]

    events = station.get(status["links"]["events"]).json()["events"]
    assert events[0]["from_state"] is None and events[0]["to_state"] == "received"
    assert status["state"] in [e["to_state"] for e in events]

    if name.endswith(".xml"):
        assert "searchable_pdf" not in status["links"]
        assert station.get(f"/api/v1/documents/{document_id}/searchable.pdf").json()["code"] == "not_available"
        assert station.get(f"/api/v1/documents/{document_id}/pages/1/image").json()["code"] == "not_available"
        return
    pdf = station.get(status["links"]["searchable_pdf"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    path = tmp_path / "searchable.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Musterstadt" in text, text[:500]

    image = station.get(status["links"]["page_images"][0], params={"dpi": 50})
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(image.content)) as png:
        assert png.format == "PNG" and 200 < max(png.size) < 1000  # an A4 page at about 50 dpi
    beyond = station.get(f"/api/v1/documents/{document_id}/pages/{status['pages'] + 1}/image")
    assert beyond.status_code == 404 and beyond.json()["code"] == "page_not_found"


def test_same_file_again_is_the_same_document(station: httpx.Client, admin: httpx.Client,
                                              uploaded: dict[str, str]) -> None:
    name = "0008-complaint.png"
    document_id = uploaded[name]
    before = wait_settled(admin, document_id)
    events_before = admin.get(f"/api/v1/documents/{document_id}/events").json()["events"]

    again = upload(station, "renamed.png", (SAMPLES / name).read_bytes())
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["document_id"] == document_id and body["duplicate"] is True
    assert body["state"] == before["state"]
    time.sleep(0.5)  # a re-run would have started by now
    after = admin.get(f"/api/v1/documents/{document_id}").json()
    assert after["attempts"] == before["attempts"]
    assert admin.get(f"/api/v1/documents/{document_id}/events").json()["events"] == events_before


BAD_UPLOADS = [
    ("empty.pdf", b"", 422, "empty_file"),
    ("corrupt.pdf", badfiles.corrupt_pdf_bytes(), 422, "corrupt_file"),
    ("encrypted.pdf", badfiles.encrypted_pdf_bytes(), 422, "encrypted_pdf"),
    ("letter.docx", badfiles.docx_bytes(), 415, "unsupported_file_type"),
    ("program.pdf", badfiles.elf_bytes(), 415, "unsupported_file_type"),
    ("bomb.png", badfiles.png_bomb_bytes(30_000), 413, "image_too_large"),
    ("big.pdf", b"%PDF-1.7\n" + b"0" * (LIMIT + 1), 413, "file_too_large"),
]


@pytest.mark.parametrize(("name", "data", "status", "code"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_upload_gets_json_error_and_service_keeps_serving(
    server: ApiServer, station: httpx.Client, name: str, data: bytes, status: int, code: str
) -> None:
    response = upload(station, name, data)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["message"]
    assert not list(server.settings.work_dir.glob("upload-*")), "the streamed upload was not removed"
    good = upload(station, f"{name}-good.pdf", badfiles.pdf_bytes(1) + name.encode())
    assert good.status_code == 202, good.text


def _huge_multipart(boundary: str) -> Iterator[bytes]:
    """A multipart body with a file part of 1 GiB, made lazily."""
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.pdf\"\r\n"
           "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n").encode()
    chunk = b"0" * (256 * 1024)
    for _ in range(4096):
        yield chunk


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
def test_oversized_upload_is_answered_as_soon_as_the_limit_is_passed(
    server: ApiServer, station: httpx.Client, declared: bool
) -> None:
    """A client that listens while it sends (as curl does) gets 413 after about the limit, not after 1 GiB; with a
    Content-Length above the limit before any of the body is read. Nothing beyond the limit reaches the disk."""
    boundary = "mailroom-test-boundary"
    host, port = server.base_url.removeprefix("http://").split(":")
    framing = f"Content-Length: {1024**3 + 1024}" if declared else "Transfer-Encoding: chunked"
    head = (f"POST /api/v1/documents HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: {station.headers['Authorization']}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n{framing}\r\n\r\n").encode()
    sent = 0
    answer = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head)
        for part in _huge_multipart(boundary):
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(part if declared else b"%x\r\n%s\r\n" % (len(part), part))
            sent += len(part)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:300]
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "file_too_large"
    assert sent < LIMIT + 32 * 1024 * 1024, f"{sent} bytes were sent before the answer"
    assert not list(server.settings.work_dir.glob("upload-*"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"data": {"note": "no file"}, "files": {"other": ("x.pdf", b"%PDF", "application/pdf")}}, "file"),
        ({"json": {"file": "x"}}, "file"),
    ],
    ids=["no-file-field", "not-multipart"],
)
def test_upload_without_file_is_a_validation_error(station: httpx.Client, kwargs: dict[str, object],
                                                   field: str) -> None:
    response = station.post("/api/v1/documents", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error" and response.json()["field"] == field


def test_a_body_without_its_closing_boundary_is_refused_as_incomplete(station: httpx.Client,
                                                                      server: ApiServer) -> None:
    """A form cut off after the file's bytes (a client or proxy that stopped early) may hold half a file: refused,
    nothing stored; the same body with its closing boundary is accepted."""
    boundary = "mailroom-test-boundary"
    content = (SAMPLES / "0008-complaint.png").read_bytes()
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"brief.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    cut = station.post("/api/v1/documents", content=head + content[: len(content) // 2], headers=headers)
    assert cut.status_code == 400, cut.text
    assert cut.json()["code"] == "upload_incomplete"
    cut = station.post("/api/v1/documents", content=head + content + b"\r\n", headers=headers)
    assert cut.status_code == 400 and cut.json()["code"] == "upload_incomplete"
    assert not list(server.settings.work_dir.glob("upload-*"))
    whole = station.post("/api/v1/documents", content=head + content + f"\r\n--{boundary}--\r\n".encode(),
                         headers=headers)
    assert whole.status_code in (200, 202), whole.text
