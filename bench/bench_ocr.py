"""Pipeline CPU and OCR accuracy against bare ``tesseract`` on the same page images, in one run.

    .venv/bin/python bench/bench_ocr.py [DIR]        (default: sample_docs/committed)

1. The scanned documents of DIR (those whose truth says pdf_scan, tiff, png, jpeg) are linked into a work folder.
2. Their page images are produced the way the pipeline gets them (embedded scan image pulled out, TIFF frames,
   image files as they are) and kept, so that bare Tesseract reads exactly the same pixels.
3. Bare: ``tesseract IMG stdout -l deu`` once per page image, ``OMP_THREAD_LIMIT=1``; CPU = user+sys of the child.
4. Pipeline: ``mailroom eval ocr WORK --json`` as one child process (the whole pipeline: checks, storage, page
   extraction, preprocessing, OCR with TSV and searchable PDF, result); CPU = user+sys of that process tree,
   Python start-up included.
5. Prints CPU per page for both, the ratio, and CER/WER for both (all scans, and the skewed/rotated ones).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake.checks import inspect_file  # noqa: E402
from intake.pages import iter_pages  # noqa: E402
from mailroom.evaluation import NO_ERRORS, TextErrors, load_truth, text_errors, truth_page_texts  # noqa: E402
from mailroom.settings import Settings  # noqa: E402
from routing.training import ensure_default_models  # noqa: E402

SCAN_FORMATS = {"pdf_scan", "tiff", "png", "jpeg"}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def is_skewed(truth: dict[str, Any]) -> bool:
    return any(abs(p.get("skew_degrees") or 0) >= 1.0 or p.get("rotation") for p in truth["pages"])


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "sample_docs" / "committed"
    work = Path(tempfile.mkdtemp(prefix="mailroom-bench-"))
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        docs = work / "docs"
        docs.mkdir()
        truths: dict[str, dict[str, Any]] = {}
        for path in sorted(source.iterdir()):
            truth = load_truth(path)
            if truth is None or truth.get("format") not in SCAN_FORMATS:
                continue
            (docs / path.name).symlink_to(path.resolve())
            (docs / (path.name + ".truth.json")).symlink_to(path.with_name(path.name + ".truth.json").resolve())
            truths[path.name] = truth
        settings = Settings(data_dir=work / "data", models_dir=work / "models")
        # the recognition models are trained once, as at installation, not inside the measured run
        ensure_default_models(settings)
        env["MAILROOM_MODELS_DIR"] = str(work / "models")
        images = work / "images"
        images.mkdir()
        bare_pages = 0
        bare_cpu = 0.0
        bare_errors: dict[str, TextErrors] = {"all": NO_ERRORS, "skewed": NO_ERRORS}
        for name, truth in truths.items():
            info = inspect_file(docs / name, settings)
            texts = truth_page_texts(truth)
            for page in iter_pages(info, settings, images):
                assert page.image is not None
                before = children_cpu()
                out = subprocess.run(
                    ["tesseract", str(page.image.path), "stdout", "-l", "deu"],
                    capture_output=True, env=env, check=True,
                )
                bare_cpu += children_cpu() - before
                bare_pages += 1
                if page.number in texts:
                    e = text_errors(out.stdout.decode("utf-8", "replace"), texts[page.number])
                    bare_errors["all"] += e
                    if is_skewed(truth):
                        bare_errors["skewed"] += e
                if page.image.path.parent == images:
                    page.image.path.unlink()
        before = children_cpu()
        # the one-off cost a long-running worker pays once: imports, and loading the models and rules
        warm_up = ("import cli.main; from mailroom.settings import Settings; from routing.router import Router; "
                   "Router.create(Settings())")
        subprocess.run([sys.executable, "-c", warm_up], env=env, check=True, cwd=ROOT)
        startup_cpu = children_cpu() - before
        before = children_cpu()
        proc = subprocess.run(
            [sys.executable, "-m", "cli", "eval", "ocr", str(docs), "--json",
             "--data-dir", str(work / "data")],
            capture_output=True, env=env, check=True, cwd=ROOT,
        )
        pipeline_cpu = children_cpu() - before
        report = json.loads(proc.stdout)
        pipe_errors: dict[str, TextErrors] = {"all": NO_ERRORS, "skewed": NO_ERRORS}
        for row in report["documents"]:
            truth = truths[row["file"]]
            e = TextErrors(row["char_errors"], row["chars"], row["word_errors"], row["words"])
            pipe_errors["all"] += e
            if is_skewed(truth):
                pipe_errors["skewed"] += e
        print(f"documents: {len(truths)} scanned, page images: {bare_pages}")
        print(f"bare tesseract CPU/page : {bare_cpu / bare_pages:.3f} s")
        print(f"pipeline CPU/page       : {pipeline_cpu / bare_pages:.3f} s  (incl. Python start-up)")
        print(f"ratio pipeline / bare   : {pipeline_cpu / bare_cpu:.3f}")
        print(f"  without the one-off start-up, imports and model loading ({startup_cpu:.2f} s): "
              f"{(pipeline_cpu - startup_cpu) / bare_cpu:.3f}")
        for key in ("all", "skewed"):
            print(f"{key:7}: CER pipeline {pipe_errors[key].cer:.2%}  bare {bare_errors[key].cer:.2%} | "
                  f"WER pipeline {pipe_errors[key].wer:.2%}  bare {bare_errors[key].wer:.2%}  "
                  f"({bare_errors[key].chars} chars)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
