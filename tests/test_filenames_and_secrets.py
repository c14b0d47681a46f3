"""Names from outside are made safe to show (bidi controls, paths), and secrets stay off command lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from intake.filenames import safe_filename

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("raw", "shown"), [
    ("rechnung\u202efdp.exe", "rechnung_fdp.exe"),  # right-to-left override: would read "rechnungexe.pdf"
    ("Antrag\u2066x\u2069.pdf", "Antrag_x_.pdf"),
    ("brief\u200f\u061c.png", "brief__.png"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Scans\\Bearer xyz.png", "Bearer xyz.png"),  # an ordinary name stays as it is
])
def test_file_names_lose_bidi_controls_and_paths(raw: str, shown: str) -> None:
    assert safe_filename(raw) == shown


def test_the_demo_passes_no_token_on_a_command_line() -> None:
    script = (ROOT / "scripts" / "demo.sh").read_text()
    assert not re.search(r"--token\b", script), "a token in the arguments is visible to every user in ps"
    assert "MAILROOM_TOKEN=" in script
