"""The pipeline's stages for one document.

They run in-process (:mod:`workers.inprocess`: ``mailroom process``, tests, the embedded service) and as Celery
tasks (:mod:`workers.tasks`) that call the same stage functions. Each stage takes ids / paths plus the
:class:`PipelineContext` and returns plain values; the database row of the document records every state
transition.

Stages: receive (checks, original stored, record created) → pages (page images the cheapest way, preprocessing,
OCR or text layer, searchable PDF) → result (quality summary, ``mailroom.result/v1``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pikepdf
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from intake import recovery
from intake.checks import inspect_file
from intake.einvoice import find_embedded_invoice_xml
from intake.image_pdf import write_image_pdf
from intake.pages import iter_pages
from intake.preprocess import PreparedPage, binarise, edge_steepness, prepare_page
from intake.quality_gate import rescan_request
from intake.separator import is_separator_sheet
from intake.separator_marks import is_barcode_separator, is_patch_separator
from intake.tesseract import OcrEngine, OcrOutput, TesseractEngine
from intake.types import FileInfo, FileKind, PageInput
from mailroom import audit, transfer_notes
from mailroom.errors import MailroomError, ToolFailed, ToolTimeout
from mailroom.logs import log_context
from mailroom.model import Block, Document, Page, PageQuality, TextSource
from mailroom.result import MailSource, ParentStack, Quality, QualityWarning, RescanRequest, Result, Source
from mailroom.settings import Settings
from mailroom.startup import without_gc
from mailroom.storage import mail as mail_storage
from mailroom.storage import repository
from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import make_engine, migrate, session_factory, session_scope
from mailroom.storage.models import ArtifactKind, DocumentRow, DocumentState

if TYPE_CHECKING:
    from routing.router import Router

log = logging.getLogger(__name__)


@dataclass
class PipelineContext:
    """Everything a stage needs, built once per process: settings, OCR engine, storage."""

    settings: Settings
    ocr: OcrEngine
    blobs: BlobStore
    sessions: sessionmaker[Session]
    _router: Router | None = None
    _router_inputs: tuple[object, ...] = ()

    @property
    def router(self) -> Router:
        """Directory, models and rules for the decision, loaded on first use (trains default models once).

        Reloaded when what it was built from changes — an installed directory file, the current model
        versions — so that ``PUT /directory``, ``mailroom directory import``, ``mailroom train`` and rollbacks
        take effect in every worker with its next document, without a restart (rules reload on their own).
        """
        from routing.router import router_inputs

        inputs = router_inputs(self.settings)
        if self._router is None or inputs != self._router_inputs:
            with without_gc():  # many long-lived objects, no garbage (mailroom.startup)
                from routing.router import Router

                self._router = Router.create(self.settings)
            self._router_inputs = router_inputs(self.settings)
        return self._router

    @classmethod
    def create(cls, settings: Settings, *, ocr: OcrEngine | None = None) -> PipelineContext:
        # parallelism comes from processes (one page per worker process): OpenCV's own threads only add CPU
        cv2.setNumThreads(1)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with without_gc():
            engine = make_engine(settings)
            migrate(engine)
            return cls(
                settings=settings,
                ocr=ocr or TesseractEngine(
                    language=settings.ocr_language, timeout=settings.ocr_timeout_seconds, psm=settings.ocr_psm
                ),
                blobs=BlobStore(settings.blob_dir),
                sessions=session_factory(engine),
            )

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """One short unit of work (never held across OCR or other waits). ``readonly``: for reads, which on SQLite
        then neither take nor wait for the write lock (see :func:`mailroom.storage.db.session_scope`)."""
        with session_scope(self.sessions, readonly=readonly) as session:
            yield session

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        self.settings.work_dir.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="doc-", dir=self.settings.work_dir))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


@dataclass
class Received:
    document_id: str
    info: FileInfo
    created: bool


# --- stage 1: receive ------------------------------------------------------------------------------------


def receive(
    path: Path, ctx: PipelineContext, *, channel: str, station: str | None, actor: str | None = None,
    uploaded_by: str | None = None,
) -> Received:
    """Check the file, store the original immutably, create (or find) the document record.

    Bad input raises before anything is written. The same bytes from the same source are the same document.
    The intake is recorded in the audit trail in the same transaction (``document.received``, the start of the
    transfer note): ``actor`` is who received it (default ``<channel>:<station>``), ``uploaded_by`` the API key.
    """
    info = inspect_file(path, ctx.settings)
    original_sha = ctx.blobs.put_file(path)
    with ctx.session() as session:
        row, created = repository.receive_document(
            session,
            sha256=info.sha256,
            filename=path.name,
            kind=info.kind.value,
            mime_type=info.mime_type,
            size=info.size,
            pages=info.page_count,
            channel=channel,
            station=station,
            original_sha=original_sha,
        )
        document_id = row.id
        transfer_notes.record_intake(
            session, row, actor=actor or (f"{channel}:{station}" if station else channel), uploaded_by=uploaded_by,
            duplicate=not created,
        )
    log.info("received %s (%s, %d pages)", path.name, info.kind.value, info.page_count,
             extra={"document_id": document_id, "new_document": created})
    return Received(document_id=document_id, info=info, created=created)


# --- stage 2: pages --------------------------------------------------------------------------------------


OSD_MIN_CONFIDENCE = 3.0
"""Tesseract OSD's orientation confidence needed before a page is turned. Pages that are really turned score 10+;
upright pages that merely look unusual (few lines, forms, big logos) sometimes get a wrong answer below 3."""
OSD_MIN_SHARPNESS = 0.15
"""A page less sharp than this (:func:`intake.preprocess.edge_steepness`; a letter blurred by 2 px measures 0.16,
by 2.5 px 0.14, by 4 px 0.10) is not shown to OSD: on such pages Tesseract's OSD answered below
:data:`OSD_MIN_CONFIDENCE` in every try (0.02-0.7, mostly the wrong way; upright, upside down and sideways, 2, 2.5
and 4 px), so its 0.4-0.8 s of CPU never turned a page. Blurred pages look wrong to the cheap orientation check
(their line profiles are smeared), so each of them paid for it (issue 16). At 1.5 px (0.19) OSD still decides."""


@dataclass
class _Oracle:
    """Answers preprocessing's question "which way up?" for a page that looks wrong.

    Such a page may be a separator sheet (a QR code and one word look wrong to the orientation check): that is
    checked first and remembered, and OSD is not asked. Otherwise Tesseract OSD decides, if it is sure enough.
    """

    ctx: PipelineContext
    scratch: Path
    number: int
    dpi: int
    separator: bool = False

    def __call__(self, image: np.ndarray) -> int | None:
        if is_separator_sheet(image, self.dpi) or marks_separator(image, self.dpi, self.ctx.settings):
            self.separator = True
            return 0
        if edge_steepness(image) < OSD_MIN_SHARPNESS:
            log.info("page %d looks turned but is too blurred for OSD to tell: left as it is", self.number)
            return None
        probe = self.scratch / f"osd-{self.number:05d}.pgm"
        cv2.imwrite(str(probe), image)
        try:
            found = self.ctx.ocr.detect_orientation(probe, dpi=self.dpi)
        finally:
            probe.unlink(missing_ok=True)
        if found is None:
            return None
        rotation, confidence = found
        if rotation != 0 and confidence < OSD_MIN_CONFIDENCE:
            log.info("OSD suggests turning by %d° with low confidence %.1f: left as it is", rotation, confidence)
            return None
        return rotation


def _patches(settings: Settings) -> list[str]:
    return [p for p in settings.separator_patches.split(",") if p.strip()]


def marks_separator(image: np.ndarray, dpi: int, settings: Settings) -> bool:
    """A separator sheet of a scanner's kind: a configured patch code, or a barcode with a configured payload."""
    if is_patch_separator(image, dpi, _patches(settings)):
        return True
    return is_barcode_separator(image, dpi, settings.separator_payloads.split(","))


