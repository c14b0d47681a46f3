"""Parsing XML that comes from outside, in one place: defusedxml, nothing is ever resolved or fetched.

Entities and external references (XXE, billion laughs, external DTDs) are refused always; a DTD (``<!DOCTYPE``)
too, unless the caller allows a bare document type declaration (Poppler's XHTML carries one).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from mailroom.errors import HostileXml, InvalidXml


def parse_xml(data: bytes | str, *, allow_doctype: bool = False) -> Element:
    """The root element of ``data``.

    Raises :class:`~mailroom.errors.HostileXml` for a DTD (unless ``allow_doctype``), an entity declaration or an
    external reference, and :class:`~mailroom.errors.InvalidXml` for XML that is not well-formed.
    """
    try:
        return fromstring(data, forbid_dtd=not allow_doctype, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise HostileXml(
            f"The XML declares a DTD, entities or external references, which are refused: {exc}"
        ) from exc
    except (ParseError, ValueError, LookupError) as exc:  # ValueError/LookupError: a bad or unknown encoding
        raise InvalidXml(f"The XML is not well-formed: {exc}") from exc
