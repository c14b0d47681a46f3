"""Command groups of the ``mailroom`` command line, one module each (``rules``, ``keys``, ``directory``, ...).

Each module defines ``app = typer.Typer(...)`` and ``NAME`` (the sub-command), or ``register(app)`` for
top-level commands; :func:`register_all` adds every module found here to the main application. The modules
belong to the composition root: they may import every package, the core modules of ``mailroom`` never import
them.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(main: typer.Typer) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(main)
        sub = getattr(module, "app", None)
        if isinstance(sub, typer.Typer):
            main.add_typer(sub, name=getattr(module, "NAME", info.name))
