"""The Tesseract wrapper: the one place that runs the ``tesseract`` program.

It owns the version and language check, the limits of every run (a CPU budget per page, RLIMIT_CPU, so that a
busy machine does not cut a normal page short while a pathological page stays bounded; a child that uses no CPU
for :data:`STALL_FACTOR` times that on the wall clock hangs and is ended, one that works may take up to
:data:`WALL_FACTOR` times that), the environment of every OCR process
(``OMP_THREAD_LIMIT=1``: parallelism comes from processes, never from OpenMP threads) and the translation of
failures into :mod:`mailroom.errors`. It never writes temporary images: it is handed an image file that is
already on disk (PGM/PBM/TIFF/JPEG ...) and runs Tesseract on it once.

One :meth:`TesseractEngine.recognise` call is one Tesseract process producing both the TSV (words with boxes
and confidences) and the searchable PDF page (``tesseract IMG OUT -l deu --psm 3 --dpi N tsv pdf``). Measured
on a 300 dpi A4 letter, the TSV and PDF renderers cost about 5 % on top of a plain ``txt`` run; a second run
for the PDF would cost 100 %.

Why not pytesseract (DESIGN.md names it): its ``run_and_get_multiple_output`` would start the same one process
(no CPU saved), but it would cost what this wrapper exists for: the child's own CPU time from ``os.wait4`` (the
figure behind the "≤ 1.0× bare tesseract CPU per page" bar and the OCR metrics), a pid-safe kill on timeout, and
a child environment without the service's secrets (``_child_env``: pytesseract hands Tesseract the whole
environment of the process). So the program is called directly; revisit if pytesseract gains those.
"""

from __future__ import annotations

import ctypes
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Protocol

from mailroom.errors import ToolFailed, ToolMissing, ToolTimeout
from mailroom.model import Block, Box, Line, Word, union_box
from mailroom.settings import OCR_STALL_FACTOR, OCR_WALL_FACTOR, Settings

_STDERR_TAIL_CHARS = 600
_CHECK_TIMEOUT_SECONDS = 30.0
# The variables of the OCR process that would let a deployment's secrets leak into a child: dropped.
_PRIVATE_ENV_PREFIXES = ("MAILROOM_",)


@dataclass(frozen=True)
class OcrOutput:
    """The result of one OCR run on one page image.

    ``blocks`` are in pixels of the image that was recognised. ``cpu_seconds`` is the user + system CPU time
    of the OCR process itself (from ``wait4``), for benchmarks against the bare ``tesseract`` command.
    """

    blocks: list[Block]
    mean_confidence: float | None  # mean word confidence 0..100 (each word counts once); None without words
    pdf_path: Path | None  # the searchable one-page PDF, when asked for
    cpu_seconds: float
    wall_seconds: float

    @property
    def word_count(self) -> int:
        """Number of recognised words."""
        return sum(len(line.words) for block in self.blocks for line in block.lines)


class OcrEngine(Protocol):
    """What the pipeline needs from an OCR engine; tests swap in fakes, a second engine plugs in here."""

    def check(self) -> str:
        """Return the engine's version; raise :class:`ToolMissing` if it or its language model is missing."""
        ...

    def recognise(self, image_path: Path, out_base: Path, *, dpi: int, pdf: bool = True) -> OcrOutput:
        """OCR one page image; outputs are written next to ``out_base`` (``out_base.pdf``)."""
        ...

    def detect_orientation(self, image_path: Path, *, dpi: int | None = None) -> tuple[int, float] | None:
        """Clockwise rotation (0/90/180/270) that makes the page upright and its confidence, or None."""
        ...

    def recognise_lines(self, image_path: Path, out_base: Path, *, dpi: int) -> OcrOutput:
        """OCR an image of stacked text lines as one block (no page layout analysis, no PDF)."""
        ...


@dataclass(frozen=True)
class _Run:
    returncode: int
    stdout: bytes
    stderr: bytes
    cpu_seconds: float
    wall_seconds: float


@dataclass(frozen=True)
class _Installation:
    version: str
    languages: frozenset[str]


def _child_env() -> dict[str, str]:
    """The environment of every Tesseract process: the caller's, minus mailroom's own, one OpenMP thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_ENV_PREFIXES)}
    env["OMP_THREAD_LIMIT"] = "1"
    return env


_PR_SET_PDEATHSIG = 1

WALL_FACTOR = OCR_WALL_FACTOR  # the most wall clock of a run: this many times its CPU budget (see the settings)
STALL_FACTOR = OCR_STALL_FACTOR  # a run without CPU progress for this many times its budget hangs
_STALL_PROGRESS_SECONDS = 0.05  # less CPU than this over a stall interval is no progress
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _child_cpu(pid: int) -> float | None:
    """CPU seconds a running (or exited, not yet reaped) child used so far, from ``/proc``; None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def _cpu_limit(budget: float) -> int:
    """RLIMIT_CPU counts whole seconds: the budget rounded up, at least one."""
    return max(1, math.ceil(budget))


