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

The work on an item (:func:`claim`, :func:`release`, :func:`acknowledge`) is decided on the row read with
``FOR UPDATE`` in the caller's writing transaction (SQLite serialises writers anyway), so two clerks claiming the
same letter at once cannot both win: the second gets :class:`AlreadyClaimed` naming the first. Claims belong to the
key's *name* (one active key per name): a rotated key keeps its claims. Listings (:func:`page_of`) are keyset
paginated, oldest first, on ``(placed_at, id)``: items placed while a client pages through appear at the end, none
is skipped or repeated.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailroom.errors import AlreadyClaimed, AlreadyDone, InvalidCursor
from mailroom.storage.models import Base, DocumentRow, utcnow


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
    placed_by: Mapped[str | None] = mapped_column(
        String(255), doc="who sent a copy on (NULL: placed by routing)"
    )
    note: Mapped[str | None] = mapped_column(Text, doc="why a copy was sent on, for the clerk who receives it")

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


def add_copy(
    session: Session, document_id: str, postbox: str, *, placed_by: str | None = None, note: str | None = None
) -> PostboxItemRow | None:
    """Send a copy of a routed document to ``postbox``; ``None`` if that postbox already holds it."""
    if postbox in postboxes_of(session, document_id):
        return None
    row = PostboxItemRow(document_id=document_id, postbox=postbox, kind=ItemKind.COPY.value,
                         state=ItemState.NEW.value, placed_at=utcnow(), placed_by=placed_by, note=note)
    session.add(row)
    session.flush()
    return row


def clear(session: Session, document_id: str) -> None:
    """Take a document out of every postbox (it went back to review, failed, or is processed again)."""
    session.execute(delete(PostboxItemRow).where(PostboxItemRow.document_id == document_id))
    session.flush()


# --- errors -------------------------------------------------------------------------------------------------


# --- reading --------------------------------------------------------------------------------------------


