"""E-mail intake: read a mailbox over IMAP, turn each message into documents, file it away exactly once.

For every message in the mailbox's folder (oldest first):

1. It is fetched whole (``BODY.PEEK[]``: the server's \\Seen flag is left alone) unless it is larger than the
   limit, then only its headers are read and it is refused.
2. Parsed (:mod:`intake.email_message`); each attachment of a supported type becomes a document and the text of
   the mail becomes the cover document (:mod:`intake.cover`) that lists them — received like any upload
   (``pipeline.receive``: checked, stored, recorded; channel ``mail``, station ``mail:<mailbox>``). An attachment
   that intake refuses (a Word file, a broken PDF) is named on the cover with its code, the rest goes on.
3. The message is recorded (``mail_messages``, unique per mailbox and Message-ID) with its documents, the
   documents are handed to the workers, and only then the message is moved to the processed folder.
4. A message that cannot be taken (malformed MIME, too large, too many attachments, a hostile ZIP or XML, a
   refused sender) is recorded as refused with its code and moved to the refused folder, flagged
   ``$MailroomRefused``; the reason is in ``mailroom mail status`` and the log.

Exactly once: receiving is idempotent on (SHA-256, channel, station) and the cover PDF is written
deterministically, so a crash anywhere before the record is written repeats the same documents; a message found
again after its record was written (a crash before the move, or the same message delivered twice) is only moved.
A mailbox that cannot be reached, or refuses the login, is tried again at the next poll; its state is in
``mailbox_status`` (``/readyz``, ``/metrics``). Credentials never reach the log or the audit trail.
"""

from __future__ import annotations

import contextlib
import hashlib
import imaplib
import logging
import re
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email import policy
from email.parser import BytesHeaderParser

import httpx
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy import select

from intake.archives import ArchiveLimits
from intake.cover import cover_lines, write_cover_pdf
from intake.email_message import MailMessage, parse_message
from intake.filenames import safe_filename
from mailroom import audit
from mailroom.errors import InputError, MailboxUnavailable, MailroomError, MessageTooLarge, SenderRefused
from mailroom.storage import mail as mail_storage
from mailroom.storage import repository
from mailroom.storage.mail import MessageState
from mailroom.storage.models import DocumentState
from workers.dispatch import Dispatcher
from workers.mailboxes import Mailbox, OAuth2, read_secret
from workers.pipeline import PipelineContext, receive

log = logging.getLogger(__name__)

CHANNEL = "mail"
REFUSED_FLAG = b"$MailroomRefused"
FETCH_BATCH = 20
CONNECT_TIMEOUT_SECONDS = 60.0


@dataclass
class PollReport:
    """What one poll of one mailbox did."""

    mailbox: str
    filed: list[str] = field(default_factory=list)  # Message-IDs made into documents
    refused: list[tuple[str, str]] = field(default_factory=list)  # (Message-ID, code)
    moved_again: list[str] = field(default_factory=list)  # taken before, only moved now
    documents: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Taken:
    outcome: MessageState
    message_id: str
    documents: list[str] = field(default_factory=list)
    new: bool = True
    code: str | None = None


class TokenSource:
    """OAuth2 access tokens for XOAUTH2: from a file/variable, or fetched by the client-credentials flow."""

    def __init__(self, config: OAuth2) -> None:
        self.config = config
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        config = self.config
        if config.token_url is None:
            return read_secret(config.access_token_env, config.access_token_file, what="oauth2 access token")
        if self._token is None or time.monotonic() > self._expires - 60:
            secret = read_secret(config.client_secret_env, config.client_secret_file, what="oauth2 client secret")
            form = {"grant_type": "client_credentials", "client_id": config.client_id or "", "client_secret": secret}
            if config.scope:
                form["scope"] = config.scope
            try:
                answer = httpx.post(config.token_url, data=form, timeout=30.0)
                answer.raise_for_status()
                body = answer.json()
                self._token = str(body["access_token"])
                self._expires = time.monotonic() + float(body.get("expires_in", 3600))
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise MailboxUnavailable(f"no OAuth2 token from {config.token_url}: {type(exc).__name__}") from exc
        return self._token


