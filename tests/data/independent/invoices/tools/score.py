"""Score mailroom's invoice extraction against the independent invoice truth.

    mailroom process --json tests/data/independent/invoices/test/test_* > /tmp/inv.jsonl
    python tests/data/independent/invoices/tools/score.py --split test /tmp/inv.jsonl

Reads JSON lines (a file argument or stdin); each line has ``filename`` and ``invoice`` whose fields are objects
``{"value": ..., "confidence": ...}`` (``invoice`` may be null or missing: then nothing was extracted). Lines are
matched to truth files by the file's base name. Documents of the split with no output line count as extracting
nothing. Prints, per field, the exact-match rate, the rate where the truth has a value, the share of documents with
all five primary fields right, and the share of wrong values among those given with confidence >= 0.9.

A field whose truth is null is right only when the product gives no value (null, missing or empty).
Normalisation before comparing: whitespace trimmed/collapsed everywhere; IBAN, VAT id and tax number compared
without spaces, upper-case; amounts as decimals with two places ("1234.5", 1234.5 and "1.234,50" all count as
1234.50); dates must be ISO (YYYY-MM-DD); seller name case-insensitive; currency upper-case.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict
from decimal import Decimal, InvalidOperation

FIELDS = ["invoice_number", "issue_date", "due_date", "seller_name", "seller_vat_id", "seller_tax_number", "iban",
          "currency", "total_net", "total_vat", "total_gross", "amount_due", "buyer_reference", "order_reference"]
PRIMARY = ["invoice_number", "issue_date", "total_gross", "iban", "seller_vat_id"]
AMOUNTS = {"total_net", "total_vat", "total_gross", "amount_due"}
COMPACT = {"iban", "seller_vat_id", "seller_tax_number"}
HIGH = 0.9
HERE = os.path.dirname(os.path.abspath(__file__))


def amount(v: object) -> str | None:
    s = re.sub(r"[\s€]|EUR|CHF", "", str(v))
    german = re.fullmatch(r"-?[\d.]*,\d{1,2}", s)  # 1.234,56
    s = s.replace(".", "").replace(",", ".") if german else s.replace(",", "")
    try:
        return f"{Decimal(s).quantize(Decimal('0.01')):.2f}"
    except InvalidOperation:
        return "<unparseable:" + str(v) + ">"


def norm(field: str, v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, str) and not v.strip():
        return None
    if field in AMOUNTS:
        return amount(v)
    s = " ".join(str(v).split())
    if field in COMPACT:
        return s.replace(" ", "").upper()
    if field == "seller_name":
        return s.casefold()
    if field == "currency":
        return s.upper()
    return s


def load_truth(split_dir: str) -> dict[str, dict]:
    out = {}
    for f in sorted(os.listdir(split_dir)):
        if f.endswith(".truth.json"):
            stem = f[: -len(".truth.json")]
            docs = [d for d in os.listdir(split_dir) if d.startswith(stem + ".") and not d.endswith(".json")]
            with open(os.path.join(split_dir, f), encoding="utf-8") as fh:
                t = json.load(fh)
            for d in docs:
                out[d] = t
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="?", help="JSON lines from `mailroom process --json` (default: stdin)")
    ap.add_argument("--split", default="test", choices=["test", "dev"])
    ap.add_argument("--data", default=os.path.dirname(HERE), help="folder holding dev/ and test/")
    ap.add_argument("--map", action="append", default=[], metavar="TRUTH=PRODUCT",
                    help="the product's name for a field, e.g. total_gross=gross_total")
    ap.add_argument("--errors", action="store_true", help="list every wrong value")
    args = ap.parse_args()
    names = {f: f for f in FIELDS}
    for m in args.map:
        k, v = m.split("=", 1)
        names[k] = v
    truth = load_truth(os.path.join(args.data, args.split))
    if args.results:
        with open(args.results, encoding="utf-8") as fh:
            lines = fh.readlines()
    else:
        lines = sys.stdin.readlines()
    preds: dict[str, dict] = {}
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        rec = json.loads(line)
        base = os.path.basename(str(rec.get("filename", "")))
        if base in truth:
            preds[base] = rec.get("invoice") or {}
    right: dict[str, int] = defaultdict(int)
    present: dict[str, int] = defaultdict(int)
    right_present: dict[str, int] = defaultdict(int)
    hi_n: dict[str, int] = defaultdict(int)
    hi_wrong: dict[str, int] = defaultdict(int)
    five = 0
    by_group: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    errors = []
    for doc, t in sorted(truth.items()):
        p = preds.get(doc, {})
        ok_all = True
        for f in FIELDS:
            tv = norm(f, t["invoice"].get(f))
            cell = p.get(names[f])
            if isinstance(cell, dict):
                pv, conf = cell.get("value"), cell.get("confidence")
            else:
                pv, conf = cell, None
            pv = norm(f, pv)
            ok = pv == tv
            right[f] += ok
            if tv is not None:
                present[f] += 1
                right_present[f] += ok
            if pv is not None and isinstance(conf, int | float) and conf >= HIGH:
                hi_n[f] += 1
                hi_wrong[f] += not ok
            if not ok:
                errors.append((doc, f, tv, pv, conf))
                if f in PRIMARY:
                    ok_all = False
        five += ok_all
        for g in (f"family {t['family']}", f"language {t['language']}"):
            by_group[g][0] += 1
            by_group[g][1] += ok_all
    n = len(truth)
    print(f"split {args.split}: {n} documents, {len(preds)} with output")
    print(f"{'field':20} {'exact %':>8} {'n_truth':>8} {'exact % (truth set)':>20} {'conf>=0.9':>10} {'wrong %':>8}")
    for f in FIELDS:
        rp = f"{100 * right_present[f] / present[f]:.1f}" if present[f] else "-"
        hw = f"{100 * hi_wrong[f] / hi_n[f]:.1f}" if hi_n[f] else "-"
        print(f"{f:20} {100 * right[f] / n:8.1f} {present[f]:8d} {rp:>20} {hi_n[f]:10d} {hw:>8}")
    tot_hi, tot_wrong = sum(hi_n.values()), sum(hi_wrong.values())
    print(f"all five primary right ({', '.join(PRIMARY)}): {100 * five / n:.1f} % ({five}/{n})")
    share = f"{100 * tot_wrong / tot_hi:.1f} %" if tot_hi else "- (no value with confidence >= 0.9)"
    print(f"wrong among values with confidence >= {HIGH}: {share} ({tot_wrong}/{tot_hi})")
    for g, (k, ok) in sorted(by_group.items()):
        print(f"  five primary right, {g:24} {100 * ok / k:5.1f} % ({ok}/{k})")
    if args.errors:
        for doc, f, tv, pv, conf in errors:
            print(f"ERR {doc}\t{f}\ttruth={tv!r}\tgot={pv!r}\tconf={conf}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
