"""Scale-out on PostgreSQL: a private PostgreSQL cluster started by the test, real Redis, real worker processes.

The schema comes from the same migrations as on SQLite and agrees with the models; uploads through the API are
processed by two workers against PostgreSQL, each exactly once.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from servicekit import SAMPLES, Database, Process, RedisServer, free_port, service_env, station_key, upload, wait_http
from sqlalchemy import select
from test_storage import assert_one_migration_behind_is_migrated

from mailroom import audit
from mailroom.settings import Settings
from mailroom.storage import schema
from mailroom.storage.db import make_engine, migrate, schema_revision, session_scope
from mailroom.storage.models import AuditLogRow


def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql: scripts/bootstrap.sh installs it)")
    return found[-1]


def _as_postgres(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its tools as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], *, timeout: float, log: Path | None = None) -> None:
    """Run a PostgreSQL tool; when it fails, say why (its output and the server's log), not only its status."""
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        server_log = log.read_text()[-3000:] if log is not None and log.exists() else ""
        raise RuntimeError(f"{' '.join(args)} exited with {done.returncode}:\n{done.stdout[-3000:]}"
                           f"{done.stderr[-3000:]}{server_log}")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on a free port; its URL (database ``mailroom``, trust auth on loopback)."""
    root = Path(tempfile.mkdtemp(prefix="mailroom-pg-"))
    cluster = root / "cluster"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = free_port()
    _run(_as_postgres([_pg_bin("initdb"), "-D", str(cluster), "-A", "trust", "-U", "postgres"]), timeout=120)
    _run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(cluster), "-l", str(root / "server.log"), "-w", "start",
                       "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"]), timeout=120,
         log=root / "server.log")
    try:
        subprocess.run(_as_postgres([_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                                     "mailroom"]), check=True, capture_output=True, timeout=60)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/mailroom"
    finally:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(cluster), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def test_migrations_build_the_schema_of_the_models_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    engine = make_engine(settings)
    try:
        migrate(engine)
        migrate(engine)  # twice: a no-op
        assert schema_revision(engine) is not None
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, schema.metadata) == []
    finally:
        engine.dispose()


def test_a_postgresql_database_one_migration_behind_is_migrated(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    engine = make_engine(settings)
    try:
        migrate(engine)
        with engine.connect() as conn, conn.begin():  # back to an empty database
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        assert_one_migration_behind_is_migrated(engine)
    finally:
        engine.dispose()


def test_two_workers_on_postgresql_process_uploads_exactly_once(postgres_url: str, tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    data_dir = tmp_path / "data"
    env = service_env(data_dir, redis.url, MAILROOM_DATABASE_URL=postgres_url)
    settings = Settings(data_dir=data_dir, broker_url=redis.url, database_url=postgres_url)
    db = Database(settings)
    processes = [
        Process(["worker", "--concurrency", "1", "--beat"], env, tmp_path / "worker-0.log").start(),
        Process(["worker", "--concurrency", "1"], env, tmp_path / "worker-1.log").start(),
    ]
    try:
        port = free_port()
        processes.append(Process(["serve", "--port", str(port)], env, tmp_path / "serve.log").start())
        base = f"http://127.0.0.1:{port}"
        wait_http(base)
        token = station_key(env)
        files = {"0004-objection.pdf": 1, "0019-job_application.pdf": 1, "0002-invoice.xml": 0}
        ids = {upload(base, token, SAMPLES / name): pages for name, pages in files.items()}
        assert set(db.wait_settled(list(ids), 240).values()) <= {"routed", "review"}
        for document_id, pages in ids.items():
            db.assert_exactly_once(document_id, pages=pages)
        # the API and both workers appended to one audit chain (advisory lock + unique prev_hash)
        engine = make_engine(settings)
        try:
            with session_scope(engine, readonly=True) as session:
                report = audit.verify(session)
                decided = session.scalars(
                    select(AuditLogRow.object_id).where(AuditLogRow.action == "document.decided")).all()
                received = session.scalars(
                    select(AuditLogRow.object_id).where(AuditLogRow.action == "document.received")).all()
        finally:
            engine.dispose()
        assert report.ok, report.summary()
        assert sorted(received) == sorted(ids) and set(decided) == set(ids)
    finally:
        for process in processes:
            process.stop()
        db.close()
        redis.kill()
