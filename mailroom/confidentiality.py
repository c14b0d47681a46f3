"""Confidential letters: the one rule of who may see their content, on every channel.

A letter whose address says "persönlich" / "vertraulich" (or that a rule marks ``confidential: true``) carries
``routing.confidential: true`` and, when the addressee is a person of the directory, ``routing.person``. Its
content (result, original, searchable PDF, page images, the body of a webhook event) is for

* admins, and
* holders of the postbox it lies in (a clerk/dms key of that postbox, a webhook subscription filtered on it) that
  are bound to the named person; when no person is named, every holder of its postbox.

Everyone else learns at most *that* a confidential letter arrived for person X in postbox Y (a webhook stub,
:func:`withheld_document`), never what it says. The API (``api.auth``) and the webhook fan-out
(``webhooks.delivery``) both ask :func:`may_open`; a future channel must too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: What a withheld webhook event says in its top-level ``withheld`` field.
WITHHELD_CONFIDENTIAL = "confidential"


@dataclass(frozen=True)
class Marking:
    """What a result's ``routing`` says about confidentiality."""

    confidential: bool = False
    person: str | None = None  # the named addressee (directory person id), None: nobody named
    postbox: str | None = None  # where it lies (primary)
    postboxes: frozenset[str] = frozenset()  # primary and copies

    @classmethod
    def of(cls, routing: Any) -> Marking:
        if not isinstance(routing, Mapping):
            return cls()
        person = routing.get("person")
        postbox = routing.get("postbox") if isinstance(routing.get("postbox"), str) else None
        boxes = {c for c in routing.get("copies") or [] if isinstance(c, str)}
        if postbox:
            boxes.add(postbox)
        return cls(confidential=routing.get("confidential") is True,
                   person=person if isinstance(person, str) and person else None,
                   postbox=postbox, postboxes=frozenset(boxes))

    @classmethod
    def of_result(cls, result: Any) -> Marking:
        return cls.of(result.get("routing") if isinstance(result, Mapping) else None)


def may_open(marking: Marking, *, admin: bool, holder: bool, person: str | None) -> bool:
    """Whether a caller may see the content of a document with ``marking``.

    ``admin``: the caller sees everything; ``holder``: the caller holds a postbox the document lies in (a clerk or
    dms key of it, a webhook subscription filtered on it); ``person``: the directory person the caller is bound to.
    """
    if not marking.confidential or admin:
        return True
    if not holder:
        return False
    return marking.person is None or person == marking.person


def withheld_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """What a caller who may not open a confidential letter is told about it: its id and that it arrived for
    person X in postbox Y (routing status and copies), nothing of its content (no file name, no recipient text,
    no type, no fields, no trace)."""
    routing = document.get("routing") if isinstance(document.get("routing"), Mapping) else {}
    assert isinstance(routing, Mapping)
    kept = {k: routing[k] for k in ("postbox", "copies", "status", "person") if routing.get(k) not in (None, [])}
    out: dict[str, Any] = {"document_id": document.get("document_id"),
                           "routing": {**kept, "confidential": True}}
    if isinstance(document.get("schema"), str):
        out["schema"] = document["schema"]
    return out
