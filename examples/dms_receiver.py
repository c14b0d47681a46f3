"""A reference webhook receiver for a DMS: verify, drop duplicates, pull the searchable PDF.

Standard library plus httpx; it does not import mailroom (a DMS vendor does not have it). Run::

    MAILROOM_WEBHOOK_SECRET=whsec_...  MAILROOM_URL=https://mailroom.example  MAILROOM_API_KEY=mr_..._... \\
        python examples/dms_receiver.py --port 8090 --out ./inbox

For every ``document.routed`` / ``document.rerouted`` event it downloads the searchable PDF (the event's
``links.searchable_pdf``; ``links.original`` for XML e-invoices) with a ``dms`` key and stores it with the event as
``<out>/<document_id>.pdf`` and ``.json``; a document re-routed away from the key's postboxes (``404``) is
withdrawn. Two cases are *not* a withdrawal:

* an event with ``"withheld": "confidential"``: a confidential letter ("persönlich") arrived for the person
  ``document.routing.person`` in postbox ``document.routing.postbox``, and this subscription is not bound to that
  person. There is nothing to download; it is logged (``confidential letter ... not for this receiver``) and
  acknowledged, and whoever receives that person's mail gets the full event (a copy filed earlier, before the
  letter was re-routed away, is removed);
* a ``404`` on a confidential letter whose full event this receiver did get: the subscription is bound to the
  person but the key is not (``mailroom keys create --role dms ... --person ID``). That is a configuration error:
  it is logged as an error and answered ``503``, so that mailroom retries and, in the end, dead-letters the event
  (visible in the delivery log) instead of losing the letter.

An event older (``occurred_at``) than the last one processed for its document, e.g. a replayed one,
is acknowledged and ignored. It answers

* ``401`` when the signature does not verify (mailroom gives up: a wrong secret is not fixed by retrying);
* ``200`` for an event id it has already processed (a redelivery): nothing is done twice;
* ``503`` when the download fails (mailroom retries the event later);
* ``200`` after the document is stored; only then is the event id remembered.

See ``docs/dms-integration.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger("dms_receiver")

TOLERANCE_S = 300  # reject signatures older (or newer) than five minutes: replayed requests
MAX_BODY = 10 * 1024 * 1024  # an event is a few kilobytes; never read an unbounded body


def verify_signature(secret: bytes, body: bytes, header: str, *, tolerance_s: float = TOLERANCE_S) -> bool:
    """``Mailroom-Signature: t=<unix>,v1=<hex>``: v1 is HMAC-SHA256 over ``"<t>.<body>"`` with the secret.

    Verify the raw body bytes as received, before parsing them. Several ``v1`` entries may be present while a
    secret is rotated; one valid entry suffices.
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or abs(time.time() - timestamp) > tolerance_s:
        return False
    expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected.encode(), s.encode("ascii", "replace")) for s in signatures)


class NotForThisKey(Exception):
    """The event carried a confidential letter's content, but the API key may not read it: a configuration error."""


