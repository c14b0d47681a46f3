"""The hash-chained audit trail: one chain from concurrent writers, tampering and deletion detected, no secrets."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from mailroom import audit
from mailroom.settings import Settings
from mailroom.storage.db import make_engine, migrate, session_scope
from mailroom.storage.models import AUDIT_GENESIS_HASH, AuditLogRow

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
    return subprocess.run([sys.executable, "-m", "mailroom.cli", "audit", *args, "--data-dir", str(data_dir)],
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
    assert rows[1].hash == audit.entry_hash(prev_hash=rows[0].hash, at=rows[1].at, actor="poststelle-1",
                                            action="document.routed", object_type="document", object_id="doc-1",
                                            details={"i": 1, "postbox": "bauamt", "rule": "r-7", "version": 3})
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
        {"headers": [{"X-Auth": "Bearer abcdef"}]},
        {"note": "mr_0123456789abcdef_" + "a" * 32},
    ],
)
def test_record_refuses_secrets(engine: Engine, details: dict[str, object]) -> None:
    with pytest.raises(audit.SecretInAuditDetails), session_scope(engine) as session:
        audit.record(session, actor="admin", action="key.created", object_type="api_key", object_id="k1",
                     details=details)
    with session_scope(engine, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(AuditLogRow)) == 0


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
