"""The embedded broker's transport: kombu's SQLAlchemy transport, with its one deprecated mapping replaced.

kombu's models (``kombu/transport/sqlalchemy/models.py``, kombu 5.7) map the queue's messages as
``relationship('Message', backref='queue', lazy='noload')``. SQLAlchemy 2.1 deprecated the ``noload`` strategy
(sqlalchemy/sqlalchemy#11045: it "produces incorrect results by returning None for related items"), so every
process of the embedded mode warned ``SADeprecationWarning: The noload loader strategy is deprecated`` when its
mappers were configured, and a future SQLAlchemy will refuse it.

kombu never reads ``Queue.messages``: it only sets ``Message.queue`` (through the backref) and queries messages by
``queue_id``. :class:`Channel` maps the same tables (``kombu_queue``, ``kombu_message``: the schema, the SQL and
the file are unchanged, old and new processes can share a broker file) with ``lazy='raise'`` for that collection
instead: a read of it would raise rather than load every message of a queue, and setting ``Message.queue`` never
loads it. Both tables are declared with their SQLite option only: kombu's ``mysql_engine`` option made SQLAlchemy
import its whole MySQL dialect (some 0.03 s CPU at every worker start) for a table that lives in SQLite. The
rest is kombu's transport as it is. ``workers.celery_app`` selects it with Celery's
``broker_transport`` setting (``EMBEDDED_TRANSPORT``: an import path given explicitly, not derived from a URL).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import sqlalchemy as kombu_sqlalchemy
from kombu.transport.sqlalchemy.models import Message as MessageBase
from kombu.transport.sqlalchemy.models import Queue as QueueBase
from kombu.utils.objects import cached_property
from sqlalchemy import Index
from sqlalchemy.orm import relationship

SQLITE_ONLY = {"sqlite_autoincrement": True}
"""The tables' options as kombu declares them, without ``mysql_engine`` (loads SQLAlchemy's MySQL dialect)."""


class Channel(kombu_sqlalchemy.Channel):
    @cached_property
    def queue_cls(self) -> Any:
        return self._declarative_cls("Queue", QueueBase, {
            "__tablename__": self.queue_tablename,
            "__table_args__": SQLITE_ONLY,
            # kombu's mixin says lazy='noload' (deprecated); the class's own attribute takes its place
            "messages": relationship("Message", backref="queue", lazy="raise"),
        })

    @cached_property
    def message_cls(self) -> Any:
        return self._declarative_cls("Message", MessageBase, {
            "__tablename__": self.message_tablename,
            "__table_args__": (Index("ix_kombu_message_timestamp_id", "timestamp", "id"), SQLITE_ONLY),
        })


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel
