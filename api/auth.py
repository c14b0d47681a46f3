"""Who is calling (:class:`Principal`) and which documents they may see: the one place where scoping is decided.

The principal is built from the API key (``mailroom.storage.keys``): its name, role and scope. Every route that
touches a document asks this module, through ``api.deps`` (``VisibleDocument``, ``read_document``) or, for
listings, :func:`visible_documents`, which filters in SQL with the same rules:

* ``admin`` sees every document;
* ``station`` sees the documents uploaded by its station and the letters separated from them (they carry the
  station of their stack);
* ``clerk`` and ``dms`` see the documents that lie in one of their postboxes: the ``postbox_items`` rows
  (primary or copy, :mod:`mailroom.storage.postboxes`), never the result JSON, so that a document re-routed
  elsewhere, sent back to review or failed leaves the postbox at once;
* ``reviewer`` sees the review queue (documents in state ``review``) and, after deciding, the documents it
  decided itself (a correction label with its key name): it can check and correct its own decision, but it does
  not see the rest of the routed mail;
* a **confidential** letter (``result.routing.confidential``: "persönlich/vertraulich") is seen only by admins
  and by the clerk/dms keys of its postbox whose ``person`` is the named recipient (``result.routing.person``);
  without a named person, by the clerk/dms keys of its postbox. Stations and reviewers never see it (a
  confidential letter in review is decided by an admin). Its transfer note (no content) stays with the station.

Anything else answers 404 ``document_not_found``, exactly as a document that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, select, true
from sqlalchemy.orm import Session

from mailroom.confidentiality import Marking, may_open
from mailroom.storage.keys import ApiKeyRow, Role
from mailroom.storage.labels import LabelRow
from mailroom.storage.models import DocumentRow, DocumentState
from mailroom.storage.postboxes import PostboxItemRow

#: Rows read per batch while a listing skips confidential letters the caller may not see.
_LIST_BATCH = 200


@dataclass(frozen=True)
class Principal:
    """The caller: the key's id and name (for logs and the audit trail; never the secret), role and scope."""

    key_id: str
    name: str
    role: Role
    station: str | None = None
    postboxes: frozenset[str] = frozenset()
    person: str | None = None

    @classmethod
    def from_key(cls, row: ApiKeyRow) -> Principal:
        return cls(
            key_id=row.id, name=row.name, role=Role(row.role), station=row.station,
            postboxes=frozenset(row.postboxes), person=row.person,
        )

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @property
    def actor(self) -> str:
        """How the audit trail names this caller: ``<role>:<key name>`` (e.g. ``station:poststelle-1``)."""
        return f"{self.role.value}:{self.name}"


def _routing(row: DocumentRow) -> dict[str, Any]:
    if not row.result_json:
        return {}
    routing = json.loads(row.result_json).get("routing") or {}
    return routing if isinstance(routing, dict) else {}


def routed_postbox(row: DocumentRow) -> str | None:
    """The postbox a document was routed to, from its stored result (``None`` before routing)."""
    postbox = _routing(row).get("postbox")
    return postbox if isinstance(postbox, str) else None


def scope_clause(principal: Principal) -> ColumnElement[bool]:
    """The SQL condition on :class:`DocumentRow` for the documents in ``principal``'s scope (before the
    confidentiality check of :func:`may_see_confidential`, which needs the result JSON)."""
    if principal.role is Role.ADMIN:
        return true()
    if principal.role is Role.STATION:
        return DocumentRow.station == principal.station if principal.station else false()
    if principal.role in (Role.CLERK, Role.DMS):
        if not principal.postboxes:
            return false()
        return exists().where(
            PostboxItemRow.document_id == DocumentRow.id, PostboxItemRow.postbox.in_(sorted(principal.postboxes))
        )
    if principal.role is Role.REVIEWER:
        decided = exists().where(LabelRow.document_id == DocumentRow.id, LabelRow.who == principal.name)
        return (DocumentRow.state == DocumentState.REVIEW.value) | decided
    return false()


def may_see_confidential(principal: Principal, row: DocumentRow) -> bool:
    """The confidentiality check on top of :func:`scope_clause` (True for documents that are not confidential):
    :func:`mailroom.confidentiality.may_open`, the rule every channel applies; a clerk/dms key within its scope
    holds the document's postbox."""
    return may_open(Marking.of(_routing(row)), admin=principal.role is Role.ADMIN,
                    holder=principal.role in (Role.CLERK, Role.DMS), person=principal.person)


def can_see(principal: Principal, row: DocumentRow, session: Session) -> bool:
    """Whether ``principal`` may see the document ``row`` (see the module docstring)."""
    if principal.role is not Role.ADMIN:
        in_scope = session.scalar(select(DocumentRow.id).where(DocumentRow.id == row.id, scope_clause(principal)))
        if in_scope is None:
            return False
    return may_see_confidential(principal, row)


def visible_documents(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    station: str | None = None,
    postbox: str | None = None,
    limit: int = 100,
    offset: int = 0,
    oldest_first: bool = False,
) -> list[DocumentRow]:
    """A page of the documents ``principal`` may see, newest first (``oldest_first``: the review queue's order,
    by when they entered their state), filtered in SQL.

    Confidential letters the caller may not see are skipped before ``offset`` is counted, so pages neither leak
    nor come up short.
    """
    query: Select[Any] = select(DocumentRow).where(scope_clause(principal))
    if state is not None:
        query = query.where(DocumentRow.state == state)
    if station is not None:
        query = query.where(DocumentRow.station == station)
    if postbox is not None:
        query = query.where(
            exists().where(PostboxItemRow.document_id == DocumentRow.id, PostboxItemRow.postbox == postbox)
        )
    if oldest_first:
        query = query.order_by(DocumentRow.state_changed_at, DocumentRow.id)
    else:
        query = query.order_by(DocumentRow.received_at.desc(), DocumentRow.id.desc())
    if principal.role is Role.ADMIN:
        return list(session.scalars(query.offset(offset).limit(limit)))
    page: list[DocumentRow] = []
    skipped = 0
    for row in _batches(session, query):
        if not may_see_confidential(principal, row):
            continue
        if skipped < offset:
            skipped += 1
            continue
        page.append(row)
        if len(page) == limit:
            break
    return page


def _batches(session: Session, query: Select[Any]) -> Iterator[DocumentRow]:
    start = 0
    while True:
        rows = list(session.scalars(query.offset(start).limit(_LIST_BATCH)))
        yield from rows
        if len(rows) < _LIST_BATCH:
            return
        start += _LIST_BATCH
