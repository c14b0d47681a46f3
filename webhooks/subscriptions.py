"""Webhook subscriptions: create, list, change, delete, rotate the secret; validation and audit entries.

Used by the admin API (``api/routes/webhooks.py``) and the CLI (``mailroom webhooks``). A subscription's URL is
checked against the SSRF guard (:func:`webhooks.sender.check_target`) when it is created or changed, and again
before every attempt. The secret is generated here, returned once by :func:`create` / :func:`rotate_secret`, and
never shown again (nor logged, nor written to the audit trail).
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailroom import audit
from mailroom.errors import (
    SubscriptionNotFound,
    UnknownEventType,
    UnknownPostbox,
    UnknownSubscriptionPerson,
    WebhookTargetRefused,
)
from mailroom.storage.models import utcnow
from mailroom.storage.outbox import EVENT_TYPES
from mailroom.storage.subscriptions import WebhookSubscriptionRow
from webhooks.sender import check_target

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True)
class TargetRules:
    """Which webhook targets the SSRF guard admits (``MAILROOM_WEBHOOK_ALLOW_HOSTS`` / ``_ALLOW_PRIVATE``)."""

    allow_hosts: tuple[str, ...] = ()
    allow_private: bool = False


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def redacted_url(url: str) -> str:
    """The URL without user info, query and fragment (they may carry tokens): for the audit trail."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_url(url: str, rules: TargetRules) -> str:
    """The URL if the SSRF guard admits it; :class:`WebhookTargetRefused` (422) otherwise."""
    url = url.strip()
    try:
        check_target(url, allow_hosts=rules.allow_hosts, allow_private=rules.allow_private)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookTargetRefused(f"the host of {redacted_url(url)!r} cannot be resolved: {exc}",
                                   field="url") from None
    return url


def check_event_types(event_types: Sequence[str]) -> list[str]:
    """The event types without duplicates, in the contract's order; :class:`UnknownEventType` for others."""
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise UnknownEventType(f"unknown event type(s) {unknown}; choose from {list(EVENT_TYPES)}",
                               field="event_types")
    return [t for t in EVENT_TYPES if t in set(event_types)]


def check_postboxes(postboxes: Sequence[str], known: Collection[str] | None) -> list[str]:
    """The postbox filter without duplicates (sorted); each must be in ``known`` (the directory), if given."""
    wanted = sorted(set(postboxes))
    if known is not None:
        unknown = [p for p in wanted if p not in known]
        if unknown:
            raise UnknownPostbox(f"no postbox {unknown} in the organisation directory",
                                             field="postboxes")
    return wanted


def check_person(person: str | None, postboxes: Sequence[str], known: Collection[str] | None) -> str | None:
    """The person a subscription is bound to (None: nobody): it must be in ``known`` (the directory), if given,
    and the subscription must have a postbox filter (content of a confidential letter goes only to a holder of
    its postbox, :mod:`mailroom.confidentiality`)."""
    person = (person or "").strip() or None
    if person is None:
        return None
    if known is not None and person not in known:
        raise UnknownSubscriptionPerson(f"no person {person!r} in the organisation directory", field="person")
    if not postboxes:
        raise UnknownSubscriptionPerson("a subscription bound to a person needs a postbox filter: confidential "
                                        "letters go only to the holders of their postbox", field="person")
    return person


def _summary(row: WebhookSubscriptionRow) -> dict[str, Any]:
    return {"name": row.name, "url": redacted_url(row.url), "event_types": row.event_types,
            "postboxes": row.postboxes, "person": row.person, "active": row.active}


def get(session: Session, subscription_id: str) -> WebhookSubscriptionRow:
    row = session.get(WebhookSubscriptionRow, subscription_id)
    if row is None:
        raise SubscriptionNotFound(f"no webhook subscription {subscription_id}")
    return row


def list_all(session: Session) -> list[WebhookSubscriptionRow]:
    return list(session.scalars(select(WebhookSubscriptionRow).order_by(WebhookSubscriptionRow.created_at)).all())


def create(
    session: Session,
    *,
    name: str,
    url: str,
    event_types: Sequence[str] = (),
    postboxes: Sequence[str] = (),
    person: str | None = None,
    actor: str,
    rules: TargetRules,
    known_postboxes: Collection[str] | None = None,
    known_persons: Collection[str] | None = None,
) -> tuple[WebhookSubscriptionRow, str]:
    """A new active subscription and its secret (shown to the caller once)."""
    boxes = check_postboxes(postboxes, known_postboxes)
    row = WebhookSubscriptionRow(
        name=name.strip(), url=check_url(url, rules), secret=new_secret(),
        event_types_json=json.dumps(check_event_types(event_types)),
        postboxes_json=json.dumps(boxes), person=check_person(person, boxes, known_persons),
        active=True, created_by=actor, created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="webhook.subscription_created", object_type="webhook_subscription",
                 object_id=row.id, details=_summary(row))
    return row, row.secret


def update(
    session: Session,
    subscription_id: str,
    *,
    actor: str,
    rules: TargetRules,
    known_postboxes: Collection[str] | None = None,
    known_persons: Collection[str] | None = None,
    name: str | None = None,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    postboxes: Sequence[str] | None = None,
    person: str | None = None,
    active: bool | None = None,
) -> WebhookSubscriptionRow:
    """Change what is given (``person=""`` unbinds the subscription from its person); a deactivated subscription
    gets no new deliveries and its pending ones wait. Deliveries fanned out before keep what they were given."""
    row = get(session, subscription_id)
    before = _summary(row)
    if name is not None:
        row.name = name.strip()
    if url is not None:
        row.url = check_url(url, rules)
    if event_types is not None:
        row.event_types_json = json.dumps(check_event_types(event_types))
    if postboxes is not None:
        row.postboxes_json = json.dumps(check_postboxes(postboxes, known_postboxes))
    if person is not None:
        row.person = check_person(person, row.postboxes, known_persons)
    elif row.person is not None and not row.postboxes:
        raise UnknownSubscriptionPerson("a subscription bound to a person needs a postbox filter", field="postboxes")
    if active is not None and active != row.active:
        row.active = active
        row.disabled_at = None if active else utcnow()
    after = _summary(row)
    changes = {k: {"from": before[k], "to": after[k]} for k in after if after[k] != before[k]}
    if changes:
        audit.record(session, actor=actor, action="webhook.subscription_changed",
                     object_type="webhook_subscription", object_id=row.id, details={"changes": changes})
    session.flush()
    return row


def delete(session: Session, subscription_id: str, *, actor: str) -> None:
    """Delete the subscription with its deliveries and their attempts (the audit trail keeps what happened)."""
    row = get(session, subscription_id)
    audit.record(session, actor=actor, action="webhook.subscription_deleted", object_type="webhook_subscription",
                 object_id=row.id, details=_summary(row))
    session.delete(row)
    session.flush()


def rotate_secret(session: Session, subscription_id: str, *, actor: str) -> tuple[WebhookSubscriptionRow, str]:
    """A new secret (shown once); every attempt from now on is signed with it, also retries of older events."""
    row = get(session, subscription_id)
    row.secret = new_secret()
    audit.record(session, actor=actor, action="webhook.secret_rotated", object_type="webhook_subscription",
                 object_id=row.id, details={"name": row.name})
    session.flush()
    return row, row.secret
