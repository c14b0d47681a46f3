"""Commands for scanning stations: ``mailroom watch`` (a station's shared folder) and ``mailroom separator-sheet``
(the sheet to put between the letters of a stack)."""

from __future__ import annotations

import io
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import pikepdf
import typer

from cli.common import cli_settings, err


def separator_sheets(copies: int) -> bytes:
    """A PDF with ``copies`` separator sheets (Trennblätter): QR code and the word "Trennblatt" on each page."""
    from intake.separator_sheet import separator_pdf  # reportlab: only when printing sheets

    with pikepdf.open(io.BytesIO(separator_pdf())) as pdf:
        sheet = pdf.pages[0]
        for _ in range(copies - 1):
            pdf.pages.append(sheet)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
    return out.getvalue()


def separator_sheet(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the PDF")] = Path("trennblatt.pdf"),
    copies: Annotated[int, typer.Option("--copies", "-n", min=1, max=500, help="How many sheets")] = 1,
) -> None:
    """Write the separator sheet (Trennblatt) to print and put between the letters of a stack.

    Each sheet carries a QR code that intake recognises: the letter before it ends there, the sheet itself
    belongs to no letter.
    """
    out.write_bytes(separator_sheets(copies))
    err.print(f"{copies} separator sheet{'s' if copies > 1 else ''} written to {out}")


def watch(
    directory: Annotated[Path, typer.Argument(help="The folder the station writes into", file_okay=False,
                                              exists=True)],
    station: Annotated[str, typer.Option("--station", help="Station name recorded as the source")],
    once: Annotated[bool, typer.Option("--once", help="Take what is complete now, wait for it, then exit")] = False,
    poll: Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between two looks")] = 2.0,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (database, blobs)")] = None,
    settle: Annotated[
        float, typer.Option("--settle", min=0, help="With --once: seconds to wait for the receipts' outcomes")
    ] = 600.0,
) -> None:
    """Watch a station's folder: take each complete file, process it, move it to done/ or failed/.

    A file is complete when its size and time stay the same over two looks and no program has it open for
    writing. done/NAME.json is the receipt (document id, SHA-256, then the outcome, the quality warnings and a
    rescan request); failed/NAME.reason.txt says why a file was refused. A blank or unreadable scan moves on to
    rescan/NAME with rescan/NAME.rescan.txt (what to scan again, in German). Stop with Ctrl-C or SIGTERM; a
    restart at any moment loses nothing and duplicates nothing.
    """
    from mailroom.errors import MailroomError
    from workers.dispatch import InlineDispatcher
    from workers.pipeline import PipelineContext
    from workers.watch import StationFolder

    ctx = PipelineContext.create(cli_settings(data_dir))
    dispatcher = InlineDispatcher(ctx)
    folder = StationFolder(directory, station, ctx, dispatcher)
    try:
        if once:
            for item in folder.once(poll_seconds=poll):
                err.print(f"{item.name}: {item.outcome} {item.error or item.document_id or ''}", highlight=False)
            dispatcher.shutdown(wait=True)
            for item in folder.settle(timeout=settle):
                where = "NEU SCANNEN → rescan/" if item.outcome == "rescan" else "fertig"
                err.print(f"{item.name}: {where} {item.document_id}", highlight=False)
        else:
            stop = threading.Event()

            def request_stop(signum: int, frame: FrameType | None) -> None:
                stop.set()

            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
            err.print(f"watching {directory} for station {station} (every {poll:g} s); Ctrl-C stops")
            folder.watch(poll_seconds=poll, stop=stop)
    except MailroomError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        dispatcher.shutdown(wait=True)  # documents handed on are finished before the command ends


def register(main: typer.Typer) -> None:
    main.command("watch")(watch)
    main.command("separator-sheet")(separator_sheet)
