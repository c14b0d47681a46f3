"""``mailroom upload``: a scanning station's client for a running service (REST API, station key).

What the operator at the station reads is German: where each letter went, the quality warnings, and, for a scan
the service sent back (state ``rescan``), "NEU SCANNEN" with the pages and why. A stack's file is named with its
letters. ``--json`` prints one JSON object per file on stdout for scripts. Files of a folder that are not sent
(unsupported types) are listed, not silently left out. The service may restart while the client waits: requests
that find it unreachable are retried until it is back (at most ``--retry`` seconds at a time); what could not be
finished is reported in the summary ("X angenommen, Y übersprungen, Z Probleme"), never as a traceback.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from mailroom.errors import ServiceUnreachable

err = Console(stderr=True, soft_wrap=True, highlight=False)

#: States in which the service is done with a document (for now: a rescan waits for the station, review for a person).
FINAL_STATES = {"routed", "review", "rescan", "failed", "split", "dismissed"}
#: A station's own upload that was routed confidentially: the API answers 404 with this code (only then).
NO_LONGER_VISIBLE = "no_longer_visible"
RETRY_PAUSE_SECONDS = 2.0


@dataclass
class Api:
    """Requests to the service that ride out a restart: retried while it is unreachable, up to ``retry`` seconds."""

    client: Any
    retry: float
    on_wait: Callable[[str], None]
    _warned: bool = False

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        import httpx

        give_up = time.monotonic() + self.retry
        while True:
            try:
                response = self.client.request(method, url, **kwargs)
                if response.status_code not in (502, 503, 504):
                    if self._warned:
                        self.on_wait("Dienst wieder erreichbar")
                        self._warned = False
                    return response
                problem = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:  # refused, reset, timed out: the service restarts or is down
                problem = type(exc).__name__
            if time.monotonic() >= give_up:
                raise ServiceUnreachable(problem)
            if not self._warned:
                self.on_wait(f"Dienst nicht erreichbar ({problem}): neuer Versuch alle {RETRY_PAUSE_SECONDS:g} s")
                self._warned = True
            time.sleep(RETRY_PAUSE_SECONDS)
            for value in kwargs.get("files", {}).values():  # an upload is sent again from the start
                value[1].seek(0)


@dataclass
class Item:
    """One file given to the client and what became of it."""

    path: Path
    document_id: str | None = None
    duplicate: bool = False
    status: dict[str, Any] | None = None
    letters: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None  # refused at upload, or not finished

    def outcome(self) -> str:
        """accepted (not waited for), routed, review, rescan, failed, split, refused, unfinished."""
        if self.error is not None:
            return "refused" if self.document_id is None else "unfinished"
        if self.status is None:
            return "accepted"
        return str(self.status.get("state", "unknown"))

    def problems(self) -> int:
        """Files refused or not finished, and failed documents (each failed letter of a stack counts)."""
        if self.error is not None:
            return 1
        states = [self.status.get("state")] if self.status is not None and not self.letters else []
        states += [letter.get("state") for letter in self.letters]
        return sum(1 for state in states if state == "failed")

    def rescans(self) -> int:
        docs = self.letters or ([self.status] if self.status is not None else [])
        return sum(1 for doc in docs if doc.get("state") == "rescan")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": str(self.path), "outcome": self.outcome()}
        if self.document_id:
            out["document_id"] = self.document_id
            out["duplicate"] = self.duplicate
        if self.error is not None:
            out["error"] = self.error
        if self.status is not None and not self.letters:
            out.update(_summary(self.status))
        if self.letters:
            out["letters"] = [_summary(letter) for letter in self.letters]
        return out


#: Why a file named on the command line is not sent: it is not there (counts as a problem: exit status 1).
NOT_FOUND = "file_not_found: nicht gefunden"

def _summary(status: dict[str, Any]) -> dict[str, Any]:
    """What the station needs of a document's status (no page text, no invoice fields)."""
    if status.get("code") == NO_LONGER_VISIBLE:
        return {"document_id": status.get("document_id"), "state": "routed", "confidential": True,
                "visible": False}
    result = status.get("result") or {}
    routing = result.get("routing") or {}
    out: dict[str, Any] = {
        "document_id": status.get("document_id"), "state": status.get("state"),
        "document_type": (result.get("document_type") or {}).get("label"), "postbox": routing.get("postbox"),
        "warnings": [{"code": w.get("code"), "page": w.get("page")} for w in status.get("warnings") or []],
    }
    if status.get("page_from") is not None:
        out["pages"] = [status.get("page_from"), status.get("page_to")]
    if status.get("rescan"):
        out["rescan"] = status["rescan"]
    if status.get("error"):
        out["error"] = status["error"]
    return {k: v for k, v in out.items() if v is not None}


