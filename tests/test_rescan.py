"""Station feedback: a blank scan goes back to its station (state ``rescan``), not into the review queue, and the
station hears it everywhere: ``mailroom process``, the REST API (listable by the station's key), the upload
client ("NEU SCANNEN") and the watched folder (``rescan/NAME`` with a German ``NAME.rescan.txt``).

Real Tesseract, SQLite, uvicorn and a real ``mailroom watch`` process; the quality gate's rules on built pages."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import jsonschema
import pytest
from pagefactory import blank_back
from test_api_support import SAMPLES, make_settings, serve

from intake.quality_gate import rescan_request
from mailroom.model import Block, Document, Line, Page, PageQuality, TextSource, Word
from mailroom.result import Quality, QualityWarning
from mailroom.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((Path(__file__).parent / "contract" / "result_v1.schema.json").read_text())
LETTER = SAMPLES / "0011-contract.pdf"  # born-digital: routed or reviewed in about a second


@pytest.fixture(scope="module")
def blank_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two empty sheets as a scanner delivers them (paper grain, dust, no bleed-through): a PDF of two PNGs."""
    import img2pdf

    folder = tmp_path_factory.mktemp("blank")
    images = []
    for seed in (1, 2):
        path = folder / f"p{seed}.png"
        cv2.imwrite(str(path), blank_back(200, seed=seed, bleed=False))
        images.append(str(path))
    out = folder / "leer.pdf"
    out.write_bytes(img2pdf.convert(images, layout_fun=img2pdf.get_fixed_dpi_layout_fun((200, 200))))
    return out


# --- the gate's rules -----------------------------------------------------------------------------------


def _page(number: int, *, blank: bool = False, words: int = 0, confidence: float = 90.0,
          source: TextSource = TextSource.OCR) -> Page:
    line = Line(words=[Word(text=f"wort{i}", box=(i * 50, 0, i * 50 + 40, 20), confidence=confidence)
                       for i in range(words)])
    quality = PageQuality(blank=blank, ocr_confidence=confidence if words else None)
    return Page(number=number, width=1700, height=2400, dpi=200, text_source=TextSource.NONE if blank else source,
                blocks=[Block(lines=[line])] if words else [], quality=quality)


SETTINGS = Settings(_env_file=None)


def test_gate_sends_back_only_scans_without_a_readable_page() -> None:
    blank = Document(pages=[_page(1, blank=True), _page(2, blank=True)])
    request = rescan_request(blank, Quality(), SETTINGS, channel="upload")
    assert request is not None and request.reason == "blank" and request.pages == [1, 2]
    assert "Seiten 1 und 2" in request.message and "erneut" in request.message

    no_words = Document(pages=[_page(1), _page(2, blank=True)])
    warned = Quality(warnings=[QualityWarning(code="no_text_found", page=1, message="x"),
                               QualityWarning(code="blurry", page=1, message="x")])
    request = rescan_request(no_words, warned, SETTINGS, channel="watch_folder")
    assert request is not None and request.reason == "unreadable" and request.pages == [1]
    assert "unscharf" in request.message and "kein Text" in request.message
    assert request.warnings == ["blurry", "no_text_found"]

    noise = Document(pages=[_page(1, words=12, confidence=18.0)])
    assert rescan_request(noise, Quality(), SETTINGS, channel="upload") is not None

    one_good = Document(pages=[_page(1, words=30), _page(2), _page(3, blank=True)])
    assert rescan_request(one_good, Quality(), SETTINGS, channel="upload") is None
    # nobody at a scanner to scan e-mail attachments again; text-layer pages are read exactly
    assert rescan_request(blank, Quality(), SETTINGS, channel="email") is None
    digital = Document(pages=[_page(1, blank=True), _page(2, words=5, source=TextSource.TEXT_LAYER)])
    assert rescan_request(digital, Quality(), SETTINGS, channel="upload") is None


# --- mailroom process ------------------------------------------------------------------------------------