class SeenEvents:
    """Event ids already processed, in SQLite so that a restart does not process a redelivery again."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("CREATE TABLE IF NOT EXISTS seen (event_id TEXT PRIMARY KEY, type TEXT, at REAL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS latest (document_id TEXT PRIMARY KEY, occurred_at TEXT)")
        self.db.commit()
        self.lock = threading.Lock()

    def is_stale(self, document_id: str, occurred_at: str) -> bool:
        """Whether a newer event of this document was processed already (ISO UTC strings sort by time)."""
        with self.lock:
            row = self.db.execute("SELECT occurred_at FROM latest WHERE document_id = ?", (document_id,)).fetchone()
        return row is not None and row[0] > occurred_at

    def __contains__(self, event_id: object) -> bool:
        with self.lock:
            return self.db.execute("SELECT 1 FROM seen WHERE event_id = ?", (event_id,)).fetchone() is not None

    def add(self, event_id: str, event_type: str, document_id: str, occurred_at: str) -> None:
        with self.lock, self.db:
            self.db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (event_id, event_type, time.time()))
            self.db.execute("INSERT INTO latest VALUES (?, ?) ON CONFLICT (document_id) DO UPDATE SET occurred_at ="
                            " max(occurred_at, excluded.occurred_at)", (document_id, occurred_at))


class Receiver:
    def __init__(self, *, secret: bytes, mailroom_url: str, api_key: str, out: Path) -> None:
        self.secret = secret
        self.out = out
        self.seen = SeenEvents(out / "seen-events.sqlite3")
        self.processing = threading.Lock()  # one event at a time: a concurrent redelivery waits, then is a duplicate
        self.base_url = mailroom_url.rstrip("/") + "/"
        self.api = httpx.Client(
            base_url=mailroom_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30.0
        )

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        if not verify_signature(self.secret, body, headers.get("mailroom-signature", "")):
            return 401, "bad signature"
        event: dict[str, Any] = json.loads(body)
        event_id = str(event["id"])
        with self.processing:
            if event_id in self.seen:
                return 200, "duplicate"
            document_id = str(event["document"]["document_id"])
            occurred_at = str(event["occurred_at"])
            if self.seen.is_stale(document_id, occurred_at):
                log.info("event %s is older than what we have for document %s: ignored", event_id, document_id)
            else:
                try:
                    self.process(event)
                except httpx.HTTPError as exc:
                    log.warning("event %s: download failed (%s); mailroom will retry", event_id, exc)
                    return 503, "try again later"
                except NotForThisKey as exc:
                    log.error("event %s: %s", event_id, exc)
                    return 503, "the API key may not read this confidential letter"
            self.seen.add(event_id, str(event["type"]), document_id, occurred_at)
        return 200, "ok"

    def process(self, event: dict[str, Any]) -> None:
        document = event["document"]
        document_id = document["document_id"]
        log.info("event %s %s document %s", event["id"], event["type"], document_id)
        routing = document.get("routing") or {}
        if event.get("withheld") == "confidential":
            # not a withdrawal: a letter this receiver may not see exists; someone else files it
            log.warning("event %s: confidential letter for person %s in postbox %s, not for this receiver",
                        event["id"], routing.get("person") or "(not named)", routing.get("postbox") or "(review)")
            for leftover in self.out.glob(f"{document_id}.*"):  # filed before, re-routed away from us since
                leftover.unlink()
            return
        if event["type"] not in ("document.routed", "document.rerouted"):
            return  # review_required and failed: nothing to file yet
        stored = self.download(document_id, event.get("links") or {})
        if stored is None and routing.get("confidential") is True:
            raise NotForThisKey(f"confidential letter {document_id} for person {routing.get('person')}: the "
                                "subscription may receive it but MAILROOM_API_KEY may not read it; bind the key "
                                "to the same person")
        if stored is None:  # re-routed away from our postboxes: the key no longer sees it; withdraw it
            for leftover in self.out.glob(f"{document_id}.*"):
                leftover.unlink()
            return
        (self.out / f"{document_id}.json").write_bytes(json.dumps(event, ensure_ascii=False, indent=2).encode())

    def download(self, document_id: str, links: dict[str, str]) -> Path | None:
        # the links are absolute when mailroom has MAILROOM_PUBLIC_URL, root-relative (to MAILROOM_URL) otherwise
        default = f"/api/v1/documents/{document_id}"
        fallback = {"searchable_pdf": f"{default}/searchable.pdf", "original": f"{default}/original"}
        for name, extension in (("searchable_pdf", ".pdf"), ("original", ".original")):
            url = links.get(name) or fallback[name]
            if "://" in url and not url.startswith(self.base_url):
                url = fallback[name]  # never send the API key to another host
            response = self.api.get(url)
            if response.status_code == 404 and name == "searchable_pdf":
                continue  # an XML e-invoice has no searchable PDF: take the original
            if response.status_code == 404:
                return None
            response.raise_for_status()  # 409 not_ready, 5xx: answer 503 so that the event is delivered again
            target = self.out / f"{document_id}{extension}"
            partial = target.with_suffix(target.suffix + ".part")
            partial.write_bytes(response.content)
            partial.replace(target)
            return target
        return None


def serve(receiver: Receiver, host: str, port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or -1)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self.answer(413, "body missing or too large")
                return
            body = self.rfile.read(length)
            try:
                status, message = receiver.handle({k.lower(): v for k, v in self.headers.items()}, body)
            except (ValueError, KeyError, TypeError):
                status, message = 400, "not a mailroom.event/v1 body"
            self.answer(status, message)

        def answer(self, status: int, message: str) -> None:
            data = message.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer((host, port), Handler)
    log.info("listening on http://%s:%d/", host, port)
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="put a TLS-terminating proxy in front for https")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--out", type=Path, default=Path("inbox"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    receiver = Receiver(
        secret=os.environ["MAILROOM_WEBHOOK_SECRET"].encode(),
        mailroom_url=os.environ["MAILROOM_URL"],
        api_key=os.environ["MAILROOM_API_KEY"],
        out=args.out,
    )
    serve(receiver, args.host, args.port)


if __name__ == "__main__":
    main()
