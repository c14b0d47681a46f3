"""E-mail intake against a real IMAP server (a private Dovecot over TLS on loopback, tests/imapserver.py).

Messages are delivered with IMAP APPEND as the town's mail server would; the reader (`workers.mail`) takes them
with the real pipeline behind it (Tesseract for the scan, the e-invoice reader for the XML) and files them into the
processed or refused folder. Faults are injected only where a real one cannot be timed: the reader process is
killed with SIGKILL at the exact step (between storing the documents and recording the message, and between
recording and moving).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapserver import ImapServer, imap_server, with_users
from sqlalchemy import select

from mailroom.settings import Settings
from mailroom.storage import mail as mail_storage
from mailroom.storage import repository
from mailroom.storage.models import DocumentRow
from workers.dispatch import InlineDispatcher
from workers.mail import REFUSED_FLAG, MailboxReader
from workers.mailboxes import Mailbox
from workers.pipeline import PipelineContext

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "sample_docs" / "committed"
XML_INVOICE = COMMITTED / "0002-invoice.xml"
SCANNED_LETTER = COMMITTED / "0004-objection.pdf"  # page images only: read by Tesseract
BORN_DIGITAL = COMMITTED / "0011-contract.pdf"
PROCESSED, REFUSED = "Verarbeitet", "Abgelehnt"


@pytest.fixture(scope="module")
def server() -> Iterator[ImapServer]:
    with imap_server(with_users(12)) as running:
        yield running


@pytest.fixture
def account(server: ImapServer, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    user, password = server.next_user()
    monkeypatch.setenv("TEST_MAILBOX_PASSWORD", password)
    return user, password


def mailbox(server: ImapServer, user: str, **extra: object) -> Mailbox:
    return Mailbox.model_validate({
        "name": "rechnung", "host": "127.0.0.1", "port": server.port, "ca_file": str(server.ca_file),
        "username": user, "password_env": "TEST_MAILBOX_PASSWORD", "processed_folder": PROCESSED,
        "refused_folder": REFUSED, **extra,
    })


@pytest.fixture
def ctx(tmp_path: Path) -> PipelineContext:
    return PipelineContext.create(Settings().model_copy(update={"data_dir": tmp_path / "data"}))


def message(subject: str, body: str, *attachments: tuple[str, bytes, str], sender: str = "buchhaltung@lieferant.de",
            message_id: str | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Buchhaltung Lieferant <{sender}>"
    mail["To"] = "rechnung@musterstadt.de"
    mail["Subject"] = subject
    mail["Date"] = "Mon, 07 Dec 2026 09:15:00 +0100"
    mail["Message-ID"] = message_id or f"<{abs(hash((subject, body, len(attachments))))}@lieferant.de>"
    mail.set_content(body)
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail.as_bytes()


def poll(ctx: PipelineContext, box: Mailbox) -> MailboxReader:
    dispatcher = InlineDispatcher(ctx)
    reader = MailboxReader(box, ctx, dispatcher)
    reader.last_report = reader.poll()  # type: ignore[attr-defined]
    dispatcher.shutdown(wait=True)
    return reader


def results(ctx: PipelineContext) -> dict[str, dict[str, object]]:
    """Every mail document's stored result, by file name."""
    with ctx.session() as session:
        rows = session.scalars(select(DocumentRow).where(DocumentRow.source_channel == "mail")).all()
        return {row.filename: {"state": row.state, **json.loads(row.result_json or "{}")} for row in rows}


def messages_in_db(ctx: PipelineContext) -> list[mail_storage.MailMessageRow]:
    with ctx.session() as session:
        rows = session.scalars(select(mail_storage.MailMessageRow)).all()
        session.expunge_all()
        return list(rows)


