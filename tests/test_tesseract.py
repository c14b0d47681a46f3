"""The Tesseract wrapper (intake.tesseract): real Tesseract on rendered German pages, plus a fake binary for
fault injection."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import threading
import time
from contextlib import suppress
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth
from reportlab.pdfgen import canvas

from intake import poppler
from intake.tesseract import STALL_FACTOR, OcrEngine, TesseractEngine, parse_osd, parse_tsv
from mailroom.errors import ToolFailed, ToolMissing, ToolTimeout
from mailroom.settings import Settings

PT = 300 / 72
FONT, SIZE = "Helvetica", 16
LINES = [
    (72.0, 760.0, "Stadtverwaltung Musterstadt"),
    (72.0, 720.0, "Straße der Einheit 12"),
    (72.0, 600.0, "Bescheid über die Gebühr für die Müllabfuhr"),
    (72.0, 570.0, "Bitte zahlen Sie den Betrag bis zum 15. Dezember."),
]


@pytest.fixture(scope="module")
def page_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300 dpi grey PGM of a German letter, rendered by Poppler."""
    root = tmp_path_factory.mktemp("page")
    pdf = root / "letter.pdf"
    c = canvas.Canvas(str(pdf), pagesize=A4)
    c.setFont(FONT, SIZE)
    for x, y, text in LINES:
        c.drawString(x, y, text)
    c.showPage()
    c.save()
    return poppler.rasterise_page(pdf, 1, 300, root)


def drawn_box(line: int, word: str) -> tuple[float, float, float, float]:
    x, y, text = LINES[line]
    x0 = x + stringWidth(text[: text.index(word)], FONT, SIZE)
    ascent = getAscentDescent(FONT, SIZE)[0]
    return (x0 * PT, (A4[1] - y - ascent) * PT, (x0 + stringWidth(word, FONT, SIZE)) * PT, (A4[1] - y) * PT)


def test_recognise_reads_umlauts_with_boxes_and_writes_a_searchable_pdf(
    page_image: Path, tmp_path: Path
) -> None:
    engine: OcrEngine = TesseractEngine.from_settings(Settings(data_dir=tmp_path))
    result = engine.recognise(page_image, tmp_path / "page-1", dpi=300)

    words = {w.text.strip(".,"): w for b in result.blocks for line in b.lines for w in line.words}
    assert {"Straße", "Gebühr", "Müllabfuhr"} <= set(words)
    for line, word in [(1, "Straße"), (2, "Gebühr")]:
        # OCR boxes are tight around the ink: within a few pixels of the drawn glyph box
        assert words[word].box == pytest.approx(drawn_box(line, word), abs=12)
    assert result.mean_confidence is not None and result.mean_confidence > 80
    assert result.word_count == sum(len(t.split()) for _, _, t in LINES)
    lines = [line.text for b in result.blocks for line in b.lines]
    assert lines[:2] == ["Stadtverwaltung Musterstadt", "Straße der Einheit 12"]
    assert result.cpu_seconds > 0.1 and result.wall_seconds > 0
    assert not (tmp_path / "page-1.tsv").exists()

    assert result.pdf_path == tmp_path / "page-1.pdf"
    text = subprocess.run(["pdftotext", str(result.pdf_path), "-"], capture_output=True, check=True).stdout
    assert "Gebühr" in text.decode() and "Straße" in text.decode()


def _pdf_images(pdf: Path) -> list[list[str]]:
    listed = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in listed.splitlines()[2:]]


