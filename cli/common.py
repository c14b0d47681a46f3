"""What every command of the ``mailroom`` command line shares: the ``--data-dir`` option, the settings (with
logging set up as ``-v`` asks), the error console, the ``eval`` group, and :class:`GuardedGroup`, the one place
where an error that ends a command becomes one line ``error: CODE: message`` on stderr (never a traceback).

The command modules (``cli.commands.*``) and ``cli.main`` import this module, never each other.
"""

from __future__ import annotations

import functools
import getpass
import os
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer
from typer.core import TyperGroup

from cli.registry import COMMANDS, EVAL_COMMANDS, registered
from mailroom.errors import ConfigurationError, FileNotFound, MailroomError
from mailroom.logs import configure_logging
from mailroom.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

#: click's ``ClickException`` (usage errors, bad parameters), found from typer's public ``BadParameter``: typer
#: carries its own copy of click in newer versions and uses click's in older ones.
CLICK_EXCEPTION: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class StderrConsole:
    """rich's console on stderr, made at its first use: rich's console is some 30 modules that a worker or the API
    never needs (start-up CPU, issue 16). Everything else is the console's (``err.print``, ``err.is_terminal``)."""

    @functools.cached_property
    def console(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, soft_wrap=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


#: Messages for people (progress, errors) go to stderr; stdout carries results only.
err = StderrConsole()


DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (database, blobs); default: $MAILROOM_DATA_DIR or "
                 "~/.local/share/mailroom"),
]

_verbose = False


def set_verbose(verbose: bool) -> None:
    """``mailroom -v``: every command logs what its stages do (DEBUG, stderr)."""
    global _verbose
    _verbose = verbose


def cli_settings(data_dir: Path | None) -> Settings:
    """The settings (``MAILROOM_*``, ``--data-dir`` wins) with the command line's logging set up: quiet unless
    asked, i.e. warnings only, DEBUG with ``-v``, or ``MAILROOM_LOG_LEVEL`` if set explicitly."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    level = "DEBUG" if _verbose else (settings.log_level if "MAILROOM_LOG_LEVEL" in os.environ else "WARNING")
    configure_logging(level, settings.log_format)
    check_data_dir(settings)
    return settings


def check_data_dir(settings: Settings) -> None:
    """:class:`ConfigurationError` when the data directory names a file (every store in it would fail later, with
    a less clear message)."""
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise ConfigurationError(f"the data directory {settings.data_dir} is a file, not a folder", field="data_dir")


def require_paths(*paths: Path) -> None:
    """:class:`FileNotFound` (``file_not_found``) for the first path that does not exist: said before any work."""
    for path in paths:
        if not path.exists():
            raise FileNotFound(f"{path}: no such file or folder", field="path")


@contextmanager
def database_engine(settings: Settings) -> Iterator[Engine]:
    """The data directory's database engine, migrated to the current schema, disposed when the block ends."""
    from mailroom.storage.db import make_engine, migrate

    engine = make_engine(settings)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


@contextmanager
def database(settings: Settings, *, readonly: bool = False) -> Iterator[Session]:
    """One unit of work on the data directory's database (migrated first): committed when the block ends
    normally, rolled back when it raises; ``readonly=True`` never takes the write lock and never commits. A
    :class:`MailroomError` raised inside ends the command through :class:`GuardedGroup` (``error: CODE: ...``)."""
    from mailroom.storage.db import session_scope

    with database_engine(settings) as engine, session_scope(engine, readonly=readonly) as session:
        yield session


def write_output(text: str, output: Path | None, *, note: str = "") -> None:
    """A command's text result to stdout, or to ``--out FILE`` (``output_not_writable`` if that fails) with a
    line on stderr saying what was written."""
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail("output_not_writable", f"{output}: {exc.strerror}") from None
    err.print(f"wrote {output}{f' ({note})' if note else ''}", highlight=False, markup=False)


def one_line(text: str) -> str:
    """A message on one line (YAML parser errors and the like span several)."""
    return " ".join(str(text).split())


def fail(code: str, message: str, exit_code: int = 1) -> typer.Exit:
    """Print ``error: CODE: message`` (one line) on stderr; returns the :class:`typer.Exit` to raise."""
    err.print(f"error: {code}: {one_line(message)}", highlight=False, markup=False)
    return typer.Exit(exit_code)


