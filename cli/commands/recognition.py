"""Recognition commands: ``mailroom train``, ``mailroom models list|prepare|rollback``, ``mailroom eval routing
DIR``.

:func:`route_document` is the whole decision for one read document (recognise → rules → hybrid decision); the
pipeline and ``eval routing`` both call it.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.common import DataDirOption, cli_actor, cli_settings, database, err, eval_app, require_paths
from mailroom.settings import Settings

if TYPE_CHECKING:
    from classifiers.registry import ModelRegistry
    from mailroom.model import Document
    from routing.router import Router


CURVE_THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)

out = Console()
models_app = typer.Typer(help="Versions of the recognition models: list, roll back, prepare the defaults.",
                         no_args_is_help=True)



# --- evaluation on labelled mail ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingCase:
    """One letter of labelled mail: truth and what mailroom decided."""

    file: str
    true_type: str | None  # None: the truth names no type (independent letters of no type of the town)
    true_postbox: str
    type: str
    best_postbox: str | None
    score: float
    status: str
    postbox: str | None
    decided_by: str | None
    rule_decided: bool
    millis: float  # wall time of the decision (recognition + rules + policy)
    addressing: str = "-"  # department | town | person: what the address field names
    cpu_millis: float = 0.0  # CPU time of the same (this thread's: other processes on the machine do not count)


def truth_letters(path: Path) -> list[dict[str, Any]] | None:
    """The letters of a labelled file, or None when it has no truth. Two formats: the generator's
    (``FILE.truth.json`` with ``letters``) and the independent letters' (``STEM.truth.json`` with ``postbox`` and
    ``addressing``, one letter per file, tests/data/independent/letters/README.md)."""
    from mailroom.evaluation import load_truth

    truth = load_truth(path)
    if truth is None:
        independent = path.with_name(path.stem + ".truth.json")
        if path.suffix == ".json" or not independent.exists():
            return None
        truth = json.loads(independent.read_text(encoding="utf-8"))
    if "letters" in truth:
        return [
            {**letter, "addressing": _addressing(letter.get("recipient") or {})} for letter in truth["letters"]
        ]
    if "postbox" not in truth:
        return None
    return [{"pages": [], "postbox": truth["postbox"], "document_type": truth.get("document_type"),
             "addressing": truth.get("addressing") or "-"}]


def _addressing(recipient: dict[str, Any]) -> str:
    if recipient.get("person"):
        return "person"
    return "department" if recipient.get("department") else "town"


def routing_report(cases: list[RoutingCase]) -> dict[str, Any]:
    """Type accuracy and macro-F1, postbox accuracy, automation and its precision, confusion, curve."""
    from sklearn.metrics import f1_score
    n = len(cases)
    typed = [c for c in cases if c.true_type is not None]
    truth, predicted = [str(c.true_type) for c in typed], [c.type for c in typed]
    routed = [c for c in cases if c.status == "routed"]
    labels = sorted(set(truth))
    curve = []
    for threshold in CURVE_THRESHOLDS:
        auto = [c for c in cases if c.rule_decided or c.score >= threshold]
        right = sum((c.postbox if c.rule_decided else c.best_postbox) == c.true_postbox for c in auto)
        curve.append(
            {"threshold": threshold, "automated": len(auto) / n, "precision": right / len(auto) if auto else 1.0}
        )
    millis = sorted(c.millis for c in cases)
    cpu_millis = sorted(c.cpu_millis for c in cases)
    by_addressing = {}
    for mode in sorted({c.addressing for c in cases}):
        of_mode = [c for c in cases if c.addressing == mode]
        auto = [c for c in of_mode if c.status == "routed"]
        by_addressing[mode] = {
            "letters": len(of_mode),
            "routed_share": len(auto) / len(of_mode),
            "routed_precision": sum(c.postbox == c.true_postbox for c in auto) / len(auto) if auto else 1.0,
        }
    return {
        "documents": n,
        "by_addressing": by_addressing,
        "typed_documents": len(typed),
        "type_accuracy": sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(typed) if typed else 0.0,
        "type_macro_f1": (
            float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)) if typed else 0.0
        ),  # a set of letters none of which has a type (all null): no type figures, no crash
        "postbox_accuracy": sum(c.best_postbox == c.true_postbox for c in cases) / n,
        "routed_share": len(routed) / n,
        "routed_precision": sum(c.postbox == c.true_postbox for c in routed) / len(routed) if routed else 1.0,
        "review_share": 1 - len(routed) / n,
        "wrongly_routed": [asdict(c) for c in routed if c.postbox != c.true_postbox],
        "decided_by": dict(Counter((c.decided_by or "-").split("@")[0] for c in routed)),
        "predict_ms": {"median": statistics.median(millis), "p95": millis[int(0.95 * (n - 1))], "max": millis[-1]},
        "predict_cpu_ms": {"median": statistics.median(cpu_millis), "p95": cpu_millis[int(0.95 * (n - 1))],
                           "max": cpu_millis[-1]},
        "confusion": {t: dict(Counter(p for tt, p in zip(truth, predicted, strict=True) if tt == t)) for t in labels},
        "automation_curve": curve,
    }


def cases_for_file(path: Path, document: Document, e_invoice: bool, router: Router) -> list[RoutingCase]:
    """Decide each letter of a processed labelled file (a stack has several) and compare with its truth."""
    from mailroom.model import Document
    from routing.router import route_document
    letters = truth_letters(path)
    assert letters is not None
    cases = []
    for letter in letters:
        part = (
            Document(pages=[p for p in document.pages if p.number in letter["pages"]]) if letter["pages"] else document
        )
        started, cpu_started = time.perf_counter(), time.thread_time()
        decision = route_document(part, router, e_invoice=e_invoice)
        millis = (time.perf_counter() - started) * 1000
        cpu_millis = (time.thread_time() - cpu_started) * 1000
        routing = decision.routing
        best = decision.scores[0] if decision.scores else None
        rule_decided = (routing.decided_by or "").startswith("rule:")
        cases.append(
            RoutingCase(
                file=path.name,
                true_type=letter["document_type"],
                true_postbox=letter["postbox"],
                type=decision.document_type.label,
                best_postbox=routing.postbox if rule_decided else (best.postbox if best else None),
                score=routing.confidence or 0.0 if rule_decided else (best.score if best else 0.0),
                status=routing.status,
                postbox=routing.postbox,
                decided_by=routing.decided_by,
                rule_decided=rule_decided,
                millis=millis,
                addressing=letter["addressing"],
                cpu_millis=cpu_millis,
            )
        )
    return cases


def evaluate_routing(
    directory: Path, settings: Settings, router: Router
) -> tuple[list[RoutingCase], list[dict[str, str]]]:
    """Run the pipeline on every labelled file of ``directory`` (documents stored in ``settings``' data
    directory) and decide each letter."""
    from workers.inprocess import expand_inputs, process_path
    from workers.pipeline import PipelineContext

    ctx = PipelineContext.create(settings)
    cases: list[RoutingCase] = []
    errors: list[dict[str, str]] = []
    for path in (p for p in expand_inputs([directory]) if truth_letters(p) is not None):
        outcome = process_path(path, ctx, channel="eval")
        if outcome.document is None or outcome.result is None:
            errors.append({"file": path.name, "error": outcome.error.code if outcome.error else "unknown"})
            continue
        cases += cases_for_file(path, outcome.document, outcome.result.text_source == "e_invoice", router)
    return cases, errors


def _print_report(report: dict[str, Any], errors: list[dict[str, str]]) -> None:
    out.print(
        f"{report['documents']} letters: type accuracy {report['type_accuracy']:.2%} "
        f"(of {report['typed_documents']} with a type), "
        f"macro-F1 {report['type_macro_f1']:.4f}; best postbox right {report['postbox_accuracy']:.2%}"
    )
    out.print(
        f"routed automatically {report['routed_share']:.2%} with {report['routed_precision']:.2%} correct; "
        f"review {report['review_share']:.2%}; decided by {report['decided_by']}"
    )
    for mode, part in report.get("by_addressing", {}).items():
        out.print(
            f"  addressed to {mode}: {part['letters']} letters, routed {part['routed_share']:.2%} "
            f"with {part['routed_precision']:.2%} correct"
        )
    ms = report["predict_ms"]
    cpu = report["predict_cpu_ms"]
    out.print(f"decision per letter (recognition + rules + policy): wall median {ms['median']:.1f} ms, p95 "
              f"{ms['p95']:.1f} ms, max {ms['max']:.1f} ms; CPU median {cpu['median']:.1f} ms, p95 {cpu['p95']:.1f} "
              f"ms, max {cpu['max']:.1f} ms")
    curve = Table(title="automation curve (model score threshold)")
    for col in ("threshold", "automated", "precision"):
        curve.add_column(col)
    for point in report["automation_curve"]:
        curve.add_row(f"{point['threshold']:.2f}", f"{point['automated']:.2%}", f"{point['precision']:.2%}")
    out.print(curve)
    confusion = Table(title="document types: truth (rows) → predicted")
    confusion.add_column("truth")
    confusion.add_column("predicted")
    for label, row in report["confusion"].items():
        confusion.add_row(label, ", ".join(f"{k} {v}" for k, v in sorted(row.items(), key=lambda kv: -kv[1])))
    out.print(confusion)
    for wrong in report["wrongly_routed"]:
        out.print(f"[red]wrong[/red] {wrong['file']}: {wrong['postbox']} (truth {wrong['true_postbox']})")
    for error in errors:
        out.print(f"[red]error[/red] {error['file']}: {error['error']}")


# --- commands ----------------------------------------------------------------------------------------------


Kind = Annotated[str, typer.Option("--kind", help="doctype or postbox")]


def _registry(settings: Settings, kind: str) -> ModelRegistry:
    from routing.training import registries

    by_kind = {r.kind: r for r in registries(settings)}
    if kind not in by_kind:
        raise typer.BadParameter(f"unknown model kind {kind!r}: {', '.join(by_kind)}")
    return by_kind[kind]


@models_app.command("list")
def models_list(data_dir: DataDirOption = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every stored model version with its metrics; the current one is marked."""
    from routing.training import registries

    settings = cli_settings(data_dir)
    listing = []
    for registry in registries(settings):
        current = registry.current_version()
        for version in registry.versions():
            meta = registry.metadata(version)
            listing.append({**meta, "current": version == current})
    if as_json:
        typer.echo(json.dumps(listing, ensure_ascii=False, indent=1))
        return
    table = Table(title=f"models in {settings.data_dir / 'models'}")
    for col in ("kind", "version", "current", "created", "rows", "macro-F1", "training data"):
        table.add_column(col)
    for meta in listing:
        metrics = meta.get("metrics") or {}
        f1 = f"{metrics['macro_f1']:.4f}" if "macro_f1" in metrics else "-"
        table.add_row(
            meta["kind"],
            str(meta["version"]),
            "✓" if meta["current"] else "",
            meta["created_at"],
            str(meta["training_rows"]),
            f1,
            meta["training_data_hash"][:12],
        )
    out.print(table)


