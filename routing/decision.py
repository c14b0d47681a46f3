"""The hybrid decision: rules first, then the recipient match and the models, each postbox behind a threshold.

    decision = decide(recognition, rules_decision, directory=directory, policy=default_policy())
    result.document_type, result.recipient, result.routing = (
        decision.document_type, decision.recipient, decision.routing)

1. **Rules.** A matching routing rule decides (``decided_by: rule:<id>@<version>``, its trace kept). A rule
   that asks for review (or two rules in conflict) sends the document to review; the model's best postboxes
   are added to the rules' alternatives.
2. **Scores.** Otherwise every postbox gets a score, the probability that the letter belongs there::

       score(b) = sum over types t of  P(t | text) * P(b | t, recipient, content)

   ``P(t | text)`` is the calibrated type model. A type with a *fixed* postbox (invoices → the Kämmerei's
   Rechnungseingang) puts all its mass there. For a type whose postbox depends on the letter (``postboxes:``
   candidates in the directory's ``document_types``), the recipient decides with its confidence ``c``: the
   postbox the address names itself ("Zentrale Vergabestelle"), else the postboxes of the addressed
   department (a person → their *current* department, even outside the candidates; no department in the
   address → the department of an
   Aktenzeichen or Leitweg-ID in the letter) among the candidates, shared by the postbox model when the
   department has several; the remaining ``1 - c`` (everything, without a recipient) goes to the candidates
   as the postbox model (trained on the content of letters) weighs them.
3. **Catalogue.** What the letter's words say by the responsibilities catalogue of the directory
   (:mod:`classifiers.responsibilities`) multiplies each postbox's score by ``exp(CATALOGUE_STRENGTH *
   evidence)`` (a postbox nothing else pointed to starts from :data:`CATALOGUE_FLOOR`); the scores are
   rescaled to their former total; when a second department has at least :data:`CATALOGUE_RIVAL` of the
   first's evidence, neither gets more than the second's (the catalogue does not choose). When the address
   names a department, the catalogue only chooses among that department's postboxes. Reviewers' corrections of
   similar letters (:mod:`routing.memory`) multiply the
   scores the same way, with ``exp(MEMORY_STRENGTH * votes)``, whoever the letter is addressed to.
4. **Thresholds.** The best postbox is routed only when its score reaches its postbox threshold *and* the
   type's confidence reaches the type threshold (only where the type gave the postbox its score: the type's
   fixed postbox, mostly by the type's mass, with neither corrections nor the catalogue for it — a catalogue
   that names two departments alike speaks for neither; elsewhere the
   score already weighs every type); otherwise ``status: review`` with the top three
   postboxes as alternatives and the reasons. Defaults: :data:`DEFAULT_POSTBOX_THRESHOLD` (calibrated on generated mail
   so that automatic decisions are at least 99 % correct, see ``bench/bench_routing.py``) and
   :data:`DEFAULT_TYPE_THRESHOLD`; a thresholds file (YAML) overrides them::

       postbox: 0.9            # default for every postbox
       document_type: 0.5      # default for every type
       postboxes: {hauptamt-vergabe: 0.95}
       types: {contract: 0.7}

Every decision says what decided it (``decided_by``: ``rule:<id>@<v>``, ``model:doctype@<n>``,
``recipient:address_field``, ``recipient:aktenzeichen``, ``model:postbox@<n>``) and why (``because``);
a letter marked "persönlich/vertraulich" keeps ``confidential: true`` and the person.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mailroom import yamlio
from mailroom.errors import InvalidThresholds
from mailroom.result import Alternative, DocumentType, Recipient, Routing
from rules.decision import Decision

if TYPE_CHECKING:  # recognition results are passed in; rules never imports classifiers at run time
    from classifiers.responsibilities import PostboxEvidence
    from mailroom.directory import Directory
    from routing.recognition import Recognition, TypeRoute

CATALOGUE_SOURCE = "catalogue:responsibilities"
LEARNED_SOURCE = "learned:corrections"
MEMORY_STRENGTH = 3.0  # log-factor per vote of a similar corrected letter (routing.memory): as one task word
CATALOGUE_STRENGTH = 3.0  # log-factor per unit of catalogue evidence (one specific task word = 1)
CATALOGUE_CAP = 4.0  # evidence beyond this adds nothing
CATALOGUE_RIVAL = 0.6  # a second department with this share of the first's evidence makes the catalogue undecided
CATALOGUE_FLOOR = 0.02  # the share a postbox the models gave nothing starts from before the catalogue's factor
DEFAULT_POSTBOX_THRESHOLD = 0.9
ADDRESS_MIN_CONFIDENCE = 0.8  # least confidence of the address field's department for the address to decide it
ADDRESS_SOURCE = "recipient:address_field"
TYPE_OVER_ADDRESS = 0.9  # least confidence of a type with a fixed postbox to overrule the addressed department
ADDRESS_PRIOR_FLOOR = 0.2  # least share, within an addressed department, of a postbox the catalogue speaks for
DEFAULT_TYPE_THRESHOLD = 0.5
MIN_MASS = 1e-4  # type probabilities below this are not spread over postboxes
RECIPIENT_SOURCES = {"address": "address_field", "aktenzeichen": "aktenzeichen", "leitweg_id": "leitweg_id"}


@dataclass(frozen=True)
class Thresholds:
    """Least score to route into a postbox, least confidence of a type; per postbox / type overrides."""

    postbox: float = DEFAULT_POSTBOX_THRESHOLD
    document_type: float = DEFAULT_TYPE_THRESHOLD
    postboxes: Mapping[str, float] = field(default_factory=dict)
    types: Mapping[str, float] = field(default_factory=dict)

    def for_postbox(self, postbox: str) -> float:
        return self.postboxes.get(postbox, self.postbox)

    def for_type(self, label: str) -> float:
        return self.types.get(label, self.document_type)


def _probability(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise InvalidThresholds(f"threshold {where} must be a number from 0 to 1, not {value!r}", field=where)
    return float(value)


def parse_thresholds(text: str) -> Thresholds:
    """Thresholds from YAML (see the module doc); missing keys keep their defaults."""
    try:
        raw = yamlio.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InvalidThresholds(f"thresholds: not valid YAML ({exc})") from exc
    if not isinstance(raw, Mapping):
        raise InvalidThresholds("thresholds: expected a mapping")
    unknown = sorted(set(raw) - {"postbox", "document_type", "postboxes", "types"})
    if unknown:
        raise InvalidThresholds(f"thresholds: unknown keys {', '.join(unknown)}", field=unknown[0])
    per: dict[str, dict[str, float]] = {}
    for key in ("postboxes", "types"):
        section = raw.get(key) or {}
        if not isinstance(section, Mapping):
            raise InvalidThresholds(f"thresholds: '{key}' must be a mapping", field=key)
        per[key] = {str(k): _probability(v, f"{key}.{k}") for k, v in section.items()}
    return Thresholds(
        postbox=_probability(raw.get("postbox", DEFAULT_POSTBOX_THRESHOLD), "postbox"),
        document_type=_probability(raw.get("document_type", DEFAULT_TYPE_THRESHOLD), "document_type"),
        postboxes=per["postboxes"],
        types=per["types"],
    )


def load_thresholds(path: Path) -> Thresholds:
    try:
        return parse_thresholds(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidThresholds(f"cannot read thresholds file {path}: {exc.strerror}") from exc


@dataclass(frozen=True)
class RoutingPolicy:
    """The town's type → postbox routes (directory YAML ``document_types``) and the thresholds."""

    routes: Mapping[str, TypeRoute]
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True)
class PostboxScore:
    """A postbox's score, what gave it most of it, and why."""

    postbox: str
    score: float
    decided_by: str
    because: tuple[str, ...]
    shares: tuple[tuple[str, float], ...] = ()  # each source's part of the score

    def share_of(self, source: str) -> float:
        return sum(v for k, v in self.shares if k == source)


