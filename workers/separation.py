"""Stage "separate": a scanned stack becomes one document per letter.

Runs after the pages of the file are read (first-page detection needs their words) and before recognition.
When the file holds more than one letter (:func:`intake.separation.split_letters`), every letter becomes a child
document (``repository.add_separated_letter``, idempotent by (parent, first page)) with

- its own document tree: its pages renumbered 1..n, each remembering its number in the stack
  (:attr:`Page.parent_page`); blank pages and separator sheets are left out;
- its own searchable PDF, cut from the stack's;

and the stack itself is ``split`` (final), its result listing the letters (``letters: [{document_id, pages}]``).
The children continue through recognition; a file with one letter continues itself. Ids in, ids out, so that the
same function runs in-process and in a Celery task.
"""

from __future__ import annotations

import logging
from typing import Any

import pikepdf

from intake.separation import LetterSpan, split_letters
from mailroom.errors import ToolFailed
from mailroom.model import Document, TextSource
from mailroom.result import Letter
from mailroom.storage import repository
from mailroom.storage.models import DocumentRow, DocumentState
from workers.pipeline import PipelineContext, build_result, stored_file

log = logging.getLogger(__name__)

_IN_SEARCHABLE_PDF = (TextSource.OCR, TextSource.TEXT_LAYER)  # pages that ``assemble`` puts into the PDF


def letter_document(document: Document, span: LetterSpan) -> Document:
    """The document tree of one letter: its pages renumbered 1..n, remembering their numbers in the stack."""
    by_number = {page.number: page for page in document.pages}
    return Document(pages=[
        by_number[number].model_copy(update={"number": index, "parent_page": number})
        for index, number in enumerate(span.pages, 1)
    ])


def stored_document(document_id: str, ctx: PipelineContext) -> Document:
    """The document tree stored for a document (by ``assemble`` for a file, by :func:`separate` for a letter)."""
    with ctx.session() as session:
        content = repository.get_content_json(session, document_id)
    if content is None:
        raise ToolFailed(f"document {document_id} has no stored pages", document_id=document_id)
    return Document.model_validate_json(content)


def separate(document_id: str, ctx: PipelineContext, document: Document, *, task_id: str | None = None) -> list[str]:
    """Split a read file into its letters; returns the ids of the documents that continue to recognition.

    One letter (or none): ``[document_id]``, nothing changes. Several: one child document per letter (created
    once; a re-run returns the same children), the parent moves to ``split`` with ``letters`` in its
    result, and the children's ids are returned in page order.
    """
    spans = split_letters(document.pages)
    if len(spans) <= 1:
        return [document_id]
    info = stored_file(document_id, ctx)
    with ctx.session() as session:
        searchable_sha = _row(session, document_id).searchable_pdf_sha
    pdfs = cut_searchable_pdf(document, searchable_sha, spans, ctx)
    with ctx.session() as session:
        parent = _row(session, document_id)
        ids = add_letters(session, parent, document, spans, pdfs, task_id=task_id)
        result = build_result(parent, info, document, ctx.settings)
        result.letters = [letter_entry(child_id, span) for child_id, span in zip(ids, spans, strict=True)]
        repository.save_result(session, parent, result.to_json())
        if parent.state != DocumentState.SPLIT.value:
            repository.transition(
                session, parent, DocumentState.SPLIT, reason=f"{len(ids)} letters", task_id=task_id
            )
    log.info("separated into %d letters", len(ids), extra={"document_id": document_id, "letters": ids})
    return ids


def add_letters(
    session: Any, parent: DocumentRow, document: Document, spans: list[LetterSpan], pdfs: list[str | None], *,
    task_id: str | None = None,
) -> list[str]:
    """Create (once) the child document of each letter of ``parent`` (state ``received``, its pages and document
    tree stored, its searchable PDF from ``pdfs``): what :func:`separate` does for a stack and
    :func:`api.split.split_document` for a reviewer's "split here". Returns the children's ids in page order;
    each is then finished (``finish_letter``)."""
    ids: list[str] = []
    for span, pdf_sha in zip(spans, pdfs, strict=True):
        letter = letter_document(document, span)
        child, _ = repository.add_separated_letter(
            session, parent, page_from=span.page_from, page_to=span.page_to, task_id=task_id, reason=_reason(span),
        )
        child.pages = len(letter.pages)
        child.searchable_pdf_sha = pdf_sha
        repository.save_result(session, child, None, letter.model_dump_json())
        ids.append(child.id)
    return ids


def _reason(span: LetterSpan) -> str:
    evidence = f" ({', '.join(span.evidence)})" if span.evidence else ""
    return f"letter starts at page {span.page_from}: {span.start.value}{evidence}"


def letter_entry(document_id: str, span: LetterSpan) -> Letter:
    return Letter(document_id=document_id, pages=list(span.pages), started_by=span.start.value,
                  blank_pages=list(span.dropped) or None, evidence=list(span.evidence) or None)


def _row(session: Any, document_id: str) -> DocumentRow:
    row = repository.get_document(session, document_id)
    if row is None:
        raise ToolFailed(f"document {document_id} does not exist", document_id=document_id)
    return row


def cut_searchable_pdf(
    document: Document, searchable_sha: str | None, spans: list[LetterSpan], ctx: PipelineContext
) -> list[str | None]:
    """Each letter's searchable PDF, cut from the stack's (``None`` for a letter without a PDF page)."""
    if searchable_sha is None:
        return [None] * len(spans)
    in_pdf = [page.number for page in document.pages if page.text_source in _IN_SEARCHABLE_PDF]
    index = {number: i for i, number in enumerate(in_pdf)}
    out: list[str | None] = []
    with pikepdf.open(ctx.blobs.path(searchable_sha)) as stack, ctx.scratch() as scratch:
        if len(stack.pages) != len(in_pdf):
            raise ToolFailed(
                f"the searchable PDF has {len(stack.pages)} pages, expected {len(in_pdf)}", sha256=searchable_sha
            )
        for number, span in enumerate(spans, 1):
            wanted = [index[n] for n in span.pages if n in index]
            if not wanted:
                out.append(None)
                continue
            with pikepdf.new() as letter:
                letter.pages.extend(stack.pages[i] for i in wanted)
                target = scratch / f"letter-{number:03d}.pdf"
                letter.save(target, deterministic_id=True)
            out.append(ctx.blobs.put_file(target))
    return out