def test_a_searchable_pdf_page_shows_the_page_image_under_its_text(page_image: Path, tmp_path: Path) -> None:
    """What people see of a searchable PDF page: the page as it was read, at its size, with its text once
    (invisible, selectable). Tesseract puts a grey page in as JPEG (quality 85), a black-and-white one as CCITT G4
    (lossless)."""
    import cv2

    assert page_image.suffix == ".pgm"
    page = cv2.imread(str(page_image), cv2.IMREAD_GRAYSCALE)
    result = TesseractEngine().recognise(page_image, tmp_path / "grey", dpi=300)
    assert result.pdf_path is not None
    images = _pdf_images(result.pdf_path)
    assert [(row[3], row[4], row[5], row[8]) for row in images] == [(str(page.shape[1]), str(page.shape[0]),
                                                                     "gray", "jpeg")]
    subprocess.run(["pdftoppm", "-r", "300", "-gray", "-singlefile", str(result.pdf_path), str(tmp_path / "shown")],
                   check=True)
    seen = cv2.imread(str(tmp_path / "shown.pgm"), cv2.IMREAD_GRAYSCALE)
    assert seen.shape == page.shape
    ink = page < 128
    assert np.abs(seen.astype(int) - page.astype(int)).mean() < 3  # the page, not a blank sheet or a copy
    assert (seen[ink] < 128).mean() > 0.9 and (seen[~ink] >= 128).mean() > 0.99  # invisible text: no extra ink
    text = subprocess.run(["pdftotext", str(result.pdf_path), "-"], capture_output=True, check=True).stdout.decode()
    assert text.count("Müllabfuhr") == 1

    black_white = tmp_path / "bw.pbm"
    cv2.imwrite(str(black_white), np.where(page < 160, 0, 255).astype(np.uint8))
    bw = TesseractEngine().recognise(black_white, tmp_path / "bw", dpi=300)
    assert bw.pdf_path is not None and [row[8] for row in _pdf_images(bw.pdf_path)] == ["ccitt"]


def test_recognise_without_pdf(page_image: Path, tmp_path: Path) -> None:
    result = TesseractEngine().recognise(page_image, tmp_path / "p", dpi=300, pdf=False)
    assert result.pdf_path is None and not (tmp_path / "p.pdf").exists()
    assert result.word_count > 20


def test_orientation_of_an_upside_down_page(page_image: Path, tmp_path: Path) -> None:
    upside_down = tmp_path / "upside-down.pgm"
    with Image.open(page_image) as image:
        image.rotate(180).save(upside_down)
    engine = TesseractEngine()
    detected = engine.detect_orientation(upside_down, dpi=300)
    assert detected is not None and detected[0] == 180 and detected[1] > 1


def test_orientation_of_a_blank_page_is_undecided(tmp_path: Path) -> None:
    blank = tmp_path / "blank.pgm"
    Image.new("L", (1240, 1754), 255).save(blank)
    assert TesseractEngine().detect_orientation(blank) is None


def test_tiny_timeout_is_a_tool_timeout(page_image: Path, tmp_path: Path) -> None:
    engine = TesseractEngine(timeout=0.05)
    engine.check()  # the version check has its own timeout
    with pytest.raises(ToolTimeout):
        engine.recognise(page_image, tmp_path / "slow", dpi=300)


def test_unknown_language_is_a_missing_tool(page_image: Path, tmp_path: Path) -> None:
    engine = TesseractEngine(language="deu+xyz")
    with pytest.raises(ToolMissing, match="xyz"):
        engine.check()
    with pytest.raises(ToolMissing):
        engine.recognise(page_image, tmp_path / "x", dpi=300)


def test_missing_binary_is_a_missing_tool(page_image: Path, tmp_path: Path) -> None:
    engine = TesseractEngine(binary=str(tmp_path / "no-such-tesseract"))
    with pytest.raises(ToolMissing):
        engine.recognise(page_image, tmp_path / "x", dpi=300)


def test_check_returns_the_version() -> None:
    assert TesseractEngine().check().startswith("5.")


FAKE = """#!/bin/sh
case "$1" in
  --version) echo "tesseract 5.3.0"; exit 0;;
  --list-langs) echo 'List of available languages in "/fake" (2):'; echo deu; echo osd; exit 0;;
esac
echo "OMP_THREAD_LIMIT=$OMP_THREAD_LIMIT MAILROOM_SECRET=$MAILROOM_SECRET" > "$(dirname "$0")/env.txt"
echo "Error in pixReadStream: Unknown format: no pix returned" >&2
exit 1
"""