@dataclass(frozen=True)
class RoutingDecision:
    """The three result parts the decision fills: ``document_type``, ``recipient`` and ``routing``."""

    document_type: DocumentType
    recipient: Recipient
    routing: Routing
    scores: tuple[PostboxScore, ...] = ()

    @property
    def routed(self) -> bool:
        return self.routing.status == "routed"


class _Scores:
    """Accumulates score mass per postbox, remembering each source's part and reasons."""

    def __init__(self) -> None:
        self.mass: dict[str, dict[str, float]] = {}
        self.because: dict[str, list[str]] = {}
        self.boosted_by: dict[str, str] = {}  # postbox -> source that more than doubled its score

    def fuse(self, factors: Mapping[str, tuple[float, str]], source: str, floor: float) -> None:
        """Multiply each postbox's score by its evidence factor (a postbox nothing pointed to starts from
        ``floor``), then rescale so that the total stays what it was."""
        if not factors:
            return
        total = sum(sum(parts.values()) for parts in self.mass.values())
        before = {box: sum(parts.values()) for box, parts in self.mass.items()}
        for box, (factor, reason) in factors.items():
            parts = self.mass.setdefault(box, {})
            if sum(parts.values()) < floor:
                parts[source] = parts.get(source, 0.0) + floor - sum(parts.values())
            for key in parts:
                parts[key] *= factor
            if reason not in self.because.setdefault(box, []):
                self.because[box].insert(0, reason)
        new_total = sum(sum(parts.values()) for parts in self.mass.values())
        scale = total / new_total if new_total > 0 and total > 0 else 1.0
        for box, parts in self.mass.items():
            for key in parts:
                parts[key] *= scale
            if box in factors and sum(parts.values()) > 2 * before.get(box, 0.0):
                self.boosted_by[box] = source

    def add(self, postbox: str, amount: float, source: str, reason: str) -> None:
        if amount <= 0:
            return
        parts = self.mass.setdefault(postbox, {})
        parts[source] = parts.get(source, 0.0) + amount
        if amount >= 0.01 and reason not in self.because.setdefault(postbox, []):
            self.because[postbox].append(reason)

    def ranked(self) -> list[PostboxScore]:
        out = [
            PostboxScore(
                box,
                min(1.0, sum(parts.values())),
                self.boosted_by.get(box) or max(parts.items(), key=lambda kv: kv[1])[0],
                tuple(self.because.get(box, ())),
                tuple((k, v) for k, v in parts.items()),
            )
            for box, parts in self.mass.items()
        ]
        return sorted(out, key=lambda s: -s.score)


