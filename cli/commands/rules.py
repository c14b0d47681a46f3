"""``mailroom rules ...``: check, version, activate, roll back, share and try out routing rules.

Every command except ``validate`` and ``eval`` works on the rule set in the data directory's database; the
default pack is installed as version 1 the first time it is needed. ``validate``, ``import``, ``activate`` and
``rollback`` check the rules against the data directory's organisation directory (``rules_not_in_directory``) and
its type model's document types (``set_type``: ``unknown_document_type``).
"""

from __future__ import annotations

import getpass
import json
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.common import DataDirOption, cli_settings, database, err, fail
from mailroom.directory import current_directory
from mailroom.errors import FileNotFound
from mailroom.settings import Settings

NAME = "rules"
app = typer.Typer(help="Routing rules: validate, versions, activate, rollback, import/export, simulate, eval.",
                  no_args_is_help=True)
out = Console()

RuleSetName = Annotated[str, typer.Option("--name", help="Rule set name")]
Actor = Annotated[str | None, typer.Option("--actor", help="Who makes the change (default: the login name)")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _checked_against(data_dir: Path | None) -> dict[str, Any]:
    """What a rule set is checked against, as the REST API does: the organisation directory in force and the
    document types the type model knows (``set_type``)."""
    from routing.training import known_document_types

    settings = cli_settings(data_dir)
    return {"directory": current_directory(settings), "document_types": known_document_types(settings)}


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail("file_not_found", f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise fail("invalid_rules", f"{path}: not UTF-8 text (byte {exc.start})") from None


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="Rule set or rule pack (YAML)")],
    data_dir: DataDirOption = None,
) -> None:
    """Check a rule file, also against the organisation directory in force (every postbox in route_to/copy_to,
    every person and department in a condition must exist) and the type model (every set_type must be a document
    type it knows); prints every problem (rule id, field, why) and exits 1 if there is one."""
    from rules import check_ruleset
    from rules.validate import NAME_CODES

    text = _read(path)
    against = _checked_against(data_dir)
    ruleset, problems = check_ruleset(text, **against)
    for problem in problems:
        err.print(f"{path}: {problem}", highlight=False, markup=False)
    if ruleset is None or problems:
        code = "rules_not_in_directory" if ruleset and all(p.code in NAME_CODES for p in problems) else "invalid_rules"
        err.print(f"error: {code}: {len(problems)} problem(s) in {path}", highlight=False, markup=False)
        raise typer.Exit(1)
    out.print(f"{path}: valid, {len(ruleset.rules)} rules, version {ruleset.version}", highlight=False)


@app.command("list")
def list_versions(data_dir: DataDirOption = None, name: RuleSetName = "default", as_json: AsJson = False) -> None:
    """The versions of the rule set with their status (draft, active, history)."""
    from rules.store import ensure_default_ruleset, list_versions

    with database(cli_settings(data_dir)) as session:
        ensure_default_ruleset(session, name=name)
        rows: list[dict[str, str]] = [
            {"version": str(r.version), "status": r.status, "source": r.source or "", "created_by": r.created_by,
             "created_at": r.created_at.isoformat(),
             "activated_at": r.activated_at.isoformat() if r.activated_at else ""}
            for r in list_versions(session, name)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"rule set {name}")
    for column in ("version", "status", "source", "created by", "created at", "activated at"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["version"], r["status"], r["source"], r["created_by"], r["created_at"][:19],
                      r["activated_at"][:19])
    out.print(table)


@app.command()
def show(
    version: Annotated[int | None, typer.Argument(help="Version number (default: the active one)")] = None,
    data_dir: DataDirOption = None,
    name: RuleSetName = "default",
) -> None:
    """Print the YAML of a version as stored."""
    from rules.store import ensure_default_ruleset, get_version

    with database(cli_settings(data_dir)) as session:
        ensure_default_ruleset(session, name=name)
        row = get_version(session, version, name=name)
        text, status, number = row.yaml_text, row.status, row.version
    err.print(f"# version {number} ({status})", highlight=False)
    typer.echo(text, nl=False)


@app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="Rule pack or rule set (YAML)")],
    activate: Annotated[bool, typer.Option("--activate", help="Activate it at once")] = False,
    data_dir: DataDirOption = None,
    name: RuleSetName = "default",
    actor: Actor = None,
) -> None:
    """Store a rule file as the next version (a draft unless --activate); refused when it names postboxes,
    persons or departments the organisation directory does not have."""
    from rules.pack import import_pack
    from rules.store import ensure_default_ruleset

    text = _read(path)
    against = _checked_against(data_dir)
    with database(cli_settings(data_dir)) as session:
        ensure_default_ruleset(session, name=name)
        row = import_pack(session, text, actor=_actor(actor), name=name, source=f"import of {path.name}",
                          activate_now=activate, **against)
        number, status = row.version, row.status
    out.print(f"imported {path} as version {number} ({status})", highlight=False)


