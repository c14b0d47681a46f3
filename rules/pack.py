"""Rule packs: a rule set as a shareable YAML file with a header (name, town, version, schema).

    pack:
      name: musterstadt
      town: Stadt Musterstadt
      version: 4
      schema: mailroom.rules/v1
      exported_by: mailroom 0.1.0
    version: 4
    rules: [...]

:func:`export_pack` writes a version in canonical form (kind key first in every condition, defaults left out);
:func:`import_pack` checks a pack and stores it as a new draft (or activates it at once). Importing what was
exported gives the same rules.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy.orm import Session

from mailroom import __version__
from mailroom.storage.rulesets import RuleSetVersionRow
from rules.language import CONDITION_KINDS, PackHeader, RuleSet
from rules.store import DEFAULT_RULESET, activate, create_draft, read_version
from rules.validate import load_ruleset

if TYPE_CHECKING:
    from mailroom.directory import Directory


class _PackDumper(yaml.SafeDumper):
    """Safe YAML with tuples as lists and decimals as plain numbers."""


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    tag = "tag:yaml.org,2002:int" if value == value.to_integral_value() else "tag:yaml.org,2002:float"
    return dumper.represent_scalar(tag, format(value.normalize(), "f"))


_PackDumper.add_representer(Decimal, _decimal)
_PackDumper.add_representer(tuple, lambda dumper, value: dumper.represent_list(list(value)))


def _kind_first(value: Any) -> Any:
    """Conditions read better with their kind key first (``term: Rechnung`` before ``in: subject``)."""
    if isinstance(value, list):
        return [_kind_first(v) for v in value]
    if not isinstance(value, dict):
        return value
    kinds = [k for k in value if k in CONDITION_KINDS]
    ordered = {k: value[k] for k in kinds} | {k: v for k, v in value.items() if k not in kinds}
    return {k: _kind_first(v) for k, v in ordered.items()}


def dump_pack(ruleset: RuleSet, header: PackHeader) -> str:
    """A rule set as pack YAML, in canonical form."""
    body = ruleset.model_dump(mode="python", by_alias=True, exclude_defaults=True, exclude={"pack"})
    rules = [{**rule, "when": _kind_first(rule["when"])} if "when" in rule else rule for rule in body.get("rules", [])]
    data = {"pack": header.model_dump(by_alias=True, exclude_none=True), **body, "rules": rules}
    return yaml.dump(data, Dumper=_PackDumper, sort_keys=False, allow_unicode=True, width=110)


def export_pack(
    session: Session, number: int | None = None, *, name: str = DEFAULT_RULESET, town: str | None = None
) -> str:
    """Version ``number`` (default: the active one) of a rule set as a pack."""
    stored = read_version(session, number, name=name)
    previous = stored.ruleset.pack
    header = PackHeader(
        name=previous.name if previous else name,
        town=town if town is not None else (previous.town if previous else ""),
        version=stored.version,
        exported_by=f"mailroom {__version__}",
    )
    return dump_pack(stored.ruleset, header)


def import_pack(
    session: Session,
    text: str,
    *,
    actor: str,
    name: str = DEFAULT_RULESET,
    source: str | None = None,
    activate_now: bool = False,
    directory: Directory | None = None,
    document_types: Collection[str] | None = None,
) -> RuleSetVersionRow:
    """Check a pack and store it as the next version of the rule set: a draft, or active with ``activate_now``.

    Raises :class:`rules.InvalidRuleSet` with every problem found (:class:`RulesNotInDirectory` when it names
    postboxes, persons or departments ``directory`` does not have; a problem ``unknown_document_type`` for a
    ``set_type`` that is none of ``document_types``).
    """
    ruleset = load_ruleset(text, directory, document_types=document_types)
    pack = ruleset.pack
    label = source or (f"pack {pack.name} v{pack.version}" + (f" ({pack.town})" if pack.town else "") if pack else None)
    row = create_draft(session, text, actor=actor, name=name, source=label, directory=directory,
                       document_types=document_types)
    if activate_now:
        activate(session, row.version, actor=actor, name=name, directory=directory, document_types=document_types)
    return row
