"""Score mailroom's routing of the independent letters against their truth files.

Usage (from the repository root):

    mailroom process --json tests/data/independent/letters/test/test_*.{png,tif,pdf} > /tmp/test.jsonl
    python3 tests/data/independent/letters/tools/score.py test /tmp/test.jsonl
    python3 tests/data/independent/letters/tools/score.py dev - < /tmp/dev.jsonl --by-postbox

Each input line is one JSON object with at least "filename" and "routing": {"status": "routed"|"review",
"postbox": id or null}. Lines that are not JSON objects are ignored. Letters of the split without a result line
count as not routed (reported as "missing"). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

LETTERS = Path(__file__).resolve().parent.parent
MODES = ("department", "town", "person")


def load_truth(split: str) -> dict[str, dict]:
    truth = {}
    for p in sorted((LETTERS / split).glob("*.truth.json")):
        truth[p.name.removesuffix(".truth.json")] = json.loads(p.read_text(encoding="utf-8"))
    if not truth:
        sys.exit(f"score: no truth files under {LETTERS / split}")
    return truth


def load_results(stream) -> dict[str, dict]:
    results = {}
    for line in stream:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or "filename" not in obj:
            continue
        stem = Path(str(obj["filename"])).name.split(".")[0]
        results[stem] = obj
    return results


def line_for(label: str, names: list[str], truth: dict[str, dict], results: dict[str, dict]) -> str:
    n = len(names)
    routed = correct = missing = 0
    for name in names:
        res = results.get(name)
        if res is None:
            missing += 1
            continue
        routing = res.get("routing") or {}
        if routing.get("status") == "routed":
            routed += 1
            if routing.get("postbox") == truth[name]["postbox"]:
                correct += 1
    auto = 100.0 * routed / n if n else 0.0
    prec = f"{100.0 * correct / routed:6.1f} %" if routed else "     – "
    acc = 100.0 * correct / n if n else 0.0
    return (f"{label:<28} n={n:4d}  routed automatically {auto:5.1f} %  precision of routed {prec}  "
            f"correct of all {acc:5.1f} %  wrong {routed - correct:3d}  missing {missing}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("split", choices=["test", "dev"])
    ap.add_argument("results", help="JSON lines from `mailroom process --json`, or - for stdin")
    ap.add_argument("--by-postbox", action="store_true", help="also break down by true postbox")
    ap.add_argument("--errors", action="store_true", help="list every wrongly routed letter")
    args = ap.parse_args()
    truth = load_truth(args.split)
    if args.results == "-":
        results = load_results(sys.stdin)
    else:
        with open(args.results, encoding="utf-8") as fh:
            results = load_results(fh)
    unknown = sorted(set(results) - set(truth))
    names = sorted(truth)
    print(f"independent letters, split {args.split}: {len(names)} letters, {len(results)} result lines"
          + (f" ({len(unknown)} not in this split, ignored)" if unknown else ""))
    print(line_for("all", names, truth, results))
    for mode in MODES:
        print(line_for(f"addressing={mode}", [n for n in names if truth[n]["addressing"] == mode], truth, results))
    if args.by_postbox:
        groups: dict[str, list[str]] = defaultdict(list)
        for n in names:
            groups[truth[n]["postbox"]].append(n)
        for pb in sorted(groups):
            print(line_for(f"postbox={pb}", groups[pb], truth, results))
    if args.errors:
        for n in names:
            res = results.get(n)
            routing = (res or {}).get("routing") or {}
            if routing.get("status") == "routed" and routing.get("postbox") != truth[n]["postbox"]:
                print(f"WRONG {n}: routed to {routing.get('postbox')}, truth {truth[n]['postbox']} "
                      f"({truth[n]['addressing']}; {truth[n]['occasion']})")


if __name__ == "__main__":
    main()
