"""CPU of a start: what a worker or ``mailroom process`` pays before it can read its first document (issue 16 bar:
ready in <= 2 s of CPU, models loaded).

    .venv/bin/python bench/bench_startup.py [--runs 5] [--data-dir DIR] [--page FILE] [--no-bytecode] [--profile]
    .venv/bin/python bench/bench_startup.py --compare CHECKOUT [--runs 5]   # the worker start, old and new alternately

Each run is a fresh Python process that does what ``mailroom process`` does before its first document: import
the command line (``cli.main``) and the pipeline, create the pipeline context (database engine, migrations
checked, OCR engine) and load the router (organisation directory, both recognition models, routing policy, the
rule set). The data directory is prepared once before the measured runs (migrated, default models adopted), as on
an installed machine. CPU = user + sys of the process and its children (``getrusage``); the machine is shared, so
the minimum and the median of the runs are printed. ``--profile`` prints a cProfile of one start instead.

The project's modules are compiled to bytecode first, as ``pip install`` and the Docker image have them (with
``PYTHONDONTWRITEBYTECODE`` set, an editable checkout would otherwise compile every module at every start);
``--no-bytecode`` measures without (the ``__pycache__`` folders are left as they are, so only a clean checkout
shows that cost).

Then the real command, ``mailroom process PAGE`` (default: the committed one-page complaint, a PNG scan), runs
``--runs`` times in fresh processes on the same data directory: its own CPU (Python: start-up plus the page's
Python work) and its children's (Tesseract, Poppler) apart, from ``getrusage`` at exit.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

CHILD = r"""
import json, resource, sys
def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF); kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
t0 = cpu()
import cli.main  # noqa: F401  (the command line, as `mailroom process` starts)
from mailroom.startup import without_gc
with without_gc():  # as `mailroom process` imports the pipeline
    from workers.inprocess import process_path  # noqa: F401
    from workers.pipeline import PipelineContext
t1 = cpu()
from pathlib import Path
from mailroom.settings import Settings
ctx = PipelineContext.create(Settings(data_dir=Path(sys.argv[1])))
t2 = cpu()
ctx.router.rules(None)  # directory, models, policy and the rule set
t3 = cpu()
heavy = sorted(m for m in ("sklearn", "scipy", "scipy.stats", "pandas") if m in sys.modules)
print(json.dumps({"imports": t1 - t0, "context": t2 - t1, "router": t3 - t2, "total": t3, "heavy": heavy}))
"""


ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "classifiers", "cli", "extraction", "intake", "mailroom", "routing", "rules", "webhooks", "workers")
PAGE = ROOT / "sample_docs" / "committed" / "0008-complaint.png"

#: ``mailroom process PAGE --data-dir DIR`` with the process's own and its children's CPU printed at exit
PROCESS = r"""
import atexit, json, resource, sys
def report():
    me = resource.getrusage(resource.RUSAGE_SELF); kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys.stderr.write("\nCPU " + json.dumps({"self": me.ru_utime + me.ru_stime,
                                             "children": kids.ru_utime + kids.ru_stime}) + "\n")
atexit.register(report)
from cli.main import app
app(["process", sys.argv[1], "--data-dir", sys.argv[2]])
"""


def fresh_copy(page: Path, folder: Path, run: int) -> Path:
    """The page with the same pixels and other bytes (a PNG text chunk): a document seen before is not read again
    (its stored pages are used), so every run gets a new one."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("bench-run", f"{run} {uuid.uuid4()}")  # new in every data directory
    copy = folder / f"{page.stem}-{run}.png"
    with Image.open(page) as image:
        image.save(copy, pnginfo=info, dpi=image.info.get("dpi", (300, 300)))
    return copy


