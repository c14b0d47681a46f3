"""Choose one value per field among its candidates, and say how sure the choice is.

Confidence is calibrated so that a confidently wrong value is rare, the worst outcome (``DESIGN.md``):

* values with check digits (IBAN, VAT id, Leitweg-ID) may reach 0.99: a misread that keeps the check digits
  right is very unlikely;
* totals reach 0.9 and more only as a consistent set (net + VAT = gross); a lone amount stays below 0.8;
* other values reach at most 0.95, from a clear label with well-read words; every competing reading of the
  same field lowers the confidence, every agreeing one raises it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import combinations, product
from typing import Any

from extraction import parsers
from extraction.candidates import Candidate
from extraction.labels import FIELD_KINDS, Kind
from mailroom.model import Box

CHECKED_KINDS = frozenset({Kind.IBAN, Kind.VAT_ID, Kind.LEITWEG})
MAX_PLAIN_CONFIDENCE = 0.95
MAX_LONE_AMOUNT_CONFIDENCE = 0.75
CONSISTENT_TOTALS_CONFIDENCE = 0.97
CHECK_DIGIT_BONUS = 0.15
#: A value whose check digits fail is shown (validation blocks it) but never trusted.
FAILED_CHECK_CONFIDENCE = 0.3
#: A BIC's location code may hold digits or letters, so "1"/"I" and "0"/"O" there cannot be told apart.
AMBIGUOUS_BIC_CONFIDENCE = 0.6


@dataclass(frozen=True)
class FieldValue:
    """One field of the contract's ``invoice`` part: value, confidence and evidence (page + box)."""

    value: Any
    confidence: float
    page: int | None
    box: Box | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "confidence": round(self.confidence, 3),
            "page": self.page,
            "box": list(self.box) if self.box else None,
            "source": self.source,
        }


def _from(candidate: Candidate, confidence: float) -> FieldValue:
    return FieldValue(candidate.value, round(min(confidence, 0.99), 3), candidate.page, candidate.box,
                      candidate.source)


def choose_one(candidates: list[Candidate]) -> FieldValue | None:
    """The best-supported value of one field; its confidence falls with competing and rises with agreeing
    readings."""
    usable = candidates
    if not usable:
        return None
    groups: dict[str, list[Candidate]] = {}
    for candidate in usable:
        groups.setdefault(candidate.value, []).append(candidate)
    ranked = sorted(groups.values(), key=lambda g: (-max(c.score for c in g), -len(g)))
    best_group = ranked[0]
    best = max(best_group, key=lambda c: c.score)
    confidence = best.score
    if len(best_group) > 1:
        confidence = 1 - (1 - confidence) * 0.5
    if len(ranked) > 1:  # another value is printed for the same field: never sure then
        rival = max(c.score for c in ranked[1])
        confidence *= best.score / (best.score + rival)
    kind = FIELD_KINDS.get(best.field, Kind.DATE)
    if kind in CHECKED_KINDS and best.checked:
        confidence += CHECK_DIGIT_BONUS
    elif kind in CHECKED_KINDS:
        confidence = min(confidence, FAILED_CHECK_CONFIDENCE)
    elif kind is Kind.BIC and any(c in "01IO" for c in best.value[6:8]):
        confidence = min(confidence, AMBIGUOUS_BIC_CONFIDENCE)
    else:
        confidence = min(confidence, MAX_PLAIN_CONFIDENCE)
    return _from(best, confidence)


@dataclass(frozen=True)
class Totals:
    """The chosen totals; ``consistent`` when net + VAT = gross was found among the candidates."""

    fields: dict[str, FieldValue]
    consistent: bool


