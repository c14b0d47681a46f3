"""Simulation on documents stored by the real pipeline (committed samples), checked document by document."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from mailroom.settings import Settings
from rules import RuleSet, load_ruleset
from rules.language import PackHeader
from rules.pack import dump_pack
from rules.simulate import simulate, stored_documents
from rules.store import default_pack_text
from workers.inprocess import process_path
from workers.pipeline import PipelineContext

COMMITTED = Path(__file__).resolve().parent.parent / "sample_docs" / "committed"
# born-digital and e-invoice samples: stored in well under a second each, no OCR
SAMPLES = [
    "0000-invoice.pdf", "0002-invoice.xml", "0011-contract.pdf", "0017-application_trade_registration.pdf",
    "0019-job_application.pdf", "0025-authority_notice.pdf", "0027-enquiry.pdf",
]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[PipelineContext, dict[str, str]]:
    data = tmp_path_factory.mktemp("sim-data")
    ctx = PipelineContext.create(Settings().model_copy(update={"data_dir": data}))
    ids = {}
    for name in SAMPLES:
        outcome = process_path(COMMITTED / name, ctx)
        assert outcome.result is not None, outcome.error
        ids[name] = outcome.result.document_id
    return ctx, ids


def candidate() -> RuleSet:
    """The pack, changed three ways: job applications to the Hauptamt, no Gewerbe rule, text-less e-invoices."""
    pack = load_ruleset(default_pack_text())
    rules = []
    for rule in pack.rules:
        if rule.id == "gewerbeanzeige":
            continue
        if rule.id == "bewerbung-an-personalamt":
            rule = rule.model_copy(update={"then": rule.then.model_copy(update={"route_to": "hauptamt"})})
        rules.append(rule)
    extra = RuleSet.model_validate({"version": 1, "rules": [{
        "id": "e-rechnung-ohne-seiten", "priority": -50, "when": {"intake": "page_count", "exists": False},
        "then": {"route_to": "kaemmerei-rechnungseingang"}, "confidence": 0.6}]})
    return pack.model_copy(update={"version": 2, "rules": [*rules, *extra.rules]})


def test_simulation_reports_exactly_the_changed_documents(stored: tuple[PipelineContext, dict[str, str]]) -> None:
    ctx, ids = stored
    baseline = load_ruleset(default_pack_text())
    with ctx.session() as session:
        report = simulate(session, candidate(), baseline)
    assert report.documents == len(SAMPLES)
    # the e-invoice is routed by the Leitweg-ID of its XML (BT-10) in both versions: the extra rule changes nothing
    assert report.totals == {"unchanged": 5, "changed": 1, "newly_routed": 0, "newly_review": 1}
    by_name = {c.filename: c for c in report.changes}
    assert set(by_name) == {"0019-job_application.pdf", "0017-application_trade_registration.pdf"}
    job = by_name["0019-job_application.pdf"]
    assert (job.kind, job.old.postbox, job.new.postbox) == ("changed", "personalamt", "hauptamt")
    assert job.describe() == "personalamt → hauptamt"
    trade = by_name["0017-application_trade_registration.pdf"]
    assert (trade.kind, trade.old.postbox, trade.new.status) == ("newly_review", "ordnungsamt-gewerbe", "review")
    assert trade.describe() == "ordnungsamt-gewerbe → review"  # the type comes from the model either way
    assert job.document_id == ids["0019-job_application.pdf"]


def test_simulation_of_the_last_n_and_a_date_range(stored: tuple[PipelineContext, dict[str, str]]) -> None:
    ctx, _ = stored
    with ctx.session() as session:
        newest = [d.filename for d in stored_documents(session, last=3)]
        assert newest == SAMPLES[:-4:-1]  # received last, listed first
        report = simulate(session, candidate(), load_ruleset(default_pack_text()), last=3)
        assert report.documents == 3 and report.totals["changed"] == 1  # the job application
        times = sorted(d.received_at for d in stored_documents(session))
        early = simulate(session, candidate(), load_ruleset(default_pack_text()), until=times[2])
        assert early.documents == 2
        later = simulate(session, candidate(), load_ruleset(default_pack_text()),
                         since=times[-1] + timedelta(seconds=1))
        assert later.documents == 0


def test_simulate_command(stored: tuple[PipelineContext, dict[str, str]], tmp_path: Path) -> None:
    ctx, _ = stored
    path = tmp_path / "candidate.yaml"
    path.write_text(dump_pack(candidate(), PackHeader(name="test", version=2)), encoding="utf-8")
    data_dir = str(ctx.settings.data_dir)
    result = CliRunner().invoke(app, ["rules", "simulate", str(path), "--data-dir", data_dir, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["baseline_version"] == 1 and report["candidate_version"] == 2
    # the command simulates the whole decision: without its rule, the trade registration is still routed to the
    # Gewerbe postbox by the models, so only the job application changes
    assert report["totals"] == {"unchanged": 6, "changed": 1, "newly_routed": 0, "newly_review": 0}
    text = CliRunner().invoke(app, ["rules", "simulate", str(path), "--data-dir", data_dir, "--last", "2"])
    assert text.exit_code == 0 and "2 documents" in text.stdout


def test_simulation_of_the_whole_decision_predicts_what_the_pipeline_does(tmp_path: Path) -> None:
    """Simulated with the whole decision (rules, then recipient and models), a candidate's outcome for each stored
    document is exactly what the pipeline decides once that candidate is active."""
    from routing.router import hybrid_outcome
    from rules.store import activate, create_draft

    ctx = PipelineContext.create(Settings().model_copy(update={"data_dir": tmp_path / "data"}))
    for name in SAMPLES:
        assert process_path(COMMITTED / name, ctx).result is not None
    pack = candidate()
    with ctx.session() as session:
        report = simulate(session, pack, load_ruleset(default_pack_text()), finalise=hybrid_outcome(ctx.router))
        predicted = {c.filename: c.new for c in report.changes}
        draft = create_draft(session, dump_pack(pack, PackHeader(name="test", version=2)), actor="test")
        activate(session, draft.version, actor="test")
    assert "0019-job_application.pdf" in predicted  # the re-routed job application, at least
    for name in SAMPLES:
        result = process_path(COMMITTED / name, ctx).result  # processed again: decided by the candidate
        assert result is not None and result.routing is not None
        if name in predicted:
            expected = predicted[name]
            assert (result.routing.status, result.routing.postbox if result.routing.status == "routed" else None) == (
                expected.status, expected.postbox if expected.status == "routed" else None), name
