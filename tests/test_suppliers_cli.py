"""``mailroom suppliers import|list|export`` (issue 12): the master data listable and exportable as the CSV the
import reads back; every import in the audit trail; a bad file refused with its code, nothing stored."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from mailroom import audit
from mailroom.settings import Settings
from mailroom.storage.db import make_engine, session_scope

CREDITORS = """\
Kreditorennummer;Name;IBAN;USt-IdNr;Steuernummer
70001;Büromarkt Schulze GmbH;DE89 3704 0044 0532 0130 00|DE02120300000000202051;DE123456788;
70002;Stadtwerke Musterstadt;DE02500105170137075030;;12/345/67890
"""


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output + result.stderr
    return result.exit_code, result.stdout, result.stderr


def _imports(data_dir: Path) -> list[dict[str, object]]:
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=None)
    with session_scope(make_engine(settings), readonly=True) as session:
        return [e for e in audit.export(session) if e["action"] == "suppliers.imported"]


def test_import_list_export_round_trip_audited(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    source = tmp_path / "kreditoren.csv"
    source.write_text(CREDITORS, encoding="utf-8")
    code, _, err = _cli("suppliers", "import", str(source), *data)
    assert code == 0 and "2 suppliers added, 0 updated" in err, err

    code, listing, _ = _cli("suppliers", "list", "--json", *data)
    assert code == 0
    listed = [{**s, "ibans": sorted(s["ibans"])} for s in json.loads(listing)]  # IBANs in no particular order
    assert listed == [
        {"creditor_number": "70001", "name": "Büromarkt Schulze GmbH",
         "ibans": ["DE02120300000000202051", "DE89370400440532013000"], "vat_id": "DE123456788", "tax_number": None},
        {"creditor_number": "70002", "name": "Stadtwerke Musterstadt", "ibans": ["DE02500105170137075030"],
         "vat_id": None, "tax_number": "12/345/67890"},
    ]
    code, table, _ = _cli("suppliers", "list", *data)
    assert code == 0 and "70002" in table and "Büromarkt" in table and "2 suppliers" in table

    exported = tmp_path / "export.csv"
    code, _, err = _cli("suppliers", "export", "--out", str(exported), *data)
    assert code == 0, err
    assert exported.read_text(encoding="utf-8").splitlines()[0] == "creditor_number;name;iban;vat_id;tax_number"
    code, _, err = _cli("suppliers", "import", str(exported), *data)  # the export is read back unchanged
    assert code == 0 and "0 suppliers added, 2 updated" in err
    assert _cli("suppliers", "list", "--json", *data)[1] == listing
    code, stdout, _ = _cli("suppliers", "export", *data)
    assert stdout == exported.read_text(encoding="utf-8")

    entries = _imports(tmp_path / "data")
    assert [(e["details"]["created"], e["details"]["updated"]) for e in entries] == [(2, 0), (0, 2)]  # type: ignore[index]
    first = entries[0]
    assert str(first["actor"]).startswith("cli") and first["object_type"] == "supplier"
    assert first["details"] == {"created": 2, "updated": 0, "file": "kreditoren.csv", "via": "cli",
                                "sha256": hashlib.sha256(CREDITORS.encode()).hexdigest()}


def test_a_bad_file_is_refused_with_its_code_and_nothing_is_stored(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    bad = tmp_path / "bad.csv"
    bad.write_text(CREDITORS.replace("DE02500105170137075030", "DE02500105170137075031"), encoding="utf-8")
    code, _, err = _cli("suppliers", "import", str(bad), *data)
    assert code == 1 and len(err.splitlines()) == 1
    assert err.startswith("error: invalid_supplier_csv: bad.csv: line 3: invalid IBAN"), err
    assert json.loads(_cli("suppliers", "list", "--json", *data)[1]) == []
    assert _imports(tmp_path / "data") == []
    code, _, err = _cli("suppliers", "import", str(tmp_path / "missing.csv"), *data)
    assert code == 1 and err.startswith("error: file_not_found: ")
    bad.write_bytes(b"Kreditorennummer;Name\n7\xff;X\n")
    code, _, err = _cli("suppliers", "import", str(bad), *data)
    assert code == 1 and err.startswith("error: invalid_supplier_csv: bad.csv: not UTF-8 text")
    code, _, err = _cli("suppliers", "export", "--out", str(tmp_path / "no" / "x.csv"), *data)
    assert code == 1 and err.startswith("error: output_not_writable: ")
