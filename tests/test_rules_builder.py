"""A builder of recognised documents with words at known millimetre positions (300 dpi), straight or skewed.

``letter()`` lays out a DIN 5008 form B letter to Stadt Musterstadt like the sample mail; ``page()`` takes
any lines. A skew rotates every word box about the page centre, as a scan with residual skew would, and
Tesseract-like axis-parallel boxes are kept.
"""

from __future__ import annotations

import math

from mailroom.model import Block, Document, Line, Page, TextSource, Word
from mailroom.result import RuleTrace
from rules import Facts, RuleSet, evaluate
from rules.geometry import estimate_skew

DPI = 300
A4 = (210.0, 297.0)
PT_MM = 25.4 / 72

TextLine = tuple[float, float, str, float]  # x_mm, y_mm (top), text, size in pt


def _px(mm: float) -> int:
    return round(mm * DPI / 25.4)


def _rotate(x: float, y: float, degrees: float) -> tuple[float, float]:
    cx, cy = A4[0] / 2, A4[1] / 2
    a = math.radians(degrees)
    dx, dy = x - cx, y - cy
    return cx + dx * math.cos(a) - dy * math.sin(a), cy + dx * math.sin(a) + dy * math.cos(a)


def _word(x: float, y: float, w: float, h: float, text: str, skew: float) -> Word:
    corners = [_rotate(px, py, skew) for px in (x, x + w) for py in (y, y + h)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return Word(text=text, box=(_px(min(xs)), _px(min(ys)), _px(max(xs)), _px(max(ys))), confidence=90.0)


def page(lines: list[TextLine], *, number: int = 1, skew: float = 0.0) -> Page:
    blocks = []
    for x, y, text, pt in lines:
        height, char = pt * PT_MM, pt * PT_MM * 0.5
        words, cursor = [], x
        for token in text.split():
            words.append(_word(cursor, y, len(token) * char, height, token, skew))
            cursor += (len(token) + 1) * char
        boxes = [w.box for w in words]
        box = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        blocks.append(Block(lines=[Line(words=words, box=box)], box=box))
    return Page(
        number=number, width=_px(A4[0]), height=_px(A4[1]), dpi=DPI, text_source=TextSource.OCR, blocks=blocks
    )


LETTERHEAD: list[TextLine] = [(130, 15, "Müller & Söhne GmbH", 16)]
RETURN_ADDRESS: list[TextLine] = [(25, 47, "Müller & Söhne GmbH · Industriestraße 12 · 50667 Köln", 7.5)]
ADDRESS = [
    "Stadtverwaltung Musterstadt",
    "Amt für Finanzen",
    "z. Hd. Frau Schmitz",
    "Rathausplatz 1",
    "12345 Musterstadt",
]
INFO = ["Ihr Zeichen: FB20-4711", "Kundennummer: 4711", "Datum: 12.11.2026"]
FOOTER: list[TextLine] = [
    (25, 280, "Sparkasse KölnBonn · IBAN DE89 3704 0044 0532 0130 00 · USt-IdNr. DE123456789", 7.5)
]


def letter(
    *,
    subject: str = "Rechnung Nr. RE-2026-04711 für Wartungsarbeiten",
    body: list[str] | None = None,
    address: list[str] | None = None,
    address_top: float = 55.0,
    skew: float = 0.0,
    extra: list[TextLine] | None = None,
    pages: int = 1,
) -> Document:
    """A form B letter; ``address_top`` moves the address block (form A: about 40 mm)."""
    lines: list[TextLine] = [*LETTERHEAD]
    lines += [(25, address_top - 8, RETURN_ADDRESS[0][2], 7.5)]
    lines += [(25, address_top + i * 5.2, s, 11) for i, s in enumerate(address or ADDRESS)]
    lines += [(125, 50 + i * 5.2, s, 11) for i, s in enumerate(INFO)]
    lines += [(25, 103, subject, 11)]
    default_body = [
        "Sehr geehrte Frau Schmitz,",
        "wir berechnen Ihnen die Wartung der Heizungsanlage.",
        "Bitte überweisen Sie den Betrag von 558,35 Euro innerhalb von 14 Tagen.",
        "Mit freundlichen Grüßen",
    ]
    lines += [(25, 115 + i * 5.2, s, 11) for i, s in enumerate(body if body is not None else default_body)]
    lines += FOOTER + (extra or [])
    out = [page(lines, skew=skew)]
    out += [
        page([(25, 30, "Seite 2 Anlage Leistungsnachweis", 11), *FOOTER], number=n, skew=skew)
        for n in range(2, pages + 1)
    ]
    return Document(pages=out)


def test_builder_places_words_in_millimetres() -> None:
    doc = letter()
    first = doc.pages[0]
    word = next(w for w in first.words() if w.text == "Rathausplatz")
    x0, y0, _, _ = first.box_mm(word.box)
    assert abs(x0 - 25) < 0.2 and abs(y0 - (55 + 3 * 5.2)) < 0.2


def test_builder_skew_is_measurable() -> None:
    assert abs(math.degrees(estimate_skew(letter(skew=2.5).pages[0])) - 2.5) < 0.3
    assert abs(estimate_skew(letter().pages[0])) < 1e-3


def check(when: dict[str, object], doc: Document, facts: Facts | None = None) -> RuleTrace:
    """The trace of a single rule ``when`` → route to ``x`` on the document."""
    ruleset = RuleSet.model_validate(
        {"version": 1, "rules": [{"id": "r", "when": when, "then": {"route_to": "x"}, "confidence": 0.9}]}
    )
    return evaluate(ruleset, doc, facts).trace[0]