def get_item(session: Session, postbox: str, document_id: str, *, for_update: bool = False) -> PostboxItemRow | None:
    """The item of ``document_id`` in ``postbox`` (``None``: the postbox does not hold it).

    ``for_update`` locks the row until the caller's transaction ends (PostgreSQL; SQLite writers are serialised).
    """
    query = select(PostboxItemRow).where(PostboxItemRow.postbox == postbox, PostboxItemRow.document_id == document_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def has_items(session: Session, postbox: str) -> bool:
    """Whether ``postbox`` holds any document (a postbox no longer in the directory may still hold some)."""
    return session.scalar(select(PostboxItemRow.id).where(PostboxItemRow.postbox == postbox).limit(1)) is not None


def postboxes_in_use(session: Session) -> set[str]:
    """Every postbox that holds at least one document."""
    return set(session.scalars(select(PostboxItemRow.postbox).distinct()))


def state_counts(session: Session, postboxes: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per postbox the number of items in each state (every state present, zeros included)."""
    boxes = sorted(set(postboxes))
    counts = {box: {state.value: 0 for state in ItemState} for box in boxes}
    if not boxes:
        return counts
    rows = session.execute(
        select(PostboxItemRow.postbox, PostboxItemRow.state, func.count())
        .where(PostboxItemRow.postbox.in_(boxes))
        .group_by(PostboxItemRow.postbox, PostboxItemRow.state)
    )
    for box, state, count in rows:
        counts[box][state] = int(count)
    return counts


#: How a stored result marks something confidential (compact JSON as mailroom writes it, or spaced).
_CONFIDENTIAL_MARKERS = ('"confidential":true', '"confidential": true')


def confidential_candidates(session: Session, postboxes: Iterable[str]) -> list[tuple[str, str, DocumentRow]]:
    """``(postbox, state, document)`` of the items whose document's result marks something confidential.

    A cheap pre-filter in SQL (the stored result is JSON text: ``"confidential":true``) for the few documents
    whose visibility the caller must check one by one; every other document of a postbox is visible to its keys.
    """
    boxes = sorted(set(postboxes))
    if not boxes:
        return []
    rows = session.execute(
        select(PostboxItemRow.postbox, PostboxItemRow.state, DocumentRow)
        .join(DocumentRow, DocumentRow.id == PostboxItemRow.document_id)
        .where(PostboxItemRow.postbox.in_(boxes), or_(*(DocumentRow.result_json.contains(marker)
                                                        for marker in _CONFIDENTIAL_MARKERS)))
    )
    return [(box, state, doc) for box, state, doc in rows]


@dataclass(frozen=True)
class Cursor:
    """Where a listing page ended: the ``(placed_at, id)`` of its last item. Opaque to clients."""

    placed_at: datetime
    item_id: int

    @classmethod
    def after(cls, item: PostboxItemRow) -> Cursor:
        return cls(item.placed_at, item.id)

    def encode(self) -> str:
        raw = json.dumps([self.placed_at.astimezone(UTC).isoformat(), self.item_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            placed_at_text, item_id = json.loads(raw)
            placed_at = datetime.fromisoformat(placed_at_text)
            if placed_at.tzinfo is None or not isinstance(item_id, int) or isinstance(item_id, bool):
                raise ValueError("bad cursor")
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidCursor("not a cursor of this listing: pass next_cursor as it was returned",
                                field="cursor") from exc
        return cls(placed_at, item_id)


def page_of(
    session: Session, postbox: str, *, state: ItemState | None = None, after: Cursor | None = None, limit: int = 100
) -> list[tuple[PostboxItemRow, DocumentRow]]:
    """Up to ``limit`` items of ``postbox`` (optionally in ``state``) with their documents, oldest first, after
    ``after``."""
    query = (
        select(PostboxItemRow, DocumentRow)
        .join(DocumentRow, DocumentRow.id == PostboxItemRow.document_id)
        .where(PostboxItemRow.postbox == postbox)
    )
    if state is not None:
        query = query.where(PostboxItemRow.state == state.value)
    if after is not None:
        query = query.where(or_(
            PostboxItemRow.placed_at > after.placed_at,
            and_(PostboxItemRow.placed_at == after.placed_at, PostboxItemRow.id > after.item_id),
        ))
    query = query.order_by(PostboxItemRow.placed_at, PostboxItemRow.id).limit(limit)
    return [(item, doc) for item, doc in session.execute(query)]


# --- working on an item ---------------------------------------------------------------------------------


def _already_claimed(item: PostboxItemRow) -> AlreadyClaimed:
    claimed_at = item.claimed_at.isoformat() if item.claimed_at else None
    return AlreadyClaimed(
        f"document {item.document_id} in postbox {item.postbox} is claimed by {item.claimed_by}",
        claimed_by=item.claimed_by, claimed_at=claimed_at,
    )


def _already_done(item: PostboxItemRow) -> AlreadyDone:
    done_at = item.done_at.isoformat() if item.done_at else None
    return AlreadyDone(
        f"document {item.document_id} in postbox {item.postbox} was acknowledged by {item.done_by}",
        done_by=item.done_by, done_at=done_at,
    )


def claim(session: Session, item: PostboxItemRow, who: str) -> bool:
    """``who`` takes the item (``new`` → ``claimed``); returns False when ``who`` holds it already (idempotent).

    Raises :class:`AlreadyClaimed` when someone else holds it and :class:`AlreadyDone` when it is done.
    """
    if item.state == ItemState.CLAIMED.value:
        if item.claimed_by == who:
            return False
        raise _already_claimed(item)
    if item.state == ItemState.DONE.value:
        raise _already_done(item)
    item.state, item.claimed_by, item.claimed_at = ItemState.CLAIMED.value, who, utcnow()
    session.flush()
    return True


def release(session: Session, item: PostboxItemRow, who: str, *, override: bool = False) -> bool:
    """Give a claimed item back (``claimed`` → ``new``); returns False when it was not claimed (idempotent).

    Only the holder may release it, or anyone with ``override`` (an admin); others get :class:`AlreadyClaimed`.
    """
    if item.state == ItemState.NEW.value:
        return False
    if item.state == ItemState.DONE.value:
        raise _already_done(item)
    if item.claimed_by != who and not override:
        raise _already_claimed(item)
    item.state, item.claimed_by, item.claimed_at = ItemState.NEW.value, None, None
    session.flush()
    return True


def acknowledge(session: Session, item: PostboxItemRow, who: str, *, override: bool = False) -> bool:
    """Mark the item done (filed, answered); returns False when ``who`` acknowledged it already (a retry changes
    nothing); :class:`AlreadyDone` (409) when someone else did.

    A ``new`` item may be acknowledged straight away (a DMS that imports what it is told about); a ``claimed`` one
    only by its holder, or with ``override`` (an admin); others get :class:`AlreadyClaimed`.
    """
    if item.state == ItemState.DONE.value:
        if item.done_by == who:
            return False
        raise _already_done(item)
    if item.state == ItemState.CLAIMED.value and item.claimed_by != who and not override:
        raise _already_claimed(item)
    item.state, item.done_by, item.done_at = ItemState.DONE.value, who, utcnow()
    session.flush()
    return True
