"""Read the invoice fields of a structured e-invoice (XRechnung, ZUGFeRD, Factur-X) from its XML.

German e-invoices come in two syntaxes of the European standard EN 16931:

* UN/CEFACT **CII** (root ``CrossIndustryInvoice``): ZUGFeRD 2.x, Factur-X and XRechnung-CII;
* OASIS **UBL** (root ``Invoice`` or ``CreditNote``): XRechnung-UBL and Peppol;

plus the older **ZUGFeRD 1.0** dialect of CII (root ``CrossIndustryDocument``), which names its
aggregates differently (``HeaderExchangedDocument``, ``ApplicableSupplyChainTradeAgreement``, ...).

:func:`read_einvoice` parses the XML safely (defusedxml: no DTD, no entity, no external reference is ever
resolved; a size limit applies before parsing) and returns an :class:`EInvoice` with the business terms
the ``mailroom.result/v1`` contract carries, normalised: amounts as two-decimal strings (``"-8.79"``),
dates ISO ``YYYY-MM-DD``, the IBAN without spaces in upper case, the VAT id without spaces. A term the
XML does not carry (or carries empty, or in a form that cannot be read unambiguously, such as a date given
only as a month) is ``None``: never guessed. :func:`to_result_fields` turns it into the contract's
``invoice`` dict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal
from xml.etree.ElementTree import Element

from mailroom.errors import HostileXml, InvalidXml
from mailroom.result import INVOICE_FIELDS
from mailroom.safexml import parse_xml
from mailroom.settings import Settings

#: Default upper bound for the size of an XML e-invoice: the default of ``Settings.max_xml_bytes`` (20 MiB).
DEFAULT_MAX_XML_BYTES: int = Settings.model_fields["max_xml_bytes"].default

Syntax = Literal["CII", "UBL", "ZUGFeRD1"]

#: (namespace, local name) of each accepted root element and the syntax it stands for.
_ROOTS: dict[tuple[str, str], Syntax] = {
    ("urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100", "CrossIndustryInvoice"): "CII",
    ("urn:ferd:CrossIndustryDocument:invoice:1p0", "CrossIndustryDocument"): "ZUGFeRD1",
    ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", "Invoice"): "UBL",
    ("urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2", "CreditNote"): "UBL",
}

_CENT = Decimal("0.01")
_CII_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
#: CII date formats (UNTDID 2379) that do not name one day: 610 = YYYYMM, 616 = YYYYWW.
_NOT_A_DAY_FORMATS = frozenset({"610", "616"})


@dataclass(frozen=True)
class LineItem:
    """One invoice line (EN 16931 BG-25): line id (BT-126), item name (BT-153, else description BT-154),
    invoiced quantity (BT-129), item net price (BT-146) and line net amount (BT-131)."""

    id: str | None
    description: str | None
    quantity: str | None
    unit_price: str | None
    amount: str | None


@dataclass(frozen=True)
class EInvoice:
    """The EN 16931 business terms of one e-invoice, normalised; ``None`` where the XML lacks the term."""

    syntax: Syntax
    root: str
    invoice_number: str | None = None  # BT-1
    issue_date: str | None = None  # BT-2
    type_code: str | None = None  # BT-3
    currency: str | None = None  # BT-5
    due_date: str | None = None  # BT-9
    buyer_reference: str | None = None  # BT-10, the Leitweg-ID in XRechnung
    order_reference: str | None = None  # BT-13
    payment_terms: str | None = None  # BT-20
    seller_name: str | None = None  # BT-27
    seller_vat_id: str | None = None  # BT-31
    seller_tax_number: str | None = None  # BT-32
    buyer_name: str | None = None  # BT-44
    service_date: str | None = None  # BT-72
    service_period_start: str | None = None  # BT-73
    service_period_end: str | None = None  # BT-74
    iban: str | None = None  # BT-84
    bic: str | None = None  # BT-86
    line_net_total: str | None = None  # BT-106
    total_net: str | None = None  # BT-109
    total_vat: str | None = None  # BT-110
    total_gross: str | None = None  # BT-112
    amount_due: str | None = None  # BT-115
    line_items: tuple[LineItem, ...] = ()


#: The fields of :class:`EInvoice` that are fields of the result contract's ``invoice`` part.
RESULT_FIELDS: tuple[str, ...] = tuple(name for name in INVOICE_FIELDS if name in EInvoice.__dataclass_fields__)


def read_einvoice(data: bytes, *, max_bytes: int = DEFAULT_MAX_XML_BYTES) -> EInvoice:
    """Parse an e-invoice XML document (CII, ZUGFeRD 1.0 or UBL) and return its business terms.

    Raises :class:`~mailroom.errors.HostileXml` for XML that declares a DTD, entities or external
    references, or is larger than ``max_bytes`` (refused before parsing), and
    :class:`~mailroom.errors.InvalidXml` for XML that is not well-formed or whose root element is not an
    e-invoice root (the message names the root found).
    """
    if len(data) > max_bytes:
        raise HostileXml(
            f"The XML has {len(data)} bytes, more than the limit of {max_bytes}; refused unparsed.",
            size=len(data),
            max_bytes=max_bytes,
        )
    root = parse_xml(data)
    namespace, local = _split_tag(root.tag)
    syntax = _ROOTS.get((namespace, local))
    if syntax is None:
        shown = f"{{{namespace}}}{local}" if namespace else local
        raise InvalidXml(f"The XML is no e-invoice: unknown root element {shown}.", root=shown)
    _strip_namespaces(root)
    if syntax == "UBL":
        return _read_ubl(root, local)
    return _read_cii(root, syntax, local)


def to_result_fields(e: EInvoice) -> dict[str, Any]:
    """The contract's ``invoice`` dict for an e-invoice: every term the XML carries, with confidence 1.0
    and source ``e-invoice``; terms it lacks are absent. ``line_items`` is always present (maybe empty)."""
    out: dict[str, Any] = {}
    for name in RESULT_FIELDS:
        value = getattr(e, name)
        if value is not None:
            out[name] = {"value": value, "confidence": 1.0, "source": "e-invoice"}
    out["line_items"] = [
        {
            "id": item.id,
            "description": item.description,
            "quantity": item.quantity,
            "unit_price": item.unit_price,
            "amount": item.amount,
        }
        for item in e.line_items
    ]
    return out


# --- parsing ---------------------------------------------------------------------------------------------


def _split_tag(tag: str) -> tuple[str, str]:
    """``{namespace}local`` -> (namespace, local)."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _strip_namespaces(root: Element) -> None:
    """Reduce every element name to its local name, so that one set of paths serves all CII versions."""
    for element in root.iter():
        if isinstance(element.tag, str):
            element.tag = _split_tag(element.tag)[1]


