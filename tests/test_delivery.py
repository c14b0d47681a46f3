"""Webhook delivery from the outbox (``webhooks.delivery``): real SQLite, a real HTTP receiver on 127.0.0.1.

Documents are routed (and re-routed) through ``repository.transition`` with a stored result, which writes the
outbox events exactly as the pipeline does; :func:`deliver_due` is called the way the Celery task calls it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from webhook_receiver import WebhookReceiver

from mailroom import audit
from mailroom.errors import DeliveryNotReplayable
from mailroom.settings import Settings
from mailroom.storage import repository
from mailroom.storage.db import make_engine, migrate, session_factory, session_scope
from mailroom.storage.models import AuditLogRow, OutboxEventRow
from mailroom.storage.subscriptions import DeliveryState, WebhookAttemptRow, WebhookDeliveryRow
from webhooks import delivery, subscriptions
from webhooks.delivery import (
    DeliveryConfig,
    claim_due,
    deliver_due,
    fan_out,
    install_kick,
    record_attempt,
    replay,
    replay_subscription,
)
from webhooks.sender import RetryPolicy, deliver_once
from webhooks.subscriptions import TargetRules

LOCAL = TargetRules(allow_hosts=("127.0.0.1",))
CONFIG = DeliveryConfig(
    policy=RetryPolicy(base_delay_s=0.05, max_delay_s=0.2, max_attempts=20, window_s=30),
    timeout_s=0.5, allow_hosts=("127.0.0.1",), threads=4, budget_s=10,
)


# --- helpers ---------------------------------------------------------------------------------------------


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=None, broker_url=None)
    engine = make_engine(settings)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def routed_document(sessions: sessionmaker[Session], postbox: str, copies: tuple[str, ...] = ()) -> str:
    """A document routed to ``postbox`` (writes ``document.routed`` to the outbox, as the pipeline does)."""
    with session_scope(sessions) as session:
        sha = hashlib.sha256(os.urandom(16)).hexdigest()
        row, _ = repository.receive_document(session, sha256=sha, filename="brief.pdf", kind="pdf", size=1, pages=1,
                                             channel="test", station=None, original_sha=sha)
        repository.transition(session, row, "recognised")
        repository.save_result(session, row, {
            "schema": "mailroom.result/v1", "document_id": row.id,
            "routing": {"postbox": postbox, "status": "routed", "copies": list(copies)},
        })
        repository.transition(session, row, "routed")
        return row.id


def reroute(sessions: sessionmaker[Session], document_id: str, postbox: str) -> None:
    """Move a routed document on (``document.rerouted``), keeping the earlier routing in ``routing.history``."""
    with session_scope(sessions) as session:
        row = repository.get_document(session, document_id)
        assert row is not None and row.result_json
        result = json.loads(row.result_json)
        previous = dict(result["routing"])
        history = previous.pop("history", [])
        result["routing"] = {"postbox": postbox, "status": "routed", "history": [*history, previous]}
        repository.save_result(session, row, result)
        repository.transition(session, row, "routed")


def subscribe(sessions: sessionmaker[Session], url: str, **filters: Any) -> tuple[str, str]:
    with session_scope(sessions) as session:
        row, secret = subscriptions.create(session, name="dms", url=url, actor="admin:test", rules=LOCAL, **filters)
        return row.id, secret


def deliveries(sessions: sessionmaker[Session]) -> list[WebhookDeliveryRow]:
    with session_scope(sessions, readonly=True) as session:
        rows = list(session.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)).all())
        session.expunge_all()  # plain values after the read-only session ends
        return rows


def outbox(sessions: sessionmaker[Session]) -> dict[str, OutboxEventRow]:
    with session_scope(sessions, readonly=True) as session:
        rows = {e.id: e for e in session.scalars(select(OutboxEventRow)).all()}
        session.expunge_all()
        return rows


def attempts_of(sessions: sessionmaker[Session], delivery_id: int) -> list[WebhookAttemptRow]:
    with session_scope(sessions, readonly=True) as session:
        rows = list(session.scalars(select(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id == delivery_id)
                                    .order_by(WebhookAttemptRow.id)).all())
        session.expunge_all()
        return rows


def audit_actions(sessions: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with session_scope(sessions, readonly=True) as session:
        return [(r.action, r.object_id) for r in session.scalars(select(AuditLogRow).order_by(AuditLogRow.id))]


def run_beat(sessions: sessionmaker[Session], config: DeliveryConfig, *, until_s: float = 20) -> None:
    """Call ``deliver_due`` like the beat does (every 50 ms) until nothing is pending."""
    deadline = time.monotonic() + until_s
    while time.monotonic() < deadline:
        deliver_due(sessions, config)
        if not any(d.state == DeliveryState.PENDING for d in deliveries(sessions)):
            return
        time.sleep(0.05)
    raise AssertionError(f"still pending after {until_s} s: {[(d.id, d.attempts) for d in deliveries(sessions)]}")


# --- the "done when" of issue 7 --------------------------------------------------------------------------


def test_faulty_receiver_gets_every_event_once_in_order_per_document(sessions: sessionmaker[Session]) -> None:
    receiver = WebhookReceiver(listening=False, script=["close", "slow", "500", "429"], retry_after="1")
    try:
        _subscription_id, receiver.secret = subscribe(sessions, receiver.url)
        documents = [routed_document(sessions, "kaemmerei-rechnungseingang") for _ in range(3)]
        for document_id in documents:
            reroute(sessions, document_id, "bauamt")
        deliver_due(sessions, CONFIG)  # the receiver is not listening yet: connection refused for each head
        refused = [d for d in deliveries(sessions) if d.attempts]
        assert len(refused) == 3 and all(d.last_status is None and "ConnectError" in (d.last_error or "")
                                         for d in refused)
        receiver.start()
        run_beat(sessions, CONFIG)
    finally:
        receiver.stop()

    events = outbox(sessions)
    rows = deliveries(sessions)
    assert len(events) == 6 and len(rows) == 6
    assert all(d.state == DeliveryState.DELIVERED for d in rows)
    # every event processed exactly once by the receiver, although some arrived twice (the slow answer)
    processed = receiver.processed_ids()
    assert sorted(processed) == sorted(events) and len(processed) == len(set(processed))
    assert len(receiver.receipts) > len(processed), "the slow answer must have caused a redelivery"
    # in order per document: every attempt at an event arrives after the last attempt at the one before
    for document_id in documents:
        mine = sorted((e for e in events.values() if e.document_id == document_id), key=lambda e: e.created_at)
        assert [e.type for e in mine] == ["document.routed", "document.rerouted"]
        first, second = (receiver.receipts_of(e.id) for e in mine)
        assert max(r.at for r in first) <= min(r.at for r in second)
        order = [p.event_id for p in receiver.processed if p.document_id == document_id]
        assert order == [e.id for e in mine]
    # the same bytes on every attempt: the outbox payload as stored at fan-out; signatures verify
    for receipt in receiver.receipts:
        assert receipt.body == events[receipt.event_id].payload_json.encode("utf-8")
        assert receipt.signature_ok and receipt.idempotency_key == receipt.event_id
    # the delivery log: refused, closed, timed out, 500 and 429 were all retried, then 200
    log = [a for d in rows for a in attempts_of(sessions, d.id)]
    statuses = [a.status for a in log]
    assert {500, 429, 200} <= set(statuses) and statuses.count(None) >= 5  # 3 refused, closed, timeout
    assert {a.outcome for a in log if a.status != 200} == {"retry"}
    assert any("Timeout" in (a.error or "") for a in log)
    assert any("RemoteProtocolError" in (a.error or "") for a in log)
    assert all(a.latency_ms >= 0 for a in log)
    throttled = next(a for a in log if a.status == 429)
    following = next(a for a in attempts_of(sessions, throttled.delivery_id) if a.id > throttled.id)
    assert (following.at - throttled.at).total_seconds() >= 1.0, "Retry-After: 1 was not honoured"
    assert sorted(str(oid) for action, oid in audit_actions(sessions) if action == "webhook.delivered") == \
        sorted(str(d.id) for d in rows)
    with session_scope(sessions, readonly=True) as session:
        assert audit.verify(session).ok


def test_client_error_is_dead_at_once_and_does_not_block_the_documents_later_events(
    sessions: sessionmaker[Session],
) -> None:
    with WebhookReceiver(script=["410"]) as receiver:
        _, receiver.secret = subscribe(sessions, receiver.url)
        document_id = routed_document(sessions, "bauamt")
        reroute(sessions, document_id, "ordnungsamt")
        run_beat(sessions, CONFIG)
    first, second = deliveries(sessions)
    assert (first.state, first.attempts, first.last_status) == (DeliveryState.DEAD, 1, 410)
    assert [a.outcome for a in attempts_of(sessions, first.id)] == ["give_up"]
    assert (second.state, second.attempts) == (DeliveryState.DELIVERED, 1)  # proceeds once the earlier is dead
    assert receiver.processed_ids() == [second.event_id]
    assert ("webhook.dead_lettered", str(first.id)) in audit_actions(sessions)


def test_receiver_down_past_the_window_dead_letters_then_replay_delivers_the_same_bytes(
    sessions: sessionmaker[Session],
) -> None:
    short = replace(CONFIG, policy=RetryPolicy(base_delay_s=0.05, max_delay_s=0.1, max_attempts=100, window_s=1.0))
    with WebhookReceiver() as receiver:
        subscription_id, receiver.secret = subscribe(sessions, receiver.url)
        receiver.always = "500"
        routed_document(sessions, "bauamt")
        started = time.monotonic()
        run_beat(sessions, short)
        (dead,) = deliveries(sessions)
        assert dead.state == DeliveryState.DEAD and dead.attempts >= 3
        assert 0.8 <= time.monotonic() - started < 5
        assert receiver.processed == []
        receiver.always = "200"  # the DMS is back
        with session_scope(sessions) as session:
            assert replay_subscription(session, subscription_id, state=DeliveryState.DEAD, actor="admin:x") == \
                [dead.id]
        (pending,) = deliveries(sessions)
        assert (pending.state, pending.attempts, pending.first_attempt_at) == (DeliveryState.PENDING, 0, None)
        run_beat(sessions, short)
        with session_scope(sessions) as session:  # a delivered one can be replayed too; a pending one cannot
            replay(session, dead.id, actor="admin:x")
            with pytest.raises(DeliveryNotReplayable):
                replay(session, dead.id, actor="admin:x")
        run_beat(sessions, short)
    (delivered,) = deliveries(sessions)
    assert delivered.state == DeliveryState.DELIVERED and delivered.attempts == 1
    bodies = {r.body for r in receiver.receipts}
    assert len(bodies) == 1 and {r.event_id for r in receiver.receipts} == {dead.event_id}
    assert receiver.processed_ids() == [dead.event_id]  # the second replay was a duplicate to the receiver
    actions = [a for a, _ in audit_actions(sessions)]
    assert actions.count("webhook.dead_lettered") == 1 and actions.count("webhook.replayed") == 2
    assert actions.count("webhook.delivered") == 2


def test_attempts_exhausted_is_dead(sessions: sessionmaker[Session]) -> None:
    few = replace(CONFIG, policy=RetryPolicy(base_delay_s=0.01, max_delay_s=0.02, max_attempts=3, window_s=60))
    with WebhookReceiver() as receiver:
        _, receiver.secret = subscribe(sessions, receiver.url)
        receiver.always = "500"
        routed_document(sessions, "bauamt")
        run_beat(sessions, few)
    (dead,) = deliveries(sessions)
    assert (dead.state, dead.attempts, dead.last_status) == (DeliveryState.DEAD, 3, 500)
    assert len(receiver.receipts) == 3


# --- fan-out ---------------------------------------------------------------------------------------------


def test_fan_out_filters_by_event_type_and_postbox(sessions: sessionmaker[Session]) -> None:
    url = "http://127.0.0.1:9/hook"
    everything, _ = subscribe(sessions, url)
    routed_only, _ = subscribe(sessions, url, event_types=["document.routed"])
    bauamt, _ = subscribe(sessions, url, postboxes=["bauamt"])
    standesamt, _ = subscribe(sessions, url, postboxes=["standesamt"])
    inactive, _ = subscribe(sessions, url)
    with session_scope(sessions) as session:
        subscriptions.update(session, inactive, actor="admin:test", rules=LOCAL, active=False)
    a = routed_document(sessions, "kaemmerei-rechnungseingang", copies=("bauamt",))  # bauamt has a copy
    b = routed_document(sessions, "bauamt")
    reroute(sessions, b, "ordnungsamt")  # left bauamt: bauamt hears of it
    c = routed_document(sessions, "ordnungsamt")
    with session_scope(sessions) as session:
        assert fan_out(session) == 4 + 3 + 3  # everything, routed only, bauamt (copy, routed, left)
        assert fan_out(session) == 0
    events = outbox(sessions)
    assert all(e.dispatched_at is not None for e in events.values())
    got = {(d.subscription_id, events[d.event_id].document_id, events[d.event_id].type) for d in deliveries(sessions)}
    assert {(s, doc) for s, doc, _ in got if s == everything} == {(everything, x) for x in (a, b, c)}
    assert {t for s, _, t in got if s == routed_only} == {"document.routed"}
    assert {(doc, t) for s, doc, t in got if s == bauamt} == {(a, "document.routed"), (b, "document.routed"),
                                                             (b, "document.rerouted")}
    assert not any(s in (standesamt, inactive) for s, _, _ in got)


def test_concurrent_fan_out_creates_each_delivery_once(sessions: sessionmaker[Session]) -> None:
    subscribe(sessions, "http://127.0.0.1:9/hook")
    subscribe(sessions, "http://127.0.0.1:9/other")
    for _ in range(30):
        routed_document(sessions, "bauamt")
    counts: list[int] = []

    def worker() -> None:
        for _ in range(5):
            with session_scope(sessions) as session:
                counts.append(fan_out(session, limit=7))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with session_scope(sessions) as session:
        counts.append(fan_out(session))
    assert sum(counts) == 60
    rows = deliveries(sessions)
    assert len(rows) == 60 and len({(d.event_id, d.subscription_id) for d in rows}) == 60


def test_public_url_makes_links_absolute_in_the_stored_body(sessions: sessionmaker[Session]) -> None:
    subscribe(sessions, "http://127.0.0.1:9/hook")
    document_id = routed_document(sessions, "bauamt")
    (before,) = outbox(sessions).values()
    assert json.loads(before.payload_json)["links"]["self"] == f"/api/v1/documents/{document_id}"
    with session_scope(sessions) as session:
        fan_out(session, public_url="https://mailroom.rathaus.example/")
    (after,) = outbox(sessions).values()
    event = json.loads(after.payload_json)
    assert event["links"]["searchable_pdf"] == \
        f"https://mailroom.rathaus.example/api/v1/documents/{document_id}/searchable.pdf"
    assert after.payload_json.encode() == json.dumps(event, sort_keys=True, separators=(",", ":"),
                                                     ensure_ascii=False).encode()
    assert {k: v for k, v in event.items() if k != "links"} == \
        {k: v for k, v in json.loads(before.payload_json).items() if k != "links"}


# --- leases and concurrency ------------------------------------------------------------------------------


def test_two_senders_at_once_send_each_event_once_and_in_order(sessions: sessionmaker[Session]) -> None:
    # a receiver slower than the client's timeout gets the event again (at least once, rightly): here the timeout
    # is long enough for a busy machine, so that only the leases are tested
    config = replace(CONFIG, timeout_s=10)
    with WebhookReceiver(delay_s=0.02) as receiver:
        _, receiver.secret = subscribe(sessions, receiver.url)
        documents = [routed_document(sessions, "bauamt") for _ in range(15)]
        for document_id in documents[:5]:
            reroute(sessions, document_id, "ordnungsamt")
        errors: list[BaseException] = []

        def sender() -> None:
            try:
                for _ in range(10):
                    deliver_due(sessions, config)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        run_beat(sessions, config)
    assert len(receiver.receipts) == 20, "with leases no event is sent twice while the receiver accepts"
    assert sorted(receiver.processed_ids()) == sorted(outbox(sessions))
    for document_id in documents[:5]:
        assert [p.type for p in receiver.processed if p.document_id == document_id] == \
            ["document.routed", "document.rerouted"]


#: The crashed sender's lease: long enough for another sender to try within it on a busy machine.
LEASE_S = 3.0


def test_a_crashed_senders_lease_expires_and_the_delivery_is_sent_again(sessions: sessionmaker[Session]) -> None:
    with WebhookReceiver() as receiver:
        _, receiver.secret = subscribe(sessions, receiver.url)
        routed_document(sessions, "bauamt")
        with session_scope(sessions) as session:
            fan_out(session)
            (claim,) = claim_due(session, limit=5, lease_s=LEASE_S)  # this sender "crashes" before sending
        leased_until = time.monotonic() + LEASE_S
        deliver_due(sessions, CONFIG)
        if time.monotonic() < leased_until:  # (a machine too busy to try within the lease proves nothing here)
            assert receiver.receipts == [] and deliveries(sessions)[0].attempts == 0  # leased: nobody sends it
        time.sleep(max(0.0, leased_until - time.monotonic()) + 0.1)
        deliver_due(sessions, CONFIG)
        assert receiver.processed_ids() == [claim.event_id]
        # the crashed sender comes back and records a late attempt: logged, but the lease is not its own any more
        late = deliver_once_now(receiver.url, claim.event_id, claim.body, claim.secret)
        with session_scope(sessions) as session:
            assert record_attempt(session, claim, late, policy=CONFIG.policy) is None
    (row,) = deliveries(sessions)
    assert (row.state, row.attempts) == (DeliveryState.DELIVERED, 1)
    assert len(attempts_of(sessions, row.id)) == 2


def deliver_once_now(url: str, event_id: str, body: bytes, secret: str) -> Any:
    import httpx

    with httpx.Client() as client:
        return deliver_once(client, url, event_id, body, secret, timeout=1, allow_hosts=("127.0.0.1",))


def test_refused_target_at_attempt_time_is_dead_without_a_request(sessions: sessionmaker[Session]) -> None:
    with WebhookReceiver() as receiver:
        _, receiver.secret = subscribe(sessions, receiver.url)  # allowed when subscribed
        routed_document(sessions, "bauamt")
        run_beat(sessions, replace(CONFIG, allow_hosts=()))  # no longer allowed: checked again at every attempt
    (row,) = deliveries(sessions)
    assert row.state == DeliveryState.DEAD and (row.last_error or "").startswith("webhook_target_refused")
    assert receiver.receipts == []


def test_inactive_subscriptions_pending_deliveries_wait(sessions: sessionmaker[Session]) -> None:
    with WebhookReceiver() as receiver:
        subscription_id, receiver.secret = subscribe(sessions, receiver.url)
        routed_document(sessions, "bauamt")
        with session_scope(sessions) as session:
            fan_out(session)
            subscriptions.update(session, subscription_id, actor="admin:test", rules=LOCAL, active=False)
        deliver_due(sessions, CONFIG)
        assert receiver.receipts == []
        with session_scope(sessions) as session:
            subscriptions.update(session, subscription_id, actor="admin:test", rules=LOCAL, active=True)
        run_beat(sessions, CONFIG)
    assert len(receiver.processed_ids()) == 1


# --- the kick after a commit -----------------------------------------------------------------------------


def test_kick_after_commits_that_wrote_an_event_only(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "SUBSCRIPTION_CHECK_TTL_SECONDS", 0.0)
    kicks: list[int] = []
    install_kick(sessions, lambda: kicks.append(1))
    routed_document(sessions, "bauamt")
    assert kicks == []  # no subscription: no delivery task is enqueued (the beat still fans out)
    subscribe(sessions, "http://127.0.0.1:9/hook")
    routed_document(sessions, "bauamt")  # one commit with an outbox event
    assert kicks == [1]
    with session_scope(sessions) as session:
        session.execute(select(func.count()).select_from(OutboxEventRow))
    assert kicks == [1]
    with pytest.raises(RuntimeError), session_scope(sessions) as session:
        sha = hashlib.sha256(b"x").hexdigest()
        row, _ = repository.receive_document(session, sha256=sha, filename="x.pdf", kind="pdf", size=1, pages=1,
                                             channel="test", station=None, original_sha=sha)
        repository.transition(session, row, "review")
        session.flush()
        raise RuntimeError("rolled back")
    with session_scope(sessions) as session:  # the next, event-less commit does not kick for the rolled-back one
        session.execute(select(func.count()).select_from(OutboxEventRow))
    assert kicks == [1]

    def broken() -> None:
        raise ConnectionError("broker down")

    install_kick(sessions, broken)
    routed_document(sessions, "bauamt")  # a failing kick never fails the change
    assert kicks == [1, 1]
