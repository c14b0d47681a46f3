"""Retention and deletion on request: documents leave the database and the blob store, an audit tombstone stays.

**Retention** (:func:`apply_retention`, run by the beat every ``MAILROOM_RETENTION_INTERVAL_HOURS``): a postbox
keeps a document for its retention period (the directory's ``retention_days`` of the postbox, else
``MAILROOM_RETENTION_DAYS``, default 365; ``0`` keeps forever), counted from when its item was acknowledged
(``done_at``), or from when it was placed in the postbox if nobody acknowledged it. A document lying in several
postboxes (primary and copies) is deleted when the last of them no longer needs it; one postbox that keeps
forever keeps it. What no postbox holds:

* ``failed`` documents, dismissed rescan requests (``dismissed``) and ``routed`` ones without a postbox item
  expire ``MAILROOM_RETENTION_DAYS`` after their last state change;
* documents still in the pipeline (``received`` … ``recognised``) or waiting in the review queue are never
  deleted by retention: a person or a worker still needs them;
* a scanned stack (``split``) is the file its letters were cut from (they share its original): it stays as long
  as one of its letters stays, and goes with the last of them.

**Deletion on request** (data protection: ``DELETE /api/v1/documents/{id}``, ``mailroom documents delete``):
the document goes now, whatever its postboxes; a stack goes with all its letters. A document still in the
pipeline is refused (:class:`DocumentInProcessing`: a worker would write to it; ask again once it settled).

What a deletion removes, in one transaction: the document rows (content, events, page artifacts, labels, postbox
items, outbox events and their webhook deliveries go by ``ON DELETE CASCADE``), the invoice fingerprints of the
document and the reference of a supplier layout learned from it; it writes one audit tombstone per document
(``action="document.deleted"``, details: ``sha256``, ``filename``, ``postbox``, ``copies``, ``reason`` —
``retention`` or ``request`` —, ``note``, ``who``). After the commit it removes the blobs (original, searchable
PDF, page artifacts) that no remaining document or artifact references: the store is content-addressed, so the
same bytes may belong to another document too.

Known limit: a blob is removed after the commit that deleted its last reference. An upload of exactly the same
bytes in the same instant can find the blob still there, skip storing it, and reference it just after it is
removed; such a document fails with ``blob_not_found`` and is uploaded again. A crash between the commit and the
removal leaves unreferenced blobs behind (no data is lost, only disk).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from mailroom import audit
from mailroom.directory import Directory, current_directory
from mailroom.errors import DocumentInProcessing, DocumentNotFound
from mailroom.settings import Settings
from mailroom.storage import mail as mail_storage
from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import session_scope
from mailroom.storage.models import DocumentRow, DocumentState, PageArtifactRow, utcnow
from mailroom.storage.postboxes import ItemKind, ItemState, PostboxItemRow, items_of
from mailroom.storage.repository import ACTIVE_STATES
from mailroom.storage.suppliers import InvoiceFingerprintRow, SupplierLayoutRow

log = logging.getLogger(__name__)

S = DocumentState

#: The actor of the audit tombstones written by the scheduled retention.
RETENTION_ACTOR = "system:retention"
DELETED = "document.deleted"
#: States whose documents retention deletes ``MAILROOM_RETENTION_DAYS`` after their last state change when no
#: postbox holds them (a routed one in a postbox: that postbox's period).
_KEPT_FOR_A_PERIOD = (S.ROUTED.value, S.FAILED.value, S.DISMISSED.value)
#: Documents deleted per run of :func:`apply_retention` at most (the next run goes on).
DEFAULT_BATCH = 500


# --- the policy -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionPolicy:
    """Days a document is kept per postbox (``0``: forever) and for documents in no postbox."""

    default_days: float
    per_postbox: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, directory: Directory) -> RetentionPolicy:
        boxes = {box.id: box.retention_days for box in directory.postboxes.values() if box.retention_days is not None}
        return cls(default_days=settings.retention_days, per_postbox=boxes)

    def days_for(self, postbox: str) -> float:
        return self.per_postbox.get(postbox, self.default_days)

    def shortest_days(self) -> float | None:
        """The shortest period that ends at all (``None``: everything is kept forever)."""
        finite = [d for d in (self.default_days, *self.per_postbox.values()) if d > 0]
        return min(finite) if finite else None

    def item_expiry(self, item: PostboxItemRow) -> datetime | None:
        """When the item's postbox no longer needs the document (``None``: never)."""
        days = self.days_for(item.postbox)
        if days <= 0:
            return None
        start = item.done_at if item.state == ItemState.DONE.value and item.done_at else item.placed_at
        return start + timedelta(days=days)

    def document_expiry(self, doc: DocumentRow, items: Iterable[PostboxItemRow]) -> datetime | None:
        """When retention deletes ``doc`` (``None``: not retention's to delete, or kept forever)."""
        if doc.state in _KEPT_FOR_A_PERIOD:
            expiries = [self.item_expiry(item) for item in items]
            if expiries:
                return None if None in expiries else max(e for e in expiries if e is not None)
            if self.default_days <= 0:
                return None
            return doc.state_changed_at + timedelta(days=self.default_days)
        return None