def test_an_xml_e_invoice_attachment_is_read_exactly(server: ImapServer, account: tuple[str, str],
                                                    ctx: PipelineContext) -> None:
    user, _ = account
    truth = json.loads(XML_INVOICE.with_name(XML_INVOICE.name + ".truth.json").read_text())["invoice"]
    server.deliver(user, message("Rechnung R267915", "Sehr geehrte Damen und Herren,\nanbei unsere Rechnung.",
                                 ("R267915.xml", XML_INVOICE.read_bytes(), "application/xml")))
    poll(ctx, mailbox(server, user))

    found = results(ctx)
    assert set(found) == {"R267915.xml", "e-mail.pdf"}
    invoice = found["R267915.xml"]
    assert invoice["state"] in ("routed", "review")
    fields = invoice["invoice"]
    for name in ("invoice_number", "issue_date", "iban", "seller_vat_id", "total_gross", "buyer_reference"):
        assert fields[name]["value"] == truth[name], name
        assert fields[name]["source"] == "e-invoice"
    mail = invoice["source"]["mail"]
    assert mail["sender"] == "buchhaltung@lieferant.de"
    assert mail["subject"] == "Rechnung R267915"
    assert mail["mailbox"] == "rechnung" and mail["role"] == "attachment"
    assert invoice["source"]["channel"] == "mail" and invoice["source"]["station"] == "mail:rechnung"
    cover = found["e-mail.pdf"]
    assert cover["source"]["mail"]["role"] == "cover"
    assert cover["source"]["mail"]["documents"][0] == cover["document_id"]
    assert invoice["document_id"] in cover["source"]["mail"]["documents"]
    assert server.messages(user, "INBOX") == []
    assert len(server.messages(user, PROCESSED)) == 1


def test_a_scanned_pdf_is_read_by_ocr_and_routed(server: ImapServer, account: tuple[str, str],
                                                ctx: PipelineContext) -> None:
    user, _ = account
    truth = json.loads(SCANNED_LETTER.with_name(SCANNED_LETTER.name + ".truth.json").read_text())
    server.deliver(user, message("Widerspruch", "Guten Tag,\nmein Widerspruch im Anhang.",
                                 ("widerspruch.pdf", SCANNED_LETTER.read_bytes(), "application/pdf"),
                                 sender="m.becker@example.org"))
    poll(ctx, mailbox(server, user))

    letter = results(ctx)["widerspruch.pdf"]
    assert letter["text_source"] == "ocr"
    assert letter["state"] == "routed", letter.get("routing")
    assert letter["routing"]["postbox"] == truth["postbox"]  # type: ignore[index]


def test_three_attachments_give_three_documents_and_the_cover(server: ImapServer, account: tuple[str, str],
                                                             ctx: PipelineContext) -> None:
    user, _ = account
    raw = message("Unterlagen", "Anbei drei Dokumente.",
                  ("rechnung.xml", XML_INVOICE.read_bytes(), "application/xml"),
                  ("vertrag.pdf", BORN_DIGITAL.read_bytes(), "application/pdf"),
                  ("beschwerde.png", (COMMITTED / "0008-complaint.png").read_bytes(), "image/png"))
    server.deliver(user, raw)
    poll(ctx, mailbox(server, user))

    found = results(ctx)
    assert set(found) == {"rechnung.xml", "vertrag.pdf", "beschwerde.png", "e-mail.pdf"}
    assert all(result["state"] in ("routed", "review") for result in found.values()), found
    documents = found["e-mail.pdf"]["source"]["mail"]["documents"]  # type: ignore[index]
    assert sorted(documents) == sorted(result["document_id"] for result in found.values())
    [record] = messages_in_db(ctx)
    assert record.state == "filed" and record.moved_at is not None


def test_a_malformed_message_goes_to_the_refused_folder(server: ImapServer, account: tuple[str, str],
                                                       ctx: PipelineContext) -> None:
    user, _ = account
    broken = (b'From: x@example.org\r\nSubject: kaputt\r\nMessage-ID: <broken@example.org>\r\nMIME-Version: 1.0\r\n'
              b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n--ABC\r\nContent-Type: application/pdf\r\n\r\n'
              b'%PDF-1.4 nothing\r\n--ABC--\r\n')
    server.deliver(user, broken)
    poll(ctx, mailbox(server, user))

    assert results(ctx) == {}
    [record] = messages_in_db(ctx)
    assert (record.state, record.error_code) == ("refused", "malformed_message")
    assert server.messages(user, "INBOX") == []
    assert len(server.messages(user, REFUSED)) == 1
    assert REFUSED_FLAG in server.flags(user, REFUSED)[0]


