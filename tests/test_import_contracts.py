"""The layering is a checked rule: ``lint-imports`` (run by ``scripts/test.sh``) fails on an import against it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mailroom", "intake", "classifiers", "extraction", "rules", "routing", "webhooks", "workers", "api", "cli",
            "sample_docs")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), str(tree / "pyproject.toml"), "--no-cache"], cwd=tree,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sources, to break."""
    copy = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", copy)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__", "*.pdf", "*.png",
                                                                                      "*.tif*", "*.jpg", "committed"))
    return copy


def test_the_sources_keep_every_contract(tree: Path) -> None:
    run = lint_imports(tree)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "broken"),
    [
        ("mailroom/result.py", "from workers.dispatch import Dispatcher", "mailroom is not allowed to import workers"),
        ("rules/store.py", "from classifiers.layout import find_zones", "rules is not allowed to import classifiers"),
        ("api/deps.py", "from sample_docs.generate import generate_set", "api is not allowed to import sample_docs"),
        ("intake/types.py", "from intake.pages import iter_pages", "No cycles are allowed in intake"),
    ],
)
def test_a_wrong_import_breaks_the_check(tree: Path, module: str, wrong_import: str, broken: str) -> None:
    path = tree / module
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + f"\n{wrong_import}  # noqa\n", encoding="utf-8")
        run = lint_imports(tree)
    finally:
        path.write_text(original, encoding="utf-8")
    assert run.returncode != 0
    assert broken in run.stdout, run.stdout
