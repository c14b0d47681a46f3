"""Webhook delivery (``webhooks.sender``) against a real HTTP receiver on 127.0.0.1.

The receiver is a ``ThreadingHTTPServer`` scripted to fail the first attempts (connection refused because it
starts listening late, 500, 429 with Retry-After, a response slower than the client's timeout) and then accept.
It verifies every signature with the documented algorithm and processes each event id once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from mailroom.errors import InputError, WebhookTargetRefused, error_codes
from mailroom.storage.models import new_id
from mailroom.storage.outbox import EVENT_TYPES, iso_time
from webhooks.sender import (
    Attempt,
    Outcome,
    RetryPolicy,
    check_target,
    classify,
    deliver_once,
    event_body,
    parse_retry_after,
    sign,
    verify_signature,
)

SECRET = "whsec_test_4f9c2a"
LOOPBACK = ("127.0.0.1",)
CLIENT_TIMEOUT = 0.5
RESULT = {"schema": "mailroom.result/v1", "document_id": "d1", "routing": {"postbox": "kaemmerei", "status": "routed"}}
LINKS = {"self": "/api/v1/documents/d1", "searchable_pdf": "/api/v1/documents/d1/searchable.pdf"}


def build_event(event_type: str, document: Mapping[str, object], links: Mapping[str, str]) -> tuple[str, bytes]:
    """An event as the outbox writes it (``mailroom.storage.outbox.announce``), in the bytes delivery sends."""
    assert event_type in EVENT_TYPES
    event_id = new_id()
    payload = {"id": event_id, "type": event_type, "occurred_at": iso_time(datetime.now(UTC)),
               "document": document, "links": links}
    return event_id, event_body(payload)


# --- the receiver ----------------------------------------------------------------------------------------


@dataclass
class Received:
    event_id: str
    idempotency_key: str
    body: bytes
    signature_documented: bool  # recomputed by hand: HMAC-SHA256 of "<t>.<body>"
    signature_library: bool  # verify_signature()
    answered: int


def documented_check(secret: str, body: bytes, header: str) -> bool:
    """The algorithm exactly as docs/dms-integration.md describes it, without the library."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return abs(time.time() - int(fields["t"])) <= 300 and hmac.compare_digest(expected, fields["v1"])


class Receiver:
    """Answers request n with ``script[n]`` (``"500"``, ``"429"``, ``"slow"``, ``"400"``, ``"503"``...), then 200."""

    def __init__(self, script: list[str], *, slow_s: float = 1.5) -> None:
        self.script = list(script)
        self.slow_s = slow_s
        self.received: list[Received] = []
        self.processed: list[str] = []  # event ids, each processed once
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                receiver.handle(self)

        # bound (the port is reserved) but not yet listening: connections are refused until start()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.server_bind()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/mailroom"
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", "0")))
        header = request.headers.get("Mailroom-Signature", "")
        event_id = request.headers.get("Mailroom-Event-Id", "")
        with self.lock:
            step = self.script.pop(0) if self.script else "200"
        status = 200 if step == "slow" else int(step)
        record = Received(
            event_id=event_id,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            body=body,
            signature_documented=documented_check(SECRET, body, header),
            signature_library=verify_signature(SECRET, body, header),
            answered=status,
        )
        with self.lock:
            self.received.append(record)
            if status == 200 and record.signature_documented and event_id not in self.processed:
                self.processed.append(event_id)  # a duplicate is acknowledged again, not processed again
        if step == "slow":
            time.sleep(self.slow_s)  # processed, but the answer comes after the sender gave up waiting
        try:
            request.send_response(status)
            if status in (429, 503):
                request.send_header("Retry-After", "1")
            request.send_header("Content-Length", "0")
            request.end_headers()
        except OSError:
            pass


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def deliver(
    client: httpx.Client, url: str, event_id: str, body: bytes, policy: RetryPolicy
) -> tuple[list[Attempt], list[float]]:
    """What the delivery task will do: attempts until delivered, given up, or dead-lettered by the policy."""
    attempts: list[Attempt] = []
    started: list[float] = []
    first = time.time()
    rng = random.Random(7)
    while True:
        started.append(time.monotonic())
        attempt = deliver_once(client, url, event_id, body, SECRET, timeout=CLIENT_TIMEOUT, allow_hosts=LOOPBACK)
        attempts.append(attempt)
        if attempt.outcome is not Outcome.RETRY:
            return attempts, started
        delay = policy.next_delay(len(attempts), first_attempt_at=first, retry_after_s=attempt.retry_after_s, rng=rng)
        if delay is None:
            return attempts, started  # dead letter
        time.sleep(delay)


