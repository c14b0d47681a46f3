"""An e-mail as an intake: its sender, subject, date and Message-ID, its readable body and its attachments.

Parsed with Python's ``email`` package (``policy.default``) from the raw RFC 5322 bytes, within limits: the
message's size (``MessageTooLarge``) and its number of attachments (``TooManyAttachments``). A message whose
MIME structure is broken (a multipart without its boundary, undecodable headers, no sender) is
``MalformedMessage``: it goes to the refused folder rather than being half read.

The body is reduced to plain text: ``text/plain`` where the sender gave it, else ``text/html`` rendered to text
by a parser that keeps only the text (no scripts, styles, images or links are ever loaded or followed). Images
that the HTML body shows inline (``Content-ID`` referenced as ``cid:``) belong to the body, not attachments.
ZIP attachments are unpacked by :mod:`intake.archives` with its limits.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import errors as email_errors
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from intake.archives import ArchiveLimits, unpack_zip
from intake.filenames import safe_filename
from mailroom.errors import MalformedMessage, MessageTooLarge, TooManyAttachments

#: Structural defects after which the parts of a message cannot be trusted.
_FATAL_DEFECTS = (
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
)
MAX_BODY_CHARS = 200_000
MAX_PARTS = 500


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    from_archive: str | None = None  # the ZIP it was unpacked from


@dataclass(frozen=True)
class MailMessage:
    """What mailroom takes from one e-mail."""

    message_id: str
    sha256: str
    sender: str  # the address only, lower-cased ("" when missing)
    sender_name: str
    subject: str
    date: datetime | None
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # attachments that are no documents, with the reason

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]


def parse_message(raw: bytes, *, max_bytes: int, max_attachments: int, archive_limits: ArchiveLimits) -> MailMessage:
    """Parse one raw e-mail; raise ``MessageTooLarge``, ``MalformedMessage``, ``TooManyAttachments`` or an archive's
    ``HostileArchive`` for a message that cannot be taken as it is."""
    if len(raw) > max_bytes:
        raise MessageTooLarge(f"The message has {len(raw)} bytes; at most {max_bytes} are accepted.")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        parts = list(message.walk())
        _check_structure(message, parts)
        sender_name, sender = _sender(message)
        subject = _clean(str(message.get("subject", "") or ""))
        date = _date(message)
        message_id = _clean(str(message.get("message-id", "") or "")).strip()
    except MalformedMessage:
        raise
    except (ValueError, TypeError, LookupError, IndexError, AttributeError, email_errors.MessageError) as exc:
        problem = type(exc).__name__
        raise MalformedMessage(f"The message's headers or MIME structure cannot be read ({problem}).") from exc
    sha256 = hashlib.sha256(raw).hexdigest()
    body = _read_body(message)
    attachments, skipped = _attachments(message, archive_limits, body.cid_references)
    if len(attachments) > max_attachments:
        raise TooManyAttachments(
            f"The message has {len(attachments)} documents attached; at most {max_attachments} are accepted."
        )
    return MailMessage(
        message_id=message_id or f"<{sha256}@mailroom.invalid>", sha256=sha256, sender=sender, sender_name=sender_name,
        subject=subject, date=date, body=body.text, attachments=attachments, skipped=skipped,
    )


def _check_structure(message: EmailMessage, parts: Sequence[Message]) -> None:
    if len(parts) > MAX_PARTS:
        raise MalformedMessage(f"The message has more than {MAX_PARTS} MIME parts.")
    for part in parts:
        for defect in part.defects:
            if isinstance(defect, _FATAL_DEFECTS):
                raise MalformedMessage(f"The message's MIME structure is broken: {type(defect).__name__}.")
    if not message.get("from"):
        raise MalformedMessage("The message has no sender (From header).")


def _sender(message: EmailMessage) -> tuple[str, str]:
    addresses = getaddresses([str(message.get("from", ""))])
    name, address = addresses[0] if addresses else ("", "")
    address = address.strip().lower()
    if "@" not in address:
        raise MalformedMessage("The message's sender (From header) is not an e-mail address.")
    return _clean(name), address


def _date(message: EmailMessage) -> datetime | None:
    value = message.get("date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None


def _clean(text: str) -> str:
    """Header text without control characters, at most 998 characters (the RFC's line limit)."""
    return re.sub(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]", " ", text).strip()[:998]


def _is_attachment(part: Message) -> bool:
    if part.is_multipart() or part.get_content_maintype() == "message":
        return False
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    if part.get_filename():
        return True
    return part.get_content_maintype() not in ("text", "multipart")


def _attachments(message: EmailMessage, limits: ArchiveLimits,
                 referenced: set[str]) -> tuple[list[Attachment], list[str]]:
    """The documents attached (ZIPs unpacked) and the parts skipped; pictures of the HTML body (``referenced``
    Content-IDs) are neither."""
    found: list[Attachment] = []
    skipped: list[str] = []
    for number, part in enumerate(message.walk(), start=1):
        if not _is_attachment(part):
            continue
        content_id = str(part.get("content-id", "") or "").strip("<> ")
        if content_id and content_id in referenced:
            continue  # a picture of the HTML body (a logo): part of the body
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            raise MalformedMessage(f"Attachment {number} cannot be decoded.")
        name = safe_filename(_clean(part.get_filename() or ""), default=f"anhang-{number}")
        content_type = part.get_content_type()
        if _is_zip(name, content_type, data):
            for member_name, member in unpack_zip(data, limits, archive_name=name):
                found.append(Attachment(member_name, "application/octet-stream", member, from_archive=name))
            continue
        if not data:
            skipped.append(f"{name}: leer")
            continue
        found.append(Attachment(name, content_type, data))
    return found, skipped


def _is_zip(name: str, content_type: str, data: bytes) -> bool:
    """A ZIP archive to unpack: by its name, or its type when the name has no extension. Office files are ZIPs too
    (.docx, .odt): they stay what they are and are named on the cover as no document."""
    if not data.startswith(b"PK"):
        return False
    suffix = name.lower().rpartition(".")[2] if "." in name else ""
    return suffix == "zip" or (not suffix and content_type in ("application/zip", "application/x-zip-compressed"))


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return str(content)[:MAX_BODY_CHARS * 5]


@dataclass(frozen=True)
class _Body:
    """The message's text parts, each decoded once: the first ``text/plain`` and ``text/html`` part, and the
    Content-IDs that any HTML part shows inline (``cid:``)."""

    plain: str | None
    html: str | None
    cid_references: set[str]

    @property
    def text(self) -> str:
        """The readable body: the plain text where the sender gave one, else the HTML's text."""
        if self.plain is not None and self.plain.strip():
            text = self.plain
        elif self.html is not None:
            text = html_to_text(self.html)
        else:
            text = ""
        text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text.replace("\r\n", "\n"))
        return re.sub(r"\n{3,}", "\n\n", text).strip()[:MAX_BODY_CHARS]


def _read_body(message: EmailMessage) -> _Body:
    plain = html_part = None
    references: set[str] = set()
    for part in message.walk():
        if _is_attachment(part) or part.get_content_maintype() != "text":
            continue
        if part.get_content_type() == "text/plain" and plain is None:
            plain = _text_of(part)
        elif part.get_content_type() == "text/html":
            markup = _text_of(part)
            references.update(m.strip() for m in re.findall(r"cid:([^\"'\s>)]+)", markup))
            if html_part is None:
                html_part = markup
    return _Body(plain, html_part, references)


class _TextOnly(HTMLParser):
    """Keeps the text of an HTML body; nothing is ever fetched (no images, styles, scripts or links)."""

    _BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"})
    _DROP = frozenset({"script", "style", "head", "title", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._DROP:
            self._dropping += 1
        elif tag in self._BLOCKS:
            self.out.append("\n")
        elif tag == "td":
            self.out.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._DROP:
            self._dropping = max(0, self._dropping - 1)
        elif tag in self._BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body."""
    parser = _TextOnly()
    parser.feed(markup[: MAX_BODY_CHARS * 5])
    parser.close()
    text = html.unescape("".join(parser.out))
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(lines)
