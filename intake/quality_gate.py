"""The quality gate: does a read document go on to recognition, or back to the station that scanned it?

A scan whose pages are all blank (the stack was put in upside down, the feeder took two sheets, the lid was
open) or whose pages carry ink but no readable text (far out of focus, almost no contrast, a page the OCR had to
give up on) cannot be recognised or routed; in the review queue it would only be typed at random ("invoice",
0.27) and wait for a person who can do nothing but delete it. It goes back to its station instead, with the
reason, the pages and a message in German that the operator acts on (:class:`mailroom.result.RescanRequest`).

Pure: decides on the read pages and the quality summary, no files, no database. A document with at least one
readable page goes on (the unreadable page is a warning; review decides whether it matters). Only scans are
gated: text-layer pages and e-invoices are read exactly, and channels without a scanning station (e-mail)
have nobody to scan again, so their documents go on to review.
"""

from __future__ import annotations

from mailroom.model import Document, Page, TextSource
from mailroom.result import Quality, RescanRequest
from mailroom.settings import Settings

#: Channels whose documents come from a scanning station (or an operator at the command line) who can scan again.
SCANNING_CHANNELS = frozenset({"upload", "watch_folder", "cli"})

#: What a warning means to the station operator (German), for the rescan message.
REASONS_DE: dict[str, str] = {
    "blank_page": "leer",
    "no_text_found": "kein Text erkennbar",
    "page_unreadable": "konnte nicht gelesen werden",
    "blurry": "unscharf",
    "low_contrast": "zu wenig Kontrast",
    "low_ocr_confidence": "Text kaum lesbar",
}


def _page_list(pages: list[int]) -> str:
    words = [str(n) for n in pages]
    if len(words) == 1:
        return f"Seite {words[0]}"
    return "Seiten " + ", ".join(words[:-1]) + " und " + words[-1]


def unreadable(page: Page, settings: Settings) -> bool:
    """A scanned page with ink that gave no usable text: no words at all, a page the OCR gave up on, or words the
    OCR is so unsure of on average (below ``rescan_ocr_confidence``) that they are noise, not text."""
    if page.separator or page.quality.blank or page.text_source is not TextSource.OCR:
        return False
    if page.quality.unreadable:
        return True
    if not any(True for _ in page.words()):
        return True
    confidence = page.quality.ocr_confidence
    return confidence is not None and confidence < settings.rescan_ocr_confidence


def rescan_request(
    document: Document, quality: Quality, settings: Settings, *, channel: str
) -> RescanRequest | None:
    """The request to scan again, or ``None`` when the document goes on (some page is readable, or it is not a
    scan from a station)."""
    if channel not in SCANNING_CHANNELS:
        return None
    pages = [p for p in document.pages if not p.separator]
    if not pages or any(p.text_source in (TextSource.TEXT_LAYER, TextSource.E_INVOICE) for p in pages):
        return None
    blank = [p.number for p in pages if p.quality.blank]
    bad = [p.number for p in pages if unreadable(p, settings)]
    if len(blank) + len(bad) < len(pages):
        return None  # at least one page was read: the document goes on
    if not bad:
        listed = _page_list(blank)
        message = (
            f"Keine Seite enthält etwas Lesbares ({listed} leer). Bitte prüfen Sie, ob die Vorlagen mit der "
            "richtigen Seite zum Scanner eingelegt waren, und scannen Sie das Dokument erneut."
        )
        return RescanRequest(reason="blank", pages=blank, message=message, warnings=["all_pages_blank"])
    codes = sorted({w.code for w in quality.warnings if w.page in bad and w.code in REASONS_DE and
                    w.code != "blank_page"})
    why = ", ".join(REASONS_DE[code] for code in codes) or REASONS_DE["no_text_found"]
    message = (
        f"{_page_list(bad)} nicht lesbar ({why}). Bitte scannen Sie "
        f"{'sie' if len(bad) > 1 else 'die Seite'} erneut (Vorlage glatt auflegen, Scannerglas sauber, "
        "Auflösung mindestens 300 dpi) und senden Sie das Dokument noch einmal."
    )
    return RescanRequest(reason="unreadable", pages=bad, message=message, warnings=codes)
