"""The learning benchmark (bench/bench_learning.py) on a kind of letter the project does not know, through the real
pipeline (born-digital PDFs, so no OCR) and the review service: after at most three corrections the next letter of
the kind routes itself, and the letters after it do not go elsewhere."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

_BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_learning.py"

# memorial benches: no task of the catalogue; each letter worded differently, by another sender
KIND = [
    ("Gedenkbank für meinen Vater", ["ich möchte im Andenken an meinen verstorbenen Vater eine Gedenkbank mit",
                                     "Widmungsplakette im Kurpark stiften. Welche Standorte kämen in Frage?"]),
    ("Widmungsbank", ["wir würden gern eine Bank mit Gedenkplakette für unsere Oma aufstellen lassen,",
                      "am liebsten mit Blick auf den Weiher. Was kostet eine solche Widmungsbank?"]),
    ("Anfrage Gedenkbank", ["besteht die Möglichkeit, eine Gedenkbank mit Plakette am Weiher zu spenden?",
                            "Die Kosten für Bank und Plakette übernehmen wir selbstverständlich."]),
    ("Bank mit Plakette", ["für unseren Opa möchten wir eine Gedenkbank samt Widmungsplakette am Teichufer",
                           "stiften. Bitte teilen Sie uns mit, wie wir die Bank beantragen."]),
    ("Stiftung einer Sitzbank", ["zum 80. Geburtstag unserer Mutter möchten wir der Stadt eine Sitzbank mit",
                                 "Gedenkplakette stiften, gern im Stadtpark unter den Linden."]),
    ("Gedenkbank Spende", ["unser Verein möchte zum Jubiläum eine Gedenkbank mit Widmungsplakette spenden.",
                           "Wo darf die Bank stehen, und wer kümmert sich um die Plakette?"]),
]
SENDERS = ["Anna Krause", "Jonas Vogel", "Petra Lindner", "Emil Sander", "Rita Oswald", "Karl Thiele"]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_learning", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _letter(path: Path, sender: str, subject: str, body: list[str]) -> None:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    y = 297 * mm - 20 * mm
    lines = [sender, "Lindenweg 4, 12345 Musterstadt", "", "", "Stadtverwaltung Musterstadt", "Rathausplatz 1",
             "12345 Musterstadt", "", "", f"Betreff: {subject}", "", "Sehr geehrte Damen und Herren,", *body, "",
             "Mit freundlichen Grüßen", sender]
    for line in lines:
        pdf.setFont("Helvetica", 11)
        pdf.drawString(25 * mm, y, line)
        y -= 6 * mm
    pdf.save()


def test_after_at_most_three_corrections_the_next_letter_of_an_unknown_kind_routes_itself(tmp_path: Path) -> None:
    folder = tmp_path / "kinds"
    folder.mkdir()
    for i, ((subject, body), sender) in enumerate(zip(KIND, SENDERS, strict=True)):
        _letter(folder / f"bank_{i}.pdf", sender, subject, body)
        (folder / f"bank_{i}.truth.json").write_text(json.dumps({"postbox": "umweltamt", "kind": "Gedenkbank"}))
    bench = _bench()
    letters = bench.kinds_of(folder)["Gedenkbank"]
    models = Path(os.environ["MAILROOM_MODELS_DIR"])
    run = bench.run_kind("Gedenkbank", letters, models, tmp_path / "data")
    marks = "".join(s.mark for s in run.steps)
    assert run.steps[0].status == "review", marks  # unknown at first: not guessed
    assert run.known_by is None
    assert run.corrections_until_self is not None and run.corrections_until_self <= 3, marks
    assert run.after_first()["wrong"] == 0, marks
    assert all(s.corrected for s in run.steps if not s.right)  # every miss went through the review service
    learned = [s for s in run.steps if s.right]
    assert learned and all((s.decided_by or "").startswith("learned:") for s in learned), marks