@models_app.command("prepare")
def models_prepare(data_dir: DataDirOption = None) -> None:
    """Build the default recognition models of this version once (into MAILROOM_MODELS_CACHE_DIR, one to three
    minutes), so that the first letter of a new data directory does not wait for a training.
    scripts/bootstrap.sh and the image build run it; a no-op when they are built."""
    from routing.training import prepare_default_models

    started = time.monotonic()
    folder = prepare_default_models(cli_settings(data_dir))
    err.print(f"default models ready in {folder} ({time.monotonic() - started:.0f} s)")


@models_app.command("rollback")
def models_rollback(kind: Kind = "doctype", data_dir: DataDirOption = None) -> None:
    """Make the previously current version of a model current again (recorded in the audit trail as
    ``model.rolled_back``)."""
    from mailroom import audit

    settings = cli_settings(data_dir)
    registry = _registry(settings, kind)
    before = registry.current_version()
    with database(settings) as session:  # the entry is written with the change, in one short step
        version = registry.rollback()
        audit.record(session, actor=cli_actor(), action="model.rolled_back", object_type="model",
                     object_id=f"{kind}:{version}", details={"kind": kind, "from_version": before,
                                                             "to_version": version})
    err.print(f"{kind} model: version {version} is current again")


def register(main_app: typer.Typer) -> None:
    main_app.add_typer(models_app, name="models")

    @main_app.command("train")
    def train_command(
        count: Annotated[int, typer.Option(help="Generated letters to train on")] = 1500,
        seed: Annotated[int, typer.Option(help="Seed of the generated letters")] = 5001,
        data_dir: DataDirOption = None,
    ) -> None:
        """Retrain both models on generated mail + stored corrections; promote each only if not worse."""
        from routing.training import retrain

        settings = cli_settings(data_dir)
        with database(settings) as session:
            report = retrain(settings, session, count=count, seed=seed, actor=cli_actor())
        err.print(
            f"trained on {report.generated_rows} generated letters + {report.correction_rows} corrected "
            f"documents; measured on {report.heldout_rows} held-back letters"
        )
        for kind, promotion in (("doctype", report.document_type), ("postbox", report.postbox)):
            verdict = "promoted" if promotion.promoted else "kept the current model"
            err.print(f"{kind}: {verdict} (version {promotion.version}): {promotion.reason}")

    @eval_app.command("routing")
    def eval_routing(
        directories: Annotated[
            list[Path],
            typer.Argument(help="Folders of labelled mail: generated (sample_docs) or independent letters; each "
                                "is reported on its own"),
        ],
        as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
        rules_file: Annotated[Path | None, typer.Option("--rules", help="Rule set YAML (default: the pack)")] = None,
        thresholds_file: Annotated[Path | None, typer.Option("--thresholds", help="Thresholds YAML")] = None,
        data_dir: DataDirOption = None,
    ) -> None:
        """Per set of labelled mail: routed automatically and how precisely (also by addressing: department, town,
        person), type accuracy and macro-F1, postbox accuracy, confusion matrix and the automation curve.

        Report a generated set and an independent set side by side, e.g.
        ``mailroom eval routing /tmp/generated tests/data/independent/letters/test``: the figure that counts is the
        independent one."""
        from mailroom.errors import NoLabelledData
        from routing.router import Router

        require_paths(*directories)
        settings = cli_settings(data_dir)
        router = Router.create(settings, rules_file=rules_file, thresholds_file=thresholds_file)
        router.learn_from_corrections = False  # an evaluation measures the directory, rules and models alone
        reports: list[dict[str, Any]] = []
        for directory in directories:
            scratch = Path(tempfile.mkdtemp(prefix="mailroom-eval-"))  # the evaluated documents are not kept
            try:
                scratch_settings = settings.model_copy(update={"data_dir": scratch, "database_url": None})
                cases, errors = evaluate_routing(directory, scratch_settings, router)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            if not cases:
                raise NoLabelledData(f"no labelled documents in {directory}")
            kind = "generated" if _generated(directory) else "independent"
            reports.append({"set": str(directory), "kind": kind, **routing_report(cases), "errors": errors})
        if as_json:
            body: dict[str, Any] = reports[0] if len(reports) == 1 else {"sets": reports}
            typer.echo(json.dumps(body, ensure_ascii=False, indent=1))
            return
        for report in reports:
            out.rule(f"{report['set']} ({report['kind']})")
            _print_report(report, report["errors"])
        if len(reports) > 1:
            summary = Table(title="routed automatically / precision, per set")
            for col in ("set", "kind", "letters", "routed", "precision", "by addressing"):
                summary.add_column(col)
            for report in reports:
                modes = ", ".join(
                    f"{mode} {m['routed_share']:.1%}/{m['routed_precision']:.1%}"
                    for mode, m in report["by_addressing"].items()
                )
                summary.add_row(report["set"], report["kind"], str(report["documents"]),
                                f"{report['routed_share']:.1%}", f"{report['routed_precision']:.1%}", modes)
            out.print(summary)


def _generated(directory: Path) -> bool:
    """A set written by sample_docs (its truth files have ``letters``), not independent letters."""
    from mailroom.evaluation import load_truth
    from workers.inprocess import expand_inputs

    first = next((p for p in expand_inputs([directory]) if load_truth(p) is not None), None)
    return first is not None
