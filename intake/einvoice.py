"""Recognise e-invoices: standalone XML and XML embedded in a PDF (ZUGFeRD, Factur-X, XRechnung).

German e-invoices come in two syntaxes of EN 16931: UN/CEFACT CII (root ``CrossIndustryInvoice``; ZUGFeRD 2.x,
Factur-X and XRechnung-CII) and OASIS UBL (root ``Invoice`` or ``CreditNote``; XRechnung-UBL). The older
ZUGFeRD 1.0 uses its own CII dialect (root ``CrossIndustryDocument``). A hybrid invoice is a PDF/A-3 that
carries the XML as an attachment, named ``factur-x.xml``, ``zugferd-invoice.xml`` (ZUGFeRD 1.0/2.0) or
``xrechnung.xml``, listed in the ``EmbeddedFiles`` name tree and in the catalogue's ``/AF`` array.

XML is always parsed with defusedxml, DTDs, entities and external references forbidden: nothing is ever
resolved or fetched. Size limits apply to embedded XML as to uploaded XML, and are enforced while inflating
the attachment, so a compressed bomb is never decompressed beyond the limit.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from xml.etree.ElementTree import Element

import pikepdf

from mailroom.errors import FileTooLarge, HostileXml, InvalidXml
from mailroom.safexml import parse_xml
from mailroom.settings import Settings

log = logging.getLogger(__name__)

#: (namespace, local name) of each e-invoice root element, and the syntax it stands for.
INVOICE_ROOTS: dict[tuple[str, str], str] = {
    ("urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100", "CrossIndustryInvoice"): "CII",
    ("urn:ferd:CrossIndustryDocument:invoice:1p0", "CrossIndustryDocument"): "ZUGFeRD1",
    ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", "Invoice"): "UBL",
    ("urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2", "CreditNote"): "UBL",
}

#: Attachment names the standards prescribe (compared case-insensitively).
INVOICE_ATTACHMENT_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")

_DEFAULT_MAX_XML_BYTES: int = Settings.model_fields["max_xml_bytes"].default


def invoice_syntax(root: Element) -> str | None:
    """The e-invoice syntax ("CII", "UBL", "ZUGFeRD1") of a parsed root element, or None."""
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    return INVOICE_ROOTS.get((namespace, local))


def xml_invoice_root(data: bytes) -> str | None:
    """Return the e-invoice syntax of an XML document ("CII", "UBL", "ZUGFeRD1"), or None if it is none.

    The XML is parsed safely (:func:`mailroom.safexml.parse_xml`); hostile or malformed XML raises rather than returning
    None, so that a caller never mistakes an attack for an ordinary non-invoice.
    """
    return invoice_syntax(parse_xml(data))


def find_embedded_invoice_xml(
    pdf: pikepdf.Pdf, max_bytes: int = _DEFAULT_MAX_XML_BYTES
) -> tuple[str, bytes] | None:
    """Find the e-invoice XML attached to a PDF; return (attachment name, XML bytes) or None.

    Attachments with a standard name (:data:`INVOICE_ATTACHMENT_NAMES`) are tried first, then any other
    ``*.xml`` attachment; the first whose root is an e-invoice wins. A standard-named attachment that is
    larger than ``max_bytes`` raises :class:`FileTooLarge` and one with a DTD or entities raises
    :class:`HostileXml`; a malformed one is skipped (the PDF stays readable as a letter, it is just not an
    e-invoice). Other XML attachments that are too large or not parseable are skipped.
    """
    candidates = list(_xml_attachments(pdf))
    candidates.sort(key=lambda item: item[0].casefold() not in INVOICE_ATTACHMENT_NAMES)
    for name, stream in candidates:
        standard = name.casefold() in INVOICE_ATTACHMENT_NAMES
        try:
            data = _read_limited(stream, name, max_bytes)
            if data is not None and xml_invoice_root(data) is not None:
                return name, data
        except (FileTooLarge, HostileXml):
            if standard:
                raise
            log.warning("skipping unusable XML attachment %r", name)
        except InvalidXml as exc:
            log.warning("skipping malformed XML attachment %r: %s", name, exc.message)
    return None


def _xml_attachments(pdf: pikepdf.Pdf) -> Iterator[tuple[str, pikepdf.Stream]]:
    """Every ``*.xml`` attachment of the EmbeddedFiles name tree and the catalogue's /AF, each once."""
    seen: set[tuple[int, int]] = set()
    for key, filespec in _filespecs(pdf):
        name = _filespec_name(filespec, key)
        stream = _embedded_stream(filespec)
        if stream is None or not name.casefold().endswith(".xml"):
            continue
        ident = stream.objgen
        if ident != (0, 0) and ident in seen:
            continue
        seen.add(ident)
        yield name, stream


