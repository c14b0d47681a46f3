"""The generated authorisation test: every /api/v1 route of the app, every role and scope, allow or deny.

``ROUTES`` classifies every (method, path) of the app: which roles may call it and what scopes it (a document in
the path, the transfer note of a file, nothing). A route the table does not classify fails the test, and so does
a classified route that no longer exists: a new route must be thought about before it ships.

Each route is called for every case of ``CASES``: a key (or none, or a revoked one) against a target document
whose visibility to that key is written down here, not computed by the code under test. The expected outcome
follows from the table: 401 without a valid key, 403 for a role the route does not admit, 404 for a document out
of scope, which must be byte-for-byte the answer for a document that does not exist; otherwise the request gets
past access control (2xx, or 4xx of validation / state such as 409 and 422: probes are chosen so that allowed
calls change nothing that matters here). Listings are checked for leaks separately, page by page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import select
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled
from webhook_receiver import WebhookReceiver

from api.app import create_app
from mailroom.storage import keys, repository
from mailroom.storage.db import session_scope
from mailroom.storage.models import OutboxEventRow
from webhooks.delivery import DeliveryConfig, deliver_due
from workers.dispatch import InlineDispatcher

P_A = "buergerbuero"
P_B = "hauptamt"
PERSON = "schmitz"
MISSING = "f" * 32  # a document id that does not exist
# no_longer_visible: a station asking about its own upload that was routed confidentially (out of its scope too)
HIDDEN_CODES = {"document_not_found", "postbox_not_found", "no_longer_visible"}

ADMIN, STATION, CLERK, DMS, REVIEWER = "admin", "station", "clerk", "dms", "reviewer"
ALL_ROLES = frozenset({ADMIN, STATION, CLERK, DMS, REVIEWER})


@dataclass(frozen=True)
class Access:
    """Who may call a route: ``roles`` (others 403) and its ``scope``: ``none``; ``document`` (the document in the
    path must be visible: else 404); ``postbox`` (the postbox in the path must be the key's); ``postbox_document``
    (the document must be visible and lie in the postbox of the path); ``note`` (the transfer note: admin, or the
    station that uploaded the file)."""

    roles: frozenset[str]
    scope: str = "none"
    probe: dict[str, Any] = field(default_factory=dict)  # request kwargs of an allowed call that changes nothing
    path: dict[str, str] = field(default_factory=dict)  # path parameter values other than the target's


#: An empty JSON object: fails body validation after access control (a malformed JSON body would be refused before
#: the key is looked at: FastAPI decodes JSON bodies first).
EMPTY_JSON = {"json": {}}
ONLY = frozenset
ANY_KEY = ALL_ROLES
ADMIN_ONLY = ONLY({ADMIN})
POSTBOX_ROLES = ONLY({CLERK, DMS, ADMIN})
DOCUMENT_READ = Access(ANY_KEY, "document")

#: The expected-access table: every (method, path) of /api/v1.
ROUTES: dict[tuple[str, str], Access] = {
    # documents: stations upload; every key lists what it may see; reads need the document in scope
    ("POST", "/api/v1/documents"): Access(ONLY({STATION}), probe={"files": {"file": ("empty.pdf", b"")}}),
    ("GET", "/api/v1/documents"): Access(ANY_KEY),
    ("GET", "/api/v1/documents/{document_id}"): DOCUMENT_READ,
    ("GET", "/api/v1/documents/{document_id}/events"): DOCUMENT_READ,
    ("GET", "/api/v1/documents/{document_id}/original"): DOCUMENT_READ,
    ("GET", "/api/v1/documents/{document_id}/searchable.pdf"): DOCUMENT_READ,
    ("GET", "/api/v1/documents/{document_id}/pages/{n}/image"): Access(ANY_KEY, "document", path={"n": "1"}),
    ("GET", "/api/v1/documents/{document_id}/transfer-note"): Access(ONLY({ADMIN, STATION}), "note"),
    ("GET", "/api/v1/documents/{document_id}/text"): DOCUMENT_READ,
    # corrections: reviewers decide the review queue; re-routes and copies by those who see the document
    ("POST", "/api/v1/documents/{document_id}/decision"): Access(
        ONLY({REVIEWER, ADMIN}), "document", probe={"json": {"postbox": "gibt-es-nicht"}}),
    ("POST", "/api/v1/documents/{document_id}/reroute"): Access(
        ONLY({CLERK, DMS, REVIEWER, ADMIN}), "document", probe={"json": {"postbox": "gibt-es-nicht", "reason": "x"}}),
    ("POST", "/api/v1/documents/{document_id}/fields"): Access(
        ONLY({REVIEWER, ADMIN}), "document", probe={"json": {"fields": {"gibt_es_nicht": "x"}}}),
    ("POST", "/api/v1/documents/{document_id}/copy"): Access(
        ONLY({CLERK, DMS, REVIEWER, ADMIN}), "document", probe={"json": {"postbox": "gibt-es-nicht", "reason": "x"}}),
    # rescan requests: reviewers send a scan in review back (the probe has no message: 422); its station (or an
    # admin) closes the request (none of the documents waits for a rescan: 409, nothing changes)
    ("POST", "/api/v1/documents/{document_id}/rescan"): Access(
        ONLY({REVIEWER, ADMIN}), "document", probe={"json": {"message": ""}}),
    ("POST", "/api/v1/documents/{document_id}/dismiss"): Access(ONLY({STATION, ADMIN}), "document", probe=EMPTY_JSON),
    # "split here": reviewers split a document in review (the probe names no page: 422, nothing changes)
    ("POST", "/api/v1/documents/{document_id}/split"): Access(
        ONLY({REVIEWER, ADMIN}), "document", probe={"json": {"before_pages": []}}),
    # deletion on request: admins only (the probe's body is malformed: nothing is deleted)
    ("DELETE", "/api/v1/documents/{document_id}"): Access(ADMIN_ONLY, probe=EMPTY_JSON),
    # processing a failed document again: admins only (the probe's documents did not fail: 409, nothing changes)
    ("POST", "/api/v1/documents/{document_id}/reprocess"): Access(ADMIN_ONLY),
    # postboxes: clerk and dms keys work their own postboxes (the document's; others 404), admins all
    ("GET", "/api/v1/postboxes"): Access(POSTBOX_ROLES),
    ("GET", "/api/v1/postboxes/{postbox}/documents"): Access(POSTBOX_ROLES, "postbox"),
    ("GET", "/api/v1/postboxes/{postbox}/documents/{document_id}"): Access(POSTBOX_ROLES, "postbox_document"),
    ("POST", "/api/v1/postboxes/{postbox}/documents/{document_id}/claim"): Access(POSTBOX_ROLES, "postbox_document"),
    ("POST", "/api/v1/postboxes/{postbox}/documents/{document_id}/release"): Access(
        POSTBOX_ROLES, "postbox_document"),
    ("POST", "/api/v1/postboxes/{postbox}/documents/{document_id}/acknowledge"): Access(
        POSTBOX_ROLES, "postbox_document"),
    # organisation directory: every key reads, admins replace (the probe is an invalid directory)
    ("GET", "/api/v1/directory"): Access(ANY_KEY),
    ("PUT", "/api/v1/directory"): Access(
        ADMIN_ONLY, probe={"content": b"kind\nnonsense\n", "headers": {"Content-Type": "text/csv"}}),
    # rules: admins only (probes: malformed bodies, the active version 1, versions that do not exist)
    ("GET", "/api/v1/rules"): Access(ADMIN_ONLY),
    ("GET", "/api/v1/rules/versions/{number}"): Access(ADMIN_ONLY, path={"number": "1"}),
    ("POST", "/api/v1/rules/validate"): Access(ADMIN_ONLY, probe=EMPTY_JSON),
    ("POST", "/api/v1/rules/versions"): Access(ADMIN_ONLY, probe=EMPTY_JSON),
    ("PUT", "/api/v1/rules/versions/{number}"): Access(ADMIN_ONLY, probe=EMPTY_JSON, path={"number": "1"}),
    ("DELETE", "/api/v1/rules/versions/{number}"): Access(ADMIN_ONLY, path={"number": "1"}),
    ("POST", "/api/v1/rules/versions/{number}/simulate"): Access(ADMIN_ONLY, path={"number": "1"}),
    ("POST", "/api/v1/rules/versions/{number}/activate"): Access(ADMIN_ONLY, path={"number": "1"}),
    ("POST", "/api/v1/rules/rollback"): Access(ADMIN_ONLY, probe={"params": {"to": 999}}),
    ("GET", "/api/v1/rules/export"): Access(ADMIN_ONLY),
    ("POST", "/api/v1/rules/import"): Access(ADMIN_ONLY, probe=EMPTY_JSON),
    ("GET", "/api/v1/rules/changes"): Access(ADMIN_ONLY),
    # webhooks: admins only (probes: malformed bodies, subscriptions and deliveries that do not exist)
    ("POST", "/api/v1/webhooks"): Access(ADMIN_ONLY, probe=EMPTY_JSON),
    ("GET", "/api/v1/webhooks"): Access(ADMIN_ONLY),
    ("GET", "/api/v1/webhooks/{subscription_id}"): Access(ADMIN_ONLY),
    ("PATCH", "/api/v1/webhooks/{subscription_id}"): Access(ADMIN_ONLY, probe=EMPTY_JSON),
    ("DELETE", "/api/v1/webhooks/{subscription_id}"): Access(ADMIN_ONLY),
    ("POST", "/api/v1/webhooks/{subscription_id}/rotate-secret"): Access(ADMIN_ONLY),
    ("GET", "/api/v1/webhooks/{subscription_id}/deliveries"): Access(ADMIN_ONLY),
    ("POST", "/api/v1/webhooks/deliveries/{delivery_id}/replay"): Access(ADMIN_ONLY),
    ("POST", "/api/v1/webhooks/{subscription_id}/replay"): Access(ADMIN_ONLY),
}

#: Path parameters that are not about the target document: values that name nothing (or the active rules).
DEFAULT_PATH = {"subscription_id": MISSING, "delivery_id": MISSING, "number": "1", "n": "1"}

# --- the world: keys and documents whose visibility is written down ----------------------------------------

KEYS: dict[str, tuple[str, dict[str, Any]]] = {
    "admin": (ADMIN, {}),
    "station-a": (STATION, {}),
    "station-b": (STATION, {}),
    "clerk-a": (CLERK, {"postboxes": [P_A]}),
    "dms-a": (DMS, {"postboxes": [P_A]}),
    "clerk-b": (CLERK, {"postboxes": [P_B]}),
    "dms-b": (DMS, {"postboxes": [P_B]}),
    "clerk-a-schmitz": (CLERK, {"postboxes": [P_A], "person": PERSON}),
    "reviewer": (REVIEWER, {}),
    "revoked": (ADMIN, {}),
}


@dataclass(frozen=True)
class Doc:
    """A test document: who uploads it (station key), where it ends up."""

    station: str
    sample: str
    state: str  # routed | review
    postbox: str | None = None
    copies: tuple[str, ...] = ()
    confidential: bool = False


DOCS = {
    "A": Doc("station-a", "0027-enquiry.pdf", "routed", P_A),
    "B": Doc("station-b", "0011-contract.pdf", "routed", P_B),
    "copy": Doc("station-b", "0017-application_trade_registration.pdf", "routed", P_B, copies=(P_A,)),
    "conf": Doc("station-a", "0019-job_application.pdf", "routed", P_A, confidential=True),
    "review": Doc("station-a", "0011-contract.pdf", "review"),
}

#: Who sees which document (lists and reads), written down, not computed.
VISIBLE: dict[str, set[str]] = {
    "admin": {"A", "B", "copy", "conf", "review"},
    "station-a": {"A", "review"},  # its own uploads, except the confidential letter
    "station-b": {"B", "copy"},
    "clerk-a": {"A", "copy"},  # P_A holds A and a copy of "copy"; "conf" is for Frau Schmitz only
    "dms-a": {"A", "copy"},
    "clerk-b": {"B", "copy"},
    "dms-b": {"B", "copy"},
    "clerk-a-schmitz": {"A", "copy", "conf"},
    "reviewer": {"review"},
}
#: Whose transfer note a key may read: admins all, a station those of its uploads (also the confidential one).
NOTES: dict[str, set[str]] = {"admin": set(DOCS), "station-a": {"A", "conf", "review"}, "station-b": {"B", "copy"}}


@dataclass(frozen=True)
class Case:
    key: str | None  # None: no Authorization header
    target: str

    @property
    def label(self) -> str:
        return f"{self.key or 'no key'} -> {self.target}"


CASES = [
    Case(None, "A"), Case("revoked", "A"),
    Case("admin", "A"), Case("admin", "conf"), Case("admin", "review"),
    Case("station-a", "A"), Case("station-a", "conf"), Case("station-b", "A"), Case("station-a", "B"),
    Case("clerk-a", "A"), Case("dms-a", "A"), Case("clerk-b", "A"), Case("dms-b", "A"),
    Case("clerk-a", "copy"), Case("clerk-b", "copy"),
    Case("clerk-a", "conf"), Case("dms-a", "conf"), Case("clerk-a-schmitz", "conf"), Case("clerk-b", "conf"),
    Case("clerk-a", "review"), Case("reviewer", "review"), Case("reviewer", "A"), Case("reviewer", "conf"),
]


@dataclass
class World:
    server: ApiServer
    tokens: dict[str, str]
    ids: dict[str, str]
    app_routes: set[tuple[str, str]]

    def client(self, key: str | None) -> httpx.Client:
        return self.server.client(self.tokens[key] if key else None)


def _settle(server: ApiServer, document_id: str, doc: Doc) -> None:
    """Put a processed document where the test wants it (as the pipeline or a reviewer would)."""
    with session_scope(server.ctx.sessions) as session:
        row = repository.get_document(session, document_id)
        assert row is not None and row.result_json
        result = json.loads(row.result_json)
        routing: dict[str, Any] = {**result["routing"], "status": doc.state, "postbox": doc.postbox,
                                   "copies": list(doc.copies), "decided_by": "rule:test@1", "confidence": 0.9}
        if doc.confidential:
            routing.update(confidential=True, person=PERSON)
        else:
            routing.pop("confidential", None)
            routing.pop("person", None)
        result["routing"] = routing
        repository.save_result(session, row, result)
        if row.state != doc.state or doc.state == "routed":
            repository.transition(session, row, doc.state, reason="test setup")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with serve(make_settings(tmp_path_factory.mktemp("authz"), webhook_allow_hosts="127.0.0.1")) as server:
        tokens = {}
        for name, (role, scope) in KEYS.items():
            tokens[name] = server.key(role, name, **scope)
        with session_scope(server.ctx.sessions) as session:
            assert keys.revoke_key(session, "revoked") is not None
        ids: dict[str, str] = {}
        for label, doc in DOCS.items():
            with server.client(tokens[doc.station]) as station, server.client(tokens["admin"]) as admin:
                data = (SAMPLES / doc.sample).read_bytes() + f"\n% authz {label}\n".encode()
                response = upload(station, f"{label}.pdf", data)
                assert response.status_code == 202, response.text
                ids[label] = response.json()["document_id"]
                # polled as admin: the pipeline may find a letter confidential, which its station then cannot see
                assert wait_settled(admin, ids[label])["state"] in {"routed", "review"}
        for label, doc in DOCS.items():
            _settle(server, ids[label], doc)
        with server.client(tokens["admin"]) as admin:
            assert admin.get("/api/v1/rules").status_code == 200  # the default pack is version 1, active
        app = create_app(server.settings, dispatcher=InlineDispatcher(server.ctx), pipeline=server.ctx)
        routes = {
            (method, route.path)
            for route in iter_route_contexts(app.routes) if route.path and route.path.startswith("/api/v1")
            for method in getattr(route, "methods", None) or ()
        }
        assert len(routes) >= 30, routes  # the app's routes were found at all
        yield World(server=server, tokens=tokens, ids=ids, app_routes=routes)


# --- the table is complete --------------------------------------------------------------------------------------


def test_every_route_is_classified(world: World) -> None:
    unclassified = sorted(world.app_routes - set(ROUTES))
    assert not unclassified, f"routes without an entry in the expected-access table: {unclassified}"
    stale = sorted(set(ROUTES) - world.app_routes)
    assert not stale, f"the expected-access table names routes the app does not have: {stale}"


# --- every route x every case -----------------------------------------------------------------------------------


def expected(access: Access, case: Case) -> str:
    if case.key is None or case.key == "revoked":
        return "401"
    role = KEYS[case.key][0]
    if role not in access.roles:
        return "403"
    if access.scope in ("document", "postbox_document") and case.target not in VISIBLE.get(case.key, set()):
        return "404"
    if access.scope == "postbox_document" and not holders(case.target):
        return "404"  # a document in review lies in no postbox
    if access.scope == "note" and case.target not in NOTES.get(case.key, set()):
        return "404"
    if access.scope == "postbox" and role != ADMIN and postbox_for(case) not in KEYS[case.key][1].get("postboxes", []):
        return "404"
    return "allow"


def holders(target: str) -> list[str]:
    """The postboxes that hold a test document (primary first)."""
    doc = DOCS[target]
    return [box for box in (doc.postbox, *doc.copies) if box is not None]


def postbox_for(case: Case) -> str:
    """The postbox named in the path: one of the key's that holds the document, else where the document lies."""
    own = KEYS[case.key][1].get("postboxes", []) if case.key else []
    boxes = holders(case.target)
    return next((box for box in boxes if box in own), boxes[0] if boxes else P_A)


def _url(world: World, path: str, access: Access, case: Case, document_id: str) -> str:
    values = {**DEFAULT_PATH, **access.path, "document_id": document_id, "postbox": postbox_for(case)}
    return path.format(**values)


def outcome(response: httpx.Response) -> str:
    if response.status_code in (401, 403):
        return str(response.status_code)
    if response.status_code == 404 and response.json().get("code") in HIDDEN_CODES:
        return "404"
    assert response.status_code < 500, response.text
    return "allow"


def _call(client: httpx.Client, method: str, url: str, access: Access, allowed: bool) -> httpx.Response:
    kwargs = access.probe if allowed or method != "GET" else {}
    return client.request(method, url, **kwargs)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_allows_and_denies_per_role_and_scope(world: World, route: tuple[str, str]) -> None:
    method, path = route
    access = ROUTES[route]
    document_scoped = "{document_id}" in path or "{postbox}" in path
    cases = CASES if document_scoped else list({c.key: c for c in CASES}.values())
    mismatches = []
    for case in cases:
        want = expected(access, case)
        with world.client(case.key) as client:
            url = _url(world, path, access, case, world.ids[case.target])
            response = _call(client, method, url, access, want == "allow")
            got = outcome(response)
            if got != want:
                mismatches.append(f"{case.label}: expected {want}, got {response.status_code} {response.text[:200]}")
                continue
            if got == "404" and response.json().get("code") == "no_longer_visible":
                # the one exception: the station that uploaded a letter routed confidentially is told so
                doc = DOCS[case.target]
                assert doc.confidential and doc.station == case.key, case.label
                continue
            if got == "404" and document_scoped:
                # out of scope answers exactly like a document that does not exist
                missing = _call(client, method, _url(world, path, access, case, MISSING), access, False)
                target_id = world.ids[case.target]
                assert missing.status_code == 404
                assert response.json() == json.loads(missing.text.replace(MISSING, target_id)), case.label
    assert not mismatches, "\n".join(mismatches)


# --- listings never leak ----------------------------------------------------------------------------------------


def _listed(client: httpx.Client, world: World, **params: Any) -> list[str]:
    response = client.get("/api/v1/documents", params=params)
    assert response.status_code == 200, response.text
    labels = {v: k for k, v in world.ids.items()}
    return [labels[d["document_id"]] for d in response.json()["documents"] if d["document_id"] in labels]


@pytest.mark.parametrize("key", sorted(VISIBLE))
def test_document_list_shows_exactly_the_scope_and_pages_correctly(world: World, key: str) -> None:
    with world.client(key) as client:
        listed = _listed(client, world, limit=500)
        assert sorted(listed) == sorted(VISIBLE[key])
        paged = [label for offset in range(len(listed) + 1) for label in _listed(client, world, limit=1,
                                                                                   offset=offset)]
        assert paged == listed  # one by one: the same documents in the same order, none twice, none missing
        in_a = _listed(client, world, postbox=P_A, limit=500)
        in_a_expected = {label for label in VISIBLE[key] if DOCS[label].postbox == P_A or P_A in DOCS[label].copies}
        assert sorted(in_a) == sorted(in_a_expected)
        assert sorted(_listed(client, world, state="review")) == sorted(VISIBLE[key] & {"review"})


def test_postbox_listing_hides_what_the_key_may_not_see(world: World) -> None:
    url = f"/api/v1/postboxes/{P_A}/documents"
    labels = {v: k for k, v in world.ids.items()}
    for key, want in (("clerk-a", {"A", "copy"}), ("clerk-a-schmitz", {"A", "copy", "conf"}),
                      ("admin", {"A", "copy", "conf"})):
        with world.client(key) as client:
            body = client.get(url).json()
            assert {labels[d["document_id"]] for d in body["documents"] if d["document_id"] in labels} == want
    with world.client("clerk-b") as client:
        hidden = client.get(url)
        assert hidden.status_code == 404 and world.ids["A"] not in hidden.text


def test_document_reads_by_an_outsider_leave_no_trace_of_content(world: World) -> None:
    """Every read route, for a document in another postbox: 404, and nothing of the document in the answer."""
    with world.client("clerk-b") as client:
        for suffix in ("", "/events", "/original", "/searchable.pdf", "/pages/1/image", "/transfer-note"):
            response = client.get(f"/api/v1/documents/{world.ids['A']}{suffix}")
            assert response.status_code in (403, 404), suffix
            assert "enquiry" not in response.text and "authz" not in response.text


# --- webhooks: the same rule as the API ---------------------------------------------------------------------------

#: Webhook subscriptions, as the matrix's keys: name -> (postbox filter, person).
SUBSCRIPTIONS: dict[str, tuple[list[str], str | None]] = {
    "dms-all": ([], None),  # no postbox filter: holds no postbox, like no key does
    "dms-a": ([P_A], None),
    "dms-a-schmitz": ([P_A], PERSON),
    "dms-b": ([P_B], None),
}
#: Which subscription is sent the content of which document's latest event, written down (as VISIBLE for keys):
#: "conf" only to the subscription of its postbox bound to its person; the others that want it get a stub.
CONTENT: dict[str, set[str]] = {
    "dms-all": {"A", "B", "copy", "review"},
    "dms-a": {"A", "copy"},
    "dms-a-schmitz": {"A", "copy", "conf"},
    "dms-b": {"B", "copy"},
}
STUB: dict[str, set[str]] = {"dms-all": {"conf"}, "dms-a": {"conf"}, "dms-a-schmitz": set(), "dms-b": set()}


def test_webhook_payloads_follow_the_same_scope_as_the_api(world: World) -> None:
    """Every event the matrix's documents produced, delivered to subscriptions shaped like the matrix's keys: the
    latest event of each document reaches a subscription in full exactly when the written-down table says so,
    as a stub (no content) for a confidential letter it may not open, and not at all outside its postboxes; and a
    dms key shaped like each subscription sees through the API exactly what the subscription was sent in full."""
    receivers: dict[str, WebhookReceiver] = {}
    try:
        with world.client("admin") as admin:
            for name, (postboxes, person) in SUBSCRIPTIONS.items():
                receiver = receivers[name] = WebhookReceiver()
                created = admin.post("/api/v1/webhooks", json={"name": name, "url": receiver.url,
                                                               "postboxes": postboxes, "person": person})
                assert created.status_code == 201, created.text
                assert created.json()["person"] == person
                receiver.secret = created.json()["secret"]
        deliver_due(world.server.ctx.sessions, DeliveryConfig.from_settings(world.server.settings))
        with session_scope(world.server.ctx.sessions, readonly=True) as session:
            last_event = {label: session.scalars(
                select(OutboxEventRow.id).where(OutboxEventRow.document_id == document_id)
                .order_by(OutboxEventRow.created_at.desc(), OutboxEventRow.id.desc()).limit(1)).one()
                for label, document_id in world.ids.items()}
        for name, receiver in receivers.items():
            got = {p.event_id: p.event for p in receiver.processed}
            latest = {label: got[event_id] for label, event_id in last_event.items() if event_id in got}
            full = {label for label, event in latest.items() if "withheld" not in event}
            stubs = {label for label, event in latest.items() if event.get("withheld") == "confidential"}
            assert full == CONTENT[name], name
            assert stubs == STUB[name], name
            for label in stubs:
                body = json.dumps(latest[label], ensure_ascii=False)
                assert "job" not in body.lower() and "authz" not in body and "links" not in latest[label]
                routing = latest[label]["document"]["routing"]
                assert routing == {"postbox": P_A, "person": PERSON, "status": "routed", "confidential": True}
            # the same answer from the API for a dms key with the subscription's postboxes and person
            postboxes, person = SUBSCRIPTIONS[name]
            if postboxes:
                token = world.server.key("dms", f"matrix-{name}", postboxes=postboxes, person=person)
                with world.server.client(token) as dms:
                    readable = {label for label in full | stubs
                                if dms.get(f"/api/v1/documents/{world.ids[label]}").status_code == 200}
                assert readable == full, name
    finally:
        for receiver in receivers.values():
            receiver.stop()
