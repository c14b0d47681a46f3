"""Prometheus metrics of the service (``GET /metrics``).

The database is the truth about documents, so what it knows is read from it at scrape time (and is the same
whichever API process is scraped): documents by state, failed documents by error code, pages processed. What
happens in this process is counted here: uploads accepted and refused (by code), upload acknowledgement
latency. OCR seconds per page come from the timings every read page stores in its page JSON: each scrape
reads the pages finished since the previous one (at most :data:`PAGES_PER_SCRAPE`), so the histogram covers the
pages read since this API process started, wherever the OCR ran. Queue depths come from the dispatcher when it
can tell (an optional ``queue_depths()`` method).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from mailroom.storage import heartbeats
from mailroom.storage import mail as mail_storage
from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import session_scope
from mailroom.storage.models import ArtifactKind, DocumentRow, DocumentState, PageArtifactRow
from workers.celery_app import QUEUES
from workers.pipeline import PipelineContext

log = logging.getLogger(__name__)

#: Most page JSON blobs one scrape reads for the OCR histogram; the rest waits for the next scrape.
PAGES_PER_SCRAPE = 2000
OCR_SECONDS_BUCKETS = (0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120, float("inf"))
ACK_SECONDS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf"))


@runtime_checkable
class ReportsQueueDepths(Protocol):
    """Optional part of a dispatcher: the number of tasks waiting per queue."""

    def queue_depths(self) -> Mapping[str, int]: ...


class _DatabaseCollector(Collector):
    """Documents by state, failed documents by code, pages processed and queue depths, read at scrape time."""

    def __init__(self, ctx: PipelineContext, dispatcher: object) -> None:
        self.ctx = ctx
        self.dispatcher = dispatcher

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        with session_scope(self.ctx.sessions, readonly=True) as session:
            by_state = dict(session.execute(select(DocumentRow.state, func.count()).group_by(DocumentRow.state)).all())
            failed = session.execute(
                select(DocumentRow.error_code, func.count())
                .where(DocumentRow.state == DocumentState.FAILED.value)
                .group_by(DocumentRow.error_code)
            ).all()
            pages = session.scalar(
                select(func.count()).select_from(PageArtifactRow)
                .where(PageArtifactRow.kind == ArtifactKind.PAGE_JSON.value)
            )
            mailboxes = [
                (row.mailbox, row.last_success_at, row.consecutive_failures or 0, row.messages_filed or 0,
                 row.messages_refused or 0)
                for row in mail_storage.statuses(session).values()
            ]
            live = heartbeats.assess(heartbeats.heartbeats(session))
        documents = GaugeMetricFamily("mailroom_documents", "Documents by state", labels=["state"])
        for state in DocumentState:
            documents.add_metric([state.value], by_state.get(state.value, 0))
        yield documents
        failures = GaugeMetricFamily("mailroom_documents_failed", "Failed documents by error code", labels=["code"])
        for code, count in failed:
            failures.add_metric([code or "unknown"], count)
        yield failures
        yield CounterMetricFamily("mailroom_pages_processed", "Pages read (OCR, text layer or blank)", value=pages or 0)
        yield from _mailbox_metrics(mailboxes)
        yield from _liveness_metrics(live)
        if isinstance(self.dispatcher, ReportsQueueDepths):
            depths = GaugeMetricFamily("mailroom_queue_depth", "Tasks waiting per queue", labels=["queue"])
            try:
                for queue, depth in self.dispatcher.queue_depths().items():
                    depths.add_metric([queue], depth)
            except Exception as exc:  # a broker outage must not break the scrape; /readyz reports it
                log.warning("queue depths unavailable: %s", exc)
                return
            yield depths


def _liveness_metrics(live: heartbeats.Liveness) -> Iterable[Metric]:
    """The heartbeats of the beat and the workers (:mod:`mailroom.storage.heartbeats`): alert on a beat whose
    heartbeat is older than a minute, or on no live worker for the ``ocr`` queue."""
    yield GaugeMetricFamily("mailroom_beat_up", "1 when the beat's heartbeat is fresh (under a minute old)",
                            value=1 if live.beat_alive else 0)
    if live.beat_age_seconds is not None:
        yield GaugeMetricFamily("mailroom_beat_heartbeat_age_seconds", "Seconds since the beat's last heartbeat",
                                value=live.beat_age_seconds)
    workers = GaugeMetricFamily("mailroom_workers_up", "Live workers consuming each queue", labels=["queue"])
    for queue in QUEUES:
        workers.add_metric([queue], live.workers.get(queue, 0))
    yield workers
    yield GaugeMetricFamily("mailroom_workers_without_tools", "Live workers that refuse OCR work: tools missing",
                            value=live.refusing_ocr)


def _mailbox_metrics(rows: list[tuple[str, datetime | None, int, int, int]]) -> Iterable[Metric]:
    """The e-mail intake: per mailbox the last successful poll, failures in a row, messages filed and refused."""
    success = GaugeMetricFamily("mailroom_mailbox_last_success_timestamp_seconds",
                                "Unix time of the mailbox's last successful poll", labels=["mailbox"])
    failing = GaugeMetricFamily("mailroom_mailbox_consecutive_failures", "Failed polls in a row", labels=["mailbox"])
    filed = CounterMetricFamily("mailroom_mailbox_messages_filed", "Messages made into documents", labels=["mailbox"])
    refused = CounterMetricFamily("mailroom_mailbox_messages_refused", "Messages refused", labels=["mailbox"])
    for mailbox, last_success, failures, filed_count, refused_count in rows:
        success.add_metric([mailbox], last_success.timestamp() if last_success else 0.0)
        failing.add_metric([mailbox], failures)
        filed.add_metric([mailbox], filed_count)
        refused.add_metric([mailbox], refused_count)
    yield from (success, failing, filed, refused)


class ServiceMetrics:
    """The metrics of one app: its own registry, so that several apps can live in one process (tests)."""

    def __init__(self, ctx: PipelineContext, dispatcher: object) -> None:
        self.registry = CollectorRegistry()
        self.uploads = Counter(
            "mailroom_uploads", "Uploads acknowledged, by outcome (accepted, duplicate)", ["outcome"],
            registry=self.registry,
        )
        self.uploads_refused = Counter(
            "mailroom_uploads_refused", "Uploads refused with a 4xx error, by code", ["code"], registry=self.registry
        )
        self.upload_ack_seconds = Histogram(
            "mailroom_upload_ack_seconds", "From the end of the upload to the acknowledgement (original stored)",
            buckets=ACK_SECONDS_BUCKETS, registry=self.registry,
        )
        self.ocr_seconds = Histogram(
            "mailroom_ocr_seconds_per_page", "Tesseract wall time per OCR'd page", buckets=OCR_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(ctx, dispatcher))
        self._ctx = ctx
        self._lock = threading.Lock()
        with session_scope(ctx.sessions, readonly=True) as session:
            self._last_page_artifact = session.scalar(select(func.max(PageArtifactRow.id))) or 0

    def _observe_new_pages(self) -> None:
        with self._lock:
            with session_scope(self._ctx.sessions, readonly=True) as session:
                rows = session.execute(
                    select(PageArtifactRow.id, PageArtifactRow.blob_sha)
                    .where(
                        PageArtifactRow.kind == ArtifactKind.PAGE_JSON.value,
                        PageArtifactRow.id > self._last_page_artifact,
                    )
                    .order_by(PageArtifactRow.id)
                    .limit(PAGES_PER_SCRAPE)
                ).all()
            for artifact_id, blob_sha in rows:
                ocr_ms = _ocr_ms(self._ctx.blobs, blob_sha)
                if ocr_ms is not None:
                    self.ocr_seconds.observe(ocr_ms / 1000)
                self._last_page_artifact = artifact_id

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric, fresh from the database."""
        self._observe_new_pages()
        return generate_latest(self.registry)


def _ocr_ms(blobs: BlobStore, blob_sha: str) -> float | None:
    try:
        page = json.loads(blobs.read_bytes(blob_sha))
    except Exception as exc:  # a missing or damaged blob costs one sample, never the scrape
        log.warning("page JSON %s unreadable for metrics: %s", blob_sha, exc)
        return None
    ocr = (page.get("timings_ms") or {}).get("ocr")
    return float(ocr) if isinstance(ocr, int | float) else None
