"""Confidence that means what it says: the extractor's raw scores mapped to the share of values that were right.

For each field, the raw confidences of read values and whether each was right are collected on invoices the
extractor was not tuned on (``mailroom eval invoices --fit-calibration FILE``); an isotonic (monotone) fit by
pool-adjacent-violators groups them into steps, and each step's calibrated confidence is the *lower* Wilson bound
(95 %) of its share of right values, so that a step of few examples can never claim 0.9 or more: a value given with
≥ 0.9 comes from a step where, with 95 % certainty, at least 90 % were right.

The fitted table is data (``extraction/data/calibration.json``). Fields with too few examples share the pooled
table of all fields. Values from the e-invoice XML, a reviewer or the master data are not calibrated.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "calibration.json"
#: Sources whose confidence is calibrated (read from the page); others are exact or confirmed.
CALIBRATED_SOURCES = frozenset({"ocr", "text_layer", "learned"})
#: A field needs this many examples for a table of its own.
MIN_FIELD_EXAMPLES = 25
WILSON_Z = 1.96
#: Raw confidences below this (a lone amount, a value with rivals or failed check digits: what validation sends
#: to review) are kept at most as they are: calibration may lower them, never lift them over the review line.
DOUBTED = 0.8
POOLED = "*"


@dataclass(frozen=True)
class Step:
    """Raw confidences from ``low`` upwards (up to the next step) are right this share of the time (lower bound)."""

    low: float
    confidence: float
    examples: int


def wilson_lower(right: int, total: int, z: float = WILSON_Z) -> float:
    """The lower bound of the Wilson score interval of ``right`` out of ``total``."""
    if total == 0:
        return 0.0
    p = right / total
    denominator = 1 + z * z / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - margin) / denominator)


def fit_steps(examples: Iterable[tuple[float, bool]]) -> list[Step]:
    """Isotonic steps (pool adjacent violators) over (raw confidence, right) pairs, each with its Wilson bound;
    the bounds are then made monotone too (a step is never surer than a step above it)."""
    tally: dict[float, list[float]] = {}
    for raw, right in examples:  # equal raw scores are one point
        counts = tally.setdefault(round(raw, 4), [0.0, 0.0])
        counts[0] += right
        counts[1] += 1
    blocks: list[list[float]] = []  # [low, right, total]
    for raw, (right_count, total) in sorted(tally.items()):
        blocks.append([raw, right_count, total])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            _, r, t = blocks.pop()
            blocks[-1][1] += r
            blocks[-1][2] += t
    steps = [Step(round(b[0], 4), round(wilson_lower(int(b[1]), int(b[2])), 4), int(b[2])) for b in blocks]
    for n in range(len(steps) - 2, -1, -1):  # monotone bounds
        if steps[n].confidence > steps[n + 1].confidence:
            steps[n] = Step(steps[n].low, steps[n + 1].confidence, steps[n].examples)
    return steps


@dataclass(frozen=True)
class Calibration:
    """Per field (and pooled under ``"*"``), the steps of :func:`fit_steps`."""

    tables: dict[str, list[Step]]

    def confidence(self, field: str, raw: float) -> float:
        steps = self.tables.get(field) or self.tables.get(POOLED)
        if not steps:
            return raw
        position = bisect_right([s.low for s in steps], raw) - 1
        return steps[max(position, 0)].confidence if position >= 0 else min(raw, steps[0].confidence)

    def to_json(self) -> str:
        return json.dumps({field: [[s.low, s.confidence, s.examples] for s in steps]
                           for field, steps in sorted(self.tables.items())}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        data = json.loads(text)
        return cls({field: [Step(float(a), float(b), int(c)) for a, b, c in steps] for field, steps in data.items()})


def fit(examples: Mapping[str, list[tuple[float, bool]]]) -> Calibration:
    """A calibration from per-field examples: a table per field with enough of them, and the pooled one."""
    pooled = [e for rows in examples.values() for e in rows]
    tables = {POOLED: fit_steps(pooled)} if pooled else {}
    for field, rows in examples.items():
        if len(rows) >= MIN_FIELD_EXAMPLES:
            tables[field] = fit_steps(rows)
    return Calibration(tables)


@cache
def installed(path: Path = DEFAULT_PATH) -> Calibration | None:
    """The calibration shipped with the package (None before one was fitted)."""
    return Calibration.from_json(path.read_text(encoding="utf-8")) if path.exists() else None


def calibrate_fields(fields: dict[str, dict[str, Any]], calibration: Calibration | None) -> None:
    """Replace the raw confidence of every value read from the page by its calibrated one (in place); the raw
    score is kept as ``raw_confidence``."""
    if calibration is None:
        return
    for name, part in fields.items():
        if not isinstance(part, dict) or part.get("source") not in CALIBRATED_SOURCES or "confidence" not in part:
            continue
        raw = float(part["confidence"])
        part["raw_confidence"] = raw
        calibrated = calibration.confidence(name, raw)
        # a value the extractor itself doubts (check digits failed, rivals) is never made surer by the table
        part["confidence"] = round(min(calibrated, raw) if raw < DOUBTED else calibrated, 3)
