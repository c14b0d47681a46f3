"""What the decision is built from reaches a running worker without a restart: directory and model versions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from mailroom.directory import DEFAULT_PATH
from mailroom.settings import Settings
from workers.pipeline import PipelineContext

ROOT = Path(__file__).resolve().parent.parent


def test_a_directory_imported_by_another_process_is_used_with_the_next_document(tmp_path: Path) -> None:
    ctx = PipelineContext.create(Settings(data_dir=tmp_path / "data"))
    before = ctx.router
    assert ctx.router is before  # nothing changed: nothing is reloaded
    assert "Amt für Straßenbau" not in before.directory.departments["tiefbau"].names

    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    tiefbau = next(d for d in data["departments"] if d["id"] == "tiefbau")
    tiefbau["aliases"] = [*tiefbau.get("aliases", []), "Amt für Straßenbau"]
    changed = tmp_path / "directory.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "MAILROOM_DATA_DIR": str(tmp_path / "data")}
    subprocess.run([sys.executable, "-m", "cli", "directory", "import", str(changed)],
                   env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)

    after = ctx.router
    assert after is not before
    assert "Amt für Straßenbau" in after.directory.departments["tiefbau"].names
