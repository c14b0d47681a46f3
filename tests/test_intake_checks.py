"""Intake checks: every bad input gets its stable error code; good inputs pass with the right facts."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import textwrap
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import badfiles
import pikepdf
import pytest

from intake.checks import inspect_file
from intake.einvoice import find_embedded_invoice_xml, xml_invoice_root
from intake.filetype import sniff
from intake.types import FileKind
from mailroom.errors import InputError
from mailroom.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EINVOICES = ROOT / ".." / "shared" / "data" / "einvoices"
FERD = EINVOICES / "ferd-corpus"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def put(tmp_path: Path, name: str, data: bytes) -> Path:
    return badfiles.write(tmp_path / name, data)


def refused(path: Path, settings: Settings, code: str) -> InputError:
    """Inspect and assert the refusal's code; return the error for further checks."""
    with pytest.raises(InputError) as caught:
        inspect_file(path, settings)
    assert caught.value.code == code, caught.value
    assert caught.value.permanent
    return caught.value


# --- sniffing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n", FileKind.PDF),
        (b"\r\n\x00junk from a mail gateway\n%PDF-1.4\n", FileKind.PDF),
        (b"II*\x00\x08\x00", FileKind.TIFF),
        (b"MM\x00*\x00\x00", FileKind.TIFF),
        (b"\x89PNG\r\n\x1a\n\x00\x00", FileKind.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", FileKind.JPEG),
        (b'<?xml version="1.0"?><a/>', FileKind.XML),
        (b"\xef\xbb\xbf  \n<?xml version='1.0'?><a/>", FileKind.XML),
        ("\ufeff<?xml version='1.0'?><a/>".encode("utf-16-le"), FileKind.XML),
        (b"\n\n<ubl:Invoice xmlns:ubl='u'/>", FileKind.XML),
        (b"<!-- Kommentar --><a/>", FileKind.XML),
    ],
)
def test_sniff_accepts(head: bytes, kind: FileKind) -> None:
    assert sniff(head) is kind


@pytest.mark.parametrize(
    ("head", "looks_like"),
    [
        (badfiles.docx_bytes(), "Word"),
        (badfiles.zip_bytes(), "ZIP"),
        (b"GIF89a\x01\x00\x01\x00", "GIF"),
        (badfiles.elf_bytes(), "executable"),
        ("Sehr geehrte Damen und Herren,\nanbei die Rechnung für März.\n".encode(), "plain text"),
        ("Grüße aus Köln".encode("cp1252"), "plain text"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Office"),
        (bytes(range(256)), "unknown binary"),
    ],
)
def test_sniff_refuses_with_a_description(head: bytes, looks_like: str) -> None:
    with pytest.raises(InputError) as caught:
        sniff(head)
    assert caught.value.code == "unsupported_file_type"
    assert looks_like in caught.value.message


def test_sniff_empty() -> None:
    with pytest.raises(InputError) as caught:
        sniff(b"")
    assert caught.value.code == "empty_file"


def test_zip_holding_a_pdf_is_not_a_pdf() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("brief.pdf", badfiles.pdf_bytes(1))
    with pytest.raises(InputError, match="ZIP"):
        sniff(buffer.getvalue()[:4096])


# --- whole-file refusals ------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path, settings: Settings) -> None:
    refused(tmp_path / "nope.pdf", settings, "file_not_found")


def test_empty_file(tmp_path: Path, settings: Settings) -> None:
    refused(put(tmp_path, "leer.pdf", b""), settings, "empty_file")


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("antrag.docx", badfiles.docx_bytes),
        ("archiv.pdf", badfiles.zip_bytes),
        ("logo.gif", lambda: badfiles.image_bytes("GIF", 40, 40)),
        ("notiz.txt", lambda: b"Bitte zurueckrufen.\n"),
        ("programm", badfiles.elf_bytes),
    ],
)
def test_wrong_types(tmp_path: Path, settings: Settings, name: str, make: Callable[[], bytes]) -> None:
    refused(put(tmp_path, name, make()), settings, "unsupported_file_type")