class LazyCommands(MutableMapping[str, Any]):
    """A group's commands where those of ``cli.commands`` modules are imported at first use: listed by name
    (``--help``, "did you mean"), the module imported when the command itself is asked for (run, or its help
    text shown). ``load(name)`` gives the command object for a name of ``lazy``."""

    def __init__(self, own: MutableMapping[str, Any], lazy: list[str], load: Any) -> None:
        self._own = own
        self._lazy = [name for name in lazy if name not in own]
        self._load = load

    def __getitem__(self, name: str) -> Any:
        if name not in self._own and name in self._lazy:
            command = self._load(name)
            if command is None:
                raise KeyError(name)
            self._own[name] = command
            self._lazy.remove(name)
        return self._own[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._own[name] = command
        if name in self._lazy:
            self._lazy.remove(name)

    def __delitem__(self, name: str) -> None:
        if name in self._lazy:
            self._lazy.remove(name)
        else:
            del self._own[name]

    def __iter__(self) -> Iterator[str]:
        yield from list(self._own)
        yield from list(self._lazy)

    def __len__(self) -> int:
        return len(self._own) + len(self._lazy)

    def __contains__(self, name: object) -> bool:
        return name in self._own or name in self._lazy


class LazyGroup(TyperGroup):
    """A group whose commands from ``cli.commands`` (``lazy``: name -> module) are imported when asked for."""

    lazy: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(self.commands, list(self.lazy), self._load)

    def _load(self, name: str) -> Any:
        holder = registered(self.lazy[name])
        return typer.main.get_group(holder).commands.get(name)


class EvalGroup(LazyGroup):
    """``mailroom eval``: ``ocr`` of ``cli.main``, the others from their modules (registered on :data:`eval_app`)."""

    lazy = EVAL_COMMANDS

    def _load(self, name: str) -> Any:
        registered(self.lazy[name])  # its register() adds the command to eval_app
        return typer.main.get_group(eval_app).commands.get(name)


eval_app = typer.Typer(cls=EvalGroup, help="Measure accuracy against labelled mail (ground truth from sample_docs).",
                       no_args_is_help=True)


class GuardedGroup(LazyGroup):
    """The ``mailroom`` group: whatever ends a command with an error ends it with one line ``error: CODE:
    message`` on stderr and exit status 1 (2 for usage errors), never a traceback: a :class:`MailroomError` with
    its code, a usage error (missing argument, unknown option, bad value) as ``usage_error``, a file that cannot
    be read as ``file_not_found``, anything unexpected as ``internal_error`` naming the exception's type (its
    traceback only with ``mailroom -v ...``). The commands of ``cli.commands`` are imported when asked for
    (:class:`LazyGroup`)."""

    lazy = COMMANDS

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, KeyboardInterrupt, EOFError):
            raise
        except BrokenPipeError:  # `mailroom ... | head`: the reader has gone, which is no error of the command
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
            raise typer.Exit(1) from None  # as click does when the pipe closes outside a command
        except CLICK_EXCEPTION as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                raise  # a group called alone: its help
            context = getattr(exc, "ctx", None)
            where = f" ({context.command_path} --help)" if context is not None else ""
            message = exc.format_message()  # type: ignore[attr-defined]
            raise fail("usage_error", message + where, getattr(exc, "exit_code", 2)) from None
        except MailroomError as exc:
            for problem in getattr(exc, "problems", None) or ():  # a rule set's: each with its rule and field
                err.print(str(problem), highlight=False, markup=False)
            raise fail(exc.code, exc.message) from None
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise fail("file_not_found", f"{exc.filename or ''}: {exc.strerror}") from None
        except Exception as exc:
            if _verbose:
                err.print_exception()  # asked for with -v: the details (never the local variables)
            tb = exc.__traceback__
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            at = f" at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb is not None else ""
            what = f"{type(exc).__name__}: {exc}" if isinstance(exc, OSError) else type(exc).__name__
            raise fail("internal_error", f"unexpected {what}{at} (mailroom -v ... shows the details)") from None


def cli_actor() -> str:
    """Who runs the command, for the audit trail: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (container without a passwd entry)
        return "cli"
