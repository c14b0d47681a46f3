"""``mailroom documents``: delete a document on request (data protection), run the retention once, process a
failed document again (``reprocess``: submitted to the running service's workers).

Both work on the data directory's database and blob store directly (no running service needed) and leave an
audit tombstone per deleted document (``document.deleted``), as the scheduled retention and
``DELETE /api/v1/documents/{id}`` do (:mod:`mailroom.retention`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from cli.common import DataDirOption, cli_actor, cli_settings, database_engine, err, one_line
from mailroom.errors import MailroomError
from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import session_factory

NAME = "documents"
app = typer.Typer(help="Documents: delete one on request (data protection), run the retention once, process a "
                  "failed one again.",
                  no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


@app.command()
def delete(
    document_id: Annotated[str, typer.Argument(help="The document id (32 hex digits)")],
    reason: Annotated[str, typer.Option("--reason", help="Why (e.g. the data protection request it answers)")],
    by: Annotated[
        str | None, typer.Option("--by", help="Who asks for it, for the audit trail (default: the login name)")
    ] = None,
    data_dir: DataDirOption = None,
    as_json: AsJson = False,
) -> None:
    """Delete a document now with its stored files (a stack: with its letters); an audit tombstone stays.

    Exit status 1 when the document does not exist or is still being processed.
    """
    from mailroom.retention import delete_document

    if not reason.strip():
        raise typer.BadParameter("a deletion needs a reason", param_hint="--reason")
    settings = cli_settings(data_dir)
    with database_engine(settings) as engine:
        deletion = delete_document(session_factory(engine), BlobStore(settings.blob_dir), document_id,
                                   who=f"cli:{by}" if by else cli_actor(), reason="request", note=reason.strip())
    assert deletion is not None
    if as_json:
        typer.echo(json.dumps({"deleted": [asdict(d) for d in deletion.documents],
                               "blobs_removed": len(deletion.blobs_removed)}, ensure_ascii=False))
        return
    for doc in deletion.documents:
        typer.echo(f"deleted {doc.document_id} {doc.filename} ({doc.state}, postbox {doc.postbox or '-'})")
    typer.echo(f"{len(deletion.blobs_removed)} stored files removed")


@app.command()
def reprocess(
    document_id: Annotated[str | None, typer.Argument(help="The failed document's id (32 hex digits)")] = None,
    state: Annotated[str | None, typer.Option("--state", help="'failed': every failed document")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who, for the audit trail (default: the login name)")] = None,
    data_dir: DataDirOption = None,
    as_json: AsJson = False,
) -> None:
    """Process a failed document again under the same id, once the cause is fixed (the station that uploaded
    it keeps seeing it; `POST /api/v1/documents/{id}/reprocess` does the same). The running service's workers
    take it: through MAILROOM_BROKER_URL, or the embedded broker of the data directory. Audited
    (document.reprocessed). Exit status 1 when a document does not exist or did not fail."""
    from workers.celery_app import create_celery
    from workers.dispatch import CeleryDispatcher
    from workers.reprocess import failed_documents
    from workers.reprocess import reprocess as reprocess_one

    if (document_id is None) == (state is None):
        raise typer.BadParameter("give a document id or --state failed", param_hint="ID|--state")
    if state is not None and state != "failed":
        raise typer.BadParameter("only failed documents are processed again", param_hint="--state")
    settings = cli_settings(data_dir)
    dispatcher = CeleryDispatcher(create_celery(settings))
    done, errors = [], 0
    with database_engine(settings) as engine:
        sessions = session_factory(engine)
        for one in [document_id] if document_id is not None else failed_documents(sessions):
            try:
                outcome = reprocess_one(sessions, one, actor=f"cli:{by}" if by else cli_actor())
            except MailroomError as exc:
                err.print(f"error: {exc.code}: {one_line(exc.message)}", highlight=False, markup=False)
                errors += 1
                continue
            dispatcher.submit(one)
            done.append(asdict(outcome))
            if not as_json:
                typer.echo(f"{one}: processed again (was {outcome.previous_state}: {outcome.previous_error or '-'})")
    if as_json:
        typer.echo(json.dumps({"reprocessed": done}, ensure_ascii=False))
    if errors:
        raise typer.Exit(1)


@app.command()
def retention(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list the documents past their period")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Delete at most this many documents")] = 500,
    data_dir: DataDirOption = None,
    as_json: AsJson = False,
) -> None:
    """Delete the documents past their postbox's retention period once, as the scheduled task does.

    The period is the postbox's retention_days in the organisation directory, else MAILROOM_RETENTION_DAYS,
    counted from when the document was acknowledged (else placed) in its postbox.
    """
    from mailroom.retention import run_retention

    settings = cli_settings(data_dir)
    with database_engine(settings) as engine:
        report = run_retention(settings, session_factory(engine), BlobStore(settings.blob_dir), dry_run=dry_run,
                               limit=limit)
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
