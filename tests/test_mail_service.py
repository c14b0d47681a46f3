"""The e-mail intake inside the running service: `mailroom serve` with MAILROOM_MAILBOXES_FILE reads a real IMAP
server (private Dovecot), the documents appear in the API with their mail origin, /readyz and /metrics report the
mailbox, a killed reader is started again, and the command line refuses a bad mailbox file with a clear code."""

from __future__ import annotations

import json
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import httpx
from imapserver import imap_server, with_users
from servicekit import REPO, SAMPLES, Process, descendants, free_port, service_env, wait_for, wait_http
from sqlalchemy import select

from mailroom.settings import Settings
from mailroom.storage.db import make_engine, session_scope
from mailroom.storage.models import DocumentRow

XML_INVOICE = SAMPLES / "0002-invoice.xml"
CONTRACT = SAMPLES / "0011-contract.pdf"


def mail(subject: str, message_id: str, *attachments: tuple[str, bytes, str]) -> bytes:
    message = EmailMessage()
    message["From"] = "rechnungen@lieferant.example"
    message["To"] = "rechnung@musterstadt.de"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content("Sehr geehrte Damen und Herren,\nim Anhang unsere Unterlagen.\nMit freundlichen Grüßen")
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def mail_documents(data_dir: Path) -> dict[str, str]:
    engine = make_engine(Settings().model_copy(update={"data_dir": data_dir}))
    try:
        with session_scope(engine, readonly=True) as session:
            rows = session.execute(select(DocumentRow.filename, DocumentRow.state)
                                   .where(DocumentRow.source_channel == "mail")).all()
            return {name: state for name, state in rows}
    finally:
        engine.dispose()


def settled(data_dir: Path, names: set[str]) -> bool:
    found = mail_documents(data_dir)
    return set(found) >= names and all(found[name] in ("routed", "review") for name in names)


def test_serve_reads_the_mailboxes_and_heals_a_killed_reader(tmp_path: Path) -> None:
    with imap_server(with_users(1)) as server:
        user, password = server.next_user()
        config = tmp_path / "mailboxes.yaml"
        config.write_text(
            "mailboxes:\n"
            "  - name: rechnung\n"
            f"    host: 127.0.0.1\n    port: {server.port}\n    ca_file: {server.ca_file}\n"
            f"    username: {user}\n    password_env: RECHNUNG_IMAP_PASSWORD\n    poll_seconds: 2\n"
        )
        data_dir = tmp_path / "data"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = service_env(data_dir, MAILROOM_MAILBOXES_FILE=str(config), RECHNUNG_IMAP_PASSWORD=password)
        admin = subprocess.run([sys.executable, "-m", "cli", "keys", "create", "--role", "admin", "--name", "it"],
                               env=env, capture_output=True, text=True, check=True, cwd=REPO).stdout.strip()
        service = Process(["serve", "--port", str(port)], env, tmp_path / "serve.log").start()
        try:
            wait_http(base, timeout=120)
            server.deliver(user, mail("Rechnung R267915", "<first@lieferant.example>",
                                      ("R267915.xml", XML_INVOICE.read_bytes(), "application/xml")))
            wait_for(lambda: settled(data_dir, {"R267915.xml", "e-mail.pdf"}), 300, "the first mail's documents")

            headers = {"Authorization": f"Bearer {admin}"}
            listing = httpx.get(f"{base}/api/v1/documents", headers=headers, params={"limit": 50}, timeout=30).json()
            ids = [item["document_id"] for item in listing["documents"]]
            results = [httpx.get(f"{base}/api/v1/documents/{doc}", headers=headers, timeout=30).json() for doc in ids]
            invoice = next(r for r in results if r.get("filename") == "R267915.xml")
            origin = invoice["result"]["source"]["mail"]
            assert origin["sender"] == "rechnungen@lieferant.example"
            assert origin["message_id"] == "<first@lieferant.example>" and origin["role"] == "attachment"

            ready = httpx.get(f"{base}/readyz", timeout=30).json()
            assert ready.get("mailboxes", {}).get("rechnung", {}).get("ok") is True, ready
            metrics = httpx.get(f"{base}/metrics", timeout=30).text
            assert 'mailroom_mailbox_messages_filed_total{mailbox="rechnung"} 1.0' in metrics

            readers = [pid for pid in descendants(service.pid) if b"mail\x00run" in _cmdline(pid)]
            assert len(readers) == 1
            subprocess.run(["kill", "-9", str(readers[0])], check=True)
            server.deliver(user, mail("Vertrag", "<second@lieferant.example>",
                                      ("vertrag.pdf", CONTRACT.read_bytes(), "application/pdf")))
            wait_for(lambda: settled(data_dir, {"vertrag.pdf"}), 300, "the second mail after the reader was killed")
            assert server.messages(user, "INBOX") == []
            assert len(server.messages(user, "Verarbeitet")) == 2
        finally:
            service.stop()
        status = subprocess.run([sys.executable, "-m", "cli", "mail", "status", "--json"], env=env,
                                capture_output=True, text=True, check=True, cwd=REPO)
        [box] = [json.loads(line) for line in status.stdout.splitlines() if '"mailbox"' in line]
        assert box["mailbox"] == "rechnung" and box["messages_filed"] == 2 and box["consecutive_failures"] == 0


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_a_bad_mailbox_file_is_refused_with_a_clear_code(tmp_path: Path) -> None:
    config = tmp_path / "mailboxes.yaml"
    config.write_text("mailboxes:\n  - name: rechnung\n    host: imap.example.org\n    username: r@example.org\n"
                      "    password: Sommer2026!\n")
    env = service_env(tmp_path / "data", MAILROOM_MAILBOXES_FILE=str(config))
    done = subprocess.run([sys.executable, "-m", "cli", "mail", "check"], env=env, capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 1
    assert "mailboxes_config_invalid" in done.stderr and "mailboxes.0.password" in done.stderr
    assert "Traceback" not in done.stderr and "Sommer2026!" not in done.stderr + done.stdout
