"""Score a routing run on the letters2 set (standard library only).

    python score.py RESULTS.jsonl [--root ..] [--split holdout|kinds|all] [--errors]

RESULTS.jsonl: one JSON object a line, {"file": "<name or path of the letter>", "postbox": "<postbox id>" or null}.
A letter is matched by its file name (folders are ignored). null means "not routed" (left for a clerk).
Letters of the split that have no line in RESULTS count as not routed and are listed as missing.

Prints, overall and by addressing (department / town / person), and for kinds/ by kind:
  routed %   = routed letters / all letters
  precision  = correctly routed / routed
  accuracy   = correctly routed / all letters
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_truth(root: Path, splits: list[str]) -> dict[str, dict[str, object]]:
    truth: dict[str, dict[str, object]] = {}
    for split in splits:
        for tf in sorted((root / split).glob("*.truth.json")):
            stem = tf.name[: -len(".truth.json")]
            letters = [p for p in tf.parent.glob(stem + ".*") if not p.name.endswith(".truth.json")]
            if len(letters) != 1:
                sys.exit(f"score: {tf}: expected one letter file next to it, found {len(letters)}")
            t = json.loads(tf.read_text(encoding="utf-8"))
            t["split"] = split
            truth[letters[0].name] = t
    return truth


def load_results(path: Path) -> dict[str, str | None]:
    results: dict[str, str | None] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            name = Path(str(obj["file"])).name
            pb = obj.get("postbox")
        except (ValueError, KeyError, TypeError) as exc:
            sys.exit(f"score: {path}:{n}: not a result line ({exc})")
        if pb is not None and not isinstance(pb, str):
            sys.exit(f"score: {path}:{n}: postbox must be a string or null")
        if name in results:
            sys.exit(f"score: {path}:{n}: {name} appears twice")
        results[name] = pb
    return results


def line(label: str, total: int, routed: int, correct: int) -> str:
    rp = 100 * routed / total if total else 0.0
    prec = 100 * correct / routed if routed else 0.0
    acc = 100 * correct / total if total else 0.0
    return f"{label:<28} n={total:>4}  routed {rp:5.1f} %  precision {prec:5.1f} %  accuracy {acc:5.1f} %"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path)
    ap.add_argument("--root", type=Path, default=HERE.parent, help="the letters2 folder")
    ap.add_argument("--split", choices=["holdout", "kinds", "all"], default="holdout")
    ap.add_argument("--errors", action="store_true", help="list wrongly routed and missing letters")
    args = ap.parse_args()
    splits = ["holdout", "kinds"] if args.split == "all" else [args.split]
    truth = load_truth(args.root, splits)
    results = load_results(args.results)
    unknown = sorted(set(results) - set(truth))
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    errors: list[str] = []
    missing: list[str] = []
    for name, t in sorted(truth.items()):
        if name not in results:
            missing.append(name)
        pb = results.get(name)
        ok = pb is not None and pb == t["postbox"]
        keys = ["all", f"{t['split']}", f"addressing={t['addressing']}"]
        if "kind" in t:
            keys.append(f"kind={t['kind']}")
        for k in keys:
            g = groups[k]
            g[0] += 1
            g[1] += pb is not None
            g[2] += ok
        if pb is not None and not ok:
            errors.append(f"  {name}: routed to {pb}, truth {t['postbox']} ({t['occasion']})")
    order = ["all", *splits, "addressing=department", "addressing=town", "addressing=person"]
    order += sorted(k for k in groups if k.startswith("kind="))
    for k in order:
        if k in groups and not (k in splits and len(splits) == 1):
            print(line(k, *groups[k]))
    if missing:
        print(f"missing from results (counted as not routed): {len(missing)}")
    if unknown:
        print(f"result lines for files not in the split (ignored): {len(unknown)}")
    if args.errors:
        if errors:
            print("wrongly routed:")
            print("\n".join(errors))
        if missing:
            print("missing:")
            print("\n".join(f"  {m}" for m in missing))


if __name__ == "__main__":
    main()
