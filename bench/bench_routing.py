"""Benchmark of the hybrid routing decision (issue 5 bars: routed automatically >= 90 % with >= 99 % correct;
document-type macro-F1 >= 0.95; predicting one document < 20 ms) and calibration of the postbox threshold.

    .venv/bin/python bench/bench_routing.py [--count 150] [--seed 4242] [--profile mixed] [--rules FILE]

1. trains the default models (as on a fresh machine: generated born-digital mail, seed 5001) in a temporary
   data directory, or uses ``--data-dir``;
2. generates ``--count`` labelled documents with another seed and profile (``mixed``: scans included, OCR);
3. runs the real pipeline and the decision on every letter, with the rule pack and without rules (the models
   alone), and prints the report of ``mailroom eval routing`` for both and, for the models alone, the lowest
   postbox threshold at which at least 99 % of the automatic decisions are right (the calibration behind
   ``routing.decision.DEFAULT_POSTBOX_THRESHOLD``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from cli.commands.recognition import CURVE_THRESHOLDS, evaluate_routing, routing_report
from mailroom.settings import Settings
from routing.router import Router
from rules import compile_ruleset
from rules.language import RuleSet
from sample_docs.generate import generate_set


def calibrated_threshold(report: dict[str, object], precision: float = 0.99) -> float | None:
    curve = report["automation_curve"]
    assert isinstance(curve, list)
    return next((p["threshold"] for p in curve if p["precision"] >= precision), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--profile", default="mixed")
    parser.add_argument("--rules", type=Path, default=None, help="rule set YAML (default: the pack)")
    parser.add_argument("--data-dir", type=Path, default=None, help="models from here (default: train fresh)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-routing-") as tmp:
        work = Path(tmp)
        settings = Settings(data_dir=args.data_dir or work / "models")
        router = Router.create(settings, rules_file=args.rules)
        generate_set(work / "mail", args.count, args.seed, args.profile)
        runs = {
            "rules + models": router,
            "models alone": Router(
                router.directory, router.models, router.policy, fixed_rules=compile_ruleset(RuleSet(version=1))
            ),
        }
        for name, current in runs.items():
            cases, errors = evaluate_routing(work / "mail", Settings(data_dir=work / name.replace(" ", "")), current)
            report = routing_report(cases)
            summary = {
                k: report[k]
                for k in (
                    "documents",
                    "type_accuracy",
                    "type_macro_f1",
                    "postbox_accuracy",
                    "routed_share",
                    "routed_precision",
                    "decided_by",
                    "predict_ms",
                    "predict_cpu_ms",
                )
            }
            print(f"== {name} ({args.profile}, seed {args.seed}): {json.dumps(summary, indent=1)}")
            print(
                "   curve: "
                + ", ".join(
                    f"{p['threshold']}: {p['automated']:.1%} @ {p['precision']:.1%}" for p in report["automation_curve"]
                )
            )
            for wrong in report["wrongly_routed"]:
                print(
                    f"   wrong: {wrong['file']} → {wrong['postbox']} (truth {wrong['true_postbox']}, "
                    f"{wrong['decided_by']})"
                )
            if errors:
                print(f"   errors: {errors}")
        print(f"thresholds tried: {CURVE_THRESHOLDS}; models alone reach 99 % from {calibrated_threshold(report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