# resolved once at import: the child between fork and exec only calls it (no dlopen there, where another thread
# of the parent could hold the loader's lock)
_PRCTL = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the process that started it dies (a worker killed with kill -9 or
    by the out-of-memory killer leaves no Tesseract running on as an orphan). Linux only; a no-op elsewhere."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _limit_cpu(pid: int, cpu_budget: float) -> None:
    """From the parent, right after the start (``prlimit``: nothing to run in the child): at most ``cpu_budget``
    CPU seconds (RLIMIT_CPU: SIGXCPU at the budget, SIGKILL a second later) and no core file when that ends it."""
    limit = _cpu_limit(cpu_budget)
    with suppress(ProcessLookupError):  # a child that has already exited (``--version``) needs no limit
        resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
        _, hard = resource.prlimit(pid, resource.RLIMIT_CPU)
        ceiling = limit + 1 if hard == resource.RLIM_INFINITY else min(limit + 1, hard)
        resource.prlimit(pid, resource.RLIMIT_CPU, (min(limit, ceiling), ceiling))


def _tail(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    return text[-_STDERR_TAIL_CHARS:]


def _read_all(stream: IO[bytes]) -> bytes:
    stream.seek(0)
    return stream.read()


def _run(args: list[str], *, timeout: float, wall_timeout: float | None = None) -> _Run:
    """Run one program with a CPU budget of ``timeout`` seconds and a wall-clock limit (``wall_timeout``,
    default :data:`WALL_FACTOR` times the budget), and measure exactly its CPU time. Any limit ends it with
    :class:`ToolTimeout`: the kernel stops a child at its CPU budget (RLIMIT_CPU); a watcher one that used no CPU
    for :data:`STALL_FACTOR` times the budget (it hangs: a busy machine slows a child down, it does not stop it)
    and one that reaches the wall-clock limit.

    The child is reaped with ``os.wait4`` (its own rusage, unaffected by other threads' children). Output goes
    to anonymous temporary files, so a chatty child can never block on a full pipe.
    """
    wall_timeout = timeout * WALL_FACTOR if wall_timeout is None else wall_timeout
    stall = min(timeout * STALL_FACTOR, wall_timeout)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=_child_env(),
                                    preexec_fn=_die_with_parent)
        except FileNotFoundError as exc:
            raise ToolMissing(
                f"{args[0]} is not installed or not on PATH: install tesseract-ocr (scripts/bootstrap.sh does)",
                tool=args[0],
            ) from exc
        except PermissionError as exc:
            raise ToolMissing(f"{args[0]} is not executable", tool=args[0]) from exc
        _limit_cpu(proc.pid, timeout)
        timed_out = threading.Event()
        finished = threading.Event()

        def _kill() -> None:
            timed_out.set()
            with suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)

        def _watch() -> None:
            used = 0.0
            while not finished.wait(min(stall, max(0.0, start + wall_timeout - time.perf_counter()))):
                now = _child_cpu(proc.pid)
                if (now is None or now - used < _STALL_PROGRESS_SECONDS
                        or time.perf_counter() - start >= wall_timeout):
                    _kill()
                    return
                used = now

        timer = threading.Thread(target=_watch, name="tesseract-watch", daemon=True)
        timer.start()
        try:
            # Wait for the exit without reaping: the pid stays ours until wait4, so the timer can never
            # kill a recycled pid.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        except BaseException:
            _kill()
            raise
        finally:
            finished.set()
            timer.join()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        cpu = usage.ru_utime + usage.ru_stime
        name = Path(args[0]).name
        if timed_out.is_set():
            raise ToolTimeout(f"{name} did not finish within {wall:.0f} s (no CPU progress for {stall:g} s, or over "
                              f"the wall clock's {wall_timeout:g} s)", timeout=wall_timeout)
        if proc.returncode == -signal.SIGXCPU or (proc.returncode == -signal.SIGKILL
                                                   and cpu >= _cpu_limit(timeout) - 0.05):
            raise ToolTimeout(f"{name} used up its CPU budget of {_cpu_limit(timeout)} s (after {wall:.0f} s)",
                              timeout=timeout, cpu_seconds=round(cpu, 1))
        return _Run(
            returncode=proc.returncode,
            stdout=_read_all(out),
            stderr=_read_all(err),
            cpu_seconds=cpu,
            wall_seconds=wall,
        )