def run_process(page: Path, data_dir: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", PROCESS, str(page), str(data_dir)], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    line = done.stderr.rsplit("\nCPU ", 1)[-1].splitlines()[0]
    if done.returncode != 0:
        raise SystemExit(f"mailroom process failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(line)
    return result


def _tree_cpu(pid: int) -> float:
    """CPU (user + sys) of a running process and its live descendants, plus that of their children already reaped
    (the tool checks' ``tesseract --version``), from /proc (clock ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        stats[int(entry.name)] = sum(int(f) for f in fields[11:15]) / ticks
    todo, total = [pid], 0.0
    while todo:
        current = todo.pop()
        total += stats.get(current, 0.0)
        todo += children.get(current, [])
    return total


def run_worker(data_dir: Path, root: Path = ROOT) -> float:
    """CPU of ``mailroom worker --concurrency 1`` (embedded broker) from its start until it is ready (its heartbeat
    row is written at Celery's ``worker_ready``): parent and pool process. ``root``: the checkout whose code runs
    (another one, e.g. a ``git worktree`` of an older main, for ``--compare``)."""
    import sqlite3
    import time

    env = {**os.environ, "MAILROOM_DATA_DIR": str(data_dir), "OMP_THREAD_LIMIT": "1"}
    env.pop("MAILROOM_BROKER_URL", None)
    db = data_dir / "mailroom.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM service_heartbeats")
    proc = subprocess.Popen([sys.executable, "-m", "cli", "worker", "--concurrency", "1", "--queues", "ocr,default"],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as conn:
                if conn.execute("SELECT count(*) FROM service_heartbeats").fetchone()[0]:
                    return _tree_cpu(proc.pid)
            time.sleep(0.05)
        raise SystemExit("the worker did not get ready within 300 s")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def run_once(data_dir: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def compare_workers(other: Path, runs: int, data_dir: Path | None) -> int:
    """The worker start of this checkout and of ``other`` alternately (the machine's load changes both alike)."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        data = data_dir or Path(tmp)
        run_once(data)  # install (not measured)
        cpu: dict[Path, list[float]] = {ROOT: [], other.resolve(): []}
        for _ in range(runs):
            for root in cpu:
                cpu[root].append(run_worker(data, root))
    for root, values in cpu.items():
        print(f"mailroom worker --concurrency 1 until ready, {root}: min / median "
              f"{min(values):.2f} / {statistics.median(values):.2f} s  ({' '.join(f'{v:.2f}' for v in values)})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None, help="an installed data directory (default: new)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one start")
    parser.add_argument("--page", type=Path, default=PAGE, help="the page `mailroom process` reads (an image)")
    parser.add_argument("--no-bytecode", action="store_true", help="do not compile the modules first")
    parser.add_argument("--compare", type=Path, default=None, metavar="CHECKOUT",
                        help="only the worker start: this checkout and CHECKOUT (e.g. a git worktree of an older "
                             "main) alternately, --runs each, with this interpreter")
    args = parser.parse_args()
    if not args.no_bytecode:
        for root in (ROOT, *([args.compare] if args.compare else [])):
            for package in PACKAGES:
                if (root / package).is_dir():
                    compileall.compile_dir(root / package, quiet=1)
    if args.compare:
        return compare_workers(args.compare, args.runs, args.data_dir)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        run_once(data_dir)  # install: migrations, default models adopted (not measured)
        if args.profile:
            code = f"import cProfile\ncProfile.run({CHILD!r}, sort='cumulative')"
            subprocess.run([sys.executable, "-c", code, str(data_dir)], check=True)
            return 0
        runs = [run_once(data_dir) for _ in range(args.runs)]
        workers = [run_worker(data_dir) for _ in range(args.runs)]
        pages = [fresh_copy(args.page, Path(tmp), run) for run in range(args.runs + 1)]
        run_process(pages[0], data_dir)  # warm (not measured)
        processes = [run_process(page, data_dir) for page in pages[1:]]
    print(f"start-up CPU over {len(runs)} runs (s): min / median")
    for key in ("imports", "context", "router", "total"):
        values = [float(r[key]) for r in runs]  # type: ignore[arg-type]
        print(f"  {key:8} {min(values):6.2f} / {statistics.median(values):6.2f}")
    print(f"  heavy modules loaded: {', '.join(runs[-1]['heavy']) or 'none'}")  # type: ignore[arg-type]
    print(f"mailroom worker --concurrency 1 until ready (parent + pool process; its pipeline context, models and "
          f"rules come at its first task: 'context' + 'router' above): min / median "
          f"{min(workers):.2f} / {statistics.median(workers):.2f} s")
    print(f"mailroom process {args.page.name} (one page), {len(processes)} runs (s): min / median")
    for key in ("self", "children"):
        values = [r[key] for r in processes]
        print(f"  {key:8} {min(values):6.2f} / {statistics.median(values):6.2f}"
              + ("   (Python: start-up + the page's Python work)" if key == "self" else "   (Tesseract, Poppler)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
