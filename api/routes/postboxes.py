"""Postboxes for clerks and the DMS (pull API): ``/api/v1/postboxes`` and ``POST /api/v1/documents/{id}/copy``.

A ``clerk`` or ``dms`` key works the postboxes of its scope (an ``admin`` every postbox): it lists their documents
by state, oldest first (keyset pages: follow ``next_cursor``), claims one (others then get 409 ``already_claimed``
naming who holds it), releases it, acknowledges it (``done``: the start of the retention period) and sends a copy
on to another postbox with a reason. The items are ``mailroom.storage.postboxes`` rows; every change of one is
recorded in the audit trail in the same transaction (``document.claimed``, ``document.released``,
``document.acknowledged``, ``document.copied``; actor ``<role>:<key name>``).

Scoping: a postbox outside the caller's scope answers 404 ``postbox_not_found`` exactly like one that does not
exist; a document the caller may not see (``api.auth.can_see``: e.g. a confidential letter for someone else) is
left out of listings and counts and answers 404 ``document_not_found``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.auth import Principal, can_see
from api.deps import ReadSession, ServicesDep, require
from api.errors import error_responses
from api.schemas import API_PREFIX, document_url
from mailroom import audit
from mailroom.directory import Directory, check_known_postbox, current_directory
from mailroom.errors import AlreadyInPostbox, DocumentNotFound, NotRouted, PostboxNotFound
from mailroom.result import Result
from mailroom.retention import RetentionPolicy
from mailroom.storage import outbox, postboxes, repository
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role
from mailroom.storage.models import DocumentRow, DocumentState
from mailroom.storage.postboxes import Cursor, ItemState, PostboxItemRow

router = APIRouter(prefix=f"{API_PREFIX}/postboxes", tags=["postboxes"])
copy_router = APIRouter(prefix=f"{API_PREFIX}/documents", tags=["postboxes"])

PostboxPrincipal = Annotated[Principal, Depends(require(Role.CLERK, Role.DMS, Role.ADMIN))]
CopyPrincipal = Annotated[Principal, Depends(require(Role.CLERK, Role.DMS, Role.REVIEWER, Role.ADMIN))]

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
PostboxId = Annotated[str, Path(description="The postbox id", max_length=128, pattern=_NAME_PATTERN)]
DocumentId = Annotated[str, Path(description="The document id (32 hex digits)", max_length=64)]
MAX_PAGE = 500


# --- bodies ---------------------------------------------------------------------------------------------


class StateCounts(BaseModel):
    new: int = 0
    claimed: int = 0
    done: int = 0


class PostboxOverview(BaseModel):
    id: str
    name: str | None = Field(None, description="as the organisation directory names it")
    department: str | None = None
    in_directory: bool = Field(description="false for a postbox the directory no longer has (it may hold documents)")
    retention_days: float = Field(description="days a document is kept after it was done (else placed); 0: forever")
    counts: StateCounts
    documents_url: str


class PostboxList(BaseModel):
    postboxes: list[PostboxOverview]


class PostboxDocument(BaseModel):
    """A document in a postbox: the item (kind, state, who has it) and where to fetch the document."""

    document_id: str
    postbox: str
    kind: str = Field(description="primary (routed here) or copy (sent here as well)")
    state: str = Field(description="new, claimed or done")
    placed_at: datetime
    placed_by: str | None = Field(None, description="who sent the copy on (none: routing put it here)")
    note: str | None = Field(None, description="why the copy was sent on")
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    done_by: str | None = None
    done_at: datetime | None = None
    filename: str
    document_type: str | None = None
    pages: int | None = None
    received_at: datetime
    links: dict[str, Any] = Field(
        description="self, document (status and result), result, original, searchable_pdf, page_images, events, "
        "claim, release, acknowledge"
    )

    @classmethod
    def of(cls, item: PostboxItemRow, doc: DocumentRow) -> PostboxDocument:
        result = json.loads(doc.result_json) if doc.result_json else {}
        item_url = f"{API_PREFIX}/postboxes/{item.postbox}/documents/{doc.id}"
        links: dict[str, Any] = {
            "self": item_url,
            "document": document_url(doc.id),
            "result": document_url(doc.id),
            "original": document_url(doc.id, "/original"),
            "events": document_url(doc.id, "/events"),
        }
        if doc.searchable_pdf_sha:
            links["searchable_pdf"] = document_url(doc.id, "/searchable.pdf")
        if doc.kind != "xml" and doc.pages:
            links["page_images"] = [document_url(doc.id, f"/pages/{n}/image") for n in range(1, doc.pages + 1)]
        links.update(claim=f"{item_url}/claim", release=f"{item_url}/release", acknowledge=f"{item_url}/acknowledge")
        return cls(
            document_id=doc.id, postbox=item.postbox, kind=item.kind, state=item.state, placed_at=item.placed_at,
            placed_by=item.placed_by, note=item.note, claimed_by=item.claimed_by, claimed_at=item.claimed_at,
            done_by=item.done_by, done_at=item.done_at, filename=doc.filename,
            document_type=(result.get("document_type") or {}).get("label"), pages=doc.pages,
            received_at=doc.received_at, links=links,
        )


class PostboxDocuments(BaseModel):
    postbox: str
    state: str | None = Field(None, description="the state filter of this listing (none: every state)")
    documents: list[PostboxDocument]
    count: int = Field(description="documents in this page")
    next_cursor: str | None = Field(None, description="pass as `cursor` for the next page; none: this was the last")


class CopyRequest(BaseModel):
    """Send a copy of a routed document to another postbox as well."""

    postbox: str = Field(min_length=1, max_length=128, pattern=_NAME_PATTERN, description="postbox id")
    reason: str = Field(min_length=1, max_length=1000, description="why the other postbox needs it")


# --- helpers --------------------------------------------------------------------------------------------


def _scope(principal: Principal, directory: Directory, session: Session) -> list[str]:
    """The postboxes the caller works: its own, or for an admin every postbox of the directory or in use."""
    if principal.role is Role.ADMIN:
        return sorted(set(directory.postboxes) | postboxes.postboxes_in_use(session))
    return sorted(principal.postboxes)


def _check_postbox(principal: Principal, postbox: str, services: ServicesDep, session: Session) -> None:
    if principal.role is Role.ADMIN:
        if postbox in current_directory(services.settings).postboxes or postboxes.has_items(session, postbox):
            return
    elif postbox in principal.postboxes:
        return
    raise PostboxNotFound(f"no postbox {postbox}")


def _item(
    session: Session, principal: Principal, postbox: str, document_id: str, *, for_update: bool = False
) -> tuple[PostboxItemRow, DocumentRow]:
    """The item of a document in the postbox, if the caller may see the document; 404 otherwise."""
    item = postboxes.get_item(session, postbox, document_id, for_update=for_update)
    doc = session.get(DocumentRow, document_id) if item is not None else None
    if item is None or doc is None or not can_see(principal, doc, session):
        raise DocumentNotFound(f"no document {document_id} in postbox {postbox}")
    return item, doc


def _audit(session: Session, principal: Principal, action: str, item: PostboxItemRow, **details: Any) -> None:
    audit.record(session, actor=principal.actor, action=action, object_type="document", object_id=item.document_id,
                 details={"postbox": item.postbox, "kind": item.kind, "key_id": principal.key_id, **details})


_ITEM_ERRORS = error_responses(401, 403, 404, 409)


# --- routes ---------------------------------------------------------------------------------------------


@router.get(
    "",
    summary="The caller's postboxes with the number of documents new, claimed and done (clerk, dms, admin)",
    description="Clerk and DMS keys get the postboxes of their scope, admins every postbox of the organisation "
    "directory (and any other postbox still holding documents). Counts leave out documents the caller may not "
    "see (confidential letters for someone else).",
    responses=error_responses(401, 403),
)
def list_postboxes(principal: PostboxPrincipal, services: ServicesDep, session: ReadSession) -> PostboxList:
    directory = current_directory(services.settings)
    policy = RetentionPolicy.create(services.settings, directory)
    boxes = _scope(principal, directory, session)
    counts = postboxes.state_counts(session, boxes)
    if principal.role is not Role.ADMIN:
        for box, state, doc in postboxes.confidential_candidates(session, boxes):
            if not can_see(principal, doc, session):
                counts[box][state] -= 1
    overview = []
    for box in boxes:
        entry = directory.postboxes.get(box)
        overview.append(PostboxOverview(
            id=box, name=entry.name if entry else None, department=entry.department if entry else None,
            in_directory=entry is not None, retention_days=policy.days_for(box),
            counts=StateCounts(**counts[box]), documents_url=f"{API_PREFIX}/postboxes/{box}/documents",
        ))
    return PostboxList(postboxes=overview)


@router.get(
    "/{postbox}/documents",
    summary="The documents of a postbox, oldest first, optionally of one state (clerk, dms, admin)",
    description="Keyset pages: pass `next_cursor` as `cursor` until it is null; documents placed meanwhile come "
    "at the end, none is skipped or repeated. A page may hold fewer than `limit` documents when some are not "
    "visible to the caller. Each entry links to the document's result, original, searchable PDF and page images. "
    "404 `postbox_not_found` for a postbox outside the caller's scope; 422 `invalid_cursor`.",
    responses=error_responses(401, 403, 404, 422),
)
def list_postbox_documents(
    postbox: PostboxId,
    principal: PostboxPrincipal,
    services: ServicesDep,
    session: ReadSession,
    state: Annotated[ItemState | None, Query(description="only documents in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="documents per page")] = 100,
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
) -> PostboxDocuments:
    _check_postbox(principal, postbox, services, session)
    after = Cursor.decode(cursor) if cursor else None
    page: list[PostboxDocument] = []
    more = False
    while not more:  # read on past documents the caller may not see, until the page is full or nothing is left
        rows = postboxes.page_of(session, postbox, state=state, after=after, limit=limit + 1)
        for item, doc in rows:
            if len(page) == limit:
                more = True  # `after` is the last document of the page
                break
            after = Cursor.after(item)
            if can_see(principal, doc, session):
                page.append(PostboxDocument.of(item, doc))
        if len(rows) <= limit:
            break
    next_cursor = after.encode() if more and after is not None else None
    return PostboxDocuments(postbox=postbox, state=state.value if state else None, documents=page,
                            count=len(page), next_cursor=next_cursor)


@router.get(
    "/{postbox}/documents/{document_id}",
    summary="One document of a postbox: its state in the postbox and its links",
    responses=error_responses(401, 403, 404),
)
def get_postbox_document(
    postbox: PostboxId, document_id: DocumentId, principal: PostboxPrincipal, services: ServicesDep,
    session: ReadSession,
) -> PostboxDocument:
    _check_postbox(principal, postbox, services, session)
    return PostboxDocument.of(*_item(session, principal, postbox, document_id))


def _change_item(
    services: ServicesDep, principal: Principal, postbox: str, document_id: str, action: str,
    change: Callable[[Session, PostboxItemRow], bool],
) -> PostboxDocument:
    """Lock the item, apply ``change`` (True when it changed something) and record ``action`` in the audit trail
    with who held the item before, in one transaction."""
    with session_scope(services.pipeline.sessions) as session:
        _check_postbox(principal, postbox, services, session)
        item, doc = _item(session, principal, postbox, document_id, for_update=True)
        holder = item.claimed_by
        if change(session, item):
            _audit(session, principal, action, item, claimed_by=holder)
        return PostboxDocument.of(item, doc)


@router.post(
    "/{postbox}/documents/{document_id}/claim",
    summary="Take a document of the postbox (new → claimed)",
    description="Idempotent for the key's name. 409 `already_claimed` (details: `claimed_by`, `claimed_at`) when "
    "someone else holds it; 409 `already_done` when it was acknowledged.",
    responses=_ITEM_ERRORS,
)
def claim_document(
    postbox: PostboxId, document_id: DocumentId, principal: PostboxPrincipal, services: ServicesDep
) -> PostboxDocument:
    return _change_item(services, principal, postbox, document_id, "document.claimed",
                        lambda session, item: postboxes.claim(session, item, principal.actor))


@router.post(
    "/{postbox}/documents/{document_id}/release",
    summary="Give a claimed document back to the postbox (claimed → new)",
    description="Only the key that claimed it, or an admin. Idempotent: a document that is not claimed stays as it "
    "is. 409 `already_claimed` when someone else holds it; 409 `already_done` when it was acknowledged.",
    responses=_ITEM_ERRORS,
)
def release_document(
    postbox: PostboxId, document_id: DocumentId, principal: PostboxPrincipal, services: ServicesDep
) -> PostboxDocument:
    return _change_item(services, principal, postbox, document_id, "document.released",
                        lambda session, item: postboxes.release(session, item, principal.actor,
                                                                override=principal.role is Role.ADMIN))


@router.post(
    "/{postbox}/documents/{document_id}/acknowledge",
    summary="Mark a document of the postbox done (filed, answered)",
    description="A new document may be acknowledged straight away (a DMS that imported it); a claimed one only by "
    "the key that claimed it, or an admin (others: 409 `already_claimed`). Acknowledging again with the same key "
    "changes nothing (200); a document another key acknowledged answers 409 `already_done` with `details.done_by`."
    " The retention period of the postbox counts from here.",
    responses=_ITEM_ERRORS,
)
def acknowledge_document(
    postbox: PostboxId, document_id: DocumentId, principal: PostboxPrincipal, services: ServicesDep
) -> PostboxDocument:
    return _change_item(services, principal, postbox, document_id, "document.acknowledged",
                        lambda session, item: postboxes.acknowledge(session, item, principal.actor,
                                                                    override=principal.role is Role.ADMIN))


@copy_router.post(
    "/{document_id}/copy",
    status_code=201,
    summary="Send a copy of a routed document to another postbox (clerk/dms of its postbox, reviewer, admin)",
    description="The other postbox gets a `copy` item (state new) with who sent it and the reason; the document "
    "stays where it is, its result lists the copy in `routing.copies`, and `document.routed` is announced again "
    "(webhook subscriptions of the other postbox receive it). 422 `unknown_postbox` for a postbox the directory "
    "does not have; 409 `already_in_postbox` "
    "when that postbox holds the document already, `not_routed` when the document is not routed.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def copy_document(
    document_id: DocumentId, body: CopyRequest, principal: CopyPrincipal, services: ServicesDep
) -> PostboxDocument:
    with session_scope(services.pipeline.sessions) as session:
        doc = session.get(DocumentRow, document_id)
        if doc is None or not can_see(principal, doc, session):
            raise DocumentNotFound(f"no document {document_id}")
        check_known_postbox(services.settings, body.postbox)
        if doc.state != DocumentState.ROUTED.value:
            raise NotRouted(f"document {document_id} is {doc.state}: only routed documents lie in postboxes",
                            state=doc.state)
        held_in = sorted(postboxes.postboxes_of(session, document_id))
        item = postboxes.add_copy(session, document_id, body.postbox, placed_by=principal.actor, note=body.reason)
        if item is None:
            raise AlreadyInPostbox(f"postbox {body.postbox} holds document {document_id} already",
                                             field="postbox")
        _announce_copy(session, doc, body.postbox)
        _audit(session, principal, "document.copied", item, reason=body.reason, from_postboxes=held_in)
        return PostboxDocument.of(item, doc)


def _announce_copy(session: Session, doc: DocumentRow, postbox: str) -> None:
    """The result lists the copy (``routing.copies``) and ``document.routed`` is announced again in the same
    transaction, so that the DMS of the other postbox hears of it (the event's postboxes include the copies)."""

    def edit(result: Result) -> None:
        if result.routing is None:
            raise NotRouted(f"document {doc.id} has no routing to add a copy to")
        result.routing.copies = sorted({*(result.routing.copies or []), postbox})

    repository.change_result(session, doc, edit)
    outbox.announce(session, doc, outbox.ROUTED)