def _status(api: Api, document_id: str) -> dict[str, Any]:
    """The status of a document as the station sees it. A letter it uploaded that was routed confidentially answers
    404 ``no_longer_visible`` (only its recipient sees it now); any other 404 is an error, never taken for that."""
    response = api.request("GET", f"/api/v1/documents/{document_id}")
    body: dict[str, Any] = dict(response.json()) if response.content else {}
    if response.status_code == 200:
        return body
    if response.status_code == 404 and body.get("code") == NO_LONGER_VISIBLE:
        return {"document_id": document_id, "state": "routed", "code": NO_LONGER_VISIBLE}
    return {"document_id": document_id, "state": "failed",
            "error": {"code": body.get("code") or f"http_{response.status_code}", "message": body.get("message")}}


def _letters(api: Api, status: dict[str, Any]) -> list[dict[str, Any]]:
    """Each letter's status when the document is a stack split into letters, else nothing."""
    letters = status.get("letters") or []
    if status.get("state") != "split" or not letters:
        return []
    return [_status(api, letter_id) for letter_id in letters]


def _warnings(status: dict[str, Any]) -> str:
    codes = [w.get("code", "") + (f" (S. {w['page']})" if w.get("page") else "") for w in status.get("warnings") or []]
    return ", ".join(codes) or "-"


def line(name: str, status: dict[str, Any]) -> str:
    """One line for the operator: where the letter went (German), with rich markup."""
    name = escape(name)
    if status.get("code") == NO_LONGER_VISIBLE:
        return f"[green]✓[/green] {name:40} zugestellt (vertraulich: nicht mehr sichtbar)"
    state = status.get("state")
    if state == "failed":
        error = status.get("error") or {}
        return f"[red]✗[/red] {name:40} fehlgeschlagen: {error.get('code')}: {escape(str(error.get('message')))}"
    if state == "rescan":
        rescan = status.get("rescan") or {}
        pages = ", ".join(str(p) for p in rescan.get("pages") or []) or "-"
        return (f"[bold red]↻ NEU SCANNEN[/bold red] {name} (Seiten {pages}, {rescan.get('reason', '?')}): "
                f"{escape(str(rescan.get('message', '')))}")
    result = status.get("result") or {}
    target = (result.get("routing") or {}).get("postbox") or "-"
    doc_type = (result.get("document_type") or {}).get("label", "-")
    where = {"routed": "zugestellt", "review": "Prüfung"}.get(str(state), str(state))
    mark = "[green]✓[/green]" if state == "routed" else "[yellow]?[/yellow]"
    return f"{mark} {name:40} {where:10} {doc_type:28} → {target:26} Hinweise: {_warnings(status)}"


def collect(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """The files to send (as ``mailroom process`` takes them) and those of the folders that are not sent, with why."""
    from workers.inprocess import SUPPORTED_SUFFIXES

    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        if not path.exists():
            skipped.append((path, NOT_FOUND))
        elif path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.is_file()):
                if found.suffix.lower() in SUPPORTED_SUFFIXES:
                    files.append(found)
                else:
                    skipped.append((found, f"Dateityp {found.suffix or '(ohne Endung)'} wird nicht angenommen"))
        else:
            files.append(path)  # named on purpose: sent, and the service says what it thinks of it
    return files, skipped


def _report_skipped(skipped: list[tuple[Path, str]]) -> None:
    by_reason: dict[str, list[Path]] = {}
    for path, reason in skipped:
        by_reason.setdefault(reason, []).append(path)
    for reason, found in by_reason.items():
        names = ", ".join(escape(p.name) for p in found[:3])
        if len(found) > 3:
            names += f" und {len(found) - 3} weitere"
        err.print(f"[yellow]– übersprungen[/yellow] ({len(found)}): {names}: {reason}")


def _upload(api: Api, item: Item) -> None:
    started = time.perf_counter()
    with item.path.open("rb") as handle:
        response = api.request("POST", "/api/v1/documents", files={"file": (item.path.name, handle)})
    ms = (time.perf_counter() - started) * 1000
    body = response.json() if response.content else {}
    if response.status_code in (200, 202):
        item.document_id = body["document_id"]
        item.duplicate = bool(body.get("duplicate"))
        again = " (schon einmal empfangen)" if item.duplicate else ""
        err.print(f"↑ {escape(item.path.name):40} angenommen in {ms:5.0f} ms{again}")
    else:
        item.error = {"code": body.get("code") or f"http_{response.status_code}", "message": body.get("message")}
        err.print(f"[red]✗ {escape(item.path.name):40} {response.status_code} {item.error['code']}: "
                  f"{escape(str(item.error['message']))}[/red]")


