"""Cost of evaluating a 200-rule set on one recognised document (the bar: under 5 ms).

    .venv/bin/python bench/bench_rules.py [--rules 200] [--runs 300]

The rule set mixes every condition kind the way a town's pack would: folded and fuzzy terms in zones,
phrases, regexes, spatial relations, Bergheim-style patterns in regions, and facts. The document is a
two-page letter of about 330 OCR words with a residual skew of 1.5°. Compiling happens once, outside the
timing; each run builds the word index of the document and evaluates every rule (nothing is cached across
runs). Prints the median (wall clock and CPU) and the 95th percentile per document.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mailroom.model import Block, Document, Line, Page, TextSource, Word  # noqa: E402
from rules import Facts, IntakeFacts, InvoiceFacts, ScoredLabel, compile_ruleset, evaluate  # noqa: E402
from rules.language import RuleSet  # noqa: E402

DPI = 300
WORDS = [
    "Antrag",
    "Bescheid",
    "Widerspruch",
    "Gebühr",
    "Rechnung",
    "Mahnung",
    "Baugenehmigung",
    "Gewerbeanmeldung",
    "Kita",
    "Schule",
    "Friedhof",
    "Grundsteuer",
    "Hundesteuer",
    "Wohngeld",
    "Einbürgerung",
    "Führerschein",
    "Sperrmüll",
    "Straßenbeleuchtung",
    "Vergabe",
    "Angebot",
    "Kündigung",
    "Vertrag",
    "Personal",
    "Bewerbung",
    "Sitzung",
    "Ratsbeschluss",
    "Anfrage",
    "Beschwerde",
]
ZONES = ["subject", "address_field", "any_page", "first_page", "info_block", "footer"]
BODY = [
    "wir",
    "beziehen",
    "uns",
    "auf",
    "Ihr",
    "Schreiben",
    "vom",
    "3.",
    "November",
    "und",
    "bitten",
    "um",
    "Prüfung",
    "der",
    "beigefügten",
    "Unterlagen",
    "zur",
    "Baugenehmigung",
    "im",
    "Bürgerhaus",
    "sowie",
    "um",
    "eine",
    "kurze",
    "Rückmeldung",
    "bis",
    "Monatsende",
]


def _page(number: int, lines: list[tuple[float, float, str]], skew: float) -> Page:
    blocks = []
    a = math.radians(skew)
    for x, y, text in lines:
        words, cursor = [], x
        for token in text.split():
            w = len(token) * 1.9
            cx, cy = cursor + w / 2 - 105, y + 2 - 148.5
            rx, ry = 105 + cx * math.cos(a) - cy * math.sin(a), 148.5 + cx * math.sin(a) + cy * math.cos(a)
            x0, y0, x1, y1 = (round(v * DPI / 25.4) for v in (rx - w / 2, ry - 2, rx + w / 2, ry + 2))
            box = (x0, y0, x1, y1)
            words.append(Word(text=token, box=box, confidence=90))
            cursor += w + 1.9
        blocks.append(Block(lines=[Line(words=words, box=words[0].box)]))
    return Page(number=number, width=2480, height=3508, dpi=DPI, text_source=TextSource.OCR, blocks=blocks)


def document() -> Document:
    head: list[tuple[float, float, str]] = [
        (25, 47, "Stadtwerke Musterstadt · Am Werk 3 · 12345 Musterstadt"),
        (25, 55, "Stadtverwaltung Musterstadt"),
        (25, 60.2, "Bauamt"),
        (25, 65.4, "Rathausplatz 1"),
        (25, 70.6, "12345 Musterstadt"),
        (125, 50, "Aktenzeichen: 63-2026-0815"),
        (125, 55.2, "Datum: 12.11.2026"),
        (25, 103, "Rechnunq Nr. RE-2026-04711 Baugenehmigung Neubau"),
    ]
    body: list[tuple[float, float, str]] = [
        (25, 115 + i * 5.2, " ".join(BODY[(i * 5) % len(BODY) :] + BODY[: (i * 5) % len(BODY)][:3]))
        for i in range(18)
    ]
    foot: list[tuple[float, float, str]] = [
        (25, 280, "Sparkasse Musterstadt · IBAN DE89 3704 0044 0532 0130 00 · USt-IdNr. DE123456789")
    ]
    second: list[tuple[float, float, str]] = [(25, 30 + i * 5.2, " ".join(BODY)) for i in range(6)] + foot
    return Document(pages=[_page(1, head + body + foot, 1.5), _page(2, second, 1.5)])


def ruleset(n: int) -> RuleSet:
    rules = []
    for i in range(n):
        word, other, zone = WORDS[i % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)], ZONES[i % len(ZONES)]
        kind = i % 8
        when: dict[str, object]
        if kind == 0:
            when = {"all": [{"document_type": "invoice", "min_confidence": 0.8}, {"term": word, "in": zone}]}
        elif kind == 1:
            when = {"term": word, "in": zone, "fuzzy": 0.85}
        elif kind == 2:
            when = {"phrase": f"{word} {other}", "in": "any_page"}
        elif kind == 3:
            when = {"regex": rf"{i % 100:02d}-20\d\d-\d{{4}}", "in": "info_block"}
        elif kind == 4:
            when = {"near": [word, other], "within_mm": 30, "in": "first_page"}
        elif kind == 5:
            when = {
                "pattern": ["Stadtverwaltung", word, "Musterstadt"],
                "fuzzy": 0.85,
                "in": {"page": 1, "x_mm": [20, 105], "y_mm": [40, 95]},
            }
        elif kind == 6:
            when = {"any": [{"invoice": "total_gross", "gte": 1000 + i}, {"left_of": [word, other]}]}
        else:
            when = {
                "all": [
                    {"intake": "station", "equals": "poststelle-1"},
                    {"not": {"term": other, "in": "subject"}},
                    {"leitweg_id": f"{i:02d}*"},
                ]
            }
        rules.append(
            {
                "id": f"rule-{i:03d}",
                "priority": i % 10,
                "when": when,
                "then": {"route_to": f"postbox-{i % 25}", "tags": [word.lower()]},
                "confidence": 0.9,
            }
        )
    return RuleSet.model_validate({"version": 1, "rules": rules})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    doc, compiled = document(), compile_ruleset(ruleset(args.rules))
    facts = Facts(
        document_type=ScoredLabel(label="invoice", confidence=0.9),
        invoice=InvoiceFacts(fields={"total_gross": "1100.00"}),
        leitweg_id="123450000000-RE01-10",
        intake=IntakeFacts(station="poststelle-1", channel="upload", page_count=2),
    )
    words = sum(1 for _ in doc.words())
    for _ in range(20):
        evaluate(compiled, doc, facts)
    times, cpu = [], []
    for _ in range(args.runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        decision = evaluate(compiled, doc, facts)
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    times.sort()
    matched = sum(t.matched for t in decision.trace)
    print(
        f"rules={args.rules} words={words} pages={len(doc.pages)} matched={matched} status={decision.status}"
    )
    print(
        f"evaluate per document: median {statistics.median(times):.2f} ms wall, "
        f"{statistics.median(cpu):.2f} ms CPU; p95 {times[int(len(times) * 0.95)]:.2f} ms wall (bar: < 5 ms)"
    )


if __name__ == "__main__":
    main()
