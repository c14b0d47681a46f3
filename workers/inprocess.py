"""The whole pipeline in this process: every stage after receive for one document, and for a file from receive on.

``mailroom process``, the evaluations and the tests run documents this way; the embedded service's dispatcher
too. The stages themselves are in :mod:`workers.pipeline` (read, assemble, finish) and :mod:`workers.separation`
(separate); this module only puts them in order, as the Celery tasks of :mod:`workers.tasks` do across processes.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from intake.types import FileInfo
from mailroom.errors import MailroomError
from mailroom.logs import log_context
from mailroom.model import Document
from mailroom.result import Result
from workers.pipeline import (
    ENVIRONMENT_ERRORS,
    PipelineContext,
    assemble,
    fail,
    finish,
    log_unexpected,
    read_pages,
    receive,
    start,
    stored_file,
    unexpected,
)
from workers.separation import separate, stored_document

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """One processed input: a result, or the error that stopped it."""

    path: Path
    results: list[Result] = field(default_factory=list)  # one per letter (a stack holds several)
    document: Document | None = None  # the whole file as read
    error: MailroomError | None = None
    seconds: float = 0.0
    ocr_cpu_seconds: float = 0.0

    @property
    def result(self) -> Result | None:
        """The result of the first (for a single letter: the only) letter, None if the file was refused."""
        return self.results[0] if self.results else None


def run_document(
    document_id: str, ctx: PipelineContext, *, again: bool = False, checked: FileInfo | None = None
) -> tuple[list[Result], Document]:
    """Every stage after receive, in this process, for a document whose original is stored.

    Returns the results of its letters (one, or one per letter of a stack) and the document tree of the whole
    file. Raises :class:`MailroomError`; permanent errors have marked the document ``failed``. ``checked``: the
    checks :func:`receive` just made of the same file in this process (not repeated, see ``stored_file``).
    """
    with _failing(document_id, ctx, "processing the document"):
        start(document_id, ctx, again=again)
        info = stored_file(document_id, ctx, checked=checked)
        read_pages(document_id, info, ctx)
        document = assemble(document_id, info, ctx)
        letters = separate(document_id, ctx, document)
        if letters == [document_id]:
            results = [finish(document_id, info, document, ctx)]
        else:
            results = [finish(letter, info, stored_document(letter, ctx), ctx) for letter in letters]
    return results, document


def finish_letter(document_id: str, ctx: PipelineContext) -> Result:
    """Finish a letter whose pages and document tree are stored (a letter of a stack, a part of a document a
    reviewer split): recognition, invoice, decision. Raises :class:`MailroomError`; permanent errors have marked
    the letter ``failed``."""
    with _failing(document_id, ctx, "finishing the letter"):
        return finish(document_id, stored_file(document_id, ctx), stored_document(document_id, ctx), ctx)


@contextmanager
def _failing(document_id: str, ctx: PipelineContext, doing: str) -> Iterator[None]:
    """The stages' one error policy, in the document's log context: a permanent :class:`MailroomError` fails the
    document; a transient one and the environment's errors (storage, tools) go up for a retry; anything else
    fails the document at once with ``internal_error``."""
    with log_context(document_id=document_id):
        try:
            yield
        except MailroomError as exc:
            log.warning("failed: %s", exc)
            if exc.permanent:
                fail(document_id, exc, ctx)
            raise
        except ENVIRONMENT_ERRORS:
            raise
        except Exception as exc:
            error = unexpected(exc, doing)
            log_unexpected(error, exc)
            fail(document_id, error, ctx)
            raise error from exc


def process_path(path: Path, ctx: PipelineContext, *, channel: str = "cli", station: str | None = None) -> Outcome:
    """Receive one file and run every stage in this process. Never raises for bad input: the outcome says."""
    started = time.perf_counter()
    cpu_before = _children_cpu()
    try:
        received = receive(path, ctx, channel=channel, station=station)
        results, document = run_document(received.document_id, ctx, again=not received.created,
                                          checked=received.info)
    except MailroomError as exc:
        return Outcome(path=path, error=exc, seconds=time.perf_counter() - started)
    except Exception as exc:  # the CLI goes on with the next file, whatever happened to this one
        error = unexpected(exc, "processing the file")
        log_unexpected(error, exc)
        return Outcome(path=path, error=error, seconds=time.perf_counter() - started)
    return Outcome(
        path=path, results=results, document=document, seconds=time.perf_counter() - started,
        ocr_cpu_seconds=_children_cpu() - cpu_before,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


SUPPORTED_SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".xml"}


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Files as given; folders walked recursively for supported suffixes (sorted, truth files skipped)."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        else:
            out.append(path)
    return out
