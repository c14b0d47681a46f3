"""``mailroom mail``: the e-mail intake (docs/mail.md): check the mailbox file, poll once, run, show the status.

``mailroom serve`` runs the mailboxes itself when ``MAILROOM_MAILBOXES_FILE`` is set (a ``mail run`` child
process). In a scale-out deployment ``mailroom mail run`` is a process of its own next to the workers.
"""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.common import DataDirOption, err
from mailroom.errors import MailboxesConfigError, MailroomError

NAME = "mail"
app = typer.Typer(help="E-mail intake: mailboxes read over IMAP (check, poll, run, status).", no_args_is_help=True)
out = Console(soft_wrap=True)

MailboxesFile = Annotated[
    Path | None, typer.Option("--file", help="Mailbox file; default: $MAILROOM_MAILBOXES_FILE")
]
AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per line")]


def _mailboxes(file: Path | None, data_dir: Path | None) -> tuple[Any, tuple[Any, ...]]:
    from cli.common import cli_settings
    from workers.mailboxes import load_mailboxes

    settings = cli_settings(data_dir)
    path = file or settings.mailboxes_file
    if path is None:
        raise MailboxesConfigError("no mailbox file: set MAILROOM_MAILBOXES_FILE or give --file")
    return settings.model_copy(update={"mailboxes_file": path}), load_mailboxes(path)


@app.command("check")
def check(file: MailboxesFile = None, connect: Annotated[bool, typer.Option(
    "--connect", help="Also log in to each mailbox and count the waiting messages")] = False,
          data_dir: DataDirOption = None) -> None:
    """Validate the mailbox file (and with --connect, log in); print the mailboxes without secrets."""
    settings, boxes = _mailboxes(file, data_dir)
    table = Table("mailbox", "server", "login", "folder", "processed", "refused", "waiting")
    failed = False
    for box in boxes:
        waiting = "-"
        if connect:
            waiting = _count_waiting(settings, box)
            failed = failed or not waiting.isdigit()
        login = "oauth2" if box.oauth2 else "password"
        table.add_row(box.name, f"{box.host}:{box.port} ({box.security})", f"{box.username} ({login})", box.folder,
                      box.processed_folder, box.refused_folder, waiting)
    out.print(table)
    if failed:
        raise typer.Exit(1)


def _count_waiting(settings: Any, box: Any) -> str:
    from workers.mail import MailboxReader
    from workers.pipeline import PipelineContext

    reader = MailboxReader(box, PipelineContext.create(settings), dispatcher=_NoDispatch())
    try:
        with reader.connected() as client:
            if not client.folder_exists(box.folder):
                return f"no folder {box.folder}"
            return str(client.folder_status(box.folder, [b"MESSAGES"])[b"MESSAGES"])
    except MailroomError as exc:
        return f"{exc.code}: {exc.message}"


class _NoDispatch:
    def submit(self, document_id: str, *, again: bool = False) -> None:  # pragma: no cover - never called
        raise AssertionError("check does not take messages")


@app.command("poll")
def poll(
    mailbox: Annotated[list[str] | None, typer.Option("--mailbox", help="Only this mailbox (repeatable)")] = None,
    wait: Annotated[bool, typer.Option(help="Wait until the documents are processed (in this process)")] = True,
    file: MailboxesFile = None, as_json: AsJson = False, data_dir: DataDirOption = None,
) -> None:
    """Take every waiting message of each mailbox once, in this process, and report what happened."""
    from workers.dispatch import InlineDispatcher
    from workers.mail import MailboxReader
    from workers.pipeline import PipelineContext

    settings, boxes = _mailboxes(file, data_dir)
    chosen = [box for box in boxes if not mailbox or box.name in mailbox]
    unknown = sorted(set(mailbox or ()) - {box.name for box in boxes})
    if unknown:
        raise MailboxesConfigError(f"no such mailbox in the file: {', '.join(unknown)}")
    ctx = PipelineContext.create(settings)
    dispatcher = InlineDispatcher(ctx)
    problems = 0
    for box in chosen:
        try:
            report = MailboxReader(box, ctx, dispatcher).poll()
        except MailroomError as exc:
            problems += 1
            _print({"mailbox": box.name, "error": exc.to_dict()}, as_json,
                   f"{box.name}: [red]{exc.code}[/red]: {exc.message}")
            continue
        _print({"mailbox": box.name, "filed": report.filed, "refused": [
            {"message_id": mid, "code": code} for mid, code in report.refused
        ], "moved_again": report.moved_again, "documents": report.documents}, as_json,
               f"{box.name}: {len(report.filed)} E-Mails übernommen ({len(report.documents)} Dokumente), "
               f"{len(report.refused)} abgelehnt"
               + "".join(f"\n  abgelehnt: {mid}: {code}" for mid, code in report.refused))
    dispatcher.shutdown(wait=wait)
    if problems:
        raise typer.Exit(1)


