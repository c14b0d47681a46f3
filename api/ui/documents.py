"""What every document page of the UI shows: the pages as read, with coloured boxes for the address field and
the invoice fields, and the page images themselves (``/ui/documents/{id}/pages/{n}.png``).

Boxes are in the coordinates of the page as read (``Page.width``/``height`` pixels), drawn in an SVG over the
page image rendered from the searchable PDF (the same deskewed, cropped image the words' boxes refer to).
Colours: green valid, yellow uncertain (confidence below the review threshold), red invalid (a failed check).
Every read of a page image is recorded in the audit trail, as through the REST API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, can_see
from api.deps import ReadSession, ServicesDep, record_audit
from api.pages import render_reading_png
from api.ui.web import UI_PREFIX, SignedIn
from classifiers.layout import find_address_field
from extraction.review import CHECK_FIELDS, EDITABLE_FIELDS
from extraction.validation import REVIEW_CONFIDENCE
from mailroom.errors import NotAvailable, PageNotFound, UiNotFound
from mailroom.model import MM_PER_INCH, Document
from mailroom.storage import repository
from mailroom.storage.models import DocumentRow

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)

#: Resolution of the page images in the UI.
VIEW_DPI = 100
ADDRESS_FIELD = "address_field"


@dataclass(frozen=True)
class BoxView:
    """One coloured box on a page: which field, where (page pixels), and its state (ok / warn / bad)."""

    field: str
    x: int
    y: int
    width: int
    height: int
    state: str


@dataclass
class PageView:
    number: int
    width: int
    height: int
    boxes: list[BoxView] = field(default_factory=list)


def visible_row(session: Session, principal: Principal, document_id: str) -> DocumentRow:
    """The document if the user may see it (scope of :mod:`api.auth`), else the UI's 404 (same for both)."""
    row = repository.get_document(session, document_id) if len(document_id) <= 64 else None
    if row is None or not can_see(principal, row, session):
        raise UiNotFound("no such document")
    return row


def result_of(row: DocumentRow) -> dict[str, Any]:
    return json.loads(row.result_json) if row.result_json else {}


def stored_document(session: Session, row: DocumentRow) -> Document | None:
    content = repository.get_content_json(session, row.id)
    return Document.model_validate_json(content) if content else None


def failed_fields(invoice: dict[str, Any]) -> dict[str, list[str]]:
    """Field name -> codes of the failed checks shown at it."""
    out: dict[str, list[str]] = {}
    for check in (invoice.get("validation") or {}).get("checks") or []:
        if not check.get("ok"):
            for name in CHECK_FIELDS.get(str(check.get("check")), ()):
                out.setdefault(name, []).append(str(check["check"]))
    return out


def field_state(name: str, value: dict[str, Any], failed: dict[str, list[str]]) -> str:
    if name in failed:
        return "bad"
    if float(value.get("confidence", 1.0)) < REVIEW_CONFIDENCE:
        return "warn"
    return "ok"


def page_views(document: Document | None, result: dict[str, Any]) -> list[PageView]:
    """The pages with their boxes: the address field (first page) and every invoice field that has a box."""
    if document is None:
        return []
    pages = [PageView(p.number, p.width, p.height) for p in document.pages if not p.separator]
    by_number = {p.number: p for p in pages}
    if document.pages:
        first = document.pages[0]
        address = find_address_field(first)
        recipient = result.get("recipient") or {}
        if address is not None and first.number in by_number:
            scale = first.dpi / MM_PER_INCH
            x0, y0, x1, y1 = (round(v * scale) for v in address.box_mm)
            state = "ok" if (recipient.get("confidence") or 0) >= REVIEW_CONFIDENCE else "warn"
            by_number[first.number].boxes.append(BoxView(ADDRESS_FIELD, x0, y0, x1 - x0, y1 - y0, state))
    invoice = result.get("invoice") or {}
    failed = failed_fields(invoice)
    for name in EDITABLE_FIELDS:
        value = invoice.get(name)
        if not isinstance(value, dict) or not value.get("box") or value.get("page") not in by_number:
            continue
        x0, y0, x1, y1 = (int(v) for v in value["box"])
        by_number[value["page"]].boxes.append(
            BoxView(name, x0, y0, max(1, x1 - x0), max(1, y1 - y0), field_state(name, value, failed))
        )
    return pages


@router.get("/documents/{document_id}/pages/{number}.png")
async def page_image(
    request: Request,
    ui: SignedIn,
    services: ServicesDep,
    session: ReadSession,
    document_id: Annotated[str, Path(max_length=64)],
    number: Annotated[int, Path(ge=1, le=10000)],
) -> Response:
    row = visible_row(session, ui.principal, document_id)
    record_audit(services, actor=ui.principal.actor, action="document.read", object_type="document",
                 object_id=row.id, details={"what": "page_image", "n": number, "user": ui.principal.key_id})
    try:
        png = await run_in_threadpool(render_reading_png, services.pipeline, row, number, VIEW_DPI)
    except (NotAvailable, PageNotFound):
        raise UiNotFound("no such document") from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=600"})
