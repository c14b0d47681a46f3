"""XOAUTH2 logins (Microsoft 365 / Exchange Online style): mailroom fetches an access token by the
client-credentials flow from a token endpoint and logs in to a real Dovecot that checks the token at an
introspection endpoint (Dovecot's oauth2 passdb). Both endpoints are a small local HTTP server of the test."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from imapserver import ImapServer, imap_server, with_users
from sqlalchemy import select

from mailroom.settings import Settings
from mailroom.storage.models import DocumentRow
from workers.dispatch import InlineDispatcher
from workers.mail import MailboxReader
from workers.mailboxes import Mailbox
from workers.pipeline import PipelineContext

CONTRACT = Path(__file__).resolve().parent.parent / "sample_docs" / "committed" / "0011-contract.pdf"
CLIENT_ID, CLIENT_SECRET = "mailroom-app", "s3cr3t-client"


class IdentityProvider:
    """Token endpoint (client credentials) and introspection endpoint of a minimal OAuth2 server."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.tokens: set[str] = set()
        self.token_requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = {key: values[0] for key, values in parse_qs(body).items()}
                if self.path == "/token":
                    provider.token_requests += 1
                    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                        return self._answer(401, {"error": "invalid_client"})
                    token = secrets.token_urlsafe(24)
                    provider.tokens.add(token)
                    return self._answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
                if self.path == "/introspect":
                    active = form.get("token") in provider.tokens
                    answer = {"active": True, "username": provider.user} if active else {"active": False}
                    return self._answer(200, answer)
                return self._answer(404, {})

            def _answer(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"

    def __enter__(self) -> IdentityProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def provider_and_server() -> Iterator[tuple[IdentityProvider, ImapServer]]:
    users = with_users(1)
    [user] = users
    with IdentityProvider(user) as provider, imap_server(users, oauth2_url=f"{provider.url}/introspect") as server:
        yield provider, server


def test_xoauth2_login_with_a_client_credentials_token(provider_and_server: tuple[IdentityProvider, ImapServer],
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider, server = provider_and_server
    user = provider.user
    mail = EmailMessage()
    mail["From"] = "lieferant@example.org"
    mail["Subject"] = "Vertrag"
    mail["Message-ID"] = "<oauth@example.org>"
    mail.set_content("Anbei der Vertrag.")
    mail.add_attachment(CONTRACT.read_bytes(), maintype="application", subtype="pdf", filename="vertrag.pdf")
    server.deliver(user, mail.as_bytes())
    box = Mailbox.model_validate({
        "name": "m365", "host": "127.0.0.1", "port": server.port, "ca_file": str(server.ca_file),
        "username": user, "oauth2": {
            "token_url": f"{provider.url}/token", "client_id": CLIENT_ID, "client_secret_env": "TEST_CLIENT_SECRET",
            "scope": "https://outlook.office365.com/.default",
        },
    })
    ctx = PipelineContext.create(Settings().model_copy(update={"data_dir": tmp_path / "data"}))

    monkeypatch.setenv("TEST_CLIENT_SECRET", "wrong")
    with pytest.raises(Exception) as refused:
        MailboxReader(box, ctx, InlineDispatcher(ctx)).poll()
    assert getattr(refused.value, "code", None) == "mailbox_unavailable"
    assert "wrong" not in str(refused.value)

    monkeypatch.setenv("TEST_CLIENT_SECRET", CLIENT_SECRET)
    dispatcher = InlineDispatcher(ctx)
    report = MailboxReader(box, ctx, dispatcher).poll()
    dispatcher.shutdown(wait=True)
    assert report.filed == ["<oauth@example.org>"]
    assert provider.token_requests == 2
    with ctx.session() as session:
        names = set(session.scalars(select(DocumentRow.filename).where(DocumentRow.source_channel == "mail")))
    assert names == {"vertrag.pdf", "e-mail.pdf"}
    assert server.messages(user, "INBOX") == []
