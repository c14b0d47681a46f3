"""``mailroom webhooks``: the webhook subscriptions, their delivery log, and replay of dead (or delivered) events.

Subscriptions are created and changed through the admin API (``/api/v1/webhooks``), which returns the secret
once; this command is for the operator on the machine: what is subscribed, what failed and why, send it again.
A replayed delivery is sent by the running service with its next delivery run (within
``MAILROOM_WEBHOOK_POLL_SECONDS``). Replays are recorded in the audit trail with the actor ``cli:<login name>``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from cli.common import DataDirOption, cli_actor, cli_settings, database, err
from mailroom.errors import SubscriptionNotFound
from mailroom.storage.models import OutboxEventRow
from mailroom.storage.subscriptions import (
    DeliveryState,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)

NAME = "webhooks"
app = typer.Typer(help="Webhook subscriptions: list them, show the delivery log, replay failed events.",
                  no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="One JSON object per line")]


def _time(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _emit(rows: list[dict[str, Any]], columns: list[str], as_json: bool) -> None:
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if row[c] is None else str(row[c]) for c in columns))
    Console().print(table)


@app.command("list")
def list_subscriptions(as_json: AsJson = False, data_dir: DataDirOption = None) -> None:
    """List the subscriptions (never their secrets) with their deliveries per state."""
    from webhooks import subscriptions
    from webhooks.delivery import state_counts

    with database(cli_settings(data_dir), readonly=True) as session:
        found = subscriptions.list_all(session)
        counts = state_counts(session, [s.id for s in found])
        rows = [{"id": s.id, "name": s.name, "url": s.url, "active": s.active,
                 "event_types": ",".join(s.event_types) or "all", "postboxes": ",".join(s.postboxes) or "all",
                 "person": s.person,
                 **{state.value: counts.get(s.id, {}).get(state.value, 0) for state in DeliveryState}}
                for s in found]
    _emit(rows, ["id", "name", "url", "active", "event_types", "postboxes", "person", "pending", "delivered", "dead"],
          as_json)


@app.command()
def deliveries(
    subscription: Annotated[str, typer.Argument(help="Subscription id (see 'mailroom webhooks list')")],
    state: Annotated[DeliveryState | None, typer.Option(help="Only deliveries in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first")] = 50,
    as_json: AsJson = False,
    data_dir: DataDirOption = None,
) -> None:
    """The delivery log of a subscription: each event with its attempts (status, latency, error)."""
    with database(cli_settings(data_dir), readonly=True) as session:
        if session.get(WebhookSubscriptionRow, subscription) is None:
            raise SubscriptionNotFound(f"no webhook subscription {subscription!r}", field="subscription")
        query = (select(WebhookDeliveryRow, OutboxEventRow.type)
                 .join(OutboxEventRow, OutboxEventRow.id == WebhookDeliveryRow.event_id)
                 .where(WebhookDeliveryRow.subscription_id == subscription)
                 .order_by(WebhookDeliveryRow.id.desc()).limit(limit))
        if state is not None:
            query = query.where(WebhookDeliveryRow.state == state.value)
        rows = []
        for delivery, event_type in session.execute(query).all():
            attempts = session.scalars(select(WebhookAttemptRow)
                                       .where(WebhookAttemptRow.delivery_id == delivery.id)
                                       .order_by(WebhookAttemptRow.id)).all()
            rows.append({
                "id": delivery.id, "event_id": delivery.event_id, "type": event_type,
                "document_id": delivery.document_id, "state": delivery.state, "attempts": delivery.attempts,
                "next_attempt_at": _time(delivery.next_attempt_at), "last_error": delivery.last_error,
                "log": [{"at": _time(a.at), "status": a.status, "latency_ms": a.latency_ms, "error": a.error}
                        for a in attempts] if as_json else
                " ".join(f"{a.status or 'no answer'}/{a.latency_ms:.0f}ms" for a in attempts),
            })
    _emit(rows, ["id", "type", "document_id", "state", "attempts", "next_attempt_at", "last_error", "log"], as_json)


@app.command()
def replay(
    delivery: Annotated[int | None, typer.Argument(help="Delivery id (see 'mailroom webhooks deliveries')")] = None,
    subscription: Annotated[
        str | None, typer.Option(help="Replay every delivery of this subscription in --state instead")
    ] = None,
    state: Annotated[DeliveryState, typer.Option(help="With --subscription: dead or delivered")] = DeliveryState.DEAD,
    data_dir: DataDirOption = None,
) -> None:
    """Make dead (or delivered) deliveries pending again: the same event id and body are sent again."""
    from webhooks.delivery import replay as replay_one
    from webhooks.delivery import replay_subscription

    if (delivery is None) == (subscription is None):
        raise typer.BadParameter("give a delivery id or --subscription, not both", param_hint="DELIVERY")
    with database(cli_settings(data_dir)) as session:
        if delivery is not None:
            ids = [replay_one(session, delivery, actor=cli_actor()).id]
        else:
            assert subscription is not None
            ids = replay_subscription(session, subscription, state=state, actor=cli_actor())
    err.print(f"{len(ids)} deliveries pending again; the service sends them with its next delivery run",
              highlight=False)
    for delivery_id in ids:
        typer.echo(delivery_id)