def current_policy(settings: Settings) -> RetentionPolicy:
    """The policy of the installed organisation directory (else the default one) and ``settings``."""
    return RetentionPolicy.create(settings, current_directory(settings))


# --- deleting -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeletedDocument:
    document_id: str
    sha256: str
    filename: str
    state: str
    postbox: str | None
    copies: tuple[str, ...]
    parent_id: str | None


@dataclass
class Deletion:
    """What one deletion removed: documents (a stack with its letters) and blobs."""

    documents: list[DeletedDocument] = field(default_factory=list)
    blobs_removed: list[str] = field(default_factory=list)


def delete_document(
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    document_id: str,
    *,
    who: str,
    reason: str,
    note: str | None = None,
    only_if: Callable[[Session, DocumentRow], bool] | None = None,
) -> Deletion | None:
    """Delete ``document_id`` (a stack: with its letters; the last letter of a stack: with the stack).

    ``reason`` is ``"retention"`` or ``"request"``; ``note`` the requester's words. ``only_if`` is checked on the
    document inside the deleting transaction (``None`` returned when it says no: retention re-checks the expiry
    against a clerk acting at the same moment). Raises :class:`DocumentNotFound` and :class:`DocumentInProcessing`.
    """
    with session_scope(sessions) as session:
        doc = session.scalars(select(DocumentRow).where(DocumentRow.id == document_id).with_for_update()).one_or_none()
        if doc is None:
            raise DocumentNotFound(f"no document {document_id}")
        if only_if is not None and not only_if(session, doc):
            return None
        deletion = Deletion()
        candidates = _erase(session, doc, who=who, reason=reason, note=note, deletion=deletion)
        unreferenced = sorted(candidates - _referenced(session, candidates))
    for sha in unreferenced:
        if blobs.delete(sha):
            deletion.blobs_removed.append(sha)
    log.info("deleted %s (%s): %d documents, %d blobs", document_id, reason, len(deletion.documents),
             len(deletion.blobs_removed), extra={"document_id": document_id})
    return deletion


def _erase(
    session: Session, doc: DocumentRow, *, who: str, reason: str, note: str | None, deletion: Deletion
) -> set[str]:
    """Delete ``doc`` (with its letters; with its stack when it was the last letter); returns the blobs it used."""
    levels = _letter_levels(session, doc.id)  # a reviewer's split of a letter makes letters of a letter
    letters = [letter for level in levels for letter in level]
    group = [*letters, doc]
    busy = [d.id for d in group if DocumentState(d.state) in ACTIVE_STATES]
    if busy:
        raise DocumentInProcessing(
            f"document {doc.id} is still being processed ({', '.join(busy)}); delete it once it has settled",
            documents=busy,
        )
    shas: set[str] = set()
    for member in group:
        shas |= _tombstone(session, member, who=who, reason=reason, note=note, deletion=deletion)
    ids = [d.id for d in group]
    session.execute(delete(InvoiceFingerprintRow).where(InvoiceFingerprintRow.document_id.in_(ids)))
    session.execute(update(SupplierLayoutRow).where(SupplierLayoutRow.learned_from.in_(ids)).values(learned_from=None))
    parent_id = doc.parent_id
    # letters first, the deepest first: each refers to its stack
    for member_ids in [*[[d.id for d in level] for level in reversed(levels)], [doc.id]]:
        if member_ids:
            session.execute(
                delete(DocumentRow).where(DocumentRow.id.in_(member_ids)).execution_options(synchronize_session=False)
            )
    for member in group:
        session.expunge(member)
    session.flush()
    if parent_id is not None:
        remaining = session.scalar(select(exists().where(DocumentRow.parent_id == parent_id)))
        parent = session.get(DocumentRow, parent_id)
        if not remaining and parent is not None and parent.state == S.SPLIT.value:
            shas |= _erase(session, parent, who=who, reason=reason, deletion=deletion,
                           note=f"the last letter of the stack was deleted ({doc.id})")
    return shas


