""""Split here": a reviewer splits a document of the review queue that holds several letters.

``POST /api/v1/documents/{id}/split`` and the validation station's "Hier trennen" call :func:`split_document`.
A new letter starts at each of ``before_pages``; the letters are made exactly as the separation stage makes the
letters of a scanned stack (:func:`workers.separation.add_letters`: child documents in ``received`` with their
pages renumbered 1..n, their document trees and their searchable PDFs cut from the document's), and are finished
as those are (``finish_letter``: recognition, invoice, decision: routed or back in the review queue). The document
itself moves ``review`` → ``split`` (final), its result listing the letters (``letters``, ``started_by:
reviewer``) and keeping everything else; its events and audit trail stay with it (``document.split``).

What the best validation stations do, and this does too: Kofax/ELO let a verifier split a document at a page into
new documents that run through classification again; paperless-ngx's "split" makes new documents and keeps or
deletes the original. Here the original stays (state ``split``), so nothing of its trail is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from intake.separation import LetterSpan, LetterStart
from mailroom import audit
from mailroom.errors import InvalidSplit
from mailroom.model import Document
from mailroom.result import Result
from mailroom.storage import repository
from mailroom.storage.models import DocumentRow, DocumentState
from workers.dispatch import Dispatcher, finish_letters
from workers.pipeline import PipelineContext
from workers.separation import add_letters, cut_searchable_pdf, letter_entry

#: The most letters one split makes.
MAX_PARTS = 100


@dataclass(frozen=True)
class Split:
    """The split document (now ``split``) and its letters' ids, in page order (to be finished)."""

    document_id: str
    letters: list[str]


def spans_for(document: Document, before_pages: list[int]) -> list[LetterSpan]:
    """The letters of ``document`` when a new one starts at each of ``before_pages`` (page numbers of the
    document, 2..n). Raises :class:`InvalidSplit` for a page outside 2..n."""
    numbers = [page.number for page in document.pages]
    if len(numbers) < 2:
        raise InvalidSplit("the document has one page: there is nothing to split", field="before_pages")
    cuts = sorted(set(before_pages))
    outside = [n for n in cuts if n not in numbers or n == numbers[0]]
    if outside or len(cuts) >= MAX_PARTS:
        raise InvalidSplit(f"a new letter can start at pages {numbers[1]}..{numbers[-1]}, not {outside or cuts}",
                           field="before_pages", pages=len(numbers))
    spans: list[LetterSpan] = []
    starts = [numbers[0], *cuts]
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else numbers[-1] + 1
        pages = tuple(n for n in numbers if start <= n < end)
        spans.append(LetterSpan(pages=pages, start=LetterStart.FILE_START if index == 0 else LetterStart.REVIEWER))
    return spans


def split_document(
    ctx: PipelineContext, dispatcher: Dispatcher, document_id: str, *, before_pages: list[int], actor: str,
    key_id: str | None = None,
) -> Split:
    """Split the document (state ``review``) before each of ``before_pages`` into letters and hand them to the
    workers (:func:`workers.dispatch.finish_letters`). One transaction for the letters, the document's result and
    state and the audit entry; conditional on the state the caller saw. Raises :class:`InvalidTransition` (not in
    review), :class:`InvalidSplit` (pages, no pages to split). ``actor`` (and the API key's or account's
    ``key_id``) is who split it, for the events and the audit trail."""
    with ctx.session() as session:
        row = _in_review(session, document_id)
        content = repository.get_content_json(session, row.id)
        searchable_sha, kind = row.searchable_pdf_sha, row.kind
    if content is None:
        raise InvalidSplit(f"document {document_id} has no scanned pages to split ({kind})", field="before_pages")
    document = Document.model_validate_json(content)
    spans = spans_for(document, before_pages)
    pdfs = cut_searchable_pdf(document, searchable_sha, spans, ctx)
    with ctx.session() as session:
        row = _in_review(session, document_id)
        ids = add_letters(session, row, document, spans, pdfs)
        entries = [letter_entry(child_id, span) for child_id, span in zip(ids, spans, strict=True)]

        def edit(result: Result) -> None:
            result.letters = entries

        repository.change_result(session, row, edit)
        cuts = sorted(set(before_pages))
        repository.transition(session, row, DocumentState.SPLIT,
                              reason=f"split by {actor} before pages {cuts}: {len(ids)} letters")
        audit.record(session, actor=actor, action="document.split", object_type="document",
                     object_id=row.id, details={"before_pages": cuts, "letters": ids, "key_id": key_id})
    finish_letters(dispatcher, ids)
    return Split(document_id=document_id, letters=ids)


def _in_review(session: Session, document_id: str) -> DocumentRow:
    return repository.document_in_state(session, document_id, DocumentState.REVIEW, DocumentState.SPLIT,
                                        why="only a document in review is split")
