"""Transfer notes (TR-RESISCAN): written at intake and when the pages are read, exported by API and CLI, kept after
the document is deleted."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled
from typer.testing import CliRunner

from cli.main import app as cli
from mailroom import audit
from mailroom.storage.db import session_scope
from mailroom.storage.models import AuditLogRow

GREY_TIFF = "0013-objection.tif"  # two pages, 8-bit grey, 200 dpi
BITONAL_TIFF = "0006-invoice.tif"  # one page, 1 bit, 200 dpi
BORN_DIGITAL = "0027-enquiry.pdf"  # text layer: no page image at all
FILES = (GREY_TIFF, BITONAL_TIFF, BORN_DIGITAL)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("transfer-notes"))) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(server: ApiServer) -> dict[str, str]:
    return {
        "station": server.key("station", "poststelle-1"),
        "other-station": server.key("station", "poststelle-2"),
        "admin": server.key("admin", "it-1"),
        "clerk": server.key("clerk", "kaemmerei-1", postboxes=["kaemmerei-rechnungseingang"]),
    }


@pytest.fixture(scope="module")
def uploaded(server: ApiServer, tokens: dict[str, str]) -> dict[str, str]:
    ids: dict[str, str] = {}
    with server.client(tokens["station"]) as station, server.client(tokens["admin"]) as admin:
        for name in FILES:
            response = upload(station, name, (SAMPLES / name).read_bytes())
            assert response.status_code == 202, response.text
            ids[name] = response.json()["document_id"]
        for document_id in ids.values():
            assert wait_settled(admin, document_id)["state"] in {"routed", "review"}
    return ids


def _note(server: ApiServer, token: str, document_id: str) -> dict[str, Any]:
    with server.client(token) as client:
        response = client.get(f"/api/v1/documents/{document_id}/transfer-note")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _header_mode(name: str) -> list[tuple[str, int]]:
    """Colour mode and bits per pixel of each page, read independently from the sample's image header."""
    modes = {"1": ("bitonal", 1), "L": ("grey", 8), "RGB": ("colour", 24)}
    out = []
    with Image.open(SAMPLES / name) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            out.append(modes[image.mode])
    return out


@pytest.mark.parametrize("name", [GREY_TIFF, BITONAL_TIFF])
def test_note_of_a_scanned_file(server: ApiServer, tokens: dict[str, str], uploaded: dict[str, str],
                                name: str) -> None:
    data = (SAMPLES / name).read_bytes()
    note = _note(server, tokens["station"], uploaded[name])
    modes = _header_mode(name)
    assert note["document_id"] == uploaded[name] and note["complete"] is True
    assert (note["station"], note["channel"], note["uploaded_by"]) == ("poststelle-1", "upload", "poststelle-1")
    assert note["sha256"] == hashlib.sha256(data).hexdigest() and note["size"] == len(data)
    assert note["filename"] == name and note["file_type"] == "tiff"
    assert note["page_count"] == len(modes) == len(note["pages"])
    assert note["dpi"] == 200
    assert [(p["colour"], p["bit_depth"]) for p in note["pages"]] == modes
    assert (note["colour"], note["bit_depth"]) == modes[0]
    assert all(p["image_source"] == "image_file" and p["text_source"] in ("ocr", "none") for p in note["pages"])
    quality = note["quality"]
    assert 0 < quality["ocr_confidence"] <= 100
    assert isinstance(quality["warnings"], list) and isinstance(quality["blank_pages"], list)
    received = datetime.fromisoformat(note["received_at"])
    assert received <= datetime.fromisoformat(note["noted_at"]) <= datetime.now(UTC)


def test_note_of_a_born_digital_file_has_no_image_settings(server: ApiServer, tokens: dict[str, str],
                                                            uploaded: dict[str, str]) -> None:
    note = _note(server, tokens["admin"], uploaded[BORN_DIGITAL])
    assert note["page_count"] == 1 and note["text_source"] == "text_layer"
    assert note["dpi"] is None and note["colour"] is None and note["bit_depth"] is None
    assert note["quality"]["ocr_confidence"] is None