def test_process_reports_a_blank_scan_as_rescan_not_review(tmp_path: Path, blank_scan: Path) -> None:
    env = {**os.environ, "MAILROOM_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-m", "cli", "process", str(blank_scan), "--json"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    [result] = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    jsonschema.validate(result, SCHEMA)
    assert result["rescan"]["reason"] == "blank" and result["rescan"]["pages"] == [1, 2]
    assert "routing" not in result and "document_type" not in result  # not typed at random, not routed
    codes = {w["code"] for w in result["quality"]["warnings"]}
    assert {"blank_page", "all_pages_blank"} <= codes
    with sqlite3.connect(tmp_path / "data" / "mailroom.sqlite3") as db:
        [(state,)] = db.execute("SELECT state FROM documents").fetchall()
        actions = [a for (a,) in db.execute("SELECT action FROM audit_log ORDER BY id")]
    assert state == "rescan" and "document.rescan_requested" in actions
    human = subprocess.run([sys.executable, "-m", "cli", "process", str(blank_scan)], capture_output=True,
                           text=True, env=env, cwd=ROOT, timeout=600)
    assert "NEU SCANNEN" in human.stderr and "leer" in human.stderr


# --- the REST API and the upload client ------------------------------------------------------------------


def _client(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cli", "upload", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_station_sees_its_rescan_requests_in_the_api_and_the_client(tmp_path: Path, blank_scan: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(blank_scan, folder / "leer.pdf")
    (folder / "notiz.docx").write_bytes(b"PK\x03\x04 not a scan")
    with serve(make_settings(tmp_path / "data")) as server:
        token = server.key("station", "poststelle-1", station="poststelle-1")
        other = server.key("station", "poststelle-2", station="poststelle-2")
        client = _client([str(folder), "--url", server.base_url, "--token", token, "--timeout", "900", "--json"])
        out, stderr = client.communicate(timeout=1000)
        assert client.returncode == 1, stderr  # a scan to do again is something for the operator to do
        assert "NEU SCANNEN" in stderr and "leer.pdf" in stderr
        assert "übersprungen" in stderr and "notiz.docx" in stderr
        assert "1 angenommen, 1 übersprungen, 0 Probleme, 1 neu zu scannen" in stderr
        [line] = [json.loads(x) for x in out.splitlines() if x.strip()]
        assert line["outcome"] == "rescan" and line["rescan"]["pages"] == [1, 2]
        document_id = line["document_id"]
        with server.client(token) as station:
            status = station.get(f"/api/v1/documents/{document_id}").json()
            assert status["state"] == "rescan" and status["rescan"]["reason"] == "blank"
            assert "erneut" in status["rescan"]["message"]
            listed = station.get("/api/v1/documents", params={"state": "rescan"}).json()["documents"]
            assert [(d["document_id"], d["rescan"]["reason"]) for d in listed] == [(document_id, "blank")]
            assert station.get("/api/v1/documents", params={"state": "review"}).json()["documents"] == []
        with server.client(other) as station:  # another station's rescans are not its business
            assert station.get("/api/v1/documents", params={"state": "rescan"}).json()["documents"] == []
        with server.client(server.key("reviewer", "pruefer-1")) as reviewer:  # not in the review queue
            assert reviewer.get("/api/v1/documents", params={"state": "rescan"}).json()["documents"] == []


def test_client_names_a_stack_with_its_letters_and_a_confidential_letter_only_when_the_api_says_so(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    for sample in ("0012-stack.pdf", "0019-job_application.pdf"):  # the job application is marked "persönlich"
        shutil.copy(SAMPLES / sample, folder / sample)
    with serve(make_settings(tmp_path / "data")) as server:
        token = server.key("station", "poststelle-1", station="poststelle-1")
        client = _client([str(folder), "--url", server.base_url, "--token", token, "--timeout", "900"])
        _, stderr = client.communicate(timeout=1000)
        with server.client(token) as station:  # an id that never existed is not "confidential"
            missing = station.get("/api/v1/documents/" + "0" * 32)
            assert missing.status_code == 404 and missing.json()["code"] == "document_not_found"
    assert client.returncode == 0, stderr
    assert "0012-stack.pdf: Stapel mit 2 Briefen" in stderr
    assert stderr.count("└ Brief") == 2
    assert "0019-job_application.pdf" in stderr and "vertraulich: nicht mehr sichtbar" in stderr
    assert "2 angenommen, 0 übersprungen, 0 Probleme" in stderr


def test_client_survives_a_restart_of_the_api_while_it_waits(tmp_path: Path) -> None:
    from workers.dispatch import InlineDispatcher

    class Parked:  # the first server takes uploads but processes nothing: the client is surely waiting
        def __init__(self) -> None:
            self.ids: list[str] = []

        def submit(self, document_id: str, *, again: bool = False) -> None:
            self.ids.append(document_id)

    settings = make_settings(tmp_path / "data")
    parked = Parked()
    with serve(settings, dispatcher=parked) as server:
        token = server.key("station", "poststelle-1", station="poststelle-1")
        port = int(server.base_url.rsplit(":", 1)[1])
        client = _client([str(LETTER), "--url", server.base_url, "--token", token, "--timeout", "900",
                          "--retry", "120"])
        deadline = time.monotonic() + 60
        while len(parked.ids) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert parked.ids, "the upload did not arrive"
        time.sleep(1.5)  # the client polls the status
    time.sleep(3)  # the service is down: the client must keep trying
    assert client.poll() is None, client.communicate()[1]
    with serve(settings, port=port) as server:
        runner = InlineDispatcher(server.ctx)
        for document_id in parked.ids:
            runner.submit(document_id)
        _, stderr = client.communicate(timeout=300)
        runner.shutdown(wait=True)
    assert client.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "nicht erreichbar" in stderr and "wieder erreichbar" in stderr
    assert "1 angenommen, 0 übersprungen, 0 Probleme" in stderr


def test_client_gives_up_with_a_summary_when_the_api_stays_away(tmp_path: Path) -> None:
    with serve(make_settings(tmp_path / "data"), dispatcher=_Nothing()) as server:
        token = server.key("station", "poststelle-1", station="poststelle-1")
        client = _client([str(LETTER), "--url", server.base_url, "--token", token, "--retry", "3"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _has_document(server.settings.data_dir):
            time.sleep(0.1)
    _, stderr = client.communicate(timeout=120)
    assert client.returncode == 1 and "Traceback" not in stderr, stderr
    assert "1 angenommen, 0 übersprungen, 1 Probleme" in stderr


class _Nothing:
    def submit(self, document_id: str, *, again: bool = False) -> None:
        pass


def _has_document(data_dir: Path) -> bool:
    with sqlite3.connect(data_dir / "mailroom.sqlite3") as db:
        return bool(db.execute("SELECT count(*) FROM documents").fetchone()[0])


# --- the watched folder ----------------------------------------------------------------------------------


def _wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def test_watched_folder_moves_a_blank_scan_to_rescan_with_a_german_note(tmp_path: Path, blank_scan: Path) -> None:
    inbox, data_dir = tmp_path / "inbox", tmp_path / "data"
    inbox.mkdir()
    env = {**os.environ, "MAILROOM_DATA_DIR": str(data_dir)}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "cli", "watch", str(inbox), "--station", "poststelle-1", "--poll", "0.3"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        shutil.copy(blank_scan, inbox / "scan-leer.pdf")
        shutil.copy(LETTER, inbox / "brief.pdf")
        _wait(lambda: (inbox / "rescan" / "scan-leer.pdf.rescan.txt").exists(), 300)
        _wait(lambda: json.loads((inbox / "done" / "brief.pdf.json").read_text())["outcome"] != "pending", 300)
    finally:
        watcher.send_signal(signal.SIGTERM)
        _, stderr = watcher.communicate(timeout=120)
    assert watcher.returncode == 0, stderr
    note = (inbox / "rescan" / "scan-leer.pdf.rescan.txt").read_text(encoding="utf-8")
    assert note.startswith("NEU SCANNEN: scan-leer.pdf") and "Grund: leer" in note and "Seiten: 1, 2" in note
    receipt = json.loads((inbox / "rescan" / "scan-leer.pdf.json").read_text())
    assert receipt["outcome"] == "rescan" and receipt["rescan"]["pages"] == [1, 2]
    assert {w["code"] for w in receipt["warnings"]} >= {"blank_page", "all_pages_blank"}
    assert (inbox / "rescan" / "scan-leer.pdf").read_bytes() == blank_scan.read_bytes()
    assert not (inbox / "done" / "scan-leer.pdf").exists() and not (inbox / "done" / "scan-leer.pdf.json").exists()
    letter = json.loads((inbox / "done" / "brief.pdf.json").read_text())
    assert letter["outcome"] in ("routed", "review") and "warnings" in letter and "rescan" not in letter
    assert (inbox / "done" / "brief.pdf").exists()