def _normalised(weights: Mapping[str, float], boxes: list[str]) -> dict[str, float]:
    """``weights`` restricted to ``boxes`` and summing to 1 (uniform when they carry no weight)."""
    total = sum(weights.get(b, 0.0) for b in boxes)
    if total <= 0:
        return {b: 1.0 / len(boxes) for b in boxes}
    return {b: weights.get(b, 0.0) / total for b in boxes}


def _recipient_boxes(recognition: Recognition, directory: Directory, candidates: list[str]) -> list[str]:
    """The candidate postboxes the recipient points to: the one the address names, else the department's
    (address first, then Aktenzeichen / Leitweg-ID references); a named person's department in any case."""
    if recognition.addressed_postbox in candidates:
        return [recognition.addressed_postbox]
    match = recognition.recipient
    departments = [match.department, *(r.department for r in recognition.references)]
    for department in departments:
        boxes = [b for b in candidates if b in directory.postboxes and directory.postboxes[b].department == department]
        if boxes:
            return boxes
    main = directory.departments[match.department].main_postbox if match.department else None
    return [main] if match.person and main else []  # mail for a person goes to them, whatever its type


def postbox_scores(
    recognition: Recognition,
    directory: Directory,
    routes: Mapping[str, TypeRoute],
    learned: Mapping[str, tuple[float, str]] | None = None,
    *,
    evidence: bool = True,
) -> list[PostboxScore]:
    """Every postbox with a score, best first (see the module doc for the formula); ``evidence=False``: without
    the catalogue's and the corrections' factors."""
    scores = _Scores()
    match = recognition.recipient
    recipient_by = f"recipient:{RECIPIENT_SOURCES.get(match.source or '', 'address_field')}"
    content = recognition.postbox.probabilities if recognition.postbox else {}
    content_by = recognition.postbox_by or "model:postbox"
    all_boxes = list(directory.postboxes)
    for label, p in sorted(recognition.document_type.probabilities.items(), key=lambda kv: -kv[1]):
        if p < MIN_MASS:
            continue
        route = routes.get(label)
        type_reason = f"document_type={label} ({p:.2f})"
        if route is not None and route.postbox:
            scores.add(route.postbox, p, recognition.document_type_by, f"{type_reason} goes to {route.postbox}")
            continue
        candidates = list(route.candidates) if route is not None and route.candidates else all_boxes
        rest = p
        boxes = _recipient_boxes(recognition, directory, candidates)
        if boxes:
            share = p * match.confidence
            reason = f"{type_reason}; recipient {match.department or 'reference'} ({match.confidence:.2f})"
            for box, w in _normalised(content, boxes).items():
                scores.add(box, share * w, recipient_by, reason)
            rest = p - share
        main = directory.departments[match.department].main_postbox if match.department else None
        if main is not None and main not in candidates:
            candidates.append(main)  # addressed elsewhere than the usual places: the content weighs that too
        for box, w in _normalised(content, candidates).items():
            scores.add(box, rest * w, content_by, f"{type_reason}; content suggests {box} ({content.get(box, 0):.2f})")
    if evidence:
        scores.fuse(catalogue_factors(recognition), CATALOGUE_SOURCE, CATALOGUE_FLOOR)
        scores.fuse({b: f for b, f in (learned or {}).items() if b in directory.postboxes}, LEARNED_SOURCE,
                    CATALOGUE_FLOOR)
    return scores.ranked()


