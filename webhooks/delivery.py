"""Webhook delivery: outbox events → one delivery per matching subscription → signed attempts until delivered or
dead; replay.

The steps are functions over a session (each call one short transaction of the caller), and
:func:`deliver_due` loops over them with a small thread pool; the Celery task ``mailroom.deliver_webhooks``
(light ``default`` queue, run by the beat every ``MAILROOM_WEBHOOK_POLL_SECONDS`` and kicked right after every
transaction that wrote an outbox event, see :func:`install_kick`) calls it.

* **Fan-out** (:func:`fan_out`): an outbox event not yet dispatched becomes one ``pending`` delivery per active
  subscription that wants it: its event types (empty: all) and its postboxes (empty: all; otherwise one of the
  document's postboxes: ``routing.postbox``, ``routing.copies`` and, for ``document.rerouted``, the postbox it
  left, ``routing.history[-1].postbox``). The event is marked dispatched by a conditional update in the same
  transaction, so with several workers exactly one fans it out (the unique ``(event_id, subscription_id)`` is the
  backstop). The canonical body (links made absolute with ``MAILROOM_PUBLIC_URL``) is computed then and stored as
  the event's ``payload_json``: every attempt and every replay sends exactly those bytes. A subscription created
  later does not receive earlier events.
* **Confidential letters** (:mod:`mailroom.confidentiality`): a subscription that may not open the document
  (not filtered on a postbox the letter lies in, or not bound to its named person) gets the delivery marked
  ``withheld``: it is sent a stub (:func:`withheld_body`: a confidential letter arrived for person X in postbox
  Y) instead of the event, so that the receiver knows the letter exists without seeing its content.
* **Order per (subscription, document)**: only the oldest ``pending`` delivery of a document for a subscription
  is due; later events of that document wait until it is delivered or dead. A dead delivery does not block the
  document's later events (they proceed), and replaying it sends it again after them: receivers compare
  ``occurred_at`` (``docs/dms-integration.md``).
* **Leases** (:func:`claim_due`): a worker takes a due delivery by setting ``leased_until`` (conditional update),
  sends it outside any transaction, and records the attempt only if the lease is still its own. A sender that
  crashed leaves a lease that expires (``timeout + LEASE_MARGIN_SECONDS``); the delivery is then due again: at
  least once.
* **Attempts** (:func:`record_attempt`): every attempt is logged in ``webhook_attempts``; 2xx: ``delivered``;
  network errors, timeouts, 429 (``Retry-After`` honoured) and 5xx: retried with exponential backoff and full
  jitter (:class:`webhooks.sender.RetryPolicy`); other answers, a refused target (SSRF guard at every attempt),
  the attempts used up or the retry window over: ``dead``. Delivered, dead-lettered and replayed deliveries are
  recorded in the audit trail.
* **Replay** (:func:`replay`): a dead or delivered delivery becomes ``pending`` again with its attempts reset; the
  same event id and the same bytes are sent.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, event, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from mailroom import audit, confidentiality
from mailroom.confidentiality import WITHHELD_CONFIDENTIAL, Marking, withheld_document
from mailroom.errors import DeliveryNotFound, DeliveryNotReplayable
from mailroom.settings import Settings
from mailroom.storage.db import session_scope
from mailroom.storage.models import OutboxEventRow, utcnow
from mailroom.storage.outbox import REROUTED
from mailroom.storage.subscriptions import (
    DeliveryState,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from webhooks.sender import Attempt, Outcome, RetryPolicy, canonical_json, deliver_once, event_body

log = logging.getLogger(__name__)

ACTOR = "system:webhooks"
"""The audit actor of what the delivery does on its own (delivered, dead-lettered)."""
LEASE_MARGIN_SECONDS = 30.0
"""A lease lasts the request timeout plus this: long enough to record the attempt, short after a crash."""
FAN_OUT_BATCH = 200
ERROR_CHARS = 500


@dataclass(frozen=True)
class DeliveryConfig:
    """What the delivery needs from the settings."""

    policy: RetryPolicy
    timeout_s: float = 10.0
    allow_hosts: tuple[str, ...] = ()
    allow_private: bool = False
    public_url: str | None = None
    threads: int = 8
    budget_s: float = 20.0
    lease_margin_s: float = LEASE_MARGIN_SECONDS

    @property
    def lease_s(self) -> float:
        return self.timeout_s + self.lease_margin_s

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryConfig:
        return cls(
            policy=RetryPolicy(
                base_delay_s=settings.webhook_retry_base_seconds,
                max_delay_s=settings.webhook_retry_max_delay_seconds,
                max_attempts=settings.webhook_max_attempts,
                window_s=settings.webhook_retry_window_seconds,
            ),
            timeout_s=settings.webhook_timeout_seconds,
            allow_hosts=settings.webhook_allowed_hosts,
            allow_private=settings.webhook_allow_private,
            public_url=settings.public_url,
            threads=settings.webhook_threads,
            budget_s=settings.webhook_task_seconds,
        )


# --- fan-out ---------------------------------------------------------------------------------------------


def event_postboxes(event_type: str, payload: dict[str, Any]) -> set[str]:
    """The postboxes an event is about: where the document is (primary and copies) and, after a re-route, the
    postbox it left."""
    routing = (payload.get("document") or {}).get("routing") or {}
    found: set[str] = set()
    if isinstance(routing.get("postbox"), str):
        found.add(routing["postbox"])
    found.update(c for c in routing.get("copies") or [] if isinstance(c, str))
    history = routing.get("history") or []
    if event_type == REROUTED and history and isinstance(history[-1], dict):
        left = history[-1].get("postbox")
        if isinstance(left, str):
            found.add(left)
    return found


def wants(subscription: WebhookSubscriptionRow, event_type: str, postboxes: set[str]) -> bool:
    """Whether an active subscription's filters let the event through (an empty filter lets everything)."""
    types = subscription.event_types
    boxes = subscription.postboxes
    return (not types or event_type in types) and (not boxes or bool(postboxes & set(boxes)))


