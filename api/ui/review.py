"""The validation station: the review queue (oldest first, with reason and age) and the document view.

The document view shows the pages with coloured boxes (address field, invoice fields), the reasons, the
postbox (top alternatives first, all postboxes searchable by typing), the document type and the invoice fields,
checked as they are typed (htmx posts the form to ``.../check``, the messages come back out of band).
Confirming calls :func:`api.review.decide_review` (the REST API's decision, with the corrected fields: labels,
layout memory) and opens the next document of the queue; the queue is :func:`api.review.review_queue`. The routes
only read the form and show the answer: a refused decision is said on the document's page (:data:`_REFUSED`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.deps import ReadSession, Services, ServicesDep, record_audit
from api.rescan import send_back_for_rescan
from api.review import decide_review, review_queue
from api.split import split_document
from api.ui.documents import failed_fields, field_state, page_views, result_of, stored_document, visible_row
from api.ui.texts import DOCUMENT_TYPES
from api.ui.web import UI_PREFIX, UiContext, changing_as, redirect, render, signed_in_as
from extraction.labels import FIELD_KINDS, Kind
from extraction.review import EDITABLE_FIELDS, MAX_TYPED_LENGTH, check_typed
from mailroom.directory import current_directory
from mailroom.errors import (
    InvalidFields,
    InvalidSplit,
    InvalidTransition,
    MailroomError,
    NoStation,
    UnknownDocumentType,
    UnknownPostbox,
    ValidationFailed,
)
from mailroom.storage.keys import Role
from mailroom.storage.models import DocumentRow, DocumentState

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)

#: Who works the validation station.
REVIEW_ROLES = (Role.REVIEWER, Role.ADMIN)
Reviewer = Annotated[UiContext, Depends(signed_in_as(*REVIEW_ROLES))]
ReviewerChanging = Annotated[UiContext, Depends(changing_as(*REVIEW_ROLES))]


@router.get("/review")
def queue_page(request: Request, ui: Reviewer, session: ReadSession) -> HTMLResponse:
    return render(request, "review_queue.html", ui=ui, entries=review_queue(session, ui.principal))


# --- the document view ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldView:
    """One invoice field of the form: its value as shown, state and problems (codes)."""

    name: str
    value: str
    state: str
    confidence: int | None
    problems: list[str]


def _field_views(invoice: dict[str, Any], typed: dict[str, str] | None = None,
                 problems: dict[str, list[str]] | None = None) -> list[FieldView]:
    failed = failed_fields(invoice)
    views = []
    for name in EDITABLE_FIELDS:
        stored = invoice.get(name) if isinstance(invoice.get(name), dict) else None
        shown = typed[name] if typed is not None and name in typed else _display(name, stored)
        field_problems = (problems or {}).get(name, []) if typed is not None else failed.get(name, [])
        state = "bad" if field_problems else field_state(name, stored, {}) if stored else "ok"
        confidence = round(float(stored["confidence"]) * 100) if stored and "confidence" in stored else None
        views.append(FieldView(name, shown, state, confidence, field_problems))
    return views


def _display(name: str, stored: dict[str, Any] | None) -> str:
    """A stored value as a German reviewer reads it (dates DD.MM.YYYY, amounts 1.234,56)."""
    if stored is None or stored.get("value") is None:
        return ""
    value = str(stored["value"])
    kind = FIELD_KINDS.get(name)
    if kind is Kind.DATE:
        try:
            return date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    if kind is Kind.AMOUNT:
        try:
            amount = Decimal(value)
        except ArithmeticError:
            return value
        return f"{amount:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return value


def _typed(form: Any) -> dict[str, str]:
    return {name: str(form.get(f"f_{name}", ""))[:MAX_TYPED_LENGTH] for name in EDITABLE_FIELDS
            if form.get(f"f_{name}") is not None}


def _is_invoice(result: dict[str, Any]) -> bool:
    return bool(result.get("invoice"))  # fields can be confirmed where the document was read as an invoice


def _document_page(
    request: Request, ui: UiContext, services: Services, session: Session, row: DocumentRow, *,
    typed: dict[str, str] | None = None, problems: dict[str, list[str]] | None = None,
    chosen_postbox: str | None = None, chosen_type: str | None = None, message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    result = result_of(row)
    routing = result.get("routing") or {}
    directory = current_directory(services.settings)
    alternatives = [a for a in routing.get("alternatives") or [] if a.get("postbox") in directory.postboxes]
    suggested = [str(a["postbox"]) for a in alternatives]
    if routing.get("postbox") in directory.postboxes and routing["postbox"] not in suggested:
        suggested.insert(0, str(routing["postbox"]))
    confidences = {str(a["postbox"]): round(float(a.get("confidence") or 0) * 100) for a in alternatives}
    doc_type = (result.get("document_type") or {}).get("label")
    types = list(DOCUMENT_TYPES)
    if isinstance(doc_type, str) and doc_type not in types:
        types.append(doc_type)
    invoice = result.get("invoice") or {}
    return render(
        request, "review_document.html", ui=ui, status_code=status_code, row=row, result=result,
        pages=page_views(stored_document(session, row), result), reasons=routing.get("review_reasons") or [],
        suggested=suggested, confidences=confidences,
        postboxes=sorted(directory.postboxes.values(), key=lambda p: p.name.casefold()),
        chosen_postbox=chosen_postbox or (suggested[0] if suggested else ""),
        types=types, chosen_type=chosen_type or doc_type or "",
        is_invoice=_is_invoice(result), fields=_field_views(invoice, typed, problems), message=message,
        in_review=row.state == DocumentState.REVIEW.value,
    )


@router.get("/review/{document_id}")
def document_page(
    request: Request, ui: Reviewer, services: ServicesDep, session: ReadSession,
    document_id: Annotated[str, Path(max_length=64)],
) -> HTMLResponse:
    row = visible_row(session, ui.principal, document_id)
    record_audit(services, actor=ui.principal.actor, action="document.read", object_type="document",
                 object_id=row.id, details={"what": "review", "user": ui.principal.key_id})
    return _document_page(request, ui, services, session, row)


@router.post("/review/{document_id}/check")
async def check_fields(
    request: Request, ui: ReviewerChanging, session: ReadSession,
    document_id: Annotated[str, Path(max_length=64)],
) -> HTMLResponse:
    """The immediate validation: the field messages, swapped out of band into the form (htmx)."""
    visible_row(session, ui.principal, document_id)
    typed = _typed(await request.form())
    checked = check_typed(typed, today=date.today())
    views = [FieldView(name, typed.get(name, ""), "bad" if checked.problems.get(name) else "ok", None,
                       checked.problems.get(name, [])) for name in EDITABLE_FIELDS if name in typed]
    return render(request, "review_messages.html", ui=ui, fields=views)


@router.post("/review/{document_id}/confirm")
async def confirm(
    request: Request, ui: ReviewerChanging, services: ServicesDep, session: ReadSession,
    document_id: Annotated[str, Path(max_length=64)],
) -> Response:
    """Route the document as decided, with the corrected fields; then the next document of the queue."""
    row = visible_row(session, ui.principal, document_id)
    form = await request.form()
    postbox = str(form.get("postbox", "")).strip()
    doc_type = str(form.get("document_type", "")).strip() or None
    typed = _typed(form) if _is_invoice(result_of(row)) else {}
    try:
        await run_in_threadpool(
            decide_review, services.settings, services.pipeline.sessions, row.id, postbox=postbox,
            decided_by=ui.principal.actor, who=ui.principal.name, document_type=doc_type, fields=typed or None,
            blobs=services.pipeline.blobs,
        )
    except InvalidTransition as exc:  # another reviewer decided, split or sent it back first: nothing to keep
        return _refused(request, ui, services, session, row, exc)
    except MailroomError as exc:  # what was chosen and typed stays on the page (not an unknown type)
        return _refused(request, ui, services, session, row, exc, typed=typed, chosen_postbox=postbox,
                        chosen_type=None if isinstance(exc, UnknownDocumentType) else doc_type,
                        problems=exc.details.get("problems") or {} if isinstance(exc, InvalidFields) else None)
    return _next(request, ui, session, row)


@router.post("/review/{document_id}/rescan")
async def rescan(
    request: Request, ui: ReviewerChanging, services: ServicesDep, session: ReadSession,
    document_id: Annotated[str, Path(max_length=64)],
) -> Response:
    """Back to the station: the scan is unusable; the station reads the message and scans the pages again."""
    row = visible_row(session, ui.principal, document_id)
    form = await request.form()
    message = str(form.get("message", ""))[:2000]
    pages = [int(p) for p in str(form.get("pages", "")).replace(",", " ").split() if p.isdigit()][:500]
    try:
        await run_in_threadpool(send_back_for_rescan, services.pipeline.sessions, row.id,
                                decided_by=ui.principal.actor, message=message, pages=pages)
    except MailroomError as exc:
        return _refused(request, ui, services, session, row, exc)
    return _next(request, ui, session, row)


@router.post("/review/{document_id}/split")
async def split(
    request: Request, ui: ReviewerChanging, services: ServicesDep, session: ReadSession,
    document_id: Annotated[str, Path(max_length=64)],
) -> Response:
    """"Split here": a new letter starts at the chosen page; the letters are read and routed as a stack's."""
    row = visible_row(session, ui.principal, document_id)
    before = str((await request.form()).get("before", ""))
    try:
        await run_in_threadpool(split_document, services.pipeline, services.dispatcher, row.id,
                                before_pages=[int(before)] if before.isdigit() else [], actor=ui.principal.actor,
                                key_id=ui.principal.key_id)
    except MailroomError as exc:
        return _refused(request, ui, services, session, row, exc)
    return _next(request, ui, session, row)


