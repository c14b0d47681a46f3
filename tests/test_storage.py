"""Storage: engine settings, migrations, repository functions and the blob store (real SQLite, real files)."""

from __future__ import annotations

import gc
import hashlib
import itertools
import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from servicekit import read_only
from sqlalchemy import Engine, func, inspect, select, text

from mailroom.errors import BlobCorrupt, BlobNotFound, StorageUnavailable
from mailroom.result import Result, Source
from mailroom.settings import Settings
from mailroom.storage import repository as repo
from mailroom.storage import schema
from mailroom.storage.blobs import BLOB_MODE, BlobStore
from mailroom.storage.db import (
    alembic_config,
    at_head,
    foreign_keys_off,
    head_revision,
    make_engine,
    migrate,
    schema_revision,
    script_heads,
    session_scope,
)
from mailroom.storage.models import (
    ArtifactKind,
    DocumentEventRow,
    DocumentRow,
    DocumentState,
    PageArtifactRow,
    new_id,
)

SHA_A = "a" * 64
SHA_B = "b" * 64


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url=None)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return _settings(tmp_path / "data")


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings)
    migrate(eng)
    yield eng
    eng.dispose()


def _receive(session: object, **overrides: object) -> tuple[DocumentRow, bool]:
    values: dict[str, object] = {
        "sha256": SHA_A,
        "filename": "scan-0042.pdf",
        "kind": "pdf",
        "size": 1234,
        "pages": 2,
        "channel": "upload",
        "station": "poststelle-1",
        "original_sha": SHA_A,
    }
    values.update(overrides)
    return repo.receive_document(session, **values)  # type: ignore[arg-type]


def _run_python_at(code: str, start_at: float, cwd: Path) -> subprocess.Popen[str]:
    """Start a Python process that waits until ``start_at`` (wall clock), then runs ``code``."""
    script = f"import time\ntime.sleep(max(0.0, {start_at} - time.time()))\n" + textwrap.dedent(code)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_")}
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --- engine ---------------------------------------------------------------------------------------------


def test_sqlite_engine_creates_data_dir_and_sets_pragmas(settings: Settings) -> None:
    assert not settings.data_dir.exists()
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert (settings.data_dir / "mailroom.sqlite3").is_file()
    finally:
        engine.dispose()