def may_open(subscription: WebhookSubscriptionRow, payload: dict[str, Any]) -> bool:
    """Whether the subscription may receive the content of the event's document
    (:func:`mailroom.confidentiality.may_open`): a confidential letter's content only goes to a subscription
    filtered on a postbox the letter lies in and bound to its named person (any person when nobody is named)."""
    marking = Marking.of_result(payload.get("document"))
    holder = bool(set(subscription.postboxes) & marking.postboxes)
    return confidentiality.may_open(marking, admin=False, holder=holder, person=subscription.person)


def withheld_body(body: bytes) -> bytes:
    """The stub sent instead of an event about a confidential letter the subscription may not open: the same
    ``id``, ``type`` and ``occurred_at``, ``withheld: "confidential"``, the document's id and where it lies for whom
    (:func:`mailroom.confidentiality.withheld_document`), no content and no links. Derived from the stored event
    bytes, so every attempt and replay sends the same bytes."""
    event = json.loads(body)
    stub = {key: event[key] for key in ("id", "type", "occurred_at") if key in event}
    stub["withheld"] = WITHHELD_CONFIDENTIAL
    stub["document"] = withheld_document(event.get("document") or {})
    return canonical_json(stub)


def fan_out(session: Session, *, public_url: str | None = None, limit: int = FAN_OUT_BATCH) -> int:
    """Turn up to ``limit`` undispatched outbox events (oldest first) into deliveries; returns how many."""
    events = session.scalars(
        select(OutboxEventRow).where(OutboxEventRow.dispatched_at.is_(None))
        .order_by(OutboxEventRow.created_at, OutboxEventRow.id).limit(limit)
    ).all()
    if not events:
        return 0
    subscriptions = session.scalars(
        select(WebhookSubscriptionRow).where(WebhookSubscriptionRow.active.is_(True))
        .order_by(WebhookSubscriptionRow.created_at)
    ).all()
    created = 0
    now = utcnow()
    for row in events:
        payload = json.loads(row.payload_json)
        body = event_body(payload, public_url).decode("utf-8")
        taken = cast(CursorResult[Any], session.execute(
            update(OutboxEventRow)
            .where(OutboxEventRow.id == row.id, OutboxEventRow.dispatched_at.is_(None))
            .values(dispatched_at=now, payload_json=body)
            .execution_options(synchronize_session=False)
        ))
        if taken.rowcount != 1:
            continue  # another worker fanned it out
        postboxes = event_postboxes(row.type, payload)
        for subscription in subscriptions:
            if wants(subscription, row.type, postboxes):
                session.add(WebhookDeliveryRow(
                    event_id=row.id, subscription_id=subscription.id, document_id=row.document_id,
                    state=DeliveryState.PENDING.value, created_at=now, next_attempt_at=now,
                    withheld=not may_open(subscription, payload),
                ))
                created += 1
        session.flush()  # delivery ids follow the order of the events
    return created


