"""The database: engine, sessions, schema migrations and translation of "unavailable" errors.

Two deployments share this code (see ``DESIGN.md``):

* **embedded**: SQLite in the data directory, in WAL mode (readers never block the writer),
  ``synchronous=NORMAL`` (durable at each checkpoint, never corrupt), foreign keys on and a busy timeout of
  30 seconds. Transactions start with ``BEGIN IMMEDIATE`` so that a transaction that reads and then writes
  never fails half-way with ``SQLITE_BUSY`` (a deferred transaction cannot wait to upgrade its read snapshot
  to a write lock); read-only sessions (``session_scope(..., readonly=True)``) start with a plain deferred
  ``BEGIN`` and never wait for writers.
* **fork**: a process that forks Python children while other threads use SQLite (the Celery worker's main process
  forks a new pool process whenever one dies or outgrows its memory, while its heartbeat thread writes) must not
  fork in the middle of such a transaction: the child inherits SQLite's in-process record of the lock, which
  nothing in the child ever releases, and every write of the child fails with "database is locked" for good
  (SQLite: "carrying an open database connection across a fork"). Such threads run their transactions inside
  :func:`fork_guard`; ``os.fork()`` waits until the block is over.
* **scale-out**: PostgreSQL through its URL, with ``pool_pre_ping`` so that a restarted server costs one
  reconnect instead of one failed task.

Database errors that mean "the database is not there right now" (locked, connection refused, server shutting
down, serialisation failure) surface as :class:`mailroom.errors.StorageUnavailable`: transient, the caller
retries. Every other database error (integrity, programming) is raised as it is.

Schema migrations (:func:`migrate`) run Alembic ``upgrade head`` in code, from the migration scripts shipped
inside the package, and are safe to start from several processes at once: on SQLite they are serialised by an
exclusive file lock next to the database file *and* run in one ``BEGIN IMMEDIATE`` transaction; on PostgreSQL
by a transaction-scoped advisory lock taken in ``env.py``. The loser of the race waits, then finds the schema
at head and does nothing.
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker

from mailroom import audit_keys
from mailroom.errors import ConfigurationError, StorageUnavailable
from mailroom.settings import Settings

log = logging.getLogger(__name__)

#: The Alembic scripts shipped inside the package (``mailroom/migrations``; its ``env.py`` imports this module).
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

#: Execution option read by the SQLite ``begin`` hook: ``"IMMEDIATE"`` (default) or ``"DEFERRED"``.
SQLITE_BEGIN_OPTION = "mailroom_sqlite_begin"
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})

DEFAULT_BUSY_TIMEOUT_S = 30.0
MIGRATION_LOCK_TIMEOUT_S = 600.0

# Fragments of driver messages that mean "unavailable right now" (SQLite and PostgreSQL drivers).
_UNAVAILABLE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "attempt to write a readonly database",
    "readonly database",
    "disk i/o error",
    "database or disk is full",
    "connection refused",
    "could not connect",
    "connection timed out",
    "timeout expired",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "too many connections",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "could not translate host name",
    "no route to host",
)
# PostgreSQL SQLSTATE classes/codes that are transient: connection exceptions, insufficient resources,
# operator intervention (shutdown), serialisation failure, deadlock, lock not available.
_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57P")
_UNAVAILABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


# --- errors ---------------------------------------------------------------------------------------------


def is_unavailable(error: BaseException) -> bool:
    """Whether a database error means "unavailable right now" (retry later) rather than a bug or bad data."""
    if isinstance(error, StorageUnavailable):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if not isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
            return False
        original: BaseException | None = error.orig
    elif isinstance(error, sa_exc.TimeoutError):  # connection pool exhausted
        return True
    else:
        original = error
    if original is None:
        return False
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if isinstance(sqlstate, str) and (
        sqlstate in _UNAVAILABLE_SQLSTATES or sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES)
    ):
        return True
    message = str(original).lower()
    return any(fragment in message for fragment in _UNAVAILABLE_MESSAGES)


def _unavailable(error: BaseException) -> StorageUnavailable:
    original = getattr(error, "orig", None) or error
    return StorageUnavailable(f"database unavailable: {original}", reason=type(original).__name__)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise database errors that mean "unavailable" as :class:`StorageUnavailable`; others unchanged."""
    try:
        yield
    except StorageUnavailable:
        raise
    except (sa_exc.DBAPIError, sa_exc.TimeoutError) as error:
        if is_unavailable(error):
            raise _unavailable(error) from error
        raise


