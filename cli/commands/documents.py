"""``mailroom documents``: delete a document on request (data protection), run the retention once, process a
failed document again (``reprocess``: submitted to the running service's workers), and the people's decisions
on scans: send one of the review queue back to its station (``rescan``), close a rescan request (``dismiss``),
split one into letters (``split``).

``delete`` and ``retention`` work on the data directory's database and blob store directly (no running service
needed) and leave an audit tombstone per deleted document (``document.deleted``), as the scheduled retention and
``DELETE /api/v1/documents/{id}`` do (:mod:`mailroom.retention`). ``rescan``, ``dismiss`` and ``split`` call the
functions behind ``POST /api/v1/documents/{id}/rescan|dismiss|split`` and the web UI's buttons
(:mod:`api.rescan`, :mod:`api.split`), audited as ``cli:<login name>`` (or ``--by``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from cli.common import DataDirOption, cli_actor, cli_settings, database_engine, err, one_line
from mailroom.errors import MailroomError
from mailroom.storage.blobs import BlobStore
from mailroom.storage.db import session_factory

NAME = "documents"
app = typer.Typer(help="Documents: delete one on request (data protection), run the retention once, process a "
                  "failed one again; send one back to its station for a rescan, close a rescan request, split one "
                  "into letters.",
                  no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]
DocumentId = Annotated[str, typer.Argument(help="The document id (32 hex digits)")]
By = Annotated[str | None, typer.Option("--by", help="Who, for the audit trail (default: the login name)")]


def _actor(by: str | None) -> str:
    return f"cli:{by}" if by else cli_actor()


def _state_line(row: Any, as_json: bool, **extra: Any) -> None:
    if as_json:
        typer.echo(json.dumps({"document_id": row.id, "state": row.state, **extra}, ensure_ascii=False))
    else:
        typer.echo(f"{row.id} {row.filename}: {row.state}" + "".join(f", {k} {v}" for k, v in extra.items()))


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


@app.command()
def rescan(
    document_id: DocumentId,
    message: Annotated[str, typer.Option("--message", help="What the station operator reads (why, what to do)")],
    page: Annotated[
        list[int] | None, typer.Option("--page", min=1, help="A page to scan again (repeatable; default: all)")
    ] = None,
    by: By = None,
    data_dir: DataDirOption = None,
    as_json: AsJson = False,
) -> None:
    """Send a document of the review queue back to its station for a rescan.

    As the validation station's "Zurück an die Station" and POST /api/v1/documents/{id}/rescan do: it waits in state
    rescan with the message, which the station reads. Audited (document.rescan_requested). Exit status 1 when it is
    not in review (invalid_transition) or no station scanned it (no_station)."""
    from api.rescan import send_back_for_rescan

    settings = cli_settings(data_dir)
    with database_engine(settings) as engine:
        row = send_back_for_rescan(session_factory(engine), document_id, decided_by=_actor(by), message=message,
                                   pages=list(page or []))
    _state_line(row, as_json, station=row.station)


@app.command()
def dismiss(
    document_id: DocumentId,
    replaced_by: Annotated[
        str | None, typer.Option("--replaced-by", help="The new scan's document id (it must exist)")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note for the trail (at most 500 characters)")] = None,
    by: By = None,
    data_dir: DataDirOption = None,
    as_json: AsJson = False,
) -> None:
    """Close a rescan request once the letter is scanned again (or there is nothing to scan).

    As the station view's "Erledigt" and POST /api/v1/documents/{id}/dismiss do: the document moves to dismissed and
    is kept with its trail until retention takes it. Audited (document.rescan_dismissed). Exit status 1 when it does
    not wait for a rescan (invalid_transition) or --replaced-by names no document (validation_error)."""
    from api.rescan import dismiss_rescan

    settings = cli_settings(data_dir)
    with database_engine(settings) as engine:
        row = dismiss_rescan(session_factory(engine), document_id, actor=_actor(by), principal=None,
                             replaced_by=replaced_by, note=note)
    _state_line(row, as_json)


@app.command()
def split(
    document_id: DocumentId,
    before: Annotated[list[int], typer.Option("--before", min=2, help="A new letter starts at this page "
                                              "(repeatable)")],
    by: By = None,
    data_dir: DataDirOption = None,
    as_json: AsJson = False,
) -> None:
    """Split a document of the review queue into letters.

    As the validation station's "Hier trennen" and POST /api/v1/documents/{id}/split do: the document moves to
    split, each letter becomes a document of its own and is read and routed by the running service's workers
    (through MAILROOM_BROKER_URL, or the embedded broker of the data directory; without a running service they wait
    until it starts). Audited (document.split). Exit status 1 when it is not in review (invalid_transition) or a
    page is outside 2..pages (invalid_split)."""
    from api.split import split_document
    from workers.celery_app import create_celery
    from workers.dispatch import CeleryDispatcher
    from workers.pipeline import PipelineContext

    settings = cli_settings(data_dir)
    done = split_document(PipelineContext.create(settings), CeleryDispatcher(create_celery(settings)), document_id,
                          before_pages=before, actor=_actor(by))
    if as_json:
        typer.echo(json.dumps({"document_id": done.document_id, "state": "split", "letters": done.letters}))
        return
    typer.echo(f"{done.document_id}: split into {len(done.letters)} letters: {' '.join(done.letters)}")
