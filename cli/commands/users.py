"""``mailroom users``: user accounts of the web UI (people; machines use ``mailroom keys``).

A password is never taken from the command line (it would show in ``ps`` and the shell history): it is asked
for twice at the terminal, or read from a file with ``--password-file FILE`` (``-`` = standard input, first line).
Every change is recorded in the audit trail with the actor ``cli:<login name>``.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.common import DataDirOption, cli_actor, cli_settings, database, err
from mailroom.directory import check_scope
from mailroom.storage import users
from mailroom.storage.keys import Role

NAME = "users"
app = typer.Typer(help="User accounts of the web UI: create, list, set a password, unlock, disable.",
                  no_args_is_help=True)

PasswordFile = Annotated[
    Path | None,
    typer.Option("--password-file", help="Read the password from this file's first line ('-': standard input) "
                 "instead of asking at the terminal", allow_dash=True),
]


def read_password(source: Path | None) -> str:
    """The new password from ``source`` (file or ``-``), else asked twice at the terminal."""
    if source is not None:
        raw = sys.stdin.readline() if str(source) == "-" else source.read_text(encoding="utf-8").split("\n", 1)[0]
        return raw.rstrip("\r\n")
    if not sys.stdin.isatty():
        err.print("[red]error[/red]: no terminal to ask for the password; use --password-file FILE or "
                  "--password-file - (standard input)", highlight=False)
        raise typer.Exit(2)
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != first:
        err.print("[red]error[/red]: the two passwords differ", highlight=False)
        raise typer.Exit(1)
    return first


def _run(data_dir: Path | None, action: Any) -> Any:
    with database(cli_settings(data_dir)) as session:
        return action(session)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Sign-in name, e.g. m.mueller")],
    role: Annotated[Role, typer.Option(help="station, clerk, dms, reviewer or admin")],
    postbox: Annotated[
        list[str] | None, typer.Option("--postbox", help="Postbox the user works (clerk, dms; repeatable)")
    ] = None,
    station: Annotated[str | None, typer.Option(help="Station of a station user (default: the name)")] = None,
    person: Annotated[
        str | None, typer.Option("--person", help="Directory person id of a clerk: also sees the confidential "
                                 "letters for this person in the postboxes")
    ] = None,
    display_name: Annotated[str | None, typer.Option("--display-name", help="Name shown in the UI")] = None,
    password_file: PasswordFile = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a user account (the password is asked for, or read with --password-file); its postboxes and person
    must exist in the organisation directory."""
    password = read_password(password_file)

    check_scope(cli_settings(data_dir), postbox or (), person)

    def action(session: Any) -> str:
        row = users.create_user(session, name=name, role=role, password=password, postboxes=postbox,
                                station=station, person=person, display_name=display_name, actor=cli_actor())
        return f"created {row.role} user {row.name!r}"

    err.print(_run(data_dir, action), highlight=False)


@app.command("password")
def set_password(
    name: Annotated[str, typer.Argument(help="Sign-in name")],
    password_file: PasswordFile = None,
    data_dir: DataDirOption = None,
) -> None:
    """Set a new password (unlocks the account, ends its sessions)."""
    password = read_password(password_file)
    _run(data_dir, lambda session: users.set_password(session, name, password, actor=cli_actor()))
    err.print(f"new password set for {name!r}", highlight=False)


@app.command()
def unlock(name: Annotated[str, typer.Argument(help="Sign-in name")], data_dir: DataDirOption = None) -> None:
    """Unlock an account locked after failed sign-ins."""
    _run(data_dir, lambda session: users.unlock_user(session, name, actor=cli_actor()))
    err.print(f"unlocked {name!r}", highlight=False)


@app.command()
def disable(name: Annotated[str, typer.Argument(help="Sign-in name")], data_dir: DataDirOption = None) -> None:
    """Disable an account: it can no longer sign in and its sessions end now."""
    _run(data_dir, lambda session: users.disable_user(session, name, actor=cli_actor()))
    err.print(f"disabled {name!r}", highlight=False)


@app.command("list")
def list_users(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per user")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """List the accounts (never their password hashes)."""

    def action(session: Any) -> list[dict[str, Any]]:
        return [{"name": r.name, "role": r.role, "station": r.station, "postboxes": r.postboxes, "person": r.person,
                 "locked_until": r.locked_until.isoformat(timespec="seconds") if r.locked_until else None,
                 "disabled": r.disabled_at is not None,
                 "last_signin_at": r.last_signin_at.isoformat(timespec="seconds") if r.last_signin_at else None}
                for r in users.list_users(session)]

    rows: list[dict[str, Any]] = _run(data_dir, action)
    if as_json:
        for item in rows:
            typer.echo(json.dumps(item, ensure_ascii=False))
        return
    table = Table()
    for column in ("name", "role", "scope", "last sign-in", "state"):
        table.add_column(column)
    for item in rows:
        scope = item["station"] or ", ".join(item["postboxes"]) or "-"
        if item["person"]:
            scope += f" (person {item['person']})"
        state = "disabled" if item["disabled"] else f"locked until {item['locked_until']}" if item["locked_until"] \
            else "active"
        table.add_row(item["name"], item["role"], scope, item["last_signin_at"] or "", state)
    Console().print(table)
