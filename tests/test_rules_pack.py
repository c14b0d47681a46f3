"""The default rule pack, pack export/import, ``mailroom rules validate`` and facts from stored results."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from mailroom.settings import Settings
from rules import check_ruleset, load_ruleset
from rules.pack import export_pack, import_pack
from rules.result_facts import facts_from_result
from rules.store import DEFAULT_PACK, default_pack_text, ensure_default_ruleset, read_version
from sample_docs.town import load_town
from workers.pipeline import PipelineContext


def test_default_pack_is_valid_and_names_only_known_postboxes_and_types() -> None:
    ruleset, problems = check_ruleset(default_pack_text())
    assert problems == [] and ruleset is not None and ruleset.pack is not None
    assert (ruleset.pack.name, ruleset.pack.town, ruleset.pack.schema_) == (
        "musterstadt", "Stadt Musterstadt", "mailroom.rules/v1")
    town = load_town()
    for rule in ruleset.rules:
        for postbox in [rule.then.route_to, *rule.then.copy_to]:
            assert postbox is None or postbox in town.postboxes, (rule.id, postbox)
        assert rule.then.set_type is None or rule.then.set_type in town.document_types, rule.id
    routed = {r.then.route_to for r in ruleset.rules}
    assert {d.main_postbox for d in town.departments.values()} <= routed  # every department is reachable


def test_validate_command(tmp_path: Path) -> None:
    ok = CliRunner().invoke(app, ["rules", "validate", str(DEFAULT_PACK)])
    assert ok.exit_code == 0 and "valid" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "pack: {name: Test, version: 1, schema: mailroom.rules/v9}\nversion: 1\nrules:\n"
        "  - id: mahnungen\n    when:\n      all:\n        - {term: Mahnung, in: betreff}\n"
        "        - {regex: '(a+)+'}\n    then: {forward: stadtkasse}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["rules", "validate", str(bad)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    expected = [
        "rule set, pack.name:", "rule set, pack.schema:",
        "rule 'mahnungen', when.all[0].in: unknown zone 'betreff'",
        "rule 'mahnungen', when.all[1].regex: nested quantifiers",
        "rule 'mahnungen', then.forward: unknown action 'forward'",
        "rule 'mahnungen', confidence: 'confidence' is required [missing_field]",
    ]
    for part in expected:
        assert any(part in line for line in lines), (part, lines)


def test_export_import_round_trip(tmp_path: Path) -> None:
    ctx = PipelineContext.create(Settings().model_copy(update={"data_dir": tmp_path}))
    with ctx.session() as session:
        ensure_default_ruleset(session)
        exported = export_pack(session, town="Stadt Musterstadt")
        assert exported.startswith("pack:\n  name: musterstadt\n")
        row = import_pack(session, exported, actor="admin", activate_now=True)
        assert (row.version, row.status, row.source) == (2, "active", "pack musterstadt v1 (Stadt Musterstadt)")
        again = read_version(session, 2).ruleset
        original = load_ruleset(default_pack_text())
        assert again.model_dump(exclude={"pack", "version"}) == original.model_dump(exclude={"pack", "version"})
        assert export_pack(session, 2).split("rules:", 1)[1] == exported.split("rules:", 1)[1]


def test_facts_from_a_full_result() -> None:
    result = {
        "pages": 2,
        "source": {"channel": "upload", "station": "poststelle-1", "received_at": "2026-11-26T08:12:03Z"},
        "document_type": {"label": "invoice", "confidence": 0.98, "decided_by": "model:doctype@7"},
        "recipient": {"department": "kaemmerei", "person": "schmitz", "confidence": 0.94},
        "invoice": {
            "total_gross": {"value": "558.35", "confidence": 0.99},
            "buyer_reference": {"value": "123450000000-RE01-10", "confidence": 1.0},
            "issue_date": {"value": None, "confidence": 0.0},
            "validation": {"status": "valid", "checks": []},
            "line_items": [{"description": "x"}],
            "supplier": {"id": "stadtwerke", "matched_by": "iban"},
        },
    }
    facts = facts_from_result(result)
    assert facts.document_type is not None and facts.document_type.label == "invoice"
    assert facts.recipient is not None and (facts.recipient.department, facts.recipient.person) == (
        "kaemmerei", "schmitz")
    assert facts.invoice is not None and facts.invoice.fields == {
        "total_gross": "558.35", "buyer_reference": "123450000000-RE01-10"}
    assert facts.invoice.validation == "valid" and facts.leitweg_id == "123450000000-RE01-10"
    assert facts.supplier is not None and facts.supplier.supplier_id == "stadtwerke"
    assert (facts.intake.station, facts.intake.channel, facts.intake.page_count) == ("poststelle-1", "upload", 2)


def test_facts_tolerate_absent_and_malformed_parts() -> None:
    for raw in (None, "", "not json", "[]", {"document_type": "invoice", "recipient": [], "invoice": "x",
                                             "source": None, "pages": "2"}):
        facts = facts_from_result(raw)  # type: ignore[arg-type]
        assert facts.document_type is None and facts.recipient is None and facts.invoice is None
        assert facts.leitweg_id is None and facts.intake.page_count is None
    confidence = facts_from_result({"document_type": {"label": "offer", "confidence": "high"}})
    assert confidence.document_type is not None and confidence.document_type.confidence == 1.0
