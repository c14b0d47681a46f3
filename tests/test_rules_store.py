"""Rule-set versions in SQLite: draft → active → history, rollback, change records, hot activation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from mailroom.errors import RuleSetConflict, RuleSetNotFound
from mailroom.settings import Settings
from mailroom.storage.rulesets import RuleSetVersionRow
from rules import InvalidRuleSet
from rules.store import (
    ActiveRuleSetCache,
    activate,
    create_draft,
    discard_draft,
    ensure_default_ruleset,
    get_version,
    list_changes,
    list_versions,
    read_version,
    rollback,
    update_draft,
)
from workers.pipeline import PipelineContext


def rules_text(postbox: str, version: int = 1) -> str:
    return (
        f"version: {version}\nrules:\n  - id: alles\n    then: {{route_to: {postbox}}}\n    confidence: 0.5\n"
    )


@pytest.fixture
def ctx(tmp_path: Path) -> PipelineContext:
    return PipelineContext.create(Settings().model_copy(update={"data_dir": tmp_path / "data"}))


def test_default_pack_is_installed_once_as_active_version_1(ctx: PipelineContext) -> None:
    with ctx.session() as session:
        ensure_default_ruleset(session)
        ensure_default_ruleset(session)
        versions = list_versions(session)
        assert [(v.version, v.status, v.created_by) for v in versions] == [(1, "active", "system")]
        assert read_version(session).ruleset.pack is not None
        assert [c.action for c in list_changes(session)] == ["create_draft", "activate"]


def test_draft_activate_history_and_change_records(ctx: PipelineContext) -> None:
    with ctx.session() as session:
        ensure_default_ruleset(session)
        draft = create_draft(session, rules_text("stadtkasse", version=7), actor="alice", source="test")
        assert (draft.version, draft.status) == (2, "draft")
        assert "version: 2" in draft.yaml_text  # the stored number is the version decisions name
        update_draft(session, 2, rules_text("steueramt"), actor="bob")
        activate(session, 2, actor="carol")
    with ctx.session() as session:
        assert [(v.version, v.status) for v in list_versions(session)] == [(1, "history"), (2, "active")]
        stored = read_version(session)
        assert (stored.version, stored.ruleset.version, stored.ruleset.rules[0].then.route_to) == (2, 2, "steueramt")
        changes = list_changes(session)
        assert [(c.action, c.actor, c.version) for c in changes[2:]] == [
            ("create_draft", "alice", 2), ("update_draft", "bob", 2), ("activate", "carol", 2)
        ]
        update = changes[3]
        assert "stadtkasse" in json.loads(update.old_json or "{}")["yaml"]
        assert "steueramt" in json.loads(update.new_json or "{}")["yaml"]
        assert json.loads(changes[4].old_json or "{}") == {"active_version": 1}
        assert json.loads(changes[4].new_json or "{}") == {"active_version": 2}
        assert all(c.at.tzinfo is not None for c in changes)


def test_only_drafts_change_and_history_is_not_activated_in_place(ctx: PipelineContext) -> None:
    with ctx.session() as session:
        ensure_default_ruleset(session)
        create_draft(session, rules_text("stadtkasse"), actor="alice")
        activate(session, 2, actor="alice")
        with pytest.raises(RuleSetConflict, match="only drafts"):
            update_draft(session, 1, rules_text("x"), actor="alice")
        with pytest.raises(RuleSetConflict, match="rollback --to 1"):
            activate(session, 1, actor="alice")
        with pytest.raises(RuleSetConflict, match="already active"):
            activate(session, 2, actor="alice")
        with pytest.raises(RuleSetNotFound):
            get_version(session, 9)
        with pytest.raises(InvalidRuleSet) as bad:
            create_draft(session, "version: 1\nrules:\n  - id: x\n    then: {route_to: a}\n", actor="alice")
        assert bad.value.problems[0].code == "missing_field"
        create_draft(session, rules_text("tiefbau"), actor="alice")
        discard_draft(session, 3, actor="alice")
        assert [v.version for v in list_versions(session)] == [1, 2]
        assert list_changes(session)[-1].action == "discard_draft"


def test_rollback_copies_the_previous_version_and_keeps_history(ctx: PipelineContext) -> None:
    with ctx.session() as session:
        ensure_default_ruleset(session)
        create_draft(session, rules_text("stadtkasse"), actor="alice")
        activate(session, 2, actor="alice")
        create_draft(session, rules_text("tiefbau"), actor="alice")
        activate(session, 3, actor="alice")
        before = {v.version: (v.sha256, v.yaml_text) for v in list_versions(session)}
        row = rollback(session, actor="dave")
        assert (row.version, row.status, row.source) == (4, "active", "rollback to version 2")
        assert read_version(session).ruleset.rules[0].then.route_to == "stadtkasse"
        again = rollback(session, actor="dave", to=1)
        assert again.version == 5 and read_version(session).ruleset.pack is not None
        after = list_versions(session)
        assert {v.version: (v.sha256, v.yaml_text) for v in after if v.version <= 3} == before
        assert [v.status for v in after] == ["history"] * 4 + ["active"]
        last = list_changes(session)[-1]
        assert (last.action, last.actor, json.loads(last.new_json or "{}")) == (
            "rollback", "dave", {"active_version": 5, "copy_of": 1}
        )
        with pytest.raises(RuleSetConflict):
            rollback(session, actor="dave", to=5)


def test_database_allows_one_active_version(ctx: PipelineContext) -> None:
    with ctx.session() as session:
        ensure_default_ruleset(session)
        row = create_draft(session, rules_text("stadtkasse"), actor="alice")
        row.status = "active"
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_activation_reaches_another_worker_without_restart(tmp_path: Path) -> None:
    settings = Settings().model_copy(update={"data_dir": tmp_path / "shared"})
    worker_a, worker_b = PipelineContext.create(settings), PipelineContext.create(settings)
    cache_a = ActiveRuleSetCache()
    with worker_a.session() as session:
        first = cache_a.get(session)
        assert first.version == 1 and len(first.rules) > 20
        assert cache_a.get(session) is first  # unchanged: no recompilation
    with worker_b.session() as session:
        create_draft(session, rules_text("stadtkasse"), actor="admin")
        activate(session, 2, actor="admin")
    with worker_a.session() as session:
        now = cache_a.get(session)
        assert now.version == 2 and now.rules[0].rule.then.route_to == "stadtkasse"


def test_activation_from_another_process_via_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    ctx = PipelineContext.create(Settings().model_copy(update={"data_dir": data}))
    cache = ActiveRuleSetCache()
    with ctx.session() as session:
        assert cache.get(session).version == 1
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(rules_text("tiefbau"), encoding="utf-8")
    cli = [sys.executable, "-m", "cli", "rules"]
    env = {**os.environ, "MAILROOM_DATA_DIR": str(data)}
    run = subprocess.run([*cli, "import", str(candidate), "--activate", "--actor", "erin"],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert "version 2 (active)" in run.stdout
    with ctx.session() as session:
        assert cache.get(session).rules[0].rule.then.route_to == "tiefbau"
        assert list_changes(session)[-1].actor == "erin"
        rows = session.query(RuleSetVersionRow).count()
    assert rows == 2
