"""Webhook delivery (``mailroom.event/v1``): signing, event bodies, retry policy, one delivery attempt, SSRF guard.

A library of pure functions plus one sender (:func:`deliver_once`); the events themselves are written by the
outbox (:mod:`mailroom.storage.outbox`), and :mod:`webhooks.delivery` fans them out to the subscriptions and
loops over the attempts. The contract (``DESIGN.md``):

* ``POST`` of a JSON body ``{"id", "type", "occurred_at", "document": <mailroom.result/v1>, "links": {...}}``;
* headers ``Mailroom-Event-Id`` and ``Idempotency-Key`` (both the event id) and
  ``Mailroom-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the subscription secret>``;
* at least once: retried with exponential backoff (full jitter) on network errors, timeouts, 429 and 5xx
  (honouring ``Retry-After`` on 429/503), never on other 4xx; dead-lettered after the retry window.

Outgoing requests only go to ``https`` URLs whose host resolves to public addresses (:func:`check_target`),
unless a host is explicitly allowed; redirects are never followed.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import json
import random
import socket
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from mailroom.errors import WebhookTargetRefused

SIGNATURE_HEADER = "Mailroom-Signature"
EVENT_ID_HEADER = "Mailroom-Event-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "mailroom-webhooks/1"

#: Cloud metadata services: refused even with ``allow_private``; only an explicit ``allow_hosts`` entry passes.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


# --- signing ---------------------------------------------------------------------------------------------


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _mac(secret: str | bytes, body: bytes, timestamp: int) -> str:
    return hmac.new(_key(secret), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, timestamp: int) -> str:
    """The ``Mailroom-Signature`` value: ``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    return f"t={int(timestamp)},v1={_mac(secret, body, int(timestamp))}"


def verify_signature(
    secret: str | bytes, body: bytes, header: str, *, tolerance_s: float = 300, now: float | None = None
) -> bool:
    """Whether ``header`` is a valid signature of the raw ``body`` made at most ``tolerance_s`` seconds ago.

    Receivers verify the raw bytes as received (before parsing the JSON). Several ``v1=`` entries are accepted
    (any one valid passes) so that a secret can be rotated; unknown schemes are ignored. Constant-time.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif name == "v1":
            candidates.append(value.strip().lower())
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, body, timestamp)
    valid = False
    for candidate in candidates:  # no early exit: the time does not depend on which entry matched
        valid |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("ascii", "replace"))
    return valid


# --- events ----------------------------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no insignificant whitespace: the same event always has the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def absolute_links(links: Mapping[str, Any], public_url: str | None) -> dict[str, Any]:
    """The event's root-relative links (``/api/v1/...``) prefixed with ``public_url`` (when set)."""
    if not public_url:
        return dict(links)
    base = public_url.rstrip("/")
    return {name: base + value if isinstance(value, str) and value.startswith("/") else value
            for name, value in links.items()}


def event_body(payload: Mapping[str, Any], public_url: str | None = None) -> bytes:
    """The canonical bytes of an outbox event (``mailroom.storage.outbox``) as sent: links made absolute.

    Delivery computes them once, when the event is fanned out, and stores them: every attempt and every replay
    sends the same bytes (the signature covers them; a receiver deduplicates by ``id``).
    """
    event = dict(payload)
    if isinstance(event.get("links"), Mapping):
        event["links"] = absolute_links(event["links"], public_url)
    return canonical_json(event)


# --- retries ---------------------------------------------------------------------------------------------


