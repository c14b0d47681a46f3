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
loads it. The rest is kombu's transport as it is. ``workers.celery_app`` selects it with Celery's
``broker_transport`` setting (``EMBEDDED_TRANSPORT``: an import path given explicitly, not derived from a URL).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import sqlalchemy as kombu_sqlalchemy
from kombu.transport.sqlalchemy.models import Queue as QueueBase
from kombu.utils.objects import cached_property
from sqlalchemy.orm import relationship


class Channel(kombu_sqlalchemy.Channel):
    @cached_property
    def queue_cls(self) -> Any:
        return self._declarative_cls("Queue", QueueBase, {
            "__tablename__": self.queue_tablename,
            # kombu's mixin says lazy='noload' (deprecated); the class's own attribute takes its place
            "messages": relationship("Message", backref="queue", lazy="raise"),
        })


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel
