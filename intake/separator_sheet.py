"""The separator sheet (Trennblatt) to print and put between the letters of a scanned stack.

The sheet carries a large QR code whose payload is ``SEPARATOR_PAYLOAD`` and the word "Trennblatt". Intake
recognises the code (:mod:`intake.separator`) and starts a new document after the sheet; the sheet itself belongs
to no letter. Printed by ``mailroom separator-sheet``; the generated sample stacks use it too. Needs reportlab and
segno (the ``samples`` extra), imported only where a sheet is drawn.
"""

from __future__ import annotations

import io

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from intake.separator import SEPARATOR_PAYLOAD

__all__ = ["separator_pdf", "separator_text"]
SEPARATOR_LINES = ("Trennblatt", "Dokumententrennung – bitte mit der Schrift nach oben einlegen")


def separator_pdf() -> bytes:
    """One A4 page: the word "Trennblatt", a QR code of 100 mm, a hint line. Returns PDF bytes."""
    qr = segno.make(SEPARATOR_PAYLOAD, error="h", micro=False)
    matrix = list(qr.matrix)
    size_mm = 100.0
    module = size_mm / len(matrix)
    x0, top = (210 - size_mm) / 2, 80.0
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setFont("Helvetica-Bold", 48)
    c.drawCentredString(105 * mm, (297 - 55) * mm, SEPARATOR_LINES[0])
    for r, row in enumerate(matrix):
        for col, dark in enumerate(row):
            if dark:
                c.rect(
                    (x0 + col * module) * mm,
                    (297 - top - (r + 1) * module) * mm,
                    module * mm + 0.05,
                    module * mm + 0.05,
                    stroke=0,
                    fill=1,
                )
    c.setFont("Helvetica", 11)
    c.drawCentredString(105 * mm, (297 - 200) * mm, SEPARATOR_LINES[1])
    c.showPage()
    c.save()
    return buf.getvalue()


def separator_text() -> str:
    """The page text of the separator sheet as it is printed, in reading order."""
    return "\n".join(SEPARATOR_LINES)
