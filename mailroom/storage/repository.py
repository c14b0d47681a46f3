"""Small, race-safe functions over the tables that the pipeline, the sweeper and the API use.

All functions take an open :class:`~sqlalchemy.orm.Session` and never commit: the caller's unit of work
(:func:`mailroom.storage.db.session_scope`) decides, so that a state change, its event row and (later) its
outbox event are committed together or not at all. Functions that insert under a unique key do it in a
SAVEPOINT and, when a concurrent writer won the race (``IntegrityError``), read the winner's row instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import CursorResult, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from mailroom.errors import DocumentNotFound, InvalidTransition, StateConflict
from mailroom.result import Result, Routing
from mailroom.storage import outbox, postboxes
from mailroom.storage.models import (
    ArtifactKind,
    DocumentContentRow,
    DocumentEventRow,
    DocumentRow,
    DocumentState,
    PageArtifactRow,
    utcnow,
)

S = DocumentState

#: Which state may follow which. A document is created in ``received`` (event with ``from_state=None``).
ALLOWED_TRANSITIONS: dict[DocumentState, frozenset[DocumentState]] = {
    # e-invoices and born-digital files skip separation and OCR
    # blank or unreadable scans go back to their station (``rescan``) from wherever reading them ended
    S.RECEIVED: frozenset({S.SEPARATED, S.OCR, S.RECOGNISED, S.REVIEW, S.RESCAN, S.FAILED, S.SPLIT}),
    S.SEPARATED: frozenset({S.OCR, S.RECOGNISED, S.REVIEW, S.RESCAN, S.FAILED, S.SPLIT}),
    S.OCR: frozenset({S.RECOGNISED, S.REVIEW, S.RESCAN, S.FAILED, S.SPLIT}),
    S.RECOGNISED: frozenset({S.ROUTED, S.REVIEW, S.RESCAN, S.FAILED}),
    # routed -> routed is a re-route; routed -> review is a clerk sending a misrouted letter back
    S.ROUTED: frozenset({S.ROUTED, S.REVIEW}),
    # review -> rescan: a reviewer sends an unusable scan back to the station that scanned it;
    # review -> split: a reviewer splits a document that holds two letters (the letters go on as its children)
    S.REVIEW: frozenset({S.ROUTED, S.FAILED, S.RESCAN, S.SPLIT}),
    # a rescan request a person overrides (the page is readable enough after all) goes to review; a station's
    # new scan is a new document, and the station (or an admin) dismisses the old one once the new one is in
    S.RESCAN: frozenset({S.REVIEW, S.FAILED, S.DISMISSED}),
    # an operator reprocesses a failed document from the start
    S.FAILED: frozenset({S.RECEIVED}),
    # a file split into letters is done: its letters go on as child documents
    S.SPLIT: frozenset(),
    # a rescan request closed by its station: done with
    S.DISMISSED: frozenset(),
}

#: States in which a document waits for the pipeline (the sweeper re-enqueues them when they stall).
ACTIVE_STATES: frozenset[DocumentState] = frozenset({S.RECEIVED, S.SEPARATED, S.OCR, S.RECOGNISED})
#: States in which the pipeline is done with a document (``review`` waits for a person, ``rescan`` for the
#: station, not for a worker).
SETTLED_STATES: frozenset[DocumentState] = frozenset(
    {S.ROUTED, S.REVIEW, S.RESCAN, S.FAILED, S.SPLIT, S.DISMISSED}
)

JsonText = str | Mapping[str, Any] | BaseModel


def can_transition(from_state: str, to_state: str) -> bool:
    """Whether ``from_state`` → ``to_state`` is allowed."""
    try:
        return DocumentState(to_state) in ALLOWED_TRANSITIONS[DocumentState(from_state)]
    except (ValueError, KeyError):
        return False


def idempotency_key(sha256: str, channel: str, station: str | None) -> str:
    """The idempotency key of a received file: SHA-256 over (content hash, channel, station).

    The same bytes from the same source are the same document; ``station=None`` is its own source.
    """
    raw = json.dumps([sha256, channel, station], separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def _json_text(value: JsonText) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        to_json = getattr(value, "to_json", None)  # mailroom.result.Result knows its own JSON form
        if callable(to_json):
            return str(to_json())
        return value.model_dump_json(by_alias=True)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- documents ------------------------------------------------------------------------------------------


def get_document(session: Session, document_id: str) -> DocumentRow | None:
    """The document with this id, or ``None``."""
    return session.get(DocumentRow, document_id)


def document_in_state(
    session: Session, document_id: str, expected: DocumentState, to: DocumentState, *, why: str | None = None,
) -> DocumentRow:
    """The document a person's decision changes, in the state the caller saw: :class:`DocumentNotFound` when there
    is none, :class:`InvalidTransition` (``why`` added to its message) when it is not ``expected`` (another person
    decided first, or it was never in that state). The one check before every decision (review, re-route, rescan,
    dismissal, split)."""
    row = get_document(session, document_id)
    if row is None:
        raise DocumentNotFound(f"no document {document_id}")
    if row.state != expected.value:
        raise InvalidTransition(f"document {row.id} is {row.state}, not {expected.value}" + (f": {why}" if why else ""),
                                document_id=row.id, from_state=row.state, to_state=to.value)
    return row


def decided(session: Session, row: DocumentRow) -> DocumentRow:
    """``row`` after a decision, read back within its transaction with its letters loaded: the caller reads them
    after the session ends."""
    session.flush()
    session.refresh(row)
    row.children  # noqa: B018  loaded now
    return row


def find_by_idempotency_key(session: Session, key: str) -> DocumentRow | None:
    """The received file with this idempotency key, or ``None``."""
    return session.scalars(select(DocumentRow).where(DocumentRow.idempotency_key == key)).one_or_none()


def receive_document(
    session: Session,
    *,
    sha256: str,
    filename: str,
    kind: str,
    size: int,
    pages: int | None,
    channel: str,
    station: str | None,
    original_sha: str | None,
    mime_type: str | None = None,
    received_at: datetime | None = None,
    reason: str | None = None,
    task_id: str | None = None,
) -> tuple[DocumentRow, bool]:
    """Create the document record of a received file, or return the existing one for the same key.

    Returns ``(document, created)``. Idempotent on (sha256, channel, station) and safe against concurrent
    receivers: the loser of an insert race gets the winner's row. The creation is recorded as an event
    (``None`` → ``received``). Store the original blob *before* calling this.
    """
    key = idempotency_key(sha256, channel, station)
    existing = find_by_idempotency_key(session, key)
    if existing is not None:
        return existing, False
    now = received_at or utcnow()
    document = DocumentRow(
        sha256=sha256,
        filename=filename,
        kind=kind,
        mime_type=mime_type,
        size=size,
        pages=pages,
        source_channel=channel,
        station=station,
        idempotency_key=key,
        received_at=now,
        state=S.RECEIVED.value,
        state_changed_at=now,
        original_sha=original_sha,
        attempts=0,
        updated_at=now,
    )
    return _insert_received(session, document, reason=reason, task_id=task_id,
                            winner=lambda: find_by_idempotency_key(session, key))


def _insert_received(
    session: Session,
    document: DocumentRow,
    *,
    reason: str | None,
    task_id: str | None,
    winner: Callable[[], DocumentRow | None],
) -> tuple[DocumentRow, bool]:
    """Insert a new ``received`` document with its creation event, in a savepoint; if a concurrent writer inserted
    the same document first (unique key), return that one instead: ``(row, created)``."""
    try:
        with session.begin_nested():
            session.add(document)
            session.add(DocumentEventRow(document=document, from_state=None, to_state=S.RECEIVED.value,
                                         at=document.state_changed_at, reason=reason, task_id=task_id))
    except IntegrityError:
        existing = winner()
        if existing is None:
            raise
        return existing, False
    return document, True


def add_separated_letter(
    session: Session,
    parent: DocumentRow,
    *,
    page_from: int,
    page_to: int,
    sha256: str | None = None,
    original_sha: str | None = None,
    size: int | None = None,
    reason: str | None = None,
    task_id: str | None = None,
) -> tuple[DocumentRow, bool]:
    """Create (or return) the letter that spans pages ``page_from``..``page_to`` of a scanned stack.

    Idempotent on (parent, page_from), so a re-run of separation creates no duplicates. ``sha256`` and
    ``original_sha`` describe the letter's own file when separation wrote one; by default the letter points at
    its parent's file (with the page range).
    """
    if page_from < 1 or page_to < page_from:
        raise ValueError(f"invalid page range {page_from}..{page_to}")

    def lookup() -> DocumentRow | None:
        return session.scalars(
            select(DocumentRow).where(DocumentRow.parent_id == parent.id, DocumentRow.page_from == page_from)
        ).one_or_none()

    existing = lookup()
    if existing is not None:
        return existing, False
    now = utcnow()
    letter = DocumentRow(
        sha256=sha256 or parent.sha256,
        filename=parent.filename,
        kind=parent.kind,
        mime_type=parent.mime_type,
        size=size if size is not None else parent.size,
        pages=page_to - page_from + 1,
        source_channel=parent.source_channel,
        station=parent.station,
        idempotency_key=None,
        received_at=parent.received_at,
        state=S.RECEIVED.value,
        state_changed_at=now,
        original_sha=original_sha or parent.original_sha,
        parent_id=parent.id,
        page_from=page_from,
        page_to=page_to,
        attempts=0,
        updated_at=now,
    )
    return _insert_received(
        session, letter, reason=reason or f"separated from {parent.id} pages {page_from}-{page_to}",
        task_id=task_id, winner=lookup,
    )


def transition(
    session: Session,
    doc: DocumentRow,
    to_state: DocumentState | str,
    *,
    reason: str | None = None,
    task_id: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> DocumentEventRow:
    """Move ``doc`` to ``to_state`` and record the event; returns the event.

    Raises :class:`InvalidTransition` for a change :data:`ALLOWED_TRANSITIONS` does not allow, and
    :class:`StateConflict` (transient) when another worker changed the state in the meantime (the update is
    conditional on the state the caller saw, so two workers can never both make the same move). Moving to
    ``failed`` stores ``error_code``/``error_message``; moving anywhere else clears them.
    """
    target = DocumentState(to_state)
    current = doc.state
    if not can_transition(current, target):
        raise InvalidTransition(
            f"document {doc.id}: {current} -> {target} is not allowed",
            document_id=doc.id,
            from_state=current,
            to_state=target.value,
        )
    failed = target is S.FAILED
    event = _move(session, doc, target, reason=reason, task_id=task_id,
                  error_code=error_code if failed else None, error_message=error_message if failed else None)
    _deliver(session, doc, current, target, event.at)
    session.flush()
    return event


def _move(
    session: Session, doc: DocumentRow, target: DocumentState, *, reason: str | None, task_id: str | None,
    **values: Any,
) -> DocumentEventRow:
    """The compare-and-set state change, written once: ``doc`` moves to ``target`` only if its row is still in the
    state the caller saw (else :class:`StateConflict`), with ``values`` set in the same update; the event is
    recorded. The caller checks that the move is allowed."""
    session.flush()
    now = utcnow()
    current = doc.state
    values |= {"state": target.value, "state_changed_at": now, "updated_at": now}
    result = cast(
        CursorResult[Any],
        session.execute(
            update(DocumentRow)
            .where(DocumentRow.id == doc.id, DocumentRow.state == current)
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        session.refresh(doc)
        raise StateConflict(
            f"document {doc.id} is no longer in {current} (now {doc.state})",
            document_id=doc.id, expected_state=current, actual_state=doc.state,
        )
    for name, value in values.items():
        set_committed_value(doc, name, value)
    event = DocumentEventRow(document=doc, from_state=current, to_state=target.value, at=now, reason=reason,
                             task_id=task_id)
    session.add(event)
    return event


def _deliver(session: Session, doc: DocumentRow, from_state: str, to_state: DocumentState, at: datetime) -> None:
    """In the transaction of the state change: put a routed document into its postboxes (a document in review or
    failed into none) and write the event that announces the change to the outbox."""
    if to_state is S.ROUTED:
        routing = stored_routing(doc)
        if routing is not None and routing.postbox:
            postboxes.place(session, doc.id, routing.postbox, [c for c in routing.copies or [] if c])
    elif to_state in (S.REVIEW, S.RESCAN, S.FAILED):
        postboxes.clear(session, doc.id)
    event_type = outbox.event_type_for(from_state, to_state.value)
    if event_type is not None:
        outbox.announce(session, doc, event_type, at=at)


def restart(session: Session, doc: DocumentRow, *, reason: str, task_id: str | None = None) -> bool:
    """Send ``doc`` back to ``received`` to run the pipeline again (an operator's or a user's explicit request,
    e.g. ``mailroom process`` on a file it has seen before). Records the event; returns False when the document
    already is in ``received``. This is the one way out of a settled state other than the transitions above.
    """
    if doc.state == S.RECEIVED.value:
        return False
    _move(session, doc, S.RECEIVED, reason=reason, task_id=task_id, error_code=None, error_message=None, attempts=0)
    session.flush()
    return True


STAGES_PER_DOCUMENT = 4
"""Task starts a document needs besides one per page: start, assembly, finishing, and one to spare."""


def attempt_budget(doc: DocumentRow, per_step: int) -> int:
    """How many task starts ``doc`` may take before it counts as poison: ``per_step`` for each of its pages and
    stages (a 1-page letter: 15 with the default 3; every page of a 50-page stack may fail twice)."""
    return per_step * ((doc.pages or 1) + STAGES_PER_DOCUMENT)


def note_attempt(session: Session, doc: DocumentRow) -> int:
    """Count one more processing attempt (a task starting work on ``doc``); returns the new count.

    Also refreshes ``updated_at``, which tells the sweeper the document is being worked on.
    """
    now = utcnow()
    session.flush()
    session.execute(
        update(DocumentRow)
        .where(DocumentRow.id == doc.id)
        .values(attempts=DocumentRow.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    attempts = session.scalars(select(DocumentRow.attempts).where(DocumentRow.id == doc.id)).one()
    set_committed_value(doc, "attempts", attempts)
    set_committed_value(doc, "updated_at", now)
    return int(attempts)


def document_events(session: Session, document_id: str) -> list[DocumentEventRow]:
    """The state transitions of a document, oldest first."""
    return list(
        session.scalars(
            select(DocumentEventRow)
            .where(DocumentEventRow.document_id == document_id)
            .order_by(DocumentEventRow.id)
        )
    )


def keep_alive(session: Session, document_id: str, *, now: datetime | None = None) -> bool:
    """Refresh ``updated_at`` of a document a task is still working on (in an :data:`ACTIVE_STATES` state): the
    sweeper does not take it for stuck while one of its pages is read on a busy machine. True if refreshed."""
    result = session.execute(
        update(DocumentRow)
        .where(DocumentRow.id == document_id, DocumentRow.state.in_([s.value for s in ACTIVE_STATES]))
        .values(updated_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def stuck_documents(
    session: Session,
    older_than: timedelta,
    *,
    now: datetime | None = None,
    limit: int = 500,
    states: Collection[DocumentState] = ACTIVE_STATES,
) -> list[DocumentRow]:
    """Documents the pipeline should be working on but nothing has touched for ``older_than``.

    For the sweeper: documents in an :data:`ACTIVE_STATES` state whose ``updated_at`` (state change, attempt,
    result) is older than the cutoff, oldest first. A stack in ``separated`` whose letters exist is done (the
    letters carry on) and is not stuck. ``states`` narrows the search to the states the caller can resume.
    """
    cutoff = (now or utcnow()) - older_than
    child = aliased(DocumentRow)
    has_letters = exists().where(child.parent_id == DocumentRow.id)
    query = (
        select(DocumentRow)
        .where(
            DocumentRow.state.in_([s.value for s in states]),
            DocumentRow.updated_at < cutoff,
            ~((DocumentRow.state == S.SEPARATED.value) & has_letters),
        )
        .order_by(DocumentRow.updated_at, DocumentRow.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def documents_in_state(
    session: Session, state: DocumentState | str, *, limit: int = 100, offset: int = 0
) -> list[DocumentRow]:
    """Documents in one state, the longest-waiting first (e.g. the review queue)."""
    query = (
        select(DocumentRow)
        .where(DocumentRow.state == DocumentState(state).value)
        .order_by(DocumentRow.state_changed_at, DocumentRow.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))


# --- results and content --------------------------------------------------------------------------------


def stored_result(doc: DocumentRow) -> Result | None:
    """The stored ``mailroom.result/v1`` of ``doc``, typed (``None`` before recognition)."""
    return Result.from_json(doc.result_json) if doc.result_json else None


def stored_routing(doc: DocumentRow) -> Routing | None:
    """Only the ``routing`` part of the stored result, typed: where the document lies (postbox and copies), whether
    it is confidential. ``None`` before a decision."""
    routing = (json.loads(doc.result_json) if doc.result_json else {}).get("routing")
    return Routing.model_validate(routing) if routing else None


def change_result(session: Session, doc: DocumentRow, edit: Callable[[Result], None]) -> Result:
    """Load the stored result of ``doc``, let ``edit`` change the typed :class:`Result` and store it: the one way
    code changes a stored result (the document must have one)."""
    result = stored_result(doc)
    if result is None:
        raise InvalidTransition(f"document {doc.id} has no result yet", document_id=doc.id)
    edit(result)
    save_result(session, doc, result)
    return result


def save_result(
    session: Session, doc: DocumentRow, result_json: JsonText | None, content_json: JsonText | None = None
) -> None:
    """Store the ``mailroom.result/v1`` JSON and (optionally) the document tree JSON of ``doc``.

    Each accepts JSON text, a mapping or a pydantic model (``Result``, ``Document``). ``None`` leaves that
    part unchanged. Saving again replaces; the large content row is written without being read first.
    """
    now = utcnow()
    if result_json is not None:
        doc.result_json = _json_text(result_json)
        doc.updated_at = now
        session.flush()
    if content_json is None:
        return
    text = _json_text(content_json)
    updated = cast(
        CursorResult[Any],
        session.execute(
            update(DocumentContentRow)
            .where(DocumentContentRow.document_id == doc.id)
            .values(content_json=text, updated_at=now)
            .execution_options(synchronize_session="evaluate")
        ),
    )
    if updated.rowcount == 1:
        return
    try:
        with session.begin_nested():
            session.add(DocumentContentRow(document_id=doc.id, content_json=text, updated_at=now))
    except IntegrityError:  # a concurrent writer inserted it first: last write wins
        session.execute(
            update(DocumentContentRow)
            .where(DocumentContentRow.document_id == doc.id)
            .values(content_json=text, updated_at=now)
            .execution_options(synchronize_session="evaluate")
        )


def get_content_json(session: Session, document_id: str) -> str | None:
    """The document tree JSON of a document, or ``None`` if none was saved."""
    return session.scalar(
        select(DocumentContentRow.content_json).where(DocumentContentRow.document_id == document_id)
    )


# --- page artifacts -------------------------------------------------------------------------------------


def record_page_artifact(
    session: Session,
    doc: DocumentRow | str,
    *,
    page: int,
    kind: ArtifactKind | str,
    blob_sha: str,
    dpi: int | None = None,
    width: int | None = None,
    height: int | None = None,
) -> tuple[PageArtifactRow, bool]:
    """Record the blob of one page artifact; returns ``(row, created)``.

    Idempotent on (document, page, kind): redoing a page updates the existing row (new blob, dpi, size)
    instead of adding a second one; concurrent writers of the same page end with one row.
    """
    document_id = doc if isinstance(doc, str) else doc.id
    kind_value = ArtifactKind(kind).value
    fields = {"blob_sha": blob_sha, "dpi": dpi, "width": width, "height": height}

    def lookup() -> PageArtifactRow | None:
        return session.scalars(
            select(PageArtifactRow).where(
                PageArtifactRow.document_id == document_id,
                PageArtifactRow.page == page,
                PageArtifactRow.kind == kind_value,
            )
        ).one_or_none()

    def refresh(row: PageArtifactRow) -> PageArtifactRow:
        if any(getattr(row, name) != value for name, value in fields.items()):
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = utcnow()
            session.flush()
        return row

    existing = lookup()
    if existing is not None:
        return refresh(existing), False
    now = utcnow()
    row = PageArtifactRow(
        document_id=document_id, page=page, kind=kind_value, created_at=now, updated_at=now, **fields
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        winner = lookup()
        if winner is None:
            raise
        return refresh(winner), False
    return row, True


def page_artifacts(
    session: Session, document_id: str, *, kind: ArtifactKind | str | None = None, page: int | None = None
) -> list[PageArtifactRow]:
    """The page artifacts of a document (optionally of one kind and/or one page), by page then kind."""
    query = select(PageArtifactRow).where(PageArtifactRow.document_id == document_id)
    if kind is not None:
        query = query.where(PageArtifactRow.kind == ArtifactKind(kind).value)
    if page is not None:
        query = query.where(PageArtifactRow.page == page)
    return list(session.scalars(query.order_by(PageArtifactRow.page, PageArtifactRow.kind)))


def list_documents(
    session: Session, *, state: str | None = None, station: str | None = None, limit: int | None = 1000
) -> list[DocumentRow]:
    """Documents newest first, optionally of one state and/or station (``limit=None``: all of them)."""
    query = select(DocumentRow)
    if state is not None:
        query = query.where(DocumentRow.state == state)
    if station is not None:
        query = query.where(DocumentRow.station == station)
    query = query.order_by(DocumentRow.received_at.desc(), DocumentRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
