"""E-invoices: CII (UN/CEFACT Cross Industry Invoice, used by ZUGFeRD / Factur-X and XRechnung) and UBL
(XRechnung) XML built from the same ``Invoice`` that the visual invoice shows, and ZUGFeRD / Factur-X PDFs:
the visual PDF with the CII XML embedded as an associated file (``/AF``, relationship ``Alternative``).

Amounts are written with two decimals, quantities and prices without trailing zeros beyond the cents.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pikepdf

from sample_docs.letter import Invoice, decimal_text

NS_RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
NS_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NS_UBL = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS_FX = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
EN16931 = "urn:cen.eu:en16931:2017"
XRECHNUNG = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"

# UN/ECE Recommendation 20 unit codes of the units the catalog uses
UNIT_CODES = {
    "Stück": "H87",
    "Std.": "HUR",
    "m²": "MTK",
    "m": "MTR",
    "m³": "MTQ",
    "kWh": "KWH",
    "kW": "KWT",
    "Monat": "MON",
    "psch": "LS",
    "Pack": "XPK",
    "Karton": "XCT",
}

for prefix, uri in (("rsm", NS_RSM), ("ram", NS_RAM), ("udt", NS_UDT), ("cac", NS_CAC), ("cbc", NS_CBC)):
    ET.register_namespace(prefix, uri)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _ram(name: str) -> str:
    return f"{{{NS_RAM}}}{name}"


def _cii_date(parent: ET.Element, tag: str, value: str) -> None:
    _sub(_sub(parent, _ram(tag)), f"{{{NS_UDT}}}DateTimeString", value.replace("-", ""), format="102")


def build_cii(inv: Invoice, guideline: str = EN16931) -> bytes:
    """CII XML (Factur-X / ZUGFeRD EN 16931 profile, or XRechnung with its guideline id)."""
    root = ET.Element(f"{{{NS_RSM}}}CrossIndustryInvoice")
    ctx = _sub(root, f"{{{NS_RSM}}}ExchangedDocumentContext")
    _sub(_sub(ctx, _ram("GuidelineSpecifiedDocumentContextParameter")), _ram("ID"), guideline)
    doc = _sub(root, f"{{{NS_RSM}}}ExchangedDocument")
    _sub(doc, _ram("ID"), inv.invoice_number)
    _sub(doc, _ram("TypeCode"), inv.type_code)
    _cii_date(doc, "IssueDateTime", inv.issue_date.isoformat())
    tx = _sub(root, f"{{{NS_RSM}}}SupplyChainTradeTransaction")
    for n, item in enumerate(inv.items, 1):
        line = _sub(tx, _ram("IncludedSupplyChainTradeLineItem"))
        _sub(_sub(line, _ram("AssociatedDocumentLineDocument")), _ram("LineID"), str(n))
        _sub(_sub(line, _ram("SpecifiedTradeProduct")), _ram("Name"), item.description)
        agreement = _sub(line, _ram("SpecifiedLineTradeAgreement"))
        _sub(
            _sub(agreement, _ram("NetPriceProductTradePrice")),
            _ram("ChargeAmount"),
            decimal_text(item.unit_price),
        )
        delivery = _sub(line, _ram("SpecifiedLineTradeDelivery"))
        _sub(
            delivery,
            _ram("BilledQuantity"),
            f"{item.quantity.normalize():f}",
            unitCode=UNIT_CODES.get(item.unit, "C62"),
        )
        settlement = _sub(line, _ram("SpecifiedLineTradeSettlement"))
        tax = _sub(settlement, _ram("ApplicableTradeTax"))
        _sub(tax, _ram("TypeCode"), "VAT")
        _sub(tax, _ram("CategoryCode"), "S")
        _sub(tax, _ram("RateApplicablePercent"), f"{item.vat_rate:.2f}")
        _sub(
            _sub(settlement, _ram("SpecifiedTradeSettlementLineMonetarySummation")),
            _ram("LineTotalAmount"),
            f"{item.amount:.2f}",
        )
    agreement = _sub(tx, _ram("ApplicableHeaderTradeAgreement"))
    if inv.buyer_reference:
        _sub(agreement, _ram("BuyerReference"), inv.buyer_reference)
    seller = _sub(agreement, _ram("SellerTradeParty"))
    _sub(seller, _ram("Name"), inv.seller.name)
    address = _sub(seller, _ram("PostalTradeAddress"))
    _sub(address, _ram("PostcodeCode"), inv.seller.postcode)
    _sub(address, _ram("LineOne"), inv.seller.street)
    _sub(address, _ram("CityName"), inv.seller.city)
    _sub(address, _ram("CountryID"), "DE")
    if inv.seller.vat_id:
        _sub(_sub(seller, _ram("SpecifiedTaxRegistration")), _ram("ID"), inv.seller.vat_id, schemeID="VA")
    if inv.seller.tax_number:
        _sub(_sub(seller, _ram("SpecifiedTaxRegistration")), _ram("ID"), inv.seller.tax_number, schemeID="FC")
    buyer = _sub(agreement, _ram("BuyerTradeParty"))
    if inv.customer_number:
        _sub(buyer, _ram("ID"), inv.customer_number)
    _sub(buyer, _ram("Name"), inv.buyer_name)
    b_address = _sub(buyer, _ram("PostalTradeAddress"))
    _sub(b_address, _ram("PostcodeCode"), "12345")
    _sub(b_address, _ram("LineOne"), "Rathausplatz 1")
    _sub(b_address, _ram("CityName"), "Musterstadt")
    _sub(b_address, _ram("CountryID"), "DE")
    if inv.order_reference:
        _sub(
            _sub(agreement, _ram("BuyerOrderReferencedDocument")),
            _ram("IssuerAssignedID"),
            inv.order_reference,
        )
    delivery = _sub(tx, _ram("ApplicableHeaderTradeDelivery"))
    if inv.service_date:
        _cii_date(
            _sub(delivery, _ram("ActualDeliverySupplyChainEvent")),
            "OccurrenceDateTime",
            inv.service_date.isoformat(),
        )
    settlement = _sub(tx, _ram("ApplicableHeaderTradeSettlement"))
    _sub(settlement, _ram("InvoiceCurrencyCode"), inv.currency)
    means = _sub(settlement, _ram("SpecifiedTradeSettlementPaymentMeans"))
    _sub(means, _ram("TypeCode"), "58")
    _sub(_sub(means, _ram("PayeePartyCreditorFinancialAccount")), _ram("IBANID"), inv.seller.iban or "")
    if inv.seller.bic:
        _sub(_sub(means, _ram("PayeeSpecifiedCreditorFinancialInstitution")), _ram("BICID"), inv.seller.bic)
    for rate, (base, amount) in sorted(inv.vat_breakdown.items()):
        tax = _sub(settlement, _ram("ApplicableTradeTax"))
        _sub(tax, _ram("CalculatedAmount"), f"{amount:.2f}")
        _sub(tax, _ram("TypeCode"), "VAT")
        _sub(tax, _ram("BasisAmount"), f"{base:.2f}")
        _sub(tax, _ram("CategoryCode"), "S")
        _sub(tax, _ram("RateApplicablePercent"), f"{rate:.2f}")
    if inv.service_period:
        period = _sub(settlement, _ram("BillingSpecifiedPeriod"))
        _cii_date(period, "StartDateTime", inv.service_period[0].isoformat())
        _cii_date(period, "EndDateTime", inv.service_period[1].isoformat())
    if inv.payment_terms or inv.due_date:
        terms = _sub(settlement, _ram("SpecifiedTradePaymentTerms"))
        if inv.payment_terms:
            _sub(terms, _ram("Description"), inv.payment_terms)
        if inv.due_date:
            _cii_date(terms, "DueDateDateTime", inv.due_date.isoformat())
    sums = _sub(settlement, _ram("SpecifiedTradeSettlementHeaderMonetarySummation"))
    _sub(sums, _ram("LineTotalAmount"), f"{inv.total_net:.2f}")
    _sub(sums, _ram("TaxBasisTotalAmount"), f"{inv.total_net:.2f}")
    _sub(sums, _ram("TaxTotalAmount"), f"{inv.total_vat:.2f}", currencyID=inv.currency)
    _sub(sums, _ram("GrandTotalAmount"), f"{inv.total_gross:.2f}")
    _sub(sums, _ram("DuePayableAmount"), f"{inv.amount_due:.2f}")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _cbc(parent: ET.Element, name: str, text: str, **attrs: str) -> ET.Element:
    return _sub(parent, f"{{{NS_CBC}}}{name}", text, **attrs)


def _cac(parent: ET.Element, name: str) -> ET.Element:
    return _sub(parent, f"{{{NS_CAC}}}{name}")


def _ubl_address(party: ET.Element, street: str, city: str, postcode: str) -> None:
    address = _cac(party, "PostalAddress")
    _cbc(address, "StreetName", street)
    _cbc(address, "CityName", city)
    _cbc(address, "PostalZone", postcode)
    _cbc(_cac(address, "Country"), "IdentificationCode", "DE")


def _tax_category(parent: ET.Element, tag: str, rate: int) -> None:
    category = _cac(parent, tag)
    _cbc(category, "ID", "S")
    _cbc(category, "Percent", f"{rate:.2f}")
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def build_ubl(inv: Invoice) -> bytes:
    """UBL 2.1 invoice following XRechnung 3.0 (the Leitweg-ID as BuyerReference)."""
    ET.register_namespace("", NS_UBL)
    cur = inv.currency
    root = ET.Element(f"{{{NS_UBL}}}Invoice")
    _cbc(root, "CustomizationID", XRECHNUNG)
    _cbc(root, "ProfileID", "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0")
    _cbc(root, "ID", inv.invoice_number)
    _cbc(root, "IssueDate", inv.issue_date.isoformat())
    if inv.due_date:
        _cbc(root, "DueDate", inv.due_date.isoformat())
    _cbc(root, "InvoiceTypeCode", inv.type_code)
    _cbc(root, "DocumentCurrencyCode", cur)
    _cbc(root, "BuyerReference", inv.buyer_reference or "")
    if inv.service_period:
        period = _cac(root, "InvoicePeriod")
        _cbc(period, "StartDate", inv.service_period[0].isoformat())
        _cbc(period, "EndDate", inv.service_period[1].isoformat())
    if inv.order_reference:
        _cbc(_cac(root, "OrderReference"), "ID", inv.order_reference)
    seller = _cac(_cac(root, "AccountingSupplierParty"), "Party")
    _ubl_address(seller, inv.seller.street, inv.seller.city, inv.seller.postcode)
    for company_id, scheme in ((inv.seller.vat_id, "VAT"), (inv.seller.tax_number, "FC")):
        if company_id:
            tax_scheme = _cac(seller, "PartyTaxScheme")
            _cbc(tax_scheme, "CompanyID", company_id)
            _cbc(_cac(tax_scheme, "TaxScheme"), "ID", scheme)
    _cbc(_cac(seller, "PartyLegalEntity"), "RegistrationName", inv.seller.name)
    contact = _cac(seller, "Contact")
    _cbc(contact, "Name", inv.seller.contact or inv.seller.name)
    _cbc(contact, "Telephone", inv.seller.phone or "")
    _cbc(contact, "ElectronicMail", inv.seller.email or "")
    buyer = _cac(_cac(root, "AccountingCustomerParty"), "Party")
    if inv.customer_number:
        _cbc(_cac(buyer, "PartyIdentification"), "ID", inv.customer_number)
    _ubl_address(buyer, "Rathausplatz 1", "Musterstadt", "12345")
    _cbc(_cac(buyer, "PartyLegalEntity"), "RegistrationName", inv.buyer_name)
    if inv.service_date:
        _cbc(_cac(root, "Delivery"), "ActualDeliveryDate", inv.service_date.isoformat())
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", "58")
    account = _cac(means, "PayeeFinancialAccount")
    _cbc(account, "ID", inv.seller.iban or "")
    if inv.seller.bic:
        _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", inv.seller.bic)
    if inv.payment_terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", inv.payment_terms)
    tax_total = _cac(root, "TaxTotal")
    _cbc(tax_total, "TaxAmount", f"{inv.total_vat:.2f}", currencyID=cur)
    for rate, (base, amount) in sorted(inv.vat_breakdown.items()):
        sub = _cac(tax_total, "TaxSubtotal")
        _cbc(sub, "TaxableAmount", f"{base:.2f}", currencyID=cur)
        _cbc(sub, "TaxAmount", f"{amount:.2f}", currencyID=cur)
        _tax_category(sub, "TaxCategory", rate)
    total = _cac(root, "LegalMonetaryTotal")
    _cbc(total, "LineExtensionAmount", f"{inv.total_net:.2f}", currencyID=cur)
    _cbc(total, "TaxExclusiveAmount", f"{inv.total_net:.2f}", currencyID=cur)
    _cbc(total, "TaxInclusiveAmount", f"{inv.total_gross:.2f}", currencyID=cur)
    _cbc(total, "PayableAmount", f"{inv.amount_due:.2f}", currencyID=cur)
    for n, item in enumerate(inv.items, 1):
        line = _cac(root, "InvoiceLine")
        _cbc(line, "ID", str(n))
        _cbc(
            line,
            "InvoicedQuantity",
            f"{item.quantity.normalize():f}",
            unitCode=UNIT_CODES.get(item.unit, "C62"),
        )
        _cbc(line, "LineExtensionAmount", f"{item.amount:.2f}", currencyID=cur)
        product = _cac(line, "Item")
        _cbc(product, "Name", item.description)
        _tax_category(product, "ClassifiedTaxCategory", item.vat_rate)
        _cbc(_cac(line, "Price"), "PriceAmount", decimal_text(item.unit_price), currencyID=cur)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def embed_factur_x(pdf_bytes: bytes, xml: bytes, filename: str = "factur-x.xml") -> bytes:
    """Attach the CII XML to the visual PDF as associated file and declare it in the XMP metadata."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        spec = pikepdf.AttachedFileSpec(
            pdf,
            xml,
            description="Factur-X/ZUGFeRD invoice",
            filename=filename,
            mime_type="text/xml",
            relationship=pikepdf.Name.Alternative,
        )
        pdf.attachments[filename] = spec
        pdf.Root.AF = pdf.make_indirect(pikepdf.Array([spec.obj]))
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            meta["pdfaid:part"] = "3"
            meta["pdfaid:conformance"] = "B"
            meta[f"{{{NS_FX}}}DocumentType"] = "INVOICE"
            meta[f"{{{NS_FX}}}DocumentFileName"] = filename
            meta[f"{{{NS_FX}}}Version"] = "1.0"
            meta[f"{{{NS_FX}}}ConformanceLevel"] = "EN 16931"
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
    return out.getvalue()
