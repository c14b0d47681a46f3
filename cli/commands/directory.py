"""``mailroom directory import|validate|export|versions|rollback``: the organisation directory (departments,
postboxes, persons and the responsibilities catalogue) of a data directory; every change is audited as
``directory.replaced`` and warns about the stored rules it affects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.common import DataDirOption, cli_actor, cli_settings, database, err, fail, write_output
from mailroom.directory import installed_directory_file
from mailroom.settings import Settings

NAME = "directory"
app = typer.Typer(help="The organisation directory.", no_args_is_help=True)
out = Console()


@app.command("import")
def directory_import(
    file: Annotated[Path, typer.Argument(help="Directory as YAML (like the default) or CSV (kind column)")],
    data_dir: DataDirOption = None,
) -> None:
    """Validate an organisation directory and install it as this data directory's directory (recorded in the
    audit trail as ``directory.replaced``, like ``PUT /api/v1/directory``). Every problem is listed and nothing is
    installed then (``invalid_directory``); afterwards, a warning names each stored rule the change affects (a
    postbox, person or department gone, a person moved)."""
    from mailroom.errors import InvalidDirectory
    from routing.router import install_directory

    suffix = file.suffix.lower()
    if not file.is_file():
        raise fail("file_not_found", f"{file}: no such file")
    if suffix not in (".csv", ".yaml", ".yml"):
        raise fail("invalid_directory", f"{file.name}: a directory is a .yaml, .yml or .csv file")
    try:
        body = file.read_bytes()
    except OSError as exc:
        raise fail("file_not_found", f"{file}: {exc.strerror}") from None
    settings = cli_settings(data_dir)
    old = _current_or_none(settings)
    try:
        directory = install_directory(settings, body, ".csv" if suffix == ".csv" else ".yaml")
    except InvalidDirectory as exc:
        for problem in exc.details.get("problems") or []:
            err.print(f"{file.name}: {problem}", highlight=False, markup=False)
        raise fail(exc.code, exc.message if not exc.details.get("problems")
                   else f"{len(exc.details['problems'])} problem(s) in {file.name}; nothing installed") from None
    _after_directory_change(settings, directory, old, f"import of {file.name}")


def _current_or_none(settings: Settings) -> Any:
    """The directory in force before a change (None if the installed one cannot be read)."""
    from mailroom.directory import current_directory
    from mailroom.errors import MailroomError

    try:
        return current_directory(settings)
    except MailroomError:
        return None


def _after_directory_change(settings: Settings, directory: Any, old: Any, note: str) -> None:
    """Audit the change, print a warning per stored rule it affects, then the summary."""
    from rules.store import directory_warnings

    with database(settings) as session:
        warnings = directory_warnings(session, old, directory)
        _audit_directory(session, settings, directory, note, len(warnings))
    for line in warnings:
        err.print(f"warning: {line}", highlight=False, markup=False)
    target = installed_directory_file(settings)
    err.print(
        f"{directory.name}: {len(directory.departments)} departments, {len(directory.persons)} persons, "
        f"{len(directory.postboxes)} postboxes → {target}"
        + (f"; {len(warnings)} rule warning(s): check the rules (mailroom rules validate)" if warnings else ""),
        highlight=False, markup=False,
    )


@app.command("validate")
def directory_validate(
    file: Annotated[Path, typer.Argument(help="Directory as YAML or CSV")],
) -> None:
    """Check a directory (with its responsibilities catalogue) without installing it; every problem is listed."""
    from mailroom.directory import InvalidDirectory, load_directory

    if not file.is_file():
        raise fail("file_not_found", f"{file}: no such file")
    try:
        directory = load_directory(file)
    except InvalidDirectory as exc:
        problems = exc.details.get("problems") or []
        for problem in problems:
            err.print(f"{file.name}: {problem}", highlight=False, markup=False)
        raise fail(exc.code, f"{len(problems)} problem(s) in {file.name}" if problems else exc.message) from None
    tasks = sum(len(d.tasks) for d in directory.departments.values())
    words = sum(len(t.all_words) for d in directory.departments.values() for t in d.tasks)
    err.print(
        f"{file.name}: valid: {len(directory.departments)} departments, {len(directory.postboxes)} postboxes, "
        f"{len(directory.persons)} persons; catalogue: {tasks} tasks, {words} words", highlight=False, markup=False,
    )


@app.command("export")
def directory_export(
    output: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write the directory in force as YAML that ``directory import`` accepts: an installed YAML file (or the
    default directory) as it is, with its comments and document-type routes; one installed as CSV converted."""
    from mailroom.directory import DEFAULT_PATH, current_directory, to_yaml

    settings = cli_settings(data_dir)
    installed = installed_directory_file(settings)
    source = installed or DEFAULT_PATH
    try:
        if source.suffix == ".csv":
            text = to_yaml(current_directory(settings))
        else:
            text = source.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise fail("file_not_found", f"{source}: {exc.strerror}") from None
    write_output(text, output, note=f"{'installed' if installed else 'default'} directory")


@app.command("versions")
def directory_versions_command(data_dir: DataDirOption = None) -> None:
    """Every installed version of the directory, oldest first; the last one is in use."""
    from routing.router import directory_versions

    versions = directory_versions(cli_settings(data_dir))
    if not versions:
        err.print("no directory installed: the default directory (Stadt Musterstadt) is in use")
        return
    table = Table(title="organisation directory versions")
    for col in ("version", "installed", "sha256", "file"):
        table.add_column(col)
    for v in versions:
        table.add_row(str(v.number), v.installed_at, v.sha256[:16], v.path.name)
    out.print(table)


@app.command("rollback")
def directory_rollback(
    version: Annotated[int, typer.Argument(help="The version to install again")],
    data_dir: DataDirOption = None,
) -> None:
    """Install an earlier version of the directory again (audited as ``directory.replaced``)."""
    from routing.router import reinstall_directory_version

    settings = cli_settings(data_dir)
    old = _current_or_none(settings)
    directory = reinstall_directory_version(settings, version)
    _after_directory_change(settings, directory, old, f"rollback to version {version}")


def _audit_directory(session: Any, settings: Settings, directory: Any, note: str, warnings: int) -> None:
    import hashlib

    from mailroom import audit

    target = installed_directory_file(settings)
    body = target.read_bytes() if target else b""
    audit.record(
        session, actor=cli_actor(), action="directory.replaced", object_type="directory", object_id=directory.name,
        details={"format": target.suffix.lstrip(".") if target else "", "sha256": hashlib.sha256(body).hexdigest(),
                 "bytes": len(body), "departments": len(directory.departments),
                 "postboxes": len(directory.postboxes), "persons": len(directory.persons), "note": note,
                 "rule_warnings": warnings},
    )
