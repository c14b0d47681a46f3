"""Webhook delivery: end-to-end latency from "document routed" to "webhook received", and throughput to a slow
receiver.

A real ``mailroom worker --queues default --beat`` process (embedded SQLite broker by default, ``--redis`` for a
throw-away redis-server) does the delivery, exactly as in ``mailroom serve``: kicked after every commit that wrote
an outbox event, and by the beat every ``MAILROOM_WEBHOOK_POLL_SECONDS`` (default 5 s). The documents are routed
in this process through ``repository.transition`` with a stored result (the transaction that the pipeline's last
step commits: postbox item + outbox event), with the same kick the API and the workers install. The receiver is
a threaded ``http.server`` on 127.0.0.1 that verifies every signature.

* latency: ``--documents`` documents routed one every ``--interval-ms``; per event, the receiver's arrival time
  minus the event's ``occurred_at``; median and p99.
* throughput: ``--burst`` documents routed at once to a receiver that takes ``--slow-ms`` per request; events/s
  from the first ``occurred_at`` to the last arrival, through the worker (``LIGHT_WORKER_CONCURRENCY`` task
  processes, ``MAILROOM_WEBHOOK_THREADS`` requests each), and the same with one in-process ``deliver_due``.

    .venv/bin/python bench/bench_webhooks.py                 # 100 documents, 200 burst, 200 ms receiver
    .venv/bin/python bench/bench_webhooks.py --redis
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from servicekit import Process, RedisServer, service_env, wait_for
from sqlalchemy.orm import Session, sessionmaker
from webhook_receiver import WebhookReceiver

from cli.commands.service import LIGHT_WORKER_CONCURRENCY
from mailroom.settings import Settings
from mailroom.storage import repository
from mailroom.storage.db import make_engine, migrate, session_factory, session_scope
from webhooks import subscriptions
from webhooks.delivery import DeliveryConfig, deliver_due, install_kick
from webhooks.subscriptions import TargetRules
from workers.celery_app import DEFAULT_QUEUE, create_celery


def route_one(sessions: sessionmaker[Session], postbox: str = "kaemmerei") -> str:
    with session_scope(sessions) as session:
        sha = hashlib.sha256(os.urandom(16)).hexdigest()
        row, _ = repository.receive_document(session, sha256=sha, filename="brief.pdf", kind="pdf", size=1, pages=1,
                                             channel="bench", station=None, original_sha=sha)
        repository.transition(session, row, "recognised")
        repository.save_result(session, row, {"schema": "mailroom.result/v1", "document_id": row.id,
                                              "routing": {"postbox": postbox, "status": "routed"}})
        repository.transition(session, row, "routed")
        return row.id


def latencies_ms(receiver: WebhookReceiver) -> list[float]:
    out = []
    for processed in receiver.processed:
        occurred = datetime.fromisoformat(processed.occurred_at.replace("Z", "+00:00")).timestamp()
        first = min(r.at for r in receiver.receipts if r.event_id == processed.event_id)
        out.append((first - occurred) * 1000)
    return out


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def subscribe(sessions: sessionmaker[Session], receiver: WebhookReceiver, name: str) -> str:
    with session_scope(sessions) as session:
        row, secret = subscriptions.create(session, name=name, url=receiver.url, actor="bench",
                                           rules=TargetRules(allow_hosts=("127.0.0.1",)))
    receiver.secret = secret
    return row.id


def deactivate(sessions: sessionmaker[Session], subscription_id: str) -> None:
    with session_scope(sessions) as session:
        subscriptions.update(session, subscription_id, actor="bench", rules=TargetRules(), active=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--interval-ms", type=float, default=100)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--slow-ms", type=float, default=200)
    parser.add_argument("--redis", action="store_true", help="a throw-away redis-server as the broker")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    redis = RedisServer(root / "redis") if args.redis else None
    if redis:
        redis.start()
    data_dir = root / "data"
    settings = Settings(_env_file=None, data_dir=data_dir, broker_url=redis.url if redis else None,
                        webhook_allow_hosts="127.0.0.1")
    engine = make_engine(settings)
    migrate(engine)
    sessions = session_factory(engine)
    app = create_celery(settings)
    install_kick(sessions, app.kick_delivery)  # as the API and the workers do
    env = service_env(data_dir, redis.url if redis else None, MAILROOM_LOG_LEVEL="WARNING",
                      MAILROOM_WEBHOOK_ALLOW_HOSTS="127.0.0.1")
    worker = Process(["worker", "--queues", DEFAULT_QUEUE, "--concurrency", str(LIGHT_WORKER_CONCURRENCY), "--beat"],
                     env, root / "worker.log").start()
    report: dict[str, Any] = {"broker": "redis" if redis else "embedded SQLite",
                              "poll_seconds": settings.webhook_poll_seconds, "threads": settings.webhook_threads}
    try:
        time.sleep(8)  # the worker is up (imports, broker)
        # 1. latency, a fast receiver
        fast = WebhookReceiver()
        fast_id = subscribe(sessions, fast, "fast")
        for _ in range(args.documents):
            route_one(sessions)
            time.sleep(args.interval_ms / 1000)
        wait_for(lambda: len(fast.processed) >= args.documents, 120, "every webhook")
        lat = latencies_ms(fast)
        assert all(r.signature_ok for r in fast.receipts)
        report["latency"] = {"documents": args.documents, "interval_ms": args.interval_ms,
                             "median_ms": round(statistics.median(lat), 1), "p99_ms": round(p99(lat), 1),
                             "max_ms": round(max(lat), 1), "requests": len(fast.receipts)}
        deactivate(sessions, fast_id)
        fast.stop()

        # 2. throughput through the worker, a slow receiver
        slow = WebhookReceiver(delay_s=args.slow_ms / 1000)
        slow_id = subscribe(sessions, slow, "slow")
        started = time.time()
        for _ in range(args.burst):
            route_one(sessions)
        wait_for(lambda: len(slow.processed) >= args.burst, 300, "every webhook to the slow receiver")
        elapsed = max(r.at for r in slow.receipts) - started
        report["throughput_worker"] = {"events": args.burst, "slow_ms": args.slow_ms, "seconds": round(elapsed, 2),
                                       "events_per_s": round(args.burst / elapsed, 1),
                                       "requests": len(slow.receipts)}
        deactivate(sessions, slow_id)
        slow.stop()
    finally:
        worker.stop()

    # 3. the same burst with one in-process deliver_due (no worker): the bound of one task
    slow = WebhookReceiver(delay_s=args.slow_ms / 1000)
    subscribe(sessions, slow, "slow-inprocess")
    for _ in range(args.burst):
        route_one(sessions)
    started = time.time()
    deliver_due(sessions, DeliveryConfig.from_settings(settings), budget_s=600)
    elapsed = time.time() - started
    slow.stop()
    report["throughput_one_task"] = {"events": len(slow.processed), "seconds": round(elapsed, 2),
                                     "events_per_s": round(len(slow.processed) / elapsed, 1)}
    engine.dispose()
    if redis:
        redis.kill()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