class Outcome(enum.StrEnum):
    DELIVER = "deliver"  # the receiver accepted (2xx): done
    RETRY = "retry"  # try again later (network error, timeout, 429, 5xx)
    GIVE_UP = "give_up"  # retrying cannot help (other 4xx, 3xx, refused target): dead letter at once


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay seconds or an HTTP date); ``None`` if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by a number of attempts and a retry window.

    Attempt ``n`` (1-based) that failed is followed after ``uniform(0, min(max_delay_s, base_delay_s * 2**(n-1)))``
    seconds, or after the receiver's ``Retry-After`` if that is longer. When the attempts are used up or the next
    attempt would start after ``first_attempt_at + window_s``, :meth:`next_delay` answers ``None``: dead letter.
    """

    base_delay_s: float = 1.0
    max_delay_s: float = 600.0
    max_attempts: int = 20
    window_s: float = 24 * 3600.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """The jittered delay after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** min(max(attempt - 1, 0), 62)))
        return (rng or random).uniform(0.0, ceiling)  # jitter, not cryptography

    def next_delay(
        self,
        attempt: int,
        *,
        first_attempt_at: float,
        now: float | None = None,
        retry_after_s: float | None = None,
        rng: random.Random | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt after failed attempt ``attempt``, or ``None`` to give up."""
        if attempt >= self.max_attempts:
            return None
        delay = self.backoff(attempt, rng)
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        current = time.time() if now is None else now
        if current + delay > first_attempt_at + self.window_s:
            return None
        return delay


_RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
    OSError,  # includes socket.gaierror from resolving the host in check_target
)


def classify(response_or_exception: httpx.Response | BaseException) -> Outcome:
    """What to do after an attempt: deliver (2xx), retry (network, timeout, 429, 5xx) or give up (the rest)."""
    if isinstance(response_or_exception, httpx.Response):
        status = response_or_exception.status_code
        if 200 <= status < 300:
            return Outcome.DELIVER
        if status == 429 or status >= 500:
            return Outcome.RETRY
        return Outcome.GIVE_UP  # other 4xx; 1xx/3xx (redirects are not followed: a changed URL needs an admin)
    if isinstance(response_or_exception, WebhookTargetRefused):
        return Outcome.GIVE_UP
    if isinstance(response_or_exception, _RETRYABLE_EXCEPTIONS):
        return Outcome.RETRY
    return Outcome.GIVE_UP  # invalid URL, unsupported protocol, programming errors


# --- SSRF guard ------------------------------------------------------------------------------------------

Resolver = Callable[[str, int], list[str]]


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


#: IPv6 site-local addresses (deprecated, RFC 3879, but still routed inside some networks).
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 inside IPv6 (mapped, 6to4, Teredo, NAT64 of a private address) is judged as that IPv4 address
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:  # only that address: Python's own lists for these prefixes differ by version
            return _refusal(embedded, allow_private)  # (3.11.2+deb12 calls all of 2002::/16 private, 3.11.7 not)
        if ip in _SITE_LOCAL and not allow_private:
            return "a site-local address"
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified or ip.is_reserved:
        return "an unspecified or reserved address"
    if ip.is_global:
        return None
    if allow_private:
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    return "a private (non-public) address"


def check_target(
    url: str,
    *,
    allow_hosts: Collection[str] = (),
    allow_private: bool = False,
    resolve: Resolver | None = None,
) -> list[str]:
    """Refuse webhook URLs that could reach inside the network (server-side request forgery).

    Only ``https`` is allowed, or ``http`` to a host in ``allow_hosts``. The host is resolved and every address
    must be public: loopback, link-local, private, multicast, reserved and cloud metadata addresses are refused,
    unless the host is in ``allow_hosts`` (``allow_private`` admits private, loopback and link-local addresses
    but never metadata, multicast or unspecified ones). Raises :class:`WebhookTargetRefused`; a failed DNS lookup
    propagates as :class:`socket.gaierror` (transient). Returns the checked addresses (none for a host in
    ``allow_hosts``): connect to one of them (:func:`pinned_request`), never to a second lookup of the name, which
    may answer differently a moment later (DNS rebinding).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookTargetRefused(f"not a valid URL: {exc}", field="url") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    allowed = {h.rstrip(".").lower() for h in allow_hosts}
    if scheme not in ("https", "http"):
        raise WebhookTargetRefused(f"scheme {scheme or '(none)'!r} is not allowed; use https", field="url")
    if not host:
        raise WebhookTargetRefused("the URL has no host", field="url")
    if parts.username is not None or parts.password is not None:
        raise WebhookTargetRefused("credentials in the URL are not allowed; use the signature", field="url")
    if host in allowed:
        return []
    if scheme == "http":
        raise WebhookTargetRefused(f"http to {host!r} is not allowed; use https", field="url")
    addresses = (resolve or _resolve)(host, port or 443)
    if not addresses:
        raise WebhookTargetRefused(f"{host!r} resolves to no address", field="url")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        reason = _refusal(ip, allow_private)
        if reason:
            raise WebhookTargetRefused(f"{host!r} resolves to {address}, {reason}", field="url", address=address)
    return addresses


def pinned_request(client: httpx.Client, url: str, addresses: list[str], *, content: bytes,
                   headers: dict[str, str], timeout: float) -> httpx.Request:
    """A POST to ``url`` that connects to the first checked address instead of resolving the name again.

    The request line and ``Host`` header keep the name, and TLS verifies the receiver's certificate against the
    name (SNI via httpcore's ``sni_hostname`` extension), so a name that re-resolves to an internal address after
    the check cannot redirect the request there. Without addresses (an allowed host) the URL is used as it is.
    """
    target = httpx.URL(url)
    if not addresses:
        return client.build_request("POST", target, content=content, headers=headers, timeout=timeout)
    host = target.host
    pinned = target.copy_with(host=addresses[0].split("%", 1)[0])
    headers = {**headers, "Host": target.netloc.decode("ascii")}
    return client.build_request("POST", pinned, content=content, headers=headers, timeout=timeout,
                                extensions={"sni_hostname": host})


# --- one attempt -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt, as recorded in the delivery log."""

    status: int | None  # HTTP status, None when no response arrived
    latency_ms: float
    error: str | None  # why it did not deliver, None on success
    outcome: Outcome
    retry_after_s: float | None = None  # the receiver's Retry-After on 429/503


def deliver_once(
    client: httpx.Client,
    url: str,
    event_id: str,
    body: bytes,
    secret: str | bytes,
    *,
    timeout: float,
    allow_hosts: Collection[str] = (),
    allow_private: bool = False,
    now: Callable[[], float] = time.time,
) -> Attempt:
    """POST the signed event once and classify the answer. Never raises for network or HTTP errors.

    The target is checked with :func:`check_target` before every attempt and the request goes to an address that
    was checked (:func:`pinned_request`); redirects are not followed and the
    response body is not read (the status decides). The signature timestamp is taken per attempt, so a retry
    hours later still verifies within the receiver's tolerance.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: event_id,
        IDEMPOTENCY_HEADER: event_id,
        SIGNATURE_HEADER: sign(secret, body, int(now())),
    }
    started = time.perf_counter()

    def elapsed() -> float:
        return round((time.perf_counter() - started) * 1000, 1)

    try:
        addresses = check_target(url, allow_hosts=allow_hosts, allow_private=allow_private)
        request = pinned_request(client, url, addresses, content=body, headers=headers, timeout=timeout)
        response = client.send(request, follow_redirects=False, stream=True)
        response.close()
    except (httpx.HTTPError, OSError, WebhookTargetRefused) as exc:
        code = exc.code if isinstance(exc, WebhookTargetRefused) else type(exc).__name__
        return Attempt(status=None, latency_ms=elapsed(), error=f"{code}: {exc}", outcome=classify(exc))
    outcome = classify(response)
    retry_after = None
    if response.status_code in (429, 503):
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now())
    error = None if outcome is Outcome.DELIVER else f"HTTP {response.status_code}"
    return Attempt(
        status=response.status_code, latency_ms=elapsed(), error=error, outcome=outcome, retry_after_s=retry_after
    )
