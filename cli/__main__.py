"""``python -m cli``: the ``mailroom`` command."""

from cli.main import app

app()