def _print(data: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        out.print(text, highlight=False)


@app.command("run")
def run(file: MailboxesFile = None, data_dir: DataDirOption = None) -> None:
    """Read every mailbox until stopped (SIGTERM/Ctrl-C); documents go to the service's workers."""
    from workers.celery_app import create_celery
    from workers.dispatch import CeleryDispatcher
    from workers.mail import MailboxReader
    from workers.pipeline import PipelineContext

    settings, boxes = _mailboxes(file, data_dir)
    ctx = PipelineContext.create(settings)
    dispatcher = CeleryDispatcher(create_celery(settings))
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    threads = [threading.Thread(target=MailboxReader(box, ctx, dispatcher).run, args=(stop,), name=f"mail-{box.name}")
               for box in boxes]
    for thread in threads:
        thread.start()
    err.print(f"reading {len(boxes)} mailboxes: {', '.join(box.name for box in boxes)}; Ctrl-C stops", highlight=False)
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(timeout=0.5)


@app.command("status")
def status(as_json: AsJson = False, data_dir: DataDirOption = None) -> None:
    """Each mailbox's last poll, its errors, and the messages it refused lately (with the reason)."""
    from sqlalchemy import select

    from cli.common import cli_settings, database
    from mailroom.storage import mail as mail_storage

    with database(cli_settings(data_dir), readonly=True) as session:
        rows = mail_storage.statuses(session)
        refused = session.scalars(select(mail_storage.MailMessageRow).where(
            mail_storage.MailMessageRow.state == mail_storage.MessageState.REFUSED.value
        ).order_by(mail_storage.MailMessageRow.id.desc()).limit(20)).all()
        boxes = [{
            "mailbox": row.mailbox, "last_poll_at": _time(row.last_poll_at),
            "last_success_at": _time(row.last_success_at),
            "consecutive_failures": row.consecutive_failures, "last_error_code": row.last_error_code,
            "last_error_message": row.last_error_message, "messages_filed": row.messages_filed,
            "messages_refused": row.messages_refused,
        } for row in rows.values()]
        refusals = [{"mailbox": r.mailbox, "message_id": r.message_id, "sender": r.sender, "code": r.error_code,
                     "reason": r.error_message, "received_at": _time(r.received_at)} for r in refused]
    if as_json:
        for box in boxes:
            print(json.dumps(box, ensure_ascii=False))
        for refusal in refusals:
            print(json.dumps({"refused": refusal}, ensure_ascii=False))
        return
    table = Table("mailbox", "last poll", "last success", "failures", "last error", "filed", "refused")
    for box in boxes:
        error = f"{box['last_error_code']}: {box['last_error_message']}" if box["consecutive_failures"] else ""
        table.add_row(str(box["mailbox"]), str(box["last_poll_at"] or "-"), str(box["last_success_at"] or "-"),
                      str(box["consecutive_failures"]), error, str(box["messages_filed"]), str(box["messages_refused"]))
    out.print(table)
    for refusal in refusals:
        out.print(f"abgelehnt: {refusal['mailbox']}: {refusal['sender']} {refusal['message_id']}: "
                  f"{refusal['code']}: {refusal['reason']}", highlight=False)


def _time(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
