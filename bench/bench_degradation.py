"""The degradation suite: one letter on grey, coloured and dark paper, blurred in steps, faint, low contrast, with
shaded form fields, as a 200x100 dpi fax, JPEG-compressed, unevenly lit, plus blank and noise-only pages; each
with its expected outcome (read, or flagged with the warning that is true for it).

    .venv/bin/python bench/bench_degradation.py [--dpi 200]

For every page: bare ``tesseract IMG stdout -l deu`` (CPU of the child, CER against the rendered text) and the
pipeline's page reading (``prepare_page`` + one Tesseract run with TSV and PDF, the warnings of
``summarise_quality``; CPU of this process for the preprocessing plus the child's). Prints one row per page and the
confusion table of warnings against the truth. Deterministic (seeded); a few minutes on one core.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pagefactory import blank_back, render_letter, scan_grey, uneven_light  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from intake.preprocess import prepare_page  # noqa: E402
from intake.tesseract import TesseractEngine  # noqa: E402
from mailroom.model import Document, Page, TextSource  # noqa: E402
from mailroom.settings import Settings  # noqa: E402
from workers.pipeline import summarise_quality  # noqa: E402

#: The warnings a page may truly deserve; "read" pages must not get any of the flags in FLAGS.
FLAGS = ("blank_page", "no_text_found", "blurry", "low_contrast", "page_unreadable")


def cer(reference: str, ocr: str) -> float:
    ref, hyp = " ".join(sorted(reference.split())), " ".join(sorted(ocr.split()))
    return Levenshtein.distance(ref, hyp) / max(1, len(ref))


def on_bed(page: np.ndarray, angle: float) -> np.ndarray:
    h, w = page.shape
    canvas = np.full((h + 160, w + 160), 30, np.uint8)
    canvas[80 : 80 + h, 80 : 80 + w] = page
    m = cv2.getRotationMatrix2D((canvas.shape[1] / 2, canvas.shape[0] / 2), angle, 1.0)
    return cv2.warpAffine(canvas, m, canvas.shape[::-1], borderValue=30)


def shaded_fields(clean: np.ndarray) -> np.ndarray:
    """Grey shaded boxes behind the address and three body lines, as on a form."""
    page = clean.copy()
    h, w = page.shape
    for y0, y1 in ((0.17, 0.25), (0.38, 0.41), (0.45, 0.48), (0.52, 0.55)):
        box = page[int(h * y0) : int(h * y1), int(w * 0.1) : int(w * 0.9)]
        box[:] = np.minimum(box, 175)
    return page


def fax(page: np.ndarray) -> np.ndarray:
    """200x100 dpi fine-mode fax: every second row, black and white, stretched back."""
    half = page[::2]
    bw = np.where(half < 150, 0, 255).astype(np.uint8)
    return cv2.resize(bw, (page.shape[1], page.shape[0]), interpolation=cv2.INTER_NEAREST)


def jpeg(page: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def suite(dpi: int) -> list[tuple[str, np.ndarray, str, set[str]]]:
    """(name, page, truth text or '' for none, the flags that are true for it)."""
    clean, text = render_letter(dpi)
    rng = np.random.default_rng(5)
    noise = np.clip(rng.normal(235, 25, clean.shape), 0, 255).astype(np.uint8)
    return [
        ("clean", scan_grey(clean, seed=1), text, set()),
        ("grey paper on a dark bed, 4°", on_bed(scan_grey(clean, paper=200, ink=60, seed=2), 4.0), text, set()),
        ("yellow paper (grey 215)", scan_grey(clean, paper=215, ink=45, seed=3), text, set()),
        ("dark paper (120/20)", scan_grey(clean, paper=120, ink=20, seed=4), text, set()),
        ("blur 1.5 px", scan_grey(cv2.GaussianBlur(clean, (0, 0), 1.5), seed=5), text, set()),
        ("blur 2.5 px", scan_grey(cv2.GaussianBlur(clean, (0, 0), 2.5), seed=6), text, set()),
        ("blur 4 px", scan_grey(cv2.GaussianBlur(clean, (0, 0), 4.0), seed=7), text, {"blurry"}),
        ("low contrast 110 on 150", scan_grey(clean, paper=150, ink=110, seed=8), text, {"low_contrast"}),
        ("faint print 175 on 240", scan_grey(clean, paper=240, ink=175, seed=9), text, set()),
        ("shaded form fields", scan_grey(shaded_fields(clean), seed=10), text, set()),
        ("fax 200x100, b/w", fax(scan_grey(clean, seed=11)), text, set()),
        ("JPEG quality 20", jpeg(scan_grey(clean, seed=12), 20), text, set()),
        ("uneven light", uneven_light(scan_grey(clean, seed=13), darkest=0.5), text, set()),
        ("blank back with bleed-through", blank_back(dpi, seed=14), "", {"blank_page"}),
        ("noise only", noise, "", {"blank_page"}),  # no text lines: blank (no_text_found is for OCR pages)
    ]


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    dpi = int(sys.argv[sys.argv.index("--dpi") + 1]) if "--dpi" in sys.argv else 200
    settings = Settings(_env_file=None)
    engine = TesseractEngine()
    work = Path(tempfile.mkdtemp(prefix="mailroom-degradation-"))
    rows = []
    confusion = {flag: [0, 0, 0, 0] for flag in FLAGS}  # tp, fp, fn, tn
    for number, (name, page, text, truth) in enumerate(suite(dpi), 1):
        image = work / f"page-{number:02d}.pgm"
        cv2.imwrite(str(image), page)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        before = usage.ru_utime + usage.ru_stime
        bare = subprocess.run(["tesseract", str(image), "stdout", "-l", "deu"], capture_output=True, text=True,
                              env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}, check=True).stdout
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        bare_cpu = usage.ru_utime + usage.ru_stime - before
        started, wall = self_cpu(), time.perf_counter()
        prepared = prepare_page(page, dpi)
        prep_cpu = self_cpu() - started
        words = ""
        ocr_cpu = 0.0
        page_model = Page(number=1, width=page.shape[1], height=page.shape[0], dpi=dpi,
                          text_source=TextSource.NONE, quality=prepared.quality)
        if not prepared.quality.blank:
            path = work / f"prep-{number:02d}.pgm"
            cv2.imwrite(str(path), prepared.image)
            out = engine.recognise(path, work / f"ocr-{number:02d}", dpi=dpi, pdf=True)
            ocr_cpu = out.cpu_seconds
            words = "\n".join(b.text for b in out.blocks)
            page_model = page_model.model_copy(update={
                "text_source": TextSource.OCR, "blocks": out.blocks,
                "quality": prepared.quality.model_copy(update={"ocr_confidence": out.mean_confidence})})
        quality = summarise_quality(Document(pages=[page_model]), settings)
        flags = {w.code for w in quality.warnings} & set(FLAGS)
        for flag in FLAGS:
            cell = (0 if flag in flags else 2) if flag in truth else (1 if flag in flags else 3)
            confusion[flag][cell] += 1
        pipeline_cpu = prep_cpu + ocr_cpu
        rows.append((name, cer(text, bare) if text else None, cer(text, words) if text else None,
                     sorted(flags), sorted(truth), bare_cpu, pipeline_cpu, time.perf_counter() - wall))
    print(f"{'page':32} {'bare CER':>8} {'ours CER':>8} {'bare s':>7} {'ours s':>7}  warnings (truth)")
    for name, bare_cer, our_cer, flags, truth, bare_cpu, cpu, _ in rows:
        b = f"{bare_cer:8.3f}" if bare_cer is not None else "       -"
        o = f"{our_cer:8.3f}" if our_cer is not None else "       -"
        print(f"{name:32} {b} {o} {bare_cpu:7.2f} {cpu:7.2f}  {','.join(flags) or '-'} ({','.join(truth) or '-'})")
    read = [r for r in rows if r[1] is not None]
    bare_total, ours_total = sum(r[5] for r in read), sum(r[6] for r in read)
    print(f"\nCPU on the pages with text: bare {bare_total:.1f} s, ours {ours_total:.1f} s, "
          f"ratio {ours_total / bare_total:.2f} (clean page alone {read[0][6] / read[0][5]:.2f})")
    median = float(np.median([r[6] for r in rows]))
    print(f"most expensive page: {max(r[6] for r in rows) / median:.1f}x the median page's CPU")
    print("\nwarning          true+  false+  missed  true-")
    for flag, (tp, fp, fn, tn) in confusion.items():
        print(f"{flag:16} {tp:5d} {fp:7d} {fn:7d} {tn:6d}")


if __name__ == "__main__":
    main()
