"""Alembic migrations of the mailroom database, shipped inside the package.

Run them with :func:`mailroom.storage.db.migrate` (any cwd, also from a wheel). For development,
``alembic -c mailroom/migrations/alembic.ini revision --autogenerate -m "..."`` writes a new revision
against the database of the ``MAILROOM_*`` settings; review it by hand (batch mode is on for SQLite, so
``ALTER`` operations become table copies there).
"""