def _on_handle_error(context: ExceptionContext) -> None:
    """Engine hook: translate "unavailable" errors where they happen, also outside :func:`session_scope`."""
    if context.is_pre_ping:  # the pool handles a dead connection found by pre-ping itself
        return
    error = context.sqlalchemy_exception or context.original_exception
    poisoned = _poisoned_sqlite_engine(context)
    if poisoned is not None:
        # SQLite opens a file it may not write (a data directory remounted read-only, say) read-only without a
        # word, and the WAL index such a connection maps is shared by every connection of the process to that
        # file: one of them left in a pool keeps them all read-only after the directory is writable again. So
        # this connection is dropped, and every pool of the process on that file is emptied.
        context.is_disconnect = True
        cursor = getattr(context.execution_context, "cursor", None)
        if cursor is not None:  # SQLAlchemy leaves a disconnected cursor open: its statement would keep the
            cursor.close()  # closed connection's files open (a "zombie") until the garbage collector runs
        _dispose_sqlite_engines(poisoned.url)
    if is_unavailable(error) or (context.is_disconnect and error is not None):
        raise _unavailable(error) from error


# SQLite errors after which a pooled connection is not to be trusted again (a lock is only a wait).
_SQLITE_POISONING_MESSAGES = ("readonly database", "disk i/o error", "unable to open database file")
_SQLITE_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _poisoned_sqlite_engine(context: ExceptionContext) -> Engine | None:
    """The SQLite engine whose connections the error in ``context`` makes untrustworthy, else ``None``."""
    if context.engine is None or context.engine.dialect.name != "sqlite":
        return None
    message = str(context.original_exception).lower()
    return context.engine if any(fragment in message for fragment in _SQLITE_POISONING_MESSAGES) else None


def _dispose_sqlite_engines(url: Any) -> None:
    """Close the pooled connections of every engine of this process on the SQLite file ``url`` names (checked-out
    ones are closed when they are given back, or invalidated like the failing one)."""
    for engine in list(_SQLITE_ENGINES):
        if engine.url == url:
            engine.dispose()




# --- engine ---------------------------------------------------------------------------------------------


def _sqlite_file(url_text: str) -> Path | None:
    """The database file of a SQLite URL, or ``None`` for an in-memory database."""
    url = make_url(url_text)
    database = url.database
    if (
        not database
        or database == ":memory:"
        or database.startswith("file:")
        or url.query.get("mode") == "memory"
    ):
        return None
    return Path(database)


def make_engine(
    settings: Settings, *, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S, echo: bool = False
) -> Engine:
    """Create the engine for ``settings.resolved_database_url``.

    SQLite: creates the directory of the database file (the data directory by default) and configures every
    new connection (WAL, ``synchronous=NORMAL``, foreign keys, busy timeout). PostgreSQL and others: a pooled
    engine with ``pool_pre_ping``. On every backend, "unavailable" errors are raised as
    :class:`StorageUnavailable`. The engine is disposed (without closing the parent's connections) in a forked
    child process, so it can be created before a prefork worker pool starts.
    """
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite":
        engine = _make_sqlite_engine(settings.resolved_database_url, busy_timeout_s=busy_timeout_s, echo=echo)
        _SQLITE_ENGINES.add(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, echo=echo)
    event.listen(engine, "handle_error", _on_handle_error)
    _dispose_in_forked_children(engine)
    audit_keys.register(str(engine.url), audit_keys.load_keyring(settings))
    return engine


