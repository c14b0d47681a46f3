"""``/api/v1/webhooks``: webhook subscriptions, their delivery log and replay (admin keys only).

Subscriptions and deliveries live in ``webhooks.subscriptions`` / ``webhooks.delivery``; these routes validate,
call them in one transaction each and shape the answer. The secret is returned once, by ``POST`` (and by
``rotate-secret``), never again. A replay kicks the delivery at once (when the dispatcher can).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import Principal
from api.deps import ReadSession, ServicesDep, require
from api.errors import error_responses
from api.schemas import API_PREFIX
from mailroom.directory import current_directory
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role
from mailroom.storage.models import OutboxEventRow
from mailroom.storage.outbox import EVENT_TYPES
from mailroom.storage.subscriptions import (
    DeliveryState,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookSubscriptionRow,
)
from webhooks import subscriptions
from webhooks.delivery import replay, replay_subscription, state_counts
from webhooks.subscriptions import TargetRules

router = APIRouter(prefix=f"{API_PREFIX}/webhooks", tags=["webhooks"])

AdminPrincipal = Annotated[Principal, Depends(require(Role.ADMIN))]
SubscriptionId = Annotated[str, Path(description="The subscription id", max_length=64)]

EVENT_TYPES_HELP = f"Event types to send (empty: all): {', '.join(EVENT_TYPES)}"
POSTBOXES_HELP = "Postboxes of the organisation directory whose documents are announced (empty: all)"
PERSON_HELP = ("Directory person id the receiver works for: only then are confidential letters for this person in "
               "the subscription's postboxes sent with their content; everyone else gets a stub without content "
               "(`withheld: confidential`). Needs a postbox filter.")


class WebhookCreate(BaseModel):
    name: str = Field(min_length=1, max_length=128, description="What you call it, e.g. 'dms-prod'")
    url: str = Field(min_length=1, max_length=2048, description="https URL (http only to an allowed host)")
    event_types: list[str] = Field(default_factory=list, description=EVENT_TYPES_HELP)
    postboxes: list[str] = Field(default_factory=list, description=POSTBOXES_HELP)
    person: str | None = Field(default=None, max_length=128, description=PERSON_HELP)


class WebhookPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    event_types: list[str] | None = Field(default=None, description=EVENT_TYPES_HELP)
    postboxes: list[str] | None = Field(default=None, description=POSTBOXES_HELP)
    person: str | None = Field(default=None, max_length=128, description=PERSON_HELP + ' "" unbinds it.')
    active: bool | None = Field(default=None, description="false: no new deliveries; pending ones wait")


class WebhookView(BaseModel):
    id: str
    name: str
    url: str
    event_types: list[str]
    postboxes: list[str]
    person: str | None = Field(description="the person whose confidential letters it receives with content")
    active: bool
    created_by: str
    created_at: datetime
    disabled_at: datetime | None
    deliveries: dict[str, int] = Field(description="deliveries per state: pending, delivered, dead")

    @classmethod
    def of(cls, row: WebhookSubscriptionRow, counts: dict[str, int] | None = None) -> WebhookView:
        return cls(
            id=row.id, name=row.name, url=row.url, event_types=row.event_types, postboxes=row.postboxes,
            person=row.person, active=row.active, created_by=row.created_by, created_at=row.created_at,
            disabled_at=row.disabled_at,
            deliveries={state.value: (counts or {}).get(state.value, 0) for state in DeliveryState},
        )


class WebhookCreated(WebhookView):
    secret: str = Field(description="The signing secret: shown this once, store it in the receiver")


class WebhookList(BaseModel):
    webhooks: list[WebhookView]


class AttemptView(BaseModel):
    at: datetime
    status: int | None = Field(description="HTTP status; null when no answer came (network error, timeout)")
    latency_ms: float
    outcome: str = Field(description="deliver, retry or give_up")
    error: str | None


class DeliveryView(BaseModel):
    id: int
    event_id: str
    event_type: str
    document_id: str | None
    state: str
    withheld: bool = Field(description="a confidential letter this subscription may not open: a stub was sent")
    attempts: int
    created_at: datetime
    first_attempt_at: datetime | None
    next_attempt_at: datetime | None
    finished_at: datetime | None
    last_status: int | None
    last_error: str | None
    attempt_log: list[AttemptView]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryView]


class Replayed(BaseModel):
    replayed: list[int] = Field(description="ids of the deliveries that are pending again")


def _rules(services: ServicesDep) -> TargetRules:
    settings = services.settings
    return TargetRules(allow_hosts=settings.webhook_allowed_hosts, allow_private=settings.webhook_allow_private)


def _known_postboxes(services: ServicesDep) -> set[str]:
    return set(current_directory(services.settings).postboxes)


def _known_persons(services: ServicesDep) -> set[str]:
    return set(current_directory(services.settings).persons)


def _actor(principal: Principal) -> str:
    return f"{principal.role.value}:{principal.name}"


def _kick(services: ServicesDep) -> None:
    kick = getattr(services.dispatcher, "kick_delivery", None)
    if callable(kick):
        kick()


@router.post(
    "", status_code=201, summary="Subscribe a URL to events (admin); the secret is returned once",
    description="422 `webhook_target_refused` for a URL the SSRF guard refuses (not https, a private, loopback, "
    "link-local or metadata address, credentials in the URL), `unknown_event_type`, `unknown_postbox`, "
    "`unknown_person` (a person not in the directory, or a person without a postbox filter).",
    responses=error_responses(401, 403, 422),
)
def create_webhook(body: WebhookCreate, principal: AdminPrincipal, services: ServicesDep) -> WebhookCreated:
    with session_scope(services.pipeline.sessions) as session:
        row, secret = subscriptions.create(
            session, name=body.name, url=body.url, event_types=body.event_types, postboxes=body.postboxes,
            person=body.person, actor=_actor(principal), rules=_rules(services),
            known_postboxes=_known_postboxes(services), known_persons=_known_persons(services),
        )
        return WebhookCreated(**WebhookView.of(row).model_dump(), secret=secret)


@router.get("", summary="List the webhook subscriptions (admin)", responses=error_responses(401, 403))
def list_webhooks(principal: AdminPrincipal, session: ReadSession) -> WebhookList:
    rows = subscriptions.list_all(session)
    counts = state_counts(session, [r.id for r in rows])
    return WebhookList(webhooks=[WebhookView.of(r, counts.get(r.id)) for r in rows])


@router.get("/{subscription_id}", summary="One webhook subscription (admin)", responses=error_responses(401, 403, 404))
def get_webhook(subscription_id: SubscriptionId, principal: AdminPrincipal, session: ReadSession) -> WebhookView:
    row = subscriptions.get(session, subscription_id)
    return WebhookView.of(row, state_counts(session, [row.id]).get(row.id))


@router.patch(
    "/{subscription_id}", summary="Change a webhook subscription (admin)",
    description="Only the fields given change. `active: false` stops new deliveries; pending ones wait until it "
    "is active again.", responses=error_responses(401, 403, 404, 422),
)
def patch_webhook(
    subscription_id: SubscriptionId, body: WebhookPatch, principal: AdminPrincipal, services: ServicesDep
) -> WebhookView:
    with session_scope(services.pipeline.sessions) as session:
        row = subscriptions.update(
            session, subscription_id, actor=_actor(principal), rules=_rules(services),
            known_postboxes=_known_postboxes(services) if body.postboxes is not None else None,
            known_persons=_known_persons(services) if body.person else None,
            name=body.name, url=body.url, event_types=body.event_types, postboxes=body.postboxes,
            person=body.person, active=body.active,
        )
        view = WebhookView.of(row, state_counts(session, [row.id]).get(row.id))
    if body.active:
        _kick(services)
    return view


@router.delete(
    "/{subscription_id}", status_code=204, summary="Delete a webhook subscription and its delivery log (admin)",
    responses=error_responses(401, 403, 404),
)
def delete_webhook(subscription_id: SubscriptionId, principal: AdminPrincipal, services: ServicesDep) -> Response:
    with session_scope(services.pipeline.sessions) as session:
        subscriptions.delete(session, subscription_id, actor=_actor(principal))
    return Response(status_code=204)


@router.post(
    "/{subscription_id}/rotate-secret", summary="Give a subscription a new secret (admin); returned once",
    description="Every request from now on, retries of older events included, is signed with the new secret.",
    responses=error_responses(401, 403, 404),
)
def rotate_secret(subscription_id: SubscriptionId, principal: AdminPrincipal, services: ServicesDep) -> WebhookCreated:
    with session_scope(services.pipeline.sessions) as session:
        row, secret = subscriptions.rotate_secret(session, subscription_id, actor=_actor(principal))
        return WebhookCreated(**WebhookView.of(row, state_counts(session, [row.id]).get(row.id)).model_dump(),
                              secret=secret)


@router.get(
    "/{subscription_id}/deliveries", summary="The delivery log of a subscription, newest first (admin)",
    description="Each delivery (one event to this subscription) with every attempt: HTTP status, latency, error.",
    responses=error_responses(401, 403, 404, 422),
)
def list_deliveries(
    subscription_id: SubscriptionId,
    principal: AdminPrincipal,
    session: ReadSession,
    state: Annotated[DeliveryState | None, Query(description="only deliveries in this state")] = None,
    document_id: Annotated[str | None, Query(max_length=64, description="only this document's")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryList:
    subscriptions.get(session, subscription_id)
    query = (
        select(WebhookDeliveryRow, OutboxEventRow.type)
        .join(OutboxEventRow, OutboxEventRow.id == WebhookDeliveryRow.event_id)
        .where(WebhookDeliveryRow.subscription_id == subscription_id)
        .order_by(WebhookDeliveryRow.id.desc()).limit(limit)
    )
    if state is not None:
        query = query.where(WebhookDeliveryRow.state == state.value)
    if document_id is not None:
        query = query.where(WebhookDeliveryRow.document_id == document_id)
    rows = session.execute(query).all()
    attempts: dict[int, list[AttemptView]] = {}
    if rows:
        for attempt in session.scalars(
            select(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id.in_([d.id for d, _ in rows]))
            .order_by(WebhookAttemptRow.id)
        ):
            attempts.setdefault(attempt.delivery_id, []).append(AttemptView(
                at=attempt.at, status=attempt.status, latency_ms=attempt.latency_ms, outcome=attempt.outcome,
                error=attempt.error,
            ))
    return DeliveryList(deliveries=[_delivery_view(d, event_type, attempts.get(d.id, [])) for d, event_type in rows])


def _delivery_view(row: WebhookDeliveryRow, event_type: str, attempts: list[AttemptView]) -> DeliveryView:
    values: dict[str, Any] = {name: getattr(row, name) for name in (
        "id", "event_id", "document_id", "state", "withheld", "attempts", "created_at", "first_attempt_at",
        "next_attempt_at", "finished_at", "last_status", "last_error")}
    return DeliveryView(**values, event_type=event_type, attempt_log=attempts)


@router.post(
    "/deliveries/{delivery_id}/replay", summary="Send a dead or delivered event again (admin)",
    description="The delivery becomes pending with its attempts reset; the same event id and body are sent. "
    "409 `delivery_pending` when it is being retried already.",
    responses=error_responses(401, 403, 404, 409),
)
def replay_delivery(
    delivery_id: Annotated[int, Path(ge=1, le=2**62)], principal: AdminPrincipal, services: ServicesDep
) -> Replayed:
    with session_scope(services.pipeline.sessions) as session:
        row = replay(session, delivery_id, actor=_actor(principal))
        replayed = [row.id]
    _kick(services)
    return Replayed(replayed=replayed)


@router.post(
    "/{subscription_id}/replay", summary="Send every dead (or delivered) event of a subscription again (admin)",
    responses=error_responses(401, 403, 404, 409, 422),
)
def replay_webhook(
    subscription_id: SubscriptionId,
    principal: AdminPrincipal,
    services: ServicesDep,
    state: Annotated[DeliveryState, Query(description="which deliveries to replay: dead or delivered")] = (
        DeliveryState.DEAD),
) -> Replayed:
    with session_scope(services.pipeline.sessions) as session:
        subscriptions.get(session, subscription_id)
        replayed = replay_subscription(session, subscription_id, state=state, actor=_actor(principal))
    if replayed:
        _kick(services)
    return Replayed(replayed=replayed)
