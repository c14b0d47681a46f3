"""The hash-chained audit trail: one chain from concurrent writers, tampering and deletion detected, no secrets."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from test_api_support import SAMPLES, make_settings, serve, upload, wait_settled
from typer.testing import CliRunner

from cli.main import app as cli
from mailroom import audit
from mailroom.directory import DEFAULT_PATH as DEFAULT_DIRECTORY
from mailroom.errors import SecretInAuditDetails
from mailroom.settings import Settings
from mailroom.storage import repository
from mailroom.storage.db import make_engine, migrate, session_scope
from mailroom.storage.models import AUDIT_GENESIS_HASH, AuditLogRow
from rules.store import activate, create_draft, default_pack_text, ensure_default_ruleset

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Engine]:
    engine = make_engine(Settings(data_dir=data_dir))
    migrate(engine)
    yield engine
    engine.dispose()


def _db(data_dir: Path) -> Path:
    return data_dir / "mailroom.sqlite3"


def _record_many(engine: Engine, n: int) -> None:
    for i in range(n):
        with session_scope(engine) as session:
            audit.record(session, actor="poststelle-1", action="document.routed", object_type="document",
                         object_id=f"doc-{i}", details={"postbox": "bauamt", "rule": "r-7", "version": 3, "i": i})


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_")}
    return subprocess.run([sys.executable, "-m", "cli", "audit", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def test_record_builds_a_verifiable_chain(engine: Engine) -> None:
    with session_scope(engine, readonly=True) as session:
        empty = audit.verify(session)
    assert empty.ok and empty.entries == 0 and empty.head_hash == AUDIT_GENESIS_HASH

    _record_many(engine, 3)
    with session_scope(engine, readonly=True) as session:
        rows = session.execute(select(AuditLogRow.at, AuditLogRow.prev_hash, AuditLogRow.hash)
                               .order_by(AuditLogRow.id)).all()
        report = audit.verify(session)
    assert rows[0].prev_hash == AUDIT_GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    with session_scope(engine, readonly=True) as session:
        keyring = audit.session_keyring(session)
    assert rows[1].hash == audit.entry_hash(prev_hash=rows[0].hash, at=rows[1].at, actor="poststelle-1",
                                            action="document.routed", object_type="document", object_id="doc-1",
                                            details={"i": 1, "postbox": "bauamt", "rule": "r-7", "version": 3},
                                            keyring=keyring, key_id=keyring.current)
    assert report.ok and report.entries == 3 and report.head_hash == rows[-1].hash
    assert "3 entries, chain intact" in report.summary()


def test_two_processes_at_once_form_one_chain(data_dir: Path, engine: Engine) -> None:
    per_process = 40
    start_at = time.time() + 2.0
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from mailroom import audit
        from mailroom.settings import Settings
        from mailroom.storage.db import make_engine, session_scope
        engine = make_engine(Settings(data_dir=Path({str(data_dir)!r})))
        time.sleep(max(0.0, {start_at} - time.time()))
        for i in range({per_process}):
            with session_scope(engine) as session:
                audit.record(session, actor=sys.argv[1], action="document.downloaded", object_type="document",
                             object_id=str(i), details={{"kind": "original"}})
        engine.dispose()
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_")}
    procs = [subprocess.Popen([sys.executable, "-c", code, actor], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for actor in ("worker-a", "worker-b")]
    for proc in procs:
        _out, errors = proc.communicate(timeout=120)
        assert proc.returncode == 0, errors

    with session_scope(engine, readonly=True) as session:
        report = audit.verify(session)
        actors = session.execute(select(AuditLogRow.actor, func.count()).group_by(AuditLogRow.actor)).all()
    assert report.ok, report.summary()
    assert report.entries == 2 * per_process
    assert dict(actors) == {"worker-a": per_process, "worker-b": per_process}


def test_lost_race_is_retried_on_the_unique_prev_hash(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _record_many(engine, 2)
    real_head = audit._head_hash
    calls = {"n": 0}

    def stale_first(session: object) -> str:
        calls["n"] += 1
        return AUDIT_GENESIS_HASH if calls["n"] == 1 else real_head(session)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "_head_hash", stale_first)
    with session_scope(engine) as session:
        row = audit.record(session, actor="a", action="x", object_type="t", object_id=None)
    assert calls["n"] == 2
    with session_scope(engine, readonly=True) as session:
        report = audit.verify(session)
    assert report.ok and report.entries == 3 and report.head_hash == row.hash


def test_tampered_details_detected_by_cli(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 5)
    ok = _cli("verify", data_dir=data_dir)
    assert ok.returncode == 0, ok.stderr
    assert "5 entries, chain intact" in ok.stdout

    with sqlite3.connect(_db(data_dir)) as conn:
        conn.execute("UPDATE audit_log SET details_json = ? WHERE id = 3",
                     (json.dumps({"i": 2, "postbox": "kaemmerei", "rule": "r-7", "version": 3}),))
    bad = _cli("verify", data_dir=data_dir)
    assert bad.returncode == 1
    assert "entry 3" in bad.stderr and "altered" in bad.stderr


def test_rehashed_entry_breaks_the_next_link(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 4)
    with sqlite3.connect(_db(data_dir)) as conn:
        conn.execute("UPDATE audit_log SET hash = ? WHERE id = 2", ("f" * 64,))
    with session_scope(engine, readonly=True) as session:
        report = audit.verify(session)
    # entry 2 no longer matches its hash: that is the first broken entry
    assert (report.broken_id, report.problem, report.entries) == (2, "altered", 1)


def test_deleted_entry_in_the_middle_detected(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 5)
    with sqlite3.connect(_db(data_dir)) as conn:
        conn.execute("DELETE FROM audit_log WHERE id = 3")
    with session_scope(engine, readonly=True) as session:
        report = audit.verify(session)
    assert (report.broken_id, report.problem, report.entries) == (4, "deleted", 2)
    bad = _cli("verify", data_dir=data_dir)
    assert bad.returncode == 1
    assert "entry 4" in bad.stderr and "between 2 and 4" in bad.stderr


def test_deleted_first_entry_detected(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 3)
    with sqlite3.connect(_db(data_dir)) as conn:
        conn.execute("DELETE FROM audit_log WHERE id = 1")
    with session_scope(engine, readonly=True) as session:
        report = audit.verify(session)
    assert (report.broken_id, report.problem) == (2, "deleted")


@pytest.mark.parametrize(
    "details",
    [
        {"token": "abc"},
        {"api_token": "abc"},
        {"Authorization": "x"},
        {"webhook": {"secret": "s3cr3t"}},
        {"user": "a", "new_password": "x"},
        {"headers": [{"X-Auth": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx"}]},
        {"auth": "Basic YWRtaW46Z2VoZWlt"},
        {"note": "mr_0123456789abcdef_" + "a" * 32},
    ],
)
def test_record_refuses_secrets(engine: Engine, details: dict[str, object]) -> None:
    with pytest.raises(SecretInAuditDetails), session_scope(engine) as session:
        audit.record(session, actor="admin", action="key.created", object_type="api_key", object_id="k1",
                     details=details)
    with session_scope(engine, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(AuditLogRow)) == 0


@pytest.mark.parametrize("filename", ["Bearer xyz.png", "Basic Antrag Wohngeld.png", "bearer of bad news.pdf",
                                      "Basic.pdf"])
def test_ordinary_file_names_are_not_taken_for_credentials(engine: Engine, filename: str) -> None:
    with session_scope(engine) as session:
        audit.record(session, actor="station:a", action="document.received", object_type="document",
                     object_id="d1", details={"filename": filename})


# --- the keyed, anchored chain ----------------------------------------------------------------------------


def _plain_sha(row: Any, **changes: Any) -> str:
    """The hash an attacker without the key can compute: the bare SHA-256 of the entry (the old, unkeyed scheme)."""
    fields = {"prev_hash": row.prev_hash, "at": row.at, "actor": row.actor, "action": row.action,
              "object_type": row.object_type, "object_id": row.object_id,
              "details": json.loads(row.details_json) if row.details_json else None, **changes}
    value = audit.entry_hash(**fields)
    assert value is not None
    return value


def test_the_key_is_outside_the_database(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 3)
    keys = (data_dir / "audit.keys").read_text().split()
    secret = keys[-1].encode()
    assert len(secret) >= 32 and (data_dir / "audit.keys").stat().st_mode & 0o077 == 0
    assert secret not in _db(data_dir).read_bytes()
    with sqlite3.connect(_db(data_dir)) as conn:
        assert {r[0] for r in conn.execute("SELECT key_id FROM audit_log")} == {keys[-2]}


def test_forged_append_with_a_correctly_computed_hash_is_detected(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 3)
    with session_scope(engine, readonly=True) as session:
        head = session.scalars(select(AuditLogRow).order_by(AuditLogRow.id.desc()).limit(1)).one()
        at = head.at + timedelta(seconds=1)
        forged = audit.entry_hash(prev_hash=head.hash, at=at, actor="admin:mallory", action="document.deleted",
                                  object_type="document", object_id="doc-0", details={"reason": "on request"})
        kid, head_hash = head.key_id, head.hash
    with sqlite3.connect(_db(data_dir)) as conn:  # the bare SHA-256, as the old chain had it
        conn.execute("INSERT INTO audit_log (at, actor, action, object_type, object_id, details_json, prev_hash, "
                     "hash, key_id) VALUES (?, 'admin:mallory', 'document.deleted', 'document', 'doc-0', ?, ?, ?, "
                     "NULL)", (at.replace(tzinfo=None).isoformat(" "), '{"reason":"on request"}', head_hash, forged))
    bad = _cli("verify", data_dir=data_dir)
    assert bad.returncode == 1 and "entry 4" in bad.stderr and "forged" in bad.stderr, bad.stderr
    with sqlite3.connect(_db(data_dir)) as conn:  # the same, claiming the real key id
        conn.execute("UPDATE audit_log SET key_id = ? WHERE id = 4", (kid,))
    bad = _cli("verify", data_dir=data_dir)
    assert bad.returncode == 1 and "entry 4" in bad.stderr and "altered or forged" in bad.stderr, bad.stderr


def test_rewrite_with_every_later_hash_recomputed_is_detected(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 5)
    with session_scope(engine, readonly=True) as session:
        rows = session.scalars(select(AuditLogRow).order_by(AuditLogRow.id)).all()
        session.expunge_all()
    details = {"i": 2, "postbox": "kaemmerei", "rule": "r-7", "version": 3}
    with sqlite3.connect(_db(data_dir)) as conn:
        prev = rows[1].hash
        for row in rows[2:]:  # entry 3 changed, 3..5 re-hashed and re-linked (without the key: bare SHA-256)
            row_details = details if row.id == 3 else json.loads(row.details_json)
            new = _plain_sha(row, prev_hash=prev, details=row_details)
            conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ?, details_json = ? WHERE id = ?",
                         (prev, new, json.dumps(row_details), row.id))
            prev = new
    with session_scope(engine, readonly=True) as session:
        report = audit.verify(session)
    assert (report.broken_id, report.problem, report.entries) == (3, "altered", 2)


def test_truncated_tail_is_detected_by_checkpoints_and_a_head_kept_elsewhere(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 6)
    made = _cli("checkpoint", data_dir=data_dir)
    assert made.returncode == 0 and "entry 6" in made.stdout, made.stderr
    kept_head = _cli("verify", data_dir=data_dir).stdout.split("(head ")[1].rstrip(")\n")
    assert _cli("verify", "--checkpoints", "--head", kept_head, data_dir=data_dir).returncode == 0
    with sqlite3.connect(_db(data_dir)) as conn:
        conn.execute("DELETE FROM audit_log WHERE id > 4")
    assert _cli("verify", data_dir=data_dir).returncode == 0  # the chain alone cannot see it
    cut = _cli("verify", "--checkpoints", data_dir=data_dir)
    assert cut.returncode == 1 and "names entry 6, which is gone" in cut.stderr, cut.stderr
    head = _cli("verify", "--head", kept_head, data_dir=data_dir)
    assert head.returncode == 1 and "not in the chain" in head.stderr


def test_a_forged_checkpoint_is_detected(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 3)
    assert _cli("checkpoint", data_dir=data_dir).returncode == 0
    path = data_dir / "audit-checkpoints.jsonl"
    line = json.loads(path.read_text())
    line["entries"] = 2
    path.write_text(json.dumps(line) + "\n")
    bad = _cli("verify", "--checkpoints", data_dir=data_dir)
    assert bad.returncode == 1 and "forged" in bad.stderr


def test_key_rotation_keeps_older_entries_verifiable(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 2)
    rotated = _cli("rotate-key", data_dir=data_dir)
    assert rotated.returncode == 0, rotated.stderr
    engine2 = make_engine(Settings(data_dir=data_dir))  # a process started after the rotation
    try:
        _record_many(engine2, 2)
        with session_scope(engine2, readonly=True) as session:
            assert audit.verify(session).ok
            assert len({r for r in session.scalars(select(AuditLogRow.key_id))}) == 2
    finally:
        engine2.dispose()
    assert _cli("verify", data_dir=data_dir).returncode == 0


def test_export_and_since(data_dir: Path, engine: Engine) -> None:
    _record_many(engine, 3)
    with session_scope(engine, readonly=True) as session:
        entries = list(audit.export(session))
        assert list(audit.export(session, since=datetime.now(UTC) + timedelta(days=1))) == []
    assert [e["object_id"] for e in entries] == ["doc-0", "doc-1", "doc-2"]
    assert entries[0]["details"] == {"i": 0, "postbox": "bauamt", "rule": "r-7", "version": 3}
    assert entries[1]["prev_hash"] == entries[0]["hash"]

    out = _cli("export", "--json", "--since", "2000-01-01", data_dir=data_dir)
    assert out.returncode == 0, out.stderr
    assert [json.loads(line) for line in out.stdout.splitlines()] == entries
    later = _cli("export", "--since", (datetime.now(UTC) + timedelta(days=1)).date().isoformat(), data_dir=data_dir)
    assert later.returncode == 0 and later.stdout == ""


# --- the rule set's changes are mirrored, in their transaction -------------------------------------------------


def test_rule_changes_are_mirrored_when_they_commit_and_never_when_rolled_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_default_ruleset(session)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        create_draft(session, default_pack_text(), actor="admin-gone", source="test")
        raise RuntimeError("the unit of work fails after the change")
    with session_scope(engine) as session:
        number = create_draft(session, default_pack_text(), actor="admin-erika", source="test").version
        activate(session, number, actor="admin-erika")
    with session_scope(engine, readonly=True) as session:
        entries = [e for e in audit.export(session) if e["object_type"] == "ruleset"]
        assert audit.verify(session).ok
    actions = [(e["action"], e["actor"], e["details"]["version"]) for e in entries]
    assert ("ruleset.create_draft", "admin-erika", number) in actions
    assert ("ruleset.activate", "admin-erika", number) in actions
    assert not any(actor == "admin-gone" for _, actor, _ in actions)  # rolled back: no entry
    activation = next(e for e in entries if e["action"] == "ruleset.activate" and e["details"]["version"] == number)
    assert activation["details"]["new"] == {"active_version": number}
    draft = next(e for e in entries if e["action"] == "ruleset.create_draft" and e["details"]["version"] == number)
    assert "yaml" not in draft["details"]["new"] and len(draft["details"]["new"]["sha256"]) == 64


# --- the trail of real work through the API, then tampered with --------------------------------------------------


@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A service that received, decided, served, re-routed and administered: the audit trail it wrote."""
    data_dir = tmp_path_factory.mktemp("audit-trail")
    with serve(make_settings(data_dir)) as server:
        tokens = {"station": server.key("station", "poststelle-1"), "admin": server.key("admin", "it-1"),
                  "reviewer": server.key("reviewer", "pruefer-1")}
        with server.client(tokens["station"]) as station, server.client(tokens["admin"]) as admin:
            document_id = upload(station, "letter.pdf", (SAMPLES / "0027-enquiry.pdf").read_bytes()).json()[
                "document_id"]
            wait_settled(admin, document_id)
            with session_scope(server.ctx.sessions) as session:  # put it into a postbox (as a decision would)
                row = repository.get_document(session, document_id)
                assert row is not None and row.result_json
                result = json.loads(row.result_json)
                result["routing"] = {**result["routing"], "status": "routed", "postbox": "buergerbuero"}
                repository.save_result(session, row, result)
                repository.transition(session, row, "routed", reason="test setup")
            tokens["clerk"] = server.key("clerk", "buergerbuero-1", postboxes=["buergerbuero"])
            with server.client(tokens["clerk"]) as clerk:
                url = f"/api/v1/documents/{document_id}"
                for suffix in ("", "/original", "/searchable.pdf", "/pages/1/image", "/events"):
                    assert clerk.get(url + suffix).status_code == 200, suffix
                moved = clerk.post(url + "/reroute", json={"postbox": "hauptamt", "reason": "Anfrage ans Hauptamt"})
                assert moved.status_code == 200, moved.text
                assert clerk.get(url).status_code == 404  # gone from its postbox: a denied read is not a read
            assert admin.post("/api/v1/rules/versions", content=b"version: 1\nrules: []\n",
                              headers={"Content-Type": "application/yaml"}).status_code == 201
            installed = admin.put("/api/v1/directory", content=DEFAULT_DIRECTORY.read_bytes(),
                                  headers={"Content-Type": "application/yaml"})
            assert installed.status_code == 200, installed.text
        created = CliRunner().invoke(cli, ["keys", "create", "--role", "dms", "--name", "dms-1", "--postbox",
                                           "hauptamt", "--person", "schmitz", "--data-dir", str(data_dir)])
        assert created.exit_code == 0, created.output
        tokens["cli"] = created.stdout.strip().splitlines()[-1]
        revoked = CliRunner().invoke(cli, ["keys", "revoke", "dms-1", "--data-dir", str(data_dir)])
        assert revoked.exit_code == 0, revoked.output
        with session_scope(server.ctx.sessions, readonly=True) as session:
            entries = list(audit.export(session))
        yield {"data_dir": data_dir, "document_id": document_id, "tokens": tokens, "entries": entries}