def _make_sqlite_engine(url: str, *, busy_timeout_s: float, echo: bool) -> Engine:
    db_file = _sqlite_file(url)
    if db_file is not None:
        try:
            db_file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageUnavailable(f"cannot create the data directory {db_file.parent}: {error}") from error
    engine = create_engine(
        url,
        echo=echo,
        connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
    )
    busy_ms = int(busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling is off; the "begin" hook below emits BEGIN itself (this is what
        # makes SAVEPOINT and transactional DDL work, see the SQLAlchemy pysqlite documentation).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            if db_file is not None:
                mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
                if not mode or str(mode[0]).lower() != "wal":
                    log.warning("SQLite refused WAL journal mode (got %s) for %s", mode, db_file)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_sqlite(conn: Connection) -> None:
        mode = str(conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")).upper()
        if mode not in _BEGIN_MODES:
            raise ValueError(f"{SQLITE_BEGIN_OPTION} must be one of {sorted(_BEGIN_MODES)}, not {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _dispose_in_forked_children(engine: Engine) -> None:
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(engine)

    def _after_fork() -> None:
        child_engine = ref()
        if child_engine is not None:
            child_engine.dispose(close=False)

    os.register_at_fork(after_in_child=_after_fork)


# Held by a thread's transaction in a forking process (fork_guard) and by os.fork() from its "before" hook to its
# "after" hooks: a fork never happens while a guarded transaction is open. Re-entrant, so that a thread may start
# a subprocess inside its own guarded block.
_FORK_GUARD = threading.RLock()


@contextmanager
def fork_guard() -> Iterator[None]:
    """Hold off ``os.fork()`` of this process (from any thread) while the block runs.

    For SQLite transactions of a thread in a process that forks Python children (see the module docstring):
    ``with fork_guard(), session_scope(sessions) as session: ...``. A fork waits at most as long as the block
    (the busy timeout bounds a transaction's wait for the database).
    """
    with _FORK_GUARD:
        yield


def _release_fork_guard() -> None:
    _FORK_GUARD.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_FORK_GUARD.acquire, after_in_parent=_release_fork_guard, after_in_child=_release_fork_guard
    )


# --- sessions -------------------------------------------------------------------------------------------


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; objects stay usable after commit (no expiry on commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(source: Engine | sessionmaker[Session], *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work: commit when the block ends normally, roll back when it raises.

    ``source`` is an engine or a factory from :func:`session_factory`. ``readonly=True`` rolls back instead of
    committing and, on SQLite, starts a deferred transaction that never waits for a writer. "Unavailable"
    database errors are raised as :class:`StorageUnavailable`.
    """
    factory = source if isinstance(source, sessionmaker) else session_factory(source)
    with translate_errors():
        if readonly:
            bind = factory.kw.get("bind")
            if not isinstance(bind, Engine):
                raise ConfigurationError("session_scope(readonly=True) needs a factory bound to an engine")
            session = factory(bind=bind.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"}))
        else:
            session = factory()
        try:
            yield session
            if readonly:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


# --- migrations -----------------------------------------------------------------------------------------


def alembic_config(connection: Connection | None = None) -> Any:
    """An Alembic ``Config`` built in code, pointing at the migration scripts inside the installed package.

    With ``connection``, ``env.py`` runs the migrations on that connection (and inside its transaction).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision of the migration scripts shipped with this version."""
    from alembic.script import ScriptDirectory

    heads = sorted(ScriptDirectory.from_config(alembic_config()).get_heads())
    if not heads:
        raise ConfigurationError("no migration scripts found in mailroom.migrations")
    return ",".join(heads)


def schema_revision(engine: Engine) -> str | None:
    """The revision the database schema is at (``None`` for an empty database), e.g. for ``/readyz``."""
    from alembic.runtime.migration import MigrationContext

    with translate_errors(), engine.connect() as conn:
        heads = sorted(MigrationContext.configure(conn).get_current_heads())
    return ",".join(heads) if heads else None


@functools.cache
def script_heads() -> frozenset[str] | None:
    """The head revisions of the shipped migration scripts, read from the scripts' ``revision`` and
    ``down_revision`` assignments without loading Alembic (≈ 0.2 s CPU at every start, issue 16); ``None`` when a
    script does not state them as literals (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        if path.name.startswith("_"):
            continue
        found: dict[str, Any] = {}
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (OSError, SyntaxError, ValueError):
            return None
        for node in tree.body:
            target = node.target if isinstance(node, ast.AnnAssign) else (
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and value is not None:
                try:
                    found[target.id] = ast.literal_eval(value)
                except ValueError:
                    return None
        revision, down = found.get("revision"), found.get("down_revision", "?")
        if not isinstance(revision, str) or down == "?":
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, (tuple, list)) and all(isinstance(d, str) for d in down):
            parents.update(down)
        elif down is not None:
            return None
    heads = frozenset(revisions - parents)
    return heads or None


def at_head(engine: Engine) -> bool:
    """Whether the database says it is at the scripts' head revision(s) (``alembic_version``), checked with one
    read-only query; ``False`` when unsure (no such table, scripts not readable): :func:`migrate` then asks
    Alembic."""
    heads = script_heads()
    if heads is None:
        return False
    reader = engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})
    with translate_errors(), reader.connect() as conn:
        try:
            stored = {row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
        except sa_exc.DBAPIError:  # a new database: no version table yet
            return False
        finally:
            if conn.in_transaction():
                conn.rollback()
    return stored == heads


def migrate(target: Settings | Engine) -> None:
    """Bring the database schema to the newest revision (Alembic ``upgrade head``); a no-op when it is.

    Safe to call from several processes at start. ``target`` is the settings (an engine is created and
    disposed) or an existing engine. A database already at the head is recognised with one query, without
    loading Alembic (:func:`at_head`).
    """
    engine = make_engine(target) if isinstance(target, Settings) else target
    if at_head(engine):
        if isinstance(target, Settings):
            engine.dispose()
        return
    from alembic import command

    db_file = _sqlite_file(str(engine.url)) if engine.dialect.name == "sqlite" else None
    lock_path = db_file.with_name(db_file.name + ".migrate.lock") if db_file is not None else None
    try:
        with (
            _file_lock(lock_path),
            translate_errors(),
            engine.connect() as conn,
            foreign_keys_off(conn),
            conn.begin(),
        ):
            command.upgrade(alembic_config(conn), "heads")
    finally:
        if isinstance(target, Settings):
            engine.dispose()


@contextmanager
def foreign_keys_off(conn: Connection) -> Iterator[None]:
    """On SQLite, switch foreign key enforcement off for the block (``env.py`` checks all keys before commit).

    Batch migrations recreate tables; with foreign keys on, ``DROP TABLE`` would cascade deletes into child
    tables. The pragma is a no-op inside a transaction, so this must wrap the transaction (``conn`` must not
    be in one). Other backends: no-op.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    if conn.in_transaction():
        raise ConfigurationError("foreign_keys_off() must be entered outside a transaction")
    driver_connection = conn.connection.driver_connection
    assert driver_connection is not None
    driver_connection.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        try:
            driver_connection.execute("PRAGMA foreign_keys = ON")
        except Exception:
            conn.invalidate()  # never hand a connection without foreign keys back to the pool
            raise


@contextmanager
def _file_lock(path: Path | None, timeout_s: float = MIGRATION_LOCK_TIMEOUT_S) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes (no-op for ``None``); StorageUnavailable on timeout."""
    if path is None:
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")  # noqa: SIM115 - closed below
    except OSError as error:  # a read-only or full data directory: transient, the caller retries
        raise StorageUnavailable(f"cannot open the migration lock {path}: {error}") from error
    with handle:
        deadline = time.monotonic() + timeout_s
        while not _try_lock(handle):
            if time.monotonic() > deadline:
                raise StorageUnavailable(f"timed out waiting for the migration lock {path}")
            time.sleep(0.05)
        try:
            yield
        finally:
            _unlock(handle)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
