"""Heartbeats of the worker processes and the beat, and the beat's schedule, in the database.

Every ``mailroom worker`` writes a row (``service_heartbeats``) every :data:`HEARTBEAT_SECONDS`: its queues and
whether its tools (Tesseract with the configured language, Poppler) work. The beat writes its own row on its
ticks, and keeps the last run of each schedule entry in ``beat_schedule`` (not in a file of the data directory:
a data directory that was read-only for a while killed Celery's file-backed schedule, and the beat with it).
``/readyz`` and ``/metrics`` read them (:func:`assess`): a dead beat or no worker that can do OCR is seen by every
API process of a deployment, whichever machine the workers run on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailroom.storage.models import Base, utcnow

#: How often a worker and the beat write their heartbeat.
HEARTBEAT_SECONDS = 10.0
#: A heartbeat older than this is a dead (or hung) process.
STALE_AFTER_SECONDS = 60.0
#: Rows of processes that have not beaten for this long are deleted (a worker replaced by another).
FORGET_AFTER = timedelta(days=1)

WORKER = "worker"
BEAT = "beat"


class HeartbeatRow(Base):
    __tablename__ = "service_heartbeats"

    name: Mapped[str] = mapped_column(String(255), primary_key=True, doc="worker@host, or beat@host")
    role: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    queues: Mapped[str] = mapped_column(String(255), default="", doc="comma-separated queues consumed")
    tools_ok: Mapped[bool] = mapped_column(Boolean, default=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class BeatScheduleRow(Base):
    __tablename__ = "beat_schedule"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column()
    total_run_count: Mapped[int] = mapped_column(Integer, default=0)


def beat(session: Session, *, name: str, role: str, host: str, pid: int, queues: str = "", tools_ok: bool = True,
         detail: str = "", started_at: datetime | None = None, now: datetime | None = None) -> None:
    """Write (insert or update) one process's heartbeat."""
    now = now or utcnow()
    row = session.get(HeartbeatRow, name)
    if row is None:
        row = HeartbeatRow(name=name, started_at=started_at or now)
        session.add(row)
    row.role, row.host, row.pid, row.queues, row.tools_ok, row.detail, row.beat_at = (
        role, host, pid, queues, tools_ok, detail, now
    )
    session.execute(delete(HeartbeatRow).where(HeartbeatRow.beat_at < now - FORGET_AFTER))


def heartbeats(session: Session) -> list[HeartbeatRow]:
    return list(session.scalars(select(HeartbeatRow).order_by(HeartbeatRow.name)))


def schedule(session: Session) -> dict[str, BeatScheduleRow]:
    return {row.name: row for row in session.scalars(select(BeatScheduleRow))}


def save_schedule(session: Session, runs: dict[str, tuple[datetime, int]]) -> None:
    """Store the last run (and run count) of each schedule entry."""
    stored = schedule(session)
    for name, (last_run_at, count) in runs.items():
        row = stored.get(name)
        if row is None:
            session.add(BeatScheduleRow(name=name, last_run_at=last_run_at, total_run_count=count))
        else:
            row.last_run_at, row.total_run_count = last_run_at, count


@dataclass(frozen=True)
class Liveness:
    """What the heartbeats say: a live beat, live workers per queue (OCR ones only with working tools)."""

    beat_age_seconds: float | None
    workers: dict[str, int]  # queue -> live workers consuming it (for "ocr": with working tools)
    refusing_ocr: int  # live workers whose tools do not work (they consume no OCR queue)
    ages: dict[tuple[str, str], float]  # (role, name) -> seconds since the heartbeat

    @property
    def beat_alive(self) -> bool:
        return self.beat_age_seconds is not None and self.beat_age_seconds <= STALE_AFTER_SECONDS


def assess(rows: list[HeartbeatRow], now: datetime | None = None) -> Liveness:
    now = now or utcnow()
    beat_age: float | None = None
    workers: dict[str, int] = {}
    refusing = 0
    ages: dict[tuple[str, str], float] = {}
    for row in rows:
        age = max(0.0, (now - row.beat_at).total_seconds())
        ages[(row.role, row.name)] = age
        if row.role == BEAT:
            beat_age = age if beat_age is None else min(beat_age, age)
            continue
        if age > STALE_AFTER_SECONDS:
            continue
        if not row.tools_ok:
            refusing += 1
        for queue in filter(None, row.queues.split(",")):
            workers[queue] = workers.get(queue, 0) + 1
    return Liveness(beat_age, workers, refusing, ages)