def _contested(ranked: list[float]) -> bool:
    """Two departments' catalogue evidence (best first) so close that the catalogue does not choose."""
    return len(ranked) > 1 and ranked[1] >= CATALOGUE_RIVAL * ranked[0]


def _catalogue_evidence(recognition: Recognition) -> list[PostboxEvidence]:
    """The catalogue evidence that counts: within the addressed department when the address names one."""
    match = recognition.recipient
    if match.source == "address" and match.department:
        return [e for e in recognition.catalogue if e.department == match.department]
    return list(recognition.catalogue)


def catalogue_decides_for(recognition: Recognition) -> set[str]:
    """The postboxes of the department the catalogue points to, when it points to one: a second department
    with at least :data:`CATALOGUE_RIVAL` of its evidence leaves the catalogue undecided (empty set)."""
    by_department: dict[str, float] = {}
    for e in _catalogue_evidence(recognition):
        if e.score > 0:
            by_department[e.department] = by_department.get(e.department, 0.0) + e.score
    if not by_department:
        return set()
    ranked = sorted(by_department.items(), key=lambda kv: -kv[1])
    if _contested([v for _, v in ranked]):
        return set()
    return {e.postbox for e in recognition.catalogue if e.department == ranked[0][0] and e.score > 0}


def catalogue_factors(recognition: Recognition) -> dict[str, tuple[float, str]]:
    """Per postbox the factor its score is multiplied by for what the letter's words say by the responsibilities
    catalogue: ``exp(CATALOGUE_STRENGTH * evidence)``, evidence capped at :data:`CATALOGUE_CAP`. When the address
    names a department (or a person), the catalogue only chooses among that department's postboxes: mail goes to
    whom it is addressed."""
    evidence = _catalogue_evidence(recognition)
    by_department: dict[str, float] = {}
    for e in evidence:
        by_department[e.department] = by_department.get(e.department, 0.0) + e.score
    ranked = sorted(by_department.values(), reverse=True)
    # a rival department with nearly as much evidence: the catalogue does not choose between the two
    ceiling = ranked[1] if _contested(ranked) else CATALOGUE_CAP
    return {
        e.postbox: (math.exp(CATALOGUE_STRENGTH * min(e.score, ceiling, CATALOGUE_CAP)), e.reason())
        for e in evidence
        if e.score > 0
    }


