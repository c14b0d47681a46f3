"""`mailroom upload`, the station's client, against the real API: a stack is done when each of its letters is, and
a confidential letter (which stations no longer see once it is routed) does not leave the client waiting."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_api_support import SAMPLES, make_settings, serve
from typer.testing import CliRunner

from cli.main import app


@pytest.mark.parametrize("name", ["0012-stack.pdf"])
def test_upload_waits_for_the_letters_of_a_stack_and_for_confidential_letters(tmp_path: Path, name: str) -> None:
    with serve(make_settings(tmp_path / "data")) as server:
        token = server.key("station", "poststelle-1")
        folder = tmp_path / "scans"
        folder.mkdir()
        for sample in (name, "0019-job_application.pdf"):  # the job application is marked "persönlich"
            (folder / sample).symlink_to(SAMPLES / sample)
        done = CliRunner().invoke(app, ["upload", str(folder), "--url", server.base_url, "--token", token,
                                        "--timeout", "300"])
    output = done.output
    assert done.exit_code == 0, output
    assert "2 angenommen, 0 übersprungen, 0 Probleme" in output
    letters = [line for line in output.splitlines() if "└ Brief" in line]
    assert len(letters) == 2 and not any(" received " in line for line in letters)  # settled, not just created
    assert "0019-job_application.pdf" in output and "vertraulich" in output
