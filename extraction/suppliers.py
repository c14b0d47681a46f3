"""Supplier master data (creditors): recognising the supplier of an invoice by IBAN and VAT id.

The town's accounting keeps a creditor record per supplier: creditor number (Kreditorennummer), name, the bank
accounts (IBANs) payments may go to, the VAT id (USt-IdNr.) and the tax number (Steuernummer). An invoice whose
VAT id or tax number belongs to a known supplier but whose IBAN is none of that supplier's accounts is the
classic invoice fraud (a forged invoice with the fraudster's account): it is flagged and sent to review.

:func:`read_suppliers_csv` reads the CSV export of the accounting system (``;`` or ``,`` separated, German or
English headers, several IBANs in one cell separated by spaces, ``,``, ``;`` or ``|``); :func:`write_suppliers_csv`
writes the master data in the form it reads (``mailroom suppliers export``, the web UI's export).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from extraction import parsers
from mailroom.errors import SupplierCsvError


@dataclass(frozen=True)
class Supplier:
    """One creditor of the master data; identifiers normalised (compact, upper case)."""

    creditor_number: str
    name: str
    ibans: tuple[str, ...] = ()
    vat_id: str | None = None
    tax_number: str | None = None


@dataclass(frozen=True)
class SupplierMatch:
    """The supplier an invoice comes from, what recognised it, and whether its IBAN is one of the supplier's."""

    supplier: Supplier
    matched_by: tuple[str, ...]
    iban_known: bool | None  # None: the invoice names no IBAN


class SupplierDirectory:
    """The master data, indexed by IBAN, VAT id and tax number."""

    def __init__(self, suppliers: Iterable[Supplier]) -> None:
        self.suppliers = tuple(suppliers)
        self._by_iban = {iban: s for s in self.suppliers for iban in s.ibans}
        self._by_vat = {s.vat_id: s for s in self.suppliers if s.vat_id}
        self._by_tax = {_tax_key(s.tax_number): s for s in self.suppliers if s.tax_number}

    def recognise(
        self, *, iban: str | None, vat_id: str | None, tax_number: str | None = None
    ) -> SupplierMatch | None:
        """The supplier named by the VAT id or tax number (the identity), else by the IBAN (an account)."""
        by_identity = (self._by_vat.get(vat_id) if vat_id else None) or (
            self._by_tax.get(_tax_key(tax_number)) if tax_number else None
        )
        by_account = self._by_iban.get(iban) if iban else None
        supplier = by_identity or by_account
        if supplier is None:
            return None
        matched = tuple(
            name for name, hit in (
                ("vat_id", vat_id is not None and vat_id == supplier.vat_id),
                ("tax_number", tax_number is not None and supplier.tax_number is not None
                 and _tax_key(tax_number) == _tax_key(supplier.tax_number)),
                ("iban", iban is not None and iban in supplier.ibans),
            ) if hit
        )
        return SupplierMatch(supplier, matched, None if iban is None else iban in supplier.ibans)

    def get(self, creditor_number: str) -> Supplier | None:
        """The supplier with this creditor number."""
        return next((s for s in self.suppliers if s.creditor_number == creditor_number), None)


def _tax_key(tax_number: str | None) -> str:
    return "".join(c for c in tax_number or "" if c.isdigit())


_HEADERS: dict[str, tuple[str, ...]] = {
    "creditor_number": ("creditor_number", "kreditorennummer", "kreditor", "kreditornr", "creditor", "nr"),
    "name": ("name", "lieferant", "supplier", "firma"),
    "ibans": ("ibans", "iban", "bankverbindung"),
    "vat_id": ("vat_id", "ust_idnr", "ustidnr", "ust-idnr", "ust-id", "vat"),
    "tax_number": ("tax_number", "steuernummer", "stnr"),
}


def read_suppliers_csv(text: str) -> list[Supplier]:
    """Suppliers from a CSV export. Invalid IBANs or VAT ids are refused with the line number: master data
    that cannot be checked against would make the fraud check meaningless."""
    dialect = csv.Sniffer().sniff(text.splitlines()[0] if text.strip() else ",", delimiters=";,\t")
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = _column_map(reader.fieldnames or [])
    suppliers: list[Supplier] = []
    for line, record in enumerate(reader, start=2):
        suppliers.append(_supplier(record, columns, line))
    return suppliers


#: The columns :func:`write_suppliers_csv` writes (``;`` separated, IBANs joined with ``|``).
CSV_COLUMNS = ("creditor_number", "name", "iban", "vat_id", "tax_number")


def write_suppliers_csv(suppliers: Iterable[Any]) -> str:
    """Suppliers (anything with ``creditor_number``, ``name``, ``ibans``, ``vat_id``, ``tax_number``) as the CSV
    :func:`read_suppliers_csv` reads back unchanged."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in suppliers:
        writer.writerow([s.creditor_number, s.name, "|".join(s.ibans), s.vat_id or "", s.tax_number or ""])
    return out.getvalue()


def _column_map(fieldnames: Sequence[str]) -> dict[str, str]:
    normalised = {name.strip().lower().replace(" ", "_").replace(".", ""): name for name in fieldnames}
    columns: dict[str, str] = {}
    for field, aliases in _HEADERS.items():
        found = next((normalised[a] for a in aliases if a in normalised), None)
        if found is not None:
            columns[field] = found
    missing = [f for f in ("creditor_number", "name") if f not in columns]
    if missing:
        raise SupplierCsvError(f"line 1: the header lacks the column(s) {', '.join(missing)}")
    return columns


def _supplier(record: dict[str, str], columns: dict[str, str], line: int) -> Supplier:
    def cell(field: str) -> str:
        return (record.get(columns[field]) or "").strip() if field in columns else ""

    creditor, name = cell("creditor_number"), cell("name")
    if not creditor or not name:
        raise SupplierCsvError(f"line {line}: creditor number and name are required")
    ibans = []
    for raw in cell("ibans").replace(";", ",").replace("|", ",").split(","):
        if raw.strip():
            iban = parsers.compact(raw)
            problem = parsers.iban_problem(iban)
            if problem:
                raise SupplierCsvError(f"line {line}: invalid IBAN {problem}")
            ibans.append(iban)
    vat_id = parsers.compact(cell("vat_id")) or None
    if vat_id and (problem := parsers.vat_id_problem(vat_id)):
        raise SupplierCsvError(f"line {line}: invalid VAT id {problem}")
    return Supplier(creditor, name, tuple(ibans), vat_id, cell("tax_number") or None)
