"""What every command of the ``mailroom`` command line shares: the ``--data-dir`` option, the settings (with
logging set up as ``-v`` asks), the error console and the ``eval`` group.

The command modules (``cli.commands.*``) and ``cli.main`` import this module, never each other.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mailroom.logs import configure_logging
from mailroom.settings import Settings

#: Messages for people (progress, errors) go to stderr; stdout carries results only.
err = Console(stderr=True, soft_wrap=True)

eval_app = typer.Typer(help="Measure accuracy against labelled mail (ground truth from sample_docs).",
                       no_args_is_help=True)

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
    return settings
