"""CPU of a start: what a worker or ``mailroom process`` pays before it can read its first document (issue 16 bar:
ready in <= 2 s of CPU, models loaded).

    .venv/bin/python bench/bench_startup.py [--runs 5] [--data-dir DIR] [--profile]

Each run is a fresh Python process that does what ``mailroom process`` does before its first document: import
the command line (``cli.main``) and the pipeline, create the pipeline context (database engine, migrations
checked, OCR engine) and load the router (organisation directory, both recognition models, routing policy, the
rule set). The data directory is prepared once before the measured runs (migrated, default models adopted), as on
an installed machine. CPU = user + sys of the process and its children (``getrusage``); the machine is shared, so
the minimum and the median of the runs are printed. ``--profile`` prints a cProfile of one start instead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys
def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF); kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
t0 = cpu()
import cli.main  # noqa: F401  (the command line, as `mailroom process` starts)
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


def run_once(data_dir: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir)], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None, help="an installed data directory (default: new)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one start")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        run_once(data_dir)  # install: migrations, default models adopted (not measured)
        if args.profile:
            code = f"import cProfile\ncProfile.run({CHILD!r}, sort='cumulative')"
            subprocess.run([sys.executable, "-c", code, str(data_dir)], check=True)
            return 0
        runs = [run_once(data_dir) for _ in range(args.runs)]
    print(f"start-up CPU over {len(runs)} runs (s): min / median")
    for key in ("imports", "context", "router", "total"):
        values = [float(r[key]) for r in runs]  # type: ignore[arg-type]
        print(f"  {key:8} {min(values):6.2f} / {statistics.median(values):6.2f}")
    print(f"  heavy modules loaded: {', '.join(runs[-1]['heavy']) or 'none'}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
