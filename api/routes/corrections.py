"""Review decisions and re-routes: ``POST /api/v1/documents/{id}/decision`` and ``.../reroute``.

A reviewer (or admin) decides where a document of the review queue goes; a clerk or DMS key of the document's
postbox, the reviewer who decided it or an admin sends a routed document on to another postbox (scopes:
:mod:`api.auth`). Both are corrections: they are
stored as labels (``mailroom.storage.labels``) that the next retraining learns from, the document's result
says who decided, with the earlier decisions kept in ``routing.history``, and the audit trail records it
(``document.review_decided`` / ``document.rerouted``, actor ``<role>:<key name>``).

The state change, the result and the labels are one transaction; the state change is conditional on the state
the caller saw, so two reviewers deciding the same document at once cannot both win (409 ``state_conflict``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.auth import Principal
from api.deps import ServicesDep, VisibleDocument, require
from api.errors import error_responses
from api.schemas import API_PREFIX, DecisionRequest, DocumentStatus, RerouteRequest
from mailroom import audit
from mailroom.directory import check_known_postbox
from mailroom.errors import DocumentNotFound, InvalidTransition, SamePostbox
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role
from mailroom.storage.labels import LabelKind, record_correction
from mailroom.storage.models import DocumentRow, DocumentState

router = APIRouter(prefix=f"{API_PREFIX}/documents", tags=["review"])

ReviewerPrincipal = Annotated[Principal, Depends(require(Role.REVIEWER, Role.ADMIN))]
ReroutePrincipal = Annotated[Principal, Depends(require(Role.CLERK, Role.DMS, Role.REVIEWER, Role.ADMIN))]


def _routing_with_history(result: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The current routing (without its history) and the history with the current routing appended."""
    previous = dict(result.get("routing") or {})
    history = list(previous.pop("history", None) or [])
    if previous:
        history.append(previous)
    return previous, history


def _apply(
    services: ServicesDep,
    document: DocumentRow,
    *,
    expected: DocumentState,
    postbox: str,
    decided_by: str,
    who: str,
    reason: str | None,
    document_type: str | None = None,
) -> DocumentStatus:
    """Move the document to ``postbox`` (state ``routed``), rewrite its result, store the labels: one transaction."""
    with session_scope(services.pipeline.sessions) as session:
        row = repository.get_document(session, document.id)
        if row is None:
            raise DocumentNotFound(f"no document {document.id}")
        if row.state != expected.value:
            raise InvalidTransition(
                f"document {row.id} is {row.state}, not {expected.value}", document_id=row.id,
                from_state=row.state, to_state=DocumentState.ROUTED.value,
            )
        result: dict[str, Any] = json.loads(row.result_json) if row.result_json else {}
        previous, history = _routing_with_history(result)
        if expected is DocumentState.ROUTED and previous.get("postbox") == postbox:
            raise SamePostbox(f"document {row.id} is already in postbox {postbox!r}", field="postbox")
        routing: dict[str, Any] = {
            "postbox": postbox, "status": "routed", "confidence": 1.0, "decided_by": decided_by,
            "trace": [], "alternatives": [], "history": history,
        }
        if reason:
            routing["reason"] = reason
        for kept in ("confidential", "person"):  # a personal letter stays personal wherever it is sent
            if previous.get(kept):
                routing[kept] = previous[kept]
        result["routing"] = routing
        if document_type:
            result["document_type"] = {"label": document_type, "confidence": 1.0, "decided_by": decided_by}
            record_correction(session, row.id, kind=LabelKind.TYPE.value, value=document_type, who=who)
        record_correction(session, row.id, kind=LabelKind.REROUTE.value, value=postbox, who=who)
        repository.save_result(session, row, result)
        event_reason = f"{'re-routed' if expected is DocumentState.ROUTED else 'routed'} to {postbox} by {decided_by}"
        repository.transition(session, row, DocumentState.ROUTED,
                              reason=f"{event_reason}: {reason}" if reason else event_reason)
        audit.record(
            session, actor=decided_by, object_type="document", object_id=row.id,
            action="document.review_decided" if expected is DocumentState.REVIEW else "document.rerouted",
            details={"from_state": expected.value, "from_postbox": previous.get("postbox"), "postbox": postbox,
                     "previous_decided_by": previous.get("decided_by"), "reason": reason,
                     "document_type": document_type},
        )
        session.flush()
        session.refresh(row)
        return DocumentStatus.from_row(row)


@router.post(
    "/{document_id}/decision",
    summary="Decide where a document of the review queue goes (reviewer, admin)",
    description="The document (state `review`) is routed to `postbox`; with `document_type`, its type is "
    "corrected too. Both are stored as labels for retraining; `routing.decided_by` is `reviewer:<key name>` and "
    "the earlier decision is kept in `routing.history`. 422 `unknown_postbox` for a postbox the directory does "
    "not have; 409 `invalid_transition` when the document is not in review.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def decide_review(
    body: DecisionRequest, principal: ReviewerPrincipal, document: VisibleDocument, services: ServicesDep
) -> DocumentStatus:
    check_known_postbox(services.settings, body.postbox)
    return _apply(
        services, document, expected=DocumentState.REVIEW, postbox=body.postbox,
        decided_by=f"reviewer:{principal.name}", who=principal.name, reason=None, document_type=body.document_type,
    )


@router.post(
    "/{document_id}/reroute",
    summary="Send a routed document on to another postbox (clerk/dms of its postbox, reviewer, admin)",
    description="The document (state `routed`) moves to `postbox`; a `reroute` label is stored for retraining, "
    "the reason goes to the document's events and `routing.reason`, the earlier decision to `routing.history`. "
    "Clerk and DMS keys may re-route only documents of their own postboxes, reviewers only documents they decided "
    "themselves (others answer 404). 422 "
    "`unknown_postbox` / `same_postbox`; 409 `invalid_transition` when the document is not routed.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def reroute_document(
    body: RerouteRequest, principal: ReroutePrincipal, document: VisibleDocument, services: ServicesDep
) -> DocumentStatus:
    check_known_postbox(services.settings, body.postbox)
    return _apply(
        services, document, expected=DocumentState.ROUTED, postbox=body.postbox,
        decided_by=f"{principal.role.value}:{principal.name}", who=principal.name, reason=body.reason,
    )