def _letter_levels(session: Session, document_id: str) -> list[list[DocumentRow]]:
    """The letters of a document, level by level (its letters, their letters, ...)."""
    levels: list[list[DocumentRow]] = []
    parents = [document_id]
    while parents:
        level = list(session.scalars(select(DocumentRow).where(DocumentRow.parent_id.in_(parents))))
        if level:
            levels.append(level)
        parents = [d.id for d in level]
    return levels


def _tombstone(
    session: Session, doc: DocumentRow, *, who: str, reason: str, note: str | None, deletion: Deletion
) -> set[str]:
    """Write the audit tombstone of ``doc``; returns the blobs it used."""
    items = items_of(session, doc.id)
    primary = next((i.postbox for i in items if i.kind == ItemKind.PRIMARY.value), None)
    copies = tuple(i.postbox for i in items if i.kind == ItemKind.COPY.value)
    artifact_shas = set(session.scalars(select(PageArtifactRow.blob_sha).where(PageArtifactRow.document_id == doc.id)))
    details: dict[str, Any] = {
        "sha256": doc.sha256, "filename": doc.filename, "postbox": primary, "copies": list(copies),
        "reason": reason, "who": who, "state": doc.state, "received_at": doc.received_at.isoformat(),
        "pages": doc.pages, "station": doc.station,
    }
    if doc.parent_id:
        details["parent_id"] = doc.parent_id
    if note:
        details["note"] = note
    audit.record(session, actor=who, action=DELETED, object_type="document", object_id=doc.id, details=details)
    deletion.documents.append(DeletedDocument(doc.id, doc.sha256, doc.filename, doc.state, primary, copies,
                                              doc.parent_id))
    return {sha for sha in (doc.original_sha, doc.searchable_pdf_sha, *artifact_shas) if sha}


def _referenced(session: Session, shas: set[str]) -> set[str]:
    """The blobs among ``shas`` that a remaining document or page artifact still refers to."""
    if not shas:
        return set()
    wanted = sorted(shas)
    found: set[str] = set()
    found |= set(session.scalars(select(DocumentRow.original_sha).where(DocumentRow.original_sha.in_(wanted))))
    found |= set(session.scalars(
        select(DocumentRow.searchable_pdf_sha).where(DocumentRow.searchable_pdf_sha.in_(wanted))
    ))
    found |= set(session.scalars(select(PageArtifactRow.blob_sha).where(PageArtifactRow.blob_sha.in_(wanted))))
    return found


# --- retention ------------------------------------------------------------------------------------------


@dataclass
class RetentionReport:
    """One run of :func:`apply_retention`: the documents found past their period and what was deleted."""

    expired: list[str] = field(default_factory=list)
    deleted: list[DeletedDocument] = field(default_factory=list)
    blobs_removed: int = 0
    skipped: list[str] = field(default_factory=list)
    mail_records_forgotten: int = 0

    def summary(self) -> dict[str, Any]:
        return {"expired": len(self.expired), "deleted": len(self.deleted), "blobs_removed": self.blobs_removed,
                "skipped": len(self.skipped), "mail_records_forgotten": self.mail_records_forgotten}