def _of(trail: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [e for e in trail["entries"] if e["action"] == action]


def test_trail_records_intake_decision_reads_reroute_and_administration(trail: dict[str, Any]) -> None:
    document_id = trail["document_id"]
    (received,) = _of(trail, "document.received")
    assert received["actor"] == "station:poststelle-1" and received["object_id"] == document_id
    assert received["details"]["uploaded_by"] == "poststelle-1" and len(received["details"]["sha256"]) == 64
    assert [e["object_id"] for e in _of(trail, "document.transfer_note")] == [document_id]

    (decided,) = _of(trail, "document.decided")
    assert decided["actor"] == "pipeline" and decided["details"]["decided_by"]
    assert isinstance(decided["details"]["ruleset_version"], int)
    assert all(isinstance(v, int) for v in decided["details"]["models"].values())

    reads = _of(trail, "document.read")
    by_clerk = [e["details"]["what"] for e in reads if e["actor"] == "clerk:buergerbuero-1"]
    assert by_clerk == ["result", "original", "searchable_pdf", "page_image", "events"]
    assert next(e for e in reads if e["details"]["what"] == "page_image")["details"]["n"] == "1"
    # a status poll before the result exists shows no content and is not recorded as a read
    assert all(e["id"] > decided["id"] for e in reads if e["details"]["what"] == "result")

    (rerouted,) = _of(trail, "document.rerouted")
    assert rerouted["actor"] == "clerk:buergerbuero-1"
    assert {k: rerouted["details"][k] for k in ("from_postbox", "postbox", "reason")} == {
        "from_postbox": "buergerbuero", "postbox": "hauptamt", "reason": "Anfrage ans Hauptamt"}

    # the default pack installed on first use (actor "system"), then the admin's draft
    assert [e["actor"] for e in _of(trail, "ruleset.create_draft")] == ["system", "admin:it-1"]
    created = next(e for e in _of(trail, "key.created") if e["details"]["name"] == "dms-1")
    assert created["actor"].startswith("cli") and created["details"]["person"] == "schmitz"
    assert [e["details"]["name"] for e in _of(trail, "key.revoked")] == ["dms-1"]
    (replaced,) = _of(trail, "directory.replaced")
    assert replaced["actor"] == "admin:it-1" and replaced["details"]["format"] == "yaml"
    assert replaced["details"]["sha256"] == hashlib.sha256(DEFAULT_DIRECTORY.read_bytes()).hexdigest()


def test_trail_holds_no_secret(trail: dict[str, Any]) -> None:
    dumped = json.dumps(trail["entries"])
    for token in trail["tokens"].values():
        assert token.split("_")[2] not in dumped and token not in dumped


def test_tampering_with_the_real_trail_is_found(trail: dict[str, Any], tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(trail["data_dir"], copy)
    assert _cli("verify", data_dir=copy).returncode == 0
    decided = _of(trail, "document.decided")[0]
    with sqlite3.connect(_db(copy)) as conn:  # someone moves the decision to another postbox afterwards
        details = dict(decided["details"], postbox="kaemmerei")
        conn.execute("UPDATE audit_log SET details_json = ? WHERE id = ?", (json.dumps(details), decided["id"]))
    bad = _cli("verify", data_dir=copy)
    assert bad.returncode == 1
    assert f"entry {decided['id']}" in bad.stderr and "altered" in bad.stderr and "document.decided" in bad.stderr

    shutil.rmtree(copy)
    shutil.copytree(trail["data_dir"], copy)
    read = _of(trail, "document.read")[1]
    with sqlite3.connect(_db(copy)) as conn:  # someone hides that a document was read
        conn.execute("DELETE FROM audit_log WHERE id = ?", (read["id"],))
    gone = _cli("verify", data_dir=copy)
    assert gone.returncode == 1
    assert f"between {read['id'] - 1} and {read['id'] + 1}" in gone.stderr and "deleted" in gone.stderr
