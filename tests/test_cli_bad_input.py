"""Every command of the ``mailroom`` command line, given bad input (a missing file, a malformed file, an unknown
name, a data directory that is a file, an unknown option), ends with exit status ≠ 0 and one line
``CODE: message`` on stderr whose code is in the catalogue (not ``internal_error``: bad input deserves its own
code), and never prints a traceback (issue 12).

The commands are found by walking the typer application: a command added without bad inputs here fails
:func:`test_every_command_has_bad_inputs`.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import typer.main
from typer.core import TyperGroup
from typer.testing import CliRunner

from cli.main import app
from mailroom.errors import error_codes

MISSING = "{tmp}/missing.yaml"
MISSING_DIR = "{tmp}/missing-folder"
BAD_YAML = "{tmp}/bad.yaml"  # not YAML at all
NOT_UTF8 = "{tmp}/latin1.yaml"  # not UTF-8
BAD_CSV = "{tmp}/bad.csv"
BAD_PDF = "{tmp}/bad.pdf"  # not a PDF
EMPTY_DIR = "{tmp}/empty"
FILE_AS_DATA = "{tmp}/not-a-folder"  # --data-dir naming a file
NO_DIR_OUT = "{tmp}/no/such/folder/out.txt"
PASSWORD = "{tmp}/password.txt"
UNKNOWN_ID = "0" * 32

#: Per command: the bad invocations (``--data-dir`` of a scratch data directory is added where the command has
#: the option and the case does not name one). Every command also gets an unknown option.
BAD_INPUTS: dict[str, list[list[str]]] = {
    "version": [],
    "doctor": [["--data-dir", FILE_AS_DATA]],
    "process": [[MISSING], [BAD_PDF], ["--data-dir", FILE_AS_DATA, BAD_PDF]],
    "upload": [[MISSING, "--url", "http://127.0.0.1:9", "--token", "mr_x_y"],
               [BAD_PDF, "--url", "http://127.0.0.1:9", "--token", "mr_x_y", "--retry", "0"]],
    "train": [["--data-dir", FILE_AS_DATA]],
    "worker": [["--queues", "nosuchqueue"], ["--data-dir", FILE_AS_DATA]],
    "serve": [["--data-dir", FILE_AS_DATA]],
    "watch": [[MISSING_DIR, "--station", "s1", "--once"], [BAD_PDF, "--station", "s1", "--once"]],
    "separator-sheet": [["--out", NO_DIR_OUT]],
    "eval ocr": [[MISSING_DIR], [EMPTY_DIR]],
    "eval invoices": [[MISSING_DIR], [EMPTY_DIR]],
    "eval routing": [[MISSING_DIR], [EMPTY_DIR], [EMPTY_DIR, "--rules", BAD_YAML]],
    "audit verify": [["--head", "not-a-hash"], ["--data-dir", FILE_AS_DATA]],
    "audit checkpoint": [["--data-dir", FILE_AS_DATA]],
    "audit rotate-key": [["--data-dir", FILE_AS_DATA]],
    "audit export": [["--since", "yesterday"], ["--data-dir", FILE_AS_DATA]],
    "audit transfer-notes": [["--since", "yesterday"], ["--document", UNKNOWN_ID]],
    "documents delete": [[UNKNOWN_ID, "--reason", "test"]],
    "documents reprocess": [[UNKNOWN_ID]],
    "documents retention": [["--data-dir", FILE_AS_DATA]],
    "documents rescan": [[UNKNOWN_ID, "--message", "Bitte neu scannen"], [UNKNOWN_ID, "--message", "  "]],
    "documents dismiss": [[UNKNOWN_ID], [UNKNOWN_ID, "--replaced-by", "not-an-id"]],
    "documents split": [[UNKNOWN_ID, "--before", "2"]],
    "health worker": [["--data-dir", FILE_AS_DATA]],
    "keys create": [["--role", "nosuchrole", "--name", "k1"], ["--role", "clerk", "--name", "k2", "--postbox",
                                                                "nosuchpostbox"]],
    "keys list": [["--data-dir", FILE_AS_DATA]],
    "keys revoke": [["nosuchkey"]],
    "mail check": [["--file", MISSING], ["--file", BAD_YAML], ["--file", NOT_UTF8]],
    "mail poll": [["--file", MISSING], ["--file", BAD_YAML], ["--file", NOT_UTF8]],
    "mail run": [["--file", MISSING], ["--file", BAD_YAML], ["--file", NOT_UTF8]],
    "mail status": [["--data-dir", FILE_AS_DATA]],
    "models list": [["--data-dir", FILE_AS_DATA]],
    "models prepare": [["--data-dir", FILE_AS_DATA]],
    "models rollback": [["--kind", "nosuchkind"], ["--kind", "postbox"]],
    "directory import": [[MISSING], [BAD_YAML], [BAD_CSV], [NOT_UTF8]],
    "directory validate": [[MISSING], [BAD_YAML], [BAD_CSV], [NOT_UTF8]],
    "directory export": [["--out", NO_DIR_OUT]],
    "directory versions": [["--data-dir", FILE_AS_DATA]],
    "directory rollback": [["99"]],
    "rules validate": [[MISSING], [BAD_YAML], [NOT_UTF8]],
    "rules list": [["--data-dir", FILE_AS_DATA]],
    "rules show": [["99"]],
    "rules import": [[MISSING], [BAD_YAML], [NOT_UTF8]],
    "rules export": [["--version", "99"], ["--out", NO_DIR_OUT]],
    "rules activate": [["99"]],
    "rules rollback": [["--to", "99"]],
    "rules simulate": [[MISSING], [BAD_YAML], [NOT_UTF8]],
    "rules eval": [[MISSING_DIR], [EMPTY_DIR, "--rules", BAD_YAML]],
    "suppliers import": [[MISSING], [BAD_CSV]],
    "suppliers list": [["--data-dir", FILE_AS_DATA]],
    "suppliers export": [["--out", NO_DIR_OUT]],
    "users create": [["u1", "--role", "nosuchrole", "--password-file", PASSWORD],
                     ["u2", "--role", "reviewer", "--password-file", MISSING],
                     ["u3", "--role", "clerk", "--postbox", "nosuchpostbox", "--password-file", PASSWORD]],
    "users password": [["nosuchuser", "--password-file", PASSWORD]],
    "users unlock": [["nosuchuser"]],
    "users disable": [["nosuchuser"]],
    "users list": [["--data-dir", FILE_AS_DATA]],
    "webhooks list": [["--data-dir", FILE_AS_DATA]],
    "webhooks deliveries": [["nosuchsubscription"]],
    "webhooks replay": [["nosuchdelivery"]],
}

#: ``CODE: message`` somewhere on a line of stderr (``error: CODE: ...``, or ``✗ FILE  CODE: ...`` of process).
CODE_LINE = re.compile(r"(?:^|(?<=\s))([a-z][a-z_]+):(?= \S)")
SECONDS_PER_CASE = 120


def _commands() -> Iterator[tuple[str, Any]]:
    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), command

    yield from walk(typer.main.get_command(app), [])


COMMANDS = dict(_commands())


def _cases() -> Iterator[Any]:
    for name in sorted(COMMANDS):
        for args in [*BAD_INPUTS.get(name, []), ["--no-such-option"]]:
            yield pytest.param(name, args, id=f"{name}: {' '.join(args)}")


def test_every_command_has_bad_inputs() -> None:
    assert sorted(set(COMMANDS) - set(BAD_INPUTS)) == []
    assert sorted(set(BAD_INPUTS) - set(COMMANDS)) == []


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bad-input")
    (tmp / "bad.yaml").write_text("town: [unclosed\n  - : :\n\tpersons: {\n", encoding="utf-8")
    (tmp / "latin1.yaml").write_bytes("version: 1\nrules: []\ndescription: Gebühren\n".encode("latin-1"))
    (tmp / "bad.csv").write_bytes(b"\xff\xfe\x00garbage;;\n\"unterminated\n")
    (tmp / "bad.pdf").write_bytes(b"%PDF-1.7\nthis is no PDF\n")
    (tmp / "empty").mkdir()
    (tmp / "not-a-folder").write_text("a file\n", encoding="utf-8")
    (tmp / "password.txt").write_text("ein langes Passwort 123\n", encoding="utf-8")
    (tmp / "data").mkdir()
    return tmp


def _timeout(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"the command ran longer than {SECONDS_PER_CASE} s on bad input")


@pytest.mark.parametrize(("name", "args"), list(_cases()))
def test_bad_input_ends_with_a_code_and_no_traceback(
    name: str, args: list[str], scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILROOM_DATA_DIR", str(scratch / "data"))
    monkeypatch.delenv("MAILROOM_TOKEN", raising=False)
    argv = [a.replace("{tmp}", str(scratch)) for a in args]
    has_data_dir = any("--data-dir" in p.opts for p in COMMANDS[name].params if hasattr(p, "opts"))
    if has_data_dir and "--data-dir" not in argv and "--no-such-option" not in argv:
        argv += ["--data-dir", str(scratch / "data")]
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(SECONDS_PER_CASE)
    try:
        result = CliRunner().invoke(app, [*name.split(), *argv], input="")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    shown = f"mailroom {name} {' '.join(argv)}\nexit {result.exit_code}\nstdout: {result.stdout}\n" \
            f"stderr: {result.stderr}\nexception: {result.exception!r}"
    assert "Traceback" not in result.output + result.stderr, shown
    assert result.exception is None or isinstance(result.exception, SystemExit), shown
    assert result.exit_code != 0, shown
    codes = [m.group(1) for line in result.stderr.splitlines() for m in CODE_LINE.finditer(line)]
    known = set(error_codes()) - {"internal_error"}  # that one is a bug: bad input deserves its own code
    assert [c for c in codes if c in known], shown


def test_a_reader_that_stops_reading_is_no_error(scratch: Path) -> None:
    """``mailroom directory export | head -1``: the pipe closes before the command has written; that ends the
    command quietly (exit 1, as click does), not with ``internal_error: unexpected BrokenPipeError``."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first byte: every write fails with EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "cli", "directory", "export", "--data-dir", str(scratch / "d")],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120,
                              cwd=Path(__file__).resolve().parent.parent)
    finally:
        os.close(write_end)
    assert done.returncode == 1, done.stderr
    assert "internal_error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