def expired_documents(
    session: Session, policy: RetentionPolicy, *, now: datetime | None = None, limit: int = DEFAULT_BATCH
) -> list[str]:
    """Ids of up to ``limit`` documents past their retention period at ``now`` (oldest first).

    Candidates are found in SQL with the shortest period of the policy, then checked exactly per document.
    Stacks are not listed: they go with their last letter (or, when no letter is left at all, are listed).
    """
    now = now or utcnow()
    shortest = policy.shortest_days()
    if shortest is None:
        return []
    found: list[str] = []
    cutoff = now - timedelta(days=shortest)
    started = func.coalesce(PostboxItemRow.done_at, PostboxItemRow.placed_at)
    with_items = (
        select(PostboxItemRow.document_id, func.min(started))
        .join(DocumentRow, DocumentRow.id == PostboxItemRow.document_id)
        .where(DocumentRow.state.in_((S.ROUTED.value, S.FAILED.value)))
    )
    other = aliased(PostboxItemRow)
    forever = sorted(box for box, days in policy.per_postbox.items() if days <= 0)
    if forever:  # a postbox that keeps forever keeps the document: not a candidate, run after run
        with_items = with_items.where(~exists().where(other.document_id == PostboxItemRow.document_id,
                                                      other.postbox.in_(forever)))
    if policy.default_days <= 0:  # only the postboxes with a period of their own let documents go
        finite = sorted(box for box, days in policy.per_postbox.items() if days > 0)
        with_items = with_items.where(~exists().where(other.document_id == PostboxItemRow.document_id,
                                                      other.postbox.notin_(finite)))
    with_items = (
        with_items.group_by(PostboxItemRow.document_id)
        .having(func.min(started) <= cutoff)
        .order_by(func.min(started), PostboxItemRow.document_id)
    )
    for document_id, _ in session.execute(with_items):
        doc = session.get(DocumentRow, document_id)
        if doc is not None and _expired(session, policy, doc, now):
            found.append(document_id)
            if len(found) >= limit:
                return found
    if policy.default_days > 0:
        default_cutoff = now - timedelta(days=policy.default_days)
        without_items = (
            select(DocumentRow.id)
            .where(DocumentRow.state.in_(_KEPT_FOR_A_PERIOD),
                   DocumentRow.state_changed_at <= default_cutoff,
                   ~exists().where(PostboxItemRow.document_id == DocumentRow.id))
            .order_by(DocumentRow.state_changed_at, DocumentRow.id)
            .limit(limit - len(found))
        )
        found += list(session.scalars(without_items))
    letter = aliased(DocumentRow)
    empty_stacks = (
        select(DocumentRow.id)
        .where(DocumentRow.state == S.SPLIT.value, ~exists().where(letter.parent_id == DocumentRow.id))
        .order_by(DocumentRow.state_changed_at, DocumentRow.id)
        .limit(max(0, limit - len(found)))
    )
    found += list(session.scalars(empty_stacks))
    return found[:limit]


def _expired(session: Session, policy: RetentionPolicy, doc: DocumentRow, now: datetime) -> bool:
    if doc.state == S.SPLIT.value:  # a stack left without letters
        return not session.scalar(select(exists().where(DocumentRow.parent_id == doc.id)))
    expiry = policy.document_expiry(doc, items_of(session, doc.id))
    return expiry is not None and expiry <= now


def apply_retention(
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    policy: RetentionPolicy,
    *,
    now: datetime | None = None,
    limit: int = DEFAULT_BATCH,
    dry_run: bool = False,
) -> RetentionReport:
    """Delete the documents past their retention period (at most ``limit``), each in its own transaction, each
    re-checked there; with ``dry_run`` only report which ones."""
    now = now or utcnow()
    report = RetentionReport()
    with session_scope(sessions, readonly=True) as session:
        report.expired = expired_documents(session, policy, now=now, limit=limit)
    if dry_run:
        return report
    gone: set[str] = set()
    for document_id in report.expired:
        if document_id in gone:  # went with its stack or its last letter
            continue
        try:
            deletion = delete_document(
                sessions, blobs, document_id, who=RETENTION_ACTOR, reason="retention",
                only_if=lambda session, doc: _expired(session, policy, doc, now),
            )
        except (DocumentNotFound, DocumentInProcessing) as exc:
            log.info("retention skipped %s: %s", document_id, exc)
            report.skipped.append(document_id)
            continue
        if deletion is None:
            report.skipped.append(document_id)
            continue
        report.deleted += deletion.documents
        report.blobs_removed += len(deletion.blobs_removed)
        gone |= {d.document_id for d in deletion.documents}
    with session_scope(sessions) as session:  # the e-mails whose documents are gone: sender and subject too
        report.mail_records_forgotten = mail_storage.forget(
            session, refused_before=now - timedelta(days=policy.default_days)
        )
    if report.expired:
        log.info("retention: %s", report.summary())
    return report


def run_retention(
    settings: Settings, sessions: sessionmaker[Session], blobs: BlobStore, *, dry_run: bool = False,
    limit: int = DEFAULT_BATCH,
) -> RetentionReport:
    """:func:`apply_retention` with the policy of the installed directory and ``settings`` (the beat's task)."""
    return apply_retention(sessions, blobs, current_policy(settings), dry_run=dry_run, limit=limit)
