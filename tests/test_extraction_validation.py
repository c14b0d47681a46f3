"""Validators of extracted invoices, supplier master data (CSV, recognition, fraud flag) and duplicates
(real SQLite with the ``invoice_fingerprints`` table)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from extraction.invoice import extract_invoice
from extraction.store import StoredFingerprints, extract_stored, supplier_directory
from extraction.suppliers import Supplier, SupplierDirectory, read_suppliers_csv
from extraction.validation import InvoiceFingerprint, check_fields, check_line_items, status_of
from mailroom.errors import SupplierCsvError
from mailroom.model import Document
from mailroom.settings import Settings
from mailroom.storage import suppliers as tables
from mailroom.storage.db import make_engine, migrate, session_scope

TODAY = date(2026, 11, 26)
IBAN = "DE36123700248621787963"
OTHER_IBAN = "DE14123500005994041114"
VAT = "DE458864807"
GOOD = {
    "invoice_number": "R261037", "issue_date": "2026-06-01", "due_date": "2026-06-15", "iban": IBAN,
    "bic": "DEUTDEDBMST", "seller_vat_id": VAT, "buyer_reference": "04011000-1234512345-06",
    "total_net": "3185.45", "total_vat": "605.24", "total_gross": "3790.69",
}


def _failed(values: dict[str, str]) -> dict[str, str | None]:
    return {c.check: c.reason for c in check_fields(values, today=TODAY) if not c.ok}


def test_a_correct_invoice_passes_every_check() -> None:
    checks = check_fields(GOOD, today=TODAY)
    assert {c.check for c in checks} >= {
        "iban_checksum", "bic_format", "vat_id_check_digits", "leitweg_id", "dates_plausible",
        "due_date_not_before_issue_date", "net_plus_vat_equals_gross"}
    assert all(c.ok for c in checks)
    assert status_of(checks, GOOD) == "valid"


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ({"iban": "DE37123700248621787963"}, "iban_checksum"),
        ({"bic": "DEUT12DBMST"}, "bic_format"),
        ({"bic": "BNPAFRPPXXX"}, "bic_matches_iban_country"),
        ({"seller_vat_id": "DE458864808"}, "vat_id_check_digits"),
        ({"buyer_reference": "04011000-1234512345-07"}, "leitweg_id"),
        ({"due_date": "2026-05-30"}, "due_date_not_before_issue_date"),
        ({"issue_date": "1996-06-01", "due_date": "1996-06-15"}, "dates_plausible"),
        ({"issue_date": "2029-06-01", "due_date": "2029-06-15"}, "dates_plausible"),
        ({"total_vat": "605.25"}, "net_plus_vat_equals_gross"),
    ],
)
def test_each_validator_blocks(change: dict[str, str], check: str) -> None:
    values = {**GOOD, **change}
    failed = _failed(values)
    assert failed.get(check)
    assert status_of(check_fields(values, today=TODAY), values) == "invalid"


def test_missing_required_field_is_incomplete() -> None:
    values = {k: v for k, v in GOOD.items() if k != "total_gross"}
    assert status_of(check_fields(values, today=TODAY), values) == "incomplete"


def test_a_buyer_reference_that_is_no_leitweg_id_is_not_judged_as_one() -> None:
    assert "leitweg_id" not in {c.check for c in check_fields({"buyer_reference": "Abt. Einkauf"}, today=TODAY)}


def test_line_items_against_the_net_total() -> None:
    items = [{"quantity": "20", "unit_price": "60.18", "amount": "1203.60"},
             {"quantity": "1", "unit_price": "889.25", "amount": "889.25"}]
    assert all(c.ok for c in check_line_items(items, {"total_net": "2092.85"}))
    failed = {c.check for c in check_line_items(items, {"total_net": "2092.86"}) if not c.ok}
    assert failed == {"line_items_sum_equals_net"}
    items[0]["amount"] = "1203.70"
    assert "line_amounts" in {c.check for c in check_line_items(items, {}) if not c.ok}


CSV = f"""Kreditorennummer;Name;IBAN;USt-IdNr;Steuernummer
70001;Elektroanlagen Schubert & Söhne GmbH;{IBAN}, DE89 3704 0044 0532 0130 00;{VAT};96/483/64352
70002;Grün-Service Fuchs GmbH & Co. KG;DE79124500507492086922;DE189714399;
"""


def test_supplier_csv_is_read_with_several_ibans() -> None:
    suppliers = read_suppliers_csv(CSV)
    assert suppliers[0] == Supplier("70001", "Elektroanlagen Schubert & Söhne GmbH",
                                    (IBAN, "DE89370400440532013000"), VAT, "96/483/64352")
    assert suppliers[1].tax_number is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Name;IBAN\nx;DE36123700248621787963\n", "creditor_number"),
        ("Kreditor;Name;IBAN\n1;X;DE37123700248621787963\n", "line 2: invalid IBAN"),
        ("Kreditor,Name,USt-IdNr\n1,X,DE458864808\n", "line 2: invalid VAT id"),
    ],
)
def test_bad_supplier_csv_is_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(SupplierCsvError, match=message):
        read_suppliers_csv(text)


def test_supplier_recognised_by_vat_id_or_iban_and_fraud_flag() -> None:
    directory = SupplierDirectory(read_suppliers_csv(CSV))
    match = directory.recognise(iban=IBAN, vat_id=VAT)
    assert match is not None and match.supplier.creditor_number == "70001"
    assert match.matched_by == ("vat_id", "iban") and match.iban_known
    by_iban = directory.recognise(iban="DE79124500507492086922", vat_id=None)
    assert by_iban is not None and by_iban.supplier.creditor_number == "70002"
    by_tax = directory.recognise(iban=None, vat_id=None, tax_number="96 483 64352")
    assert by_tax is not None and by_tax.matched_by == ("tax_number",)
    assert directory.recognise(iban=OTHER_IBAN, vat_id=None) is None


def _einvoice(iban: str, number: str = "R261037") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20260601</udt:DateTimeString></ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Elektroanlagen Schubert</ram:Name>
    <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{VAT}</ram:ID></ram:SpecifiedTaxRegistration>
   </ram:SellerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>
    <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>{iban}</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>
   </ram:SpecifiedTradeSettlementPaymentMeans>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:TaxBasisTotalAmount>3185.45</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="EUR">605.24</ram:TaxTotalAmount>
    <ram:GrandTotalAmount>3790.69</ram:GrandTotalAmount><ram:DuePayableAmount>3790.69</ram:DuePayableAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>""".encode()