def _find(element: Element | None, path: str) -> Element | None:
    """The first element at ``path`` below ``element``; ``None`` when either is missing."""
    return None if element is None else element.find(path)


def _findall(element: Element | None, path: str) -> list[Element]:
    """All elements at ``path`` below ``element`` (none when ``element`` is missing)."""
    return [] if element is None else element.findall(path)


def _text(element: Element | None, path: str = ".") -> str | None:
    """Stripped text at ``path`` below ``element``; ``None`` when missing or empty."""
    found = _find(element, path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


# --- normalisation ---------------------------------------------------------------------------------------


def _decimal(text: str | None) -> Decimal | None:
    """A finite decimal number, or None for missing or unreadable text."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _amount(text: str | None) -> str | None:
    """A monetary amount as a two-decimal string, rounded half up."""
    value = _decimal(text)
    return None if value is None else str(value.quantize(_CENT, rounding=ROUND_HALF_UP))


def _price(text: str | None) -> str | None:
    """A unit price with all its significant decimals, but at least two (``"0.7900"`` -> ``"0.79"``,
    ``"0.1234"`` -> ``"0.1234"``): unit prices may legitimately be finer than a cent."""
    value = _decimal(text)
    if value is None:
        return None
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _quantity(text: str | None) -> str | None:
    """A quantity without trailing zeros, never in exponent notation (``"20.000"`` -> ``"20"``)."""
    value = _decimal(text)
    return None if value is None else format(value.normalize(), "f")


def _iso(year: str, month: str, day: str) -> str | None:
    """ISO date of a calendar day, or None when there is no such day."""
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def _cii_date(element: Element | None) -> str | None:
    """A CII ``DateTimeString``: format 102 is ``YYYYMMDD``. Formats naming a month or week, and text
    that is no valid calendar day, give ``None``."""
    if element is None:
        return None
    node = element.find("DateTimeString")
    if node is None or node.text is None or node.get("format") in _NOT_A_DAY_FORMATS:
        return None
    text = node.text.strip()
    match = _CII_DATE.fullmatch(text) or _ISO_DATE.fullmatch(text)
    return _iso(*match.groups()) if match else None


def _ubl_date(text: str | None) -> str | None:
    """A UBL ``xsd:date`` (``YYYY-MM-DD``, possibly with a time zone suffix)."""
    if text is None:
        return None
    match = _ISO_DATE.match(text)
    return _iso(*match.groups()) if match else None


def _compact(text: str | None) -> str | None:
    """Identifiers such as IBAN, BIC and VAT id: without whitespace, upper case."""
    if text is None:
        return None
    return "".join(text.split()).upper() or None


def _joined(texts: list[str | None]) -> str | None:
    """The non-empty texts, one per line (several payment terms, several notes)."""
    parts = [text for text in texts if text]
    return "\n".join(parts) or None


def _in_currency(candidates: list[Element], currency: str | None) -> Element | None:
    """The amount element in the invoice currency: EN 16931 allows a second VAT total (BT-111) in the
    accounting currency, told apart by ``currencyID``."""
    for candidate in candidates:
        if currency is None or candidate.get("currencyID") in (None, currency):
            return candidate
    return None


# --- CII (ZUGFeRD 2.x, Factur-X, XRechnung-CII) and ZUGFeRD 1.0 -------------------------------------------


@dataclass(frozen=True)
class _CiiNames:
    """Element names that differ between CII D16B (ZUGFeRD 2.x) and the ZUGFeRD 1.0 dialect."""

    document: str
    transaction: str
    agreement: str
    delivery: str
    settlement: str
    summation: str
    order_id: str
    line_agreement: str
    line_delivery: str
    line_settlement: str
    line_summation: str


_CII = _CiiNames(
    document="ExchangedDocument",
    transaction="SupplyChainTradeTransaction",
    agreement="ApplicableHeaderTradeAgreement",
    delivery="ApplicableHeaderTradeDelivery",
    settlement="ApplicableHeaderTradeSettlement",
    summation="SpecifiedTradeSettlementHeaderMonetarySummation",
    order_id="IssuerAssignedID",
    line_agreement="SpecifiedLineTradeAgreement",
    line_delivery="SpecifiedLineTradeDelivery",
    line_settlement="SpecifiedLineTradeSettlement",
    line_summation="SpecifiedTradeSettlementLineMonetarySummation",
)

_ZUGFERD1 = _CiiNames(
    document="HeaderExchangedDocument",
    transaction="SpecifiedSupplyChainTradeTransaction",
    agreement="ApplicableSupplyChainTradeAgreement",
    delivery="ApplicableSupplyChainTradeDelivery",
    settlement="ApplicableSupplyChainTradeSettlement",
    summation="SpecifiedTradeSettlementMonetarySummation",
    order_id="ID",
    line_agreement="SpecifiedSupplyChainTradeAgreement",
    line_delivery="SpecifiedSupplyChainTradeDelivery",
    line_settlement="SpecifiedSupplyChainTradeSettlement",
    line_summation="SpecifiedTradeSettlementMonetarySummation",
)


def _tax_registration(party: Element | None, scheme: str) -> str | None:
    """The seller's tax registration with ``schemeID`` VA (VAT id, BT-31) or FC (tax number, BT-32)."""
    return _text(party, f"SpecifiedTaxRegistration/ID[@schemeID='{scheme}']")


def _read_cii(root: Element, syntax: Syntax, local: str) -> EInvoice:
    """The business terms of a CII or ZUGFeRD 1.0 invoice (namespaces already stripped)."""
    names = _ZUGFERD1 if syntax == "ZUGFeRD1" else _CII
    document = root.find(names.document)
    transaction = root.find(names.transaction)
    agreement = _find(transaction, names.agreement)
    settlement = _find(transaction, names.settlement)
    summation = _find(settlement, names.summation)
    seller = _find(agreement, "SellerTradeParty")

    currency = _text(settlement, "InvoiceCurrencyCode")
    terms = _findall(settlement, "SpecifiedTradePaymentTerms")
    due_dates = [_cii_date(term.find("DueDateDateTime")) for term in terms]
    account, institution = _cii_payee_account(settlement)
    period = _find(settlement, "BillingSpecifiedPeriod")

    return EInvoice(
        syntax=syntax,
        root=local,
        invoice_number=_text(document, "ID"),
        issue_date=_cii_date(_find(document, "IssueDateTime")),
        type_code=_text(document, "TypeCode"),
        currency=currency,
        due_date=next((due for due in due_dates if due), None),
        buyer_reference=_text(agreement, "BuyerReference"),
        order_reference=_text(agreement, f"BuyerOrderReferencedDocument/{names.order_id}"),
        payment_terms=_joined([_text(term, "Description") for term in terms]),
        seller_name=_text(seller, "Name"),
        seller_vat_id=_compact(_tax_registration(seller, "VA")),
        seller_tax_number=_tax_registration(seller, "FC"),
        buyer_name=_text(agreement, "BuyerTradeParty/Name"),
        service_date=_cii_date(
            _find(transaction, f"{names.delivery}/ActualDeliverySupplyChainEvent/OccurrenceDateTime")
        ),
        service_period_start=_cii_date(_find(period, "StartDateTime")),
        service_period_end=_cii_date(_find(period, "EndDateTime")),
        iban=_compact(account),
        bic=_compact(institution),
        line_net_total=_amount(_text(summation, "LineTotalAmount")),
        total_net=_amount(_text(summation, "TaxBasisTotalAmount")),
        total_vat=_amount(_text(_in_currency(_findall(summation, "TaxTotalAmount"), currency))),
        total_gross=_amount(_text(summation, "GrandTotalAmount")),
        amount_due=_amount(_text(summation, "DuePayableAmount")),
        line_items=tuple(
            _cii_line(line, names) for line in _findall(transaction, "IncludedSupplyChainTradeLineItem")
        ),
    )


def _cii_payee_account(settlement: Element | None) -> tuple[str | None, str | None]:
    """IBAN (BT-84) and BIC (BT-86) of the first payment means that names a payee account.

    The payer's account of a direct debit (BT-91) is not the payee's and is never taken.
    """
    for means in _findall(settlement, "SpecifiedTradeSettlementPaymentMeans"):
        account = _text(means, "PayeePartyCreditorFinancialAccount/IBANID")
        if account:
            return account, _text(means, "PayeeSpecifiedCreditorFinancialInstitution/BICID")
    return None, None


def _cii_line(line: Element, names: _CiiNames) -> LineItem:
    """One ``IncludedSupplyChainTradeLineItem``; a text-only line (ZUGFeRD 1.0 notes) has every field None."""
    agreement = line.find(names.line_agreement)
    settlement = line.find(names.line_settlement)
    product = line.find("SpecifiedTradeProduct")
    return LineItem(
        id=_text(line, "AssociatedDocumentLineDocument/LineID"),
        description=_text(product, "Name") or _text(product, "Description"),
        quantity=_quantity(_text(line, f"{names.line_delivery}/BilledQuantity")),
        unit_price=_price(_text(agreement, "NetPriceProductTradePrice/ChargeAmount")),
        amount=_amount(_text(settlement, f"{names.line_summation}/LineTotalAmount")),
    )


# --- UBL (XRechnung-UBL, Peppol) -------------------------------------------------------------------------


def _ubl_tax_schemes(party: Element | None) -> tuple[str | None, str | None]:
    """(VAT id BT-31, tax number BT-32) of a UBL party: ``PartyTaxScheme`` with tax scheme VAT, or any
    other tax scheme (XRechnung writes the German Steuernummer with scheme ``FC``)."""
    vat_id = tax_number = None
    for scheme in _findall(party, "PartyTaxScheme"):
        company_id = _text(scheme, "CompanyID")
        if _text(scheme, "TaxScheme/ID") == "VAT":
            vat_id = vat_id or company_id
        else:
            tax_number = tax_number or company_id
    return vat_id, tax_number


#: UBL root -> (line element, quantity element).
_UBL_LINES = {
    "Invoice": ("InvoiceLine", "InvoicedQuantity"),
    "CreditNote": ("CreditNoteLine", "CreditedQuantity"),
}


def _read_ubl(root: Element, local: str) -> EInvoice:
    """The business terms of a UBL invoice or credit note (namespaces already stripped)."""
    seller = root.find("AccountingSupplierParty/Party")
    buyer = root.find("AccountingCustomerParty/Party")
    totals = root.find("LegalMonetaryTotal")
    currency = _text(root, "DocumentCurrencyCode")
    vat_id, tax_number = _ubl_tax_schemes(seller)
    account, institution = _ubl_payee_account(root)
    line_tag, quantity_tag = _UBL_LINES[local]
    due_date = _text(root, "DueDate") or _text(root, "PaymentMeans/PaymentDueDate")

    return EInvoice(
        syntax="UBL",
        root=local,
        invoice_number=_text(root, "ID"),
        issue_date=_ubl_date(_text(root, "IssueDate")),
        type_code=_text(root, f"{local}TypeCode"),
        currency=currency,
        due_date=_ubl_date(due_date),
        buyer_reference=_text(root, "BuyerReference"),
        order_reference=_text(root, "OrderReference/ID"),
        payment_terms=_joined([_text(note) for note in root.findall("PaymentTerms/Note")]),
        seller_name=_text(seller, "PartyLegalEntity/RegistrationName"),
        seller_vat_id=_compact(vat_id),
        seller_tax_number=tax_number,
        buyer_name=_text(buyer, "PartyLegalEntity/RegistrationName"),
        service_date=_ubl_date(_text(root, "Delivery/ActualDeliveryDate")),
        service_period_start=_ubl_date(_text(root, "InvoicePeriod/StartDate")),
        service_period_end=_ubl_date(_text(root, "InvoicePeriod/EndDate")),
        iban=_compact(account),
        bic=_compact(institution),
        line_net_total=_amount(_text(totals, "LineExtensionAmount")),
        total_net=_amount(_text(totals, "TaxExclusiveAmount")),
        total_vat=_amount(_text(_in_currency(root.findall("TaxTotal/TaxAmount"), currency))),
        total_gross=_amount(_text(totals, "TaxInclusiveAmount")),
        amount_due=_amount(_text(totals, "PayableAmount")),
        line_items=tuple(_ubl_line(line, quantity_tag) for line in root.findall(line_tag)),
    )


def _ubl_payee_account(root: Element) -> tuple[str | None, str | None]:
    """IBAN (BT-84) and BIC (BT-86) of the first payment means that names a payee account."""
    for means in root.findall("PaymentMeans"):
        account = _text(means, "PayeeFinancialAccount/ID")
        if account:
            return account, _text(means, "PayeeFinancialAccount/FinancialInstitutionBranch/ID")
    return None, None


def _ubl_line(line: Element, quantity_tag: str) -> LineItem:
    """One ``InvoiceLine`` or ``CreditNoteLine`` (its sub-lines are not separate items)."""
    item = line.find("Item")
    return LineItem(
        id=_text(line, "ID"),
        description=_text(item, "Name") or _text(item, "Description"),
        quantity=_quantity(_text(line, quantity_tag)),
        unit_price=_price(_text(line, "Price/PriceAmount")),
        amount=_amount(_text(line, "LineExtensionAmount")),
    )
