"""Lay out a ``Letter`` on DIN 5008 pages and draw it with reportlab, recording the exact text of each page.

Geometry (DIN 5008, millimetres from the top-left corner of the upright A4 page):

- form A: letterhead 27 mm, address field ``[20, 27, 105, 72]``, information block from 32 mm;
- form B: letterhead 45 mm, address field ``[20, 45, 105, 90]``, information block from 50 mm;
- the address field holds the small return-address line and the endorsement zone (Vermerkzone, 12.7 mm in
  form A, 17.7 mm in form B) above the six address lines; the information block starts 125 mm from the left;
- the subject (bold) follows the address field after two blank lines; the body is 165 mm wide from 25 mm;
- folding marks at 87/192 mm (form A) or 105/210 mm (form B) and the hole mark at 148.5 mm.

Each drawn text line is recorded in reading order (letterhead, return address, endorsement, address,
information block, subject, body, closing, page number, footer column by column); segments on one line are
joined with one space. That list is the page text of the truth file.
"""

from __future__ import annotations

import io
import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from sample_docs.checksums import format_iban
from sample_docs.letter import Letter, Paragraph, Table, de_date
from sample_docs.parties import Party

PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT = 25.0, 190.0
PT = 0.3528  # mm per point

STANDARD_FAMILIES = {
    "Helvetica": ("Helvetica", "Helvetica-Bold"),
    "Times": ("Times-Roman", "Times-Bold"),
    "Courier": ("Courier", "Courier-Bold"),
}
TTF_CANDIDATES = {
    "DejaVuSans": ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    "DejaVuSerif": ("dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf"),
    "LiberationSans": ("liberation/LiberationSans-Regular.ttf", "liberation/LiberationSans-Bold.ttf"),
    "LiberationSerif": ("liberation/LiberationSerif-Regular.ttf", "liberation/LiberationSerif-Bold.ttf"),
}
FONT_DIR = Path("/usr/share/fonts/truetype")


def _register_ttf() -> dict[str, tuple[str, str]]:
    families = {}
    for family, (regular, bold) in TTF_CANDIDATES.items():
        paths = (FONT_DIR / regular, FONT_DIR / bold)
        if all(p.exists() for p in paths):
            pdfmetrics.registerFont(TTFont(family, str(paths[0])))
            pdfmetrics.registerFont(TTFont(family + "-Bold", str(paths[1])))
            families[family] = (family, family + "-Bold")
    return families


TTF_FAMILIES = _register_ttf()


@dataclass
class Seg:
    x: float
    text: str
    font: str
    size: float
    align: str = "l"

    def box(self, y: float) -> tuple[float, float, float, float]:
        width = pdfmetrics.stringWidth(self.text, self.font, self.size) * PT
        x0 = self.x - width if self.align == "r" else self.x
        return (x0, y - 0.72 * self.size * PT, x0 + width, y + 0.22 * self.size * PT)


@dataclass
class TextLine:
    y: float  # baseline, mm from top
    segs: list[Seg]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segs if s.text)


@dataclass
class PageLayout:
    lines: list[TextLine] = field(default_factory=list)
    shapes: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines if line.text)


@dataclass
class Style:
    """How a letter looks: DIN form, fonts and sizes, letterhead placement."""

    form: str
    regular: str
    bold: str
    size: float
    head_right: bool
    return_line: bool
    iban_grouped: bool
    colour: tuple[float, float, float]

    @property
    def line_h(self) -> float:
        return self.size * PT * 1.32


@dataclass
class Rendered:
    pdf: bytes
    page_texts: list[str]
    layout: dict[str, Any]
    form: str
    fonts: tuple[str, str]


def _width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size) * PT


def _fit(text: str, font: str, size: float, width: float, minimum: float = 5.0) -> float:
    while size > minimum and _width(text, font, size) > width:
        size -= 0.25
    return size


def _letter_strings(letter: Letter) -> list[str]:
    s = letter.sender
    out = [
        *s.address_lines,
        s.return_line,
        letter.subject,
        letter.salutation,
        *letter.closing,
        *letter.signature,
        *letter.recipient.address_lines,
        *letter.enclosures,
        *(v for row in letter.info for v in row),
    ]
    out += [x or "" for x in (s.contact, s.bank, s.managing_director, s.register, letter.date_line)]
    for block in letter.body:
        if isinstance(block, Paragraph):
            out.append(block.text)
        else:
            out += [c.title for c in block.columns] + [c for r in block.rows for c in r]
            out += [t for row in block.totals for t in row[:2]]
    return out


