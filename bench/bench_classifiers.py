"""Benchmark of the recognition library (issue 5 bars: training on 5,000 documents < 2 min, predicting one
document < 20 ms, document-type macro-F1 >= 0.95).

    .venv/bin/python bench/bench_classifiers.py [--count 5000] [--eval 500] [--no-scans]

1. generates ``--count`` born-digital documents (seed 1) and trains the type model on their text (with
   simulated OCR noise on half of them), reporting the training time;
2. generates ``--eval`` documents with another seed (2), reads each through the real text layer
   (``intake.pages``) into a ``Document`` and reports accuracy, macro-F1 and the predict time per document
   (layout zones + features + model, one document at a time);
3. runs the committed demo set through the real pipeline (OCR for scans) and reports the accuracy of the
   addressed department, person and confidential flag, and of the type model on those documents.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from classifiers.doctype import TypeModel, train
from classifiers.layout import find_zones
from classifiers.recipient import match_recipient
from classifiers.samples import sample_from_document, samples_from_truth
from intake.checks import inspect_file
from intake.pages import iter_pages
from mailroom.directory import default_directory
from mailroom.model import Document
from mailroom.settings import Settings
from sample_docs.generate import generate_set
from workers.inprocess import process_path
from workers.pipeline import PipelineContext

COMMITTED = Path(__file__).resolve().parent.parent / "sample_docs" / "committed"


def _text_layer_document(path: Path, settings: Settings, scratch: Path) -> Document:
    info = inspect_file(path, settings)
    return Document(pages=[p.text_page for p in iter_pages(info, settings, scratch) if p.text_page])


def bench_types(count: int, eval_count: int, work: Path) -> TypeModel:
    started = time.perf_counter()
    generate_set(work / "train", count, 1, "digital")
    generate_set(work / "eval", eval_count, 2, "digital")
    print(f"generated {count} + {eval_count} documents in {time.perf_counter() - started:.0f} s")
    rows = samples_from_truth(sorted((work / "train").glob("*.truth.json")))
    model = train(rows, seed=1)
    assert model.metrics is not None
    print(
        f"training: {model.training_rows} letters in {model.training_seconds:.1f} s "
        f"(held-back 10 %: accuracy {model.metrics.accuracy:.4f}, macro-F1 {model.metrics.macro_f1:.4f})"
    )
    settings = Settings(data_dir=work / "data")
    truth, predicted, times = [], [], []
    for path in sorted((work / "eval").glob("*.pdf")):
        label = json.loads(Path(f"{path}.truth.json").read_text(encoding="utf-8"))["document_type"]
        document = _text_layer_document(path, settings, work / "scratch")
        t0 = time.perf_counter()
        prediction = model.predict(sample_from_document(document))
        times.append((time.perf_counter() - t0) * 1000)
        truth.append(label)
        predicted.append(prediction.label)
    from sklearn.metrics import accuracy_score, f1_score

    print(
        f"eval (seed 2, {len(truth)} PDFs via the text layer): "
        f"accuracy {accuracy_score(truth, predicted):.4f}, "
        f"macro-F1 {f1_score(truth, predicted, average='macro'):.4f}"
    )
    print(
        f"predict one document: median {statistics.median(times):.1f} ms, "
        f"p95 {sorted(times)[int(len(times) * 0.95)]:.1f} ms, max {max(times):.1f} ms"
    )
    return model


def bench_committed(model: TypeModel, work: Path) -> None:
    ctx = PipelineContext.create(Settings(data_dir=work / "pipeline"))
    directory = default_directory()
    n = dep_ok = person_ok = conf_ok = type_ok = scans = 0
    for path in sorted(p for p in COMMITTED.iterdir() if p.suffix in (".pdf", ".tif", ".png", ".jpg")):
        truth = json.loads(Path(f"{path}.truth.json").read_text(encoding="utf-8"))
        outcome = process_path(path, ctx)
        if outcome.document is None:
            print(f"  {path.name}: {outcome.error}")
            continue
        letter = truth["letters"][0]
        document = Document(pages=[p for p in outcome.document.pages if p.number in letter["pages"]])
        first = next((p for p in document.pages if p.blocks), None)
        if first is None:
            continue
        scans += truth["format"] not in ("pdf_digital", "pdf_zugferd")
        zones = find_zones(first)
        match = match_recipient(
            zones.address.lines if zones.address else [],
            directory,
            endorsement=zones.address.endorsement if zones.address else None,
            your_reference=zones.info.your_reference if zones.info else None,
            text=document.text,
        )
        r = letter["recipient"]
        n += 1
        dep_ok += match.addressed_department == r["department"]
        person_ok += match.person == r["person"]
        conf_ok += match.confidential == r["confidential"]
        type_ok += model.predict(sample_from_document(document)).label == letter["document_type"]
    print(
        f"committed demo set through the real pipeline ({n} documents, {scans} scans): "
        f"department {dep_ok}/{n}, person {person_ok}/{n}, confidential {conf_ok}/{n}, type {type_ok}/{n}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--eval", type=int, default=500)
    parser.add_argument("--no-scans", action="store_true", help="skip the committed set (OCR)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-classifiers-") as tmp:
        model = bench_types(args.count, args.eval, Path(tmp))
        if not args.no_scans:
            bench_committed(model, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
