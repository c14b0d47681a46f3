"""``/api/v1/documents``: upload (stations), status and result, original, searchable PDF, page images, text,
events, transfer notes.

Scoping is :mod:`api.auth`'s (listings filter in SQL; a document outside the caller's scope answers 404); every
read of a document's content is recorded in the audit trail through :func:`api.deps.read_document`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, visible_documents
from api.deps import AnyPrincipal, ReadSession, ServicesDep, StationPrincipal, read_document, record_audit, require
from api.errors import error_responses
from api.pages import DEFAULT_VIEW_DPI, MAX_VIEW_DPI, MIN_VIEW_DPI, render_page_png
from api.schemas import (
    API_PREFIX,
    DocumentEvent,
    DocumentEvents,
    DocumentList,
    DocumentStatus,
    DocumentSummary,
    UploadAccepted,
)
from api.upload import FILE_FIELD, accept_upload
from mailroom.errors import DocumentNotFound, NotAvailable, NotReady, PageNotFound
from mailroom.model import Document
from mailroom.storage import repository
from mailroom.storage.keys import Role
from mailroom.storage.models import DocumentRow, DocumentState
from mailroom.text import DocumentText, plain_text
from mailroom.transfer_notes import transfer_note

#: States in which the searchable PDF may still come (it is assembled before the document is recognised).
_READING_STATES = frozenset({DocumentState.RECEIVED, DocumentState.SEPARATED, DocumentState.OCR})

router = APIRouter(prefix=f"{API_PREFIX}/documents", tags=["documents"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {FILE_FIELD: {"type": "string", "format": "binary",
                                                "description": "PDF, TIFF, PNG, JPEG or XML e-invoice"}},
                }
            }
        },
    }
}
_READ_ERRORS = error_responses(401, 404)

ResultRead = Annotated[DocumentRow, Depends(read_document("result", only_with_result=True))]
EventsRead = Annotated[DocumentRow, Depends(read_document("events"))]
OriginalRead = Annotated[DocumentRow, Depends(read_document("original"))]
SearchablePdfRead = Annotated[DocumentRow, Depends(read_document("searchable_pdf"))]
PageImageRead = Annotated[DocumentRow, Depends(read_document("page_image"))]
TextRead = Annotated[DocumentRow, Depends(read_document("text"))]
NotePrincipal = Annotated[Principal, Depends(require(Role.ADMIN, Role.STATION))]


@router.post(
    "",
    status_code=202,
    summary="Upload a scanned document (station keys)",
    description=(
        "Streams the file (multipart field `file`) to the data directory with the size limit enforced while "
        "streaming, checks it and stores the original durably, then answers 202 and queues the document. "
        "The same file from the same station again answers 200 with the same `document_id` and "
        "`duplicate: true` (the pipeline does not run again; no `Idempotency-Key` header is needed: the "
        "content is the key). Bad files answer 4xx with a stable `code`: `empty_file`, "
        "`unsupported_file_type`, `file_too_large`, `too_many_pages`, `image_too_large`, `encrypted_pdf`, "
        "`corrupt_file`, `truncated_file`, `invalid_xml`, `hostile_xml`, `validation_error`."
    ),
    openapi_extra=_UPLOAD_BODY,
    responses={200: {"model": UploadAccepted, "description": "the same file was uploaded before"},
               **error_responses(401, 403, 413, 415, 422)},
)
async def upload_document(
    request: Request, response: Response, services: ServicesDep, principal: StationPrincipal
) -> UploadAccepted:
    accepted = await accept_upload(request, services, principal)
    response.headers["Location"] = accepted.status_url
    if accepted.duplicate:
        response.status_code = 200
    return accepted


@router.get(
    "",
    summary="List the documents the caller may see, newest first",
    description="Filters: `state` (e.g. routed, review, failed, split), `postbox` (documents lying in this "
    "postbox), `station`. Stations see their own uploads, clerk and dms keys the documents in their postboxes, "
    "reviewers the review queue and what they decided, admins everything; confidential letters only their "
    "named recipient and admins.",
    responses=error_responses(401),
)
def list_documents(
    session: ReadSession,
    principal: AnyPrincipal,
    state: Annotated[str | None, Query(description="only documents in this state")] = None,
    postbox: Annotated[str | None, Query(description="only documents routed to this postbox")] = None,
    station: Annotated[str | None, Query(description="only documents from this station")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> DocumentList:
    page = visible_documents(session, principal, state=state, station=station, postbox=postbox, limit=limit,
                             offset=offset)
    summaries = [DocumentSummary.from_row(row) for row in page]
    return DocumentList(documents=summaries, count=len(summaries))


@router.get(
    "/{document_id}",
    summary="State, quality warnings and result of a document",
    description="`result` (mailroom.result/v1) is present once the document is recognised; `error` when it "
    "failed. Documents outside the caller's scope answer 404 as if they did not exist.",
    responses=_READ_ERRORS,
)
def get_document(document: ResultRead) -> DocumentStatus:
    return DocumentStatus.from_row(document)


@router.get(
    "/{document_id}/events",
    summary="The state transitions of a document, oldest first",
    responses=_READ_ERRORS,
)
def get_events(document: EventsRead, session: ReadSession) -> DocumentEvents:
    events = repository.document_events(session, document.id)
    return DocumentEvents(document_id=document.id, events=[DocumentEvent.from_row(e) for e in events])


@router.get(
    "/{document_id}/original",
    summary="The original file, byte for byte as received",
    response_class=FileResponse,
    responses=_READ_ERRORS,
)
def get_original(document: OriginalRead, services: ServicesDep) -> FileResponse:
    if document.original_sha is None:
        raise NotAvailable(f"document {document.id} has no stored original")
    return FileResponse(
        services.pipeline.blobs.path(document.original_sha), media_type=document.mime_type,
        filename=document.filename,
    )


@router.get(
    "/{document_id}/searchable.pdf",
    summary="The searchable PDF (page images with the OCR text layer)",
    description="409 `not_ready` while the document is still being read; 404 `not_available` for documents "
    "without one (XML e-invoices, failed documents).",
    response_class=FileResponse,
    responses={**_READ_ERRORS, **error_responses(409)},
)
def get_searchable_pdf(document: SearchablePdfRead, services: ServicesDep) -> FileResponse:
    if document.searchable_pdf_sha is None:
        if document.state in _READING_STATES:
            raise NotReady(f"document {document.id} is still being read (state {document.state})")
        raise NotAvailable(f"document {document.id} has no searchable PDF")
    stem = document.filename.rsplit(".", 1)[0]
    return FileResponse(
        services.pipeline.blobs.path(document.searchable_pdf_sha), media_type="application/pdf",
        filename=f"{stem}.searchable.pdf",
    )


@router.get(
    "/{document_id}/pages/{n}/image",
    summary="Page n of the original as PNG, for viewing",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **_READ_ERRORS},
)
async def get_page_image(
    document: PageImageRead,
    services: ServicesDep,
    n: Annotated[int, Path(description="page number, 1-based", ge=1)],
    dpi: Annotated[int, Query(ge=MIN_VIEW_DPI, le=MAX_VIEW_DPI, description="resolution")] = DEFAULT_VIEW_DPI,
) -> Response:
    png = await run_in_threadpool(render_page_png, services.pipeline, document, n, dpi)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get(
    "/{document_id}/text",
    summary="The text of a document: plain text per page, or the words with boxes and confidences",
    description="`format=text` (default): `text/plain`, every page ended by a form feed (`\\f`), as pdftotext "
    "writes it. `format=words`: `mailroom.text/v1` JSON, per page its size, dpi and text source and every word "
    "with its box (`[x0, y0, x1, y1]`, pixels at the page's dpi, the searchable PDF's coordinates) and OCR "
    "confidence (0..100). `page` restricts the answer to one page. 409 `not_ready` while the pages are being "
    "read; 404 `not_available` for a document without pages (an XML e-invoice: its data is in `result.invoice`) "
    "or one that failed before its pages were read; 404 `page_not_found` for a page it does not have. Same scope "
    "as the document itself, confidential letters included.",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}, "application/json": {"schema": DocumentText.model_json_schema()}}},
        **_READ_ERRORS, **error_responses(409),
    },
)
def get_text(
    document: TextRead,
    session: ReadSession,
    format: Annotated[Literal["text", "words"], Query(description="text (plain) or words (JSON)")] = "text",
    page: Annotated[int | None, Query(ge=1, description="only this page (1-based)")] = None,
) -> Response:
    content = repository.get_content_json(session, document.id)
    if content is None:
        if document.state in _READING_STATES:
            raise NotReady(f"document {document.id} is still being read (state {document.state})")
        raise NotAvailable(f"document {document.id} has no text")
    pages = Document.model_validate_json(content).pages
    if not pages:
        raise NotAvailable(f"document {document.id} has no pages (an XML e-invoice: see result.invoice)")
    if page is not None:
        pages = [p for p in pages if p.number == page]
        if not pages:
            raise PageNotFound(f"document {document.id} has no page {page}", field="page")
    if format == "words":
        return JSONResponse(DocumentText.of(document.id, pages).to_dict())
    return PlainTextResponse(plain_text(pages))


@router.get(
    "/{document_id}/transfer-note",
    summary="The transfer note of a scanned file (admin, and the station that uploaded it)",
    description="TR-RESISCAN style: station, channel, uploader, time, SHA-256 of the original, page count, image "
    "settings per page (dpi, colour mode, bit depth) and the quality result. Kept in the audit trail, so it is "
    "there even after the document was deleted; `complete` is false until the pages have been read.",
    responses=error_responses(401, 403, 404),
)
def get_transfer_note(
    document_id: Annotated[str, Path(description="The document id (32 hex digits)", max_length=64)],
    principal: NotePrincipal,
    session: ReadSession,
    services: ServicesDep,
) -> dict[str, Any]:
    note = transfer_note(session, document_id)
    if note is None or (principal.role is Role.STATION and note.get("station") != principal.station):
        raise DocumentNotFound(f"no document {document_id}")
    record_audit(services, actor=principal.actor, action="document.read", object_type="document",
                 object_id=document_id, details={"what": "transfer_note", "key_id": principal.key_id})
    return note