def _write_for_ocr(prepared: PreparedPage, scratch: Path, number: int) -> Path:
    """Raw format for Tesseract: PBM for a binarised page (1 bit, G4 in the PDF), PGM otherwise."""
    values = np.unique(prepared.image[:: max(1, prepared.image.shape[0] // 64), ::8])
    binary = bool(np.isin(values, (0, 255)).all())
    out = scratch / f"page-{number:05d}.{'pbm' if binary else 'pgm'}"
    if not cv2.imwrite(str(out), prepared.image):
        raise ToolFailed(f"could not write page image {out.name}")
    return out


def recover_missed_text(
    image: np.ndarray, dpi: int, blocks: list[Block], ctx: PipelineContext, scratch: Path, timings: dict[str, float]
) -> list[Block]:
    """Blocks for text-like ink that the page's OCR run left out (``intake.recovery``): one more Tesseract run on
    a strip of those regions, only for pages that have them. The searchable PDF's text layer does not get them."""
    started = time.perf_counter()
    regions = recovery.missed_regions(image, dpi, blocks)
    if not regions:
        timings["recover"] = (time.perf_counter() - started) * 1000
        return []
    strip_image, placements = recovery.strip(image, dpi, regions)
    path = scratch / f"missed-{uuid.uuid4().hex}.pgm"
    if not cv2.imwrite(str(path), strip_image):
        raise ToolFailed(f"could not write {path.name}")
    try:
        out = ctx.ocr.recognise_lines(path, path.with_suffix(""), dpi=dpi)
    finally:
        path.unlink(missing_ok=True)
    timings["recover"] = (time.perf_counter() - started) * 1000
    return recovery.place_words(out.blocks, placements)


def read_scanned_page(page_input: PageInput, ctx: PipelineContext, scratch: Path) -> tuple[Page, Path | None]:
    """Preprocess and OCR one page image. Returns the page and its searchable PDF (None if nothing to read)."""
    assert page_input.image is not None
    image_ref = page_input.image
    timings: dict[str, float] = {}
    started = time.perf_counter()
    image = cv2.imread(str(image_ref.path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ToolFailed(f"page {page_input.number}: the page image could not be decoded")
    image_ref.path.unlink(missing_ok=True)  # page sources hand out scratch copies: free the disk at once
    timings["load"] = (time.perf_counter() - started) * 1000
    oracle = _Oracle(ctx, scratch, page_input.number, image_ref.dpi)
    prepared = prepare_page(image, image_ref.dpi, orientation_oracle=oracle)
    timings.update(prepared.timings_ms)
    height, width = prepared.image.shape[:2]
    if prepared.quality.blank and is_patch_separator(prepared.image, image_ref.dpi, _patches(ctx.settings)):
        oracle.separator = True  # a sheet with nothing but a patch code has no text lines
    if prepared.quality.blank or oracle.separator:
        page = Page(
            number=page_input.number, width=width, height=height, dpi=image_ref.dpi,
            text_source=TextSource.NONE, image_source=image_ref.source, quality=prepared.quality,
            separator=oracle.separator, timings_ms=timings,
        )
        return page, None
    started = time.perf_counter()
    ocr_input = _write_for_ocr(prepared, scratch, page_input.number)
    timings["write"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    out_base = scratch / f"ocr-{page_input.number:05d}"
    try:
        out = ctx.ocr.recognise(ocr_input, out_base, dpi=image_ref.dpi, pdf=True)
    except ToolTimeout as exc:
        log.warning("page %d: OCR over its budget (%s); read again the cheaper way", page_input.number, exc)
        cheaper = _read_cheaper(prepared, ctx, scratch, page_input.number)
        if cheaper is None:
            timings["ocr"] = (time.perf_counter() - started) * 1000
            ocr_input.unlink(missing_ok=True)
            quality = prepared.quality.model_copy(update={"unreadable": True})
            page = Page(
                number=page_input.number, width=width, height=height, dpi=image_ref.dpi,
                text_source=TextSource.OCR, image_source=image_ref.source, quality=quality, timings_ms=timings,
            )
            return page, write_image_pdf(prepared.image, image_ref.dpi, out_base.with_suffix(".image.pdf"))
        out = cheaper
    timings["ocr"] = (time.perf_counter() - started) * 1000
    ocr_input.unlink(missing_ok=True)
    if _reads_poorly(out, ctx) and prepared.cleaned and image.shape == prepared.image.shape:
        # never worse than the original: a cleaned page that reads (almost) nothing is compared with the original
        # (a page that was at most deskewed, e.g. a blurred one, reads no better as scanned: not read twice)
        started = time.perf_counter()
        original = PreparedPage(image=image, dpi=image_ref.dpi, quality=prepared.quality)
        original_input = _write_for_ocr(original, scratch, page_input.number)
        try:
            other = ctx.ocr.recognise(original_input, out_base.with_name(out_base.name + "-original"),
                                      dpi=image_ref.dpi, pdf=True)
        except ToolTimeout:
            other = None
        finally:
            original_input.unlink(missing_ok=True)
        if other is not None and _reading_score(other) > 1.5 * _reading_score(out):
            log.info("page %d: the original reads better than the cleaned page", page_input.number)
            if out.pdf_path is not None:
                out.pdf_path.unlink(missing_ok=True)
            out, prepared = other, original
        elif other is not None and other.pdf_path is not None:
            other.pdf_path.unlink(missing_ok=True)
        timings["ocr_original"] = (time.perf_counter() - started) * 1000
    del image
    blocks = out.blocks + recover_missed_text(prepared.image, image_ref.dpi, out.blocks, ctx, scratch, timings)
    del prepared.image
    quality = prepared.quality.model_copy(update={"ocr_confidence": out.mean_confidence})
    page = Page(
        number=page_input.number, width=width, height=height, dpi=image_ref.dpi,
        text_source=TextSource.OCR, image_source=image_ref.source, blocks=blocks, quality=quality,
        timings_ms=timings,
    )
    return page, out.pdf_path


def _reading_score(out: OcrOutput) -> float:
    """How much a reading says: its words weighted by how sure the OCR is of them."""
    return sum(w.confidence for b in out.blocks for line in b.lines for w in line.words) / 100.0


def _reads_poorly(out: OcrOutput, ctx: PipelineContext) -> bool:
    return out.word_count == 0 or (out.mean_confidence or 0.0) < ctx.settings.rescan_ocr_confidence


CHEAP_DPI = 200


def _read_cheaper(prepared: PreparedPage, ctx: PipelineContext, scratch: Path, number: int) -> OcrOutput | None:
    """The second try for a page over its OCR budget: binarised, at most 200 dpi, sparse-text mode, with the same
    budget. ``None`` when that runs over too: the page is marked unreadable and the document goes on."""
    image, dpi = binarise(prepared.image, prepared.dpi), prepared.dpi
    if dpi > CHEAP_DPI:
        factor = CHEAP_DPI / dpi
        image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        _, image = cv2.threshold(image, 127, 255, cv2.THRESH_BINARY)
        dpi = CHEAP_DPI
    path = scratch / f"cheap-{number:05d}.pbm"
    if not cv2.imwrite(str(path), image):
        raise ToolFailed(f"could not write {path.name}")
    try:
        sparse = getattr(ctx.ocr, "recognise_sparse", None)
        out_base = scratch / f"cheap-{number:05d}"
        if sparse is not None:
            out: OcrOutput = sparse(path, out_base, dpi=dpi)
        else:
            out = ctx.ocr.recognise(path, out_base, dpi=dpi, pdf=True)
    except ToolTimeout as exc:
        log.warning("page %d: over its budget also the cheaper way (%s): marked unreadable", number, exc)
        return None
    finally:
        path.unlink(missing_ok=True)
    if dpi != prepared.dpi:  # boxes back in pixels of the prepared page
        scale = prepared.dpi / dpi
        out = replace(out, blocks=[_scaled(block, scale) for block in out.blocks])
    return out


def _scaled(block: Block, scale: float) -> Block:
    def box(b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        return (round(b[0] * scale), round(b[1] * scale), round(b[2] * scale), round(b[3] * scale))

    lines = [
        line.model_copy(update={"box": box(line.box),
                                "words": [w.model_copy(update={"box": box(w.box)}) for w in line.words]})
        for line in block.lines
    ]
    return block.model_copy(update={"box": box(block.box), "lines": lines})


def read_page(document_id: str, page_input: PageInput, ctx: PipelineContext, scratch: Path) -> Page:
    """Read one page and store what was read (page JSON, searchable PDF page) as page artifacts.

    Idempotent per (document, page): a page already read is loaded from its artifact and not read again, so
    that a retried or duplicated task costs nothing and changes nothing.
    """
    number = page_input.number
    with log_context(document_id=document_id, page=number):
        with ctx.session(readonly=True) as session:  # values read inside: a read-only session's rows expire
            done = [a.blob_sha for a in repository.page_artifacts(
                session, document_id, kind=ArtifactKind.PAGE_JSON, page=number)]
        if done:
            if page_input.image is not None:
                page_input.image.path.unlink(missing_ok=True)
            return Page.model_validate_json(ctx.blobs.read_bytes(done[0]))
        page_pdf: Path | None = None
        if page_input.text_page is not None:
            page = page_input.text_page
        else:
            page, page_pdf = read_scanned_page(page_input, ctx, scratch)
        page_sha = ctx.blobs.put_bytes(page.model_dump_json().encode())
        pdf_sha = ctx.blobs.put_file(page_pdf) if page_pdf is not None else None
        if page_pdf is not None:
            page_pdf.unlink(missing_ok=True)
        with ctx.session() as session:
            if pdf_sha is not None:
                repository.record_page_artifact(
                    session, document_id, page=number, kind=ArtifactKind.SEARCHABLE_PDF_PAGE, blob_sha=pdf_sha,
                    dpi=page.dpi, width=page.width, height=page.height,
                )
            # the page JSON last: its presence means "this page is done"
            repository.record_page_artifact(
                session, document_id, page=number, kind=ArtifactKind.PAGE_JSON, blob_sha=page_sha,
                dpi=page.dpi, width=page.width, height=page.height,
            )
        log.debug("page read: %s", page.text_source.value, extra={"timings_ms": page.timings_ms})
        return page


def read_pages(
    document_id: str, info: FileInfo, ctx: PipelineContext, *, only: set[int] | None = None
) -> list[Page]:
    """Read the pages of a file (all, or ``only`` these), streamed one page image at a time."""
    pages: list[Page] = []
    with ctx.scratch() as scratch:
        for page_input in iter_pages(info, ctx.settings, scratch, only=only):
            pages.append(read_page(document_id, page_input, ctx, scratch))
    return pages


def assemble(document_id: str, info: FileInfo, ctx: PipelineContext) -> Document:
    """Put the document together from its read pages: the document tree and the searchable PDF.

    Text-layer pages keep the original PDF page (its text is already searchable); scanned pages use the page
    Tesseract rendered; blank pages and separator sheets are left out of the searchable PDF.
    """
    by_kind: dict[str, dict[int, str]] = {}
    with ctx.session(readonly=True) as session:  # values read inside: a read-only session's rows expire
        for row in repository.page_artifacts(session, document_id):
            by_kind.setdefault(row.kind, {})[row.page] = row.blob_sha
    page_json = by_kind.get(ArtifactKind.PAGE_JSON.value, {})
    missing = [n for n in range(1, info.page_count + 1) if n not in page_json] if info.kind is not FileKind.XML else []
    if missing:
        raise ToolFailed(f"pages {missing} of document {document_id} have not been read", pages=missing)
    document = Document(
        pages=[Page.model_validate_json(ctx.blobs.read_bytes(page_json[n])) for n in sorted(page_json)]
    )
    pdf_pages = by_kind.get(ArtifactKind.SEARCHABLE_PDF_PAGE.value, {})
    searchable_sha: str | None = None
    if info.kind is not FileKind.XML:
        with ctx.scratch() as scratch, pikepdf.new() as out:
            original = pikepdf.open(info.path) if info.kind is FileKind.PDF else None
            try:
                for page in document.pages:
                    if page.text_source is TextSource.TEXT_LAYER and original is not None:
                        out.pages.append(original.pages[page.number - 1])
                    elif page.number in pdf_pages:
                        with pikepdf.open(ctx.blobs.path(pdf_pages[page.number])) as one:
                            out.pages.extend(one.pages)
                if len(out.pages):
                    target = scratch / "searchable.pdf"
                    out.save(target)
                    searchable_sha = ctx.blobs.put_file(target)
            finally:
                if original is not None:
                    original.close()
    with ctx.session() as session:
        doc_row = _row(session, document_id)
        doc_row.searchable_pdf_sha = searchable_sha
        repository.save_result(session, doc_row, None, document.model_dump_json())
        if doc_row.parent_id is None:  # the scanned file itself (letters of a stack are parts of its note)
            from intake.transfer_note import build_note

            quality = summarise_quality(document, ctx.settings)
            transfer_notes.record_note(session, doc_row, build_note(doc_row, info, document, quality))
    return document


# --- stage 3: result -------------------------------------------------------------------------------------


def summarise_quality(document: Document, settings: Settings) -> Quality:
    """Document-level quality and the warnings a scanning station shows so that the operator can rescan."""
    warnings: list[QualityWarning] = []
    blank = [p.number for p in document.pages if p.quality.blank]
    ocr_pages = [p for p in document.pages if p.text_source is TextSource.OCR]
    for page in document.pages:
        q: PageQuality = page.quality
        n = page.number
        if q.blank:
            warnings.append(QualityWarning(code="blank_page", page=n, message=f"page {n} is blank"))
            continue
        if page.text_source is not TextSource.OCR:
            continue
        if q.unreadable:
            warnings.append(QualityWarning(
                code="page_unreadable", page=n, message=f"page {n} could not be read within its time budget"))
        elif not any(True for _ in page.words()):
            warnings.append(QualityWarning(
                code="no_text_found", page=n, message=f"page {n} has ink but no text could be read"))
        if q.rotation:
            warnings.append(QualityWarning(
                code="rotated", page=n, message=f"page {n} was scanned rotated; turned by {q.rotation}°"))
        if q.skew_degrees is not None and abs(q.skew_degrees) >= settings.warn_skew_degrees:
            warnings.append(QualityWarning(
                code="skewed", page=n, message=f"page {n} is skewed by {q.skew_degrees:.1f}° (corrected)"))
        if q.sharpness is not None and q.sharpness < settings.warn_blur:
            warnings.append(QualityWarning(code="blurry", page=n, message=f"page {n} looks blurred"))
        if q.contrast is not None and q.contrast < settings.warn_contrast:
            warnings.append(QualityWarning(code="low_contrast", page=n, message=f"page {n} has low contrast"))
        if q.ocr_confidence is not None and q.ocr_confidence < settings.warn_ocr_confidence:
            warnings.append(QualityWarning(
                code="low_ocr_confidence", page=n,
                message=f"page {n} reads poorly (OCR confidence {q.ocr_confidence:.0f})"))
    if document.pages and len(blank) == len(document.pages):
        warnings.append(QualityWarning(code="all_pages_blank", message="every page is blank: check the scanner"))
    confidence = None
    words = sum(sum(1 for _ in p.words()) for p in ocr_pages)
    if words:
        confidence = round(
            sum(sum(w.confidence for w in p.words()) for p in ocr_pages) / words, 1
        )
    skews: list[float] = [p.quality.skew_degrees for p in ocr_pages if p.quality.skew_degrees is not None]
    worst: float | None = max(skews, key=abs) if skews else None
    skew = None if worst is None else round(worst, 2)
    return Quality(ocr_confidence=confidence, skew_degrees=skew, blank_pages=blank, warnings=warnings)


def build_result(row: DocumentRow, info: FileInfo, document: Document, settings: Settings) -> Result:
    text_source = TextSource.E_INVOICE if info.kind is FileKind.XML else document.text_source
    result = Result(
        document_id=row.id,
        sha256=row.sha256,
        filename=row.filename,
        pages=len(document.pages) if info.kind is not FileKind.XML else 0,
        source=Source(channel=row.source_channel, station=row.station, received_at=row.received_at),
        text_source=text_source.value,
        quality=summarise_quality(document, settings),
    )
    if info.embedded_xml_name or info.kind is FileKind.XML:
        result.e_invoice = {"embedded": info.embedded_xml_name}
    if row.parent_id is not None and row.page_from is not None and row.page_to is not None:  # a separated letter
        result.parent = ParentStack(
            document_id=row.parent_id, pages=[row.page_from, row.page_to],
            page_numbers=[page.parent_page or page.number for page in document.pages],
        )
    return result


def mail_source(session: Session, row: DocumentRow) -> MailSource | None:
    """The e-mail a document (or the stack it was separated from) came with."""
    origin = mail_storage.origin_of(session, row.id)
    if origin is None and row.parent_id is not None:
        origin = mail_storage.origin_of(session, row.parent_id)
    if origin is None:
        return None
    return MailSource(
        mailbox=origin.mailbox, message_id=origin.message_id, sender=origin.sender, subject=origin.subject,
        sent_at=origin.sent_at, role=origin.role, documents=origin.documents,
    )


def _row(session: Session, document_id: str) -> DocumentRow:
    row = repository.get_document(session, document_id)
    if row is None:  # pragma: no cover - the row was created by receive() in this process
        raise ToolFailed(f"document {document_id} vanished from the database")
    return row


INVOICE_TYPES = frozenset({"invoice", "credit_note"})


def einvoice_xml(info: FileInfo, ctx: PipelineContext) -> bytes | None:
    """The e-invoice XML of a file: the XML file itself, or the attachment of a ZUGFeRD / Factur-X PDF."""
    if info.kind is FileKind.XML:
        return info.path.read_bytes()
    if info.kind is FileKind.PDF and info.embedded_xml_name:
        with pikepdf.open(info.path) as pdf:
            found = find_embedded_invoice_xml(pdf, ctx.settings.max_xml_bytes)
        return found[1] if found else None
    return None


def finish(document_id: str, info: FileInfo, document: Document, ctx: PipelineContext) -> Result:
    """Recognise, read the invoice, decide and store the result: the document is ``routed`` or in ``review``, or,
    when the quality gate finds no readable page in a station's scan, back at its station (``rescan``).

    The decision runs once on the words; for an invoice (by the model, or an e-invoice) the invoice fields are
    read and the decision runs again with them as facts (rules on amounts, supplier, Leitweg-ID). An invoice that
    its validation blocks (checksums, arithmetic, duplicate, a supplier's unknown IBAN) goes to review.
    """
    from extraction.store import extract_stored  # the decision stages load models and rules: only when used
    from routing.router import recognise_document, route_document
    from rules.facts import IntakeFacts, InvoiceFacts, SupplierFacts

    with ctx.session() as session:
        row = _row(session, document_id)
        if row.state in ("received", "separated") and any(p.text_source is TextSource.OCR for p in document.pages):
            repository.transition(session, row, "ocr")
        result = build_result(row, info, document, ctx.settings)
        rescan = rescan_request(document, result.quality, ctx.settings, channel=row.source_channel)
        if rescan is not None:
            return send_back(session, row, result, rescan)
    router = ctx.router
    xml = einvoice_xml(info, ctx) if document_id_is_file(document, info) else None
    with ctx.session() as session:
        row = _row(session, document_id)
        result = build_result(row, info, document, ctx.settings)
        result.source.mail = mail_source(session, row)
        sender = result.source.mail.sender if result.source.mail else None
        intake = IntakeFacts(
            station=row.station, channel=row.source_channel, page_count=len(document.pages), sender=sender,
            sender_domain=sender.rpartition("@")[2] if sender else None,
        )
        e_invoice = xml is not None
        recognition = recognise_document(document, router, e_invoice=e_invoice)
        decision = route_document(
            document, router, session=session, e_invoice=e_invoice, intake=intake, recognition=recognition
        )
        if e_invoice or decision.document_type.label in INVOICE_TYPES:
            extraction = extract_stored(session, document, document_id=document_id, einvoice_xml=xml)
            result.invoice = extraction.invoice
            fields = {
                name: str(part["value"]) for name, part in extraction.invoice.items()
                if isinstance(part, dict) and "value" in part and part["value"] is not None
            }
            validation = (extraction.invoice.get("validation") or {}).get("status")
            supplier = None
            if extraction.supplier is not None:
                supplier = SupplierFacts(
                    supplier_id=extraction.supplier.supplier.creditor_number, name=extraction.supplier.supplier.name,
                    matched_by=",".join(extraction.supplier.matched_by),
                )
            decision = route_document(
                document, router, session=session, e_invoice=e_invoice, intake=intake,
                invoice=InvoiceFacts(fields=fields, validation=validation), supplier=supplier,
                leitweg_id=fields.get("buyer_reference"), recognition=recognition,
            )
            if extraction.needs_review and decision.routing.status == "routed":
                decision.routing.status = "review"
                decision.routing.review_reasons = [*(decision.routing.review_reasons or []),
                                                   *extraction.review_reasons]
        result.document_type = decision.document_type
        result.recipient = decision.recipient
        result.routing = decision.routing
        if row.state != "recognised":
            repository.transition(session, row, "recognised")
        repository.save_result(session, row, result.to_json())
        status = result.routing.status if result.routing else "review"
        repository.transition(session, row, "routed" if status == "routed" else "review", reason=_reason(result))
        audit.record(session, actor=transfer_notes.PIPELINE_ACTOR, action="document.decided", object_type="document",
                     object_id=row.id, details=decision_audit(result, router, session))
    return result


def send_back(session: Session, row: DocumentRow, result: Result, rescan: RescanRequest) -> Result:
    """The quality gate's outcome: the document goes back to its station (state ``rescan``), not to review."""
    result.rescan = rescan
    repository.save_result(session, row, result.to_json())
    repository.transition(session, row, DocumentState.RESCAN,
                          reason=f"rescan: {rescan.reason}, pages {rescan.pages}")
    audit.record(session, actor=transfer_notes.PIPELINE_ACTOR, action="document.rescan_requested",
                 object_type="document", object_id=row.id,
                 details={"state": DocumentState.RESCAN.value, "station": row.station, "reason": rescan.reason,
                          "pages": rescan.pages, "warnings": rescan.warnings})
    log.info("sent back to station %s: %s, pages %s", row.station or "-", rescan.reason, rescan.pages,
             extra={"document_id": row.id})
    return result


def decision_audit(result: Result, router: Router, session: Session) -> dict[str, object]:
    """What the audit trail keeps of an automated decision: outcome, who decided (rule or model with version),
    the rule set version and the model versions it was made with."""
    routing = result.routing
    document_type = result.document_type
    return {
        "state": "routed" if routing is not None and routing.status == "routed" else "review",
        "postbox": routing.postbox if routing else None,
        "copies": list(routing.copies or []) if routing else [],
        "confidence": routing.confidence if routing else None,
        "decided_by": routing.decided_by if routing else None,
        "confidential": bool(routing.confidential) if routing else False,
        "document_type": document_type.label if document_type else None,
        "document_type_by": document_type.decided_by if document_type else None,
        "ruleset_version": router.rules(session).version,
        "models": {"doctype": router.models.document_type.version, "postbox": router.models.postbox.version},
    }


def document_id_is_file(document: Document, info: FileInfo) -> bool:
    """Whether ``document`` is the whole file (not one letter of a stack): only then its e-invoice XML applies."""
    return info.kind is FileKind.XML or len(document.pages) == info.page_count


def _reason(result: Result) -> str | None:
    routing = result.routing
    if routing is None:
        return None
    return f"{routing.status} to {routing.postbox or '-'} by {routing.decided_by or '-'}"


def start(document_id: str, ctx: PipelineContext, *, again: bool, task_id: str | None = None) -> None:
    """Mark the start of (another) run of the pipeline for a document."""
    with ctx.session() as session:
        row = _row(session, document_id)
        if again:
            repository.restart(session, row, reason="processed again", task_id=task_id)
        repository.note_attempt(session, row)


#: Exceptions that are not bugs of a stage but of the environment (database, disk): they are left to the retries
#: and the sweeper (a database that is back, a disk with room again heals them); every other exception that is no
#: :class:`MailroomError` fails the document at once with ``internal_error``.
ENVIRONMENT_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError)


def log_unexpected(error: MailroomError, exc: BaseException) -> None:
    """Log an unexpected exception: one line with where it was raised (file:line of the innermost frame), the
    traceback only at DEBUG level (``mailroom process`` never prints one)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    log.error("failed: %s [%s: %s at %s]", error, type(exc).__name__, str(exc)[:300], where)
    log.debug("traceback of the unexpected error", exc_info=exc)


def unexpected(exc: Exception, step: str) -> MailroomError:
    """The ``internal_error`` for an exception nobody foresaw in ``step``: its type, not its text (which may
    carry paths, blob names or tool output), goes into the message; the log has the traceback."""
    kind = type(exc).__module__.split(".")[0] + "." + type(exc).__qualname__
    return MailroomError(f"an unexpected error while {step} ({kind}); the log of the worker has the details, "
                         "'mailroom process FILE' runs the document again once it is fixed", step=step)


def fail(document_id: str, exc: MailroomError, ctx: PipelineContext, *, task_id: str | None = None) -> None:
    """Record a permanent failure of a document with its stable code."""
    with ctx.session() as session:
        row = _row(session, document_id)
        if row.state != "failed":
            repository.transition(
                session, row, "failed", error_code=exc.code, error_message=exc.message, task_id=task_id
            )


def stored_file(document_id: str, ctx: PipelineContext, *, checked: FileInfo | None = None) -> FileInfo:
    """The checked :class:`FileInfo` of a stored original (the checks rerun: nothing is trusted), unless this
    process has just checked the very same bytes (``checked``, by :func:`receive`, of the same SHA-256 as the
    stored original): then that check stands, for the stored copy (a second full decode of every page image cost
    ~0.1 s CPU per page, issue 16)."""
    with ctx.session(readonly=True) as session:
        row = _row(session, document_id)
        original_sha = row.original_sha
    if original_sha is None:
        raise ToolFailed(f"document {document_id} has no stored original")
    if checked is not None and checked.sha256 == original_sha:
        return replace(checked, path=ctx.blobs.path(original_sha))
    return inspect_file(ctx.blobs.path(original_sha), ctx.settings)
