"""``mailroom keys``: create, list and revoke API keys of the REST API.

The token ``mr_<id>_<secret>`` is printed once, on stdout, by ``keys create``; only its hash is stored. Creating
and revoking are recorded in the audit trail with the actor ``cli:<login name>``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.common import DataDirOption, cli_actor, cli_settings, database, err
from mailroom.directory import check_scope
from mailroom.errors import KeyNotFound
from mailroom.storage import keys

NAME = "keys"
app = typer.Typer(help="API keys of the REST API: create (shown once), list, revoke.", no_args_is_help=True)



def describe_scope(role: str, station: str | None, postboxes: list[str]) -> str:
    """What a key sees, as docs/security.md says (the one scope rule is api.auth.scope_clause)."""
    if role == "station":
        return f"uploads of station {station}"
    if role in ("clerk", "dms"):
        return "postboxes " + ", ".join(postboxes)
    if role == "reviewer":
        return "the review queue and the documents it decided itself"
    if role == "admin":
        return "all documents"
    return "-"


@app.command()
def create(
    role: Annotated[keys.Role, typer.Option(help="station, clerk, dms, reviewer or admin")],
    name: Annotated[str, typer.Option(help="Who holds the key, e.g. poststelle-1")],
    postbox: Annotated[
        list[str] | None, typer.Option("--postbox", help="Postbox the key may see (clerk, dms; repeatable)")
    ] = None,
    station: Annotated[
        str | None, typer.Option(help="Station name of a station key (default: the key's name)")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option("--person", help="Directory person id of a clerk/dms key: it also sees the confidential "
                     "letters for this person in its postboxes"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a key and print its token once (stdout); store only its hash. Its postboxes and person must exist
    in the organisation directory."""
    settings = cli_settings(data_dir)
    check_scope(settings, postbox or (), person)
    with database(settings) as session:
        created = keys.create_key(session, name=name, role=role, postboxes=postbox, station=station,
                                  person=person, actor=cli_actor())
        row = created.row
        scope = describe_scope(row.role, row.station, row.postboxes)
        if row.person:
            scope += f"; confidential letters for {row.person}"
    err.print(f"created {row.role} key {row.name!r} (id {row.id}, scope: {scope}). "
              "The token is shown only this once:", highlight=False)
    typer.echo(created.token)


@app.command("list")
def list_keys(
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked keys")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """List keys (never their secrets)."""
    with database(cli_settings(data_dir), readonly=True) as session:
        rows: list[dict[str, Any]] = [
            {"name": r.name, "id": r.id, "role": r.role, "station": r.station, "postboxes": r.postboxes,
             "person": r.person,
             "created_at": r.created_at.isoformat(timespec="seconds"),
             "revoked_at": r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else None}
            for r in keys.list_keys(session, include_revoked=revoked)
        ]
    if as_json:
        for item in rows:
            typer.echo(json.dumps(item, ensure_ascii=False))
        return
    table = Table()
    for column in ("name", "id", "role", "scope", "created", "revoked"):
        table.add_column(column)
    for item in rows:
        scope = describe_scope(item["role"], item["station"], item["postboxes"])
        if item["person"]:
            scope += f" (person {item['person']})"
        table.add_row(item["name"], item["id"], item["role"], scope, item["created_at"], item["revoked_at"] or "")
    Console().print(table)


@app.command()
def revoke(
    name: Annotated[str, typer.Argument(help="Name of the key to revoke")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke the active key of this name: it answers 401 from now on."""
    with database(cli_settings(data_dir)) as session:
        row = keys.revoke_key(session, name, actor=cli_actor())
        key_id = row.id if row is not None else None
    if key_id is None:
        raise KeyNotFound(f"no active key named {name!r}", field="name")
    err.print(f"revoked key {name!r} (id {key_id})", highlight=False)
