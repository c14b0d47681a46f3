"""``mailroom suppliers import|list|export``: the supplier master data (creditors) for invoice checking.

Every import is recorded in the audit trail (``suppliers.imported``, like the web UI's import); ``export`` writes
the CSV that ``import`` reads back unchanged.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.common import DataDirOption, cli_actor, cli_settings, database, err, fail, write_output
from extraction.suppliers import read_suppliers_csv, write_suppliers_csv
from mailroom.errors import MailroomError

NAME = "suppliers"
app = typer.Typer(help="Supplier master data (creditors) for invoice checking: import, list, export.",
                  no_args_is_help=True)
out = Console()


@app.command("import")
def import_suppliers(
    csv_file: Annotated[Path, typer.Argument(help="CSV export: creditor number, name, IBANs, VAT id, tax number")],
    data_dir: DataDirOption = None,
) -> None:
    """Import (or update) supplier master data; suppliers are matched by creditor number. The whole file is
    checked first (IBAN and VAT id check digits; nothing is stored if a line is wrong); recorded in the audit
    trail as ``suppliers.imported`` (who, how many, SHA-256 of the file)."""
    from mailroom import audit
    from mailroom.storage.suppliers import SupplierRecord, upsert_suppliers

    try:
        body = csv_file.read_bytes()
    except OSError as exc:
        raise fail("file_not_found", f"{csv_file}: {exc.strerror}") from None
    try:
        suppliers = read_suppliers_csv(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise fail("invalid_supplier_csv", f"{csv_file.name}: not UTF-8 text") from None
    except MailroomError as exc:
        raise fail(exc.code, f"{csv_file.name}: {exc.message}") from None
    with database(cli_settings(data_dir)) as session:
        created, updated = upsert_suppliers(session, [
            SupplierRecord(s.creditor_number, s.name, s.ibans, s.vat_id, s.tax_number) for s in suppliers
        ])
        audit.record(session, actor=cli_actor(), action="suppliers.imported", object_type="supplier", object_id=None,
                     details={"created": created, "updated": updated, "file": csv_file.name,
                              "sha256": hashlib.sha256(body).hexdigest(), "via": "cli"})
    err.print(f"{created} suppliers added, {updated} updated", highlight=False)


@app.command("list")
def list_suppliers(
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Every supplier of the master data: creditor number, name, IBANs, VAT id, tax number."""
    from mailroom.storage.suppliers import load_suppliers

    with database(cli_settings(data_dir)) as session:
        suppliers = load_suppliers(session)
    if as_json:
        typer.echo(json.dumps([
            {"creditor_number": s.creditor_number, "name": s.name, "ibans": list(s.ibans), "vat_id": s.vat_id,
             "tax_number": s.tax_number} for s in suppliers
        ], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(suppliers)} suppliers")
    for column in ("creditor", "name", "IBANs", "VAT id", "tax number"):
        table.add_column(column)
    for s in suppliers:
        table.add_row(s.creditor_number, s.name, ", ".join(s.ibans), s.vat_id or "", s.tax_number or "")
    out.print(table)


@app.command("export")
def export_suppliers(
    output: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write the master data as CSV (``;``, IBANs joined with ``|``) that ``suppliers import`` reads back."""
    from mailroom.storage.suppliers import load_suppliers

    with database(cli_settings(data_dir)) as session:
        text = write_suppliers_csv(load_suppliers(session))
    write_output(text, output)
