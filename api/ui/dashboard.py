"""The dashboard for admins: documents per day, automation rate (routed without a person), review backlog and time
in review, rescans, pages per minute and webhook failures, with server-rendered SVG charts (no chart library, no
script) and the same figures as tables (screen readers, copy and paste).

The figures are read from the database (the truth about documents, whichever process handled them): a document
counts as automated when it was routed without ever entering ``review``; time in review runs from entering
``review`` to leaving it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.deps import ReadSession
from api.ui.web import LOCAL_ZONE, UI_PREFIX, UiContext, render, signed_in_as
from mailroom.storage.keys import Role
from mailroom.storage.models import ArtifactKind, DocumentEventRow, DocumentRow, DocumentState, PageArtifactRow, utcnow
from mailroom.storage.subscriptions import DeliveryState, WebhookAttemptRow, WebhookDeliveryRow

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)
Admin = Annotated[UiContext, Depends(signed_in_as(Role.ADMIN))]
RESCAN = "rescan"  # the state a scan sent back to its station is in


@dataclass(frozen=True)
class Day:
    day: date
    documents: int
    automated: int
    reviewed: int
    rescans: int
    pages: int
    webhook_failures: int

    @property
    def automation_rate(self) -> float | None:
        decided = self.automated + self.reviewed
        return self.automated / decided if decided else None


@dataclass(frozen=True)
class Figures:
    days: list[Day]
    backlog: int
    oldest_waiting: datetime | None
    median_review_minutes: float | None
    pages_last_hour: int
    dead_webhooks: int

    @property
    def pages_per_minute(self) -> float:
        return self.pages_last_hour / 60.0

    @property
    def automation_rate(self) -> float | None:
        automated = sum(d.automated for d in self.days)
        decided = automated + sum(d.reviewed for d in self.days)
        return automated / decided if decided else None


def _local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_ZONE).date()


def figures(session: Session, *, days: int = 14, now: datetime | None = None) -> Figures:
    """The dashboard's figures for the last ``days`` days (local time)."""
    now = now or utcnow()
    first = (now.astimezone(LOCAL_ZONE) - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    received: Counter[date] = Counter()
    for (at,) in session.execute(select(DocumentRow.received_at).where(
            DocumentRow.received_at >= first, DocumentRow.state != DocumentState.SPLIT.value)):
        received[_local_day(at)] += 1
    events: dict[str, list[DocumentEventRow]] = defaultdict(list)
    for event in session.scalars(select(DocumentEventRow).where(DocumentEventRow.at >= first - timedelta(days=30))
                                 .order_by(DocumentEventRow.document_id, DocumentEventRow.id)):
        events[event.document_id].append(event)
    automated: Counter[date] = Counter()
    reviewed: Counter[date] = Counter()
    rescans: Counter[date] = Counter()
    review_minutes: list[float] = []
    for trail in events.values():
        entered_review: datetime | None = None
        was_reviewed = False
        for event in trail:
            if event.to_state == DocumentState.REVIEW.value:
                entered_review, was_reviewed = event.at, True
            elif entered_review is not None and event.from_state == DocumentState.REVIEW.value:
                if event.at >= first:
                    review_minutes.append((event.at - entered_review).total_seconds() / 60)
                entered_review = None
            if event.to_state == RESCAN and event.at >= first:
                rescans[_local_day(event.at)] += 1
            if event.to_state == DocumentState.ROUTED.value and event.at >= first:
                (reviewed if was_reviewed else automated)[_local_day(event.at)] += 1
                break  # later re-routes are not the first decision
    pages: Counter[date] = Counter()
    for (at,) in session.execute(select(PageArtifactRow.created_at).where(
            PageArtifactRow.kind == ArtifactKind.PAGE_JSON.value, PageArtifactRow.created_at >= first)):
        pages[_local_day(at)] += 1
    failures: Counter[date] = Counter()
    for (at,) in session.execute(select(WebhookAttemptRow.at).where(
            WebhookAttemptRow.at >= first,
            (WebhookAttemptRow.status.is_(None)) | (WebhookAttemptRow.status >= 300))):
        failures[_local_day(at)] += 1
    backlog_rows = session.execute(select(func.count(), func.min(DocumentRow.state_changed_at)).where(
        DocumentRow.state == DocumentState.REVIEW.value)).one()
    last_hour = session.scalar(select(func.count()).select_from(PageArtifactRow).where(
        PageArtifactRow.kind == ArtifactKind.PAGE_JSON.value, PageArtifactRow.created_at >= now - timedelta(hours=1)))
    dead = session.scalar(select(func.count()).select_from(WebhookDeliveryRow).where(
        WebhookDeliveryRow.state == DeliveryState.DEAD.value))
    review_minutes.sort()
    median = review_minutes[len(review_minutes) // 2] if review_minutes else None
    series = []
    for n in range(days):
        day = (first + timedelta(days=n)).date()
        series.append(Day(day, received[day], automated[day], reviewed[day], rescans[day], pages[day], failures[day]))
    return Figures(days=series, backlog=int(backlog_rows[0] or 0), oldest_waiting=backlog_rows[1],
                   median_review_minutes=median, pages_last_hour=int(last_hour or 0), dead_webhooks=int(dead or 0))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


@dataclass(frozen=True)
class Chart:
    """A bar chart drawn by the template as SVG: bars, the day labels under them, the largest value."""

    width: int
    height: int
    bars: list[Bar]
    top: str


def bar_chart(values: list[float | None], labels: list[str], *, percent: bool = False) -> Chart:
    width, height, base = 640, 200, 170
    step = width / max(1, len(values))
    top = 1.0 if percent else max([v for v in values if v is not None] + [1.0])
    bars = []
    for n, (value, label) in enumerate(zip(values, labels, strict=True)):
        shown = value or 0.0
        bar_height = 0.0 if value is None else max(1.0, shown / top * (base - 20))
        text = "–" if value is None else (f"{shown:.0%}" if percent else f"{shown:g}")
        bars.append(Bar(n * step + step * 0.15, base - bar_height, step * 0.7, bar_height, label, text))
    return Chart(width, height, bars, "100 %" if percent else f"{top:g}")


@router.get("/dashboard")
def dashboard(request: Request, ui: Admin, session: ReadSession,
              days: Annotated[int, Query(ge=1, le=90)] = 14) -> HTMLResponse:
    data = figures(session, days=days)
    labels = [d.day.strftime("%d.%m.") for d in data.days]
    charts = {
        "documents": bar_chart([float(d.documents) for d in data.days], labels),
        "automation": bar_chart([d.automation_rate for d in data.days], labels, percent=True),
        "pages": bar_chart([float(d.pages) for d in data.days], labels),
    }
    return render(request, "dashboard.html", ui=ui, data=data, charts=charts, days=days)