FAST = RetryPolicy(base_delay_s=0.05, max_delay_s=0.2, max_attempts=10, window_s=30)


# --- delivery against the real receiver --------------------------------------------------------------------


def test_delivers_after_refused_500_429_and_timeout_and_processes_once(client: httpx.Client) -> None:
    receiver = Receiver(["500", "429", "slow"])
    event_id, body = build_event("document.routed", RESULT, LINKS)
    try:
        refused = deliver_once(client, receiver.url, event_id, body, SECRET, timeout=CLIENT_TIMEOUT,
                               allow_hosts=LOOPBACK)
        assert refused.status is None and refused.outcome is Outcome.RETRY
        assert refused.error is not None and "ConnectError" in refused.error
        receiver.start()
        attempts, started = deliver(client, receiver.url, event_id, body, FAST)
    finally:
        receiver.stop()

    assert [(a.status, a.outcome) for a in attempts] == [
        (500, Outcome.RETRY),
        (429, Outcome.RETRY),
        (None, Outcome.RETRY),  # the slow answer: client timeout
        (200, Outcome.DELIVER),
    ]
    assert attempts[1].retry_after_s == 1.0
    assert started[2] - started[1] >= 1.0, "Retry-After: 1 was not honoured"
    assert attempts[2].error is not None and "Timeout" in attempts[2].error
    assert attempts[2].latency_ms >= CLIENT_TIMEOUT * 1000 * 0.9
    assert attempts[3].error is None and attempts[3].latency_ms > 0

    assert len(receiver.received) == 4
    assert all(r.signature_documented and r.signature_library for r in receiver.received)
    assert all(r.body == body and r.event_id == event_id == r.idempotency_key for r in receiver.received)
    assert receiver.processed == [event_id], "the event must be processed exactly once despite the redelivery"


def test_client_error_is_not_retried(client: httpx.Client) -> None:
    receiver = Receiver(["400"])
    receiver.start()
    event_id, body = build_event("document.failed", RESULT, LINKS)
    try:
        attempts, _ = deliver(client, receiver.url, event_id, body, FAST)
    finally:
        receiver.stop()
    assert [(a.status, a.outcome) for a in attempts] == [(400, Outcome.GIVE_UP)]
    assert attempts[0].error == "HTTP 400"
    assert len(receiver.received) == 1 and receiver.processed == []


def test_receiver_down_past_the_window_dead_letters_then_replay_delivers(client: httpx.Client) -> None:
    receiver = Receiver(["500"] * 50)
    receiver.start()
    event_id, body = build_event("document.review_required", RESULT, LINKS)
    short = RetryPolicy(base_delay_s=0.02, max_delay_s=0.05, max_attempts=100, window_s=0.4)
    try:
        attempts, _ = deliver(client, receiver.url, event_id, body, short)
        assert attempts[-1].outcome is Outcome.RETRY and len(attempts) >= 2  # window over: dead letter
        assert receiver.processed == []
        receiver.script.clear()  # the receiver is back
        replayed, _ = deliver(client, receiver.url, event_id, body, short)  # replay: the same id and bytes
    finally:
        receiver.stop()
    assert replayed[-1].outcome is Outcome.DELIVER
    assert receiver.processed == [event_id]


def test_refused_target_is_given_up_without_a_request(client: httpx.Client) -> None:
    receiver = Receiver([])
    receiver.start()
    try:
        event_id, body = build_event("document.routed", RESULT, LINKS)
        attempt = deliver_once(client, receiver.url, event_id, body, SECRET, timeout=CLIENT_TIMEOUT)  # not allowed
    finally:
        receiver.stop()
    assert attempt.outcome is Outcome.GIVE_UP and attempt.status is None
    assert attempt.error is not None and attempt.error.startswith("webhook_target_refused")
    assert receiver.received == []


# --- signatures ------------------------------------------------------------------------------------------