@lru_cache(maxsize=8)
def _installation(binary: str) -> _Installation:
    """Version and installed languages of one Tesseract binary (cached per process)."""
    version_run = _run([binary, "--version"], timeout=_CHECK_TIMEOUT_SECONDS, wall_timeout=_CHECK_TIMEOUT_SECONDS)
    # Tesseract 5 prints the version on stdout, some builds on stderr.
    first = (version_run.stdout or version_run.stderr).decode("utf-8", errors="replace").strip().splitlines()
    if version_run.returncode != 0 or not first or not first[0].startswith("tesseract"):
        raise ToolMissing(f"{binary} does not answer like Tesseract", tool=binary)
    langs_run = _run([binary, "--list-langs"], timeout=_CHECK_TIMEOUT_SECONDS, wall_timeout=_CHECK_TIMEOUT_SECONDS)
    if langs_run.returncode != 0:
        raise ToolMissing(f"{binary} --list-langs failed: {_tail(langs_run.stderr)}", tool=binary)
    listing = langs_run.stdout.decode("utf-8", errors="replace").splitlines()
    # First line: 'List of available languages in "/usr/share/tesseract-ocr/5/tessdata/" (3):'
    languages = frozenset(line.strip() for line in listing[1:] if line.strip())
    return _Installation(version=first[0].split()[1], languages=languages)


def _require_languages(binary: str, languages: str) -> str:
    installation = _installation(binary)
    missing = [lang for lang in languages.split("+") if lang not in installation.languages]
    if missing:
        raise ToolMissing(
            f"Tesseract language model(s) not installed: {', '.join(missing)} "
            f"(installed: {', '.join(sorted(installation.languages))})",
            tool=binary,
            languages=missing,
        )
    return installation.version


