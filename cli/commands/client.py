"""``mailroom upload``: a scanning station's client for a running service (REST API, station key)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)

FINAL_STATES = {"routed", "review", "failed", "split"}


#: What a station is told of a confidential letter once it is routed: only its named person's key sees it.
CONFIDENTIAL_ROUTED: dict[str, Any] = {"state": "routed", "confidential": True}


def _status(client: Any, document_id: str) -> dict[str, Any]:
    """The status of a document as the station sees it; a 404 is a confidential letter routed to its person."""
    response = client.get(f"/api/v1/documents/{document_id}")
    return CONFIDENTIAL_ROUTED if response.status_code == 404 else dict(response.json())


def _letters(client: Any, status: dict[str, Any]) -> list[dict[str, Any]]:
    """The status of a document, or of each letter when it was a stack."""
    letters = status.get("letters") or []
    if status.get("state") != "split" or not letters:
        return [status]
    return [_status(client, letter_id) for letter_id in letters]


def _line(name: str, status: dict[str, Any]) -> str:
    if status is CONFIDENTIAL_ROUTED:
        return f"[green]✓[/green] {name:40} routed  (confidential: no longer visible to stations)"
    result = status.get("result") or {}
    routing = result.get("routing") or {}
    doc_type = (result.get("document_type") or {}).get("label", "-")
    warnings = ", ".join(w.get("code", "") for w in status.get("warnings") or []) or "-"
    if status.get("state") == "failed":
        error = status.get("error") or {}
        return f"[red]✗[/red] {name:40} failed: {error.get('code')}: {error.get('message')}"
    target = routing.get("postbox") or "-"
    mark = "[green]✓[/green]" if status.get("state") == "routed" else "[yellow]?[/yellow]"
    return f"{mark} {name:40} {status.get('state', '?'):7} {doc_type:30} → {target:28} warnings: {warnings}"


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
    ) -> None:
        """Upload files to a running mailroom as a scanning station would, and show where each letter went.

        Exit status 0 when every file was accepted (and, with --wait, processed: routed or in review), 1 otherwise.
        """
        import httpx

        from workers.inprocess import expand_inputs

        key = token or os.environ.get("MAILROOM_TOKEN")
        if not key:
            err.print("no API key: pass --token or set MAILROOM_TOKEN (mailroom keys create --role station ...)")
            raise typer.Exit(2)
        files = expand_inputs(paths)
        accepted: dict[str, str] = {}
        failures = 0
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            for path in files:
                started = time.perf_counter()
                with path.open("rb") as handle:
                    response = client.post("/api/v1/documents", files={"file": (path.name, handle)})
                ms = (time.perf_counter() - started) * 1000
                body = response.json()
                if response.status_code in (200, 202):
                    accepted[path.name] = body["document_id"]
                    again = " (already received)" if body.get("duplicate") else ""
                    err.print(f"↑ {path.name:40} accepted in {ms:5.0f} ms{again}", highlight=False)
                else:
                    failures += 1
                    err.print(f"[red]✗ {path.name:40} {response.status_code} {body.get('code')}: "
                              f"{body.get('message')}[/red]", highlight=False)
            if not wait:
                raise typer.Exit(1 if failures else 0)
            deadline = time.monotonic() + timeout
            pending = dict(accepted)
            done: dict[str, dict[str, Any]] = {}
            while pending and time.monotonic() < deadline:
                for name, doc_id in list(pending.items()):
                    status = _status(client, doc_id)
                    if status.get("state") not in FINAL_STATES:
                        continue
                    letters = _letters(client, status)
                    if any(letter.get("state") not in FINAL_STATES for letter in letters):
                        continue  # a stack is done when each of its letters is
                    done[name] = status
                    del pending[name]
                    for i, letter in enumerate(letters):
                        label = name if letter is status else f"  └ letter {i + 1}"
                        err.print(_line(label, letter), highlight=False)
                    failures += sum(1 for letter in letters if letter is not status and letter.get("state") == "failed")
                time.sleep(1.0)
            for name in pending:
                failures += 1
                err.print(f"[red]… {name}: not done after {timeout:.0f} s[/red]")
            failures += sum(1 for s in done.values() if s.get("state") == "failed")
        err.print(f"{len(accepted)} accepted, {len(done)} done, {failures} problems")
        raise typer.Exit(1 if failures else 0)
