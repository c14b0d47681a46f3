"""``mailroom eval routing``: the report's measures, and the command end to end on freshly generated mail."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.commands.recognition import RoutingCase, routing_report
from cli.main import app
from mailroom.settings import Settings
from routing.training import ensure_default_models
from sample_docs.generate import generate_set


@pytest.fixture(autouse=True, scope="module")
def _own_models_folder() -> Iterator[None]:
    """These tests train, promote and roll back: they use the models folder of their own data directory,
    not the suite's shared one (tests/conftest.py)."""
    saved = os.environ.pop("MAILROOM_MODELS_DIR", None)
    yield
    if saved is not None:
        os.environ["MAILROOM_MODELS_DIR"] = saved



def _case(
    true_postbox: str, best: str, score: float, status: str, true_type: str = "invoice", type_: str = "invoice"
) -> RoutingCase:
    return RoutingCase(
        file="x.pdf",
        true_type=true_type,
        true_postbox=true_postbox,
        type=type_,
        best_postbox=best,
        score=score,
        status=status,
        postbox=best if status == "routed" else None,
        decided_by="model:doctype@1",
        rule_decided=False,
        millis=3.0,
    )


def test_report_measures() -> None:
    cases = [
        _case("kaemmerei-rechnungseingang", "kaemmerei-rechnungseingang", 0.99, "routed"),
        _case("kaemmerei-rechnungseingang", "kaemmerei-rechnungseingang", 0.95, "routed"),
        _case("tiefbau", "umweltamt", 0.93, "routed", "complaint", "complaint"),
        _case("hauptamt", "hauptamt-vergabe", 0.5, "review", "offer", "invoice"),
    ]
    report = routing_report(cases)
    assert report["documents"] == 4
    assert report["type_accuracy"] == 0.75
    assert report["postbox_accuracy"] == 0.5
    assert (report["routed_share"], report["routed_precision"]) == (0.75, pytest.approx(2 / 3))
    assert report["confusion"]["offer"] == {"invoice": 1}
    assert [w["true_postbox"] for w in report["wrongly_routed"]] == ["tiefbau"]
    curve = {p["threshold"]: p for p in report["automation_curve"]}
    assert curve[0.5]["automated"] == 1.0 and curve[0.5]["precision"] == 0.5
    assert curve[0.95]["automated"] == 0.5 and curve[0.95]["precision"] == 1.0


def test_report_of_letters_without_a_type() -> None:
    """A set whose letters have no document type in their truth (all null, e.g. letters of rare kinds) is reported
    (routing figures, no type figures) instead of failing with an internal error."""
    cases = [replace(_case("tiefbau", "tiefbau", 0.95, "routed"), true_type=None),
             replace(_case("umweltamt", "tiefbau", 0.4, "review"), true_type=None)]
    report = routing_report(cases)
    assert (report["typed_documents"], report["type_macro_f1"], report["confusion"]) == (0, 0.0, {})
    assert (report["routed_share"], report["routed_precision"]) == (0.5, 1.0)


def test_eval_routing_command(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    ensure_default_models(settings, count=250, seed=5)
    mail = tmp_path / "mail"
    generate_set(mail, 6, 9, "digital")  # another seed than the training data
    result = CliRunner().invoke(app, ["eval", "routing", str(mail), "--json", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["documents"] == 6 and report["errors"] == []
    assert report["type_accuracy"] >= 0.5
    assert 0.0 <= report["routed_share"] <= 1.0
    assert {p["threshold"] for p in report["automation_curve"]} >= {0.9, 0.99}
    assert not (settings.data_dir / "mailroom.sqlite3").exists()  # evaluated documents are not kept
    empty = CliRunner().invoke(
        app, ["eval", "routing", str(tmp_path / "data" / "models"), "--data-dir", str(settings.data_dir)]
    )
    assert empty.exit_code == 1