def parse_tsv(tsv: str) -> list[Block]:
    """Parse Tesseract's TSV into blocks, lines and words.

    Only level-5 rows (words) with a confidence ≥ 0 and non-blank text are kept. A :class:`Block` is one
    Tesseract paragraph (``block_num``, ``par_num``), which matches what a PDF text layer calls a block;
    a :class:`Line` is one ``line_num`` within it. Boxes are in pixels of the recognised image.
    """
    blocks: dict[tuple[int, int], dict[int, list[Word]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t", 11)
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        confidence = float(cols[10])
        if not text or confidence < 0:
            continue
        left, top, width, height = (int(c) for c in cols[6:10])
        box: Box = (left, top, left + width, top + height)
        block_key = (int(cols[2]), int(cols[3]))
        blocks.setdefault(block_key, {}).setdefault(int(cols[4]), []).append(
            Word(text=text, box=box, confidence=confidence)
        )
    result: list[Block] = []
    for block_key in sorted(blocks):
        lines = [
            Line(words=words, box=union_box([w.box for w in words]))
            for _, words in sorted(blocks[block_key].items())
        ]
        result.append(Block(lines=lines, box=union_box([line.box for line in lines])))
    return result


def parse_osd(osd: str) -> tuple[int, float] | None:
    """Parse Tesseract's OSD report (``--psm 0``) into (clockwise rotation, confidence), or None."""
    rotate: int | None = None
    confidence: float | None = None
    for line in osd.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Rotate":
            rotate = int(value.strip())
        elif key.strip() == "Orientation confidence":
            confidence = float(value.strip())
    if rotate is None or confidence is None:
        return None
    return rotate % 360, confidence


class TesseractEngine:
    """The :class:`OcrEngine` backed by the ``tesseract`` command line program (one process per page)."""

    def __init__(
        self, language: str = "deu", timeout: float = 180.0, psm: int = 3, *, binary: str = "tesseract",
        wall_timeout: float | None = None,
    ) -> None:
        self.language = language
        self.timeout = timeout  # CPU seconds of one run (the page budget)
        self.wall_timeout = wall_timeout  # None: WALL_FACTOR x timeout
        self.psm = psm
        self.binary = binary

    @classmethod
    def from_settings(cls, settings: Settings) -> TesseractEngine:
        """The engine configured by ``ocr_language``, ``ocr_timeout_seconds`` and ``ocr_psm``."""
        return cls(language=settings.ocr_language, timeout=settings.ocr_timeout_seconds, psm=settings.ocr_psm)

    def __repr__(self) -> str:
        return f"TesseractEngine(language={self.language!r}, timeout={self.timeout!r}, psm={self.psm!r})"

    def check(self) -> str:
        """Return the Tesseract version; raise :class:`ToolMissing` if it or a language model is missing."""
        return _require_languages(self.binary, self.language)

    def recognise(self, image_path: Path, out_base: Path, *, dpi: int, pdf: bool = True) -> OcrOutput:
        """OCR one page image in a single Tesseract run producing the TSV and (optionally) the PDF page.

        ``dpi`` is always passed (raw PGM/PBM carry none, TIFF from pdfimages says 72) and overrides whatever
        the file claims. The TSV is parsed and removed; the PDF stays at ``out_base.pdf`` for the caller.
        """
        return self._recognise(image_path, out_base, dpi=dpi, pdf=pdf, psm=self.psm)

    def recognise_lines(self, image_path: Path, out_base: Path, *, dpi: int) -> OcrOutput:
        """OCR an image of stacked text lines (``intake.recovery``) as one uniform block (``--psm 6``)."""
        return self._recognise(image_path, out_base, dpi=dpi, pdf=False, psm=6)

    def recognise_sparse(self, image_path: Path, out_base: Path, *, dpi: int) -> OcrOutput:
        """The cheaper reading of a page that ran over its budget: sparse text (``--psm 11``, no layout
        analysis), with its searchable PDF page."""
        return self._recognise(image_path, out_base, dpi=dpi, pdf=True, psm=11)

    def _recognise(self, image_path: Path, out_base: Path, *, dpi: int, pdf: bool, psm: int) -> OcrOutput:
        self.check()
        if not image_path.is_file():
            raise ToolFailed(f"page image {image_path.name} does not exist", path=str(image_path))
        renderers = ["tsv", "pdf"] if pdf else ["tsv"]
        args = [
            self.binary, str(image_path), str(out_base),
            "-l", self.language, "--psm", str(psm), "--dpi", str(dpi),
            *renderers,
        ]  # fmt: skip
        run = _run(args, timeout=self.timeout, wall_timeout=self.wall_timeout)
        tsv_path = out_base.with_name(out_base.name + ".tsv")
        pdf_path = out_base.with_name(out_base.name + ".pdf")
        if run.returncode != 0 or not tsv_path.is_file():
            tsv_path.unlink(missing_ok=True)
            pdf_path.unlink(missing_ok=True)
            raise ToolFailed(
                f"tesseract failed on {image_path.name} (exit {run.returncode}): {_tail(run.stderr)}",
                exit_code=run.returncode,
            )
        try:
            blocks = parse_tsv(tsv_path.read_text(encoding="utf-8", errors="replace"))
        finally:
            tsv_path.unlink(missing_ok=True)
        if pdf and not pdf_path.is_file():
            raise ToolFailed(f"tesseract wrote no PDF for {image_path.name}: {_tail(run.stderr)}")
        confidences = [w.confidence for b in blocks for line in b.lines for w in line.words]
        return OcrOutput(
            blocks=blocks,
            mean_confidence=sum(confidences) / len(confidences) if confidences else None,
            pdf_path=pdf_path if pdf else None,
            cpu_seconds=run.cpu_seconds,
            wall_seconds=run.wall_seconds,
        )

    def detect_orientation(self, image_path: Path, *, dpi: int | None = None) -> tuple[int, float] | None:
        """Orientation and script detection (``--psm 0``, ``osd`` model only).

        Returns the clockwise rotation (0/90/180/270) that makes the page upright (Tesseract's ``Rotate``)
        and the orientation confidence, or None when OSD cannot decide (too few characters, blank page).
        Costs roughly a third of a full OCR run on a letter page: call it only when needed.
        """
        _require_languages(self.binary, "osd")
        if not image_path.is_file():
            raise ToolFailed(f"page image {image_path.name} does not exist", path=str(image_path))
        args = [self.binary, str(image_path), "stdout", "-l", "osd", "--psm", "0"]
        if dpi is not None:
            args += ["--dpi", str(dpi)]
        run = _run(args, timeout=self.timeout, wall_timeout=self.wall_timeout)
        result = parse_osd(run.stdout.decode("utf-8", errors="replace"))
        if result is not None:
            return result
        stderr = run.stderr.decode("utf-8", errors="replace")
        if "Too few characters" in stderr or run.returncode == 0:
            return None
        raise ToolFailed(
            f"tesseract OSD failed on {image_path.name} (exit {run.returncode}): {_tail(run.stderr)}",
            exit_code=run.returncode,
        )
