"""Recognise one document: zones, recipient, document type, the postbox its content suggests, references.

    models = RoutingModels(document_type=..., postbox=...)      # from routing.training.load_models
    recognition = recognise(document, directory=default_directory(), models=models)
    facts = facts_for_rules(recognition)                         # what rules may test (rules.Facts)

Two models are used, both :class:`classifiers.doctype.TypeModel` (TF-IDF + calibrated linear SVM, predicting through
:mod:`classifiers.linear` without scikit-learn): the
document-type model, and the *postbox* model, the same model class trained on the postbox of each letter. The
postbox model only speaks for letters whose type does not fix the postbox and whose address field does not
name a department (see :mod:`routing.decision`). The type → postbox routes of the town are read from the
``document_types`` section of the directory YAML (:func:`load_type_routes`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from classifiers.doctype import TypePrediction, TypePredictor
from classifiers.layout import LetterZones, find_zones
from classifiers.recipient import RecipientMatch, match_recipient, normalise
from classifiers.responsibilities import PostboxEvidence, catalogue_for
from classifiers.samples import Sample
from mailroom import yamlio
from mailroom.directory import DEFAULT_PATH, Directory
from mailroom.errors import InvalidDirectory
from mailroom.model import Document
from rules.facts import Facts, IntakeFacts, InvoiceFacts, RecipientFacts, ScoredLabel, SupplierFacts

E_INVOICE_TYPE = "invoice"
_LEITWEG = re.compile(r"\b\d{2,12}(?:-[0-9A-Z]{1,30})?-\d{2}\b")


@dataclass(frozen=True)
class TypeRoute:
    """Where letters of one type go: one fixed postbox, or one of ``candidates`` decided by the content."""

    postbox: str | None = None
    candidates: tuple[str, ...] = ()


def load_type_routes(path: Path = DEFAULT_PATH) -> dict[str, TypeRoute]:
    """The ``document_types`` section of a directory YAML: ``{type: {postbox: id} | {postboxes: [ids]}}``."""
    try:
        raw = yamlio.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidDirectory(f"cannot read the document-type routes of {path}: {exc}") from exc
    section = raw.get("document_types") or {}
    if not isinstance(section, Mapping):
        raise InvalidDirectory(f"{path.name}: 'document_types' must be a mapping", field="document_types")
    return {
        str(name): TypeRoute(
            postbox=str(route["postbox"]) if route.get("postbox") else None,
            candidates=tuple(str(b) for b in route.get("postboxes") or ()),
        )
        for name, route in section.items()
    }


@dataclass(frozen=True)
class RoutingModels:
    """The two fitted models recognition uses, with their registry versions."""

    document_type: TypePredictor
    postbox: TypePredictor


@dataclass(frozen=True)
class Reference:
    """A reference found in the letter that names a department: an Aktenzeichen or a Leitweg-ID."""

    kind: str  # aktenzeichen | leitweg_id
    value: str
    department: str


@dataclass(frozen=True)
class Recognition:
    """What recognition found in one document."""

    sample: Sample
    zones: LetterZones | None
    recipient: RecipientMatch
    document_type: TypePrediction
    document_type_by: str  # "model:doctype@3" or "e_invoice"
    postbox: TypePrediction | None  # the content's postbox (None for e-invoices)
    postbox_by: str | None
    addressed_postbox: str | None  # a postbox the address names itself ("Zentrale Vergabestelle")
    references: tuple[Reference, ...] = ()
    catalogue: tuple[PostboxEvidence, ...] = ()  # what the letter's words say, by the responsibilities catalogue

    @property
    def leitweg_id(self) -> str | None:
        return next((r.value for r in self.references if r.kind == "leitweg_id"), None)


def addressed_postbox(match: RecipientMatch, directory: Directory) -> str | None:
    """A postbox of the matched department that the address names itself, not only the department: the postbox's
    name ("Zentrale Vergabestelle"), the unit of a task with its own postbox in the responsibilities catalogue
    ("Gewerbeamt", "Vergabe- und Beschaffungsstelle"), or the postbox of the person it is addressed to."""
    if match.department is None or match.source != "address":
        return None
    if match.person is not None:
        person = directory.persons.get(match.person)
        if person is not None and person.postbox and person.department == match.department:
            return person.postbox
    if match.text is None:
        return None
    raw_lines = match.text.splitlines()
    lines = [normalise(line) for line in raw_lines]
    for box in directory.postboxes.values():
        department = directory.departments[box.department]
        if box.department != match.department or box.id == department.main_postbox:
            continue
        name = normalise(box.name)
        if any(line == name or (len(line) >= 8 and name.startswith(line)) for line in lines):
            return box.id
    named = catalogue_for(directory).addressed_postbox(raw_lines, match.department)
    return named[0] if named else None


def _references(text: str, your_reference: str | None, directory: Directory) -> tuple[Reference, ...]:
    found: list[Reference] = []
    for source in (your_reference, text):
        akz = directory.department_for_aktenzeichen(source) if source else None
        if akz is not None:
            found.append(Reference("aktenzeichen", akz[1], akz[0].id))
            break
    for candidate in _LEITWEG.findall(text):
        dep = directory.department_for_leitweg_id(candidate)
        if dep is not None:
            found.append(Reference("leitweg_id", candidate, dep.id))
            break
    return tuple(found)


_SUBJECT_LINE = re.compile(r"^\s*(?:Betreff|Betr\.|Betrifft|Betr)\s*:?\s*(\S.*)$", re.IGNORECASE | re.MULTILINE)
_INFO_TAIL = re.compile(
    r"\s+(?:Datum|Ihr Zeichen|Ihre Nachricht|Ihr Schreiben|Unser Zeichen|Telefon|Tel\.|Name|E-Mail|Aktenzeichen)\b.*$"
)
_POSTCODE_LINE = re.compile(r"\b\d{5}\s+\S")


def fallback_subject(text: str) -> str:
    """The subject from a "Betreff:" line, when layout analysis found no subject zone."""
    found = _SUBJECT_LINE.search(text)
    return found.group(1).strip() if found else ""


def fallback_address(text: str, directory: Directory) -> list[str]:
    """The recipient lines when layout analysis found no address field: from the first line that names the town
    ("Stadtverwaltung Musterstadt", "Rathaus Musterstadt") down to the postcode line, without the information
    block that OCR may have joined to them ("... Datum: 3.11.2026"). Return-address lines (with "·" or a
    postcode) do not start it."""
    town_words = {normalise(n).split()[-1] for n in directory.town_names if normalise(n)}
    lines = text.splitlines()[:40]
    for i, line in enumerate(lines):
        words_here = set(normalise(line).split())
        if not town_words & words_here or _POSTCODE_LINE.search(line) or "·" in line:
            continue
        block = []
        for following in lines[i : i + 7]:
            cleaned = _INFO_TAIL.sub("", following).strip()
            if cleaned:
                block.append(cleaned)
            if _POSTCODE_LINE.search(following):
                break
        return block
    return []


def recognise(
    document: Document, *, directory: Directory, models: RoutingModels, e_invoice: bool = False
) -> Recognition:
    """Zones, recipient, type and content postbox of a document. ``e_invoice``: the document is an XML
    e-invoice (no pages): its type is known exactly and its recipient is the buyer of the XML."""
    first = next((p for p in document.pages if p.blocks), None)
    zones = find_zones(first) if first is not None else None
    address = zones.address if zones else None
    info = zones.info if zones else None
    text = document.text
    sample = Sample(
        text=text,
        subject=zones.subject.text if zones and zones.subject else "",
        address=address.text if address else "",
    )
    address_lines = list(address.lines) if address and address.lines else fallback_address(text, directory)
    match = match_recipient(
        address_lines,
        directory,
        endorsement=address.endorsement if address else None,
        your_reference=info.your_reference if info else None,
        text=text,
    )
    references = _references(text, info.your_reference if info else None, directory)
    type_model, postbox_model = models.document_type, models.postbox
    if e_invoice and not text.strip():
        prediction = TypePrediction(E_INVOICE_TYPE, 1.0, {E_INVOICE_TYPE: 1.0})
        return Recognition(sample, zones, match, prediction, "e_invoice", None, None, None, references)
    predictions = [type_model.predict(sample), postbox_model.predict(sample)]
    evidence = catalogue_for(directory).content_evidence(
        sample.text, sample.subject or fallback_subject(text), sample.address or "\n".join(address_lines)
    )
    return Recognition(
        sample=sample,
        zones=zones,
        recipient=match,
        document_type=predictions[0],
        document_type_by=f"model:doctype@{type_model.version}",
        postbox=predictions[1],
        postbox_by=f"model:postbox@{postbox_model.version}",
        addressed_postbox=addressed_postbox(match, directory),
        references=references,
        catalogue=tuple(evidence),
    )


def facts_for_rules(
    recognition: Recognition,
    *,
    invoice: InvoiceFacts | None = None,
    supplier: SupplierFacts | None = None,
    intake: IntakeFacts | None = None,
    leitweg_id: str | None = None,
) -> Facts:
    """The :class:`rules.Facts` of a recognised document; invoice, supplier and intake facts come from the
    other stages. ``leitweg_id`` (e.g. BT-10 of an e-invoice) wins over one found in the text."""
    match = recognition.recipient
    return Facts(
        document_type=ScoredLabel(
            label=recognition.document_type.label,
            confidence=min(1.0, max(0.0, recognition.document_type.confidence)),
        ),
        # the address field's recipient only: a department inferred from an Aktenzeichen or a Leitweg-ID is not
        # what the address names (rules test those references themselves)
        recipient=RecipientFacts(
            department=match.department, person=match.person, confidence=min(1.0, max(0.0, match.confidence))
        )
        if match.source == "address" and (match.department or match.person)
        else None,
        supplier=supplier,
        invoice=invoice,
        leitweg_id=leitweg_id or recognition.leitweg_id,
        intake=intake or IntakeFacts(),
    )