def choose_style(rng: random.Random, letter: Letter, embed_fonts: bool = False) -> Style:
    """Pick form, font family and size; non-Latin-1 names or embedded fonts force a TrueType family."""
    try:
        for text in _letter_strings(letter):
            text.encode("cp1252")
        needs_ttf = embed_fonts
    except UnicodeEncodeError:
        needs_ttf = True
    families = dict(TTF_FAMILIES)
    if not needs_ttf:
        families.update(STANDARD_FAMILIES)
        if letter.sender.kind != "citizen":
            families.pop("Courier")
    if not families:
        raise RuntimeError("no TrueType font found for text outside Latin-1")
    name = rng.choice(sorted(families))
    regular, bold = families[name]
    size = rng.choice([10, 10.5, 11]) if name not in ("Courier",) else 10
    colour = letter.sender.industry.colour if letter.sender.industry else (0.15, 0.25, 0.5)
    return Style(
        form=rng.choice("AB"),
        regular=regular,
        bold=bold,
        size=size,
        head_right=rng.random() < 0.5,
        return_line=letter.sender.kind != "citizen" or rng.random() < 0.7,
        iban_grouped=rng.random() < 0.7,
        colour=colour,
    )


class _Layout:
    """Places text lines top to bottom, breaking pages when the body area is full."""

    def __init__(self, letter: Letter, style: Style, rng: random.Random):
        self.letter, self.style, self.rng = letter, style, rng
        self.pages: list[PageLayout] = [PageLayout()]
        self.has_footer = letter.sender.kind != "citizen"
        self.bottom = 258.0 if self.has_footer else 272.0
        self.y = 0.0

    @property
    def page(self) -> PageLayout:
        return self.pages[-1]

    def add(self, y: float, *segs: Seg) -> TextLine:
        line = TextLine(y, list(segs))
        self.page.lines.append(line)
        return line

    def new_page(self) -> None:
        self.pages.append(PageLayout())
        st = self.style
        head = (
            f"{self.letter.sender.name} – Schreiben vom {de_date(self.letter.date)} – Seite {len(self.pages)}"
        )
        if self.letter.sender.kind == "citizen":
            head = f"- {len(self.pages)} -"
            self.add(15, Seg(PAGE_W / 2, head, st.regular, 9, "c"))
        else:
            self.add(15, Seg(LEFT, head, st.regular, _fit(head, st.regular, 8, RIGHT - LEFT)))
            self.page.shapes.append(("line", LEFT, 17.5, RIGHT, 17.5, 0.3, (0.5, 0.5, 0.5)))
        self.y = 28.0

    def need(self, height: float) -> None:
        if self.y + height > self.bottom:
            self.new_page()

    def text_lines(self, text: str, font: str, size: float, x: float, width: float) -> list[str]:
        words, lines, current = text.split(" "), [], ""
        for word in words:
            trial = f"{current} {word}" if current else word
            if current and _width(trial, font, size) > width:
                lines.append(current)
                current = word
            else:
                current = trial
        if current:
            lines.append(current)
        return lines

    def paragraph(self, block: Paragraph) -> None:
        st = self.style
        font = st.bold if block.bold else st.regular
        self.y += block.gap_before * st.line_h
        for text in self.text_lines(block.text, font, st.size, LEFT, RIGHT - LEFT):
            self.need(st.line_h)
            self.y += st.line_h
            self.add(self.y, Seg(LEFT, text, font, st.size))

    def table(self, table: Table) -> None:
        st = self.style
        size = st.size - 1.0
        lh = size * PT * 1.4
        xs, x = [], LEFT
        for col in table.columns:
            xs.append(x)
            x += col.width_mm

        def header() -> None:
            self.y += lh
            segs = [
                Seg(
                    xs[i] + (c.width_mm - 1 if c.align == "r" else 1.5 * (i > 0)),
                    c.title,
                    st.bold,
                    size,
                    c.align,
                )
                for i, c in enumerate(table.columns)
            ]
            self.add(self.y, *segs)
            self.page.shapes.append(("line", LEFT, self.y + 1.5, x, self.y + 1.5, 0.6, (0, 0, 0)))
            self.y += 1.5

        self.y += st.line_h * 0.8
        self.need(3 * lh)
        header()
        for row in table.rows:
            cells = [
                self.text_lines(text, st.regular, size, 0, c.width_mm - 2.5)
                for text, c in zip(row, table.columns, strict=True)
            ]
            height = max(len(c) for c in cells) * lh
            if self.y + height > self.bottom:
                self.new_page()
                header()
            for k in range(max(len(c) for c in cells)):
                self.y += lh
                segs = [
                    Seg(
                        xs[i] + (c.width_mm - 1 if c.align == "r" else 1.5 * (i > 0)),
                        cells[i][k],
                        st.regular,
                        size,
                        c.align,
                    )
                    for i, c in enumerate(table.columns)
                    if k < len(cells[i])
                ]
                self.add(self.y, *segs)
        self.page.shapes.append(("line", LEFT, self.y + 1.5, x, self.y + 1.5, 0.4, (0, 0, 0)))
        self.y += 1.5
        if table.totals:
            self.need(len(table.totals) * lh + 2)
            for label, value, bold in table.totals:
                self.y += lh
                font = st.bold if bold else st.regular
                self.add(self.y, Seg(x - 38, label, font, size, "r"), Seg(x - 1, value, font, size, "r"))


