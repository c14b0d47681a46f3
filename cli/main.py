"""The ``mailroom`` command: the composition root that wires settings, storage and the stages together."""

from __future__ import annotations

import gc

_GC_WAS_ON = gc.isenabled()
gc.disable()  # the imports below make long-lived objects only: collected for nothing (mailroom.startup)
# ruff: noqa: E402  (the imports come after switching the collector off)

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import DataDirOption, GuardedGroup, cli_settings, err, eval_app, require_paths, set_verbose
from mailroom import __version__
from mailroom.errors import MailroomError, NoLabelledData
from mailroom.startup import without_gc

# rich's progress and tables, the text measures and the pipeline are imported by the commands that use them:
# a worker or an API start does not need them (issue 16: start-up CPU)
if TYPE_CHECKING:
    from mailroom.evaluation import TextErrors
    from workers.inprocess import Outcome  # the pipeline is imported when a command runs it

if _GC_WAS_ON:
    gc.enable()

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

app = typer.Typer(
    cls=GuardedGroup,  # every error ends a command with one line `error: CODE: message`, never a traceback
    name="mailroom",
    help="Intelligent mail intake for German town halls: OCR, recognition and routing of incoming mail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # never print local variables (keys, secrets) in a traceback
)
app.add_typer(eval_app, name="eval")


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what every stage does (stderr)")] = False,
) -> None:
    set_verbose(verbose)


@app.command()
def version() -> None:
    """Print the version of mailroom."""
    typer.echo(f"mailroom {__version__}")


@app.command()
def doctor(data_dir: DataDirOption = None) -> None:
    """Check that Tesseract (with the configured language), Poppler and the data directory are usable."""
    from intake.poppler import check_poppler
    from intake.tesseract import TesseractEngine

    settings = cli_settings(data_dir)
    ok = True
    checks: list[tuple[str, str]] = []
    try:
        engine = TesseractEngine(language=settings.ocr_language, timeout=settings.ocr_timeout_seconds)
        checks.append(("tesseract", f"{engine.check()} (language {settings.ocr_language})"))
    except MailroomError as exc:
        ok = False
        checks.append(("tesseract", f"[red]{exc}[/red]"))
    try:
        checks.append(("poppler", check_poppler(settings.tool_timeout_seconds)))
    except MailroomError as exc:
        ok = False
        checks.append(("poppler", f"[red]{exc}[/red]"))
    checks.append(("data dir", str(settings.data_dir)))
    checks.append(("database", settings.resolved_database_url.split("@")[-1]))
    for name, value in checks:
        err.print(f"{name:10} {value}")
    raise typer.Exit(0 if ok else 1)


def _print_human(outcome: Outcome) -> None:
    if not outcome.results:
        error = outcome.error
        why = f"{error.code}: {error.message}" if error else "not processed"
        err.print(f"[red]✗ {outcome.path.name}[/red]  {why}", highlight=False)
        return
    if len(outcome.results) > 1:
        err.print(f"[green]✓[/green] {outcome.path.name}: {len(outcome.results)} letters, {outcome.seconds:.2f} s")
    for result in outcome.results:
        warnings = ", ".join(
            f"{w.code}" + (f"@p{w.page}" if w.page else "") for w in result.quality.warnings
        ) or "-"
        conf = f"{result.quality.ocr_confidence:.0f}" if result.quality.ocr_confidence is not None else "-"
        name = outcome.path.name
        if result.parent is not None:
            span = result.parent.pages
            name = f"  └ pages {span[0]}-{span[-1]}" if span else "  └ letter"
        seconds = f"{outcome.seconds:6.2f} s" if len(outcome.results) == 1 else " " * 8
        if result.rescan is not None:
            pages = ", ".join(str(n) for n in result.rescan.pages)
            err.print(f"[bold red]↻ NEU SCANNEN[/bold red] {name} (Seiten {pages}, {result.rescan.reason}): "
                      f"{result.rescan.message}", highlight=False)
            continue
        err.print(
            f"[green]✓[/green] {name:42} {result.pages:3d} p  {result.text_source:10}  "
            f"conf {conf:>3}  {seconds}  warnings: {warnings}",
            highlight=False,
        )


