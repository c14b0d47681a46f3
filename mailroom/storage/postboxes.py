"""Postbox items: which documents lie in which postbox, and how far the clerk or the DMS got with each.

A routed document has one ``primary`` item in the postbox it was routed to and one ``copy`` item per postbox it
was also sent to (rule action ``copy_to``, or a clerk sending a copy on). Each item has its own state:

* ``new``: arrived, nobody has taken it yet;
* ``claimed``: a clerk or the DMS took it (``claimed_by``, ``claimed_at``); others see who;
* ``done``: acknowledged (filed in the DMS, answered); the start of the postbox's retention period.

A re-route moves the primary item to the new postbox (state ``new`` again); the old postbox no longer holds the
document. Items are written by :func:`place` in the transaction of the state change
(:func:`mailroom.storage.repository.transition`), so a document is never routed without being in its postbox.
Access control (``api.auth``) asks these rows which postboxes hold a document.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailroom.storage.models import Base, utcnow


class ItemState(StrEnum):
    NEW = "new"
    CLAIMED = "claimed"
    DONE = "done"


class ItemKind(StrEnum):
    PRIMARY = "primary"
    COPY = "copy"


class PostboxItemRow(Base):
    """One document in one postbox."""

    __tablename__ = "postbox_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    postbox: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), default=ItemKind.PRIMARY.value)
    state: Mapped[str] = mapped_column(String(16), default=ItemState.NEW.value)
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column()
    done_by: Mapped[str | None] = mapped_column(String(128))
    done_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        UniqueConstraint("document_id", "postbox"),
        CheckConstraint(f"state IN ({', '.join(repr(s.value) for s in ItemState)})", name="state"),
        CheckConstraint(f"kind IN ({', '.join(repr(k.value) for k in ItemKind)})", name="kind"),
        Index("ix_postbox_items_postbox_state_placed_at", "postbox", "state", "placed_at"),
    )

    def __repr__(self) -> str:
        return f"PostboxItemRow({self.document_id!r} in {self.postbox!r}, {self.kind}, {self.state})"


def items_of(session: Session, document_id: str) -> list[PostboxItemRow]:
    """The postbox items of a document, primary first."""
    rows = session.scalars(select(PostboxItemRow).where(PostboxItemRow.document_id == document_id))
    return sorted(rows, key=lambda r: (r.kind != ItemKind.PRIMARY.value, r.postbox))


def postboxes_of(session: Session, document_id: str) -> set[str]:
    """The postboxes that hold a document (primary and copies)."""
    return set(session.scalars(select(PostboxItemRow.postbox).where(PostboxItemRow.document_id == document_id)))


def place(session: Session, document_id: str, postbox: str, copies: Iterable[str] = ()) -> None:
    """Put a routed document into ``postbox`` (primary) and ``copies``; a former primary elsewhere is removed.

    Idempotent: an item that is already where it belongs keeps its state (a document processed again and routed
    to the same postbox stays claimed by whoever claimed it).
    """
    now = utcnow()
    existing = {row.postbox: row for row in items_of(session, document_id)}
    for row in existing.values():
        if row.kind == ItemKind.PRIMARY.value and row.postbox != postbox:
            session.delete(row)
    primary = existing.get(postbox)
    if primary is None:
        session.add(PostboxItemRow(document_id=document_id, postbox=postbox, kind=ItemKind.PRIMARY.value,
                                   state=ItemState.NEW.value, placed_at=now))
    elif primary.kind != ItemKind.PRIMARY.value:  # a copy becomes the primary: the document now belongs here
        primary.kind = ItemKind.PRIMARY.value
    for box in sorted(set(copies) - {postbox}):
        if box not in existing:
            session.add(PostboxItemRow(document_id=document_id, postbox=box, kind=ItemKind.COPY.value,
                                       state=ItemState.NEW.value, placed_at=now))
    session.flush()


def add_copy(session: Session, document_id: str, postbox: str) -> PostboxItemRow | None:
    """Send a copy of a routed document to ``postbox``; ``None`` if that postbox already holds it."""
    if postbox in postboxes_of(session, document_id):
        return None
    row = PostboxItemRow(document_id=document_id, postbox=postbox, kind=ItemKind.COPY.value,
                         state=ItemState.NEW.value, placed_at=utcnow())
    session.add(row)
    session.flush()
    return row


def clear(session: Session, document_id: str) -> None:
    """Take a document out of every postbox (it went back to review, failed, or is processed again)."""
    session.execute(delete(PostboxItemRow).where(PostboxItemRow.document_id == document_id))
    session.flush()