def _scribble(rng: random.Random, x: float, y: float) -> tuple[Any, ...]:
    points = [(x + i * rng.uniform(5, 9), y + rng.uniform(-4, 2)) for i in range(rng.randint(4, 7))]
    return ("scribble", points, 0.7, (0.1, 0.15, 0.45))


def _letterhead(lay: _Layout, sender: Party, style: Style, rng: random.Random) -> None:
    top = 27.0 if style.form == "A" else 45.0
    right = style.head_right
    x_text = RIGHT if right else LEFT
    align = "r" if right else "l"
    page = lay.page
    if sender.kind == "citizen":
        lines = [sender.name, sender.street, f"{sender.postcode} {sender.city}"]
        if style.form == "B" and sender.phone:
            lines.append(f"Telefon {sender.phone}")
        y = top - 5 - (len(lines) - 1) * 4.5
        for text in lines:
            lay.add(y, Seg(x_text, text, style.regular, style.size, align))
            y += 4.5
        return
    logo_x = LEFT if right else RIGHT - 18
    if sender.kind == "company":
        shape = rng.choice(["rect", "circle", "bars"])
        page.shapes.append((shape, logo_x, 8.0, 18.0, 14.0, style.colour))
        name_size = _fit(sender.name, style.bold, rng.choice([14, 16, 18]), 120)
        lay.add(top - 13, Seg(x_text, sender.name, style.bold, name_size, align))
        tagline = sender.industry.tagline if sender.industry else ""
        lay.add(top - 7.5, Seg(x_text, tagline, style.regular, 8, align))
        if style.form == "B":
            contact = f"{sender.street} · {sender.postcode} {sender.city} · Tel. {sender.phone}"
            lay.add(top - 3, Seg(x_text, contact, style.regular, _fit(contact, style.regular, 8, 120), align))
    else:
        page.shapes.append(("crest", logo_x, 6.0, 14.0, 17.0, (0.6, 0.1, 0.1)))
        lay.add(top - 13, Seg(x_text, sender.name, style.bold, _fit(sender.name, style.bold, 14, 120), align))
        lay.add(top - 7.5, Seg(x_text, sender.unit or "", style.regular, 9, align))


def _footer_columns(sender: Party, style: Style) -> list[list[str]]:
    iban = format_iban(sender.iban) if sender.iban and style.iban_grouped else sender.iban
    if sender.kind == "company":
        cols = [
            [sender.name, sender.street, f"{sender.postcode} {sender.city}"],
            [f"Telefon: {sender.phone}", f"E-Mail: {sender.email}", sender.website or ""],
            [sender.bank or "", f"IBAN: {iban}", f"BIC: {sender.bic}"],
            [f"USt-IdNr.: {sender.vat_id}", f"Steuernummer: {sender.tax_number}"],
        ]
        if sender.register:
            cols[3].append(sender.register)
        if sender.managing_director:
            cols[3].append(f"Geschäftsführung: {sender.managing_director}")
        return [[t for t in col if t] for col in cols]
    cols = [
        [sender.name, sender.street, f"{sender.postcode} {sender.city}"],
        [f"Telefon: {sender.phone}", f"E-Mail: {sender.email}"],
        ["Sprechzeiten:", "Mo–Fr 8:00–12:00 Uhr", "Do 14:00–18:00 Uhr"],
    ]
    if sender.iban:
        cols.append([sender.bank or "", f"IBAN: {iban}", f"BIC: {sender.bic}"])
    return cols


