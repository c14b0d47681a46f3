"""``mailroom audit``: verify the hash chain of the audit trail, export its entries and the transfer notes.

``verify`` exits 0 when the chain is intact and 1 naming the first broken entry, so that it can run from cron
or a monitoring check. ``transfer-notes`` prints the TR-RESISCAN transfer notes of scanned files
(:mod:`mailroom.transfer_notes`) as JSON Lines or CSV.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.common import cli_settings
from mailroom import audit, transfer_notes
from mailroom.errors import MailroomError
from mailroom.storage.db import make_engine, migrate, session_scope

NAME = "audit"
app = typer.Typer(
    help="The audit trail: verify its hash chain, export its entries and the transfer notes.", no_args_is_help=True
)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (database); default: $MAILROOM_DATA_DIR")
]


def _parse_since(value: str) -> datetime:
    """A date (``2025-03-01``, midnight UTC) or an ISO timestamp (naive means UTC)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
        except ValueError:
            raise typer.BadParameter(f"not a date or ISO timestamp: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.command()
def verify(data_dir: DataDir = None) -> None:
    """Check every entry's hash and link; exit 1 naming the first broken entry."""
    engine = make_engine(cli_settings(data_dir))
    try:
        migrate(engine)
        with session_scope(engine, readonly=True) as session:
            report = audit.verify(session)
    except MailroomError as exc:
        err.print(f"[red]error[/red]: {exc.code}: {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if not report.ok:
        err.print(f"[red]TAMPERED[/red]: {report.summary()} "
                  f"({report.entries} entries before it are intact)", highlight=False)
        raise typer.Exit(1)
    typer.echo(report.summary())


@app.command()
def export(
    since: Annotated[
        str | None, typer.Option("--since", help="Only entries at or after this date/ISO timestamp (UTC)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per entry (JSON Lines)")] = False,
    data_dir: DataDir = None,
) -> None:
    """Print the entries in chain order (tab-separated, or JSON Lines with --json)."""
    since_at = _parse_since(since) if since is not None else None
    engine = make_engine(cli_settings(data_dir))
    try:
        migrate(engine)
        with session_scope(engine, readonly=True) as session:
            for entry in audit.export(session, since=since_at):
                if as_json:
                    typer.echo(json.dumps(entry, ensure_ascii=False))
                else:
                    details = json.dumps(entry["details"], ensure_ascii=False) if entry["details"] else ""
                    typer.echo("\t".join([str(entry["id"]), entry["at"], entry["actor"], entry["action"],
                                          entry["object_type"], entry["object_id"] or "-", details]))
    except MailroomError as exc:
        err.print(f"[red]error[/red]: {exc.code}: {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


class NoteFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@app.command("transfer-notes")
def transfer_notes_command(
    since: Annotated[
        str | None, typer.Option("--since", help="Only files received at or after this date/ISO timestamp (UTC)")
    ] = None,
    document: Annotated[str | None, typer.Option("--document", help="Only the note of this document id")] = None,
    output_format: Annotated[
        NoteFormat, typer.Option("--format", help="json: one JSON object per note (JSON Lines); csv: one row each")
    ] = NoteFormat.JSON,
    data_dir: DataDir = None,
) -> None:
    """Print the transfer notes (station, time, pages, image settings, quality, SHA-256) of scanned files.

    Notes outlive their documents (they are kept in the audit trail). Exit 1 when --document has no note.
    """
    since_at = _parse_since(since) if since is not None else None
    engine = make_engine(cli_settings(data_dir))
    try:
        migrate(engine)
        with session_scope(engine, readonly=True) as session:
            notes = transfer_notes.transfer_notes(session, since=since_at, document_id=document)
    except MailroomError as exc:
        err.print(f"[red]error[/red]: {exc.code}: {exc.message}", highlight=False)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    if document is not None and not notes:
        err.print(f"[red]error[/red]: no transfer note for document {document}", highlight=False)
        raise typer.Exit(1)
    if output_format is NoteFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(transfer_notes.CSV_COLUMNS)
        for note in notes:
            writer.writerow(transfer_notes.csv_row(note))
        return
    for note in notes:
        typer.echo(json.dumps(note, ensure_ascii=False))
