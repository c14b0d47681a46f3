"""Command groups of the ``mailroom`` command line, one module each (``rules``, ``keys``, ``directory``, ...).

Each module defines ``app = typer.Typer(...)`` and ``NAME`` (the sub-command), or ``register(app)`` for
top-level commands (and ``eval`` sub-commands, added to ``cli.common.eval_app``). A module is imported only when
one of its commands is asked for: :mod:`cli.registry` says which module holds which command and loads it. The
modules belong to the composition root: they may import every package, the core modules of ``mailroom`` never
import them.
"""
