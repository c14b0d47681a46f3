"""Pipeline CPU and OCR accuracy against bare ``tesseract`` on the same page images, clean and degraded, in one run.

    .venv/bin/python bench/bench_ocr.py [DIR] [--dpi 200] [--no-degraded]   (DIR default: sample_docs/committed)

Two sets, measured the same way in one run:

- **clean**: the scanned documents of DIR (those whose truth says pdf_scan, tiff, png, jpeg), linked into a work
  folder; their page images are produced the way the pipeline gets them (embedded scan image pulled out, TIFF
  frames, image files as they are) so that bare Tesseract reads exactly the same pixels;
- **degraded**: the fifteen pages of the degradation suite (``bench/bench_degradation.py``: grey, coloured and dark
  paper, blur in steps, low contrast, faint print, shaded form fields, fax, JPEG, uneven light, a blank back, noise)
  at ``--dpi``, each a one-page PNG scan as a station hands it in.

Bare: ``tesseract IMG stdout -l deu`` once per page image, ``OMP_THREAD_LIMIT=1``; CPU = user+sys of the child.
Pipeline: ONE child process as a worker or ``mailroom process`` runs it: imports, pipeline context and router (the
start-up, printed apart), one warm-up document in a scratch data directory (not counted), then every document of
both sets through ``process_path`` (channel ``cli``: checks, storage, page extraction, preprocessing, OCR with
TSV and searchable PDF, recognition, routing or the rescan request, audit trail). Per document the CPU of that
process (Python) and of its children (Tesseract, Poppler) is taken from ``getrusage``: the steady state with
everything included. Printed: CPU per page of both sides and their ratio per set, where the pipeline's CPU goes
(Python vs children per page), the most expensive page against the median page, CER/WER of both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_degradation import cer, suite  # noqa: E402

from intake.checks import inspect_file  # noqa: E402
from intake.pages import iter_pages  # noqa: E402
from mailroom.evaluation import NO_ERRORS, TextErrors, load_truth, text_errors, truth_page_texts  # noqa: E402
from mailroom.settings import Settings  # noqa: E402
from routing.training import ensure_default_models  # noqa: E402

SCAN_FORMATS = {"pdf_scan", "tiff", "png", "jpeg"}

#: The pipeline as one long-running process: argv = data dir, warm-up file, files...; one JSON line per document.
PIPELINE = r"""
import json, resource, sys
from pathlib import Path
def cpu():
    me = resource.getrusage(resource.RUSAGE_SELF); kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime
import cli.main  # noqa: F401
from mailroom.startup import without_gc
with without_gc():
    from workers.inprocess import process_path
    from workers.pipeline import PipelineContext
from mailroom.settings import Settings
data = Path(sys.argv[1])
ctx = PipelineContext.create(Settings(data_dir=data / "data"))
ctx.router.rules(None)
ready = cpu()
print(json.dumps({"startup": ready[0] + ready[1]}), flush=True)
warm = PipelineContext.create(Settings(data_dir=data / "warm-up"))
process_path(Path(sys.argv[2]), warm, channel="cli")
for name in sys.argv[3:]:
    before = cpu()
    outcome = process_path(Path(name), ctx, channel="cli")
    after = cpu()
    doc = outcome.document
    print(json.dumps({
        "file": name, "self": after[0] - before[0], "children": after[1] - before[1],
        "pages": {p.number: p.text for p in doc.pages} if doc else {},
        "warnings": sorted({w.code for r in outcome.results for w in r.quality.warnings}),
        "rescan": any(r.rescan is not None for r in outcome.results),
        # a page with no text that is neither blank, a separator sheet, nor named by a warning: silently empty
        "silent": [p.number for p in (doc.pages if doc else []) if not p.text.strip() and not p.separator
                   and not p.quality.blank and not p.quality.unreadable
                   and not any(w.page in (p.number, None) for r in outcome.results for w in r.quality.warnings)],
        "error": outcome.error.code if outcome.error else None,
    }), flush=True)
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bare(image: Path, env: dict[str, str]) -> tuple[float, str]:
    before = children_cpu()
    out = subprocess.run(["tesseract", str(image), "stdout", "-l", "deu"], capture_output=True, env=env, check=True)
    return children_cpu() - before, out.stdout.decode("utf-8", "replace")


