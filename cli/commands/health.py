"""``mailroom health worker [--beat]``: the healthcheck of a worker container, from the heartbeats.

Reads the settings from the environment (``MAILROOM_DATABASE_URL`` or the data directory's SQLite): nothing secret
on the command line. Prints one line (German / English) and exits 0 when healthy, 1 when not (Docker's
convention); see :mod:`workers.health`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import DataDirOption, cli_settings

NAME = "health"
app = typer.Typer(help="Healthchecks for containers and supervisors (exit status 0 healthy, 1 unhealthy).",
                  no_args_is_help=True)


@app.command("worker")
def worker_health(
    beat: Annotated[bool, typer.Option(
        help="Also require a live beat on this host (for the one `mailroom worker --beat`)")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Healthy when a worker process of this host wrote its heartbeat within the last 60 s while its consumer ran
    and consumes a queue (and, with --beat, the beat of this host beat too). Exit status 0 healthy, 1 unhealthy."""
    from workers.health import check_worker

    health = check_worker(cli_settings(data_dir), beat=beat)
    typer.echo(health.message)
    raise typer.Exit(health.exit_code)
