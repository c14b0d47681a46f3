"""A document whose page is being read is not swept as stuck, however long the reading takes on a busy machine;
once its task is gone (killed, over its time limit), it is. Real SQLite database, real sweeper query."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from servicekit import SAMPLES

from mailroom.settings import Settings
from mailroom.storage import repository
from mailroom.storage.models import DocumentRow, DocumentState, utcnow
from workers.keepalive import interval_for, keeping_alive
from workers.pipeline import PipelineContext, receive

STUCK_AFTER = timedelta(seconds=1)


def _stuck(ctx: PipelineContext) -> list[str]:
    with ctx.session() as session:
        return [row.id for row in repository.stuck_documents(session, STUCK_AFTER)]


def _age(ctx: PipelineContext, document_id: str, seconds: float) -> None:
    with ctx.session() as session:
        row = session.get(DocumentRow, document_id)
        assert row is not None
        row.updated_at = utcnow() - timedelta(seconds=seconds)


def test_a_page_being_read_keeps_its_document_off_the_sweepers_list(tmp_path: Path) -> None:
    ctx = PipelineContext.create(Settings(_env_file=None, data_dir=tmp_path / "data"))
    document_id = receive(SAMPLES / "0004-objection.pdf", ctx, channel="test", station=None).document_id
    _age(ctx, document_id, 60)
    assert _stuck(ctx) == [document_id]  # nothing works on it: the sweeper takes it
    with keeping_alive(ctx, document_id, interval=0.2):
        time.sleep(0.5)
        assert _stuck(ctx) == []  # a task reads its page: not stuck, however long that takes
        time.sleep(1.2)
        assert _stuck(ctx) == []
    time.sleep(1.3)
    assert _stuck(ctx) == [document_id]  # the task is gone: swept again


def test_a_finished_document_is_not_touched(tmp_path: Path) -> None:
    ctx = PipelineContext.create(Settings(_env_file=None, data_dir=tmp_path / "data"))
    document_id = receive(SAMPLES / "0004-objection.pdf", ctx, channel="test", station=None).document_id
    with ctx.session() as session:
        row = session.get(DocumentRow, document_id)
        assert row is not None
        row.state = DocumentState.FAILED.value
        row.updated_at = before = utcnow() - timedelta(hours=1)
    with keeping_alive(ctx, document_id, interval=0.1):
        time.sleep(0.4)
    with ctx.session() as session:
        row = session.get(DocumentRow, document_id)
        assert row is not None and abs((row.updated_at - before).total_seconds()) < 1


def test_the_refresh_interval_follows_the_sweeper() -> None:
    assert interval_for(600) == 60  # the default: once a minute, ten times within the sweeper's 600 s
    assert interval_for(8) == 2  # a test's fast sweeper: four refreshes within its window
    assert interval_for(0.1) == 0.5
