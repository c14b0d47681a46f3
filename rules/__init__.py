"""The routing-rules engine: a YAML rule language, its validation, and evaluation with traces.

    ruleset = load_ruleset(yaml_text)            # or check_ruleset() for every problem without raising
    compiled = compile_ruleset(ruleset)          # once; reuse for every document
    decision = evaluate(compiled, document, facts)
    routing = decision.to_routing()              # the ``routing`` part of mailroom.result/v1

The language is documented in ``docs/rules.md``. This package imports only the core of mailroom.
"""

from mailroom.errors import InvalidRuleSet
from rules.compiled import CompiledRuleSet, compile_ruleset
from rules.decision import Decision
from rules.evaluate import evaluate
from rules.facts import Facts, IntakeFacts, InvoiceFacts, RecipientFacts, ScoredLabel, SupplierFacts
from rules.language import RuleSet
from rules.validate import RuleProblem, check_ruleset, load_ruleset
from rules.zones import Din5008Zones, PageZones, Zones

__all__ = [
    "CompiledRuleSet",
    "Decision",
    "Din5008Zones",
    "Facts",
    "IntakeFacts",
    "InvalidRuleSet",
    "InvoiceFacts",
    "PageZones",
    "RecipientFacts",
    "RuleProblem",
    "RuleSet",
    "ScoredLabel",
    "SupplierFacts",
    "Zones",
    "check_ruleset",
    "compile_ruleset",
    "evaluate",
    "load_ruleset",
]