def test_locked_database_raises_storage_unavailable(settings: Settings) -> None:
    engine = make_engine(settings, busy_timeout_s=0.2)
    migrate(engine)
    blocker = sqlite3.connect(settings.data_dir / "mailroom.sqlite3", isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StorageUnavailable), session_scope(engine) as session:
            _receive(session)
        # also outside session_scope (engine hook)
        with pytest.raises(StorageUnavailable), engine.begin() as conn:
            conn.execute(text("SELECT count(*) FROM documents"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        engine.dispose()
    assert StorageUnavailable.permanent is False


def test_unopenable_database_raises_storage_unavailable(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("x")
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'not-a-dir' / 'db.sqlite3'}")
    with pytest.raises(StorageUnavailable):
        make_engine(settings)


def test_a_data_dir_read_only_for_a_while_leaves_no_read_only_connections_behind(
    engine: Engine, settings: Settings
) -> None:
    """SQLite opens a file it may not write read-only without a word, and the WAL index such a connection maps is
    shared by every connection of the process to that file. A connection from the read-only time left in the pool,
    or a closed one whose failed statement still holds its files until the garbage collector runs, kept a worker's
    writes failing with "attempt to write a readonly database" long after the directory was writable again."""
    with session_scope(engine) as session:
        _receive(session)
    was_enabled = gc.isenabled()
    gc.disable()  # healing must not wait for the cyclic garbage collector (a worker runs it seldom)
    try:
        with read_only(settings.data_dir):
            engine.dispose()  # the connections from here on are opened while the directory is read-only
            for _ in range(3):
                with session_scope(engine, readonly=True) as session:
                    assert session.scalar(select(func.count()).select_from(DocumentRow)) == 1
                with pytest.raises(StorageUnavailable, match="readonly"), session_scope(engine) as session:
                    _receive(session, sha256=SHA_B, original_sha=SHA_B)
        with session_scope(engine) as session:  # at once, not after some retries
            _receive(session, sha256=SHA_B, original_sha=SHA_B)
        with session_scope(engine, readonly=True) as session:
            assert session.scalar(select(func.count()).select_from(DocumentRow)) == 2
    finally:
        if was_enabled:
            gc.enable()


def test_readonly_session_does_not_wait_for_writer(engine: Engine) -> None:
    with session_scope(engine) as session:
        doc, _ = _receive(session)
    with session_scope(engine) as writer:  # holds the write lock (BEGIN IMMEDIATE)
        writer.execute(text("SELECT 1"))
        started = time.monotonic()
        with session_scope(engine, readonly=True) as reader:
            assert repo.get_document(reader, doc.id) is not None
        assert time.monotonic() - started < 5


# --- migrations -----------------------------------------------------------------------------------------


def test_migrate_creates_schema_and_twice_is_a_noop(settings: Settings) -> None:
    migrate(settings)
    engine = make_engine(settings)
    try:
        assert schema_revision(engine) == head_revision() is not None
        tables = set(inspect(engine).get_table_names())
        assert {
            "documents",
            "document_content",
            "document_events",
            "page_artifacts",
            "outbox_events",
            "audit_log",
            "alembic_version",
        } <= tables
        with engine.connect() as conn:
            before = conn.exec_driver_sql(
                "SELECT type, name, sql FROM sqlite_master ORDER BY name"
            ).fetchall()
        migrate(engine)
        migrate(settings)
        with engine.connect() as conn:
            after = conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # restored after migrating
        assert before == after
        assert schema_revision(engine) == head_revision()
    finally:
        engine.dispose()


def assert_one_migration_behind_is_migrated(engine: Engine) -> None:
    """A database one migration behind the scripts' head is not taken for one at the head: ``migrate`` brings it
    there (the cheap head check of issue 16 must never skip a migration); shared with the PostgreSQL test."""
    from alembic import command
    from alembic.script import ScriptDirectory

    head = head_revision()
    assert script_heads() == frozenset(head.split(","))  # the scripts' text read as Alembic reads them
    down = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    behind = [down] if isinstance(down, str) else list(down or ())
    assert behind, "the head has a previous revision"
    with engine.connect() as conn, foreign_keys_off(conn), conn.begin():
        for revision in behind:
            command.upgrade(alembic_config(conn), revision)
    assert schema_revision(engine) == ",".join(sorted(behind))
    assert not at_head(engine)
    migrate(engine)
    assert schema_revision(engine) == head and at_head(engine)


def test_a_database_one_migration_behind_is_migrated(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path / "data", database_url=None))
    try:
        assert not at_head(engine)  # a new database: no version table yet
        assert_one_migration_behind_is_migrated(engine)
    finally:
        engine.dispose()


def test_a_database_at_the_head_is_recognised_without_loading_alembic(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code = f"""
        import sys
        from pathlib import Path
        from mailroom.settings import Settings
        from mailroom.storage.db import migrate
        settings = Settings(data_dir=Path({str(data_dir)!r}), database_url=None)
        migrate(settings)
        first = "alembic" in sys.modules
        migrate(settings)
        print(first, "alembic" in sys.modules)
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["True", "True"]  # a new database is migrated by Alembic
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["False", "False"]  # at the head: one query, Alembic not even imported


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff = compare_metadata(context, schema.metadata)
    assert diff == []


def test_migrate_from_several_processes_at_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code = f"""
        from pathlib import Path
        from mailroom.settings import Settings
        from mailroom.storage.db import migrate
        migrate(Settings(data_dir=Path({str(data_dir)!r}), database_url=None))
        print("ok")
    """
    start_at = time.time() + 2.0
    procs = [_run_python_at(code, start_at, tmp_path) for _ in range(4)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    engine = make_engine(_settings(data_dir))
    try:
        assert schema_revision(engine) == head_revision()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    finally:
        engine.dispose()


# --- receiving ------------------------------------------------------------------------------------------


def test_receive_is_idempotent_per_source(engine: Engine) -> None:
    with session_scope(engine) as session:
        first, created1 = _receive(session)
        again, created2 = _receive(session, filename="renamed.pdf")
        other_station, created3 = _receive(session, station="poststelle-2")
        other_channel, created4 = _receive(session, channel="watch_folder")
        no_station, created5 = _receive(session, station=None)
        no_station_again, created6 = _receive(session, station=None)
    created = (created1, created2, created3, created4, created5, created6)
    assert created == (True, False, True, True, True, False)
    assert again.id == first.id and again.filename == "scan-0042.pdf"
    assert len({first.id, other_station.id, other_channel.id, no_station.id}) == 4
    assert no_station_again.id == no_station.id
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 4
        doc = repo.get_document(session, first.id)
        assert doc is not None and doc.state == DocumentState.RECEIVED
        events = repo.document_events(session, first.id)
        assert [(e.from_state, e.to_state) for e in events] == [(None, "received")]


def test_receive_race_lost_returns_winner(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver that lost the insert race (unique key violated) returns the winner's row."""
    with session_scope(engine) as session:
        winner, _ = _receive(session)
    real_lookup = repo.find_by_idempotency_key
    calls = []

    def blind_first_lookup(session: object, key: str) -> DocumentRow | None:
        calls.append(key)
        return None if len(calls) == 1 else real_lookup(session, key)  # type: ignore[arg-type]

    monkeypatch.setattr(repo, "find_by_idempotency_key", blind_first_lookup)
    with session_scope(engine) as session:
        loser, created = _receive(session)
        other, other_created = _receive(session, sha256=SHA_B)  # the savepoint kept the transaction usable
    assert not created and loser.id == winner.id and len(calls) == 3
    assert other_created
    with session_scope(engine, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 2
        assert repo.get_document(session, other.id) is not None


def test_receive_across_transactions_returns_same_row(engine: Engine) -> None:
    with session_scope(engine) as session:
        first, _ = _receive(session)
    with session_scope(engine) as session:
        second, created = _receive(session)
    assert not created and second.id == first.id


def test_concurrent_receive_from_processes_creates_one_row(engine: Engine, settings: Settings) -> None:
    code = f"""
        from pathlib import Path
        from mailroom.settings import Settings
        from mailroom.storage.db import make_engine, session_scope
        from mailroom.storage.repository import receive_document
        engine = make_engine(Settings(data_dir=Path({str(settings.data_dir)!r}), database_url=None))
        with session_scope(engine) as session:
            doc, created = receive_document(
                session, sha256={SHA_A!r}, filename="scan.pdf", kind="pdf", size=10, pages=1,
                channel="upload", station="poststelle-1", original_sha={SHA_A!r},
            )
        print(doc.id, created)
    """
    start_at = time.time() + 2.0
    procs = [_run_python_at(code, start_at, settings.data_dir) for _ in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        doc_id, created = out.split()
        results.append((doc_id, created == "True"))
    assert len({doc_id for doc_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with session_scope(engine, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 1
        assert session.scalar(select(func.count()).select_from(DocumentEventRow)) == 1


def test_timestamps_are_timezone_aware_utc(engine: Engine) -> None:
    with session_scope(engine) as session:
        doc, _ = _receive(session)
    with session_scope(engine, readonly=True) as session:
        loaded = repo.get_document(session, doc.id)
        assert loaded is not None
        for value in (loaded.received_at, loaded.state_changed_at, loaded.updated_at):
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
        assert abs(loaded.received_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_new_ids_are_hex_and_sort_by_time() -> None:
    first = new_id()
    time.sleep(0.002)
    second = new_id()
    assert len(first) == 32 and int(first, 16) >= 0
    assert first < second


# --- transitions ----------------------------------------------------------------------------------------


def test_transitions_are_recorded_in_order(engine: Engine) -> None:
    with session_scope(engine) as session:
        doc, _ = _receive(session)
        repo.transition(session, doc, DocumentState.SEPARATED, task_id="t-1")
        repo.transition(session, doc, "ocr", reason="12 pages", task_id="t-2")
        repo.transition(session, doc, DocumentState.RECOGNISED)
        repo.transition(session, doc, DocumentState.ROUTED, reason="rule:rechnungen@3")
        assert doc.state == "routed"
    with session_scope(engine, readonly=True) as session:
        events = repo.document_events(session, doc.id)
        assert [(e.from_state, e.to_state) for e in events] == [
            (None, "received"),
            ("received", "separated"),
            ("separated", "ocr"),
            ("ocr", "recognised"),
            ("recognised", "routed"),
        ]
        assert [e.task_id for e in events][1:3] == ["t-1", "t-2"]
        assert events[2].reason == "12 pages"
        assert [e.id for e in events] == sorted(e.id for e in events)
        assert all(a.at <= b.at for a, b in itertools.pairwise(events))
        loaded = repo.get_document(session, doc.id)
        assert loaded is not None and loaded.state == "routed"
        assert loaded.state_changed_at == events[-1].at


def test_invalid_transition_is_refused(engine: Engine) -> None:
    with session_scope(engine) as session:
        doc, _ = _receive(session)
        with pytest.raises(repo.InvalidTransition) as info:
            repo.transition(session, doc, DocumentState.ROUTED)
        assert info.value.code == "invalid_transition" and info.value.permanent
        with pytest.raises(repo.InvalidTransition):
            repo.transition(session, doc, DocumentState.RECEIVED)
        with pytest.raises(ValueError):
            repo.transition(session, doc, "lost")
    with session_scope(engine, readonly=True) as session:
        loaded = repo.get_document(session, doc.id)
        assert loaded is not None and loaded.state == "received"
        assert len(repo.document_events(session, doc.id)) == 1
    assert repo.can_transition("recognised", "routed")
    assert not repo.can_transition("routed", "ocr")


def test_attempts_are_counted_against_a_budget_and_reset_when_processed_again(engine: Engine) -> None:
    with session_scope(engine) as session:
        doc, _ = _receive(session)  # 2 pages
        assert repo.attempt_budget(doc, 3) == 3 * (2 + repo.STAGES_PER_DOCUMENT)
        assert [repo.note_attempt(session, doc) for _ in range(3)] == [1, 2, 3]
        repo.transition(session, doc, DocumentState.FAILED, error_code="attempts_exhausted")
        assert repo.restart(session, doc, reason="processed again")
        assert doc.attempts == 0 and doc.error_code is None
        assert repo.note_attempt(session, doc) == 1


def test_stale_copy_cannot_transition_twice(engine: Engine) -> None:
    with session_scope(engine) as session:
        stale, _ = _receive(session)
    with session_scope(engine) as session:
        fresh = repo.get_document(session, stale.id)
        assert fresh is not None
        repo.transition(session, fresh, DocumentState.OCR)
    with session_scope(engine) as session:
        session.add(stale)  # still believes it is "received"
        with pytest.raises(repo.StateConflict) as info:
            repo.transition(session, stale, DocumentState.OCR)
        assert info.value.permanent is False
        assert stale.state == "ocr"  # refreshed
    with session_scope(engine, readonly=True) as session:
        assert len(repo.document_events(session, stale.id)) == 2


def test_failure_stores_error_and_retry_clears_it(engine: Engine) -> None:
    with session_scope(engine) as session:
        doc, _ = _receive(session)
        repo.transition(session, doc, "failed", error_code="corrupt_file", error_message="xref broken")
    with session_scope(engine) as session:
        loaded = repo.get_document(session, doc.id)
        assert loaded is not None
        assert (loaded.error_code, loaded.error_message) == ("corrupt_file", "xref broken")
        repo.transition(session, loaded, "received", reason="reprocess")
        assert loaded.error_code is None
        assert repo.note_attempt(session, loaded) == 1
        assert repo.note_attempt(session, loaded) == 2
    with session_scope(engine, readonly=True) as session:
        loaded = repo.get_document(session, doc.id)
        assert loaded is not None and loaded.error_code is None and loaded.attempts == 2


def test_stuck_documents(engine: Engine) -> None:
    with session_scope(engine) as session:
        waiting, _ = _receive(session, sha256="1" * 64)
        routed, _ = _receive(session, sha256="2" * 64)
        for state in ("ocr", "recognised", "routed"):
            repo.transition(session, routed, state)
        review, _ = _receive(session, sha256="3" * 64)
        repo.transition(session, review, "review")
        stack, _ = _receive(session, sha256="4" * 64, pages=3)
        repo.transition(session, stack, "separated")
        letter, created = repo.add_separated_letter(session, stack, page_from=1, page_to=3)
        assert created
        again, created_again = repo.add_separated_letter(session, stack, page_from=1, page_to=3)
        assert again.id == letter.id and not created_again
        lone_stack, _ = _receive(session, sha256="5" * 64)
        repo.transition(session, lone_stack, "separated")
    later = datetime.now(UTC) + timedelta(hours=2)
    with session_scope(engine, readonly=True) as session:
        assert repo.stuck_documents(session, timedelta(hours=1)) == []
        stuck = {d.id for d in repo.stuck_documents(session, timedelta(hours=1), now=later)}
    assert stuck == {waiting.id, letter.id, lone_stack.id}


# --- results and artifacts ------------------------------------------------------------------------------


def test_save_result_and_content(engine: Engine) -> None:
    with session_scope(engine) as session:
        doc, _ = _receive(session)
        result = Result(
            document_id=doc.id,
            sha256=SHA_A,
            filename="scan-0042.pdf",
            pages=2,
            text_source="ocr",
            source=Source(channel="upload", station="poststelle-1", received_at=doc.received_at),
        )
        repo.save_result(session, doc, result, {"pages": []})
    with session_scope(engine) as session:
        loaded = repo.get_document(session, doc.id)
        assert loaded is not None and loaded.result_json is not None
        assert json.loads(loaded.result_json)["schema"] == "mailroom.result/v1"
        assert json.loads(repo.get_content_json(session, doc.id) or "") == {"pages": []}
        repo.save_result(session, loaded, None, '{"pages": [{"number": 1}]}')
    with session_scope(engine, readonly=True) as session:
        assert json.loads(repo.get_content_json(session, doc.id) or "") == {"pages": [{"number": 1}]}
        loaded = repo.get_document(session, doc.id)
        assert loaded is not None and loaded.content is not None
        assert json.loads(loaded.result_json or "")["document_id"] == doc.id


def test_record_page_artifact_is_idempotent(engine: Engine) -> None:
    with session_scope(engine) as session:
        doc, _ = _receive(session)
        row, created = repo.record_page_artifact(
            session,
            doc,
            page=1,
            kind=ArtifactKind.PAGE_IMAGE,
            blob_sha=SHA_A,
            dpi=300,
            width=2480,
            height=3508,
        )
        assert created
        same, created_again = repo.record_page_artifact(
            session, doc.id, page=1, kind="page_image", blob_sha=SHA_A, dpi=300, width=2480, height=3508
        )
        assert not created_again and same.id == row.id
        redone, created_redo = repo.record_page_artifact(
            session, doc, page=1, kind="page_image", blob_sha=SHA_B, dpi=200, width=1654, height=2339
        )
        assert not created_redo and redone.id == row.id
        repo.record_page_artifact(session, doc, page=1, kind="searchable_pdf_page", blob_sha=SHA_A)
    with session_scope(engine, readonly=True) as session:
        rows = repo.page_artifacts(session, doc.id)
        assert [(r.page, r.kind, r.blob_sha, r.dpi) for r in rows] == [
            (1, "page_image", SHA_B, 200),
            (1, "searchable_pdf_page", SHA_A, None),
        ]
        assert session.scalar(select(func.count()).select_from(PageArtifactRow)) == 2


# --- blob store -----------------------------------------------------------------------------------------


def test_blob_put_bytes_layout_and_mode(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"%PDF-1.7 hello"
    sha = store.put_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest()
    path = store.path(sha)
    assert path == tmp_path / "blobs" / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == BLOB_MODE
    assert store.exists(sha)
    with store.open(sha, verify=True) as handle:
        assert handle.read() == data
    assert store.read_bytes(sha) == data
    assert list((tmp_path / "blobs" / ".tmp").iterdir()) == []


def test_blob_same_content_twice_never_rewrites(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    source = tmp_path / "in.bin"
    source.write_bytes(b"x" * 1000)
    sha = store.put_bytes(b"x" * 1000)
    before = store.path(sha).stat()
    time.sleep(0.01)
    assert store.put_bytes(b"x" * 1000) == sha
    assert store.put_file(source) == sha
    assert store.put_file(source, expected_sha256=sha) == sha
    after = store.path(sha).stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)


def test_blob_crash_mid_write_leaves_no_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")

    class Exploding:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, _size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 3:
                raise OSError("scanner disconnected")
            return b"y" * 1000

    with pytest.raises(StorageUnavailable):
        store.put_stream(Exploding())  # type: ignore[arg-type]
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []
    assert not store.exists(hashlib.sha256(b"y" * 3000).hexdigest())

    # a hard crash (process killed mid-write): at most a temp file, never a visible partial blob
    code = f"""
        import os
        from mailroom.storage.blobs import BlobStore

        class Dying:
            def __init__(self):
                self.calls = 0
            def read(self, size=-1):
                self.calls += 1
                if self.calls > 3:
                    os._exit(9)
                return b"z" * 1000

        BlobStore({str(tmp_path / "blobs")!r}).put_stream(Dying())
    """
    proc = _run_python_at(code, 0, tmp_path)
    proc.communicate(timeout=60)
    assert proc.returncode == 9
    visible = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file() and ".tmp" not in p.parts]
    assert visible == []
    assert len(list((tmp_path / "blobs" / ".tmp").iterdir())) == 1
    assert store.remove_stale_temp_files(older_than_s=0) == 1


def test_blob_large_file_is_hashed_streaming(tmp_path: Path) -> None:
    source = tmp_path / "big.tif"
    size = 48 * 1024 * 1024
    with open(source, "wb") as handle:
        for i in range(size // (1024 * 1024)):
            handle.write(bytes([i % 251]) * (1024 * 1024))
    store = BlobStore(tmp_path / "blobs")
    tracemalloc.start()
    try:
        sha = store.put_file(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    assert sha == digest.hexdigest()
    assert store.path(sha).stat().st_size == size


def test_blob_verify_missing_delete_and_bad_names(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, verify_on_read=True)
    sha = store.put_bytes(b"original")
    path = store.path(sha)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(BlobCorrupt):
        store.open(sha)
    with pytest.raises(BlobCorrupt):
        store.read_bytes(sha)
    with store.open(sha, verify=False) as handle:
        assert handle.read() == b"tampered"
    assert store.delete(sha) is True
    assert store.delete(sha) is False
    assert not store.exists(sha)
    with pytest.raises(BlobNotFound):
        store.open(sha)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
    with pytest.raises(ValueError):
        store.path(sha.upper())
    with pytest.raises(BlobCorrupt):
        source = tmp_path / "f.bin"
        source.write_bytes(b"abc")
        store.put_file(source, expected_sha256="0" * 64)
    assert not store.exists(hashlib.sha256(b"abc").hexdigest())
