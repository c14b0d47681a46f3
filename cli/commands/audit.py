"""``mailroom audit``: verify the hash chain of the audit trail, export its entries and the transfer notes.

``verify`` exits 0 when the chain is intact and 1 naming the first broken entry, so that it can run from cron
or a monitoring check. ``transfer-notes`` prints the TR-RESISCAN transfer notes of scanned files
(:mod:`mailroom.transfer_notes`) as JSON Lines or CSV.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import DataDirOption, cli_settings, database, err, fail
from mailroom import audit, audit_keys, transfer_notes
from mailroom.errors import MailroomError
from mailroom.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

NAME = "audit"
app = typer.Typer(
    help="The audit trail: verify its hash chain, export its entries and the transfer notes.", no_args_is_help=True
)

#: Exit status when the trail cannot be read (1 means: tampered).
UNREADABLE_EXIT = 2


@contextmanager
def _trail(settings: Settings) -> Iterator[Session]:
    """The audit trail, read only; an error reading it ends the command with exit status 2."""
    try:
        with database(settings, readonly=True) as session:
            yield session
    except MailroomError as exc:
        raise fail(exc.code, exc.message, UNREADABLE_EXIT) from None



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
def verify(
    head: Annotated[list[str] | None, typer.Option(
        "--head", help="A head hash printed by an earlier verify and kept elsewhere: it must still be in the chain "
        "(detects a cut-off tail); repeatable")] = None,
    checkpoints: Annotated[bool, typer.Option(
        "--checkpoints", help="Also check the signed checkpoints ($MAILROOM_AUDIT_CHECKPOINT_FILE)")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Check every entry's keyed hash and link; exit 1 naming the first broken entry or the failed anchor."""
    malformed = [h for h in head or [] if not re.fullmatch(r"[0-9a-f]{64}", h)]
    if malformed:
        raise typer.BadParameter(f"{malformed[0]!r} is not a head hash (64 hex digits, as verify prints it)",
                                 param_hint="--head")
    settings = cli_settings(data_dir)
    with _trail(settings) as session:
        report = audit.verify(session)
        anchors = audit.verify_anchors(session, heads=head or [],
                                       checkpoints=audit_keys.checkpoint_file(settings) if checkpoints else None)
    if not report.ok:
        err.print(f"[red]TAMPERED[/red]: {report.summary()} "
                  f"({report.entries} entries before it are intact)", highlight=False)
        raise typer.Exit(1)
    for problem in anchors.problems:
        err.print(f"[red]TAMPERED[/red]: {problem}", highlight=False)
    if not anchors.ok:
        raise typer.Exit(1)
    typer.echo(report.summary() + (f"; {anchors.checked} anchors hold" if anchors.checked else ""))


@app.command()
def checkpoint(data_dir: DataDirOption = None) -> None:
    """Append a signed checkpoint of the chain's head to $MAILROOM_AUDIT_CHECKPOINT_FILE (the beat does it every
    MAILROOM_AUDIT_CHECKPOINT_SECONDS; run it from cron otherwise)."""
    settings = cli_settings(data_dir)
    with _trail(settings) as session:
        entry = audit.write_checkpoint(session, audit_keys.checkpoint_file(settings))
    typer.echo("the chain is empty: no checkpoint" if entry is None else
               f"checkpoint: entry {entry['entry_id']} hash {entry['hash']} ({entry['entries']} entries)")


@app.command("rotate-key")
def rotate_key(data_dir: DataDirOption = None) -> None:
    """Add a new audit key to the key file; new entries are signed with it, older keys keep verifying."""
    try:
        kid = audit_keys.rotate(cli_settings(data_dir))
    except MailroomError as exc:
        raise fail(exc.code, exc.message, UNREADABLE_EXIT) from None
    typer.echo(f"new audit key {kid}: entries from now on are signed with it; keep the older keys")


@app.command()
def export(
    since: Annotated[
        str | None, typer.Option("--since", help="Only entries at or after this date/ISO timestamp (UTC)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per entry (JSON Lines)")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Print the entries in chain order (tab-separated, or JSON Lines with --json)."""
    since_at = _parse_since(since) if since is not None else None
    with _trail(cli_settings(data_dir)) as session:
        for entry in audit.export(session, since=since_at):
            if as_json:
                typer.echo(json.dumps(entry, ensure_ascii=False))
            else:
                details = json.dumps(entry["details"], ensure_ascii=False) if entry["details"] else ""
                typer.echo("\t".join([str(entry["id"]), entry["at"], entry["actor"], entry["action"],
                                      entry["object_type"], entry["object_id"] or "-", details]))


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
    data_dir: DataDirOption = None,
) -> None:
    """Print the transfer notes (station, time, pages, image settings, quality, SHA-256) of scanned files.

    Notes outlive their documents (they are kept in the audit trail). Exit 1 when --document has no note.
    """
    since_at = _parse_since(since) if since is not None else None
    with _trail(cli_settings(data_dir)) as session:
        notes = transfer_notes.transfer_notes(session, since=since_at, document_id=document)
    if document is not None and not notes:
        raise fail("document_not_found", f"no transfer note for document {document}")
    if output_format is NoteFormat.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(transfer_notes.CSV_COLUMNS)
        for note in notes:
            writer.writerow(transfer_notes.csv_row(note))
        return
    for note in notes:
        typer.echo(json.dumps(note, ensure_ascii=False))
