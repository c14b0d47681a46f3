"""Accuracy of invoice extraction on three sets, alone and together, in one run.

    .venv/bin/python bench/bench_invoices.py [--fresh 120] [--seed 611] [--scans 40] [--json]

1. ``sample_docs/committed`` (the demo set: scans, PDFs with text layer, XML and hybrid e-invoices);
2. a fresh generated set (``--fresh`` documents, profile ``mixed``, ``--seed``): its invoices and credit notes;
3. ``--scans`` PDFs of ``../shared/data/einvoices`` (every other one, sorted, so that all producers appear),
   first page rasterised with ``pdftoppm`` and degraded like a scan (no XML, no text layer).

Per set and in total: per-field exact match after normalising, the share of wrong values given with confidence
≥ 0.9, and the share of invoices with every required field right. A field counts only where its true value is
printed on the pages read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cli.commands.invoices import evaluate, report  # noqa: E402
from extraction.eval import REQUIRED, InvoiceScores, truth_invoices  # noqa: E402
from mailroom.settings import Settings  # noqa: E402
from sample_docs.generate import generate_set  # noqa: E402
from workers.pipeline import PipelineContext  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "einvoices"


def _scan_sample(count: int, work: Path) -> Path:
    """Every other PDF with truth of the shared corpus (up to ``count``), linked into one folder."""
    pdfs = [p for p in sorted(SHARED.rglob("*.pdf")) if truth_invoices(p)][::2][:count]
    folder = work / "shared-scans"
    folder.mkdir()
    for n, pdf in enumerate(pdfs):
        target = folder / f"{n:03d}-{pdf.name}"
        target.symlink_to(pdf)
        Path(f"{target}.truth.json").symlink_to(Path(f"{pdf}.truth.json"))
    return folder


def _line(name: str, summary: dict[str, Any], seconds: float) -> str:
    required = "  ".join(f"{f} {summary['fields'].get(f, {}).get('exact', 0):.1%}" for f in REQUIRED)
    return (f"{name:22} {summary['invoices']:4d} invoices  {required}  wrong≥0.9 {summary['wrong_confident_share']:.2%}"
            f"  all required right {summary['all_required_right']:.1%}  to review {summary['to_review']:.1%}"
            f"  ({seconds:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", type=int, default=120, help="generated documents (not all are invoices)")
    parser.add_argument("--seed", type=int, default=611)
    parser.add_argument("--scans", type=int, default=40, help="shared PDFs rasterised and degraded")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-invoices-"))
    try:
        ctx = PipelineContext.create(Settings(data_dir=work / "data"))
        generated = work / "generated"
        generate_set(generated, args.fresh, args.seed, "mixed")
        sets = [("committed", ROOT / "sample_docs" / "committed", False),
                (f"generated seed {args.seed}", generated, False)]
        if args.scans and SHARED.is_dir():
            sets.append(("shared PDFs as scans", _scan_sample(args.scans, work), True))
        total = InvoiceScores()
        results: dict[str, Any] = {}
        for name, folder, rasterise in sets:
            started = time.perf_counter()
            scores = InvoiceScores()
            failures = evaluate(folder, ctx, scores, rasterise=rasterise)
            total.merge(scores)
            results[name] = {**report(scores, failures), "seconds": round(time.perf_counter() - started, 1)}
            print(_line(name, results[name], results[name]["seconds"]), file=sys.stderr, flush=True)
        results["total"] = report(total, [])
        print(_line("total", results["total"], 0), file=sys.stderr)
        if args.json:
            print(json.dumps(results, ensure_ascii=False, indent=2))
        else:
            for field, figures in results["total"]["fields"].items():
                print(f"  {field:20} exact {figures['exact']:.1%}  right {figures['right']}  wrong {figures['wrong']}"
                      f"  missing {figures['missing']}  wrong≥0.9 {figures['wrong_confident']}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
