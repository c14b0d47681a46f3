"""Receiving an upload: the multipart body is streamed to a file in the data directory, never held in memory.

The size limit is enforced *while* streaming: a ``Content-Length`` above the limit is refused before a byte is
read, and a body without one (chunked) is refused as soon as the file part passes the limit, without reading
the rest. Then the pipeline's ``receive`` checks the file (type from the bytes, limits, encryption,
corruption, decompression bombs), stores the original durably and creates (or finds) the document; only then
is the upload acknowledged and the document handed to the dispatcher.

Idempotency: the same bytes from the same station are the same document (the content hash is the key), so a
station that retries after a lost answer gets the same document id and the pipeline does not run again. An
``Idempotency-Key`` header is therefore not needed and not read: a different file under a reused key would be a
station bug that the content hash cannot make, and the same file under a new key must not become a second
document.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from api.auth import Principal
from api.deps import Services
from api.schemas import UploadAccepted, document_url
from intake.filenames import safe_filename
from mailroom.errors import FileTooLarge, MailroomError, UploadIncomplete, ValidationFailed
from mailroom.logs import log_context
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from mailroom.storage.models import DocumentState
from workers.pipeline import receive

log = logging.getLogger(__name__)

FILE_FIELD = "file"
#: Bytes of a multipart body beyond the file itself (boundaries, part headers, small form fields).
MULTIPART_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class StreamedFile:
    path: Path
    size: int


class _FormReceiver:
    """Callbacks of the multipart parser: the ``file`` part goes to disk, counted against the limit."""

    def __init__(self, directory: Path, limit: int) -> None:
        self.directory = directory
        self.limit = limit
        self.path: Path | None = None
        self.size = 0
        self._other_bytes = 0
        self._handle: IO[bytes] | None = None
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self.complete = False

    def on_end(self) -> None:
        """The closing boundary was read: the body is whole (a body cut off in a file part is not)."""
        self.complete = True

    def on_part_begin(self) -> None:
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if options.get(b"name") != FILE_FIELD.encode() or b"filename" not in options:
            return
        if self.path is not None:
            raise ValidationFailed("one file per upload", field=FILE_FIELD)
        name = safe_filename(options[b"filename"].decode("utf-8", errors="replace"))
        self.path = self.directory / name
        self._handle = open(self.path, "xb")  # noqa: SIM115 - closed in on_part_end / close()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._handle is None:
            self._other_bytes += end - start
            if self._other_bytes > MULTIPART_OVERHEAD:
                raise ValidationFailed("form fields other than 'file' are too large", field="body")
            return
        self.size += end - start
        if self.size > self.limit:
            raise FileTooLarge(f"the file is larger than {self.limit} bytes", limit=self.limit)
        self._handle.write(data[start:end])

    def on_part_end(self) -> None:
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


async def _stream_to(request: Request, directory: Path, limit: int) -> StreamedFile:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ValidationFailed("send the file as multipart/form-data in the field 'file'", field=FILE_FIELD)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise FileTooLarge(f"the upload is larger than {limit} bytes", limit=limit, content_length=int(declared))
    form = _FormReceiver(directory, limit)
    parser = MultipartParser(boundary, {
        "on_part_begin": form.on_part_begin,
        "on_header_field": form.on_header_field,
        "on_header_value": form.on_header_value,
        "on_header_end": form.on_header_end,
        "on_headers_finished": form.on_headers_finished,
        "on_part_data": form.on_part_data,
        "on_part_end": form.on_part_end,
        "on_end": form.on_end,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise ValidationFailed(f"malformed multipart body: {exc}", field="body") from exc
    except ClientDisconnect as exc:
        raise UploadIncomplete("the client disconnected before the upload was complete") from exc
    finally:
        form.close()
    if not form.complete:
        raise UploadIncomplete("the upload ended before the closing boundary of the form: the file may be cut off")
    if form.path is None:
        raise ValidationFailed("the form has no file in the field 'file'", field=FILE_FIELD)
    return StreamedFile(path=form.path, size=form.size)


@asynccontextmanager
async def streamed_upload(request: Request, work_dir: Path, limit: int) -> AsyncIterator[StreamedFile]:
    """The uploaded file on disk (in a fresh folder under ``work_dir``), removed when the block ends."""
    work_dir.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="upload-", dir=work_dir))
    try:
        yield await _stream_to(request, directory, limit)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _receive(path: Path, services: Services, principal: Principal) -> UploadAccepted:
    received = receive(path, services.pipeline, channel="upload", station=principal.station,
                       actor=principal.actor, uploaded_by=principal.name)
    state = DocumentState.RECEIVED.value
    if not received.created:
        with session_scope(services.pipeline.sessions, readonly=True) as session:
            row = repository.get_document(session, received.document_id)
            state = row.state if row is not None else state
    return UploadAccepted(
        document_id=received.document_id, state=state, status_url=document_url(received.document_id),
        duplicate=not received.created,
    )


async def accept_upload(request: Request, services: Services, principal: Principal) -> UploadAccepted:
    """Stream, check and store an upload from a station; hand a new document to the dispatcher.

    Raises :class:`MailroomError` for refused uploads (counted by code in the metrics). ``duplicate`` is True
    for a file this station sent before: same document, not processed again.
    """
    metrics = services.metrics
    with log_context(station=principal.station):
        try:
            async with streamed_upload(request, services.settings.work_dir, services.settings.max_upload_bytes) as up:
                started = time.perf_counter()
                accepted = await run_in_threadpool(_receive, up.path, services, principal)
        except MailroomError as exc:
            if 400 <= exc.http_status < 500:
                metrics.uploads_refused.labels(exc.code).inc()
            log.info("upload refused: %s", exc.code, extra={"api_key": principal.name})
            raise
        metrics.upload_ack_seconds.observe(time.perf_counter() - started)
        metrics.uploads.labels("duplicate" if accepted.duplicate else "accepted").inc()
        log.info("upload %s", "duplicate" if accepted.duplicate else "accepted",
                 extra={"document_id": accepted.document_id, "api_key": principal.name, "bytes": up.size})
        if not accepted.duplicate:
            try:
                await run_in_threadpool(services.dispatcher.submit, accepted.document_id)
            except Exception:  # stored and acknowledged: the sweeper enqueues it again
                log.exception("could not hand document %s to the workers", accepted.document_id)
    return accepted