def layout_letter(
    letter: Letter, style: Style, rng: random.Random
) -> tuple[list[PageLayout], dict[str, Any]]:
    """Lay out all pages; return them with the DIN 5008 zones of page 1 (mm)."""
    lay = _Layout(letter, style, rng)
    st = style
    field_top = 27.0 if st.form == "A" else 45.0
    zone = 12.7 if st.form == "A" else 17.7
    _letterhead(lay, letter.sender, st, rng)
    # address field
    return_text = None
    if st.return_line:
        return_text = letter.sender.return_line
        size = _fit(return_text, st.regular, 7, 80, 5.5)
        lay.add(field_top + 4, Seg(LEFT, return_text, st.regular, size))
        lay.page.shapes.append(
            (
                "line",
                LEFT,
                field_top + 5,
                LEFT + _width(return_text, st.regular, size),
                field_top + 5,
                0.2,
                (0, 0, 0),
            )
        )
    if letter.recipient.endorsement:
        lay.add(field_top + zone - 1.5, Seg(LEFT, letter.recipient.endorsement, st.bold, 8.5))
    y = field_top + zone + 4.2
    for text in letter.recipient.address_lines:
        lay.add(y, Seg(LEFT, text, st.regular, _fit(text, st.regular, 10, 78)))
        y += 4.3
    # information block
    info_top = 32.0 if st.form == "A" else 50.0
    info_boxes = []
    y = info_top + 3
    if letter.info:
        label_w = max(_width(label, st.regular, 8.5) for label, _ in letter.info) + 3
        for label, value in letter.info:
            vx = 125 + max(label_w, 28)
            vsize = _fit(value, st.regular, 9, RIGHT + 12 - vx)
            line = lay.add(y, Seg(125, label, st.regular, 8.5), Seg(vx, value, st.regular, vsize))
            info_boxes += [s.box(line.y) for s in line.segs]
            y += 4.2
    if letter.date_line:
        line = lay.add(y, Seg(RIGHT, letter.date_line, st.regular, st.size, "r"))
        info_boxes.append(line.segs[0].box(line.y))
        y += 4.2
    # subject and body
    lay.y = max(field_top + 45 + 8.46, y + 5)
    subject_lines = lay.text_lines(letter.subject, st.bold, st.size, LEFT, RIGHT - LEFT)
    subject_boxes = []
    for text in subject_lines:
        lay.y += st.line_h
        line = lay.add(lay.y, Seg(LEFT, text, st.bold, st.size))
        subject_boxes.append(line.segs[0].box(line.y))
    lay.paragraph(Paragraph(letter.salutation, gap_before=2))
    for block in letter.body:
        if isinstance(block, Paragraph):
            lay.paragraph(block)
        else:
            lay.table(block)
    closing_h = (len(letter.closing) + len(letter.signature) + 4) * st.line_h + 12
    lay.y += st.line_h
    lay.need(closing_h)
    for text in letter.closing:
        lay.y += st.line_h
        lay.add(lay.y, Seg(LEFT, text, st.regular, st.size))
    lay.page.shapes.append(_scribble(rng, LEFT + 2, lay.y + 10))
    lay.y += 12
    for text in letter.signature:
        lay.y += st.line_h
        lay.add(lay.y, Seg(LEFT, text, st.regular, st.size))
    if letter.enclosures:
        lay.paragraph(
            Paragraph("Anlagen" if len(letter.enclosures) > 1 else "Anlage", bold=True, gap_before=1.5)
        )
        for text in letter.enclosures:
            lay.paragraph(Paragraph(text, gap_before=0))
    # page numbers and footers
    total = len(lay.pages)
    footer = _footer_columns(letter.sender, st) if lay.has_footer else []
    for n, page in enumerate(lay.pages, 1):
        if total > 1 and letter.sender.kind != "citizen":
            page.lines.append(TextLine(265, [Seg(RIGHT, f"Seite {n} von {total}", st.regular, 8, "r")]))
        if footer:
            page.shapes.append(("line", LEFT, 270, RIGHT, 270, 0.3, st.colour))
            width = (RIGHT - LEFT) / len(footer) - 2
            size = min(_fit(t, st.regular, 7, width) for col in footer for t in col)
            for i, col in enumerate(footer):
                for k, text in enumerate(col):
                    page.lines.append(
                        TextLine(274 + k * 3.1, [Seg(LEFT + i * (width + 2), text, st.regular, size)])
                    )
        fold = (87.0, 192.0) if st.form == "A" else (105.0, 210.0)
        page.shapes += [
            ("line", 4, fold[0], 8, fold[0], 0.3, (0.4, 0.4, 0.4)),
            ("line", 4, fold[1], 8, fold[1], 0.3, (0.4, 0.4, 0.4)),
            ("line", 3, 148.5, 9, 148.5, 0.3, (0.4, 0.4, 0.4)),
        ]

    def union(boxes: list[tuple[float, float, float, float]]) -> list[float] | None:
        if not boxes:
            return None
        return [
            round(min(b[0] for b in boxes), 1),
            round(min(b[1] for b in boxes), 1),
            round(max(b[2] for b in boxes), 1),
            round(max(b[3] for b in boxes), 1),
        ]

    layout = {
        "address_field_mm": [20.0, field_top, 105.0, field_top + 45.0],
        "return_address": return_text,
        "info_block_mm": union(info_boxes),
        "subject_mm": union(subject_boxes),
    }
    return lay.pages, layout