# --- leasing ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A delivery taken by this worker until ``lease``: everything needed to send it without the database."""

    delivery_id: int
    event_id: str
    subscription_id: str
    document_id: str | None
    url: str
    secret: str = field(repr=False)
    body: bytes = field(repr=False)
    attempts: int
    first_attempt_at: datetime | None
    lease: datetime


def _due_heads(now: datetime) -> Any:
    """Pending deliveries that are due, not leased, of an active subscription, and the oldest pending one of their
    (subscription, document)."""
    d = WebhookDeliveryRow
    earlier = aliased(WebhookDeliveryRow)
    blocked = exists().where(
        earlier.subscription_id == d.subscription_id,
        earlier.document_id == d.document_id,
        earlier.state == DeliveryState.PENDING.value,
        earlier.id < d.id,
    )
    return (
        select(d.id)
        .join(WebhookSubscriptionRow, WebhookSubscriptionRow.id == d.subscription_id)
        .where(
            d.state == DeliveryState.PENDING.value,
            d.next_attempt_at <= now,
            or_(d.leased_until.is_(None), d.leased_until < now),
            WebhookSubscriptionRow.active.is_(True),
            ~blocked,
        )
        .order_by(d.next_attempt_at, d.id)
    )


def claim_due(session: Session, *, limit: int, lease_s: float, now: datetime | None = None) -> list[Claim]:
    """Lease up to ``limit`` due deliveries (at most one per subscription and document)."""
    now = now or utcnow()
    lease = now + timedelta(seconds=lease_s)
    claims: list[Claim] = []
    for delivery_id in session.scalars(_due_heads(now).limit(limit)).all():
        d = WebhookDeliveryRow
        taken = cast(CursorResult[Any], session.execute(
            update(d)
            .where(d.id == delivery_id, d.state == DeliveryState.PENDING.value,
                   or_(d.leased_until.is_(None), d.leased_until < now))
            .values(leased_until=lease)
            .execution_options(synchronize_session=False)
        ))
        if taken.rowcount != 1:
            continue  # another worker leased it first
        row = session.get(WebhookDeliveryRow, delivery_id, populate_existing=True)
        assert row is not None
        subscription = session.get(WebhookSubscriptionRow, row.subscription_id)
        outbox_event = session.get(OutboxEventRow, row.event_id)
        assert subscription is not None and outbox_event is not None
        body = outbox_event.payload_json.encode("utf-8")
        claims.append(Claim(
            delivery_id=row.id, event_id=row.event_id, subscription_id=row.subscription_id,
            document_id=row.document_id, url=subscription.url, secret=subscription.secret,
            body=withheld_body(body) if row.withheld else body, attempts=row.attempts,
            first_attempt_at=row.first_attempt_at, lease=lease,
        ))
    return claims


# --- attempts --------------------------------------------------------------------------------------------


def record_attempt(
    session: Session,
    claim: Claim,
    attempt: Attempt,
    *,
    policy: RetryPolicy,
    at: datetime | None = None,
    rng: random.Random | None = None,
) -> DeliveryState | None:
    """Log the attempt and move the delivery on (delivered, due again later, or dead); returns the new state.

    ``None`` when the lease was no longer this worker's (it outlived its lease and another worker took the
    delivery): the attempt is logged, the delivery is left to its new owner.
    """
    at = at or utcnow()
    started_at = at - timedelta(milliseconds=attempt.latency_ms)
    session.add(WebhookAttemptRow(
        delivery_id=claim.delivery_id, at=started_at, status=attempt.status, latency_ms=attempt.latency_ms,
        outcome=attempt.outcome.value, error=(attempt.error or None) and attempt.error[:ERROR_CHARS],
    ))
    number = claim.attempts + 1
    first = claim.first_attempt_at or started_at
    values: dict[str, Any] = {
        "attempts": number, "first_attempt_at": first, "last_status": attempt.status,
        "last_error": attempt.error[:ERROR_CHARS] if attempt.error else None, "leased_until": None,
    }
    state = DeliveryState.PENDING
    if attempt.outcome is Outcome.DELIVER:
        state = DeliveryState.DELIVERED
    elif attempt.outcome is Outcome.RETRY:
        delay = policy.next_delay(number, first_attempt_at=first.timestamp(), now=at.timestamp(),
                                  retry_after_s=attempt.retry_after_s, rng=rng)
        if delay is None:
            state = DeliveryState.DEAD
        else:
            values["next_attempt_at"] = at + timedelta(seconds=delay)
    else:
        state = DeliveryState.DEAD
    values["state"] = state.value
    if state is not DeliveryState.PENDING:
        values["finished_at"] = at
        values["next_attempt_at"] = None
    d = WebhookDeliveryRow
    updated = cast(CursorResult[Any], session.execute(
        update(d)
        .where(d.id == claim.delivery_id, d.state == DeliveryState.PENDING.value, d.leased_until == claim.lease)
        .values(**values)
        .execution_options(synchronize_session=False)
    ))
    if updated.rowcount != 1:
        log.warning("delivery %d: lease lost before the attempt was recorded", claim.delivery_id)
        return None
    if state is not DeliveryState.PENDING:
        audit.record(
            session, actor=ACTOR,
            action="webhook.delivered" if state is DeliveryState.DELIVERED else "webhook.dead_lettered",
            object_type="webhook_delivery", object_id=str(claim.delivery_id),
            details={"event_id": claim.event_id, "subscription_id": claim.subscription_id,
                     "document_id": claim.document_id, "attempts": number, "status": attempt.status,
                     "error": attempt.error[:ERROR_CHARS] if attempt.error else None},
        )
    return state