def _recipient_part(recognition: Recognition) -> Recipient:
    match = recognition.recipient
    data: dict[str, Any] = match.to_result().model_dump(exclude_none=True)
    data["confidential"] = match.confidential
    if match.source:
        data["decided_by"] = f"recipient:{RECIPIENT_SOURCES.get(match.source, match.source)}"
    data["because"] = [str(e) for e in match.evidence]
    return Recipient.model_validate(data)


def _type_part(recognition: Recognition, rules_decision: Decision) -> DocumentType:
    if rules_decision.document_type:
        return DocumentType(
            label=rules_decision.document_type,
            confidence=1.0,
            decided_by=rules_decision.decided_by or f"rules@{rules_decision.ruleset_version}",
        )
    prediction = recognition.document_type
    return DocumentType(
        label=prediction.label, confidence=round(prediction.confidence, 4), decided_by=recognition.document_type_by
    )


def _alternatives(ranked: list[PostboxScore], exclude: set[str], n: int = 3) -> list[Alternative]:
    return [Alternative(postbox=s.postbox, confidence=round(s.score, 4)) for s in ranked if s.postbox not in exclude][
        :n
    ]


def _model_routing(
    ranked: list[PostboxScore],
    document_type: DocumentType,
    thresholds: Thresholds,
    routes: Mapping[str, TypeRoute],
    supported: set[str],
    type_source: str,
) -> dict[str, Any]:
    """Status, postbox, confidence, decided_by, because, alternatives and review reasons from the scores."""
    if not ranked:
        return {"status": "review", "review_reasons": ["no postbox scored: nothing recognised"], "because": []}
    best = ranked[0]
    reasons = []
    postbox_needed = thresholds.for_postbox(best.postbox)
    if best.score < postbox_needed:
        reasons.append(f"postbox {best.postbox}: score {best.score:.2f} below its threshold {postbox_needed:.2f}")
    type_needed = thresholds.for_type(document_type.label)
    route = routes.get(document_type.label)
    # the type gate holds where the type gave the postbox its score: its fixed postbox, mostly by the type model's
    # mass, and neither the catalogue nor corrections speak for it
    type_matters = route is None or (
        route.postbox == best.postbox
        and best.postbox not in supported
        and best.share_of(type_source) >= 0.5 * best.score
    )
    if document_type.confidence < type_needed and type_matters:
        reasons.append(
            f"document type {document_type.label}: confidence {document_type.confidence:.2f} "
            f"below its threshold {type_needed:.2f}"
        )
    routed = not reasons
    return {
        "status": "routed" if routed else "review",
        "postbox": best.postbox if routed else None,
        "confidence": round(best.score, 4),
        "decided_by": best.decided_by,
        "because": list(best.because),
        "alternatives": _alternatives(ranked, {best.postbox} if routed else set()),
        "review_reasons": reasons,
    }


