"""Dependencies of the routes: the services of the app, database sessions, the caller and their documents.

Routes declare what they need with the ``Annotated`` aliases at the end of this module (``ServicesDep``,
``ReadSession``, ``AnyPrincipal``, ``StationPrincipal``, ``VisibleDocument``) and :func:`read_document`; nothing
here is global, so that several apps (tests) live side by side in one process.

Who may see a document is decided in :mod:`api.auth`; a document outside the caller's scope answers 404 exactly
like one that does not exist. A route that hands out a document's content (result, original, searchable PDF,
page image, events, transfer note) takes it through :func:`read_document`, which records the read in the audit
trail (``document.read``: who, what) in a short writing transaction of its own before the content is sent: no
read without its audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth import Principal, can_see
from api.metrics import ServiceMetrics
from mailroom import audit
from mailroom.errors import DocumentNotFound, Forbidden, NoLongerVisible, Unauthorized
from mailroom.settings import Settings
from mailroom.storage import keys, repository
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role
from mailroom.storage.models import DocumentRow
from workers.dispatch import Dispatcher
from workers.pipeline import PipelineContext


@dataclass
class Services:
    """What the routes work with, built once per app by :func:`api.app.create_app`."""

    settings: Settings
    pipeline: PipelineContext
    dispatcher: Dispatcher
    metrics: ServiceMetrics


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def read_session(services: ServicesDep) -> Iterator[Session]:
    """A read-only session (never waits for a writer on SQLite)."""
    with session_scope(services.pipeline.sessions, readonly=True) as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key `mr_<id>_<secret>` from `mailroom keys create`, sent as `Authorization: Bearer ...`.",
)


def current_principal(
    services: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The caller of a request; 401 ``unauthorized`` without a valid, active key."""
    if credentials is None:
        raise Unauthorized("an API key is required: 'Authorization: Bearer mr_...'")
    with session_scope(services.pipeline.sessions, readonly=True) as session:
        row = keys.authenticate(session, credentials.credentials)
        if row is None:
            raise Unauthorized("the API key is invalid or revoked")
        return Principal.from_key(row)


AnyPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only keys of ``roles`` through (403 ``forbidden`` for the others)."""
    allowed = ", ".join(r.value for r in roles)

    def dependency(principal: AnyPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(f"a {principal.role.value} key may not do this (needs: {allowed})")
        return principal

    return dependency


StationPrincipal = Annotated[Principal, Depends(require(Role.STATION))]


def visible_document(
    document_id: Annotated[str, Path(description="The document id (32 hex digits)", max_length=64)],
    principal: AnyPrincipal,
    session: ReadSession,
) -> DocumentRow:
    """The document, if it exists and the caller may see it; 404 ``document_not_found`` otherwise."""
    row = repository.get_document(session, document_id)
    if row is None or not can_see(principal, row, session):
        own_upload = row is not None and principal.role is Role.STATION and row.station == principal.station
        if own_upload and principal.station:  # in the station's scope, so hidden only for being confidential
            raise NoLongerVisible(f"document {document_id} is a confidential letter: only its recipient sees it")
        raise DocumentNotFound(f"no document {document_id}")
    return row


VisibleDocument = Annotated[DocumentRow, Depends(visible_document)]


def record_audit(
    services: Services, *, actor: str, action: str, object_type: str, object_id: str | None,
    details: dict[str, object] | None = None,
) -> None:
    """One audit entry in a short writing transaction of its own (for requests that otherwise only read)."""
    with session_scope(services.pipeline.sessions) as session:
        audit.record(session, actor=actor, action=action, object_type=object_type, object_id=object_id,
                     details=details)


def read_document(what: str, *, only_with_result: bool = False) -> Callable[..., DocumentRow]:
    """A dependency: the visible document (as :data:`VisibleDocument`), its read recorded in the audit trail as
    ``document.read`` with ``details.what`` = ``what``. ``only_with_result``: a status read before the document
    has a result discloses no content and is not recorded (stations poll the status while mail is read)."""

    def dependency(
        request: Request, document: VisibleDocument, principal: AnyPrincipal, services: ServicesDep
    ) -> DocumentRow:
        if not only_with_result or document.result_json:
            details: dict[str, object] = {"what": what, "key_id": principal.key_id}
            details.update({k: v for k, v in request.path_params.items() if k != "document_id"})
            record_audit(services, actor=principal.actor, action="document.read", object_type="document",
                         object_id=document.id, details=details)
        return document

    return dependency
