"""Review decisions, re-routes and confirmed invoice fields: ``POST /api/v1/documents/{id}/decision``,
``.../reroute`` and ``.../fields`` (the last one through :func:`extraction.confirm.confirm_invoice_fields`, the
function the web UI's validation station calls too).

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

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import Principal
from api.deps import ServicesDep, VisibleDocument, require
from api.errors import error_responses
from api.review import decide_review as decide
from api.review import reroute
from api.schemas import (
    API_PREFIX,
    DecisionRequest,
    DocumentStatus,
    FieldsConfirmation,
    FieldsRequest,
    RerouteRequest,
)
from extraction.confirm import confirm_invoice_fields
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role

router = APIRouter(prefix=f"{API_PREFIX}/documents", tags=["review"])

ReviewerPrincipal = Annotated[Principal, Depends(require(Role.REVIEWER, Role.ADMIN))]
ReroutePrincipal = Annotated[Principal, Depends(require(Role.CLERK, Role.DMS, Role.REVIEWER, Role.ADMIN))]


@router.post(
    "/{document_id}/decision",
    summary="Decide where a document of the review queue goes (reviewer, admin)",
    description="The document (state `review`) is routed to `postbox`; with `document_type`, its type is "
    "corrected too. Both are stored as labels for retraining; `routing.decided_by` is `reviewer:<key name>` and "
    "the earlier decision is kept in `routing.history`. 422 `unknown_postbox` for a postbox the directory does "
    "not have, `unknown_document_type` for a type the type model does not know; 409 `invalid_transition` when the "
    "document is not in review.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def decide_review(
    body: DecisionRequest, principal: ReviewerPrincipal, document: VisibleDocument, services: ServicesDep
) -> DocumentStatus:
    return DocumentStatus.from_row(decide(
        services.settings, services.pipeline.sessions, document.id, postbox=body.postbox,
        decided_by=f"reviewer:{principal.name}", who=principal.name, document_type=body.document_type,
    ))


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
    return DocumentStatus.from_row(reroute(
        services.settings, services.pipeline.sessions, document.id, postbox=body.postbox,
        decided_by=f"{principal.role.value}:{principal.name}", who=principal.name, reason=body.reason,
    ))


@router.post(
    "/{document_id}/fields",
    summary="Confirm or correct an invoice's fields; the supplier's layout is learned (reviewer, admin)",
    description="The values (contract form: ISO dates, `1234.56` amounts) replace the read ones with source "
    "`reviewer`; with `confirm_rest`, every other field as read is confirmed too. The correction is stored as a "
    "`fields` label, the audit trail records `invoice.fields_confirmed` (field names, not values), and the place "
    "of every confirmed value on the page is learned for the supplier (its creditor number, else its VAT id, "
    "else its IBAN), so that its next invoice is read there first; the invoice's checks run again on the stored "
    "values. 422 `invalid_correction` for an unknown field or a value of the wrong shape, `invalid_fields` for "
    "values that fail their checks (IBAN/VAT id check digits, dates, net + VAT = gross; `details.problems` per "
    "field); 409 `not_an_invoice` for a document not read as an invoice.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def confirm_fields(
    body: FieldsRequest, principal: ReviewerPrincipal, document: VisibleDocument, services: ServicesDep
) -> FieldsConfirmation:
    with session_scope(services.pipeline.sessions) as session:
        done = confirm_invoice_fields(
            session, services.pipeline.blobs, document.id, body.fields, actor=f"reviewer:{principal.name}",
            who=principal.name, confirm_rest=body.confirm_rest,
        )
    return FieldsConfirmation(document_id=document.id, corrected=done.corrected, supplier_key=done.supplier_key,
                              learned=done.learned, invoice=done.invoice)