def test_oversized_file_refused_before_reading(tmp_path: Path) -> None:
    path = put(tmp_path, "gross.pdf", badfiles.pdf_bytes(2))
    settings = Settings(data_dir=tmp_path, max_upload_bytes=path.stat().st_size - 1)
    error = refused(path, settings, "file_too_large")
    assert error.details["limit"] == path.stat().st_size - 1


# --- PDF ----------------------------------------------------------------------------------------------------


def test_good_pdf(tmp_path: Path, settings: Settings) -> None:
    data = badfiles.pdf_bytes(3)
    info = inspect_file(put(tmp_path, "brief.pdf", data), settings)
    assert (info.kind, info.page_count, info.mime_type) == (FileKind.PDF, 3, "application/pdf")
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.size == len(data)
    assert info.embedded_xml_name is None


def test_pdf_with_leading_junk(tmp_path: Path, settings: Settings) -> None:
    info = inspect_file(put(tmp_path, "scan.pdf", b"\r\n\r\n" + badfiles.pdf_bytes(1)), settings)
    assert (info.kind, info.page_count) == (FileKind.PDF, 1)


def test_corrupt_pdf(tmp_path: Path, settings: Settings) -> None:
    error = refused(put(tmp_path, "kaputt.pdf", badfiles.corrupt_pdf_bytes()), settings, "corrupt_file")
    assert str(tmp_path) not in error.message  # no server paths in messages


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.8, 0.97])
def test_truncated_pdf(tmp_path: Path, settings: Settings, fraction: float) -> None:
    data = badfiles.pdf_bytes(6)
    refused(put(tmp_path, "halb.pdf", data[: int(len(data) * fraction)]), settings, "truncated_file")


def test_pdf_missing_page_content_is_refused_even_with_eof(tmp_path: Path, settings: Settings) -> None:
    """qpdf silently repairs a cut file and leaves lost objects null; an appended %%EOF must not hide it."""
    data = badfiles.pdf_bytes(6)
    refused(
        put(tmp_path, "geflickt.pdf", data[: int(len(data) * 0.8)] + b"\n%%EOF\n"), settings, "corrupt_file"
    )


def test_intact_pdf_with_a_page_without_content_is_fine(tmp_path: Path, settings: Settings) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    del pdf.pages[0].obj["/Contents"]  # a blank page may omit /Contents
    buffer = io.BytesIO()
    pdf.save(buffer)
    assert inspect_file(put(tmp_path, "blank.pdf", buffer.getvalue()), settings).page_count == 1


def test_encrypted_pdf_with_user_password(tmp_path: Path, settings: Settings) -> None:
    refused(put(tmp_path, "geheim.pdf", badfiles.encrypted_pdf_bytes("geheim")), settings, "encrypted_pdf")


def test_owner_password_only_pdf_is_readable(tmp_path: Path, settings: Settings) -> None:
    info = inspect_file(put(tmp_path, "geschuetzt.pdf", badfiles.encrypted_pdf_bytes("")), settings)
    assert info.page_count == 2


def test_pdf_without_pages(tmp_path: Path, settings: Settings) -> None:
    refused(put(tmp_path, "leer.pdf", badfiles.zero_page_pdf_bytes()), settings, "empty_file")


def test_pdf_with_too_many_pages(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_pages=4)
    error = refused(put(tmp_path, "stapel.pdf", badfiles.pdf_bytes(5)), settings, "too_many_pages")
    assert error.details == {"pages": 5, "limit": 4}


def test_pdf_with_absurd_page_size(tmp_path: Path, settings: Settings) -> None:
    with pikepdf.open(io.BytesIO(badfiles.pdf_bytes(1))) as pdf:
        pdf.pages[0].mediabox = pikepdf.Array([0, 0, 0, 842])
        buffer = io.BytesIO()
        pdf.save(buffer)
    refused(put(tmp_path, "strich.pdf", buffer.getvalue()), settings, "corrupt_file")