def choose_totals(candidates: list[Candidate]) -> Totals:
    """Net, VAT, gross and amount due, preferring a combination that adds up.

    VAT may be printed on several rows (one per rate): their sum counts as the VAT total then.
    """
    by_field: dict[str, list[Candidate]] = {f: [] for f in ("total_net", "total_vat", "total_gross", "amount_due")}
    for candidate in candidates:
        if candidate.field in by_field:
            by_field[candidate.field].append(candidate)
    best = _consistent(by_field["total_net"], by_field["total_vat"], by_field["total_gross"])
    if best is None and any(Decimal(c.value) < 0 for c in by_field["total_net"]):
        # a credit note whose minus signs OCR lost on some totals ('"233,47' for '-233,47'): the negative net
        # decides the sign, and only a set that then adds up is taken
        best = _consistent(by_field["total_net"], _with_negated(by_field["total_vat"]),
                           _with_negated(by_field["total_gross"]))
        if best is None:
            # a VAT table whose bases are negative but whose tax amounts lost their signs ("-20,48 € 4,10 €"):
            # every positive reading may be negated; such a repaired set is never sure (chance sums)
            best = _consistent(by_field["total_net"], _with_negated(by_field["total_vat"], always=True),
                               _with_negated(by_field["total_gross"], always=True))
    if best is not None:
        net, vats, gross = best
        weakest = min(net.score, gross.score)
        confidence = CONSISTENT_TOTALS_CONFIDENCE * min(1.0, 0.6 + 0.4 * weakest)
        if any(c.evidence.endswith(NEGATED_MARK) for c in (net, *vats, gross)):
            confidence = min(confidence, REPAIRED_SIGN_CONFIDENCE)
        vat_value = parsers.amount_text(sum((Decimal(v.value) for v in vats), Decimal(0)))
        vat_field = _from(vats[0], confidence) if len(vats) == 1 else FieldValue(
            vat_value, round(confidence, 3), vats[-1].page, vats[-1].box, vats[-1].source
        )
        fields = {"total_net": _from(net, confidence), "total_vat": vat_field,
                  "total_gross": _from(gross, confidence)}
        due = _amount_due(by_field["amount_due"], gross, confidence)
        if due is not None:
            fields["amount_due"] = due
        return Totals(fields, True)
    fields = {}
    for field, group in by_field.items():
        chosen = choose_one(group)
        if chosen is not None:
            fields[field] = FieldValue(chosen.value, min(chosen.confidence, MAX_LONE_AMOUNT_CONFIDENCE),
                                       chosen.page, chosen.box, chosen.source)
    return Totals(fields, False)


#: A total read without the minus sign the rest of a credit note has scores a little less.
NEGATED_WEIGHT = 0.9
#: A set of totals that adds up only with a sign OCR lost put back: below the review line, a person looks
#: (negating readings can make chance sums).
REPAIRED_SIGN_CONFIDENCE = 0.75
NEGATED_MARK = " (sign repaired)"


def _with_negated(candidates: list[Candidate], *, always: bool = False) -> list[Candidate]:
    """The candidates plus their positive values negated, unless the field already has a negative reading (then
    the sign was read, and negating more readings only makes chance sums) and not ``always``."""
    if not always and any(Decimal(c.value) < 0 for c in candidates):
        return candidates
    negated = [
        replace(c, value=parsers.amount_text(-Decimal(c.value)), score=c.score * NEGATED_WEIGHT,
                evidence=c.evidence + NEGATED_MARK)
        for c in candidates if Decimal(c.value) > 0
    ]
    return [*candidates, *negated]


def _amount_due(due: list[Candidate], gross: Candidate, confidence: float) -> FieldValue | None:
    """The amount due: a printed one equal to the gross total, or none when a different one is printed."""
    if not due:
        return None
    agreeing = [c for c in due if c.value == gross.value]
    if agreeing:
        return _from(max(agreeing, key=lambda c: c.score), confidence)
    lone = choose_one(due)
    return None if lone is None else FieldValue(lone.value, min(lone.confidence, MAX_LONE_AMOUNT_CONFIDENCE),
                                                lone.page, lone.box, lone.source)


#: The highest VAT rate of the EU (Hungary, 27 %) with room for rounding: VAT is never a larger share of the net.
MAX_VAT_SHARE = Decimal("0.28")


def plausible_vat(net: Decimal, vat: Decimal) -> bool:
    """Whether ``vat`` can be the VAT of ``net``: the same sign (or none) and at most :data:`MAX_VAT_SHARE` of it
    (a cent more for rounding). Net + VAT = gross holds as well with the two swapped ("Subtotaal excl. BTW" is a
    VAT label too); this tells them apart."""
    if vat == 0:
        return True
    return (vat > 0) == (net > 0) and abs(vat) <= abs(net) * MAX_VAT_SHARE + Decimal("0.01")


def _consistent(
    nets: list[Candidate], vats: list[Candidate], grosses: list[Candidate]
) -> tuple[Candidate, tuple[Candidate, ...], Candidate] | None:
    """The best-scored (net, VAT rows, gross) with net + VAT = gross and a plausible VAT share, or None."""
    by_row: dict[tuple[int, int], list[Candidate]] = {}
    for vat in vats:
        by_row.setdefault((vat.page, vat.row), []).append(vat)
    vat_sets: list[tuple[Candidate, ...]] = []
    for size in (1, 2, 3):
        for rows in combinations(by_row.values(), size):
            vat_sets.extend(product(*rows))
    best: tuple[float, tuple[Candidate, tuple[Candidate, ...], Candidate]] | None = None
    for gross in grosses:
        g = Decimal(gross.value)
        for net in nets:
            n = Decimal(net.value)
            if n <= 0 < g:
                continue
            for vat_set in vat_sets:
                v = sum((Decimal(v.value) for v in vat_set), Decimal(0))
                if n + v != g or not plausible_vat(n, v):
                    continue
                score = gross.score + net.score + sum(v.score for v in vat_set) / len(vat_set)
                if best is None or score > best[0]:
                    best = (score, (net, vat_set, gross))
    return None if best is None else best[1]
