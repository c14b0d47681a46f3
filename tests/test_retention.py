"""Retention per postbox and deletion on request: real SQLite and blob store, the Celery task, the API, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from test_api_support import SAMPLES, make_settings, serve, upload, wait_settled

from mailroom import audit
from mailroom.errors import DocumentInProcessing
from mailroom.retention import RETENTION_ACTOR, RetentionPolicy, apply_retention, delete_document, expired_documents
from mailroom.settings import Settings
from mailroom.storage import postboxes, repository
from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import make_engine, migrate, session_factory, session_scope
from mailroom.storage.labels import labels_of, record_correction
from mailroom.storage.models import ArtifactKind, AuditLogRow, DocumentRow, OutboxEventRow, utcnow
from mailroom.storage.postboxes import ItemState, PostboxItemRow
from workers import tasks
from workers.celery_app import APPLY_RETENTION, create_celery

ROOT = Path(__file__).resolve().parent.parent
DAY = timedelta(days=1)
POLICY = RetentionPolicy(default_days=30, per_postbox={"personalamt": 10, "standesamt": 0})


@dataclass
class Store:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    settings = make_settings(tmp_path)
    engine = make_engine(settings)
    migrate(engine)
    yield Store(settings, engine, session_factory(engine), BlobStore(settings.blob_dir))
    engine.dispose()


def add_document(
    store: Store, content: bytes, *, station: str = "poststelle-1", postbox: str | None = "hauptamt",
    copies: tuple[str, ...] = (), state: str = "routed",
) -> str:
    """A received file with its original, a searchable PDF and a page artifact, moved on to ``state``."""
    original = store.blobs.put_bytes(content)
    with session_scope(store.sessions) as session:
        doc, _ = repository.receive_document(
            session, sha256=original, filename=f"{content[:12].decode()}.pdf", kind="pdf", size=len(content),
            pages=1, channel="upload", station=station, original_sha=original,
        )
        own = content + station.encode()  # the derived files differ per document; the original may be shared
        doc.searchable_pdf_sha = store.blobs.put_bytes(b"searchable " + own)
        repository.record_page_artifact(session, doc, page=1, kind=ArtifactKind.PAGE_JSON,
                                        blob_sha=store.blobs.put_bytes(b"page " + own))
        move_to(session, doc, state, postbox, copies)
        return doc.id


def move_to(session: Session, doc: DocumentRow, state: str, postbox: str | None, copies: tuple[str, ...] = ()) -> None:
    if state == "received":
        return
    routing = {"postbox": postbox, "status": "routed", "copies": list(copies)}
    repository.save_result(session, doc, {"document_id": doc.id, "routing": routing})
    if state == "failed":
        repository.transition(session, doc, "failed", error_code="corrupt_file", error_message="test")
        return
    repository.transition(session, doc, "recognised")
    repository.transition(session, doc, "routed" if state in ("routed", "review") else state)
    if state == "review":
        repository.transition(session, doc, "review")


def blob_files(store: Store, document_id: str) -> list[Path]:
    with session_scope(store.sessions, readonly=True) as session:
        doc = repository.get_document(session, document_id)
        assert doc is not None
        artifacts = [a.blob_sha for a in repository.page_artifacts(session, doc.id)]
        shas = {doc.original_sha, doc.searchable_pdf_sha, *artifacts}
        return sorted(store.blobs.path(sha) for sha in shas if sha)


def exists(store: Store, document_id: str) -> bool:
    with session_scope(store.sessions, readonly=True) as session:
        return repository.get_document(session, document_id) is not None


def tombstones(store: Store) -> dict[str, tuple[str, dict[str, Any]]]:
    with session_scope(store.sessions, readonly=True) as session:
        rows = session.execute(select(AuditLogRow.object_id, AuditLogRow.actor, AuditLogRow.details_json)
                               .where(AuditLogRow.action == "document.deleted"))
        return {str(object_id): (actor, json.loads(details or "{}")) for object_id, actor, details in rows}


# --- the policy -------------------------------------------------------------------------------------------------


def item(postbox: str, placed_at: datetime, done_at: datetime | None = None, kind: str = "primary") -> PostboxItemRow:
    return PostboxItemRow(postbox=postbox, kind=kind, placed_at=placed_at, done_at=done_at,
                          state=ItemState.DONE.value if done_at else ItemState.NEW.value)


def test_the_period_counts_from_done_else_from_placed() -> None:
    start = utcnow()
    doc = DocumentRow(state="routed", state_changed_at=start)
    assert POLICY.document_expiry(doc, [item("hauptamt", start)]) == start + 30 * DAY
    assert POLICY.document_expiry(doc, [item("hauptamt", start, done_at=start + 5 * DAY)]) == start + 35 * DAY
    assert POLICY.document_expiry(doc, [item("personalamt", start)]) == start + 10 * DAY
    # a copy in another postbox keeps the document until that postbox no longer needs it
    both = [item("personalamt", start), item("hauptamt", start + DAY, kind="copy")]
    assert POLICY.document_expiry(doc, both) == start + 31 * DAY
    assert POLICY.document_expiry(doc, [item("hauptamt", start), item("standesamt", start, kind="copy")]) is None
    # in no postbox: failed documents after the default period; review and the pipeline never
    assert POLICY.document_expiry(DocumentRow(state="failed", state_changed_at=start), []) == start + 30 * DAY
    for state in ("review", "received", "ocr", "recognised", "split"):
        assert POLICY.document_expiry(DocumentRow(state=state, state_changed_at=start), []) is None
    assert RetentionPolicy(default_days=0).shortest_days() is None


# --- retention on a real database and blob store ----------------------------------------------------------------


def test_retention_deletes_what_is_past_its_period(store: Store) -> None:
    now = utcnow()
    hauptamt = add_document(store, b"hauptamt letter")
    personal = add_document(store, b"personalamt letter", postbox="personalamt")
    forever = add_document(store, b"standesamt letter", postbox="standesamt")
    shared = add_document(store, b"hauptamt letter", station="poststelle-2", postbox="standesamt")  # same bytes
    with_copy = add_document(store, b"copied letter", copies=("standesamt",))
    review = add_document(store, b"review letter", state="review")
    processing = add_document(store, b"letter in ocr", state="received")
    failed = add_document(store, b"failed letter", state="failed")
    acknowledged_late = add_document(store, b"done after 20 days")
    with session_scope(store.sessions) as session:
        late = postboxes.get_item(session, "hauptamt", acknowledged_late)
        assert late is not None
        postboxes.acknowledge(session, late, "clerk:a")
        late.done_at = now + 20 * DAY
        record_correction(session, hauptamt, kind="reroute", value="hauptamt", who="clerk:a")
    hauptamt_files, shared_original = blob_files(store, hauptamt), store.blobs.path(_original_sha(store, hauptamt))
    assert len(hauptamt_files) == 3

    with session_scope(store.sessions, readonly=True) as session:
        assert expired_documents(session, POLICY, now=now + 5 * DAY) == []
        assert expired_documents(session, POLICY, now=now + 11 * DAY) == [personal]
    report = apply_retention(store.sessions, store.blobs, POLICY, now=now + 11 * DAY)
    assert [d.document_id for d in report.deleted] == [personal] and report.blobs_removed == 3
    assert not exists(store, personal)

    report = apply_retention(store.sessions, store.blobs, POLICY, now=now + 31 * DAY)
    assert sorted(d.document_id for d in report.deleted) == sorted([hauptamt, failed])
    for kept in (forever, shared, with_copy, review, processing, acknowledged_late):
        assert exists(store, kept)
    # the original is the same bytes as another station's document, which stays: the blob stays too
    assert shared_original.is_file()
    assert [path.is_file() for path in hauptamt_files] == [path == shared_original for path in hauptamt_files]

    report = apply_retention(store.sessions, store.blobs, POLICY, now=now + 51 * DAY)
    assert [d.document_id for d in report.deleted] == [acknowledged_late]

    stones = tombstones(store)
    assert set(stones) == {personal, hauptamt, failed, acknowledged_late}
    actor, details = stones[hauptamt]
    assert actor == RETENTION_ACTOR and details["reason"] == "retention" and details["who"] == RETENTION_ACTOR
    assert details["postbox"] == "hauptamt" and details["filename"] == "hauptamt let.pdf"
    assert details["sha256"] == _sha(b"hauptamt letter") and stones[failed][1]["postbox"] is None
    with session_scope(store.sessions, readonly=True) as session:
        assert audit.verify(session).ok
        # cascades: no row of a deleted document is left behind
        assert session.scalar(select(OutboxEventRow.id).where(OutboxEventRow.document_id == hauptamt)) is None
        assert postboxes.items_of(session, hauptamt) == [] and labels_of(session, hauptamt) == []


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _original_sha(store: Store, document_id: str) -> str:
    with session_scope(store.sessions, readonly=True) as session:
        doc = repository.get_document(session, document_id)
        assert doc is not None and doc.original_sha
        return doc.original_sha


def add_stack(store: Store, letters: list[tuple[str, str | None]]) -> tuple[str, list[str]]:
    """A scanned stack (``split``) whose letters share its original; each letter moved to (state, postbox)."""
    stack = add_document(store, b"scanned stack", state="received")
    ids: list[str] = []
    with session_scope(store.sessions) as session:
        parent = repository.get_document(session, stack)
        assert parent is not None
        repository.transition(session, parent, "split")
        for number, (state, postbox) in enumerate(letters, 1):
            letter, _ = repository.add_separated_letter(session, parent, page_from=number, page_to=number)
            letter.searchable_pdf_sha = store.blobs.put_bytes(f"letter {number}".encode())
            move_to(session, letter, state, postbox)
            ids.append(letter.id)
    return stack, ids


def test_a_stack_goes_with_its_last_letter(store: Store) -> None:
    now = utcnow()
    stack, (first, second) = add_stack(store, [("routed", "personalamt"), ("routed", "standesamt")])
    original = store.blobs.path(_original_sha(store, stack))
    report = apply_retention(store.sessions, store.blobs, POLICY, now=now + 11 * DAY)
    assert [d.document_id for d in report.deleted] == [first]
    assert exists(store, stack) and exists(store, second) and original.is_file()

    deletion = delete_document(store.sessions, store.blobs, second, who="admin:a", reason="request", note="Art. 17")
    assert deletion is not None
    assert [d.document_id for d in deletion.documents] == [second, stack]
    assert not exists(store, stack) and not original.exists()
    stones = tombstones(store)
    assert stones[stack][1]["note"] == f"the last letter of the stack was deleted ({second})"
    actor, details = stones[second]
    assert actor == "admin:a" and details["who"] == "admin:a"
    assert (details["note"], details["reason"], details["parent_id"]) == ("Art. 17", "request", stack)


def test_deleting_a_stack_takes_its_letters(store: Store) -> None:
    stack, letters = add_stack(store, [("routed", "hauptamt"), ("review", None)])
    deletion = delete_document(store.sessions, store.blobs, stack, who="admin:a", reason="request", note="x")
    assert deletion is not None and {d.document_id for d in deletion.documents} == {stack, *letters}
    assert not any(exists(store, d) for d in (stack, *letters))
    assert set(tombstones(store)) == {stack, *letters}


def test_documents_in_processing_are_not_deleted(store: Store) -> None:
    busy = add_document(store, b"still in ocr", state="received")
    stack, (letter,) = add_stack(store, [("received", None)])
    for document_id in (busy, stack, letter):
        with pytest.raises(DocumentInProcessing):
            delete_document(store.sessions, store.blobs, document_id, who="admin:a", reason="request")
        assert exists(store, document_id)
    assert tombstones(store) == {}


def test_cli_deletes_on_request_and_runs_the_retention(store: Store) -> None:
    old = add_document(store, b"cli letter")
    requested = add_document(store, b"requested letter", postbox="standesamt")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_") or k == "MAILROOM_MODELS_DIR"}
    env["MAILROOM_RETENTION_DAYS"] = "0.00001"  # < 1 s

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", "documents", *args, "--data-dir",
                               str(store.settings.data_dir)], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)

    time.sleep(1)
    dry = cli("retention", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert sorted(json.loads(dry.stdout)["expired_ids"]) == sorted([old, requested])
    assert exists(store, old) and exists(store, requested)

    request = cli("delete", requested, "--reason", "Widerruf der Einwilligung", "--by", "datenschutz")
    assert request.returncode == 0, request.stderr
    assert f"deleted {requested}" in request.stdout and not exists(store, requested)
    actor, details = tombstones(store)[requested]
    assert actor == "cli:datenschutz" and details["note"] == "Widerruf der Einwilligung"
    assert details["reason"] == "request" and details["postbox"] == "standesamt"

    run = cli("retention", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["deleted_ids"] == [old] and not exists(store, old)

    missing = cli("delete", old, "--reason", "again")
    assert missing.returncode == 1 and "document_not_found" in missing.stderr


# --- the scheduled task on a running service ------------------------------------------------------------------


def test_scheduled_retention_deletes_through_the_service(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, retention_days=0.00001)  # < 1 s
    app = create_celery(settings, worker=True)
    entry = app.conf.beat_schedule["retention"]
    assert entry["task"] == APPLY_RETENTION == tasks.apply_retention.name
    assert entry["schedule"] == settings.retention_interval_hours * 3600 == 24 * 3600
    assert entry["options"]["queue"] == "default"

    with serve(settings) as server:
        station = server.client(server.key("station", "poststelle-1"))
        admin = server.client(server.key("admin", "admin-1"))
        ids = []
        for name in ("0027-enquiry.pdf", "0011-contract.pdf"):
            response = upload(station, name, (SAMPLES / name).read_bytes())
            assert response.status_code == 202, response.text
            ids.append(response.json()["document_id"])
        routed_id, review_id = ids
        for document_id in ids:
            wait_settled(station, document_id)
        with session_scope(server.ctx.sessions) as session:
            doc = repository.get_document(session, review_id)
            assert doc is not None
            if doc.state != "review":  # a clerk sends it back to review: retention leaves it alone
                repository.transition(session, doc, "review", reason="test: back to review")
        assert admin.get(f"/api/v1/documents/{routed_id}").json()["state"] == "routed"
        files = [server.ctx.blobs.path(_sha((SAMPLES / "0027-enquiry.pdf").read_bytes()))]
        assert files[0].is_file()
        time.sleep(1)

        outcome = app.tasks[APPLY_RETENTION].apply()
        assert outcome.successful(), outcome.traceback
        summary = outcome.result
        assert (summary["expired"], summary["deleted"], summary["skipped"]) == (1, 1, 0)
        assert summary["blobs_removed"] >= 3  # original, searchable PDF, page artifacts
        assert admin.get(f"/api/v1/documents/{routed_id}").status_code == 404
        assert admin.get(f"/api/v1/documents/{review_id}").json()["state"] == "review"
        assert not files[0].exists()
        with session_scope(server.ctx.sessions, readonly=True) as session:
            (details,) = session.scalars(select(AuditLogRow.details_json).where(
                AuditLogRow.action == "document.deleted", AuditLogRow.object_id == routed_id))
            tombstone = json.loads(details or "{}")
            assert tombstone["reason"] == "retention" and tombstone["filename"] == "0027-enquiry.pdf"
            assert audit.verify(session).ok
        station.close()
        admin.close()


def test_the_installed_directory_sets_periods_per_postbox(tmp_path: Path) -> None:
    from mailroom.directory import DEFAULT_PATH, parse_yaml
    from mailroom.errors import InvalidDirectory
    from mailroom.retention import current_policy

    settings = make_settings(tmp_path, retention_days=90)
    assert current_policy(settings) == RetentionPolicy(default_days=90, per_postbox={})
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    line = "{id: personalamt, name: Postkorb Personalamt, department: personalamt}"
    assert line in text
    (tmp_path / "directory.yaml").write_text(text.replace(line, line[:-1] + ", retention_days: 180}"), encoding="utf-8")
    policy = current_policy(settings)
    assert policy.days_for("personalamt") == 180 and policy.days_for("hauptamt") == 90
    for bad in ("-1", "bald", ".nan"):
        with pytest.raises(InvalidDirectory) as error:
            parse_yaml(text.replace(line, line[:-1] + f", retention_days: {bad}}}"))
        assert error.value.field == "retention_days" and "personalamt" in error.value.message


def test_keep_forever_by_default_and_per_postbox(store: Store) -> None:
    now = utcnow()
    personal = add_document(store, b"personalamt letter", postbox="personalamt")
    hauptamt = add_document(store, b"hauptamt letter")
    copied = add_document(store, b"copied to hauptamt", postbox="personalamt", copies=("hauptamt",))
    failed = add_document(store, b"failed letter", state="failed")
    only_personalamt = RetentionPolicy(default_days=0, per_postbox={"personalamt": 10})
    with session_scope(store.sessions, readonly=True) as session:
        assert expired_documents(session, only_personalamt, now=now + 1000 * DAY) == [personal]
        assert expired_documents(session, POLICY, now=now + 1000 * DAY, limit=2) == [personal, hauptamt]
        assert sorted(expired_documents(session, POLICY, now=now + 1000 * DAY)) == sorted(
            [personal, hauptamt, copied, failed])
        assert expired_documents(session, RetentionPolicy(default_days=0), now=now + 1000 * DAY) == []


def test_a_dismissed_rescan_request_goes_after_the_default_period(store: Store) -> None:
    document_id = add_document(store, b"blank scan", state="received")
    with session_scope(store.sessions) as session:
        doc = repository.get_document(session, document_id)
        assert doc is not None
        repository.transition(session, doc, "rescan")
        waiting_since = doc.state_changed_at
    # an open request waits for its station, however long
    assert apply_retention(store.sessions, store.blobs, POLICY, now=waiting_since + 400 * DAY).deleted == []
    with session_scope(store.sessions) as session:
        doc = repository.get_document(session, document_id)
        assert doc is not None
        repository.transition(session, doc, "dismissed")
        dismissed_at = doc.state_changed_at
    assert apply_retention(store.sessions, store.blobs, POLICY, now=dismissed_at + 29 * DAY).deleted == []
    report = apply_retention(store.sessions, store.blobs, POLICY, now=dismissed_at + 31 * DAY)
    assert [d.document_id for d in report.deleted] == [document_id]
    assert tombstones(store)[document_id][1]["state"] == "dismissed"


def test_letters_of_a_split_letter_go_with_their_stack(store: Store) -> None:
    """A reviewer split a letter of a stack ("split here"): its letters are letters of a letter. Deleting the
    stack takes all of them (the deepest first); deleting the last of them takes the letter and the stack."""
    for delete_from_top in (True, False):
        stack, (letter,) = add_stack(store, [("review", None)])
        parts: list[str] = []
        with session_scope(store.sessions) as session:
            parent = repository.get_document(session, letter)
            assert parent is not None
            repository.transition(session, parent, "split")
            for number in (1, 2):
                part, _ = repository.add_separated_letter(session, parent, page_from=number, page_to=number)
                move_to(session, part, "routed", "hauptamt")
                parts.append(part.id)
        if delete_from_top:
            deletion = delete_document(store.sessions, store.blobs, stack, who="admin:a", reason="request", note="x")
            assert deletion is not None
            assert {d.document_id for d in deletion.documents} == {stack, letter, *parts}
        else:
            first = delete_document(store.sessions, store.blobs, parts[0], who="admin:a", reason="request", note="x")
            assert first is not None and [d.document_id for d in first.documents] == [parts[0]]
            assert exists(store, letter) and exists(store, stack)
            last = delete_document(store.sessions, store.blobs, parts[1], who="admin:a", reason="request", note="x")
            assert last is not None and [d.document_id for d in last.documents] == [parts[1], letter, stack]
        assert not any(exists(store, d) for d in (stack, letter, *parts))
        stones = tombstones(store)
        assert {stack, letter, *parts} <= set(stones)