def test_a_zip_bomb_is_refused_and_a_good_zip_unpacked(server: ImapServer, account: tuple[str, str],
                                                      ctx: PipelineContext) -> None:
    user, _ = account
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("scan.pdf", b"%PDF-1.4\n" + b"\0" * 30_000_000)
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("unterlagen/vertrag.pdf", BORN_DIGITAL.read_bytes())
    server.deliver(user, message("Bombe", "x", ("scans.zip", bomb.getvalue(), "application/zip"),
                                 message_id="<bomb@example.org>"))
    server.deliver(user, message("Zip", "y", ("akten.zip", good.getvalue(), "application/zip"),
                                 message_id="<zip@example.org>"))
    poll(ctx, mailbox(server, user))

    by_id = {record.message_id: record for record in messages_in_db(ctx)}
    assert (by_id["<bomb@example.org>"].state, by_id["<bomb@example.org>"].error_code) == ("refused", "hostile_archive")
    assert by_id["<zip@example.org>"].state == "filed"
    assert "vertrag.pdf" in results(ctx)
    assert len(server.messages(user, REFUSED)) == 1 and len(server.messages(user, PROCESSED)) == 1


def test_the_same_message_twice_gives_one_set_of_documents(server: ImapServer, account: tuple[str, str],
                                                          ctx: PipelineContext) -> None:
    user, _ = account
    raw = message("Vertrag", "Bitte prüfen.", ("vertrag.pdf", BORN_DIGITAL.read_bytes(), "application/pdf"),
                  message_id="<twice@example.org>")
    server.deliver(user, raw)
    poll(ctx, mailbox(server, user))
    server.deliver(user, raw)  # delivered again (a resend, or a copy in a second folder moved back)
    reader = poll(ctx, mailbox(server, user))

    assert reader.last_report.moved_again == ["<twice@example.org>"]  # type: ignore[attr-defined]
    with ctx.session() as session:
        assert session.scalar(select(DocumentRow.id).where(DocumentRow.filename == "vertrag.pdf")) is not None
        count = len(session.scalars(select(DocumentRow).where(DocumentRow.source_channel == "mail")).all())
    assert count == 2  # the attachment and the cover, once
    assert len(server.messages(user, PROCESSED)) == 2 and server.messages(user, "INBOX") == []


def test_senders_on_the_deny_list_are_refused(server: ImapServer, account: tuple[str, str],
                                             ctx: PipelineContext) -> None:
    user, _ = account
    server.deliver(user, message("Werbung", "Kaufen!", ("flyer.pdf", BORN_DIGITAL.read_bytes(), "application/pdf"),
                                 sender="news@spam.example"))
    poll(ctx, mailbox(server, user, deny_senders=["*@spam.example"]))

    [record] = messages_in_db(ctx)
    assert (record.state, record.error_code) == ("refused", "sender_refused")
    assert results(ctx) == {}