def is_skewed(truth: dict[str, Any]) -> bool:
    return any(abs(p.get("skew_degrees") or 0) >= 1.0 or p.get("rotation") for p in truth["pages"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=ROOT / "sample_docs" / "committed")
    parser.add_argument("--dpi", type=int, default=200, help="resolution of the degraded pages")
    parser.add_argument("--no-degraded", action="store_true", help="the clean set only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mailroom-bench-"))
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        docs = work / "docs"
        docs.mkdir()
        truths: dict[str, dict[str, Any]] = {}
        for path in sorted(args.source.iterdir()):
            truth = load_truth(path)
            if truth is None or truth.get("format") not in SCAN_FORMATS:
                continue
            (docs / path.name).symlink_to(path.resolve())
            truths[path.name] = truth
        settings = Settings(data_dir=work / "data", models_dir=work / "models")
        ensure_default_models(settings)  # trained once, as at installation, not inside the measured run
        env["MAILROOM_MODELS_DIR"] = str(work / "models")
        images = work / "images"
        images.mkdir()

        # --- bare Tesseract on exactly the pages the pipeline reads -------------------------------------------
        bare_cpu: dict[str, list[float]] = {}  # file -> CPU per page image
        bare_errors: dict[str, TextErrors] = {"all": NO_ERRORS, "skewed": NO_ERRORS}
        for name, truth in truths.items():
            info = inspect_file(docs / name, settings)
            texts = truth_page_texts(truth)
            for page in iter_pages(info, settings, images):
                assert page.image is not None
                seconds, text = bare(page.image.path, env)
                bare_cpu.setdefault(name, []).append(seconds)
                if page.number in texts:
                    e = text_errors(text, texts[page.number])
                    bare_errors["all"] += e
                    if is_skewed(truth):
                        bare_errors["skewed"] += e
                if page.image.path.parent == images:
                    page.image.path.unlink()
        degraded: dict[str, tuple[str, str, set[str]]] = {}  # file -> (page name, text, true flags)
        bare_degraded: dict[str, tuple[float, str]] = {}
        if not args.no_degraded:
            folder = work / "degraded"
            folder.mkdir()
            for number, (label, page, text, flags) in enumerate(suite(args.dpi), 1):
                path = folder / f"{number:02d}.png"
                Image.fromarray(page).save(path, dpi=(args.dpi, args.dpi))  # as a scanner writes it: with its dpi
                degraded[str(path)] = (label, text, flags)
                bare_degraded[str(path)] = bare(path, env)

        # --- the pipeline: one process, start-up apart, warm-up, then every document ---------------------------
        clean_files = [str(docs / name) for name in truths]
        proc = subprocess.run(
            [sys.executable, "-c", PIPELINE, str(work), clean_files[0], *clean_files, *degraded],
            capture_output=True, text=True, env=env, cwd=ROOT,
        )
        if proc.returncode != 0:
            raise SystemExit(f"the pipeline process failed: {proc.stderr[-3000:]}")
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        startup = float(lines[0]["startup"])
        rows = {row["file"]: row for row in lines[1:]}

        # --- clean set ----------------------------------------------------------------------------------------
        pipe_errors: dict[str, TextErrors] = {"all": NO_ERRORS, "skewed": NO_ERRORS}
        page_costs: list[tuple[float, str]] = []  # pipeline CPU per page, all pages of both sets
        clean_bare = clean_self = clean_kids = 0.0
        clean_pages = 0
        for name, truth in truths.items():
            row = rows[str(docs / name)]
            pages = len(bare_cpu[name])
            clean_pages += pages
            clean_bare += sum(bare_cpu[name])
            clean_self += row["self"]
            clean_kids += row["children"]
            page_costs += [((row["self"] + row["children"]) / pages, name)] * pages
            for number, text in truth_page_texts(truth).items():
                e = text_errors(row["pages"].get(str(number), ""), text)
                pipe_errors["all"] += e
                if is_skewed(truth):
                    pipe_errors["skewed"] += e
        clean_pipe = clean_self + clean_kids
        print(f"clean: {args.source}, {len(truths)} scanned documents, {clean_pages} page images")
        print(f"  bare tesseract CPU/page : {clean_bare / clean_pages:.3f} s")
        print(f"  pipeline CPU/page       : {clean_pipe / clean_pages:.3f} s  (steady state: Python "
              f"{clean_self / clean_pages:.3f} + Tesseract/Poppler {clean_kids / clean_pages:.3f})")
        print(f"  ratio pipeline / bare   : {clean_pipe / clean_bare:.3f}  (steady state, everything included)")
        print(f"  with one start per run  : {(clean_pipe + startup) / clean_bare:.3f}  (start-up {startup:.2f} s: "
              f"imports, context, models and rules)")
        print(f"  children alone / bare   : {clean_kids / clean_bare:.3f}")
        for key in ("all", "skewed"):
            print(f"  {key:7}: CER pipeline {pipe_errors[key].cer:.2%}  bare {bare_errors[key].cer:.2%} | "
                  f"WER pipeline {pipe_errors[key].wer:.2%}  bare {bare_errors[key].wer:.2%}  "
                  f"({bare_errors[key].chars} chars)")

        # --- degraded set -------------------------------------------------------------------------------------
        if degraded:
            print(f"\ndegraded: the degradation suite at {args.dpi} dpi, {len(degraded)} one-page scans")
            print(f"  {'page':32} {'bare CER':>8} {'ours CER':>8} {'bare s':>7} {'ours s':>7} {'(python':>8} "
                  f"{'tess)':>6}  warnings (truth)")
            deg_bare = deg_self = deg_kids = 0.0
            text_bare = text_pipe = 0.0
            for path, (label, text, flags) in degraded.items():
                row = rows[path]
                b_cpu, b_text = bare_degraded[path]
                ours = row["self"] + row["children"]
                deg_bare += b_cpu
                deg_self += row["self"]
                deg_kids += row["children"]
                page_costs.append((ours, label))
                if text:
                    text_bare += b_cpu
                    text_pipe += ours
                read = "\n".join(row["pages"].values())
                b_cer = f"{cer(text, b_text):8.3f}" if text else "       -"
                o_cer = f"{cer(text, read):8.3f}" if text else "       -"
                warned = ",".join(row["warnings"]) + (" +rescan" if row["rescan"] else "")
                print(f"  {label:32} {b_cer} {o_cer} {b_cpu:7.2f} {ours:7.2f} {row['self']:8.2f} "
                      f"{row['children']:6.2f}  {warned or '-'} ({','.join(sorted(flags)) or '-'})")
            n = len(degraded)
            print(f"  bare tesseract CPU/page : {deg_bare / n:.3f} s")
            print(f"  pipeline CPU/page       : {(deg_self + deg_kids) / n:.3f} s  (steady state: Python "
                  f"{deg_self / n:.3f} + Tesseract {deg_kids / n:.3f})")
            print(f"  ratio pipeline / bare   : {(deg_self + deg_kids) / deg_bare:.3f}  (all {n} pages; the pages "
                  f"with text alone: {text_pipe / text_bare:.3f})")

        silent = [f"{name} p{number}" for name, row in rows.items() for number in row["silent"]]
        failed = [f"{name}: {row['error']}" for name, row in rows.items() if row["error"]]
        print(f"\ndocuments failed: {len(failed)} {failed or ''}; documents with a page silently empty (no text, "
              f"not blank, no separator, no warning): {len(silent)} {silent or ''}")
        costs = sorted(c for c, _ in page_costs)
        median = statistics.median(costs)
        worst = max(page_costs)
        print(f"\nmost expensive page: {worst[0]:.2f} s ({worst[1]}), {worst[0] / median:.2f}x the median page "
              f"({median:.2f} s) over {len(costs)} pages of both sets")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