def _department_shares(
    recognition: Recognition,
    directory: Directory,
    routes: Mapping[str, TypeRoute],
    boxes: list[str],
    learned: Mapping[str, tuple[float, str]] | None,
) -> list[tuple[str, float, list[str]]]:
    """How an addressed department's score divides among its postboxes, best first, with the reasons: the types'
    and the content's scores within the department, a postbox that the catalogue or corrections speak for
    starting from at least :data:`ADDRESS_PRIOR_FLOOR`, times the catalogue's and the corrections' factors."""
    base = {s.postbox: s for s in postbox_scores(recognition, directory, routes, evidence=False) if s.postbox in boxes}
    total = sum(s.score for s in base.values())
    factors = [catalogue_factors(recognition), {b: f for b, f in (learned or {}).items() if b in boxes}]
    weights: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    for box in boxes:
        weight = base[box].score / total if total > 0 and box in base else 0.0
        reasons[box] = list(base[box].because) if box in base else []
        if any(box in f for f in factors):
            weight = max(weight, ADDRESS_PRIOR_FLOOR)
            for f in factors:
                if box in f:
                    weight *= f[box][0]
                    reasons[box].insert(0, f[box][1])
        weights[box] = weight
    whole = sum(weights.values())
    if whole <= 0:
        return []
    return sorted(((b, w / whole, reasons[b]) for b, w in weights.items()), key=lambda t: -t[1])


def _address_routing(
    recognition: Recognition,
    directory: Directory,
    ranked: list[PostboxScore],
    thresholds: Thresholds,
    routes: Mapping[str, TypeRoute],
    learned: Mapping[str, tuple[float, str]] | None = None,
) -> dict[str, Any] | None:
    """The decision when the address field names a department (or a person of it) surely enough: mail goes to
    whom it is addressed. Which of the department's postboxes: the one the address names itself (a postbox's
    name, a task's unit, the person's postbox), the only one, else the scores restricted to the department's
    postboxes (the catalogue's task postboxes, the types' postboxes, the content) — routed when the best has its
    postbox threshold of that share, else review between them. Review too when the likeliest type has a fixed
    postbox outside the department and is fairly sure (its threshold up to :data:`TYPE_OVER_ADDRESS`): address
    and type disagree and neither overrules the other. ``None``: the address does not decide and the
    scores do, as the directory's ``document_types`` say — no department named surely enough; the likeliest type
    has a fixed postbox and is sure (≥ :data:`TYPE_OVER_ADDRESS`: invoices → the Rechnungseingang, whoever they
    are addressed to) or its postbox is one of the department's (the type's threshold applies); or the type goes
    to one of several
    postboxes, not the addressed department's, and the letter cites another department's Aktenzeichen that is
    one of them (an objection goes to the department whose notice it cites)."""
    match = recognition.recipient
    if match.source != "address" or match.department is None or match.confidence < ADDRESS_MIN_CONFIDENCE:
        return None
    department = directory.departments.get(match.department)
    boxes = [b for b in (department.postboxes if department else ()) if b in directory.postboxes]
    if department is None or not boxes:
        return None
    prediction = recognition.document_type
    route = routes.get(prediction.label)
    addressed = f"the address names {department.name} ({match.confidence:.2f})"
    if route is not None and route.postbox and route.postbox in boxes:
        return None  # the type's postbox is the addressed department's: the type's threshold applies
    if route is not None and route.postbox and prediction.confidence >= thresholds.for_type(prediction.label):
        if prediction.confidence >= max(TYPE_OVER_ADDRESS, thresholds.for_type(prediction.label)):
            return None  # a sure type with a fixed postbox: invoices go to the Rechnungseingang
        # the address and a fairly sure type disagree: neither is sure enough to overrule the other
        main = department.main_postbox or boxes[0]
        return {
            "status": "review",
            "postbox": None,
            "confidence": round(prediction.confidence, 4),
            "decided_by": ADDRESS_SOURCE,
            "because": [addressed, f"document_type={prediction.label} ({prediction.confidence:.2f}) goes to "
                                   f"{route.postbox}"],
            "alternatives": [Alternative(postbox=route.postbox, confidence=round(prediction.confidence, 4)),
                             Alternative(postbox=main, confidence=round(match.confidence, 4))],
            "review_reasons": [
                f"{addressed}, but the document type {prediction.label} ({prediction.confidence:.2f}, below "
                f"{TYPE_OVER_ADDRESS:.2f}) goes to {route.postbox}"
            ],
        }
    if route is not None and route.candidates and not set(route.candidates) & set(boxes):
        cited = {directory.departments[r.department].main_postbox for r in recognition.references
                 if r.department != match.department and r.department in directory.departments}
        if cited & set(route.candidates):
            return None
    evidence = [str(e) for e in match.evidence]
    shares = _department_shares(recognition, directory, routes, boxes, learned) if len(boxes) > 1 else []
    because: list[str]
    if recognition.addressed_postbox in boxes:
        postbox, share = recognition.addressed_postbox, 1.0
        because = [addressed, f"and its postbox {postbox}", *evidence]
    elif not shares:
        postbox, share = department.main_postbox or boxes[0], 1.0
        because = [addressed, *evidence]
    else:
        postbox, share, why = shares[0]
        because = [addressed, f"{postbox}: {share:.2f} of the department's score", *why, *evidence]
        needed = thresholds.for_postbox(postbox)
        if share < needed:
            alternatives = [Alternative(postbox=b, confidence=round(w, 4)) for b, w, _ in shares]
            return {
                "status": "review",
                "postbox": None,
                "confidence": round(share, 4),
                "decided_by": ADDRESS_SOURCE,
                "because": because,
                "alternatives": (alternatives + _alternatives(ranked, set(boxes)))[:3],
                "review_reasons": [
                    f"{addressed}; postbox {postbox}: {share:.2f} of the department's score, below its threshold "
                    f"{needed:.2f} (" + ", ".join(f"{a.postbox} {a.confidence:.2f}" for a in alternatives) + ")"
                ],
            }
    return {
        "status": "routed",
        "postbox": postbox,
        "confidence": round(min(match.confidence, share), 4),
        "decided_by": ADDRESS_SOURCE,
        "because": because,
        "alternatives": _alternatives(ranked, {postbox}),
        "review_reasons": [],
    }