def test_known_supplier_with_a_foreign_iban_goes_to_review_as_fraud_suspect() -> None:
    directory = SupplierDirectory(read_suppliers_csv(CSV))
    honest = extract_invoice(Document(), einvoice_xml=_einvoice(IBAN), suppliers=directory, today=TODAY)
    assert honest.invoice["supplier"] == {"creditor_number": "70001", "name": "Elektroanlagen Schubert & Söhne GmbH",
                                          "matched_by": ["vat_id", "iban"]}
    assert honest.invoice["validation"]["status"] == "valid" and not honest.needs_review
    forged = extract_invoice(Document(), einvoice_xml=_einvoice(OTHER_IBAN), suppliers=directory, today=TODAY)
    fraud = [c for c in forged.invoice["validation"]["checks"] if c["check"] == "fraud_suspected"]
    assert fraud and not fraud[0]["ok"] and OTHER_IBAN in fraud[0]["reason"]
    assert forged.needs_review and forged.invoice["validation"]["status"] == "invalid"
    assert any("fraud_suspected" in reason for reason in forged.review_reasons)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(Settings(data_dir=tmp_path, database_url=None))
    migrate(eng)
    yield eng
    eng.dispose()


def test_supplier_import_twice_updates_accounts(engine: Engine) -> None:
    records = [tables.SupplierRecord(s.creditor_number, s.name, s.ibans, s.vat_id, s.tax_number)
               for s in read_suppliers_csv(CSV)]
    with session_scope(engine) as session:
        assert tables.upsert_suppliers(session, records) == (2, 0)
    changed = records[0].__class__(**{**records[0].__dict__, "ibans": (OTHER_IBAN, IBAN)})
    with session_scope(engine) as session:
        assert tables.upsert_suppliers(session, [changed, records[1]]) == (0, 2)
    with session_scope(engine) as session:
        stored = {r.creditor_number: r for r in tables.load_suppliers(session)}
    assert set(stored["70001"].ibans) == {IBAN, OTHER_IBAN}


def test_duplicate_invoice_is_found_in_the_fingerprints_table(engine: Engine) -> None:
    with session_scope(engine) as session:
        tables.upsert_suppliers(session, [tables.SupplierRecord(s.creditor_number, s.name, s.ibans, s.vat_id,
                                                                s.tax_number) for s in read_suppliers_csv(CSV)])
    with session_scope(engine) as session:
        first = extract_stored(session, Document(), document_id="a" * 32, einvoice_xml=_einvoice(IBAN), today=TODAY)
        assert first.fingerprint == InvoiceFingerprint("70001", "R261037", "3790.69")
        assert not first.needs_review
    with session_scope(engine) as session:  # the same document again is no duplicate of itself
        again = extract_stored(session, Document(), document_id="a" * 32, einvoice_xml=_einvoice(IBAN), today=TODAY)
        assert not again.needs_review
    with session_scope(engine) as session:
        second = extract_stored(session, Document(), document_id="b" * 32, einvoice_xml=_einvoice(IBAN), today=TODAY)
        duplicate = [c for c in second.invoice["validation"]["checks"] if c["check"] == "duplicate_invoice"]
        assert duplicate == [{"check": "duplicate_invoice", "ok": False, "reason": duplicate[0]["reason"]}]
        assert "a" * 32 in duplicate[0]["reason"] and second.needs_review
    with session_scope(engine) as session:  # another number from the same supplier is fine
        other = extract_stored(session, Document(), document_id="c" * 32, einvoice_xml=_einvoice(IBAN, "R261038"),
                               today=TODAY)
        assert not other.needs_review
        assert StoredFingerprints(session).find(InvoiceFingerprint("70001", "R261037", "3790.69")) == "a" * 32
        assert supplier_directory(session).get("70002") is not None


def test_broken_xml_falls_back_to_the_text_path_with_a_warning() -> None:
    result = extract_invoice(Document(), einvoice_xml=b"<rsm:CrossIndustryInvoice", today=TODAY)
    assert result.warnings and "invalid_xml" in result.warnings[0]
    assert result.invoice["validation"]["status"] == "incomplete" and result.needs_review
    hostile = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert "hostile_xml" in extract_invoice(Document(), einvoice_xml=hostile).warnings[0]