# --- replay ----------------------------------------------------------------------------------------------


def _reset(row: WebhookDeliveryRow, now: datetime) -> None:
    row.state = DeliveryState.PENDING.value
    row.attempts = 0
    row.first_attempt_at = None
    row.next_attempt_at = now
    row.leased_until = None
    row.finished_at = None


def replay(session: Session, delivery_id: int, *, actor: str) -> WebhookDeliveryRow:
    """Make a dead or delivered delivery pending again (attempts reset; same event id and bytes)."""
    row = session.get(WebhookDeliveryRow, delivery_id)
    if row is None:
        raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
    if row.state == DeliveryState.PENDING.value:
        raise DeliveryNotReplayable(f"webhook delivery {delivery_id} is pending: it is being retried already")
    previous = row.state
    _reset(row, utcnow())
    audit.record(session, actor=actor, action="webhook.replayed", object_type="webhook_delivery",
                 object_id=str(row.id), details={"event_id": row.event_id, "subscription_id": row.subscription_id,
                                                 "document_id": row.document_id, "previous_state": previous})
    session.flush()
    return row


def replay_subscription(session: Session, subscription_id: str, *, state: DeliveryState, actor: str) -> list[int]:
    """Replay every delivery of a subscription in ``state`` (dead or delivered); returns their ids."""
    if state is DeliveryState.PENDING:
        raise DeliveryNotReplayable("pending deliveries are being retried already; replay dead or delivered ones")
    rows = session.scalars(
        select(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.subscription_id == subscription_id, WebhookDeliveryRow.state == state.value)
        .order_by(WebhookDeliveryRow.id)
    ).all()
    now = utcnow()
    for row in rows:
        _reset(row, now)
    if rows:
        audit.record(session, actor=actor, action="webhook.replayed", object_type="webhook_subscription",
                     object_id=subscription_id, details={"previous_state": state.value, "deliveries": len(rows),
                                                         "delivery_ids": [r.id for r in rows][:1000]})
    session.flush()
    return [r.id for r in rows]


# --- the loop --------------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """What one :func:`deliver_due` run did."""

    fanned_out: int = 0
    attempts: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    more: bool = False  # the time budget ran out with due deliveries left

    def count(self, state: DeliveryState | None) -> None:
        self.attempts += 1
        if state is DeliveryState.DELIVERED:
            self.delivered += 1
        elif state is DeliveryState.DEAD:
            self.dead += 1
        elif state is DeliveryState.PENDING:
            self.retrying += 1


def _send(client: httpx.Client, claim: Claim, config: DeliveryConfig) -> Attempt:
    return deliver_once(client, claim.url, claim.event_id, claim.body, claim.secret, timeout=config.timeout_s,
                        allow_hosts=config.allow_hosts, allow_private=config.allow_private)


