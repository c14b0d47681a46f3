"""The cover document of an e-mail: its header and body as a PDF with a text layer.

The cover is a document like any scan: it is read (its text layer), recognised and routed, and it lists the
documents that came with it. The PDF is written with pikepdf in the standard Helvetica font (WinAnsi encoding:
German text as it is; characters outside it become ``?``), A4, wrapped at the page width; a very long body is cut
after :data:`MAX_PAGES` pages with a note.
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pikepdf

from intake.email_message import MailMessage

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
MARGIN = 56
FONT_SIZE = 10
LEADING = 13
WRAP = 95
MAX_PAGES = 20
LINES_PER_PAGE = (PAGE_HEIGHT - 2 * MARGIN) // LEADING


def cover_lines(message: MailMessage, mailbox: str, documents: list[str]) -> list[str]:
    """The cover's text: who wrote to which mailbox when about what, the documents that came with it, the body."""
    sent = message.date.strftime("%d.%m.%Y %H:%M") if isinstance(message.date, datetime) else "unbekannt"
    sender = f"{message.sender_name} <{message.sender}>" if message.sender_name else message.sender
    head = [
        f"E-Mail an das Postfach: {mailbox}",
        f"Von: {sender}",
        f"Datum: {sent}",
        f"Betreff: {message.subject or '(ohne Betreff)'}",
        f"Message-ID: {message.message_id}",
    ]
    if documents:
        head.append("Anlagen: " + ", ".join(documents))
    if message.skipped:
        head.append("Nicht übernommen: " + "; ".join(message.skipped))
    lines = [*head, ""]
    for paragraph in (message.body or "(kein Text)").splitlines():
        lines.extend(textwrap.wrap(paragraph, WRAP, break_long_words=True, replace_whitespace=False) or [""])
    return lines


def write_cover_pdf(lines: list[str], target: Path) -> Path:
    """Write ``lines`` as a text PDF to ``target``."""
    if len(lines) > MAX_PAGES * LINES_PER_PAGE:
        lines = [*lines[: MAX_PAGES * LINES_PER_PAGE - 1], "… (gekürzt: der Text der E-Mail ist länger)"]
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica,
        Encoding=pikepdf.Name.WinAnsiEncoding,
    ))
    for start in range(0, max(len(lines), 1), LINES_PER_PAGE):
        chunk = lines[start:start + LINES_PER_PAGE]
        stream = [b"BT", f"/F1 {FONT_SIZE} Tf {LEADING} TL {MARGIN} {PAGE_HEIGHT - MARGIN} Td".encode()]
        for line in chunk:
            stream.append(b"(" + _escape(line) + b") Tj T*")
        stream.append(b"ET")
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, PAGE_WIDTH, PAGE_HEIGHT],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pdf.make_stream(b"\n".join(stream)),
        )
        pdf.pages.append(pikepdf.Page(page))
    pdf.docinfo["/Producer"] = "mailroom"
    pdf.save(target, deterministic_id=True)
    return target


def _escape(line: str) -> bytes:
    data = line.encode("cp1252", errors="replace")
    return data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
