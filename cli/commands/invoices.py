"""``mailroom eval invoices DIR``: accuracy of invoice extraction (supplier master data: ``cli.commands.suppliers``)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pikepdf
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.common import err, eval_app, require_paths
from extraction.calibration import fit
from extraction.eval import REQUIRED, InvoiceScores, TruthInvoice, degrade_pdf, file_split, source_of, truth_invoices
from extraction.invoice import extract_invoice
from extraction.learning import learn_layout
from intake.einvoice import find_embedded_invoice_xml
from mailroom.errors import MailroomError, NoLabelledData
from mailroom.evaluation import load_truth
from mailroom.model import Document
from mailroom.settings import Settings

if TYPE_CHECKING:
    from workers.pipeline import PipelineContext

MAX_ERRORS_SHOWN = 30  # wrong values and missed required fields listed under the table
RASTERISED_PAGES = 4  # pages of a PDF turned into a scan for --rasterise (totals are often on page 2)



def einvoice_bytes(path: Path) -> bytes | None:
    """The e-invoice XML of a file: the file itself when it is XML, the attachment of a hybrid PDF, or None."""
    if path.suffix.lower() == ".xml":
        return path.read_bytes()
    if path.suffix.lower() != ".pdf":
        return None
    try:
        with pikepdf.open(path) as pdf:
            found = find_embedded_invoice_xml(pdf)
    except (pikepdf.PdfError, MailroomError):
        return None
    return None if found is None else found[1]


def _pdf_text(pdf: Path, last_page: int) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", str(last_page), str(pdf), "-"],
                          capture_output=True, timeout=60, check=False)
    return done.stdout.decode("utf-8", "replace")


def _generated_page_text(path: Path, pages: list[int] | None) -> str | None:
    truth = load_truth(path)
    if truth is None or "pages" not in truth:
        return None
    return "\n".join(p.get("text", "") for p in truth["pages"] if pages is None or p["number"] in pages)


def evaluate(
    directory: Path, ctx: PipelineContext, scores: InvoiceScores, *, rasterise: bool = False, limit: int | None = None,
    seed: int = 7, cache: Path | None = None, split: str | None = None, text_layer: bool = False,
    pairs: InvoiceScores | None = None, calibrate: bool = True,
) -> list[dict[str, str]]:
    """Run the pipeline and invoice extraction on every file with a truth file, adding to ``scores``.

    With ``rasterise``, each PDF's pages (up to :data:`RASTERISED_PAGES`) are turned into a degraded scan first (no
    XML, no text layer) and the PDF's own text tells which true values are printed there. Returns the files that
    were not processed. ``cache`` (a folder outside the repository) keeps each scanned or rasterised file's OCR
    result keyed by the file's bytes (and for a rasterised one the seed and page count), so that a second run
    re-reads only the extraction. With ``pairs``, learning from confirmations is measured too
    (:func:`score_pairs`).
    """
    from workers.inprocess import expand_inputs, process_path

    files = [p for p in expand_inputs([directory]) if truth_invoices(p)]
    if split is not None:
        files = [p for p in files if file_split(p) == split]
    if rasterise or text_layer:  # an XML file has neither pages to scan nor a text layer
        files = [p for p in files if p.suffix.lower() == ".pdf"]
    files = files[:limit] if limit else files
    failures: list[dict[str, str]] = []
    groups: dict[tuple[str, str], list[tuple[str, Document, TruthInvoice, str | None]]] = {}
    with ctx.scratch() as scratch:
        for number, path in enumerate(files):
            source, xml, page_text = path, None if text_layer else einvoice_bytes(path), None
            document: Document | None = None
            cached = None
            if rasterise:
                xml, page_text = None, _pdf_text(path, RASTERISED_PAGES)
            if cache is not None and xml is None:
                key = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
                variant = f"-s{seed + number}-p{RASTERISED_PAGES}" if rasterise else ""
                cached = cache / f"{key}{variant}.json"
                if cached.exists():
                    document = Document.model_validate_json(cached.read_text(encoding="utf-8"))
            if document is None:
                if rasterise:
                    source = degrade_pdf(path, scratch / f"{number:04d}-{path.stem}.tif", seed=seed + number,
                                         max_pages=RASTERISED_PAGES)
                outcome = process_path(source, ctx, channel="eval")
                if rasterise:
                    source.unlink(missing_ok=True)
                if outcome.document is None:
                    failures.append({"file": str(path), "error": outcome.error.code if outcome.error else "unknown"})
                    continue
                document = outcome.document
                if cached is not None:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    cached.write_text(document.model_dump_json(), encoding="utf-8")
            for truth in truth_invoices(path):
                pages = [p for p in document.pages if truth.pages is None or p.number in truth.pages]
                extraction = extract_invoice(Document(pages=pages), einvoice_xml=xml, calibrate=calibrate)
                text = page_text if rasterise else (None if xml else _generated_page_text(path, truth.pages))
                if text_layer and text is None and path.suffix.lower() == ".pdf":
                    text = _pdf_text(path, RASTERISED_PAGES)
                scores.add(str(path.relative_to(directory)), truth, extraction.invoice, text)
                if pairs is not None and xml is None:
                    name = str(path.relative_to(directory))
                    seller = truth.fields.get("seller_vat_id") or truth.fields.get("iban")
                    if seller:
                        seller += "|" + truth.fields.get("seller_name", "")
                        groups.setdefault((source_of(name), seller), []).append((name, Document(pages=pages), truth,
                                                                                text))
    if pairs is not None:
        score_pairs(groups, pairs)
    return failures


def score_pairs(
    groups: dict[tuple[str, str], list[tuple[str, Document, TruthInvoice, str | None]]], pairs: InvoiceScores
) -> None:
    """Learning from confirmations, measured on pairs: in each group of invoices of one supplier from one source,
    the first is confirmed with its true fields (its layout learned), and every further one is read with that
    layout and scored into ``pairs``."""
    for _, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        _, first_document, first_truth, _ = members[0]
        key = first_truth.fields.get("seller_vat_id") or first_truth.fields["iban"]
        layout = learn_layout(first_document, first_truth.fields, key)
        for name, document, truth, text in members[1:]:
            extraction = extract_invoice(document, layouts={key: layout})
            pairs.add(name, truth, extraction.invoice, text)


def report(scores: InvoiceScores, failures: list[dict[str, str]]) -> dict[str, Any]:
    """The JSON report: figures, every wrong value and missed required field, every file not processed."""
    return {**scores.summary(), "failures": failures, "errors": scores.errors}


def _print(summary: dict[str, Any], directory: Path) -> None:
    table = Table(title=f"Invoice extraction on {directory} ({summary['invoices']} invoices)")
    for column in ("field", "exact", "right", "wrong", "missing", "wrong ≥ 0.9"):
        table.add_column(column)
    for name, figures in summary["fields"].items():
        style = "bold" if name in REQUIRED else ""
        table.add_row(f"[{style}]{name}[/{style}]" if style else name, f"{figures['exact']:.1%}",
                      str(figures["right"]), str(figures["wrong"]), str(figures["missing"]),
                      str(figures["wrong_confident"]))
    console = Console()
    console.print(table)
    console.print(f"wrong values with confidence ≥ 0.9: {summary['wrong_confident_share']:.2%} of values given")
    console.print(f"invoices with every required field right: {summary['all_required_right']:.1%}")
    console.print(f"invoices a person would be asked to check (review): {summary['to_review']:.1%}")
    console.print(f"invoices needing no review with every required field right: {summary['no_review_all_right']:.1%}; "
                  f"passed without review with a required field wrong: {summary['no_review_but_wrong']}")
    for source, figures in summary["readings"].items():
        console.print(f"  read from {source}: {figures['invoices']} invoices, every required field right "
                      f"{figures['all_required_right']:.1%}, no review and all right "
                      f"{figures['no_review_all_right']:.1%}, "
                      f"passed review wrong {figures['no_review_but_wrong']}", highlight=False)
    for source, figures in summary["sources"].items():
        console.print(f"  {source}: {figures['invoices']} invoices, every required field right "
                      f"{figures['all_required_right']:.1%}", highlight=False)
    shown = summary["errors"][:MAX_ERRORS_SHOWN]
    for error in shown:
        got = "missing" if error["got"] is None else f"{error['got']} (confidence {error['confidence']})"
        console.print(f"[yellow]{error['field']}[/yellow] " + escape(f"{error['file']}: expected {error['expected']}, "
                      f"got {got}"), highlight=False)
    if len(summary["errors"]) > len(shown):
        console.print(f"… and {len(summary['errors']) - len(shown)} more (--json lists them all)")
    if "pairs" in summary:
        paired = summary["pairs"]
        console.print(f"pairs of one supplier: {paired['invoices']} second invoices read with the first one's learned "
                      f"layout, every required field right {paired['all_required_right']:.1%}")
    for failure in summary["failures"]:
        console.print(f"[red]not processed[/red] {failure['file']}: {failure['error']}")


def register(main_app: typer.Typer) -> None:
    """Add ``eval invoices`` to the ``eval`` group."""
    @eval_app.command("invoices")
    def eval_invoices(
        directory: Annotated[Path, typer.Argument(help="Folder of documents with *.truth.json")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
        rasterise: Annotated[bool, typer.Option(
            "--rasterise", help="Turn each PDF (up to 4 pages) into a degraded scan first (no XML, no text layer)")]
        = False,
        limit: Annotated[int | None, typer.Option(help="Only the first N files")] = None,
        seed: Annotated[int, typer.Option(help="Seed of the scan degradation")] = 7,
        cache: Annotated[Path | None, typer.Option(
            help="Folder (outside the repository) keeping the OCR of rasterised files between runs")] = None,
        split: Annotated[str | None, typer.Option(
            help="Only the 'dev' or the frozen 'test' business cases of the shared e-invoice corpus")] = None,
        text_layer: Annotated[bool, typer.Option(
            "--text-layer", help="Read PDFs by their text layer, ignoring their XML (other files left out)")]
        = False,
        fit_calibration: Annotated[Path | None, typer.Option(
            help="Fit the confidence calibration on these invoices (raw scores) and write it to this JSON file; "
            "fit on invoices the extractor was not tuned on, report on others")] = None,
        pairs: Annotated[bool, typer.Option(
            "--pairs", help="Also measure learning: per supplier and source, confirm the first invoice and read "
            "the others with its layout")] = False,
    ) -> None:
        """Per-field exact match of invoice extraction, wrong values given with confidence ≥ 0.9, and the
        share of invoices with every required field right."""
        from workers.pipeline import PipelineContext

        require_paths(directory)
        scratch = Path(tempfile.mkdtemp(prefix="mailroom-eval-invoices-"))
        try:
            scores = InvoiceScores()
            paired = InvoiceScores() if pairs else None
            failures = evaluate(directory, PipelineContext.create(Settings(data_dir=scratch)), scores,
                                rasterise=rasterise, limit=limit, seed=seed, cache=cache, split=split,
                                text_layer=text_layer, pairs=paired, calibrate=fit_calibration is None)
            summary = report(scores, failures)
            if paired is not None:
                summary["pairs"] = paired.summary()
            if fit_calibration is not None:
                fit_calibration.write_text(fit(scores.examples).to_json() + "\n", encoding="utf-8")
                err.print(f"calibration of {sum(map(len, scores.examples.values()))} values written to "
                          f"{fit_calibration}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if summary["invoices"] == 0:
            raise NoLabelledData(f"no invoices with truth files in {directory}")
        if as_json:
            typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            _print(summary, directory)