@app.command()
def export(
    version: Annotated[int | None, typer.Option("--version", help="Version (default: the active one)")] = None,
    output: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout")] = None,
    town: Annotated[str | None, typer.Option(help="Town named in the pack header")] = None,
    data_dir: DataDirOption = None,
    name: RuleSetName = "default",
) -> None:
    """Write a version as a rule pack (YAML with a header) to share with other towns."""
    from rules.pack import export_pack
    from rules.store import ensure_default_ruleset

    with database(cli_settings(data_dir)) as session:
        ensure_default_ruleset(session, name=name)
        text = export_pack(session, version, name=name, town=town)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}", highlight=False)


@app.command()
def activate(
    version: Annotated[int, typer.Argument(help="Draft version to activate")],
    data_dir: DataDirOption = None,
    name: RuleSetName = "default",
    actor: Actor = None,
) -> None:
    """Make a draft the active version; every worker uses it from its next document on. Refused when the draft
    names what the organisation directory does not have."""
    from rules.store import activate as activate_version
    from rules.store import ensure_default_ruleset

    against = _checked_against(data_dir)
    with database(cli_settings(data_dir)) as session:
        ensure_default_ruleset(session, name=name)
        activate_version(session, version, actor=_actor(actor), name=name, **against)
    out.print(f"version {version} of {name} is active", highlight=False)


@app.command()
def rollback(
    to: Annotated[int | None, typer.Option("--to", help="History version to restore (default: the previous)")]
    = None,
    data_dir: DataDirOption = None,
    name: RuleSetName = "default",
    actor: Actor = None,
) -> None:
    """Re-activate an earlier version as a new version (history stays as it was); refused when it names what the
    organisation directory no longer has."""
    from rules.store import ensure_default_ruleset
    from rules.store import rollback as rollback_version

    against = _checked_against(data_dir)
    with database(cli_settings(data_dir)) as session:
        ensure_default_ruleset(session, name=name)
        row = rollback_version(session, actor=_actor(actor), name=name, to=to, **against)
        number, source = row.version, row.source
    out.print(f"version {number} ({source}) of {name} is active", highlight=False)


def _date(value: str | None) -> datetime | None:
    from rules.simulate import received_bound

    if value is None:
        return None
    try:
        return received_bound(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def simulate(
    path: Annotated[Path, typer.Argument(help="Candidate rule set (YAML)")],
    last: Annotated[int | None, typer.Option("--last", help="The last N documents")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Documents received on or after (YYYY-MM-DD)")]
    = None,
    until: Annotated[str | None, typer.Option("--until", help="... and before (YYYY-MM-DD)")] = None,
    data_dir: DataDirOption = None,
    name: RuleSetName = "default",
    as_json: AsJson = False,
) -> None:
    """Show every stored document whose postbox or type the candidate would change (no OCR), with totals."""
    from routing.router import Router, hybrid_outcome
    from rules import load_ruleset
    from rules.simulate import simulate_against_active

    text = _read(path)
    finalise = hybrid_outcome(Router.create(cli_settings(data_dir)))  # the whole decision, as the pipeline makes it
    with database(cli_settings(data_dir)) as session:
        candidate = load_ruleset(text)
        report = simulate_against_active(session, candidate, name=name, last=last, since=_date(since),
                                         until=_date(until), finalise=finalise)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    for change in report.changes:
        out.print(f"{change.document_id}  {change.filename:40}  {change.kind:13} {change.describe()}",
                  highlight=False, markup=False)
    totals = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.totals.items())
    out.print(f"{report.documents} documents, active version {report.baseline_version} → candidate: {totals}",
              highlight=False)


@app.command("eval")
def eval_routing(
    directory: Annotated[Path, typer.Argument(help="Folder of labelled mail (*.truth.json, sample_docs)")],
    rules_file: Annotated[Path | None, typer.Option("--rules", help="Rule set (default: the shipped pack)")]
    = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Keep processed documents here (re-runs "
                                                  "skip OCR); default: a temporary directory")] = None,
    as_json: AsJson = False,
) -> None:
    """Run the pipeline on labelled mail: how much do the rules route, and with which precision?"""
    from routing.evaluation import evaluate_rules_on
    from rules import load_ruleset
    from workers.inprocess import expand_inputs, process_path
    from workers.pipeline import PipelineContext

    if not directory.is_dir():
        raise FileNotFound(f"{directory}: no such folder")
    scratch = None if data_dir is not None else Path(tempfile.mkdtemp(prefix="mailroom-routing-"))
    try:
        ruleset = load_ruleset(_read(rules_file)) if rules_file is not None else None
        ctx = PipelineContext.create(Settings().model_copy(update={"data_dir": data_dir or scratch}))
        report = evaluate_rules_on(expand_inputs([directory]), lambda path: process_path(path, ctx, channel="eval"),
                                   ruleset=ruleset)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    table = Table(title=f"routing by rules (version {report.ruleset_version}, zones {report.zones})")
    for column in ("truth postbox", "documents", "routed", "correct"):
        table.add_column(column)
    for postbox, row in report.per_postbox().items():
        table.add_row(postbox, str(row["documents"]), str(row["routed"]), str(row["correct"]))
    out.print(table)
    out.print(
        f"{len(report.documents)} documents ({len(report.skipped)} skipped): rules route {report.routed} "
        f"({report.coverage:.1%} coverage), {report.correct} to the right postbox ({report.precision:.1%} "
        "precision)",
        highlight=False,
    )
