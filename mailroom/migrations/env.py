"""Alembic environment of mailroom.

Used in two ways:

* by :func:`mailroom.storage.db.migrate`, which passes an open connection (already inside its transaction and
  serialised against other processes) in ``config.attributes["connection"]``;
* by the ``alembic`` command line for development (``alembic -c mailroom/migrations/alembic.ini ...``), which
  connects to the database of the ``MAILROOM_*`` settings.

SQLite gets batch mode (``ALTER`` becomes copy-and-move) and a foreign key check before commit; PostgreSQL
takes a transaction-scoped advisory lock so that concurrent migrators run one after the other.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from mailroom.storage.schema import metadata

#: ``pg_advisory_xact_lock`` key of schema migrations ("mailroom" in ASCII).
PG_MIGRATION_LOCK_KEY = 0x6D61696C726F6F6D

config = context.config
target_metadata = metadata


def _run_on(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
        # our SQLite engines emit BEGIN themselves (mailroom.storage.db): DDL is transactional there too
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK_KEY})")
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")


def run_migrations_offline() -> None:
    """Write the SQL instead of running it (``alembic upgrade --sql``)."""
    from mailroom.settings import Settings

    context.configure(
        url=Settings().resolved_database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the connection handed over by ``migrate()``, or connect to the configured database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    from mailroom.settings import Settings
    from mailroom.storage.db import foreign_keys_off, make_engine

    engine = make_engine(Settings())
    try:
        with engine.connect() as conn, foreign_keys_off(conn):
            _run_on(conn)
            if conn.in_transaction():
                conn.commit()
    finally:
        engine.dispose()


if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