def deliver_due(
    sessions: sessionmaker[Session],
    config: DeliveryConfig,
    *,
    client: httpx.Client | None = None,
    budget_s: float | None = None,
) -> DeliveryReport:
    """Fan out new events, then send due deliveries with up to ``config.threads`` requests in flight, until none
    is due or the time budget is spent (then ``report.more`` says the caller should run again).

    Different documents are sent concurrently; one document's events one after another (only the head of each
    (subscription, document) is due). Database work happens in short transactions, never during a request.
    """
    report = DeliveryReport()
    deadline = time.monotonic() + (config.budget_s if budget_s is None else budget_s)
    with session_scope(sessions) as session:
        report.fanned_out = fan_out(session, public_url=config.public_url)
    own_client = client is None
    http = client or httpx.Client()
    pool: ThreadPoolExecutor | None = None
    in_flight: dict[Future[Attempt], Claim] = {}
    try:
        while True:
            free = config.threads - len(in_flight)
            claims: list[Claim] = []
            if free > 0 and time.monotonic() < deadline:
                with session_scope(sessions) as session:
                    if report.fanned_out or not in_flight:
                        report.fanned_out += fan_out(session, public_url=config.public_url)
                    claims = claim_due(session, limit=free, lease_s=config.lease_s)
            if claims and pool is None:
                pool = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="mailroom-webhook")
            for claim in claims:
                assert pool is not None
                in_flight[pool.submit(_send, http, claim, config)] = claim
            if not in_flight:
                break
            done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for future in done:
                claim = in_flight.pop(future)
                attempt = future.result()
                with session_scope(sessions) as session:
                    report.count(record_attempt(session, claim, attempt, policy=config.policy))
                log.info("webhook delivery %d (event %s) attempt %d: %s", claim.delivery_id, claim.event_id,
                         claim.attempts + 1, attempt.error or attempt.status)
        if time.monotonic() >= deadline:
            with session_scope(sessions, readonly=True) as session:
                report.more = session.scalars(_due_heads(utcnow()).limit(1)).first() is not None
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
        if own_client:
            http.close()
    return report


# --- kicking the delivery after a change -----------------------------------------------------------------

_OUTBOX_FLAG = "mailroom_outbox_written"


#: How long the answer "is there an active subscription?" is reused before asking the database again.
SUBSCRIPTION_CHECK_TTL_SECONDS = 5.0


class _SubscriptionCheck:
    """Whether any subscription is active, asked at most every :data:`SUBSCRIPTION_CHECK_TTL_SECONDS`: a
    mailroom without webhooks enqueues no delivery tasks for its events (the beat still fans them out)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.checked_at = float("-inf")
        self.active = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.checked_at >= SUBSCRIPTION_CHECK_TTL_SECONDS:
            with session_scope(self.sessions, readonly=True) as session:
                self.active = bool(session.scalar(
                    select(exists().where(WebhookSubscriptionRow.active.is_(True)))
                ))
            self.checked_at = now
        return self.active


def install_kick(sessions: sessionmaker[Session], kick: Callable[[], None]) -> None:
    """Call ``kick`` after every commit of a session from ``sessions`` that wrote an outbox event, when a webhook
    subscription is active.

    The API process and the workers install it (the kick enqueues the delivery task); ``mailroom process`` does
    not, so the in-process pipeline never delivers. A failing kick is logged and ignored: the beat sends the
    events a few seconds later.
    """

    def after_flush(session: Session, _context: Any) -> None:
        if any(isinstance(obj, OutboxEventRow) for obj in session.new):
            session.info[_OUTBOX_FLAG] = True

    subscribed = _SubscriptionCheck(sessions)

    def after_commit(session: Session) -> None:
        if session.info.pop(_OUTBOX_FLAG, False):
            try:
                if subscribed():
                    kick()
            except Exception as exc:  # the beat delivers anyway
                log.warning("could not start webhook delivery now (the schedule will): %s", exc)

    def after_rollback(session: Session) -> None:
        session.info.pop(_OUTBOX_FLAG, None)

    event.listen(sessions, "after_flush", after_flush)
    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_soft_rollback", lambda session, _previous: after_rollback(session))


def state_counts(session: Session, subscription_ids: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
    """Deliveries per subscription and state (for listings)."""
    query = select(WebhookDeliveryRow.subscription_id, WebhookDeliveryRow.state, func.count()).group_by(
        WebhookDeliveryRow.subscription_id, WebhookDeliveryRow.state
    )
    if subscription_ids is not None:
        query = query.where(WebhookDeliveryRow.subscription_id.in_(list(subscription_ids)))
    out: dict[str, dict[str, int]] = {}
    for subscription_id, state, count in session.execute(query).all():
        out.setdefault(subscription_id, {})[state] = int(count)
    return out

