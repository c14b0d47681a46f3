"""The whole database schema: every table module, imported once, so that :data:`metadata` holds every table.

For what needs the complete schema (Alembic's migration environment, the tests that compare the migrations with
the models); code that uses a table imports its own module.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from mailroom.storage import (
    heartbeats,
    keys,
    labels,
    mail,
    models,
    postboxes,
    rulesets,
    subscriptions,
    suppliers,
    users,
)

#: The tables of :mod:`~mailroom.storage.models` (documents, pages, events, outbox, audit log) and of
#: :mod:`~mailroom.storage.keys`, :mod:`~mailroom.storage.labels`, :mod:`~mailroom.storage.mail`,
#: :mod:`~mailroom.storage.postboxes`, :mod:`~mailroom.storage.rulesets`, :mod:`~mailroom.storage.subscriptions`,
#: :mod:`~mailroom.storage.suppliers`, :mod:`~mailroom.storage.users`, :mod:`~mailroom.storage.heartbeats`.
metadata: MetaData = models.Base.metadata

__all__ = ["heartbeats", "keys", "labels", "mail", "metadata", "models", "postboxes", "rulesets", "subscriptions",
           "suppliers", "users"]
