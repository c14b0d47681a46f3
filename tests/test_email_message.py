"""The mail reader's parsing of one message (:func:`intake.email_message.parse_message`) without a mailbox: an
HTML-only body with an inline logo. The IMAP channel end to end is ``test_mail_channel.py``."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from intake import email_message
from intake.archives import ArchiveLimits
from intake.email_message import parse_message

LIMITS = ArchiveLimits(max_members=10, max_total_bytes=10_000_000, max_member_bytes=5_000_000)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PDF = b"%PDF-1.4\n% ein Bescheid\n"


def html_mail(shown: str = "logo@stadtwerke") -> bytes:
    """HTML only (no text/plain alternative), a logo (Content-ID ``logo@stadtwerke``), the picture ``shown``
    inline by ``cid:`` and a PDF attached."""
    mail = EmailMessage()
    mail["From"] = "Stadtwerke <post@stadtwerke.example>"
    mail["To"] = "rechnung@musterstadt.de"
    mail["Subject"] = "Ihre Rechnung"
    mail["Message-ID"] = "<html-logo@stadtwerke.example>"
    mail.set_content("<html><head><style>p {color: red}</style></head>"
                     f"<body><img src=\"cid:{shown}\">"
                     "<p>Sehr geehrte Damen und Herren,</p><p>anbei die Rechnung f&uuml;r M&auml;rz.</p>"
                     "<script>alert(1)</script></body></html>", subtype="html")
    mail.add_related(PNG, maintype="image", subtype="png", cid="<logo@stadtwerke>", filename="logo.png")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="rechnung-03.pdf")
    return mail.as_bytes()


def test_an_html_body_is_read_once_for_its_text_and_its_inline_pictures(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    text_of = email_message._text_of

    def counting(part: object) -> str:
        decoded.append(part.get_content_type())  # type: ignore[attr-defined]
        return text_of(part)  # type: ignore[arg-type]

    monkeypatch.setattr(email_message, "_text_of", counting)
    parsed = parse_message(html_mail(), max_bytes=1_000_000, max_attachments=10, archive_limits=LIMITS)

    assert parsed.body == "Sehr geehrte Damen und Herren,\n\nanbei die Rechnung für März."
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("rechnung-03.pdf", "application/pdf")]
    assert parsed.attachments[0].data == PDF  # the logo belongs to the body: no attachment, not skipped either
    assert parsed.skipped == []
    assert decoded == ["text/html"]  # the one HTML part, decoded once


def test_a_picture_the_body_does_not_show_is_an_attachment() -> None:
    raw = html_mail(shown="anderes-bild@stadtwerke")
    parsed = parse_message(raw, max_bytes=1_000_000, max_attachments=10, archive_limits=LIMITS)
    assert sorted(a.filename for a in parsed.attachments) == ["logo.png", "rechnung-03.pdf"]
