"""Tests of the synthetic mail generator: determinism, and truth that agrees with the files."""

from __future__ import annotations

import collections
import json
import subprocess
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from PIL import Image

from intake.separator import SEPARATOR_PAYLOAD
from sample_docs import scan
from sample_docs.checksums import german_vat_id_ok, iban_checksum_ok, leitweg_id_ok
from sample_docs.content import DOCUMENT_TYPES
from sample_docs.generate import DEMO_PLAN, Spec, generate_document, generate_set
from sample_docs.town import load_town

SEED = 77
SPECS = {
    "digital": Spec("pdf_digital", "invoice"),
    "contract": Spec("pdf_digital", "contract"),
    "zugferd": Spec("pdf_zugferd", "invoice"),
    "ubl": Spec("xml", "invoice", xml_syntax="ubl"),
    "cii": Spec("xml", "invoice", xml_syntax="cii"),
    "stack": Spec("pdf_scan", "objection", stack=3, separators=True, duplex=True, bw=True, skew=3.5),
    "upside_down": Spec("pdf_scan", "complaint", rotation=180, skew=-2.5, dpi=200),
    "tiff": Spec("tiff", "invoice", bw=True, skew=-4.0),
    "jpeg": Spec("jpeg", "enquiry", skew=2.0),
    "png": Spec("png", "application_dog_tax", skew=0.0, bw=True),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("samples")
    return {
        name: generate_document(out, i, SEED, "mixed", spec=spec)
        for i, (name, spec) in enumerate(SPECS.items())
    }


def truth_of(path: Path) -> dict:
    return json.loads(Path(f"{path}.truth.json").read_text(encoding="utf-8"))


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def test_town_directory_is_consistent() -> None:
    town = load_town()
    assert leitweg_id_ok(town.leitweg_id)
    assert {"kaemmerei", "bauaufsicht", "personalamt", "steueramt"} <= set(town.departments)
    assert town.department_by_name("Fachbereich 2 Finanzen").id == "kaemmerei"
    assert set(town.document_types) == set(DOCUMENT_TYPES)
    bau = town.departments["bauaufsicht"]
    assert bau.aktenzeichen.matches(bau.aktenzeichen.make(bau.amt, 2026, 815))


def test_same_seed_gives_same_bytes(tmp_path: Path) -> None:
    first = generate_set(tmp_path / "a", 6, 5, "mixed")
    second = generate_set(tmp_path / "b", 6, 5, "mixed")
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name
        assert a.read_bytes() == b.read_bytes(), a.name
        assert Path(f"{a}.truth.json").read_bytes() == Path(f"{b}.truth.json").read_bytes()
    other = generate_set(tmp_path / "c", 2, 6, "mixed")
    assert [p.read_bytes() for p in other] != [p.read_bytes() for p in first[:2]]


def test_truth_schema_and_page_counts(generated: dict[str, Path]) -> None:
    for name, path in generated.items():
        truth = truth_of(path)
        assert truth["schema"] == "mailroom.truth/v1" and truth["file"] == path.name
        assert truth["document_type"] in DOCUMENT_TYPES or name == "stack"
        assert truth["postbox"] in load_town().postboxes
        if truth["format"] == "xml":
            assert truth["pages"] == []
            continue
        pages = truth["pages"]
        assert [p["number"] for p in pages] == list(range(1, len(pages) + 1))
        if path.suffix == ".pdf":
            assert pdf_pages(path) == len(pages)
        else:
            with Image.open(path) as img:
                assert getattr(img, "n_frames", 1) == len(pages)
                if truth["format"] != "pdf_digital":
                    assert round(img.info["dpi"][0]) == pages[0]["dpi"]
        covered = sorted(n for letter in truth["letters"] for n in letter["pages"])
        separators = [p["number"] for p in pages if p["separator"]]
        assert sorted(covered + separators) == list(range(1, len(pages) + 1))


def test_stack_has_separators_and_blank_backs(generated: dict[str, Path]) -> None:
    truth = truth_of(generated["stack"])
    assert len(truth["letters"]) == 3
    seps = [p for p in truth["pages"] if p["separator"]]
    assert len(seps) == 2 and all(p["letter"] is None and "Trennblatt" in p["text"] for p in seps)
    blanks = [p for p in truth["pages"] if p["blank"]]
    assert blanks and all(p["text"] == "" for p in blanks)
    assert SEPARATOR_PAYLOAD == "MAILROOM-SEPARATOR"


def _chars(text: str) -> collections.Counter[str]:
    # pdftotext drops a hyphen at the end of a line (it de-hyphenates), so hyphens are not compared
    return collections.Counter(ch for ch in text if not ch.isspace() and ch != "-")


@pytest.mark.parametrize("name", ["digital", "contract", "zugferd"])
def test_born_digital_text_layer_equals_truth(generated: dict[str, Path], name: str) -> None:
    path = generated[name]
    for page in truth_of(path)["pages"]:
        n = str(page["number"])
        text = subprocess.run(
            ["pdftotext", "-f", n, "-l", n, str(path), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert _chars(text) == _chars(page["text"])
        for line in page["text"].splitlines():
            words = [w for w in line.split() if "-" not in w and len(w) > 3]
            assert all(w in text for w in words), line


def _check_invoice(inv: dict) -> None:
    net = Decimal(0)
    for item in inv["line_items"]:
        amount = (Decimal(item["quantity"]) * Decimal(item["unit_price"])).quantize(
            Decimal("0.01"), "ROUND_HALF_UP"
        )
        assert amount == Decimal(item["amount"])
        net += amount
    assert net == Decimal(inv["total_net"])
    vat = sum(Decimal(v["tax_amount"]) for v in inv["vat_breakdown"])
    assert vat == Decimal(inv["total_vat"])
    assert Decimal(inv["total_net"]) + Decimal(inv["total_vat"]) == Decimal(inv["total_gross"])
    assert iban_checksum_ok(inv["iban"]) and german_vat_id_ok(inv["seller_vat_id"])


def test_invoice_totals_and_identifiers(tmp_path: Path) -> None:
    paths = generate_set(tmp_path, 40, 3, "digital")
    invoices = 0
    for path in paths:
        truth = truth_of(path)
        sender = truth["sender"]
        if sender["iban"]:
            assert iban_checksum_ok(sender["iban"])
        if sender["vat_id"]:
            assert german_vat_id_ok(sender["vat_id"])
        for letter in truth["letters"]:
            if letter["invoice"]:
                invoices += 1
                _check_invoice(letter["invoice"])
    assert invoices >= 5


def _xml_values(xml: bytes) -> dict[str, object]:
    root = ET.fromstring(xml)

    def find(*names: str) -> str | None:
        for name in names:
            el = root.find(name, NS)
            if el is not None:
                return el.text
        return None

    if root.tag.endswith("CrossIndustryInvoice"):
        lines = [el.text for el in root.iterfind(".//ram:LineTotalAmount", NS)]
        return {
            "invoice_number": find("rsm:ExchangedDocument/ram:ID"),
            "issue_date": find("rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"),
            "buyer_reference": find(".//ram:BuyerReference"),
            "iban": find(".//ram:IBANID"),
            "seller_vat_id": find(
                ".//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"
            ),
            "total_net": find(".//ram:TaxBasisTotalAmount"),
            "total_vat": find(".//ram:TaxTotalAmount"),
            "total_gross": find(".//ram:GrandTotalAmount"),
            "amount_due": find(".//ram:DuePayableAmount"),
            "lines": lines[:-1],  # the last one is the header sum
        }
    return {
        "invoice_number": find("cbc:ID"),
        "issue_date": find("cbc:IssueDate"),
        "buyer_reference": find("cbc:BuyerReference"),
        "iban": find("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"),
        "seller_vat_id": find("cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID"),
        "total_net": find("cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount"),
        "total_vat": find("cac:TaxTotal/cbc:TaxAmount"),
        "total_gross": find("cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"),
        "amount_due": find("cac:LegalMonetaryTotal/cbc:PayableAmount"),
        "lines": [el.text for el in root.iterfind("cac:InvoiceLine/cbc:LineExtensionAmount", NS)],
    }


NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


@pytest.mark.parametrize("name", ["ubl", "cii", "zugferd"])
def test_einvoice_xml_equals_truth(generated: dict[str, Path], name: str) -> None:
    path = generated[name]
    truth = truth_of(path)
    inv = truth["invoice"]
    if name == "zugferd":
        with pikepdf.open(path) as pdf:
            attachment = truth["embedded_xml"]
            assert attachment in pdf.attachments and "/AF" in pdf.Root
            xml = pdf.attachments[attachment].get_file().read_bytes()
    else:
        xml = path.read_bytes()
        assert leitweg_id_ok(inv["buyer_reference"])
    values = _xml_values(xml)
    assert values["issue_date"].replace("-", "") == inv["issue_date"].replace("-", "")
    for key in (
        "invoice_number",
        "buyer_reference",
        "iban",
        "seller_vat_id",
        "total_net",
        "total_vat",
        "total_gross",
        "amount_due",
    ):
        assert values[key] == inv[key], key
    assert values["lines"] == [item["amount"] for item in inv["line_items"]]
    _check_invoice(inv)


def _measure_skew(img: np.ndarray) -> float:
    """Angle (deg, counter-clockwise positive) that maximises the row-profile variance once undone."""
    small = 255 - cv2.resize(img, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA).astype(np.float32)
    h, w = small.shape
    best, best_score = 0.0, -1.0
    for angle in np.arange(-6.0, 6.01, 0.1):
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)
        # only the middle of the page: the scanner background around the sheet must not count
        inner = cv2.warpAffine(small, matrix, (w, h))[h // 5 : -h // 5, w // 5 : -w // 5]
        score = float(np.var(inner.sum(axis=1)))
        if score > best_score:
            best, best_score = float(angle), score
    return best


def test_degrade_skew_sign_convention() -> None:
    img = np.full((400, 600), 255, np.uint8)
    img[200:204, 100:500] = 0
    page = scan.degrade(
        img, scan.ScanSettings(dpi=100, skew=4.0, noise=0.0, blur=0.0), np.random.default_rng(0)
    )
    ys, xs = np.nonzero(page.image < 100)
    slope = np.polyfit(xs, ys, 1)[0]
    assert np.degrees(-np.arctan(slope)) == pytest.approx(4.0, abs=0.3)  # right end higher: counter-clockwise


@pytest.mark.parametrize("name", ["stack", "upside_down", "tiff"])
def test_skew_and_rotation_recorded_as_applied(generated: dict[str, Path], name: str, tmp_path: Path) -> None:
    path = generated[name]
    page = truth_of(path)["pages"][0]
    if path.suffix == ".pdf":
        subprocess.run(
            ["pdftoppm", "-gray", "-r", "50", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")],
            check=True,
        )
        img = cv2.imread(str(next(tmp_path.glob("p-*.pgm"))), cv2.IMREAD_GRAYSCALE)
    else:
        with Image.open(path) as im:
            img = np.array(im.convert("L").resize((im.width // 4, im.height // 4)))
    fixes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    if page["rotation"]:
        img = cv2.rotate(img, fixes[page["rotation"]])
    assert img.shape[0] > img.shape[1]  # upright portrait page
    assert _measure_skew(img) == pytest.approx(page["skew_degrees"], abs=0.35)
    if page["rotation"] == 180:
        # letterhead and address are in the upper half once the page is turned upright
        ink = img < 128
        assert ink[: img.shape[0] // 3].sum() > ink[2 * img.shape[0] // 3 :].sum()


def test_demo_plan_covers_every_format_and_type() -> None:
    assert {s.format for s in DEMO_PLAN} == {
        "pdf_digital",
        "pdf_scan",
        "tiff",
        "png",
        "jpeg",
        "xml",
        "pdf_zugferd",
    }
    assert {s.document_type for s in DEMO_PLAN} == set(DOCUMENT_TYPES)


def test_paper_invoices_only_writes_the_full_sets_invoice_files_of_those_indices(tmp_path: Path) -> None:
    # what `mailroom eval invoices` reads from the page: single invoices and credit notes, scans and PDFs, no XML
    paths = generate_set(tmp_path / "only", 40, seed=614, paper_invoices_only=True)
    assert paths and all(p.suffix in (".pdf", ".tif", ".png", ".jpg") for p in paths)
    for path in paths:
        truth = json.loads(Path(f"{path}.truth.json").read_text(encoding="utf-8"))
        assert truth["format"] not in ("xml", "pdf_zugferd") and len(truth["letters"]) == 1
        assert truth["letters"][0]["invoice"], path.name
    index = int(paths[0].name[:4])
    same = generate_document(tmp_path / "full", index, 614, "mixed")
    assert same.name == paths[0].name
    assert same.with_name(same.name + ".truth.json").read_bytes() == Path(f"{paths[0]}.truth.json").read_bytes()
