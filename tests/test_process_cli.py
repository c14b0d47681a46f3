"""`mailroom process` end to end, as a user runs it: real Tesseract, Poppler and SQLite, the committed samples."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "sample_docs" / "committed"
SCHEMA = json.loads((Path(__file__).parent / "contract" / "result_v1.schema.json").read_text())


def run_process(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAILROOM_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "cli", "process", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )


def truth(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.with_name(path.name + ".truth.json").read_text())
    return data


def committed(fmt: str, *, where: Any = None) -> Path:
    for path in sorted(COMMITTED.iterdir()):
        if path.name.endswith(".truth.json"):
            continue
        t = truth(path)
        if t["format"] == fmt and (where is None or where(t)):
            return path
    raise AssertionError(f"no committed sample of format {fmt}")


def results(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    for obj in lines:
        jsonschema.validate(obj, SCHEMA)
    return lines


@pytest.fixture(scope="module")
def one_of_each(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Process one committed sample of every input kind in one run; results keyed by format."""
    data_dir = tmp_path_factory.mktemp("data")
    picks = {
        "pdf_digital": committed("pdf_digital"),
        "pdf_scan": committed("pdf_scan"),
        "tiff": committed("tiff"),
        "png": committed("png"),
        "jpeg": committed("jpeg"),
        "xml": committed("xml"),
        "pdf_zugferd": committed("pdf_zugferd"),
    }
    proc = run_process([str(p) for p in picks.values()] + ["--json"], data_dir)
    assert proc.returncode == 0, proc.stderr
    out = results(proc)
    assert len(out) == len(picks)
    by_name = {r["filename"]: r for r in out}
    return {fmt: {"result": by_name[p.name], "path": p, "truth": truth(p)} for fmt, p in picks.items()}


@pytest.mark.parametrize(
    ("fmt", "text_source"),
    [("pdf_digital", "text_layer"), ("pdf_scan", "ocr"), ("tiff", "ocr"), ("png", "ocr"), ("jpeg", "ocr"),
     ("xml", "e_invoice"), ("pdf_zugferd", "text_layer")],
)
def test_each_input_type_is_read_the_right_way(one_of_each: dict[str, Any], fmt: str, text_source: str) -> None:
    item = one_of_each[fmt]
    result = item["result"]
    assert result["text_source"] == text_source
    assert result["schema"] == "mailroom.result/v1"
    import hashlib

    assert result["sha256"] == hashlib.sha256(item["path"].read_bytes()).hexdigest()
    expected_pages = 0 if fmt == "xml" else len(item["truth"]["pages"])
    assert result["pages"] == expected_pages
    if text_source == "ocr":
        assert result["quality"]["ocr_confidence"] > 50
    truth = item["truth"]
    routing = result["routing"]
    assert routing["status"] in ("routed", "review")
    if routing["status"] == "routed":  # never to a wrong desk: what is routed goes where the truth says
        assert routing["postbox"] == truth["postbox"], routing
        assert result["document_type"]["label"] == truth["document_type"]
    else:
        # in review with a proposal to confirm (e.g. an invoice whose fields need checking) or the best alternatives
        assert routing["postbox"] or routing["alternatives"], "a document in review comes with a proposal"
    if truth.get("invoice") and result["document_type"]["label"] in ("invoice", "credit_note"):
        invoice = result["invoice"]
        assert invoice["total_gross"]["value"] == truth["invoice"]["total_gross"]
        if fmt in ("xml", "pdf_zugferd"):
            assert invoice["total_gross"]["source"] == "e-invoice"


def test_skewed_and_upside_down_scans_are_corrected_and_warned(tmp_path: Path) -> None:
    skewed = committed("pdf_scan", where=lambda t: any(abs(p["skew_degrees"]) >= 3.5 for p in t["pages"]))
    flipped = committed(
        "pdf_scan", where=lambda t: any(p["rotation"] == 180 for p in t["pages"])
    ) if any(
        truth(p)["format"] == "pdf_scan" and any(pg["rotation"] == 180 for pg in truth(p)["pages"])
        for p in COMMITTED.iterdir() if not p.name.endswith(".json")
    ) else None
    paths = [skewed] + ([flipped] if flipped else [])
    proc = run_process([str(p) for p in paths] + ["--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = {r["filename"]: r for r in results(proc)}
    t = truth(skewed)
    worst = max((p["skew_degrees"] for p in t["pages"]), key=abs)
    got = out[skewed.name]["quality"]
    assert abs(got["skew_degrees"] - worst) < 0.5
    assert any(w["code"] == "skewed" for w in got["warnings"])
    if flipped:
        warnings = out[flipped.name]["quality"]["warnings"]
        assert any(w["code"] == "rotated" for w in warnings)


def test_same_file_twice_is_the_same_document(tmp_path: Path) -> None:
    sample = committed("pdf_digital")
    first = results(run_process([str(sample), "--json"], tmp_path))
    second = results(run_process([str(sample), "--json"], tmp_path))
    assert first[0]["document_id"] == second[0]["document_id"]
    with sqlite3.connect(tmp_path / "mailroom.sqlite3") as db:
        assert db.execute("select count(*) from documents").fetchone()[0] == 1


def test_human_output_lists_each_document(tmp_path: Path) -> None:
    sample = committed("pdf_digital")
    proc = run_process([str(sample)], tmp_path)
    assert proc.returncode == 0
    assert sample.name in proc.stderr
    assert "text_layer" in proc.stderr
    assert proc.stdout == ""


def test_text_prints_what_was_read_page_by_page(tmp_path: Path) -> None:
    sample = committed("pdf_digital", where=lambda t: len(t["pages"]) >= 2)
    proc = run_process([str(sample), "--text"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    pages = proc.stdout.split("\f")
    assert pages[-1] == "" and len(pages) - 1 == len(truth(sample)["pages"])  # every page ends with a form feed
    for read, expected in zip(pages, truth(sample)["pages"], strict=False):
        first_line = next(line for line in expected["text"].splitlines() if line.strip())
        assert first_line.split()[0] in read  # each page's own text, in page order
    assert sample.name in proc.stderr  # the summary stays on stderr
    both = run_process([str(sample), "--text", "--json"], tmp_path)
    assert both.returncode == 2 and "choose one" in both.stderr


def test_bad_inputs_get_their_codes_and_nothing_is_written(tmp_path: Path) -> None:
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "empty.pdf").write_bytes(b"")
    (bad / "letter.pdf").write_bytes(b"PK\x03\x04 this is a zip, not a pdf" * 10)
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<\n")
    data_dir = tmp_path / "data"
    proc = run_process([str(bad / "empty.pdf"), str(bad / "letter.pdf"), str(bad / "broken.pdf"),
                        str(bad / "missing.pdf"), "--json"], data_dir)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "empty_file" in proc.stderr
    assert "unsupported_file_type" in proc.stderr
    assert "corrupt_file" in proc.stderr or "truncated_file" in proc.stderr
    assert "file_not_found" in proc.stderr
    blobs = data_dir / "blobs"
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))
    db = data_dir / "mailroom.sqlite3"
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("select count(*) from documents").fetchone()[0] == 0


def test_good_and_bad_inputs_together_process_the_good_ones(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    good = committed("png")
    proc = run_process([str(tmp_path / "empty.png"), str(good), "--json"], tmp_path / "data")
    assert proc.returncode == 1
    out = results(proc)
    assert [r["filename"] for r in out] == [good.name]
