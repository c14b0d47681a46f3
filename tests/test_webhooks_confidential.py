"""Confidential letters on the webhook channel: the content only to subscriptions that may open the letter (filtered
on a postbox it lies in and bound to its person), a stub without content to every other subscription.

Real SQLite database, the real fan-out and leasing (``webhooks.delivery``); the events are written as the outbox
writes them. Who gets what is written down here per case, not computed by the code under test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from test_api_support import make_settings

from mailroom.errors import UnknownSubscriptionPerson
from mailroom.storage.db import make_engine, migrate, session_factory, session_scope
from mailroom.storage.models import OutboxEventRow, new_id, utcnow
from mailroom.storage.outbox import iso_time
from webhooks import subscriptions
from webhooks.delivery import claim_due, fan_out, replay
from webhooks.subscriptions import TargetRules

P_A, P_B = "personalamt", "hauptamt"
SCHMITZ, MEIER = "schmitz", "meier"
RULES = TargetRules(allow_hosts=("127.0.0.1",))
SECRET_WORDS = ("Arztbrief", "DE02120300000000202051", "RE-4711", "Krankmeldung", "trace")

#: name -> (postbox filter, person)
SUBSCRIPTIONS: dict[str, tuple[list[str], str | None]] = {
    "all": ([], None),
    "p-a": ([P_A], None),
    "p-a-schmitz": ([P_A], SCHMITZ),
    "p-a-meier": ([P_A], MEIER),
    "p-b-schmitz": ([P_B], SCHMITZ),
}


def result(postbox: str | None, *, person: str | None = SCHMITZ, confidential: bool = True,
           copies: tuple[str, ...] = (), history: tuple[str, ...] = ()) -> dict[str, Any]:
    routing: dict[str, Any] = {"status": "routed" if postbox else "review", "decided_by": "rule:personal@1",
                               "confidence": 0.97, "trace": [{"rule": "personal", "matched": True}],
                               "copies": list(copies), "history": [{"postbox": p} for p in history]}
    if postbox:
        routing["postbox"] = postbox
    if confidential:
        routing["confidential"] = True
    if person:
        routing["person"] = person
    return {"schema": "mailroom.result/v1", "document_id": new_id(), "sha256": "ab" * 32,
            "filename": "Arztbrief Schmitz Krankmeldung.pdf", "pages": 1,
            "recipient": {"text": "Frau Schmitz persönlich", "person": person},
            "invoice": {"iban": {"value": "DE02120300000000202051"}, "invoice_number": {"value": "RE-4711"}},
            "routing": routing}


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(make_settings(tmp_path))
    migrate(engine)
    factory = session_factory(engine)
    with session_scope(factory) as session:
        for name, (postboxes, person) in SUBSCRIPTIONS.items():
            subscriptions.create(session, name=name, url=f"http://127.0.0.1:9/{name}", postboxes=postboxes,
                                 person=person, actor="test", rules=RULES, known_persons={SCHMITZ, MEIER})
    yield factory
    engine.dispose()


def deliveries_of(sessions: sessionmaker[Session], event_type: str, document: dict[str, Any]) -> dict[str, bytes]:
    """Write one event, fan it out and lease everything: the bytes each subscription would be sent."""
    with session_scope(sessions) as session:
        event_id = new_id()
        payload = {"id": event_id, "type": event_type, "occurred_at": iso_time(utcnow()), "document": document,
                   "links": {"self": f"/api/v1/documents/{document['document_id']}"}}
        session.add(OutboxEventRow(id=event_id, document_id=None, type=event_type,
                                   payload_json=json.dumps(payload), created_at=utcnow()))
        session.flush()
        fan_out(session)
        names = {s.id: s.name for s in subscriptions.list_all(session)}
        claims = claim_due(session, limit=100, lease_s=60)
    return {names[c.subscription_id]: c.body for c in claims if c.event_id == event_id}


def is_stub(body: bytes) -> bool:
    event = json.loads(body)
    if event.get("withheld") != "confidential":
        return False
    assert not any(word in body.decode() for word in SECRET_WORDS), body
    assert "links" not in event and "filename" not in event["document"]
    return True


def test_confidential_letter_content_only_to_the_subscription_bound_to_its_person(
        sessions: sessionmaker[Session]) -> None:
    document = result(P_A)
    sent = deliveries_of(sessions, "document.routed", document)
    assert set(sent) == {"all", "p-a", "p-a-schmitz", "p-a-meier"}  # p-b-schmitz does not want P_A at all
    assert {name for name, body in sent.items() if not is_stub(body)} == {"p-a-schmitz"}
    full = json.loads(sent["p-a-schmitz"])
    assert full["document"]["filename"].startswith("Arztbrief") and full["links"]
    stub = json.loads(sent["p-a"])
    assert stub["document"] == {"document_id": document["document_id"], "schema": "mailroom.result/v1",
                                "routing": {"postbox": P_A, "person": SCHMITZ, "status": "routed",
                                            "confidential": True}}
    assert stub["id"] == full["id"] and stub["type"] == "document.routed" and stub["occurred_at"]


def test_confidential_letter_without_a_named_person_goes_to_the_holders_of_its_postbox(
        sessions: sessionmaker[Session]) -> None:
    sent = deliveries_of(sessions, "document.routed", result(P_A, person=None))
    assert {name for name, body in sent.items() if not is_stub(body)} == {"p-a", "p-a-schmitz", "p-a-meier"}
    assert is_stub(sent["all"])


def test_rerouted_confidential_letter_follows_its_postbox(sessions: sessionmaker[Session]) -> None:
    sent = deliveries_of(sessions, "document.rerouted", result(P_B, history=(P_A,)))
    # the postbox it left hears that it left (a stub: withdraw it), the new postbox's person gets the content
    assert {name for name, body in sent.items() if not is_stub(body)} == {"p-b-schmitz"}
    assert is_stub(sent["p-a-schmitz"]) and json.loads(sent["p-a-schmitz"])["document"]["routing"]["postbox"] == P_B


def test_copy_in_a_postbox_counts_as_lying_there(sessions: sessionmaker[Session]) -> None:
    sent = deliveries_of(sessions, "document.routed", result(P_B, copies=(P_A,)))
    assert {name for name, body in sent.items() if not is_stub(body)} == {"p-a-schmitz", "p-b-schmitz"}


def test_confidential_letter_in_review_reaches_nobody_with_content(sessions: sessionmaker[Session]) -> None:
    sent = deliveries_of(sessions, "document.review_required", result(None))
    assert set(sent) == {"all"} and is_stub(sent["all"])


def test_ordinary_letters_are_sent_in_full(sessions: sessionmaker[Session]) -> None:
    sent = deliveries_of(sessions, "document.routed", result(P_A, confidential=False))
    assert set(sent) == {"all", "p-a", "p-a-schmitz", "p-a-meier"}
    assert not any(json.loads(body).get("withheld") for body in sent.values())


def test_a_replayed_stub_is_the_same_bytes(sessions: sessionmaker[Session]) -> None:
    sent = deliveries_of(sessions, "document.routed", result(P_A))
    with session_scope(sessions) as session:
        claims = {c.delivery_id: c for c in claim_due(session, limit=100, lease_s=60)}
        assert not claims  # all leased already
    with session_scope(sessions) as session:
        from mailroom.storage.subscriptions import WebhookDeliveryRow
        for row in session.query(WebhookDeliveryRow).all():
            row.state, row.leased_until = "dead", None
        session.flush()
        for row in session.query(WebhookDeliveryRow).all():
            replay(session, row.id, actor="test")
        names = {s.id: s.name for s in subscriptions.list_all(session)}
        again = {names[c.subscription_id]: c.body for c in claim_due(session, limit=100, lease_s=60)}
    assert again == sent


def test_a_person_binding_needs_a_known_person_and_a_postbox_filter(sessions: sessionmaker[Session]) -> None:
    with session_scope(sessions) as session:
        with pytest.raises(UnknownSubscriptionPerson):
            subscriptions.create(session, name="x", url="http://127.0.0.1:9/x", postboxes=[P_A], person="niemand",
                                 actor="test", rules=RULES, known_persons={SCHMITZ})
        with pytest.raises(UnknownSubscriptionPerson):
            subscriptions.create(session, name="x", url="http://127.0.0.1:9/x", person=SCHMITZ,
                                 actor="test", rules=RULES, known_persons={SCHMITZ})


def _example_receiver(tmp_path: Path, requests: list[str]) -> Any:
    """``examples/dms_receiver.py``; its mailroom answers every download 404 (``document_not_found``), as
    mailroom does for a key that may not read the document (a fault injected in the transport)."""
    import importlib.util

    import httpx
    from servicekit import REPO
    spec = importlib.util.spec_from_file_location("dms_receiver", REPO / "examples" / "dms_receiver.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    receiver = example.Receiver(secret=b"whsec_x", mailroom_url="http://mailroom.invalid", api_key="mr_x_y",
                                out=tmp_path)

    def not_found(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        return httpx.Response(404, json={"code": "document_not_found", "message": "no such document"})

    receiver.api = httpx.Client(base_url="http://mailroom.invalid", transport=httpx.MockTransport(not_found))
    return receiver


def _signed(body: bytes) -> dict[str, str]:
    import time

    from webhooks.sender import sign
    return {"mailroom-signature": sign("whsec_x", body, int(time.time()))}


def test_reference_receiver_tells_not_for_your_key_from_withdrawn(
        sessions: sessionmaker[Session], tmp_path: Path) -> None:
    requests: list[str] = []
    receiver = _example_receiver(tmp_path, requests)
    document = result(P_A)
    stub = deliveries_of(sessions, "document.routed", document)["p-a"]
    (tmp_path / f"{document['document_id']}.pdf").write_bytes(b"%PDF filed before it was re-routed away")
    # a stub: nothing is fetched, a copy filed before is withdrawn, 200
    assert receiver.handle(_signed(stub), stub) == (200, "ok")
    assert requests == [] and not list(tmp_path.glob(f"{document['document_id']}.*"))
    # the full event of a confidential letter, but the key may not read it: a configuration error, 503 (retried,
    # then dead-lettered where the admin sees it), never silently "withdrawn"
    full = deliveries_of(sessions, "document.routed", result(P_A))["p-a-schmitz"]
    assert receiver.handle(_signed(full), full)[0] == 503 and requests
    # an ordinary letter that answers 404: withdrawn (re-routed away), acknowledged
    ordinary = deliveries_of(sessions, "document.routed", result(P_A, confidential=False))["p-a"]
    assert receiver.handle(_signed(ordinary), ordinary) == (200, "ok")