def test_attachments_that_are_no_documents_are_named_on_the_cover(server: ImapServer, account: tuple[str, str],
                                                                 ctx: PipelineContext) -> None:
    user, _ = account
    docx = b"PK\x03\x04" + b"word/document.xml" + b"\0" * 100
    server.deliver(user, message(
        "Antrag", "Sehr geehrte Damen und Herren,\nim Anhang mein Antrag.",
        ("antrag.docx", docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("bescheid.pdf", b"%PDF-1.4 broken", "application/pdf"),
    ))
    poll(ctx, mailbox(server, user))

    found = results(ctx)
    assert set(found) == {"e-mail.pdf"}  # nothing else was a document
    with ctx.session() as session:
        row = repository.get_document(session, str(found["e-mail.pdf"]["document_id"]))
        assert row is not None
        cover_pdf = ctx.blobs.path(row.original_sha)
    text = subprocess.run(["pdftotext", str(cover_pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Nicht übernommen" in text
    assert "antrag.docx: unsupported_file_type" in text and "bescheid.pdf: " in text
    assert "im Anhang mein Antrag." in text and "Von: Buchhaltung Lieferant <buchhaltung@lieferant.de>" in text
    [record] = messages_in_db(ctx)
    assert record.state == "filed"


def test_a_wrong_password_is_reported_and_nothing_is_taken(
    server: ImapServer, account: tuple[str, str], ctx: PipelineContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password = account
    server.deliver(user, message("Post", "z", ("vertrag.pdf", BORN_DIGITAL.read_bytes(), "application/pdf")))
    monkeypatch.setenv("TEST_MAILBOX_PASSWORD", "falsch")
    with pytest.raises(Exception) as caught:
        poll(ctx, mailbox(server, user))
    assert getattr(caught.value, "code", None) == "mailbox_unavailable"
    assert "falsch" not in str(caught.value) and password not in str(caught.value)
    with ctx.session() as session:
        status = mail_storage.statuses(session)["rechnung"]
        assert status.consecutive_failures == 1 and status.last_error_code == "mailbox_unavailable"
    monkeypatch.setenv("TEST_MAILBOX_PASSWORD", password)
    poll(ctx, mailbox(server, user))  # healed with the right password: the message is taken
    with ctx.session() as session:
        assert mail_storage.statuses(session)["rechnung"].consecutive_failures == 0
    assert "vertrag.pdf" in results(ctx)


KILLER = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from mailroom.settings import Settings
from workers.dispatch import InlineDispatcher
from workers.mailboxes import load_mailboxes
from workers.pipeline import PipelineContext
import workers.mail as mail
from mailroom.storage import mail as mail_storage

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if {step!r} == "before_record":
    mail.mail_storage.record_message = die
else:
    mail.MailboxReader._move = die
ctx = PipelineContext.create(Settings())
[box] = load_mailboxes(Path({config!r}))
mail.MailboxReader(box, ctx, InlineDispatcher(ctx)).poll()
"""


@pytest.mark.parametrize("step", ["before_record", "before_move"])
def test_kill_9_of_the_reader_never_duplicates_a_message(server: ImapServer, account: tuple[str, str],
                                                         tmp_path: Path, step: str) -> None:
    user, _ = account
    config = tmp_path / "mailboxes.yaml"
    config.write_text(json.dumps({"mailboxes": [mailbox(server, user).model_dump(mode="json", exclude_none=True)]}))
    data_dir = tmp_path / "data"
    env = {**os.environ, "MAILROOM_DATA_DIR": str(data_dir), "MAILROOM_MAILBOXES_FILE": str(config)}
    server.deliver(user, message("Vertrag", "Bitte prüfen.",
                                 ("vertrag.pdf", BORN_DIGITAL.read_bytes(), "application/pdf"),
                                 ("rechnung.xml", XML_INVOICE.read_bytes(), "application/xml"),
                                 message_id=f"<kill-{step}@example.org>"))
    killed = subprocess.run([sys.executable, "-c", KILLER.format(tests=str(ROOT / "tests"), step=step,
                                                                 config=str(config))],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    assert len(server.messages(user, "INBOX")) == 1  # not moved

    again = subprocess.run([sys.executable, "-m", "cli", "mail", "poll", "--json"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    ctx = PipelineContext.create(Settings().model_copy(update={"data_dir": data_dir}))
    found = results(ctx)
    assert set(found) == {"vertrag.pdf", "rechnung.xml", "e-mail.pdf"}
    with ctx.session() as session:
        assert len(session.scalars(select(DocumentRow).where(DocumentRow.source_channel == "mail")).all()) == 3
    [record] = messages_in_db(ctx)
    assert record.state == "filed" and record.moved_at is not None
    assert server.messages(user, "INBOX") == [] and len(server.messages(user, PROCESSED)) == 1
    assert all(result["state"] in ("routed", "review") for result in found.values())