def _draw_shape(c: canvas.Canvas, shape: tuple[Any, ...]) -> None:
    kind = shape[0]

    def y(v: float) -> float:
        return (PAGE_H - v) * mm

    if kind == "line":
        _, x0, y0, x1, y1, width, colour = shape
        c.setStrokeColorRGB(*colour)
        c.setLineWidth(width)
        c.line(x0 * mm, y(y0), x1 * mm, y(y1))
    elif kind in ("rect", "circle", "bars", "crest"):
        _, x, top, w, h, colour = shape
        c.setFillColorRGB(*colour)
        c.setStrokeColorRGB(*colour)
        if kind == "rect":
            c.roundRect(x * mm, y(top + h), w * mm, h * mm, 2 * mm, stroke=0, fill=1)
        elif kind == "circle":
            c.circle((x + w / 2) * mm, y(top + h / 2), h / 2 * mm, stroke=0, fill=1)
        elif kind == "bars":
            for i in range(4):
                c.rect(
                    (x + i * w / 4) * mm,
                    y(top + h),
                    (w / 4 - 1) * mm,
                    (h * (i + 1) / 4) * mm,
                    stroke=0,
                    fill=1,
                )
        else:
            p = c.beginPath()
            p.moveTo(x * mm, y(top))
            p.lineTo((x + w) * mm, y(top))
            p.lineTo((x + w) * mm, y(top + h * 0.6))
            p.lineTo((x + w / 2) * mm, y(top + h))
            p.lineTo(x * mm, y(top + h * 0.6))
            p.close()
            c.drawPath(p, stroke=0, fill=1)
        c.setFillColorRGB(0, 0, 0)
    elif kind == "scribble":
        _, points, width, colour = shape
        c.setStrokeColorRGB(*colour)
        c.setLineWidth(width)
        p = c.beginPath()
        p.moveTo(points[0][0] * mm, y(points[0][1]))
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            p.curveTo((x0 + 3) * mm, y(y0 - 5), (x1 - 3) * mm, y(y1 + 5), x1 * mm, y(y1))
        c.drawPath(p, stroke=1, fill=0)


def draw_pages(pages: list[PageLayout], title: str) -> bytes:
    """Draw laid-out pages into a deterministic PDF (no timestamps, fixed document id)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, pageCompression=1)
    c.setTitle(title)
    c.setAuthor("mailroom sample_docs")
    for page in pages:
        for shape in page.shapes:
            _draw_shape(c, shape)
        c.setFillColorRGB(0, 0, 0)
        for line in page.lines:
            for seg in line.segs:
                if not seg.text:
                    continue
                c.setFont(seg.font, seg.size)
                x, yy = seg.x * mm, (PAGE_H - line.y) * mm
                if seg.align == "r":
                    c.drawRightString(x, yy, seg.text)
                elif seg.align == "c":
                    c.drawCentredString(x, yy, seg.text)
                else:
                    c.drawString(x, yy, seg.text)
        c.showPage()
    c.save()
    return buf.getvalue()


def render_letter(letter: Letter, rng: random.Random, embed_fonts: bool = False) -> Rendered:
    """Render a letter to PDF bytes with its page texts and DIN 5008 layout zones."""
    style = choose_style(rng, letter, embed_fonts)
    pages, layout = layout_letter(letter, style, rng)
    pdf = draw_pages(pages, letter.subject)
    return Rendered(
        pdf=pdf,
        page_texts=[p.text for p in pages],
        layout=layout,
        form=style.form,
        fonts=(style.regular, style.bold),
    )