def _filespecs(pdf: pikepdf.Pdf) -> Iterator[tuple[str, pikepdf.Object]]:
    """(name-tree key or "", file specification) pairs from the name tree, then from /AF."""
    names = pdf.Root.get("/Names")
    tree = names.get("/EmbeddedFiles") if isinstance(names, pikepdf.Dictionary) else None
    if isinstance(tree, pikepdf.Dictionary):
        for key, filespec in pikepdf.NameTree(tree).items():
            yield str(key), filespec
    af = pdf.Root.get("/AF")
    if isinstance(af, pikepdf.Array):
        for filespec in af:
            yield "", filespec


def _filespec_name(filespec: pikepdf.Object, fallback: str) -> str:
    """The attachment's file name: /UF, else /F, else the name-tree key."""
    if isinstance(filespec, pikepdf.Dictionary):
        for key in ("/UF", "/F"):
            value = filespec.get(key)
            if isinstance(value, pikepdf.String):
                return str(value)
    return fallback


def _embedded_stream(filespec: pikepdf.Object) -> pikepdf.Stream | None:
    """The embedded file stream of a file specification (/EF /UF or /EF /F), or None."""
    if not isinstance(filespec, pikepdf.Dictionary):
        return None
    ef = filespec.get("/EF")
    if not isinstance(ef, pikepdf.Dictionary):
        return None
    for key in ("/UF", "/F"):
        stream = ef.get(key)
        if isinstance(stream, pikepdf.Stream):
            return stream
    return None


def _read_limited(stream: pikepdf.Stream, name: str, max_bytes: int) -> bytes | None:
    """The decoded bytes of an attachment, never inflating more than ``max_bytes`` (+1).

    Returns None for a filter chain other than none or FlateDecode without predictor (not used for XML in
    practice, and not decodable with a bound) or for broken compressed data. Raises :class:`FileTooLarge`.
    """
    params = stream.get("/Params")
    declared = params.get("/Size") if isinstance(params, pikepdf.Dictionary) else None
    if isinstance(declared, int) and declared > max_bytes:
        raise _too_large(name, max_bytes)
    filters = stream.get("/Filter")
    if isinstance(filters, pikepdf.Array) and len(filters) == 1:
        filters = filters[0]
    raw = stream.read_raw_bytes()
    if filters is None:
        data = raw
    elif filters == pikepdf.Name.FlateDecode and stream.get("/DecodeParms") is None:
        try:
            data = zlib.decompressobj().decompress(raw, max_bytes + 1)
        except zlib.error:
            log.warning("attachment %r has broken compressed data", name)
            return None
    else:
        log.warning("attachment %r uses unsupported filters %s", name, filters)
        return None
    if len(data) > max_bytes:
        raise _too_large(name, max_bytes)
    return data


def _too_large(name: str, max_bytes: int) -> FileTooLarge:
    """The error for an embedded XML above the limit."""
    return FileTooLarge(
        f"The embedded XML {name!r} is larger than the limit of {max_bytes} bytes.",
        field="embedded_xml",
        limit=max_bytes,
    )
