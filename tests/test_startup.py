"""Start-up cost (issue 16): what every worker and `mailroom process` pays before its first document."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mailroom import yamlio
from mailroom.directory import DEFAULT_PATH
from rules.store import default_pack_text
from rules.validate import check_ruleset

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", [DEFAULT_PATH, *sorted((ROOT / "extraction" / "data").rglob("*.yaml"))],
                         ids=lambda p: p.name)
def test_fast_yaml_reads_the_shipped_tables_as_pyyaml_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yamlio.safe_load(text) == yaml.safe_load(text)


@pytest.mark.parametrize("text", ["a: [1, 2", "rules:\n  - id: x\n   when: y\n", "a: b: c", "\tkey: 1"])
def test_fast_yaml_errors_read_as_pyyaml_errors(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError) as got:
        yamlio.safe_load(text)
    assert str(got.value) == str(expected.value)
    assert "line" in str(got.value)  # the place is named, as people read it in `mailroom rules check`


def test_a_rule_set_is_checked_once_per_text() -> None:
    text = default_pack_text()
    first, problems = check_ruleset(text)
    again, problems_again = check_ruleset(text)
    assert first is not None and first is again and problems == problems_again
    broken, errors = check_ruleset(text + "\n  - id: [\n")
    assert broken is None and errors[0].code == "yaml_syntax" and "line" in errors[0].message
