"""Generate synthetic German municipal mail with exact ground truth.

Command line::

    python -m sample_docs.generate --out DIR --count N --seed S [--profile demo|scans|digital|mixed]
        [--paper-invoices-only]

Python API: ``generate_set(out_dir, count, seed, profile)`` and ``generate_document(out_dir, index, seed,
profile)``. Output is deterministic for a seed: document ``i`` depends only on ``(seed, i, profile)``.

Every file ``F`` gets ``F.truth.json`` next to it (schema ``mailroom.truth/v1``). Conventions:

- ``pages[].text``: the exact text drawn on the page, lines in reading order, ``\\n`` separated; ``""`` for a
  blank page. Millimetre boxes in ``layout`` refer to the upright, unskewed A4 page of the first letter.
- ``pages[].skew_degrees`` / ``rotation``: see ``sample_docs.scan`` (positive skew = counter-clockwise on
  screen; rotation = clockwise degrees needed to make the page upright). Born-digital pages: 0, dpi ``null``.
- ``pages[].letter``: index into ``letters`` (``null`` for separator sheets).
- ``letters[].pages``: every page number of that letter in order, blank back pages included, separator
  sheets excluded. Each letter entry also carries its own ``recipient``, ``sender``, ``subject``,
  ``aktenzeichen``, ``form`` and ``invoice``; the top-level fields repeat those of the first letter.
- PNG and JPEG files hold the first page of the letter only.
- XML files (XRechnung) have no pages; ``recipient.address_lines`` is the buyer as the XML names it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from intake.separator_sheet import separator_pdf, separator_text
from sample_docs import scan
from sample_docs.content import DOCUMENT_TYPES, make_invoice_letter, make_letter
from sample_docs.einvoice import XRECHNUNG, build_cii, build_ubl, embed_factur_x
from sample_docs.letter import Letter
from sample_docs.render import Rendered, render_letter
from sample_docs.town import Town, load_town

SCHEMA = "mailroom.truth/v1"
PROFILES = ("demo", "scans", "digital", "mixed")
FORMATS = ("pdf_digital", "pdf_scan", "tiff", "png", "jpeg", "xml", "pdf_zugferd")
EXTENSIONS = {
    "pdf_digital": "pdf",
    "pdf_scan": "pdf",
    "tiff": "tif",
    "png": "png",
    "jpeg": "jpg",
    "xml": "xml",
    "pdf_zugferd": "pdf",
}
TYPE_WEIGHTS = {
    "invoice": 8,
    "credit_note": 2,
    "payment_reminder": 3,
    "offer": 2,
    "order_confirmation": 2,
    "delivery_note": 2,
    "contract": 2,
    "application_building_permit": 2,
    "application_housing_benefit": 2,
    "application_dog_tax": 2,
    "application_trade_registration": 2,
    "application_daycare": 2,
    "objection": 3,
    "complaint": 3,
    "enquiry": 3,
    "authority_notice": 3,
    "job_application": 2,
    "invitation": 2,
}


@dataclass(frozen=True)
class Spec:
    """What one generated file is: its format, the letters in it and how it is scanned."""

    format: str
    document_type: str
    stack: int = 1  # number of letters in the file
    separators: bool = False
    dpi: int = 200
    bw: bool = False
    skew: float | None = None  # skew of the first page; None: random
    rotation: int = 0  # rotation of the first page
    duplex: bool = False  # blank back after each sheet
    xml_syntax: str = "cii"
    quality: int = 65


# The committed demo set: one entry per feature the product must handle, then a random mix.
DEMO_PLAN = [
    Spec("pdf_digital", "invoice"),
    Spec("pdf_zugferd", "invoice"),
    Spec("xml", "invoice", xml_syntax="ubl"),
    Spec("xml", "invoice", xml_syntax="cii"),
    Spec("pdf_scan", "objection", skew=3.2),
    Spec("pdf_scan", "invoice", stack=3, separators=True, bw=True, skew=-2.4),
    Spec("tiff", "invoice", bw=True, skew=-2.5),
    Spec("jpeg", "application_building_permit", skew=4.1, dpi=200),
    Spec("png", "complaint", bw=True, skew=0.0),
    Spec("pdf_scan", "application_housing_benefit", rotation=180, skew=1.3, dpi=300),
    Spec("pdf_scan", "application_dog_tax", duplex=True, skew=-0.8),
    Spec("pdf_digital", "contract"),
    Spec("pdf_scan", "enquiry", stack=2, separators=False, bw=True, skew=0.0),
    Spec("tiff", "objection", skew=2.1),
    Spec("pdf_scan", "authority_notice", rotation=90, skew=0.0, bw=True),
    Spec("pdf_digital", "credit_note"),
    Spec("pdf_scan", "payment_reminder", skew=-4.6, bw=True, dpi=300),
    Spec("pdf_digital", "application_trade_registration"),
    Spec("pdf_scan", "application_daycare", skew=-1.2),
    Spec("pdf_digital", "job_application"),
    Spec("jpeg", "invitation", skew=2.7),
    Spec("pdf_digital", "offer"),
    Spec("pdf_scan", "order_confirmation", bw=True, skew=0.4),
    Spec("pdf_digital", "delivery_note"),
    Spec("pdf_zugferd", "credit_note"),
    Spec("pdf_digital", "authority_notice"),
    Spec("tiff", "job_application", bw=True, skew=-3.3, duplex=True),
    Spec("pdf_digital", "enquiry"),
    Spec("pdf_scan", "invitation", bw=True, skew=1.9),
    Spec("pdf_digital", "objection"),
]


def _random_type(rng: random.Random) -> str:
    names = list(TYPE_WEIGHTS)
    return rng.choices(names, weights=[TYPE_WEIGHTS[n] for n in names])[0]


def plan_spec(profile: str, index: int, rng: random.Random) -> Spec:
    """The spec of document ``index`` in a profile."""
    if profile == "demo" and index < len(DEMO_PLAN):
        return DEMO_PLAN[index]
    doc_type = _random_type(rng)
    if profile == "digital":
        fmt = rng.choices(["pdf_digital", "pdf_zugferd", "xml"], weights=[90, 5, 5])[0]
    elif profile == "scans":
        fmt = rng.choices(["pdf_scan", "tiff", "png", "jpeg"], weights=[60, 20, 10, 10])[0]
    else:
        fmt = rng.choices(list(FORMATS), weights=[30, 35, 10, 5, 5, 7, 8])[0]
    if fmt in ("xml", "pdf_zugferd"):
        doc_type = "credit_note" if fmt == "pdf_zugferd" and rng.random() < 0.15 else "invoice"
    stack = rng.choice([2, 3, 4]) if fmt in ("pdf_scan", "tiff") and rng.random() < 0.15 else 1
    skew = 0.0 if rng.random() < 0.2 else round(rng.uniform(-5, 5), 2)
    rotation = rng.choices([0, 180, 90, 270], weights=[90, 6, 2, 2])[0]
    return Spec(
        fmt,
        doc_type,
        stack=stack,
        separators=stack > 1 and rng.random() < 0.7,
        dpi=rng.choice([200, 200, 300]),
        bw=rng.random() < (0.8 if fmt == "png" else 0.4),
        skew=skew,
        rotation=rotation,
        duplex=rng.random() < 0.15,
        xml_syntax=rng.choice(["cii", "ubl"]),
        quality=rng.randint(60, 75),
    )


def _sender_truth(letter: Letter) -> dict[str, Any]:
    s = letter.sender
    return {
        "kind": s.kind,
        "name": s.name,
        "address_lines": s.address_lines,
        "iban": s.iban,
        "bic": s.bic,
        "vat_id": s.vat_id,
        "tax_number": s.tax_number,
    }


def _letter_truth(letter: Letter, rendered: Rendered | None) -> dict[str, Any]:
    r = letter.recipient
    return {
        "document_type": letter.document_type,
        "postbox": letter.postbox,
        "form": rendered.form if rendered else None,
        "language": letter.language,
        "recipient": {
            "department": r.department,
            "person": r.person,
            "confidential": r.confidential,
            "address_lines": r.address_lines,
            "endorsement": r.endorsement,
        },
        "sender": _sender_truth(letter),
        "aktenzeichen": letter.aktenzeichen,
        "subject": letter.subject,
        "date": letter.date.isoformat(),
        "layout": rendered.layout if rendered else None,
        "invoice": letter.invoice.truth() if letter.invoice else None,
    }


def _page(
    number: int,
    text: str,
    letter: int | None,
    *,
    blank: bool = False,
    separator: bool = False,
    skew: float = 0.0,
    rotation: int = 0,
    dpi: int | None = None,
) -> dict[str, Any]:
    return {
        "number": number,
        "text": text,
        "blank": blank,
        "separator": separator,
        "skew_degrees": skew,
        "rotation": rotation,
        "dpi": dpi,
        "letter": letter,
    }


def _letter_for(spec: Spec, rng: random.Random, town: Town, first: bool) -> Letter:
    doc_type = spec.document_type if first else _random_type(rng)
    if spec.format in ("xml", "pdf_zugferd"):
        return make_invoice_letter(
            rng,
            town,
            credit=doc_type == "credit_note",
            english=False,
            leitweg=True if spec.format == "xml" else None,
        )
    return make_letter(doc_type, rng, town)


def _page_settings(spec: Spec, rng: random.Random, first: bool) -> scan.ScanSettings:
    skew = (
        spec.skew
        if first and spec.skew is not None
        else (0.0 if rng.random() < 0.2 else round(rng.uniform(-3, 3), 2))
    )
    return scan.ScanSettings(
        dpi=spec.dpi,
        bw=spec.bw,
        skew=skew,
        rotation=spec.rotation if first else 0,
        noise=rng.uniform(1.5, 3.5),
        blur=rng.uniform(0.3, 0.8),
        illumination=rng.uniform(0.02, 0.12),
        offset_mm=(round(rng.uniform(-2, 2), 1), round(rng.uniform(-2, 2), 1)),
        dark_background=rng.random() < 0.15,
    )


def _write_truth(path: Path, truth: dict[str, Any]) -> None:
    Path(f"{path}.truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def generate_document(
    out_dir: Path,
    index: int,
    seed: int,
    profile: str = "mixed",
    town: Town | None = None,
    spec: Spec | None = None,
) -> Path:
    """Generate document ``index`` of a set (file plus truth) and return the file's path."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    town = town or load_town()
    rng = random.Random(f"{seed}:{profile}:{index}")
    spec = spec or plan_spec(profile, index, rng)
    np_rng = np.random.default_rng(rng.getrandbits(64))
    out_dir.mkdir(parents=True, exist_ok=True)
    label = "stack" if spec.stack > 1 else spec.document_type
    path = out_dir / f"{index:04d}-{label}.{EXTENSIONS[spec.format]}"
    letters = [_letter_for(spec, rng, town, i == 0) for i in range(spec.stack)]
    truth: dict[str, Any] = {"schema": SCHEMA, "file": path.name, "format": spec.format}

    if spec.format == "xml":
        letter = letters[0]
        assert letter.invoice is not None
        xml = build_ubl(letter.invoice) if spec.xml_syntax == "ubl" else build_cii(letter.invoice, XRECHNUNG)
        path.write_bytes(xml)
        entry = _letter_truth(letter, None)
        entry["recipient"].update(
            department=None,
            person=None,
            confidential=False,
            endorsement=None,
            address_lines=["Stadt Musterstadt", "Rathausplatz 1", "12345 Musterstadt"],
        )
        entry["xml_syntax"] = spec.xml_syntax
        entry["subject"] = f"Rechnung {letter.invoice.invoice_number}"
        truth.update({k: v for k, v in entry.items()}, pages=[], letters=[{"pages": [], **entry}])
        _write_truth(path, truth)
        return path

    rendered = [render_letter(letter, rng, embed_fonts=spec.format == "pdf_zugferd") for letter in letters]
    pages: list[dict[str, Any]] = []
    letter_entries: list[dict[str, Any]] = []

    if spec.format in ("pdf_digital", "pdf_zugferd"):
        pdf = rendered[0].pdf
        if spec.format == "pdf_zugferd":
            assert letters[0].invoice is not None
            name = rng.choice(["factur-x.xml", "factur-x.xml", "zugferd-invoice.xml"])
            pdf = embed_factur_x(pdf, build_cii(letters[0].invoice), name)
            truth["embedded_xml"] = name
        path.write_bytes(pdf)
        pages = [_page(n, text, 0) for n, text in enumerate(rendered[0].page_texts, 1)]
        letter_entries.append(
            {"pages": [p["number"] for p in pages], **_letter_truth(letters[0], rendered[0])}
        )
    else:
        scanned: list[scan.ScannedPage] = []
        sep_images: list[np.ndarray] | None = None
        for li, (letter, rend) in enumerate(zip(letters, rendered, strict=True)):
            if li > 0 and spec.separators:
                sep_images = sep_images or scan.rasterise(separator_pdf(), spec.dpi)
                settings = _page_settings(spec, rng, first=False)
                scanned.append(scan.degrade(sep_images[0], settings, np_rng))
                pages.append(
                    _page(
                        len(scanned), separator_text(), None, separator=True, skew=settings.skew, dpi=spec.dpi
                    )
                )
            images = scan.rasterise(rend.pdf, spec.dpi)
            if spec.format in ("png", "jpeg"):
                images = images[:1]
            numbers = []
            for pi, (img, text) in enumerate(zip(images, rend.page_texts, strict=False)):
                settings = _page_settings(spec, rng, first=li == 0 and pi == 0)
                front = scan.degrade(img, settings, np_rng)
                scanned.append(front)
                pages.append(
                    _page(
                        len(scanned), text, li, skew=settings.skew, rotation=settings.rotation, dpi=spec.dpi
                    )
                )
                numbers.append(len(scanned))
                if spec.duplex and spec.format not in ("png", "jpeg"):
                    scanned.append(scan.blank_back(front, np_rng, bleed=rng.random() < 0.5))
                    pages.append(_page(len(scanned), "", li, blank=True, dpi=spec.dpi))
                    numbers.append(len(scanned))
            letter_entries.append({"pages": numbers, **_letter_truth(letter, rend)})
        if spec.format == "pdf_scan":
            scan.write_pdf(scanned, path, spec.quality)
        elif spec.format == "tiff":
            scan.write_tiff(scanned, path, spec.quality)
        else:
            scan.write_single(scanned[0], path, spec.format, spec.quality)
        truth["scan"] = {"bw": spec.bw, "dpi": spec.dpi, "separators": spec.separators, "duplex": spec.duplex}

    first = {k: v for k, v in letter_entries[0].items() if k != "pages"}
    truth.update(first)
    truth["pages"] = pages
    truth["letters"] = letter_entries
    _write_truth(path, truth)
    return path


