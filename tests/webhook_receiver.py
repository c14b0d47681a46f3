"""A real webhook receiver for the delivery tests (no tests here): a ``ThreadingHTTPServer`` on 127.0.0.1.

It behaves as ``docs/dms-integration.md`` tells a DMS to: it verifies the signature over the raw body with the
documented algorithm (implemented here independently of ``webhooks.sender``), deduplicates by event id (a
redelivered id is acknowledged with 200 and not processed again) and records what it processed, in order.

Faults are scripted per request: ``script`` is consumed one step per request (then ``always``, default 200):
``"close"`` (the connection is closed without an answer), ``"slow"`` (answers 200 after ``slow_s``: longer than
the sender's timeout, so the sender retries although the event was processed), ``"429"`` (with
``Retry-After: <retry_after>``), any other status code. A receiver made with ``listening=False`` has its port
bound but refuses connections until :meth:`start`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def documented_signature_ok(secret: str, body: bytes, header: str, tolerance_s: float = 300) -> bool:
    """``Mailroom-Signature: t=<unix>,v1=<hex HMAC-SHA256 of f"{t}.".encode() + body>``, as documented."""
    fields = [part.strip().partition("=") for part in header.split(",")]
    t = next((value for name, _, value in fields if name == "t"), "")
    if not t.isdigit() or abs(time.time() - int(t)) > tolerance_s:
        return False
    expected = hmac.new(secret.encode("utf-8"), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, value) for name, _, value in fields if name == "v1")


@dataclass(frozen=True)
class Receipt:
    """One request as it arrived."""

    at: float  # time.time() on arrival
    event_id: str
    idempotency_key: str
    body: bytes
    signature_ok: bool
    step: str


@dataclass(frozen=True)
class Processed:
    """One event processed (once per event id)."""

    at: float
    event_id: str
    type: str
    document_id: str | None
    occurred_at: str
    event: dict[str, Any]

    @property
    def withheld(self) -> bool:
        """A stub about a confidential letter this subscription may not open ("not for your key"), as opposed to
        an event with content (whose document may later answer 404 because it was re-routed away: "withdrawn")."""
        return self.event.get("withheld") == "confidential"


class WebhookReceiver:
    def __init__(
        self,
        secret: str = "",
        script: list[str] | None = None,
        *,
        listening: bool = True,
        slow_s: float = 1.0,
        retry_after: str = "1",
        delay_s: float = 0.0,
    ) -> None:
        self.secret = secret
        self.script = list(script or [])
        self.always = "200"
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.delay_s = delay_s  # every answer takes at least this long (a slow DMS)
        self.receipts: list[Receipt] = []
        self.processed: list[Processed] = []
        self._seen: set[str] = set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                receiver._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.server_bind()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/mailroom"
        self._thread: threading.Thread | None = None
        if listening:
            self.start()

    def start(self) -> None:
        self.server.server_activate()
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- what arrived -------------------------------------------------------------------------------------

    def processed_ids(self) -> list[str]:
        with self.lock:
            return [p.event_id for p in self.processed]

    def receipts_of(self, event_id: str) -> list[Receipt]:
        with self.lock:
            return [r for r in self.receipts if r.event_id == event_id]

    # --- handling -----------------------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        event_id = request.headers.get("Mailroom-Event-Id", "")
        signature_ok = documented_signature_ok(self.secret, body, request.headers.get("Mailroom-Signature", ""))
        with self.lock:
            step = self.script.pop(0) if self.script else self.always
            self.receipts.append(Receipt(time.time(), event_id, request.headers.get("Idempotency-Key", ""), body,
                                         signature_ok, step))
        if self.delay_s:
            time.sleep(self.delay_s)
        if step == "close":
            request.close_connection = True  # no answer at all: the sender sees the connection closed
            return
        if not signature_ok:
            self._answer(request, 401)
            return
        if step in ("slow", "200"):
            self._process(event_id, body)  # dedup by event id, as the integration guide says
            if step == "slow":
                time.sleep(self.slow_s)
            self._answer(request, 200)
            return
        self._answer(request, int(step), {"Retry-After": self.retry_after} if step in ("429", "503") else None)

    def _process(self, event_id: str, body: bytes) -> None:
        event = json.loads(body)
        assert event["id"] == event_id
        with self.lock:
            if event_id in self._seen:
                return
            self._seen.add(event_id)
            self.processed.append(Processed(
                at=time.time(), event_id=event_id, type=event["type"],
                document_id=(event.get("document") or {}).get("document_id"), occurred_at=event["occurred_at"],
                event=event,
            ))

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str] | None = None) -> None:
        try:
            request.send_response(status)
            for name, value in (headers or {}).items():
                request.send_header(name, value)
            request.send_header("Content-Length", "0")
            request.end_headers()
        except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting (timeout)
            request.close_connection = True
