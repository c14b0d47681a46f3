"""Start-up cost (issue 16): what every worker and `mailroom process` pays before its first document."""

from __future__ import annotations

import subprocess
import sys
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


def test_the_command_tables_name_every_command_where_it_is_defined() -> None:
    """``cli.registry.COMMANDS`` / ``EVAL_COMMANDS`` (what a start imports for a command) agree with what each
    module really registers: a command added to a module without its line there would be missing."""
    import typer

    from cli.common import eval_app
    from cli.main import app  # noqa: F401  (defines ``eval ocr``)
    from cli.registry import COMMANDS, EVAL_COMMANDS, module_names, registered

    top = {name: module for module in module_names() for name in typer.main.get_group(registered(module)).commands}
    assert top == COMMANDS
    evals = {info.name: info.callback.__module__.rsplit(".", 1)[-1]
             for info in eval_app.registered_commands if info.callback is not None}
    assert evals == {**EVAL_COMMANDS, "ocr": "main"}


def _imported_by(*argv: str) -> list[str]:
    """The command modules and heavy libraries a start of ``mailroom ARGV`` imports (a fresh process)."""
    code = ("import sys\nfrom cli.main import app\ntry:\n    app(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('imported:', *sorted(m for m in sys.modules if m.startswith('cli.commands.') or m in "
            "('alembic', 'argon2', 'extraction', 'celery', 'fastapi')))")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, check=True)
    return done.stdout.rsplit("imported:", 1)[1].split()


def test_a_command_imports_only_its_own_module() -> None:
    assert _imported_by("version") == []
    assert _imported_by("process", "--help") == []
    assert _imported_by("worker", "--help") == ["cli.commands.service"]
    assert _imported_by("eval", "routing", "--help") == ["cli.commands.recognition"]


def test_help_lists_every_command_with_its_text() -> None:
    from typer.testing import CliRunner

    from cli.main import app
    from cli.registry import COMMANDS

    shown = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert shown.exit_code == 0
    for name in [*COMMANDS, "process", "eval", "version", "doctor"]:
        assert f" {name} " in shown.output
    assert "Upload files to a running mailroom" in shown.output  # a lazily imported command's own help text
    assert "Supplier master data" in shown.output
    evals = CliRunner().invoke(app, ["eval", "--help"], terminal_width=200)
    assert all(f" {name} " in evals.output for name in ("ocr", "invoices", "routing"))


def test_start_up_blocks_run_without_the_cyclic_collector_and_restore_it() -> None:
    import gc

    from mailroom.startup import without_gc

    assert gc.isenabled()
    with without_gc():
        assert not gc.isenabled()
        with without_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves it as the outer one set it
    assert gc.isenabled()
    with pytest.raises(RuntimeError), without_gc():
        raise RuntimeError("a failing start")
    assert gc.isenabled()
    import cli.main  # noqa: F401  (switches it off for its imports, on again at their end)

    assert gc.isenabled()


# ``mailroom worker`` as it starts, observed through Celery's signals (nothing of the worker is replaced): the
# parent writes what it sees when it is ready, the pool process at its start, then the parent stops itself
WORKER_START = r"""
import gc, json, os, signal, sys
from pathlib import Path
from celery.signals import worker_process_init, worker_ready
out = Path(sys.argv[1])

def seen(role):
    return {"role": role, "collector_on": gc.isenabled(), "frozen": gc.get_freeze_count(),
            "modules": sorted(m for m in ("rich", "rapidfuzz", "mailroom.evaluation", "sqlalchemy.dialects.mysql",
                                           "celery.beat") if m in sys.modules)}

def pool_started(**_):
    (out / "pool.json").write_text(json.dumps(seen("pool")))

def ready(**_):
    (out / "parent.json").write_text(json.dumps(seen("parent")))
    os.kill(os.getpid(), signal.SIGTERM)

worker_process_init.connect(pool_started, weak=False)
worker_ready.connect(ready, weak=False)
from cli.main import app
app(["worker", "--concurrency", "1", "--queues", "ocr,default", "--data-dir", str(out / "data")])
"""


def test_a_worker_starts_without_the_collector_and_without_what_it_does_not_need(tmp_path: Path) -> None:
    """Issue 16 (a worker ready in <= 2 s CPU): the worker's start runs without the cyclic collector and freezes
    what it made before the pool is forked; the collector is on again in the parent and in the pool process
    afterwards (a service without it would keep every reference cycle), and the start loads neither rich, the
    text measures, SQLAlchemy's MySQL dialect (kombu's table option for the SQLite broker) nor, without --beat,
    Celery's beat."""
    import json
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_") or k == "MAILROOM_MODELS_DIR"}
    done = subprocess.run([sys.executable, "-c", WORKER_START, str(tmp_path)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=env)
    assert (tmp_path / "parent.json").exists(), done.stderr[-3000:]
    parent = json.loads((tmp_path / "parent.json").read_text())
    pool = json.loads((tmp_path / "pool.json").read_text())
    for state in (parent, pool):
        assert state["collector_on"], state
        assert state["frozen"] > 50_000, state  # the start's objects (some 300 000): never walked again
        assert state["modules"] == [], state