def generate_set(out_dir: Path, count: int, seed: int, profile: str = "mixed", *,
                 paper_invoices_only: bool = False) -> list[Path]:
    """Generate ``count`` documents into ``out_dir``; returns the file paths (truth files lie beside them).

    With ``paper_invoices_only``, of those ``count`` only the single invoices and credit notes that are no e-invoice
    (scans and born-digital PDFs: what invoice extraction reads from the page) are written, the same files the
    full set has at those indices."""
    town = load_town()
    indices = [i for i in range(count) if not paper_invoices_only or _paper_invoice(profile, seed, i)]
    return [generate_document(Path(out_dir), i, seed, profile, town) for i in indices]


def _paper_invoice(profile: str, seed: int, index: int) -> bool:
    spec = plan_spec(profile, index, random.Random(f"{seed}:{profile}:{index}"))
    return spec.document_type in ("invoice", "credit_note") and spec.stack == 1 \
        and spec.format not in ("xml", "pdf_zugferd")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_docs.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--count", type=int, default=30, help="number of files")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", choices=PROFILES, default="mixed")
    parser.add_argument("--paper-invoices-only", action="store_true",
                        help="of the COUNT documents, write only single invoices and credit notes without XML")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = generate_set(args.out, args.count, args.seed, args.profile, paper_invoices_only=args.paper_invoices_only)
    size = sum(p.stat().st_size + Path(f"{p}.truth.json").stat().st_size for p in paths)
    print(
        f"{len(paths)} documents, {size / 1e6:.1f} MB in {args.out} ({time.perf_counter() - started:.1f} s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["DOCUMENT_TYPES", "Spec", "generate_document", "generate_set", "main", "plan_spec", "replace"]
