"""Helpers of the API tests (no tests here): a real uvicorn server on 127.0.0.1, keys, polling."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from api.app import create_app
from mailroom.settings import Settings
from mailroom.storage import keys
from mailroom.storage.db import session_scope
from workers.dispatch import Dispatcher, InlineDispatcher
from workers.pipeline import PipelineContext

SAMPLES = Path(__file__).resolve().parent.parent / "sample_docs" / "committed"
SETTLED = {"routed", "review", "rescan", "failed", "split"}


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test data directory (no ``.env``, no inherited database URL or broker)."""
    return Settings(_env_file=None, data_dir=data_dir, database_url=None, broker_url=None, **overrides)


@dataclass
class ApiServer:
    base_url: str
    settings: Settings
    ctx: PipelineContext

    def key(self, role: str, name: str, **scope: Any) -> str:
        """Create an API key directly in the database; returns the token."""
        with session_scope(self.ctx.sessions) as session:
            return keys.create_key(session, name=name, role=role, **scope).token

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60, **kwargs)


@contextmanager
def serve(
    settings: Settings, *, dispatcher: Dispatcher | None = None, access_log: bool = False, port: int = 0
) -> Iterator[ApiServer]:
    """The app behind a real uvicorn server on a random (or the given) port of 127.0.0.1, in a thread.

    Documents are processed by an :class:`InlineDispatcher` (real pipeline, real Tesseract) unless a
    ``dispatcher`` is given.
    """
    ctx = PipelineContext.create(settings)
    inline = InlineDispatcher(ctx) if dispatcher is None else None
    app = create_app(settings, dispatcher=dispatcher or inline, pipeline=ctx)  # type: ignore[arg-type]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart on the port of a server just stopped
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="info" if access_log else "warning", access_log=access_log))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield ApiServer(base_url=f"http://127.0.0.1:{port}", settings=settings, ctx=ctx)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        if inline is not None:
            inline.shutdown(wait=True)
        ctx.sessions.kw["bind"].dispose()
        sock.close()


def upload(
    client: httpx.Client, name: str, data: bytes, content_type: str = "application/octet-stream"
) -> httpx.Response:
    return client.post("/api/v1/documents", files={"file": (name, data, content_type)})


def wait_settled(client: httpx.Client, document_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll the status until the pipeline is done with the document."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/v1/documents/{document_id}")
        assert status.status_code == 200, status.text
        body: dict[str, Any] = status.json()
        if body["state"] in SETTLED:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"document {document_id} still {body['state']} after {timeout} s")
        time.sleep(0.2)
