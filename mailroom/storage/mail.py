"""E-mail intake records: each message taken from a mailbox, the documents it became, each mailbox's health.

A message is recorded (``mail_messages``, unique per mailbox and Message-ID) in the transaction that stores its
documents, *before* it is moved out of the mailbox's folder. When the poller finds a message again (it crashed
between storing and moving, or the same message was delivered twice) the record says it was taken: it is only
moved, never made into documents a second time. ``mail_message_documents`` links the message to its cover and
attachment documents (the result's ``source.mail``); ``mailbox_status`` keeps the last poll of each mailbox for
``/readyz``, ``/metrics`` and ``mailroom mail status``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from mailroom.storage.models import Base, utcnow


class MessageState(StrEnum):
    FILED = "filed"  # its documents are stored; moved (or about to be moved) to the processed folder
    REFUSED = "refused"  # not taken (with the reason); moved (or about to be moved) to the refused folder


class MailMessageRow(Base):
    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(128))
    message_key: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the Message-ID")
    message_id: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True, doc="SHA-256 of the raw message")
    state: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    moved_at: Mapped[datetime | None] = mapped_column()
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("mailbox", "message_key"),
        CheckConstraint(f"state IN ('{MessageState.FILED}', '{MessageState.REFUSED}')", name="state"),
    )


class MailMessageDocumentRow(Base):
    __tablename__ = "mail_message_documents"

    message_row_id: Mapped[int] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), doc="'cover' or 'attachment'")
    filename: Mapped[str] = mapped_column(String(255))


class MailboxStatusRow(Base):
    __tablename__ = "mailbox_status"

    mailbox: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_poll_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_error_at: Mapped[datetime | None] = mapped_column()
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    messages_filed: Mapped[int] = mapped_column(Integer, default=0)
    messages_refused: Mapped[int] = mapped_column(Integer, default=0)


def message_key(message_id: str) -> str:
    return hashlib.sha256(message_id.strip().encode("utf-8", errors="replace")).hexdigest()


def find_message(session: Session, mailbox: str, message_id: str) -> MailMessageRow | None:
    return session.scalar(select(MailMessageRow).where(
        MailMessageRow.mailbox == mailbox, MailMessageRow.message_key == message_key(message_id)
    ))


def record_message(
    session: Session, *, mailbox: str, message_id: str, sha256: str, sender: str, subject: str,
    sent_at: datetime | None, state: MessageState, error_code: str | None = None, error_message: str | None = None,
) -> MailMessageRow:
    row = MailMessageRow(
        mailbox=mailbox, message_key=message_key(message_id), message_id=message_id, sha256=sha256,
        state=state.value, sender=sender[:320], subject=subject, sent_at=sent_at, error_code=error_code,
        error_message=error_message,
    )
    session.add(row)
    session.flush()
    return row


def link_document(session: Session, row: MailMessageRow, document_id: str, *, role: str, filename: str) -> None:
    exists = session.get(MailMessageDocumentRow, (row.id, document_id))
    if exists is None:
        session.add(MailMessageDocumentRow(message_row_id=row.id, document_id=document_id, role=role,
                                           filename=filename[:255]))


def mark_moved(session: Session, row: MailMessageRow) -> None:
    row.moved_at = utcnow()


@dataclass(frozen=True)
class MailOrigin:
    """Where a document came from when it came by mail (the result's ``source.mail``)."""

    mailbox: str
    message_id: str
    sender: str
    subject: str
    sent_at: datetime | None
    role: str
    documents: list[str]  # every document of the message (cover first)


def origin_of(session: Session, document_id: str) -> MailOrigin | None:
    link = session.scalar(select(MailMessageDocumentRow).where(MailMessageDocumentRow.document_id == document_id))
    if link is None:
        return None
    message = session.get(MailMessageRow, link.message_row_id)
    if message is None:
        return None
    siblings = session.execute(
        select(MailMessageDocumentRow.document_id, MailMessageDocumentRow.role)
        .where(MailMessageDocumentRow.message_row_id == message.id)
    ).all()
    ordered = [doc for doc, role in siblings if role == "cover"] + [doc for doc, role in siblings if role != "cover"]
    return MailOrigin(
        mailbox=message.mailbox, message_id=message.message_id, sender=message.sender, subject=message.subject,
        sent_at=message.sent_at, role=link.role, documents=ordered,
    )


def poll_succeeded(session: Session, mailbox: str, *, filed: int, refused: int) -> None:
    status = _status(session, mailbox)
    now = utcnow()
    status.last_poll_at = status.last_success_at = now
    status.consecutive_failures = 0
    status.messages_filed = (status.messages_filed or 0) + filed
    status.messages_refused = (status.messages_refused or 0) + refused


def poll_failed(session: Session, mailbox: str, *, code: str, message: str) -> None:
    status = _status(session, mailbox)
    status.last_poll_at = status.last_error_at = utcnow()
    status.last_error_code = code
    status.last_error_message = message[:2000]
    status.consecutive_failures = (status.consecutive_failures or 0) + 1


def _status(session: Session, mailbox: str) -> MailboxStatusRow:
    status = session.get(MailboxStatusRow, mailbox)
    if status is None:
        status = MailboxStatusRow(mailbox=mailbox, consecutive_failures=0, messages_filed=0, messages_refused=0)
        session.add(status)
    return status


def statuses(session: Session) -> dict[str, MailboxStatusRow]:
    return {row.mailbox: row for row in session.scalars(select(MailboxStatusRow))}


def forget(session: Session, *, refused_before: datetime) -> int:
    """Retention: drop the records of messages whose documents are all deleted, and of refused messages older than
    ``refused_before`` (sender and subject are personal data). Returns how many were dropped."""
    linked = select(MailMessageDocumentRow.message_row_id)
    orphaned = delete(MailMessageRow).where(
        MailMessageRow.state == MessageState.FILED.value, MailMessageRow.id.not_in(linked),
        MailMessageRow.moved_at.is_not(None),
    )
    old_refused = delete(MailMessageRow).where(
        MailMessageRow.state == MessageState.REFUSED.value, MailMessageRow.received_at < refused_before
    )
    return int(session.execute(orphaned).rowcount or 0) + int(session.execute(old_refused).rowcount or 0)  # type: ignore[attr-defined]