class MailboxReader:
    """One configured mailbox: connect, take every waiting message, file it away."""

    def __init__(self, box: Mailbox, ctx: PipelineContext, dispatcher: Dispatcher) -> None:
        self.box = box
        self.ctx = ctx
        self.dispatcher = dispatcher
        self.tokens = TokenSource(box.oauth2) if box.oauth2 else None
        settings = ctx.settings
        self.limits = ArchiveLimits(
            max_members=settings.mail_max_attachments, max_total_bytes=settings.max_upload_bytes,
            max_member_bytes=settings.max_upload_bytes,
        )

    # --- the connection -----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def connected(self) -> Iterator[IMAPClient]:
        box = self.box
        context = ssl.create_default_context(cafile=str(box.ca_file) if box.ca_file else None)
        try:
            client = IMAPClient(box.host, port=box.port, ssl=box.security == "tls", ssl_context=context,
                                timeout=CONNECT_TIMEOUT_SECONDS)
            if box.security == "starttls":
                client.starttls(context)
            if self.tokens is not None:
                client.oauth2_login(box.username, self.tokens.token())
            else:
                client.login(box.username, box.password())
        except MailboxUnavailable as exc:  # no OAuth2 token
            self._status_failed(exc)
            raise
        except (TimeoutError, IMAPClientError, imaplib.IMAP4.error, OSError) as exc:
            failure = MailboxUnavailable(f"{box.name}: cannot log in to {box.host}:{box.port}: {_why(exc)}")
            self._status_failed(failure)
            raise failure from exc
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def poll(self, client: IMAPClient | None = None) -> PollReport:
        """Take every message waiting in the folder now, on ``client`` (else on a connection of its own); record
        how it went in the mailbox's status."""
        report = PollReport(self.box.name)
        try:
            if client is None:
                with self.connected() as own:
                    self._take_all(own, report)
            else:
                self._take_all(client, report)
        except MailboxUnavailable as exc:  # the login failed: recorded by connected()
            report.error = exc.code
            raise
        except (TimeoutError, IMAPClientError, imaplib.IMAP4.error, OSError) as exc:
            failure = MailboxUnavailable(f"{self.box.name}: the connection broke: {_why(exc)}")
            report.error = failure.code
            self._status_failed(failure)
            raise failure from exc
        with self.ctx.session() as session:
            mail_storage.poll_succeeded(session, self.box.name, filed=len(report.filed), refused=len(report.refused))
        return report

    def wait(self, client: IMAPClient, seconds: float, stop: threading.Event) -> None:
        """Until new mail may have arrived: IMAP IDLE where the server has it, else just ``seconds``."""
        if not (self.box.idle and b"IDLE" in client.capabilities()):
            stop.wait(seconds)
            return
        client.select_folder(self.box.folder)
        client.idle()
        try:
            deadline = time.monotonic() + seconds
            while not stop.is_set() and time.monotonic() < deadline:
                if client.idle_check(timeout=min(5.0, max(0.1, deadline - time.monotonic()))):
                    break
        finally:
            client.idle_done()

    def run(self, stop: threading.Event) -> None:
        """Poll and wait on one connection until ``stop`` (no new login per poll, no gap between a poll and the
        IDLE after it); a mailbox that fails is tried again after ``poll_seconds`` times the failures in a row
        (at most 5 minutes)."""
        failures = 0
        while not stop.is_set():
            try:
                with self.connected() as client:
                    while not stop.is_set():
                        report = self.poll(client)
                        failures = 0
                        if report.filed or report.refused:
                            log.info("%s: %d messages filed, %d refused", self.box.name, len(report.filed),
                                     len(report.refused))
                        self.wait(client, self.box.poll_seconds, stop)
            except MailroomError as exc:
                failures += 1
                log.error("%s: %s", self.box.name, exc.message, extra={"error_code": exc.code})
                stop.wait(min(self.box.poll_seconds * failures, 300.0))
            except (TimeoutError, IMAPClientError, imaplib.IMAP4.error, OSError) as exc:
                log.error("%s: the connection broke while waiting: %s", self.box.name, _why(exc))
                stop.wait(self.box.poll_seconds)

    # --- the messages -------------------------------------------------------------------------------------

    def _prepare(self, client: IMAPClient) -> None:
        for folder in (self.box.processed_folder, self.box.refused_folder):
            if not client.folder_exists(folder):
                client.create_folder(folder)
        client.select_folder(self.box.folder)

    def _take_all(self, client: IMAPClient, report: PollReport) -> None:
        self._prepare(client)
        uids = sorted(client.search(["NOT", "DELETED"]))
        for start in range(0, len(uids), FETCH_BATCH):
            batch = uids[start:start + FETCH_BATCH]
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            for uid in batch:
                size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
                taken = self._take_uid(client, uid, size)
                if taken is None:
                    continue
                self._move(client, uid, taken)
                self._moved(taken)
                if taken.outcome is MessageState.REFUSED:
                    report.refused.append((taken.message_id, taken.code or ""))
                elif taken.new:
                    report.filed.append(taken.message_id)
                    report.documents.extend(taken.documents)
                else:
                    report.moved_again.append(taken.message_id)

    def _take_uid(self, client: IMAPClient, uid: int, size: int) -> Taken | None:
        limit = self.ctx.settings.mail_max_message_bytes
        if size > limit:
            head = client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid, {}).get(b"BODY[HEADER]", b"")
            return self.take(head, too_large=size)
        raw = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {}).get(b"BODY[]")
        if raw is None:  # expunged by someone else meanwhile
            return None
        return self.take(raw)

    def take(self, raw: bytes, *, too_large: int | None = None) -> Taken:
        """Make documents of one message (or refuse it) and record it; nothing is moved here."""
        settings = self.ctx.settings
        header_id = _header_message_id(raw)
        known = self._known(header_id) if header_id else None
        if known is not None:
            return self._again(known)
        if too_large is not None:
            limit = settings.mail_max_message_bytes
            return self._refuse(raw, header_id, MessageTooLarge(f"The message has {too_large} bytes; at most {limit}."))
        try:
            message = parse_message(raw, max_bytes=settings.mail_max_message_bytes,
                                    max_attachments=settings.mail_max_attachments, archive_limits=self.limits)
            if not self.box.sender_allowed(message.sender):
                raise SenderRefused(f"{message.sender} may not send documents to the mailbox {self.box.name}.")
        except InputError as exc:
            return self._refuse(raw, header_id, exc)
        known = self._known(message.message_id)  # also a message without Message-ID, by its synthesized id
        if known is not None:
            return self._again(known)
        return self._file(message)

    def _file(self, message: MailMessage) -> Taken:
        received: list[tuple[str, str, str, bool]] = []  # (document id, role, file name, new)
        problems: list[str] = []
        with self.ctx.scratch() as scratch:
            for number, attachment in enumerate(message.attachments, start=1):
                folder = scratch / f"{number:03d}"  # one folder each: the document keeps the sender's file name
                folder.mkdir()
                path = folder / safe_filename(attachment.filename)
                path.write_bytes(attachment.data)
                try:
                    got = receive(path, self.ctx, channel=CHANNEL, station=self.box.station,
                                  actor=f"mail:{self.box.name}")
                except InputError as exc:
                    problems.append(f"{attachment.filename}: {exc.code}")
                    continue
                received.append((got.document_id, "attachment", attachment.filename, got.created))
            names = [name for _, _, name, _ in received]
            lines = cover_lines(replace(message, skipped=[*message.skipped, *problems]), self.box.name, names)
            cover_path = write_cover_pdf(lines, scratch / "e-mail.pdf")
            cover = receive(cover_path, self.ctx, channel=CHANNEL, station=self.box.station,
                            actor=f"mail:{self.box.name}")
        received.insert(0, (cover.document_id, "cover", "e-mail.pdf", cover.created))
        with self.ctx.session() as session:
            row = mail_storage.record_message(
                session, mailbox=self.box.name, message_id=message.message_id, sha256=message.sha256,
                sender=message.sender, subject=message.subject, sent_at=message.date, state=MessageState.FILED,
            )
            for document_id, role, name, _ in received:
                mail_storage.link_document(session, row, document_id, role=role, filename=name)
            audit.record(session, actor=f"mail:{self.box.name}", action="mail.filed", object_type="mail_message",
                         object_id=str(row.id), details={
                             "mailbox": self.box.name, "documents": [doc for doc, *_ in received],
                             "skipped": [*message.skipped, *problems],
                         })
        for document_id, _, _, new in received:
            if new or self._waiting(document_id):
                self.dispatcher.submit(document_id)
        log.info("%s: message filed as %d documents", self.box.name, len(received),
                 extra={"mailbox": self.box.name, "documents": [doc for doc, *_ in received]})
        return Taken(MessageState.FILED, message.message_id, [doc for doc, *_ in received])

    def _refuse(self, raw: bytes, header_id: str | None, exc: InputError) -> Taken:
        sha256 = hashlib.sha256(raw).hexdigest()
        message_id = header_id or f"<{sha256}@mailroom.invalid>"
        headers = _headers(raw)
        with self.ctx.session() as session:
            if mail_storage.find_message(session, self.box.name, message_id) is None:
                row = mail_storage.record_message(
                    session, mailbox=self.box.name, message_id=message_id, sha256=sha256,
                    sender=headers.get("from", ""), subject=headers.get("subject", ""), sent_at=None,
                    state=MessageState.REFUSED, error_code=exc.code, error_message=exc.message,
                )
                audit.record(session, actor=f"mail:{self.box.name}", action="mail.refused",
                             object_type="mail_message", object_id=str(row.id),
                             details={"mailbox": self.box.name, "code": exc.code})
        log.warning("%s: message refused: %s", self.box.name, exc, extra={"error_code": exc.code})
        return Taken(MessageState.REFUSED, message_id, code=exc.code)

    def _known(self, message_id: str) -> Taken | None:
        """The message as recorded before (its documents, state and code), or None."""
        with self.ctx.session() as session:
            row = mail_storage.find_message(session, self.box.name, message_id)
            if row is None:
                return None
            documents = list(session.scalars(select(mail_storage.MailMessageDocumentRow.document_id).where(
                mail_storage.MailMessageDocumentRow.message_row_id == row.id
            )))
            return Taken(MessageState(row.state), row.message_id, documents, new=False, code=row.error_code)

    def _again(self, known: Taken) -> Taken:
        """A message taken before: hand on what nobody started yet; it is only moved."""
        for document_id in known.documents:
            if self._waiting(document_id):
                self.dispatcher.submit(document_id)
        return known

    def _waiting(self, document_id: str) -> bool:
        with self.ctx.session() as session:
            row = repository.get_document(session, document_id)
            return row is not None and row.state == DocumentState.RECEIVED.value and row.attempts == 0

    def _move(self, client: IMAPClient, uid: int, taken: Taken) -> None:
        target = self.box.refused_folder if taken.outcome is MessageState.REFUSED else self.box.processed_folder
        if taken.outcome is MessageState.REFUSED:
            client.add_flags([uid], [REFUSED_FLAG])
        if b"MOVE" in client.capabilities():
            client.move([uid], target)
            return
        client.copy([uid], target)
        client.delete_messages([uid])
        if b"UIDPLUS" in client.capabilities():
            client.uid_expunge([uid])
        else:
            client.expunge()

    def _moved(self, taken: Taken) -> None:
        with self.ctx.session() as session:
            row = mail_storage.find_message(session, self.box.name, taken.message_id)
            if row is not None:
                mail_storage.mark_moved(session, row)

    def _status_failed(self, exc: MailroomError) -> None:
        with contextlib.suppress(MailroomError, OSError), self.ctx.session() as session:
            mail_storage.poll_failed(session, self.box.name, code=exc.code, message=exc.message)


def _headers(raw: bytes) -> dict[str, str]:
    try:
        parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(raw[:65536])
    except Exception:
        return {}
    return {key.lower(): re.sub(r"[\x00-\x1f\x7f]", " ", str(value))[:998] for key, value in parsed.items()}


def _header_message_id(raw: bytes) -> str | None:
    value = _headers(raw).get("message-id", "").strip()
    return value or None


def _why(exc: BaseException) -> str:
    """What went wrong, in one short line (the server's answer; IMAP servers never echo credentials back)."""
    text = str(exc).replace("\n", " ")[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