def test_only_admins_and_the_uploading_station_read_notes(server: ApiServer, tokens: dict[str, str],
                                                          uploaded: dict[str, str]) -> None:
    url = f"/api/v1/documents/{uploaded[GREY_TIFF]}/transfer-note"
    with server.client(tokens["other-station"]) as other:
        hidden = other.get(url)
        missing = other.get(f"/api/v1/documents/{'0' * 32}/transfer-note")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "document_not_found"
    with server.client(tokens["clerk"]) as clerk:
        assert clerk.get(url).status_code == 403
    with server.client() as anonymous:
        assert anonymous.get(url).status_code == 401


def _cli(server: ApiServer, *args: str) -> Any:
    return CliRunner().invoke(cli, ["audit", "transfer-notes", *args, "--data-dir", str(server.settings.data_dir)])


def test_cli_exports_json_and_csv(server: ApiServer, tokens: dict[str, str], uploaded: dict[str, str]) -> None:
    one = _cli(server, "--document", uploaded[GREY_TIFF])
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout) == _note(server, tokens["admin"], uploaded[GREY_TIFF])

    table = _cli(server, "--format", "csv")
    assert table.exit_code == 0, table.output
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    by_id = {row["document_id"]: row for row in rows}
    assert set(uploaded.values()) <= set(by_id)
    grey = by_id[uploaded[GREY_TIFF]]
    assert (grey["station"], grey["page_count"], grey["dpi"], grey["colour"], grey["complete"]) == (
        "poststelle-1", "2", "200", "grey", "true")
    assert grey["sha256"] == hashlib.sha256((SAMPLES / GREY_TIFF).read_bytes()).hexdigest()

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert _cli(server, "--since", tomorrow).stdout == ""
    assert len(_cli(server, "--since", "2000-01-01").stdout.splitlines()) == len(by_id)
    unknown = _cli(server, "--document", "0" * 32)
    assert unknown.exit_code == 1 and "no transfer note" in unknown.stderr


def test_a_duplicate_upload_keeps_one_note(server: ApiServer, tokens: dict[str, str],
                                           uploaded: dict[str, str]) -> None:
    with server.client(tokens["station"]) as station:
        again = upload(station, "again.tif", (SAMPLES / BITONAL_TIFF).read_bytes())
    assert again.status_code == 200 and again.json()["duplicate"] is True
    lines = _cli(server, "--document", uploaded[BITONAL_TIFF]).stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["filename"] == BITONAL_TIFF  # the first intake is documented
    with session_scope(server.ctx.sessions, readonly=True) as session:
        intakes = session.scalars(select(AuditLogRow.details_json).where(
            AuditLogRow.action == "document.received", AuditLogRow.object_id == uploaded[BITONAL_TIFF]
        ).order_by(AuditLogRow.id)).all()
    assert [json.loads(details or "{}")["duplicate"] for details in intakes] == [False, True]


def test_note_survives_the_deletion_of_its_document(server: ApiServer, tokens: dict[str, str],
                                                    uploaded: dict[str, str]) -> None:
    document_id = uploaded[BORN_DIGITAL]
    before = _note(server, tokens["admin"], document_id)
    with server.client(tokens["admin"]) as admin:
        deleted = admin.request("DELETE", f"/api/v1/documents/{document_id}",
                                json={"reason": "Löschersuchen nach Art. 17 DSGVO"})
        assert deleted.status_code == 200, deleted.text
        assert admin.get(f"/api/v1/documents/{document_id}").status_code == 404
    after = _note(server, tokens["station"], document_id)
    assert {k: v for k, v in after.items() if k != "noted_at"} == {k: v for k, v in before.items() if k != "noted_at"}
    assert json.loads(_cli(server, "--document", document_id).stdout)["sha256"] == before["sha256"]
    with session_scope(server.ctx.sessions, readonly=True) as session:
        assert audit.verify(session).ok