def test_signature_roundtrip_and_rejections() -> None:
    body = b'{"id":"e1"}'
    now = 1_800_000_000
    header = sign(SECRET, body, now)
    t, v1 = header.split(",")
    assert t == f"t={now}"
    assert v1 == "v1=" + hmac.new(SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert verify_signature(SECRET, body, header, now=now + 10)
    assert verify_signature(SECRET.encode(), body, header, now=now)
    assert not verify_signature(SECRET, body + b" ", header, now=now)  # tampered body
    assert not verify_signature("other", body, header, now=now)  # wrong secret
    assert not verify_signature(SECRET, body, header, now=now + 301)  # replayed too late
    assert not verify_signature(SECRET, body, header, now=now - 301)  # from the future
    assert verify_signature(SECRET, body, header, now=now + 3000, tolerance_s=3600)
    rotated = f"{header},v1={'0' * 64}"
    assert verify_signature(SECRET, body, f"t={now},v1={'0' * 64},{v1}", now=now)
    assert verify_signature(SECRET, body, rotated, now=now)
    for garbage in ("", "t=abc,v1=00", f"t={now}", v1, "nonsense", f"t={now},v1=ä"):
        assert not verify_signature(SECRET, body, garbage, now=now)


def test_event_body_is_canonical_json_with_absolute_links() -> None:
    payload = {"type": "document.routed", "id": "e1", "occurred_at": "2026-11-26T08:12:03.250Z",
               "document": {"b": 1, "a": "Kämmerei"}, "links": {"self": "/api/v1/documents/d1", "x": 3}}
    assert event_body(payload) == (
        '{"document":{"a":"Kämmerei","b":1},"id":"e1","links":{"self":"/api/v1/documents/d1","x":3},'
        '"occurred_at":"2026-11-26T08:12:03.250Z","type":"document.routed"}'
    ).encode()
    reordered = dict(reversed(list(payload.items())))
    assert event_body(reordered, "https://mailroom.example/") == event_body(payload, "https://mailroom.example")
    absolute = json.loads(event_body(payload, "https://mailroom.example/"))
    assert absolute["links"] == {"self": "https://mailroom.example/api/v1/documents/d1", "x": 3}
    assert payload["links"] == {"self": "/api/v1/documents/d1", "x": 3}  # the outbox payload is not changed
    with pytest.raises(ValueError):
        event_body({**payload, "score": float("nan")})


# --- retry policy and classification ----------------------------------------------------------------------


def test_retry_policy_backoff_window_and_retry_after() -> None:
    policy = RetryPolicy(base_delay_s=1, max_delay_s=60, max_attempts=5, window_s=100)
    rng = random.Random(1)
    for attempt in range(1, 12):
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= min(60, 2 ** (attempt - 1))
    assert max(policy.backoff(10, rng) for _ in range(200)) > 30  # full jitter spreads up to the cap
    assert policy.next_delay(5, first_attempt_at=0, now=0) is None  # attempts used up
    first = policy.next_delay(1, first_attempt_at=0, now=0, rng=rng)
    assert first is not None and 0 <= first <= 1
    assert policy.next_delay(2, first_attempt_at=0, now=0, retry_after_s=30) == 30
    assert policy.next_delay(2, first_attempt_at=0, now=80, retry_after_s=30) is None  # past the window
    assert policy.next_delay(1, first_attempt_at=0, now=101) is None
    assert RetryPolicy().backoff(10_000) <= RetryPolicy().max_delay_s  # no overflow


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 26, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now.timestamp()) == 90
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now.timestamp()) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, "deliver"), (202, "deliver"), (204, "deliver"), (301, "give_up"), (400, "give_up"), (401, "give_up"),
     (404, "give_up"), (410, "give_up"), (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry")],
)
def test_classify_status(status: int, outcome: str) -> None:
    assert classify(httpx.Response(status)) == outcome


def test_classify_exceptions() -> None:
    request = httpx.Request("POST", "https://dms.example/hook")
    assert classify(httpx.ConnectError("refused", request=request)) is Outcome.RETRY
    assert classify(httpx.ReadTimeout("slow", request=request)) is Outcome.RETRY
    assert classify(httpx.RemoteProtocolError("eof", request=request)) is Outcome.RETRY
    assert classify(socket.gaierror("dns")) is Outcome.RETRY
    assert classify(httpx.UnsupportedProtocol("ftp", request=request)) is Outcome.GIVE_UP
    assert classify(WebhookTargetRefused("no")) is Outcome.GIVE_UP


# --- SSRF guard ------------------------------------------------------------------------------------------


def refused(url: str, **kwargs: object) -> str:
    with pytest.raises(WebhookTargetRefused) as info:
        check_target(url, **kwargs)  # type: ignore[arg-type]
    return info.value.message


