"""Postboxes through the real HTTP API: list by state, claim, acknowledge, copy, re-route, downloads, deletion."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

from mailroom import audit
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from mailroom.storage.models import AuditLogRow, OutboxEventRow

# born-digital samples (text layer: no OCR, fast)
WORKED = "0027-enquiry.pdf"
COPIED = "0011-contract.pdf"
DELETED = "0017-application_trade_registration.pdf"
OTHER_POSTBOX = "stadtkasse"
REROUTE_TARGET = "rechtsamt"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-postboxes"))) as running:
        yield running


def route_to(server: ApiServer, document_id: str, postbox: str) -> None:
    """Test setup: put a settled document into ``postbox`` as the pipeline would (routed, item placed)."""
    with session_scope(server.ctx.sessions) as session:
        row = repository.get_document(session, document_id)
        assert row is not None and row.result_json
        result = json.loads(row.result_json)
        result["routing"] = {**result["routing"], "postbox": postbox, "status": "routed", "decided_by": "model:test"}
        repository.save_result(session, row, result)
        repository.transition(session, row, "routed", reason="test setup")


@pytest.fixture(scope="module")
def docs(server: ApiServer) -> dict[str, dict[str, Any]]:
    """The three samples, uploaded and settled; the first two in the postbox the pipeline chose (or, had it sent
    one to review, in ``buergerbuero``)."""
    out: dict[str, dict[str, Any]] = {}
    with server.client(server.key("station", "poststelle-1")) as station:
        for name in (WORKED, COPIED, DELETED):
            response = upload(station, name, (SAMPLES / name).read_bytes())
            assert response.status_code == 202, response.text
            out[name] = {"id": response.json()["document_id"]}
        for entry in out.values():
            status = wait_settled(station, entry["id"])
            if status["state"] != "routed":
                route_to(server, entry["id"], "buergerbuero")
                status = wait_settled(station, entry["id"])
            assert status["state"] == "routed", status
            entry["postbox"] = status["result"]["routing"]["postbox"]
            entry["sha256"] = status["sha256"]
    if out[COPIED]["postbox"] == out[WORKED]["postbox"]:  # the tests need two postboxes
        route_to(server, out[COPIED]["id"], "tiefbau")
        out[COPIED]["postbox"] = "tiefbau"
    return out


@pytest.fixture(scope="module")
def keys(server: ApiServer, docs: dict[str, dict[str, Any]]) -> dict[str, str]:
    box = docs[WORKED]["postbox"]
    assert box != OTHER_POSTBOX
    return {
        "clerk_a": server.key("clerk", "clerk-a", postboxes=[box]),
        "clerk_a2": server.key("clerk", "clerk-a2", postboxes=[box]),
        "clerk_b": server.key("clerk", "clerk-b", postboxes=[OTHER_POSTBOX]),
        "dms": server.key("dms", "dms-1", postboxes=sorted({d["postbox"] for d in docs.values()} | {OTHER_POSTBOX})),
        "admin": server.key("admin", "admin-1"),
        "station": server.key("station", "poststelle-2"),
        "reviewer": server.key("reviewer", "pruefer-1"),
    }


def client(server: ApiServer, keys: dict[str, str], who: str) -> httpx.Client:
    return server.client(keys[who])


def listing(c: httpx.Client, postbox: str, state: str | None = None, **params: Any) -> list[dict[str, Any]]:
    response = c.get(f"/api/v1/postboxes/{postbox}/documents", params={**({"state": state} if state else {}),
                                                                      **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    documents: list[dict[str, Any]] = body["documents"]
    return documents


def ids(entries: list[dict[str, Any]]) -> list[str]:
    return [e["document_id"] for e in entries]


def audit_entries(server: ApiServer, document_id: str, action: str) -> list[tuple[str, dict[str, Any]]]:
    """``(actor, details)`` of the audit entries of ``action`` about the document, oldest first."""
    with session_scope(server.ctx.sessions, readonly=True) as session:
        rows = session.execute(
            select(AuditLogRow.actor, AuditLogRow.details_json)
            .where(AuditLogRow.object_id == document_id, AuditLogRow.action == action).order_by(AuditLogRow.id)
        )
        return [(actor, json.loads(details or "{}")) for actor, details in rows]


def test_clerk_claims_and_acknowledges(server: ApiServer, docs: dict[str, dict[str, Any]],
                                       keys: dict[str, str]) -> None:
    doc, box = docs[WORKED]["id"], docs[WORKED]["postbox"]
    with client(server, keys, "clerk_a") as a, client(server, keys, "clerk_a2") as a2:
        overview = a.get("/api/v1/postboxes")
        assert overview.status_code == 200, overview.text
        (mine,) = overview.json()["postboxes"]
        assert mine["id"] == box and mine["in_directory"] is True and mine["counts"]["new"] >= 1
        assert mine["retention_days"] == 365 and mine["documents_url"] == f"/api/v1/postboxes/{box}/documents"

        (entry,) = [e for e in listing(a, box, "new") if e["document_id"] == doc]
        assert entry["kind"] == "primary" and entry["state"] == "new" and entry["claimed_by"] is None
        assert entry["filename"] == WORKED and entry["document_type"] and entry["placed_at"]

        claimed = a.post(entry["links"]["claim"])
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["state"] == "claimed" and claimed.json()["claimed_by"] == "clerk:clerk-a"
        again = a.post(entry["links"]["claim"])  # idempotent for the same key
        assert again.status_code == 200 and again.json()["claimed_at"] == claimed.json()["claimed_at"]

        for action in ("claim", "acknowledge", "release"):
            refused = a2.post(entry["links"][action])
            assert refused.status_code == 409, refused.text
            assert refused.json()["code"] == "already_claimed"
            assert refused.json()["details"]["claimed_by"] == "clerk:clerk-a"
        assert doc in ids(listing(a2, box, "claimed"))
        assert doc not in ids(listing(a2, box, "new"))

        done = a.post(entry["links"]["acknowledge"])
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "done" and done.json()["done_by"] == "clerk:clerk-a" and done.json()["done_at"]
        assert a.post(entry["links"]["acknowledge"]).status_code == 200  # idempotent for the same key
        other = a2.post(entry["links"]["acknowledge"])  # done by someone else: as the README's table says
        assert other.status_code == 409 and other.json()["code"] == "already_done", other.text
        assert other.json()["details"]["done_by"] == "clerk:clerk-a"
        assert doc in ids(listing(a, box, "done")) and doc not in ids(listing(a, box, "claimed"))
        late = a2.post(entry["links"]["claim"])
        assert late.status_code == 409 and late.json()["code"] == "already_done"
        counts = next(p for p in a.get("/api/v1/postboxes").json()["postboxes"] if p["id"] == box)["counts"]
        assert counts["done"] >= 1

    claims = audit_entries(server, doc, "document.claimed")
    acks = audit_entries(server, doc, "document.acknowledged")
    assert len(claims) == 1 and len(acks) == 1  # the idempotent repeats changed nothing and recorded nothing
    assert claims[0][0] == "clerk:clerk-a" and claims[0][1]["postbox"] == box


def test_release_gives_the_document_back(server: ApiServer, docs: dict[str, dict[str, Any]],
                                         keys: dict[str, str]) -> None:
    doc, box = docs[COPIED]["id"], docs[COPIED]["postbox"]
    url = f"/api/v1/postboxes/{box}/documents/{doc}"
    with client(server, keys, "dms") as dms, client(server, keys, "admin") as admin:
        assert dms.post(f"{url}/claim").json()["claimed_by"] == "dms:dms-1"
        released = admin.post(f"{url}/release")  # an admin may release someone else's claim
        assert released.status_code == 200 and released.json()["state"] == "new"
        assert released.json()["claimed_by"] is None
        assert dms.post(f"{url}/release").json()["state"] == "new"  # idempotent
    ((actor, details),) = audit_entries(server, doc, "document.released")
    assert actor == "admin:admin-1" and details["claimed_by"] == "dms:dms-1"


def test_postboxes_outside_the_scope_do_not_exist(server: ApiServer, docs: dict[str, dict[str, Any]],
                                                  keys: dict[str, str]) -> None:
    doc, box = docs[WORKED]["id"], docs[WORKED]["postbox"]
    with client(server, keys, "clerk_b") as b:
        assert [p["id"] for p in b.get("/api/v1/postboxes").json()["postboxes"]] == [OTHER_POSTBOX]
        for method, path in (("GET", f"/api/v1/postboxes/{box}/documents"),
                             ("GET", f"/api/v1/postboxes/{box}/documents/{doc}"),
                             ("POST", f"/api/v1/postboxes/{box}/documents/{doc}/claim"),
                             ("POST", f"/api/v1/postboxes/{box}/documents/{doc}/acknowledge"),
                             ("GET", "/api/v1/postboxes/no-such-box/documents")):
            response = b.request(method, path)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["code"] == "postbox_not_found"
        # its own postbox does not hold the document: as if it did not exist
        missing = b.post(f"/api/v1/postboxes/{OTHER_POSTBOX}/documents/{doc}/claim")
        assert missing.status_code == 404 and missing.json()["code"] == "document_not_found"
    for who in ("station", "reviewer"):
        with client(server, keys, who) as other:
            assert other.get("/api/v1/postboxes").status_code == 403
            assert other.get(f"/api/v1/postboxes/{box}/documents").status_code == 403
    with server.client() as anonymous:
        assert anonymous.get("/api/v1/postboxes").status_code == 401
    with client(server, keys, "admin") as admin:
        boxes = {p["id"]: p for p in admin.get("/api/v1/postboxes").json()["postboxes"]}
        assert {OTHER_POSTBOX, box, "kaemmerei-rechnungseingang"} <= set(boxes)
        assert boxes[OTHER_POSTBOX]["name"] == "Postkorb Stadtkasse"
        assert doc in ids(listing(admin, box))
        assert admin.get("/api/v1/postboxes/no-such-box/documents").status_code == 404


def test_clerk_downloads_what_the_listing_links(server: ApiServer, docs: dict[str, dict[str, Any]],
                                                keys: dict[str, str]) -> None:
    doc, box = docs[WORKED]["id"], docs[WORKED]["postbox"]
    with client(server, keys, "clerk_a") as a, client(server, keys, "clerk_b") as b:
        (entry,) = [e for e in listing(a, box) if e["document_id"] == doc]
        links = entry["links"]
        assert {"result", "original", "searchable_pdf", "page_images", "events"} <= set(links)
        original = a.get(links["original"])
        assert original.status_code == 200 and original.content == (SAMPLES / WORKED).read_bytes()
        pdf = a.get(links["searchable_pdf"])
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        image = a.get(links["page_images"][0])
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        result = a.get(links["result"])
        assert result.status_code == 200 and result.json()["result"]["routing"]["postbox"] == box
        assert a.get(links["events"]).status_code == 200
        assert a.get(links["self"]).json()["document_id"] == doc
        for url in (links["original"], links["searchable_pdf"], links["page_images"][0], links["result"]):
            assert b.get(url).status_code == 404  # another postbox's clerk: as if it did not exist


def test_copy_sends_the_document_to_a_second_postbox(server: ApiServer, docs: dict[str, dict[str, Any]],
                                                     keys: dict[str, str]) -> None:
    doc, box = docs[COPIED]["id"], docs[COPIED]["postbox"]
    with client(server, keys, "dms") as dms, client(server, keys, "clerk_b") as b:
        assert doc not in ids(listing(b, OTHER_POSTBOX))
        assert b.get(f"/api/v1/documents/{doc}").status_code == 404
        copied = dms.post(f"/api/v1/documents/{doc}/copy", json={"postbox": OTHER_POSTBOX, "reason": "Zahlung prüfen"})
        assert copied.status_code == 201, copied.text
        item = copied.json()
        assert item["postbox"] == OTHER_POSTBOX and item["kind"] == "copy" and item["state"] == "new"
        assert item["placed_by"] == "dms:dms-1" and item["note"] == "Zahlung prüfen"
        assert dms.get(f"/api/v1/documents/{doc}").json()["result"]["routing"]["copies"] == [OTHER_POSTBOX]
        with session_scope(server.ctx.sessions, readonly=True) as session:  # the DMS of the other postbox is told
            events = session.scalars(select(OutboxEventRow).where(OutboxEventRow.document_id == doc)
                                     .order_by(OutboxEventRow.created_at)).all()
            last = json.loads(events[-1].payload_json)
        assert last["type"] == "document.routed" and last["document"]["routing"]["copies"] == [OTHER_POSTBOX]

        (entry,) = [e for e in listing(b, OTHER_POSTBOX, "new") if e["document_id"] == doc]
        assert entry["kind"] == "copy" and entry["note"] == "Zahlung prüfen"
        assert b.get(entry["links"]["original"]).status_code == 200  # the copy's clerk may read it
        assert b.post(entry["links"]["claim"]).json()["claimed_by"] == "clerk:clerk-b"
        primary = next(e for e in listing(dms, box) if e["document_id"] == doc)
        assert primary["kind"] == "primary" and primary["state"] == "new"  # each postbox has its own state

        twice = dms.post(f"/api/v1/documents/{doc}/copy", json={"postbox": OTHER_POSTBOX, "reason": "nochmal"})
        assert twice.status_code == 409 and twice.json()["code"] == "already_in_postbox"
        unknown = dms.post(f"/api/v1/documents/{doc}/copy", json={"postbox": "no-such-box", "reason": "x"})
        assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_postbox"
        empty = dms.post(f"/api/v1/documents/{doc}/copy", json={"postbox": "rechtsamt", "reason": ""})
        assert empty.status_code == 422 and empty.json()["field"] == "reason"
    with client(server, keys, "clerk_a") as a:  # not its postbox
        refused = a.post(f"/api/v1/documents/{doc}/copy", json={"postbox": "rechtsamt", "reason": "x"})
        assert refused.status_code == 404
    ((actor, details),) = audit_entries(server, doc, "document.copied")
    assert actor == "dms:dms-1" and details["postbox"] == OTHER_POSTBOX
    assert details["reason"] == "Zahlung prüfen" and details["from_postboxes"] == [box]


def test_reroute_moves_the_document_out_of_the_postbox(server: ApiServer, docs: dict[str, dict[str, Any]],
                                                       keys: dict[str, str]) -> None:
    doc, box = docs[WORKED]["id"], docs[WORKED]["postbox"]
    target = REROUTE_TARGET if box != REROUTE_TARGET else "hauptamt"
    with client(server, keys, "clerk_a") as a, client(server, keys, "admin") as admin:
        assert doc in ids(listing(a, box))
        moved = a.post(f"/api/v1/documents/{doc}/reroute", json={"postbox": target, "reason": "Widerspruch"})
        assert moved.status_code == 200, moved.text
        assert doc not in ids(listing(a, box)) and doc not in ids(listing(admin, box))
        assert a.get(f"/api/v1/documents/{doc}").status_code == 404
        (entry,) = [e for e in listing(admin, target) if e["document_id"] == doc]
        assert entry["kind"] == "primary" and entry["state"] == "new"  # starts afresh in its new postbox
        assert entry["claimed_by"] is None and entry["done_at"] is None


def test_pages_follow_the_cursor(server: ApiServer, docs: dict[str, dict[str, Any]], keys: dict[str, str]) -> None:
    with client(server, keys, "dms") as dms:
        boxes = sorted({p["id"] for p in dms.get("/api/v1/postboxes").json()["postboxes"]})
        everything = {box: listing(dms, box) for box in boxes}
        for box, full in everything.items():
            placed = [(e["placed_at"], e["document_id"]) for e in full]
            assert placed == sorted(placed, key=lambda p: p[0])  # oldest first
            seen: list[str] = []
            cursor: str | None = None
            while True:
                params: dict[str, str | int] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
                body = dms.get(f"/api/v1/postboxes/{box}/documents", params=params).json()
                seen += ids(body["documents"])
                cursor = body["next_cursor"]
                if cursor is None:
                    break
            assert seen == ids(full)
        assert sum(len(v) for v in everything.values()) >= 3
        bad = dms.get(f"/api/v1/postboxes/{boxes[0]}/documents", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
        wrong_state = dms.get(f"/api/v1/postboxes/{boxes[0]}/documents", params={"state": "lost"})
        assert wrong_state.status_code == 422 and wrong_state.json()["field"] == "state"


def test_confidential_letters_only_for_their_person(server: ApiServer, docs: dict[str, dict[str, Any]],
                                                    keys: dict[str, str]) -> None:
    """A confidential letter in the postbox is listed and counted only for the key of its named person."""
    name = "0019-job_application.pdf"
    with server.client(server.key("station", "poststelle-3")) as station, client(server, keys, "admin") as admin:
        response = upload(station, name, (SAMPLES / name).read_bytes())
        assert response.status_code == 202, response.text
        doc = response.json()["document_id"]
        wait_settled(admin, doc)  # a station does not see a confidential letter once it is recognised
    box = docs[COPIED]["postbox"]
    with session_scope(server.ctx.sessions) as session:
        row = repository.get_document(session, doc)
        assert row is not None and row.result_json
        result = json.loads(row.result_json)
        result["routing"] = {**result["routing"], "postbox": box, "status": "routed", "decided_by": "model:test",
                             "confidential": True, "person": "schmitz"}
        repository.save_result(session, row, result)
        repository.transition(session, row, "routed", reason="test setup")
    schmitz = server.key("clerk", "clerk-schmitz", postboxes=[box], person="schmitz")
    other = server.key("clerk", "clerk-mueller", postboxes=[box], person="mueller")

    def seen(token: str) -> tuple[bool, int]:
        with server.client(token) as c:
            (overview,) = c.get("/api/v1/postboxes").json()["postboxes"]
            return doc in ids(listing(c, box, "new")), overview["counts"]["new"]

    (listed, count_schmitz), (hidden, count_other) = seen(schmitz), seen(other)
    assert listed and not hidden and count_schmitz == count_other + 1
    with server.client(other) as c:
        claim = c.post(f"/api/v1/postboxes/{box}/documents/{doc}/claim")
        assert claim.status_code == 404 and claim.json()["code"] == "document_not_found"
    with server.client(schmitz) as c:
        assert c.post(f"/api/v1/postboxes/{box}/documents/{doc}/claim").json()["claimed_by"] == "clerk:clerk-schmitz"


def test_deletion_on_request(server: ApiServer, docs: dict[str, dict[str, Any]], keys: dict[str, str]) -> None:
    doc, box, sha = docs[DELETED]["id"], docs[DELETED]["postbox"], docs[DELETED]["sha256"]
    with session_scope(server.ctx.sessions, readonly=True) as session:
        row = repository.get_document(session, doc)
        assert row is not None and row.original_sha and row.searchable_pdf_sha
        files = [server.ctx.blobs.path(s) for s in (row.original_sha, row.searchable_pdf_sha)]
        files += [server.ctx.blobs.path(a.blob_sha) for a in repository.page_artifacts(session, doc)]
    assert all(path.is_file() for path in files)
    with client(server, keys, "dms") as dms:
        assert dms.request("DELETE", f"/api/v1/documents/{doc}", json={"reason": "x"}).status_code == 403
    with client(server, keys, "admin") as admin:
        assert admin.request("DELETE", f"/api/v1/documents/{doc}").status_code == 422  # a reason is required
        gone = admin.request("DELETE", f"/api/v1/documents/{doc}", json={"reason": "Löschantrag Art. 17 DSGVO"})
        assert gone.status_code == 200, gone.text
        receipt = gone.json()
        assert [d["document_id"] for d in receipt["deleted"]] == [doc]
        assert receipt["deleted"][0]["postbox"] == box and receipt["blobs_removed"] == len(set(files))
        assert admin.get(f"/api/v1/documents/{doc}").status_code == 404
        assert admin.get(f"/api/v1/documents/{doc}/original").status_code == 404
        assert doc not in ids(listing(admin, box))
        again = admin.request("DELETE", f"/api/v1/documents/{doc}", json={"reason": "twice"})
        assert again.status_code == 404 and again.json()["code"] == "document_not_found"
    assert not any(path.exists() for path in files)
    ((actor, details),) = audit_entries(server, doc, "document.deleted")
    assert actor == "admin:admin-1"
    assert details["sha256"] == sha and details["filename"] == DELETED and details["postbox"] == box
    assert details["reason"] == "request" and details["note"] == "Löschantrag Art. 17 DSGVO"
    assert details["who"] == "admin:admin-1"
    with session_scope(server.ctx.sessions, readonly=True) as session:
        assert audit.verify(session).ok
