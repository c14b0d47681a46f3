"""CPU cost of page preprocessing (``intake.preprocess``), per step and per page, on the committed scans.

    .venv/bin/python bench/bench_preprocess.py [DIR] [--repeat N]      (default: sample_docs/committed, N = 5)

1. The scanned documents of DIR (those whose truth says pdf_scan, tiff, png, jpeg) are turned into page images
   the way the pipeline gets them (``inspect_file`` + ``iter_pages``) and read in grey, as the pipeline does.
2. With one OpenCV thread (as in the pipeline), each step of :func:`intake.preprocess.prepare_page` is run on
   its own, in the same order and with the same inputs, ``N`` times; the step's CPU time (``process_time``) is
   the fastest of the ``N`` runs. ``prepare_page`` as a whole is timed the same way.
3. Prints, per dpi, the median over pages of every step and of the total, in ms of CPU, and the median
   ``prepare_page`` cost relative to the 10 % pipeline budget over bare Tesseract (~0.75 s CPU per page).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake import preprocess as pp  # noqa: E402
from intake.checks import inspect_file  # noqa: E402
from intake.pages import iter_pages  # noqa: E402
from mailroom.evaluation import load_truth  # noqa: E402
from mailroom.settings import Settings  # noqa: E402

SCAN_FORMATS = {"pdf_scan", "tiff", "png", "jpeg"}
BARE_TESSERACT_MS = 750.0
T = TypeVar("T")


def cpu_ms(fn: Callable[[], T], repeat: int) -> tuple[T, float]:
    """``fn()``'s result and its fastest CPU time over ``repeat`` runs, in ms."""
    best = float("inf")
    result: T | None = None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        best = min(best, (time.process_time() - start) * 1000)
    assert result is not None
    return result, best


def page_steps(image: np.ndarray, dpi: int, repeat: int) -> dict[str, float]:
    """CPU ms of each step of ``prepare_page`` on one page (no orientation oracle), and ``total``."""
    ms: dict[str, float] = {}
    (small, scale), ms["reduce"] = cpu_ms(lambda: pp.reduce(image, dpi), repeat)
    small_dpi, coarse_dpi = dpi * scale, dpi * scale / pp.COARSE_FACTOR
    coarse, ms["coarse_copy"] = cpu_ms(lambda: pp.coarse_copy(small), repeat)
    border, ms["border_mask"] = cpu_ms(lambda: pp.border_mask(coarse, coarse_dpi), repeat)
    (small, coarse), ms["whiten_small"] = cpu_ms(lambda: (pp.whiten(small, border), pp.whiten(coarse, border)), repeat)
    ink, ms["ink_mask"] = cpu_ms(lambda: pp.ink_mask(small), repeat)
    _, ms["measure_quality"] = cpu_ms(lambda: pp.measure_quality(small, ink), repeat)
    blank, ms["is_blank"] = cpu_ms(lambda: pp.is_blank(small, small_dpi, ink), repeat)
    if not blank:
        points, ms["ink_points"] = cpu_ms(lambda: pp.ink_points(ink), repeat)
        skew, ms["estimate_skew"] = cpu_ms(lambda: pp.estimate_skew(small, points), repeat)
        _, ms["guess_orientation"] = cpu_ms(lambda: pp.guess_orientation(small, skew, small_dpi, points), repeat)
        page, ms["whiten_full"] = cpu_ms(lambda: pp.whiten(image, border), repeat)
        page, ms["deskew"] = cpu_ms(lambda: pp.deskew(page, skew), repeat)
        spread, ms["illumination_spread"] = cpu_ms(lambda: pp.illumination_spread(coarse, coarse_dpi), repeat)
        if spread > pp.UNEVEN_LIGHT_SPREAD:
            _, ms["binarise"] = cpu_ms(lambda: pp.binarise(page, dpi), repeat)
        _, ms["dashed_rules"] = cpu_ms(lambda: pp.remove_dashed_rules(page, dpi), repeat)
    _, ms["total"] = cpu_ms(lambda: pp.prepare_page(image, dpi), repeat)
    return ms


def scan_pages(source: Path, scratch: Path) -> list[tuple[str, np.ndarray, int]]:
    """``(label, grey image, dpi)`` of every page of the scanned documents in ``source``."""
    settings = Settings(data_dir=scratch / "data")
    pages: list[tuple[str, np.ndarray, int]] = []
    for path in sorted(source.iterdir()):
        truth = load_truth(path)
        if truth is None or truth.get("format") not in SCAN_FORMATS:
            continue
        for page in iter_pages(inspect_file(path, settings), settings, scratch):
            if page.image is None:
                continue
            image = cv2.imread(str(page.image.path), cv2.IMREAD_GRAYSCALE)
            if image is not None:
                pages.append((f"{path.name} p{page.number}", image, page.image.dpi))
    return pages


def main() -> None:
    args = sys.argv[1:]
    repeat = 5
    if "--repeat" in args:
        at = args.index("--repeat")
        repeat = int(args[at + 1])
        del args[at : at + 2]
    source = Path(args[0]) if args else ROOT / "sample_docs" / "committed"
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory(prefix="mailroom-bench-pre-") as scratch:
        pages = scan_pages(source, Path(scratch))
    by_dpi: dict[int, list[dict[str, float]]] = defaultdict(list)
    for label, image, dpi in pages:
        ms = page_steps(image, dpi, repeat)
        by_dpi[dpi].append(ms)
        print(f"{label:44} {dpi:4d} dpi {image.shape[1]:5d}×{image.shape[0]:<5d} total {ms['total']:6.1f} ms")
    for dpi, runs in sorted(by_dpi.items()):
        steps = list(dict.fromkeys(step for ms in runs for step in ms))
        print(f"\n{dpi} dpi, {len(runs)} pages: median CPU ms per step (pages where the step ran)")
        for step in steps:
            values = [ms[step] for ms in runs if step in ms]
            print(f"  {step:22} {statistics.median(values):7.2f}   ({len(values)} pages)")
        total = statistics.median(ms["total"] for ms in runs)
        print(
            f"  prepare_page total: median {total:.1f} ms = {100 * total / BARE_TESSERACT_MS:.1f} % of bare Tesseract"
        )


if __name__ == "__main__":
    main()
