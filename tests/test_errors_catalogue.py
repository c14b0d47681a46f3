"""The one error catalogue: every error class lives in ``mailroom/errors.py``, every stable code is unique and is
documented in the README's error table."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

from mailroom import errors
from mailroom.errors import MailroomError

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mailroom", "api", "classifiers", "cli", "extraction", "intake", "routing", "rules", "webhooks", "workers")


def _all_error_classes() -> list[type[MailroomError]]:
    for package in PACKAGES:  # import everything, so that an error class defined anywhere is seen
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            if ".migrations" not in info.name and not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    seen: list[type[MailroomError]] = []
    stack: list[type[MailroomError]] = [MailroomError]
    while stack:
        cls = stack.pop()
        if cls not in seen:
            seen.append(cls)
            stack.extend(cls.__subclasses__())
    return seen


def _readme_codes() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Error codes", 1)[1].split("\n## ", 1)[0]
    return {code for line in table.splitlines() if line.startswith("| `")
            for code in re.findall(r"`([a-z_]+)`", line.split("|")[1])}


def test_every_error_class_is_defined_in_the_catalogue() -> None:
    outside = [f"{c.__module__}.{c.__qualname__}" for c in _all_error_classes() if c.__module__ != errors.__name__
               and not c.__module__.startswith("tests")]
    assert outside == []


def test_codes_are_unique() -> None:
    by_code: dict[str, list[str]] = {}
    for cls in _all_error_classes():
        if cls.__module__ == errors.__name__:
            by_code.setdefault(cls.code, []).append(cls.__name__)
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}
    assert set(by_code) == set(errors.error_codes())


def test_every_code_is_in_the_readme_table() -> None:
    documented = _readme_codes()
    assert sorted(set(errors.error_codes()) - documented) == []
    assert sorted(documented - set(errors.error_codes())) == []


def test_no_exception_classes_outside_the_catalogue() -> None:
    """Exceptions of mailroom derive from MailroomError (so they carry a code) and live in the catalogue; none is
    defined elsewhere, not even on a builtin base such as ``ValueError``."""
    found = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        relative = path.relative_to(ROOT)
        skip = relative.parts[0] not in PACKAGES or "migrations" in relative.parts
        if skip or relative.as_posix() == "mailroom/errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                re.search(r"(Error|Exception|Warning)$", ast.unparse(base)) for base in node.bases
            ):
                found.append(f"{relative}: {node.name}")
    assert found == []


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    """The README's configuration table names every setting of ``mailroom/settings.py`` by its full variable, and
    no variable that does not exist."""
    from mailroom.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {name for line in table.splitlines() if line.startswith("| `")
                  for name in re.findall(r"`(MAILROOM_[A-Z0-9_]+)`", line.split("|")[1])}
    settings = {f"MAILROOM_{name.upper()}" for name in Settings.model_fields}
    assert sorted(settings - documented) == []
    assert sorted(documented - settings) == []
