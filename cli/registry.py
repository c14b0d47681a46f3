"""Which module of :mod:`cli.commands` holds which command, and loading one of them when it is asked for.

A module of ``cli.commands`` is imported only when one of its commands is asked for (run, or listed by
``--help``): a start of ``mailroom process`` or ``mailroom worker`` does not pay for the imports of every other
command (issue 16: start-up CPU). :data:`COMMANDS` and :data:`EVAL_COMMANDS` say which module holds which command;
``tests/test_startup.py`` checks them against what the modules really define. This module names the command
modules only as strings (``importlib``): they import :mod:`cli.common`, whose lazy groups use this module, and a
static import would be a cycle.
"""


from __future__ import annotations

import functools
import importlib
import pkgutil

import typer

#: The package of the command modules (imported by name only: its modules import cli.common, which imports this)
PACKAGE = "cli.commands"

#: Top-level command -> the module of ``cli.commands`` that defines it, in the order ``mailroom --help`` lists them
#: after the commands of ``cli.main`` (``version``, ``doctor``, ``process``, ``eval``).
COMMANDS: dict[str, str] = {
    "upload": "client",
    "train": "recognition",
    "worker": "service",
    "serve": "service",
    "watch": "stations",
    "separator-sheet": "stations",
    "audit": "audit",
    "directory": "directory",
    "documents": "documents",
    "health": "health",
    "keys": "keys",
    "mail": "mail",
    "models": "recognition",
    "rules": "rules",
    "suppliers": "suppliers",
    "users": "users",
    "webhooks": "webhooks",
}

#: ``eval`` sub-command -> its module (``eval ocr`` is ``cli.main``'s own).
EVAL_COMMANDS: dict[str, str] = {
    "invoices": "invoices",
    "routing": "recognition",
}


def module_names() -> list[str]:
    """Every command module of this package (for the check that the tables above are complete)."""
    return sorted(info.name for info in pkgutil.iter_modules(importlib.import_module(PACKAGE).__path__))


@functools.cache
def registered(module_name: str) -> typer.Typer:
    """The module's top-level commands and groups on a Typer of their own (imported and registered once per
    process; ``eval`` sub-commands go to ``cli.common.eval_app`` as a side effect of ``register``)."""
    module = importlib.import_module(f"{PACKAGE}.{module_name}")
    holder = typer.Typer()
    register = getattr(module, "register", None)
    if callable(register):
        register(holder)
    sub = getattr(module, "app", None)
    if isinstance(sub, typer.Typer):
        holder.add_typer(sub, name=getattr(module, "NAME", module_name))
    return holder