@app.command()
def process(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (PDF, TIFF, PNG, JPEG, XML e-invoices)")],
    as_json: Annotated[bool, typer.Option("--json", help="One mailroom.result/v1 JSON object per line on stdout")]
    = False,
    as_text: Annotated[bool, typer.Option("--text", help="The text read from each file on stdout, every page ended "
                                          "by a form feed (as pdftotext writes it)")] = False,
    station: Annotated[str | None, typer.Option(help="Station name recorded as the source")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the whole pipeline in-process on files and folders and print one result per document.

    No server is needed. Progress and logs go to stderr. Exit status 0 when every input was processed
    (routing to review counts as processed), 1 when at least one input was refused (a message per input says
    why, with its stable error code), 2 for usage errors.
    """
    with without_gc():  # start-up: many long-lived objects, no garbage (mailroom.startup)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from mailroom.text import plain_text
        from workers.inprocess import expand_inputs, process_path
        from workers.pipeline import PipelineContext

    if as_json and as_text:
        raise typer.BadParameter("--json and --text: choose one")
    settings = cli_settings(data_dir)
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        err.print(f"[red]✗ {p}[/red]  file_not_found: no such file or folder")
    files = expand_inputs([p for p in paths if p.exists()])
    if not files and not missing:
        err.print("no supported files found (PDF, TIFF, PNG, JPEG, XML)")
        raise typer.Exit(1)
    ctx = PipelineContext.create(settings)
    failures = len(missing)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err.console, transient=True, disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("processing", total=len(files))
        for path in files:
            progress.update(task, description=f"processing {path.name}")
            outcome = process_path(path, ctx, channel="cli", station=station)
            if not outcome.results:
                failures += 1
            if as_json:
                for result in outcome.results:
                    sys.stdout.write(result.to_json() + "\n")
                sys.stdout.flush()
            if as_text and outcome.document is not None:
                sys.stdout.write(plain_text(outcome.document.pages))
                sys.stdout.flush()
            if as_json and outcome.error is not None:
                err.print(f"error: {path}: {outcome.error.code}: {outcome.error.message}", highlight=False)
            if not as_json:
                _print_human(outcome)
            progress.advance(task)
    if not as_json:
        err.print(f"{len(files) - failures + len(missing)} of {len(files) + len(missing)} processed")
    raise typer.Exit(1 if failures else 0)


@eval_app.command("ocr")
def eval_ocr(
    directory: Annotated[Path, typer.Argument(help="Folder of documents with *.truth.json (sample_docs)")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Character and word error rates of the text mailroom reads, per document and in total."""
    with without_gc():
        from rich.console import Console
        from rich.table import Table

        from mailroom.evaluation import NO_ERRORS, load_truth, text_errors, truth_page_texts
        from workers.inprocess import expand_inputs, process_path
        from workers.pipeline import PipelineContext

    require_paths(directory)
    files = [p for p in expand_inputs([directory]) if load_truth(p) is not None]
    if not files:
        raise NoLabelledData(f"no documents with truth files in {directory}")
    scratch_dir = None
    if data_dir is None:
        scratch_dir = Path(tempfile.mkdtemp(prefix="mailroom-eval-"))
        data_dir = scratch_dir
    settings = cli_settings(data_dir)
    ctx = PipelineContext.create(settings)
    rows: list[dict[str, Any]] = []
    totals: dict[str, TextErrors] = {}
    try:
        for path in files:
            truth = load_truth(path)
            assert truth is not None
            outcome = process_path(path, ctx, channel="eval")
            if outcome.document is None:
                rows.append({"file": path.name, "error": outcome.error.code if outcome.error else "unknown"})
                continue
            pages = {p.number: p for p in outcome.document.pages}
            errors = NO_ERRORS
            for number, text in truth_page_texts(truth).items():
                page = pages.get(number)
                errors += text_errors(page.text if page else "", text)
            source = outcome.result.text_source if outcome.result else "none"
            totals[source] = totals.get(source, NO_ERRORS) + errors
            totals["all"] = totals.get("all", NO_ERRORS) + errors
            rows.append({
                "file": path.name, "text_source": source, "format": truth.get("format"),
                "cer": round(errors.cer, 4), "wer": round(errors.wer, 4), "chars": errors.chars,
                "char_errors": errors.char_errors, "words": errors.words, "word_errors": errors.word_errors,
            })
    finally:
        if scratch_dir is not None:
            shutil.rmtree(scratch_dir, ignore_errors=True)
    summary = {k: {"cer": round(v.cer, 4), "wer": round(v.wer, 4), "chars": v.chars} for k, v in totals.items()}
    if as_json:
        typer.echo(json.dumps({"documents": rows, "totals": summary}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"OCR accuracy on {directory}")
    for col in ("file", "format", "text source", "CER", "WER"):
        table.add_column(col)
    for row in rows:
        if "error" in row:
            table.add_row(row["file"], "", "", "[red]" + row["error"] + "[/red]", "")
        else:
            table.add_row(row["file"], str(row["format"]), row["text_source"],
                          f"{row['cer']:.2%}", f"{row['wer']:.2%}")
    Console().print(table)
    for source, v in summary.items():
        Console().print(f"total {source:10}: CER {v['cer']:.2%}  WER {v['wer']:.2%}  ({v['chars']} chars)")



def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
