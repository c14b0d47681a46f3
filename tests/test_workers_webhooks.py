"""Webhooks from the real service: ``mailroom serve`` in the embedded mode (API, an OCR worker, a light worker with
the beat) delivers the events of uploaded documents to a real receiver: kicked after the change, retried by the
beat after a 500, signed, each event processed once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from servicekit import REPO, SAMPLES, Process, free_port, service_env, station_key, upload, wait_for, wait_http
from webhook_receiver import WebhookReceiver

BORN_DIGITAL = ["0027-enquiry.pdf", "0011-contract.pdf", "0017-application_trade_registration.pdf"]
WEBHOOK_ENV = {
    "MAILROOM_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
    "MAILROOM_WEBHOOK_POLL_SECONDS": "1",
    "MAILROOM_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "MAILROOM_WEBHOOK_TIMEOUT_SECONDS": "3",
}


def admin_key(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "cli", "keys", "create", "--role", "admin",
                           "--name", "it-admin"], env=env, capture_output=True, text=True, check=True, cwd=REPO)
    return done.stdout.strip()


def test_embedded_service_delivers_webhooks_for_uploaded_documents(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = service_env(data_dir, MAILROOM_PUBLIC_URL=base, **WEBHOOK_ENV)
    station, admin = station_key(env), admin_key(env)
    service = Process(["serve", "--port", str(port)], env, tmp_path / "serve.log").start()
    receiver = WebhookReceiver(script=["500"])  # the first request fails: the beat retries it
    try:
        wait_http(base)
        created = httpx.post(f"{base}/api/v1/webhooks", headers={"Authorization": f"Bearer {admin}"},
                             json={"name": "dms", "url": receiver.url}, timeout=30)
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        ids = [upload(base, station, SAMPLES / name) for name in BORN_DIGITAL]
        wait_for(lambda: {p.document_id for p in receiver.processed} >= set(ids), 150,
                 f"webhooks for {ids}: {receiver.processed_ids()}")
        time.sleep(2)  # time for a (wrong) second delivery to show up
    finally:
        service.stop()
        receiver.stop()

    assert all(r.signature_ok for r in receiver.receipts)
    assert len(receiver.receipts) == len(receiver.processed) + 1  # the 500, retried once; nothing else twice
    assert receiver.receipts[0].step == "500"
    for processed in receiver.processed:
        event = processed.event
        assert event["type"] in {"document.routed", "document.review_required"}
        assert event["links"]["self"] == f"{base}/api/v1/documents/{processed.document_id}"
        assert datetime.fromisoformat(event["occurred_at"]) <= datetime.fromisoformat(
            datetime.fromtimestamp(processed.at).astimezone().isoformat())
        assert json.loads(next(r.body for r in receiver.receipts if r.event_id == processed.event_id)) == event
    log = (tmp_path / "serve.log").read_text()
    assert "webhooks:" in log and "delivered" in log