def test_failure_is_a_tool_failed_with_stderr_and_a_clean_environment(
    page_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "fake-tesseract"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    monkeypatch.setenv("MAILROOM_SECRET", "hunter2")
    monkeypatch.setenv("OMP_THREAD_LIMIT", "8")
    engine = TesseractEngine(binary=str(fake))
    assert engine.check() == "5.3.0"
    with pytest.raises(ToolFailed, match="Unknown format") as failure:
        engine.recognise(page_image, tmp_path / "out", dpi=300)
    assert failure.value.details["exit_code"] == 1
    assert (tmp_path / "env.txt").read_text().split() == ["OMP_THREAD_LIMIT=1", "MAILROOM_SECRET="]


def test_parse_tsv_structure_and_filters() -> None:
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        "1\t1\t0\t0\t0\t0\t0\t0\t2480\t3508\t-1\t",
        "4\t1\t1\t1\t1\t0\t10\t10\t200\t30\t-1\t",
        "5\t1\t1\t1\t1\t1\t10\t10\t90\t30\t96.5\tAmt",
        "5\t1\t1\t1\t1\t2\t110\t12\t100\t28\t90.5\tfür",
        "5\t1\t1\t1\t2\t1\t10\t50\t90\t30\t88\tFinanzen",
        "5\t1\t1\t1\t2\t2\t110\t50\t30\t30\t95\t ",
        "5\t1\t1\t2\t1\t1\t10\t100\t50\t30\t-1\tx",
        "5\t1\t2\t1\t1\t1\t500\t500\t60\t20\t70\tKasse",
    ]
    blocks = parse_tsv("\n".join([header, *rows]) + "\n")
    assert [b.text for b in blocks] == ["Amt für\nFinanzen", "Kasse"]
    assert blocks[0].lines[0].box == (10, 10, 210, 40)
    assert blocks[0].box == (10, 10, 210, 80)
    assert blocks[1].lines[0].words[0].confidence == 70


def test_parse_osd() -> None:
    report = "Page number: 0\nOrientation in degrees: 90\nRotate: 270\nOrientation confidence: 12.79\n"
    assert parse_osd(report) == (270, 12.79)
    assert parse_osd("") is None


# --- the page budget is CPU seconds (RLIMIT_CPU), the wall clock a multiple of it ------------------------------


@pytest.fixture(scope="module")
def letter(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A full scanned letter at 300 dpi, and the CPU seconds Tesseract needs for it here (unlimited run)."""
    import cv2
    from pagefactory import render_letter, scan_grey

    path = tmp_path_factory.mktemp("letter") / "letter.png"
    page, _ = render_letter(300)
    cv2.imwrite(str(path), scan_grey(page, seed=3))
    out = TesseractEngine(timeout=600).recognise(path, path.with_name("baseline"), dpi=300, pdf=False)
    assert out.word_count > 100
    return path, out.cpu_seconds


def _tesseract_child() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = stat.split("(", 1)[1].rsplit(")", 1)
            if name == "tesseract" and int(rest.split()[1]) == os.getpid():
                return int(entry.name)
    return None


def _await_tesseract_child(seconds: float = 30) -> int | None:
    """The pid of this process's Tesseract child once it runs (None if none starts within ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (child := _tesseract_child()) is not None:
            return child
        time.sleep(0.01)
    return None


def test_a_busy_machine_does_not_cut_a_normal_page_short(letter: tuple[Path, float], tmp_path: Path) -> None:
    """The reading gets no CPU for longer than its budget (SIGSTOP: as on a machine busy with other work); it is
    not cut short, because the budget counts the CPU it used, and a child that works is not taken for hanging."""
    path, cpu = letter
    budget = math.ceil(2 * cpu) + 1
    engine = TesseractEngine(timeout=budget)

    def starve() -> None:
        child = _await_tesseract_child()
        if child is not None:
            os.kill(child, signal.SIGSTOP)
            time.sleep(budget + 0.5)
            os.kill(child, signal.SIGCONT)

    starver = threading.Thread(target=starve)
    starver.start()
    try:
        out = engine.recognise(path, tmp_path / "busy", dpi=300, pdf=False)
    finally:
        starver.join()
    assert out.word_count > 100
    assert out.wall_seconds > budget  # a wall-clock budget would have cut this page short
    assert out.cpu_seconds < budget


def test_a_page_over_its_cpu_budget_is_stopped_by_the_kernel(letter: tuple[Path, float], tmp_path: Path) -> None:
    """Two letters on one tall page need about twice the CPU of one; a budget of 1 s ends the run there (SIGXCPU
    from RLIMIT_CPU) as a tool_timeout, long before the wall clock, and leaves no core file."""
    path, cpu = letter
    assert cpu > 1.0  # one letter alone needs more than the budget of 1 s
    with Image.open(path) as one:
        tall = Image.new("L", (one.width, 2 * one.height), 255)
        tall.paste(one, (0, 0))
        tall.paste(one, (0, one.height))
    tall_path = tmp_path / "two-letters.png"
    tall.save(tall_path)
    engine = TesseractEngine(timeout=1, wall_timeout=600)
    engine.check()
    start = time.monotonic()
    with pytest.raises(ToolTimeout, match="CPU budget of 1 s") as raised:
        engine.recognise(tall_path, tmp_path / "over", dpi=300)
    assert time.monotonic() - start < 120  # not the wall clock's 600 s
    # about the budget: the kernel checks RLIMIT_CPU at its ticks, rusage counts a little differently on a busy machine
    assert raised.value.code == "tool_timeout" and 0.8 <= raised.value.details["cpu_seconds"] < 3.0
    assert not list(tmp_path.glob("core*")) and not list(Path.cwd().glob("core.*"))
    assert _tesseract_child() is None


def _duty_cycle(running: float, stopped: float, until: threading.Event) -> threading.Thread:
    """Starve the Tesseract child: it runs ``running`` s, then is stopped ``stopped`` s, until ``until`` is set
    (for good when ``running`` is 0): a machine far busier than the child's share of a core."""
    def starve() -> None:
        child = _await_tesseract_child()
        while child is not None and not until.is_set():
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGSTOP)
            if until.wait(stopped):
                break
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGCONT)
            until.wait(running)
        if child is not None:
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGCONT)

    thread = threading.Thread(target=starve)
    thread.start()
    return thread


