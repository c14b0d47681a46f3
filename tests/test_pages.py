"""The page source (intake.pages) with the Poppler wrapper and the text-layer parser, on PDFs and images built
here with reportlab, img2pdf, Pillow and pikepdf. Real Poppler throughout."""

from __future__ import annotations

import io
from pathlib import Path

import img2pdf
import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth
from reportlab.pdfgen import canvas

from intake import pages, poppler
from intake.pages import iter_pages
from intake.textlayer import parse_bbox_layout, text_chars
from intake.types import FileInfo, FileKind, PageInput
from mailroom.errors import CorruptFile, ImageTooLarge, ToolTimeout
from mailroom.model import ImageSource, TextSource
from mailroom.settings import Settings

PT = 300 / 72  # pixels per point at 300 dpi


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return tmp_path / "scratch"


def info_for(path: Path, kind: FileKind, pages_: int = 1) -> FileInfo:
    return FileInfo(path=path, kind=kind, sha256="0" * 64, size=path.stat().st_size, page_count=pages_,
                    mime_type="application/octet-stream")  # fmt: skip


def run(path: Path, kind: FileKind, settings: Settings, scratch: Path) -> list[PageInput]:
    return list(iter_pages(info_for(path, kind), settings, scratch))


LINES = [
    (72.0, 760.0, "Stadtverwaltung Musterstadt"),
    (72.0, 700.0, "Gebührenbescheid für die Straßenreinigung"),
    (300.0, 500.0, "Aktenzeichen 32-2026-0815"),
]


def text_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica", 14)
    for x, y, text in LINES:
        c.drawString(x, y, text)
    c.showPage()
    c.save()
    return path


def scan_image(size: tuple[int, int] = (1654, 2339), mode: str = "L") -> Image.Image:
    """A page-like image: a few black bars and a grey gradient (so JPEG has real work to do)."""
    ramp = np.tile(np.linspace(180, 255, size[0], dtype=np.uint8), (size[1], 1))
    image = Image.fromarray(ramp, mode="L")
    draw = ImageDraw.Draw(image)
    for i in range(20):
        draw.rectangle((150, 200 + 90 * i, 150 + 60 * (i % 7 + 3), 240 + 90 * i), fill=20)
    return image.convert(mode)


def jpeg_bytes(image: Image.Image, dpi: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80, dpi=(dpi, dpi))
    return buffer.getvalue()


def g4_tiff_bytes(image: Image.Image, dpi: int) -> bytes:
    buffer = io.BytesIO()
    image.convert("1").save(buffer, format="TIFF", compression="group4", dpi=(dpi, dpi))
    return buffer.getvalue()


def vector_pdf(path: Path) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setLineWidth(4)
    c.rect(100, 100, 300, 400)
    c.line(50, 800, 500, 650)
    c.circle(300, 300, 80, fill=1)
    c.showPage()
    c.save()
    return path


def merge(out: Path, *sources: Path) -> Path:
    with pikepdf.new() as merged:
        for source in sources:
            with pikepdf.open(source) as pdf:
                merged.pages.extend(pdf.pages)
        merged.save(out)
    return out


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


# --- text layer -----------------------------------------------------------------------------------------


def test_born_digital_page_uses_the_text_layer_with_positions_as_drawn(
    tmp_path: Path, settings: Settings, scratch: Path
) -> None:
    (page,) = run(text_pdf(tmp_path / "letter.pdf"), FileKind.PDF, settings, scratch)

    assert page.image is None and page.text_page is not None
    text_page = page.text_page
    assert (text_page.text_source, text_page.image_source) == (TextSource.TEXT_LAYER, ImageSource.NONE)
    assert (text_page.width, text_page.height, text_page.dpi) == (2481, 3508, 300)
    assert list(scratch.iterdir()) == []  # no image was made
    words = {w.text: w for w in text_page.words()}
    assert {"Straßenreinigung", "Gebührenbescheid", "32-2026-0815"} <= set(words)
    ascent, descent = getAscentDescent("Helvetica", 14)
    for x, y, text in LINES:
        first = text.split()[0]
        top = (A4[1] - y - ascent) * PT
        bottom = (A4[1] - y - descent) * PT
        right = (x + stringWidth(first, "Helvetica", 14)) * PT
        assert words[first].box == pytest.approx((x * PT, top, right, bottom), abs=2)
        assert words[first].confidence == 100
    assert text_page.text.splitlines()[0] == "Stadtverwaltung Musterstadt"
    assert "text_layer" in text_page.timings_ms