#: What the document's page says when a decision is refused, by the error (the first class that matches); the
#: HTTP status is the error's (422 what was chosen or typed, 409 the document changed meanwhile).
_REFUSED: tuple[tuple[type[MailroomError], str], ...] = (
    (InvalidFields, "doc.invalid"),
    (UnknownPostbox, "problem.unknown_postbox"),
    (UnknownDocumentType, "problem.unknown_document_type"),
    (InvalidSplit, "doc.split.invalid"),
    (ValidationFailed, "doc.rescan.needs_message"),  # the only other check of these decisions: the station's message
    (NoStation, "doc.rescan.no_station"),
    (InvalidTransition, "doc.decided_elsewhere"),  # another reviewer decided, split or sent it back first
)


def _refused(request: Request, ui: UiContext, services: Services, session: Session, row: DocumentRow,
             exc: MailroomError, **shown: Any) -> HTMLResponse:
    """The document's page again, saying why the decision was refused (``shown``: what the form held); an error
    none of :data:`_REFUSED` names is not the user's to fix and goes on to the error page."""
    message = next((text for kind, text in _REFUSED if isinstance(exc, kind)), None)
    if message is None:
        raise exc
    return _document_page(request, ui, services, session, row, message=message, status_code=exc.http_status, **shown)


def _next(request: Request, ui: UiContext, session: Session, row: DocumentRow) -> Response:
    """After a decision: the next document of the queue (or the queue when it is empty)."""
    following = [e for e in review_queue(session, ui.principal, limit=2) if e.id != row.id]
    target = f"{UI_PREFIX}/review/{following[0].id}" if following else f"{UI_PREFIX}/review"
    return redirect(f"{target}?done={row.id}", request)