def test_a_starved_page_that_still_works_goes_on_past_the_stall_interval(
    letter: tuple[Path, float], tmp_path: Path,
) -> None:
    """A share of a core so small (about a tenth: a machine ten times overbooked) that the run takes about 5 times
    its budget on the wall clock or more (more still if the machine is busy besides), more than STALL_FACTOR (3)
    times, where the earlier fixed wall clock ended it: it uses CPU all along, so it is not taken for hanging. (The
    wall-clock limit is set far out here: only the stall check is under test, not how busy the test machine is.)"""
    path, cpu = letter
    budget = math.ceil(cpu) + 1
    engine = TesseractEngine(timeout=budget, wall_timeout=100 * budget)
    share = cpu / (5 * budget)
    done = threading.Event()
    starver = _duty_cycle(0.05, 0.05 * (1 / share - 1), done)
    try:
        out = engine.recognise(path, tmp_path / "starved", dpi=300, pdf=False)
    finally:
        done.set()
        starver.join()
    assert out.word_count > 100
    assert out.wall_seconds > STALL_FACTOR * budget  # the earlier fixed wall clock (3x) cut such a page short


def test_a_child_that_hangs_is_ended_after_the_stall_interval(letter: tuple[Path, float], tmp_path: Path) -> None:
    """A child that uses no CPU at all (stopped for good) hangs: it is ended after STALL_FACTOR times its budget,
    long before the wall-clock limit, and no Tesseract is left behind."""
    path, _ = letter
    engine = TesseractEngine(timeout=2, wall_timeout=600)
    done = threading.Event()
    starver = _duty_cycle(0, 3600, done)
    start = time.monotonic()
    try:
        with pytest.raises(ToolTimeout, match="no CPU progress") as raised:
            engine.recognise(path, tmp_path / "hangs", dpi=300, pdf=False)
    finally:
        done.set()
        starver.join()
    assert STALL_FACTOR * 2 - 1 <= time.monotonic() - start < 120  # the stall interval, not the wall clock's 600 s
    assert raised.value.code == "tool_timeout"
    assert _tesseract_child() is None