def test_rotated_text_page_gets_landscape_size(tmp_path: Path, settings: Settings, scratch: Path) -> None:
    source = text_pdf(tmp_path / "letter.pdf")
    with pikepdf.open(source) as pdf:
        pdf.pages[0].Rotate = 90
        pdf.save(tmp_path / "rotated.pdf")
    (page,) = run(tmp_path / "rotated.pdf", FileKind.PDF, settings, scratch)
    assert page.text_page is not None
    assert (page.text_page.width, page.text_page.height) == (3508, 2481)
    for word in page.text_page.words():
        assert 0 <= word.box[0] < word.box[2] <= 3508 and 0 <= word.box[1] < word.box[3] <= 2481


def test_parse_bbox_layout_scales_points_to_pixels() -> None:
    xhtml = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head><body><doc>
<page width="612.000000" height="792.000000"><flow><block xMin="72" yMin="72" xMax="144" yMax="84">
<line xMin="72" yMin="72" xMax="144" yMax="84"><word xMin="72" yMin="72" xMax="100" yMax="84">Bürger</word>
<word xMin="110" yMin="72" xMax="144" yMax="84">&amp;amt</word></line></block></flow></page>
</doc></body></html>"""
    page = parse_bbox_layout(xhtml.encode(), 7, 144)
    assert (page.number, page.width, page.height, page.dpi) == (7, 1224, 1584, 144)
    assert [(w.text, w.box) for w in page.words()] == [("Bürger", (144, 144, 200, 168)),
                                                       ("&amt", (220, 144, 288, 168))]  # fmt: skip
    assert text_chars(page) == 10


def test_too_little_text_layer_falls_back_to_an_image(
    tmp_path: Path, settings: Settings, scratch: Path
) -> None:
    path = tmp_path / "stamp.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawString(72, 72, "Eingang")  # 7 characters < text_layer_min_chars
    c.showPage()
    c.save()
    (page,) = run(path, FileKind.PDF, settings, scratch)
    assert page.text_page is None and page.image is not None
    assert page.image.source is ImageSource.RASTERISED


# --- embedded scan images -------------------------------------------------------------------------------


def test_jpeg_scan_is_extracted_as_it_is_stored(tmp_path: Path, settings: Settings, scratch: Path) -> None:
    jpeg = jpeg_bytes(scan_image(), dpi=200)
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(img2pdf.convert(jpeg))

    (page,) = run(pdf, FileKind.PDF, settings, scratch)

    assert page.text_page is None and page.image is not None
    assert page.image.source is ImageSource.EMBEDDED
    assert page.image.dpi == 200
    assert page.image.path.parent == scratch and page.image.path.suffix != ".png"
    expected = np.asarray(Image.open(io.BytesIO(jpeg)))
    assert np.array_equal(pixels(page.image.path), expected)


def test_g4_scan_is_extracted_as_one_bit_image(tmp_path: Path, settings: Settings, scratch: Path) -> None:
    tiff = g4_tiff_bytes(scan_image((2480, 3508)), dpi=300)
    pdf = tmp_path / "bw.pdf"
    pdf.write_bytes(img2pdf.convert(tiff))
    assert poppler.list_images(pdf)[1][0].encoding == "ccitt"

    (page,) = run(pdf, FileKind.PDF, settings, scratch)

    assert page.image is not None and page.image.source is ImageSource.EMBEDDED and page.image.dpi == 300
    with Image.open(page.image.path) as extracted:
        assert extracted.mode == "1"
        assert np.array_equal(np.asarray(extracted), np.asarray(Image.open(io.BytesIO(tiff))))


def test_flate_grey_scan_stays_grey(tmp_path: Path, settings: Settings, scratch: Path) -> None:
    image = scan_image((2480, 3508))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(300, 300))
    pdf = tmp_path / "flate.pdf"
    pdf.write_bytes(img2pdf.convert(buffer.getvalue()))
    (page,) = run(pdf, FileKind.PDF, settings, scratch)
    assert page.image is not None and page.image.source is ImageSource.EMBEDDED
    with Image.open(page.image.path) as extracted:
        assert extracted.mode == "L"  # not tripled into RGB
        assert np.array_equal(np.asarray(extracted), np.asarray(image))


def test_vector_page_without_text_is_rasterised_to_pgm(
    tmp_path: Path, settings: Settings, scratch: Path
) -> None:
    (page,) = run(vector_pdf(tmp_path / "plan.pdf"), FileKind.PDF, settings, scratch)
    assert page.image is not None and page.image.source is ImageSource.RASTERISED
    assert page.image.dpi == 300 and page.image.path.suffix == ".pgm"
    assert page.image.path.read_bytes()[:2] == b"P5"
    with Image.open(page.image.path) as rendered:
        assert rendered.size == (2481, 3508) and rendered.mode == "L"


def place_image(path: Path, image: Image.Image, box: tuple[float, float, float, float]) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(ImageReader(image), box[0], box[1], box[2], box[3], mask="auto")
    c.showPage()
    c.save()
    return path


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("small", "does not cover the page"),
        ("rotate", "/Rotate 90"),
        ("smask", "smask"),
        ("stamp", "paints over the image"),
    ],
)
def test_scan_images_that_are_not_the_whole_page_are_rendered(
    tmp_path: Path, settings: Settings, scratch: Path, case: str, reason: str
) -> None:
    path = tmp_path / f"{case}.pdf"
    if case == "small":
        place_image(path, scan_image(), (100, 100, 165.4, 233.9))
    elif case == "rotate":
        path.write_bytes(img2pdf.convert(jpeg_bytes(scan_image(), 200)))
        with pikepdf.open(path, allow_overwriting_input=True) as pdf:
            pdf.pages[0].Rotate = 90
            pdf.save(path)
    elif case == "smask":
        place_image(path, scan_image(mode="RGBA"), (0, 0, A4[0], A4[1]))
    else:
        c = canvas.Canvas(str(path), pagesize=A4)
        c.drawImage(ImageReader(scan_image(mode="RGB")), 0, 0, A4[0], A4[1])
        c.rect(400, 700, 120, 60, fill=1)  # a digital stamp on top of the scan
        c.showPage()
        c.save()

    (page,) = run(path, FileKind.PDF, settings, scratch)

    assert page.image is not None and page.image.source is ImageSource.RASTERISED
    assert page.image.dpi == 300
    assert any(reason in note for note in page.notes), page.notes


def test_mixed_pdf_decides_per_page_and_lists_images_once(
    tmp_path: Path, settings: Settings, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(img2pdf.convert(jpeg_bytes(scan_image(), 200)))
    pdf = merge(
        tmp_path / "mixed.pdf", text_pdf(tmp_path / "t.pdf"), scan, vector_pdf(tmp_path / "v.pdf"), scan
    )
    calls: list[Path] = []
    real_list_images = poppler.list_images

    def counting_list_images(path: Path, *, timeout: float) -> dict[int, list[poppler.EmbeddedImage]]:
        calls.append(path)
        return real_list_images(path, timeout=timeout)

    monkeypatch.setattr(pages.poppler, "list_images", counting_list_images)
    result = list(iter_pages(info_for(pdf, FileKind.PDF, 4), settings, scratch))

    assert [p.number for p in result] == [1, 2, 3, 4]
    assert result[0].text_page is not None and result[0].image is None
    sources = [p.image.source if p.image else None for p in result]
    assert sources == [None, ImageSource.EMBEDDED, ImageSource.RASTERISED, ImageSource.EMBEDDED]
    assert result[1].image is not None and result[3].image is not None
    assert result[1].image.path != result[3].image.path
    assert calls == [pdf]


def test_pages_are_produced_one_at_a_time(tmp_path: Path, settings: Settings, scratch: Path) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(img2pdf.convert(jpeg_bytes(scan_image(), 200)))
    pdf = merge(tmp_path / "stack.pdf", scan, vector_pdf(tmp_path / "v.pdf"), scan, scan)
    for page in iter_pages(info_for(pdf, FileKind.PDF, 4), settings, scratch):
        assert page.image is not None
        assert list(scratch.iterdir()) == [page.image.path]
        page.image.path.unlink()


# --- image files ----------------------------------------------------------------------------------------


def test_multipage_tiff_streams_frames(tmp_path: Path, settings: Settings, scratch: Path) -> None:
    frames = [
        scan_image((1240, 1754)).convert("1"),
        scan_image((1240, 1754)),
        scan_image((1240, 1754), "RGB"),
    ]
    path = tmp_path / "stack.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate", dpi=(150, 150))

    produced: list[Path] = []
    for page in iter_pages(info_for(path, FileKind.TIFF, 3), settings, scratch):
        assert page.image is not None
        assert list(scratch.iterdir()) == [page.image.path]  # the previous frame was already deleted
        assert page.image.source is ImageSource.IMAGE_FILE and page.image.dpi == 150
        assert np.array_equal(pixels(page.image.path), np.asarray(frames[page.number - 1]))
        produced.append(page.image.path)
        page.image.path.unlink()
    assert [p.suffix for p in produced] == [".pbm", ".pgm", ".ppm"]


def test_single_image_file_is_handed_on_as_a_copy(tmp_path: Path, settings: Settings, scratch: Path) -> None:
    original = tmp_path / "scan.png"
    scan_image().save(original, dpi=(200, 200))
    (page,) = run(original, FileKind.PNG, settings, scratch)
    assert page.image is not None and page.image.source is ImageSource.IMAGE_FILE
    assert page.image.dpi == 200 and page.image.path.parent == scratch
    assert page.image.path.read_bytes() == original.read_bytes()
    page.image.path.unlink()  # the consumer's deletion never touches the original
    assert original.exists()


def test_image_without_dpi_gets_300_and_alpha_is_flattened(
    tmp_path: Path, settings: Settings, scratch: Path
) -> None:
    original = tmp_path / "photo.png"
    scan_image((800, 600), "RGBA").save(original)
    (page,) = run(original, FileKind.PNG, settings, scratch)
    assert page.image is not None and page.image.dpi == 300
    assert any("assumed 300 dpi" in note for note in page.notes)
    assert page.image.path.suffix == ".ppm"


def test_xml_yields_nothing(tmp_path: Path, settings: Settings, scratch: Path) -> None:
    path = tmp_path / "xrechnung.xml"
    path.write_text("<Invoice/>")
    assert run(path, FileKind.XML, settings, scratch) == []


# --- errors ---------------------------------------------------------------------------------------------


def test_corrupt_pdf_is_a_corrupt_file(tmp_path: Path, settings: Settings, scratch: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(text_pdf(tmp_path / "ok.pdf").read_bytes()[:300])
    with pytest.raises(CorruptFile):
        run(path, FileKind.PDF, settings, scratch)


def test_poppler_timeout_is_a_tool_timeout(tmp_path: Path, scratch: Path) -> None:
    pdf = vector_pdf(tmp_path / "plan.pdf")
    with pytest.raises(ToolTimeout):
        poppler.rasterise_page(pdf, 1, 600, scratch.parent, timeout=0.001)
    assert list(scratch.parent.glob("page-*")) == []  # no half-written image left behind


def test_image_above_pixel_limit_is_refused(tmp_path: Path, scratch: Path) -> None:
    original = tmp_path / "huge.png"
    scan_image((2000, 2000)).save(original)
    with pytest.raises(ImageTooLarge):
        run(original, FileKind.PNG, Settings(data_dir=tmp_path, max_page_pixels=1_000_000), scratch)


def test_oversized_pdf_page_is_rendered_within_the_pixel_limit(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "poster.pdf"
    c = canvas.Canvas(str(path), pagesize=(A4[0] * 4, A4[1] * 4))
    c.rect(100, 100, 300, 300, fill=1)
    c.showPage()
    c.save()
    settings = Settings(data_dir=tmp_path, max_page_pixels=20_000_000)
    (page,) = run(path, FileKind.PDF, settings, scratch)
    assert page.image is not None and page.image.dpi < 300
    with Image.open(page.image.path) as rendered:
        assert rendered.size[0] * rendered.size[1] <= 20_000_000


def test_poppler_version_check() -> None:
    assert poppler.check_poppler().split(".")[0].isdigit()