def _settle(api: Api, item: Item) -> bool:
    """Look once whether the document (each letter of a stack) is done; print it when it is."""
    assert item.document_id is not None
    status = _status(api, item.document_id)
    if status.get("state") not in FINAL_STATES:
        return False
    letters = _letters(api, status)
    if any(letter.get("state") not in FINAL_STATES for letter in letters):
        return False  # a stack is done when each of its letters is
    item.status, item.letters = status, letters
    if letters:
        err.print(f"▤ {escape(item.path.name)}: Stapel mit {len(letters)} "
                  f"{'Brief' if len(letters) == 1 else 'Briefen'}")
        for i, letter in enumerate(letters, 1):
            pages = f"S. {letter['page_from']}-{letter['page_to']}" if letter.get("page_from") else ""
            err.print(line(f"  └ Brief {i} {pages}".rstrip(), letter))
    else:
        err.print(line(item.path.name, status))
    return True


def register(main: typer.Typer) -> None:
    @main.command("upload")
    def upload(
        paths: Annotated[list[Path], typer.Argument(help="Files or folders to upload (PDF, TIFF, PNG, JPEG, XML)")],
        url: Annotated[str, typer.Option(help="Base URL of the service")] = "http://127.0.0.1:8000",
        token: Annotated[
            str | None, typer.Option(help="Station API key (default: $MAILROOM_TOKEN)", show_default=False)
        ] = None,
        wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until every document is done")] = True,
        timeout: Annotated[float, typer.Option(help="Seconds to wait for all documents")] = 900.0,
        retry: Annotated[
            float, typer.Option(help="Seconds to keep retrying while the service is unreachable (e.g. restarting)")
        ] = 120.0,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout")] = False,
    ) -> None:
        """Upload files to a running mailroom as a scanning station would, and show where each letter went.

        A scan the service sends back (blank or unreadable pages) is shown as NEU SCANNEN with the pages and
        the reason. Exit status 0 when every file was accepted and (with --wait) routed or put into review;
        1 when a file was refused, failed, is to be scanned again or was not done in time; 2 for usage errors.
        """
        import httpx

        key = token or os.environ.get("MAILROOM_TOKEN")
        if not key:
            err.print("no API key: pass --token or set MAILROOM_TOKEN (mailroom keys create --role station ...)")
            raise typer.Exit(2)
        files, skipped = collect(paths)
        _report_skipped(skipped)
        items = [Item(path) for path in files]
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            api = Api(client, retry=retry, on_wait=lambda text: err.print(f"[yellow]… {text}[/yellow]"))
            try:
                for item in items:
                    _upload(api, item)
                if wait:
                    deadline = time.monotonic() + timeout
                    pending = [item for item in items if item.document_id and item.error is None]
                    while pending and time.monotonic() < deadline:
                        pending = [item for item in pending if not _settle(api, item)]
                        if pending:
                            time.sleep(1.0)
                    for item in pending:
                        item.error = {"code": "not_done", "message": f"nach {timeout:.0f} s noch nicht fertig"}
                        err.print(f"[red]… {escape(item.path.name)}: nach {timeout:.0f} s noch nicht fertig[/red]")
            except ServiceUnreachable as exc:
                err.print(f"[red]{exc.code}: Dienst {url} nicht erreichbar ({exc.message}), aufgegeben nach "
                          f"{retry:g} s[/red]")
                for item in items:
                    if item.error is None and item.status is None and (wait or item.document_id is None):
                        item.error = {"code": exc.code, "message": f"Dienst nicht erreichbar ({exc.message})"}
        if as_json:
            for item in items:
                typer.echo(json.dumps(item.to_json(), ensure_ascii=False))
        accepted = sum(1 for item in items if item.document_id)
        problems = sum(item.problems() for item in items)
        rescans = sum(item.rescans() for item in items)
        summary = f"{accepted} angenommen, {len(skipped)} übersprungen, {problems} Probleme"
        if rescans:
            summary += f", {rescans} neu zu scannen"
        err.print(summary)
        missing = sum(1 for _, reason in skipped if reason == NOT_FOUND)  # named on purpose, not there: a problem
        raise typer.Exit(1 if problems or rescans or missing else 0)