# --- images -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "kind", "mime"), [("PNG", FileKind.PNG, "image/png"), ("JPEG", FileKind.JPEG, "image/jpeg")]
)
def test_good_images(tmp_path: Path, settings: Settings, fmt: str, kind: FileKind, mime: str) -> None:
    data = badfiles.image_bytes(fmt)
    info = inspect_file(put(tmp_path, f"scan.{fmt.lower()}", data), settings)
    assert (info.kind, info.page_count, info.mime_type) == (kind, 1, mime)
    assert info.sha256 == hashlib.sha256(data).hexdigest()


def test_multipage_tiff(tmp_path: Path, settings: Settings) -> None:
    info = inspect_file(put(tmp_path, "stapel.tif", badfiles.tiff_bytes(4)), settings)
    assert (info.kind, info.page_count, info.mime_type) == (FileKind.TIFF, 4, "image/tiff")


def test_tiff_with_too_many_frames(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_pages=3)
    refused(put(tmp_path, "stapel.tif", badfiles.tiff_bytes(5, 50, 50)), settings, "too_many_pages")


def test_tiff_frame_too_large(tmp_path: Path) -> None:
    first, big = badfiles.noise(50, 50), badfiles.noise(400, 400)
    buffer = io.BytesIO()
    first.save(buffer, "TIFF", save_all=True, append_images=[big])
    settings = Settings(data_dir=tmp_path, max_page_pixels=100_000)
    error = refused(put(tmp_path, "gemischt.tif", buffer.getvalue()), settings, "image_too_large")
    assert error.details["page"] == 2


