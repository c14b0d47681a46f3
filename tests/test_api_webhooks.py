"""``/api/v1/webhooks`` through the real HTTP API, and a document from upload to a real webhook receiver.

The API runs with the in-process pipeline (``InlineDispatcher``, which has no Celery to kick): the test calls
:func:`webhooks.delivery.deliver_due` the way the delivery task does.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from servicekit import REPO, free_port
from sqlalchemy import select
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled
from webhook_receiver import WebhookReceiver

from mailroom.storage.db import session_scope
from mailroom.storage.models import AuditLogRow
from webhooks.delivery import DeliveryConfig, deliver_due

PUBLIC_URL = "https://mailroom.rathaus.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    settings = make_settings(
        tmp_path_factory.mktemp("api-webhooks"), webhook_allow_hosts="127.0.0.1", public_url=PUBLIC_URL,
        webhook_timeout_seconds=2, webhook_retry_base_seconds=0.05, webhook_retry_max_delay_seconds=0.2,
        webhook_retry_window_seconds=5,
    )
    with serve(settings) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client(server.key("admin", "it-admin")) as client:
        yield client


def deliver(server: ApiServer) -> None:
    deliver_due(server.ctx.sessions, DeliveryConfig.from_settings(server.settings))


def audit_entries(server: ApiServer, object_type: str) -> list[AuditLogRow]:
    with session_scope(server.ctx.sessions, readonly=True) as session:
        rows = list(session.scalars(select(AuditLogRow).where(AuditLogRow.object_type == object_type)
                                    .order_by(AuditLogRow.id)).all())
        session.expunge_all()
        return rows


def test_only_admins_manage_webhooks(server: ApiServer) -> None:
    body = {"name": "x", "url": "http://127.0.0.1:9/x"}
    with httpx.Client(base_url=server.base_url) as anonymous:
        assert anonymous.get("/api/v1/webhooks").status_code == 401
    for role in ("station", "clerk", "dms", "reviewer"):
        scope: dict[str, Any] = {"postboxes": ["kaemmerei"]} if role in ("clerk", "dms") else {}
        with server.client(server.key(role, f"{role}-not-admin", **scope)) as client:
            for answer in (client.get("/api/v1/webhooks"), client.post("/api/v1/webhooks", json=body),
                           client.post("/api/v1/webhooks/deliveries/1/replay")):
                assert answer.status_code == 403 and answer.json()["code"] == "forbidden", (role, answer.text)


@pytest.mark.parametrize(("url", "code"), [
    ("http://169.254.169.254/latest/meta-data/", "webhook_target_refused"),  # cloud metadata
    ("https://169.254.169.254/", "webhook_target_refused"),
    ("https://10.20.30.40/hook", "webhook_target_refused"),  # private
    ("https://192.168.1.10/hook", "webhook_target_refused"),
    ("https://[::1]/hook", "webhook_target_refused"),  # loopback
    ("http://dms.example.org/hook", "webhook_target_refused"),  # http to a host not allowed
    ("ftp://127.0.0.1/hook", "webhook_target_refused"),
    ("https://user:pw@127.0.0.1/hook", "webhook_target_refused"),
    ("not a url", "webhook_target_refused"),
])
def test_refused_targets(admin: httpx.Client, url: str, code: str) -> None:
    answer = admin.post("/api/v1/webhooks", json={"name": "bad", "url": url})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code and answer.json()["field"] == "url"


def test_invalid_filters(admin: httpx.Client) -> None:
    url = "http://127.0.0.1:9/hook"
    answer = admin.post("/api/v1/webhooks", json={"name": "x", "url": url, "event_types": ["document.deleted"]})
    assert answer.status_code == 422 and answer.json()["code"] == "unknown_event_type"
    answer = admin.post("/api/v1/webhooks", json={"name": "x", "url": url, "postboxes": ["keller"]})
    assert answer.status_code == 422 and answer.json()["code"] == "unknown_postbox"
    answer = admin.post("/api/v1/webhooks", json={"name": "x"})
    assert answer.status_code == 422 and answer.json()["code"] == "validation_error"
    assert admin.get("/api/v1/webhooks/0000/deliveries?state=lost").json()["code"] in {"validation_error",
                                                                                         "webhook_not_found"}


def test_subscription_lifecycle_never_shows_the_secret_again(server: ApiServer, admin: httpx.Client) -> None:
    created = admin.post("/api/v1/webhooks", json={
        "name": "dms-test", "url": "http://127.0.0.1:9/hook", "event_types": ["document.routed", "document.routed"],
        "postboxes": ["kaemmerei"],
    })
    assert created.status_code == 201, created.text
    view = created.json()
    secret = view["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert view["event_types"] == ["document.routed"] and view["postboxes"] == ["kaemmerei"] and view["active"]
    assert view["created_by"] == "admin:it-admin"
    subscription = f"/api/v1/webhooks/{view['id']}"
    for answer in (admin.get("/api/v1/webhooks"), admin.get(subscription)):
        assert answer.status_code == 200 and secret not in answer.text and "secret" not in answer.json()
    assert view["id"] in [w["id"] for w in admin.get("/api/v1/webhooks").json()["webhooks"]]
    patched = admin.patch(subscription, json={"active": False, "event_types": []})
    assert patched.status_code == 200 and patched.json()["active"] is False and patched.json()["event_types"] == []
    assert "secret" not in patched.json()
    refused = admin.patch(subscription, json={"url": "https://169.254.169.254/"})
    assert refused.status_code == 422 and refused.json()["code"] == "webhook_target_refused"
    rotated = admin.post(f"{subscription}/rotate-secret")
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (secret, None)
    assert admin.delete(subscription).status_code == 204
    gone = admin.get(subscription)
    assert gone.status_code == 404 and gone.json()["code"] == "webhook_not_found"
    assert admin.delete(subscription).status_code == 404
    entries = audit_entries(server, "webhook_subscription")
    mine = [e for e in entries if e.object_id == view["id"]]
    assert [e.action for e in mine] == ["webhook.subscription_created", "webhook.subscription_changed",
                                        "webhook.secret_rotated", "webhook.subscription_deleted"]
    assert all(e.actor == "admin:it-admin" for e in mine)
    assert not any(secret in (e.details_json or "") or rotated.json()["secret"] in (e.details_json or "")
                   for e in entries)


def test_document_from_upload_to_receiver_with_reroute_log_and_replay(server: ApiServer, admin: httpx.Client) -> None:
    with WebhookReceiver(script=["500"]) as receiver:
        created = admin.post("/api/v1/webhooks", json={"name": "dms", "url": receiver.url}).json()
        receiver.secret = created["secret"]
        webhook = f"/api/v1/webhooks/{created['id']}"
        with server.client(server.key("station", "poststelle-1")) as station:
            accepted = upload(station, "0027-enquiry.pdf", (SAMPLES / "0027-enquiry.pdf").read_bytes())
            document_id = accepted.json()["document_id"]
            state = wait_settled(station, document_id)["state"]
        if state == "review":  # route it, so that a re-route can follow
            decided = admin.post(f"/api/v1/documents/{document_id}/decision", json={"postbox": "hauptamt"})
            assert decided.status_code == 200, decided.text
        deliver(server)  # the first attempt gets the 500; the retry is due 0-50 ms later
        for _ in range(20):
            deliver(server)
            if receiver.processed:
                break
        routed_to = receiver.processed[-1].event["document"]["routing"]["postbox"]
        target = "personalamt" if routed_to != "personalamt" else "stadtkasse"
        moved = admin.post(f"/api/v1/documents/{document_id}/reroute", json={"postbox": target, "reason": "Akte"})
        assert moved.status_code == 200, moved.text
        deliver(server)

        processed = [p for p in receiver.processed if p.document_id == document_id]
        assert [p.type for p in processed][-2:] == ["document.routed", "document.rerouted"]
        assert processed[-1].event["document"]["routing"]["postbox"] == target
        links = processed[-1].event["links"]
        assert links["self"] == f"{PUBLIC_URL}/api/v1/documents/{document_id}"
        # the DMS pulls the document with its key, following the link
        with server.client(server.key("dms", "dms-pull", postboxes=[target])) as dms:
            pulled = dms.get(links["self"].removeprefix(PUBLIC_URL))
            assert pulled.status_code == 200 and pulled.json()["document_id"] == document_id
            original = dms.get(links["original"].removeprefix(PUBLIC_URL))
            assert original.content == (SAMPLES / "0027-enquiry.pdf").read_bytes()

        log = admin.get(f"{webhook}/deliveries", params={"document_id": document_id}).json()["deliveries"]
        assert [d["event_type"] for d in log][:2] == ["document.rerouted", "document.routed"]  # newest first
        assert all(d["state"] == "delivered" for d in log)
        first = log[-1]
        assert [a["status"] for a in first["attempt_log"]] == [500, 200]
        assert first["attempt_log"][0]["outcome"] == "retry" and first["attempt_log"][0]["error"] == "HTTP 500"
        assert all(a["latency_ms"] > 0 for a in first["attempt_log"])
        assert admin.get(webhook).json()["deliveries"]["delivered"] >= 2

        # replay: the same id and bytes again; the receiver sees a duplicate and does not process it twice
        replayed = admin.post(f"/api/v1/webhooks/deliveries/{first['id']}/replay")
        assert replayed.status_code == 200 and replayed.json() == {"replayed": [first["id"]]}
        again = admin.post(f"/api/v1/webhooks/deliveries/{first['id']}/replay")
        assert again.status_code == 409 and again.json()["code"] == "delivery_pending"
        assert admin.post("/api/v1/webhooks/deliveries/999999/replay").json()["code"] == "delivery_not_found"
        deliver(server)
    receipts = receiver.receipts_of(first["event_id"])
    assert len(receipts) == 3 and len({r.body for r in receipts}) == 1 and all(r.signature_ok for r in receipts)
    assert [p.event_id for p in receiver.processed].count(first["event_id"]) == 1
    assert json.loads(receipts[0].body)["id"] == first["event_id"]
    actions = [e.action for e in audit_entries(server, "webhook_delivery") if e.object_id == str(first["id"])]
    assert actions == ["webhook.delivered", "webhook.replayed", "webhook.delivered"]


def test_client_error_dead_letters_and_replay_all_dead(server: ApiServer, admin: httpx.Client) -> None:
    with WebhookReceiver(script=["404"]) as receiver:
        created = admin.post("/api/v1/webhooks", json={"name": "dms-404", "url": receiver.url,
                                                       "event_types": ["document.rerouted"]}).json()
        receiver.secret = created["secret"]
        webhook = f"/api/v1/webhooks/{created['id']}"
        with server.client(server.key("station", "poststelle-2")) as station:
            document_id = upload(station, "0011-contract.pdf",
                                 (SAMPLES / "0011-contract.pdf").read_bytes()).json()["document_id"]
            state = wait_settled(station, document_id)["state"]
        if state == "review":
            assert admin.post(f"/api/v1/documents/{document_id}/decision", json={"postbox": "hauptamt"}).is_success
        status = admin.get(f"/api/v1/documents/{document_id}").json()
        current = (status.get("result") or {}).get("routing", {}).get("postbox")
        moved = admin.post(f"/api/v1/documents/{document_id}/reroute",
                           json={"postbox": "stadtkasse" if current != "stadtkasse" else "hauptamt", "reason": "x"})
        assert moved.status_code == 200, moved.text
        deliver(server)
        dead = admin.get(f"{webhook}/deliveries", params={"state": "dead"}).json()["deliveries"]
        assert len(dead) == 1 and dead[0]["last_status"] == 404 and dead[0]["attempts"] == 1
        assert receiver.processed == []
        replayed = admin.post(f"{webhook}/replay", params={"state": "dead"})
        assert replayed.status_code == 200 and replayed.json()["replayed"] == [dead[0]["id"]]
        deliver(server)
    assert receiver.processed_ids() == [dead[0]["event_id"]]
    assert admin.get(f"{webhook}/deliveries", params={"state": "dead"}).json()["deliveries"] == []


def test_reference_receiver_files_the_document_once(server: ApiServer, admin: httpx.Client, tmp_path: Path) -> None:
    """``examples/dms_receiver.py`` as a DMS vendor runs it: verifies, pulls with a dms key, ignores duplicates."""
    spec = importlib.util.spec_from_file_location("dms_receiver", REPO / "examples" / "dms_receiver.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    port = free_port()
    created = admin.post("/api/v1/webhooks", json={"name": "reference", "url": f"http://127.0.0.1:{port}/",
                                                   "event_types": ["document.routed"]}).json()
    with server.client(server.key("station", "poststelle-ref")) as station:
        document_id = upload(station, "0017-application_trade_registration.pdf",
                             (SAMPLES / "0017-application_trade_registration.pdf").read_bytes()).json()["document_id"]
        if wait_settled(station, document_id)["state"] == "review":
            assert admin.post(f"/api/v1/documents/{document_id}/decision", json={"postbox": "hauptamt"}).is_success
    postbox = admin.get(f"/api/v1/documents/{document_id}").json()["result"]["routing"]["postbox"]
    receiver = example.Receiver(secret=created["secret"].encode(), mailroom_url=server.base_url,
                                api_key=server.key("dms", "dms-reference", postboxes=[postbox]), out=tmp_path)
    thread = threading.Thread(target=example.serve, args=(receiver, "127.0.0.1", port), daemon=True)
    thread.start()
    deliver(server)
    stored = tmp_path / f"{document_id}.pdf"
    assert stored.read_bytes().startswith(b"%PDF")
    assert json.loads((tmp_path / f"{document_id}.json").read_text())["type"] == "document.routed"
    log = admin.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["deliveries"]
    (delivery,) = [d for d in log if d["document_id"] == document_id]
    assert delivery["state"] == "delivered"
    stored.unlink()
    assert admin.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/replay").is_success
    deliver(server)  # the replay is a duplicate to the receiver: 200, nothing filed again
    assert not stored.exists()
    log = admin.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["deliveries"]
    assert [d["state"] for d in log if d["document_id"] == document_id] == ["delivered"]


def test_huge_integers_are_refused_not_500(server: ApiServer, admin: httpx.Client) -> None:
    for url, params in ((f"/api/v1/webhooks/deliveries/{2**70}/replay", None),
                        (f"/api/v1/webhooks/deliveries/{2**63}/replay", None)):
        response = admin.post(url, params=params)
        assert response.status_code == 422, response.text
    listed = admin.get("/api/v1/documents", params={"offset": 2**63})
    assert listed.status_code == 422 and listed.json()["code"] == "validation_error", listed.text
