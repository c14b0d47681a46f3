"""Webhook subscriptions, their deliveries and every attempt (the delivery log).

* ``webhook_subscriptions``: a URL that wants some event types (empty: all) about documents of some postboxes
  (empty: all), with the secret that signs every request. The secret must be stored readable (it is the HMAC
  key); it is shown once at creation and never logged or returned again.
  A subscription may be bound to a directory ``person``: only then does it receive the content of confidential
  letters for that person (in its postboxes); every other subscription gets a stub without content
  (``withheld``, :mod:`mailroom.confidentiality`).
* ``webhook_deliveries``: one event to one subscription: ``pending`` (with ``next_attempt_at``), ``delivered``
  or ``dead`` (dead letter, after the retry window or an answer that retrying cannot change). A delivery is
  leased (``leased_until``) by the worker that sends it, so two workers never send it at once. Replaying a dead
  delivery makes it ``pending`` again.
* ``webhook_attempts``: every attempt with its HTTP status, latency and error.

The functions that fan events out, lease, record attempts and replay live with the delivery
(``webhooks.delivery``); this module is the tables.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mailroom.storage.models import ID_LENGTH, Base, new_id, utcnow


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookSubscriptionRow(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128), doc="what the admin calls it, e.g. 'dms-prod'")
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(128), doc="HMAC key of the signature; never logged or shown again")
    event_types_json: Mapped[str] = mapped_column(Text, default="[]", doc="JSON list; empty = every type")
    postboxes_json: Mapped[str] = mapped_column(Text, default="[]", doc="JSON list; empty = every postbox")
    person: Mapped[str | None] = mapped_column(
        String(128), doc="directory person id: receives the content of confidential letters for this person in its "
        "postboxes (``mailroom.confidentiality``); others get a stub without content")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column()

    @property
    def event_types(self) -> list[str]:
        return list(json.loads(self.event_types_json))

    @property
    def postboxes(self) -> list[str]:
        return list(json.loads(self.postboxes_json))


class WebhookDeliveryRow(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("outbox_events.id", ondelete="CASCADE"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    document_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), doc="for the order per document")
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value)
    withheld: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(),
        doc="a confidential letter the subscription may not open: the stub of the event is sent, not the event")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_attempt_at: Mapped[datetime | None] = mapped_column()
    next_attempt_at: Mapped[datetime | None] = mapped_column(doc="when a pending delivery is due")
    leased_until: Mapped[datetime | None] = mapped_column(doc="a worker is sending it until then")
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(doc="delivered or dead-lettered at")

    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        CheckConstraint(f"state IN ({', '.join(repr(s.value) for s in DeliveryState)})", name="state"),
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_id_document_id_id", "subscription_id", "document_id", "id"),
    )


class WebhookAttemptRow(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[int | None] = mapped_column(Integer, doc="HTTP status; NULL when no answer came")
    latency_ms: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16), doc="deliver, retry, give_up")
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_webhook_attempts_delivery_id_id", "delivery_id", "id"),)
