"""How much labelled mail do the rules route, and how much of it to the right postbox?

:func:`evaluate_rules_on` takes labelled ``sample_docs`` mail (files with ``*.truth.json`` beside them) and a
function that runs the pipeline on one file (the command line passes ``workers.inprocess.process_path``: the
pipeline is a floor above routing), evaluates a rule set (the default pack unless given) on each document with
the facts from its result, and compares the postbox with the truth. *Coverage* is the share of documents the
rules route (the rest goes to review, for the model); *precision* the share of routed documents that reached
the right postbox. Stacks with several letters are skipped until separation splits them into documents.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mailroom.errors import MailroomError
from mailroom.evaluation import load_truth
from mailroom.model import Document
from mailroom.result import Result
from rules.compiled import CompiledRuleSet, compile_ruleset
from rules.evaluate import DEFAULT_ZONES, evaluate
from rules.language import RuleSet
from rules.result_facts import facts_from_result
from rules.store import default_pack_text
from rules.validate import load_ruleset
from rules.zones import Zones


@dataclass(frozen=True)
class RoutedDocument:
    """One labelled document: where the truth says it belongs and what the rules decided."""

    file: str
    truth_postbox: str | None
    truth_type: str | None
    status: str
    postbox: str | None
    decided_by: str | None

    @property
    def correct(self) -> bool:
        return self.status == "routed" and self.postbox == self.truth_postbox


@dataclass
class RoutingReport:
    """Coverage and precision of the rules on labelled mail, in total and per truth postbox."""

    ruleset_version: int
    zones: str
    documents: list[RoutedDocument] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file -> why

    @property
    def routed(self) -> int:
        return sum(1 for d in self.documents if d.status == "routed")

    @property
    def correct(self) -> int:
        return sum(1 for d in self.documents if d.correct)

    @property
    def coverage(self) -> float:
        return self.routed / len(self.documents) if self.documents else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.routed if self.routed else 0.0

    def per_postbox(self) -> dict[str, dict[str, int]]:
        """Per truth postbox: documents, routed by the rules, routed correctly."""
        out: dict[str, Counter[str]] = {}
        for doc in self.documents:
            row = out.setdefault(doc.truth_postbox or "-", Counter())
            row["documents"] += 1
            row["routed"] += doc.status == "routed"
            row["correct"] += doc.correct
        return {k: dict(v) for k, v in sorted(out.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ruleset_version": self.ruleset_version,
            "zones": self.zones,
            "documents": len(self.documents),
            "routed": self.routed,
            "correct": self.correct,
            "coverage": round(self.coverage, 4),
            "precision": round(self.precision, 4),
            "per_postbox": self.per_postbox(),
            "skipped": self.skipped,
            "wrong": [
                {"file": d.file, "truth": d.truth_postbox, "routed_to": d.postbox, "decided_by": d.decided_by}
                for d in self.documents
                if d.status == "routed" and not d.correct
            ],
        }


def layout_zones() -> tuple[Zones, str]:
    """Zones from ``classifiers.layout`` when it offers a ``Zones`` provider (``LayoutZones``), else DIN 5008."""
    try:
        module = importlib.import_module("classifiers.layout")
    except ImportError:
        return DEFAULT_ZONES, "din5008"
    provider = getattr(module, "LayoutZones", None)
    if provider is not None and callable(getattr(provider, "locate", None)):
        zones: Zones = provider()
        return zones, "classifiers.layout"
    return DEFAULT_ZONES, "din5008"


def _letter_count(truth: dict[str, Any]) -> int:
    letters = truth.get("letters")
    return len(letters) if isinstance(letters, list) else 1


class Processed(Protocol):
    """What running the pipeline on one file gave (``workers.inprocess.Outcome``)."""

    @property
    def result(self) -> Result | None: ...

    @property
    def document(self) -> Document | None: ...

    @property
    def error(self) -> MailroomError | None: ...


def evaluate_rules_on(
    inputs: Iterable[Path],
    process: Callable[[Path], Processed],
    *,
    ruleset: RuleSet | CompiledRuleSet | None = None,
) -> RoutingReport:
    """Run the pipeline (``process``) on every labelled file of ``inputs`` and measure the rules' routing."""
    chosen = ruleset if ruleset is not None else load_ruleset(default_pack_text())
    compiled = chosen if isinstance(chosen, CompiledRuleSet) else compile_ruleset(chosen)
    zones, zones_name = layout_zones()
    report = RoutingReport(ruleset_version=compiled.version, zones=zones_name)
    for path in inputs:
        truth = load_truth(path)
        if truth is None:
            continue
        if _letter_count(truth) > 1:
            report.skipped[path.name] = "stack of several letters"
            continue
        outcome = process(path)
        if outcome.result is None or outcome.document is None:
            report.skipped[path.name] = outcome.error.code if outcome.error else "not processed"
            continue
        facts = facts_from_result(outcome.result.to_dict(), outcome.document)
        decision = evaluate(compiled, outcome.document, facts, zones)
        report.documents.append(
            RoutedDocument(
                path.name, truth.get("postbox"), truth.get("document_type"), decision.status,
                decision.postbox, decision.decided_by,
            )
        )
    return report
