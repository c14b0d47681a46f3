"""``mailroom documents``: delete a document on request (data protection) and run the retention once.

Both work on the data directory's database and blob store directly (no running service needed) and leave an
audit tombstone per deleted document (``document.deleted``), as the scheduled retention and
``DELETE /api/v1/documents/{id}`` do (:mod:`mailroom.retention`).
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.common import cli_settings
from mailroom.errors import MailroomError
from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import make_engine, migrate, session_factory

NAME = "documents"
app = typer.Typer(help="Documents: delete one on request (data protection), run the retention once.",
                  no_args_is_help=True)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory (default: $MAILROOM_DATA_DIR)")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


@app.command()
def delete(
    document_id: Annotated[str, typer.Argument(help="The document id (32 hex digits)")],
    reason: Annotated[str, typer.Option("--reason", help="Why (e.g. the data protection request it answers)")],
    by: Annotated[
        str | None, typer.Option("--by", help="Who asks for it, for the audit trail (default: the login name)")
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Delete a document now with its stored files (a stack: with its letters); an audit tombstone stays.

    Exit status 1 when the document does not exist or is still being processed.
    """
    from mailroom.retention import delete_document

    if not reason.strip():
        raise typer.BadParameter("a deletion needs a reason", param_hint="--reason")
    settings = cli_settings(data_dir)
    engine = make_engine(settings)
    try:
        migrate(engine)
        deletion = delete_document(session_factory(engine), BlobStore(settings.blob_dir), document_id,
                                   who=f"cli:{by or _login()}", reason="request", note=reason.strip())
    except MailroomError as exc:
        err.print(f"error: {exc.code}: {exc.message}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    assert deletion is not None
    if as_json:
        typer.echo(json.dumps({"deleted": [asdict(d) for d in deletion.documents],
                               "blobs_removed": len(deletion.blobs_removed)}, ensure_ascii=False))
        return
    for doc in deletion.documents:
        typer.echo(f"deleted {doc.document_id} {doc.filename} ({doc.state}, postbox {doc.postbox or '-'})")
    typer.echo(f"{len(deletion.blobs_removed)} stored files removed")


@app.command()
def retention(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list the documents past their period")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Delete at most this many documents")] = 500,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Delete the documents past their postbox's retention period once, as the scheduled task does.

    The period is the postbox's retention_days in the organisation directory, else MAILROOM_RETENTION_DAYS,
    counted from when the document was acknowledged (else placed) in its postbox.
    """
    from mailroom.retention import run_retention

    settings = cli_settings(data_dir)
    engine = make_engine(settings)
    try:
        migrate(engine)
        report = run_retention(settings, session_factory(engine), BlobStore(settings.blob_dir), dry_run=dry_run,
                               limit=limit)
    except MailroomError as exc:
        err.print(f"error: {exc.code}: {exc.message}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({**report.summary(), "dry_run": dry_run, "expired_ids": report.expired,
                               "deleted_ids": [d.document_id for d in report.deleted]}))
        return
    if dry_run:
        for document_id in report.expired:
            typer.echo(f"expired {document_id}")
        typer.echo(f"{len(report.expired)} documents past their retention period (dry run: nothing deleted)")
        return
    for doc in report.deleted:
        typer.echo(f"deleted {doc.document_id} {doc.filename} (postbox {doc.postbox or '-'})")
    typer.echo(f"{len(report.deleted)} documents deleted, {report.blobs_removed} stored files removed")
