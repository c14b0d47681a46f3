"""Who is calling (:class:`Principal`) and what they may see.

The principal is built from the API key (``mailroom.storage.keys``): its name, role and scope. Scoping is
decided here, in one place, so that issue 7 (postbox access control, confidential documents, audit of every
access) extends these functions instead of every route:

* ``admin`` and ``reviewer`` see every document;
* ``station`` sees the documents uploaded by its station (and the letters separated from them);
* ``clerk`` and ``dms`` see the documents routed to one of their postbox (``result.routing.postbox``);
* anything else answers as if the document did not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mailroom.storage.keys import ApiKeyRow, Role
from mailroom.storage.models import DocumentRow


@dataclass(frozen=True)
class Principal:
    """The caller: the key's id and name (for logs and the audit trail; never the secret), role and scope."""

    key_id: str
    name: str
    role: Role
    station: str | None = None
    postboxes: frozenset[str] = frozenset()

    @classmethod
    def from_key(cls, row: ApiKeyRow) -> Principal:
        return cls(
            key_id=row.id, name=row.name, role=Role(row.role), station=row.station,
            postboxes=frozenset(row.postboxes),
        )

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


def routed_postbox(row: DocumentRow) -> str | None:
    """The postbox a document was routed to, from its stored result (``None`` before routing)."""
    if not row.result_json:
        return None
    routing = json.loads(row.result_json).get("routing") or {}
    postbox = routing.get("postbox")
    return postbox if isinstance(postbox, str) else None


def can_see(principal: Principal, row: DocumentRow) -> bool:
    """Whether ``principal`` may see the document ``row`` (see the module docstring)."""
    if principal.role in (Role.ADMIN, Role.REVIEWER):
        return True
    if principal.role is Role.STATION:
        return principal.station is not None and row.station == principal.station
    if principal.role in (Role.CLERK, Role.DMS):
        return routed_postbox(row) in principal.postboxes
    return False