def test_extension_lie_png_named_pdf(tmp_path: Path, settings: Settings) -> None:
    info = inspect_file(put(tmp_path, "rechnung.pdf", badfiles.image_bytes("PNG")), settings)
    assert (info.kind, info.mime_type) == (FileKind.PNG, "image/png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_images(tmp_path: Path, settings: Settings, fmt: str) -> None:
    data = badfiles.image_bytes(fmt)
    refused(put(tmp_path, f"halb.{fmt.lower()}", data[: len(data) // 2]), settings, "truncated_file")


def test_corrupt_image_data(tmp_path: Path, settings: Settings) -> None:
    data = bytearray(badfiles.image_bytes("PNG"))
    data[len(data) // 2] ^= 0xFF  # complete file, damaged compressed data
    refused(put(tmp_path, "kaputt.png", bytes(data)), settings, "corrupt_file")


def test_corrupt_tiff_header(tmp_path: Path, settings: Settings) -> None:
    refused(put(tmp_path, "kaputt.tif", b"II*\x00" + b"\xff" * 40), settings, "corrupt_file")


PROBE = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    from intake.checks import inspect_file
    from mailroom.errors import InputError
    from mailroom.settings import Settings
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        inspect_file(Path(sys.argv[1]), Settings(data_dir=Path(sys.argv[2])))
        code = None
    except InputError as exc:
        code = exc.code
    seconds = time.perf_counter() - start
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    print(json.dumps({"code": code, "seconds": seconds, "grown_kb": grown_kb}))
    """
)


def test_png_decompression_bomb_refused_without_decoding(tmp_path: Path) -> None:
    """30000² pixels in ~100 KB: decoding would need 900 MB; refused from the header, fast and small."""
    path = put(tmp_path, "bombe.png", badfiles.png_bomb_bytes(30_000))
    assert path.stat().st_size < 300_000
    assert path.read_bytes()[16:24] == (30_000).to_bytes(4, "big") * 2  # IHDR width, height
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    outcome = json.loads(probe.stdout)
    assert outcome["code"] == "image_too_large"
    assert outcome["seconds"] < 0.5
    assert outcome["grown_kb"] < 50_000


# --- XML ----------------------------------------------------------------------------------------------------


def test_good_xml(tmp_path: Path, settings: Settings) -> None:
    info = inspect_file(put(tmp_path, "rechnung.xml", badfiles.MINIMAL_CII), settings)
    assert (info.kind, info.page_count, info.mime_type) == (FileKind.XML, 1, "application/xml")


@pytest.mark.parametrize(
    "data",
    [badfiles.XXE, badfiles.BILLION_LAUGHS, badfiles.EXTERNAL_DTD],
    ids=["xxe", "billion-laughs", "dtd"],
)
def test_hostile_xml(tmp_path: Path, settings: Settings, data: bytes) -> None:
    start = time.perf_counter()
    error = refused(put(tmp_path, "rechnung.xml", data), settings, "hostile_xml")
    assert time.perf_counter() - start < 1
    assert "root:" not in error.message  # /etc/passwd never read


def test_malformed_xml(tmp_path: Path, settings: Settings) -> None:
    refused(put(tmp_path, "rechnung.xml", badfiles.MALFORMED), settings, "invalid_xml")


def test_xml_that_is_not_an_invoice(tmp_path: Path, settings: Settings) -> None:
    error = refused(put(tmp_path, "bild.xml", badfiles.NOT_AN_INVOICE), settings, "unsupported_file_type")
    assert "not an e-invoice" in error.message


def test_xml_over_xml_limit(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_xml_bytes=100)
    refused(put(tmp_path, "rechnung.xml", badfiles.MINIMAL_CII), settings, "file_too_large")


# --- embedded e-invoices ------------------------------------------------------------------------------------


def test_embedded_xml_in_name_tree(tmp_path: Path, settings: Settings) -> None:
    data = badfiles.pdf_with_attachment("Factur-X.XML", badfiles.MINIMAL_CII)
    info = inspect_file(put(tmp_path, "hybrid.pdf", data), settings)
    assert info.embedded_xml_name == "Factur-X.XML"


def test_embedded_xml_only_in_af(tmp_path: Path) -> None:
    with pikepdf.open(
        io.BytesIO(badfiles.pdf_with_af_only_attachment("beleg.xml", badfiles.MINIMAL_CII))
    ) as pdf:
        assert find_embedded_invoice_xml(pdf) == ("beleg.xml", badfiles.MINIMAL_CII)


def test_embedded_non_invoice_xml_is_ignored(tmp_path: Path, settings: Settings) -> None:
    data = badfiles.pdf_with_attachment("daten.xml", badfiles.NOT_AN_INVOICE)
    assert inspect_file(put(tmp_path, "anlage.pdf", data), settings).embedded_xml_name is None


def test_embedded_hostile_invoice_xml_refuses_the_pdf(tmp_path: Path, settings: Settings) -> None:
    data = badfiles.pdf_with_attachment("factur-x.xml", badfiles.XXE)
    refused(put(tmp_path, "hybrid.pdf", data), settings, "hostile_xml")


def test_embedded_flate_bomb_is_not_inflated(tmp_path: Path) -> None:
    data = badfiles.pdf_with_flate_bomb_attachment("factur-x.xml", 50_000_000)
    assert len(data) < 200_000
    settings = Settings(data_dir=tmp_path, max_xml_bytes=1_000_000)
    error = refused(put(tmp_path, "bombe.pdf", data), settings, "file_too_large")
    assert error.field == "embedded_xml"


# --- the real samples ---------------------------------------------------------------------------------------

REAL_PDF_DIRS = ["ZUGFeRDv1/correct", "ZUGFeRDv2/correct", "XML-Rechnung/FX"]


def real_pdfs() -> list[Path]:
    return sorted(path for folder in REAL_PDF_DIRS for path in (FERD / folder).rglob("*.pdf"))


def real_xmls() -> list[Path]:
    folders = [FERD / "XML-Rechnung", FERD / "ZUGFeRDv2" / "correct", EINVOICES / "xrechnung-testsuite"]
    return sorted(path for folder in folders for path in folder.rglob("*.xml"))


def test_real_hybrid_pdfs_yield_their_xml(settings: Settings) -> None:
    pdfs = real_pdfs()
    assert len(pdfs) >= 60
    for path in pdfs:
        info = inspect_file(path, settings)
        assert info.kind is FileKind.PDF and info.page_count >= 1, path
        assert info.embedded_xml_name is not None, path
        truth = json.loads(path.with_name(path.name + ".truth.json").read_text())
        with pikepdf.open(path) as pdf:
            found = find_embedded_invoice_xml(pdf)
        assert found is not None
        syntax = xml_invoice_root(found[1])
        assert syntax == ("ZUGFeRD1" if "ZUGFeRDv1" in str(path) else truth["syntax"]), path


def test_real_standalone_xmls_are_accepted(settings: Settings) -> None:
    xmls = real_xmls()
    assert len(xmls) >= 130
    for path in xmls:
        info = inspect_file(path, settings)
        assert info.kind is FileKind.XML, path
        assert xml_invoice_root(path.read_bytes()) in ("CII", "UBL"), path


def test_real_fail_samples(settings: Settings) -> None:
    """``fail/`` holds business-rule failures (accepted here) and one PDF whose XML declaration is malformed:
    that PDF stays a readable letter, just without a usable e-invoice."""
    broken = FERD / "ZUGFeRDv2/fail/Mustangproject/factur-x-invalid-xml-encoding-attribute.pdf"
    assert inspect_file(broken, settings).embedded_xml_name is None
    for path in sorted((FERD / "ZUGFeRDv2/fail/FNFE-factur-x-examples").glob("*.pdf")):
        assert inspect_file(path, settings).embedded_xml_name == "factur-x.xml"
    assert (
        inspect_file(FERD / "ZUGFeRDv2/fail/Mustangproject/noNetPriceValidation.xml", settings).kind
        is FileKind.XML
    )


def _repairable_pdf_bytes() -> bytes:
    """A one-page PDF without its cross-reference table: qpdf (and Poppler) rebuild it."""
    data = badfiles.pdf_bytes(1)
    start, end = data.index(b"\nxref"), data.index(b"trailer")
    return data[:start + 1] + data[end:]


def test_a_repaired_pdf_that_poppler_reads_is_accepted(tmp_path: Path, settings: Settings) -> None:
    path = put(tmp_path, "repariert.pdf", _repairable_pdf_bytes())
    with pikepdf.open(path) as pdf:
        assert pdf.get_warnings(), "the test file is meant to need qpdf's repair"
    assert inspect_file(path, settings).page_count == 1


def test_a_repaired_pdf_that_poppler_cannot_read_is_refused_at_intake(
        tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """qpdf repairs more than Poppler reads: such a file is refused at intake with a clear message (before, it
    was accepted and failed in the worker with the stored file's internal name and Poppler's raw output)."""
    import intake.poppler as poppler

    real = poppler.page_count
    seen: list[Path] = []

    def unreadable(pdf: Path, **kwargs: float) -> int:
        """Fault injected: Poppler is given a file it cannot read (named like a stored blob) in place of ``pdf``."""
        seen.append(pdf)
        return real(put(tmp_path, "b3f1c0ffee.pdf", badfiles.corrupt_pdf_bytes()), **kwargs)

    monkeypatch.setattr(poppler, "page_count", unreadable)
    error = refused(put(tmp_path, "repariert.pdf", _repairable_pdf_bytes()), settings, "corrupt_file")
    assert seen and "b3f1c0ffee" not in error.message and "Syntax Error" not in error.message
    assert "beschädigt" in error.message or "damaged" in error.message
    inspect_file(put(tmp_path, "heil.pdf", badfiles.pdf_bytes(1)), settings)  # an intact file: Poppler not asked
    assert len(seen) == 1