def test_ssrf_guard_refuses_internal_targets() -> None:
    assert "metadata" in refused("https://169.254.169.254/latest/meta-data/")
    assert "metadata" in refused("https://169.254.169.254/", allow_private=True)  # not by allow_private
    check_target("https://169.254.169.254/", allow_hosts=("169.254.169.254",))  # only when named
    assert "metadata" in refused("https://[::ffff:169.254.169.254]/")
    assert "private" in refused("https://10.0.0.1/hook")
    check_target("https://10.0.0.1/hook", allow_private=True)
    assert "scheme" in refused("file:///etc/passwd")
    assert "scheme" in refused("gopher://127.0.0.1:6379/")
    assert "https" in refused("http://localhost:8080/hook")
    check_target("http://localhost:8080/hook", allow_hosts=("localhost",))
    assert "loopback" in refused("https://localhost/hook")
    assert "loopback" in refused("https://127.0.0.1/hook")
    assert "link-local" in refused("https://169.254.10.1/hook")
    assert "multicast" in refused("https://224.0.0.1/hook")
    assert "unspecified" in refused("https://0.0.0.0/hook", allow_private=True)
    assert "credentials" in refused("https://user:pw@dms.example/hook")
    assert "no host" in refused("https:///hook")
    check_target(f"http://127.0.0.1:{8080}/hook", allow_hosts=LOOPBACK)


def test_ssrf_guard_checks_every_resolved_address() -> None:
    def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "169.254.169.254"]

    def public(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]

    assert "metadata" in refused("https://dms.example/hook", resolve=rebinding)
    check_target("https://dms.example/hook", resolve=public)
    err = WebhookTargetRefused("x")
    assert isinstance(err, InputError) and err.code == "webhook_target_refused" and err.permanent
    assert error_codes()["webhook_target_refused"] is WebhookTargetRefused


@pytest.mark.parametrize("address", ["2002:7f00:1::1", "2002:a00:1::1", "fec0::1", "64:ff9b::7f00:1",
                                     "2001:0:4136:e378:8000:63bf:3fff:fdd2"])
def test_ssrf_guard_refuses_ipv4_inside_ipv6_and_site_local(address: str) -> None:
    with pytest.raises(WebhookTargetRefused):
        check_target("https://hooks.example/x", resolve=lambda host, port: [address])
    check_target("https://hooks.example/x", resolve=lambda host, port: ["2002:808:808::1"])  # 6to4 of 8.8.8.8


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, Path, list[str]]]:
    """An HTTPS receiver on 127.0.0.1 whose certificate names only ``dms.invalid`` (a name no DNS answers);
    yields (port, its certificate as the client's trust anchor, the Host headers it saw)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=dms.invalid", "-addext", "subjectAltName=DNS:dms.invalid", "-keyout", "key.pem",
                    "-out", "cert.pem"], check=True, capture_output=True, cwd=tmp_path)
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hosts.append(self.headers.get("Host", ""))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], tmp_path / "cert.pem", hosts
    finally:
        server.shutdown()
        server.server_close()


def test_delivery_connects_to_the_address_it_checked_not_to_a_second_lookup(
        tls_receiver: tuple[int, Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name answers a permitted address to the guard and an internal one a moment later. The
    request goes to the checked address; the name is looked up once; TLS still verifies the name."""
    port, cert, hosts = tls_receiver
    lookups: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host: object, *args: object, **kwargs: object) -> object:
        if host == "dms.invalid":
            lookups.append(host)
            host = "127.0.0.1" if len(lookups) == 1 else "169.254.169.254"
        elif host == "other.invalid":  # the same receiver under a name its certificate does not have
            host = "127.0.0.1"
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    event_id, body = build_event("document.routed", {"id": "d1"}, LINKS)
    with httpx.Client(verify=ssl.create_default_context(cafile=str(cert))) as client:
        attempt = deliver_once(client, f"https://dms.invalid:{port}/hook", event_id, body, SECRET, timeout=5,
                               allow_private=True)
        assert attempt.outcome is Outcome.DELIVER and attempt.status == 200, attempt.error
        assert lookups == ["dms.invalid"] and hosts == [f"dms.invalid:{port}"]
        # the certificate is still checked against the name: a pinned address does not weaken TLS
        wrong = deliver_once(client, f"https://other.invalid:{port}/hook", event_id, body, SECRET, timeout=5,
                             allow_private=True)
        assert wrong.status is None and wrong.outcome is not Outcome.DELIVER