def _supported(recognition: Recognition, learned: Mapping[str, tuple[float, str]] | None) -> set[str]:
    """Postboxes the catalogue (when it points to one department, not two) or reviewers' corrections speak
    for: a letter whose words name two departments alike is not decided by a weak type model."""
    return catalogue_decides_for(recognition) | set(learned or {})


def decide(
    recognition: Recognition,
    rules_decision: Decision,
    *,
    directory: Directory,
    policy: RoutingPolicy,
    learned: Mapping[str, tuple[float, str]] | None = None,
) -> RoutingDecision:
    """Rules first, then recipient and models, behind the thresholds (see the module doc). ``learned``: factors
    per postbox from reviewers' corrections of similar letters (:mod:`routing.memory`)."""
    ranked = postbox_scores(recognition, directory, policy.routes, learned)
    document_type = _type_part(recognition, rules_decision)
    recipient = _recipient_part(recognition)
    data: dict[str, Any] = rules_decision.to_routing().model_dump(exclude_none=True)
    if rules_decision.status == "routed":
        winner = next(
            (t for t in rules_decision.trace if t.matched and data.get("decided_by", "").startswith(f"rule:{t.rule}@")),
            None,
        )
        data["because"] = winner.because if winner else []
    elif rules_decision.review_reasons:
        seen = {a.postbox for a in rules_decision.alternatives}
        data["alternatives"] = [
            *(a.model_dump() for a in rules_decision.alternatives),
            *(a.model_dump() for a in _alternatives(ranked, seen)),
        ][:3]
        data["because"] = list(rules_decision.review_reasons)
    else:
        data.update(
            _address_routing(recognition, directory, ranked, policy.thresholds, policy.routes, learned)
            or _model_routing(ranked, document_type, policy.thresholds, policy.routes,
                              _supported(recognition, learned), recognition.document_type_by)
        )
        data["alternatives"] = [a.model_dump() for a in data["alternatives"]] if "alternatives" in data else []
    if not data.get("review_reasons"):
        data.pop("review_reasons", None)
    if recognition.recipient.confidential or rules_decision.confidential:
        data["confidential"] = True
        if recognition.recipient.person:
            data["person"] = recognition.recipient.person
    return RoutingDecision(document_type, recipient, Routing.model_validate(data), tuple(ranked))
