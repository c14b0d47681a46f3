"""The ``mailroom.result/v1`` contract is typed completely: every field the service writes is declared in
``mailroom.result`` and in the published JSON schema, and a stored result loads and saves unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import BaseModel

from mailroom.result import Letter, ParentStack, Recipient, Result, Routing

SCHEMA = json.loads((Path(__file__).parent / "contract" / "result_v1.schema.json").read_text(encoding="utf-8"))

STORED: dict[str, Any] = {  # a result as the service stores it after a copy and a re-route of a personal letter
    "schema": "mailroom.result/v1", "document_id": "0190", "sha256": "a" * 64, "filename": "brief.pdf", "pages": 2,
    "source": {"channel": "upload", "station": "poststelle-1", "received_at": "2026-12-07T10:00:00Z"},
    "text_source": "ocr",
    "quality": {"ocr_confidence": 91.5, "skew_degrees": 0.4, "blank_pages": [], "warnings": []},
    "document_type": {"label": "objection", "confidence": 0.93, "decided_by": "model:doctype@3"},
    "recipient": {"text": "Stadt Musterstadt\nBauaufsichtsamt\nHerrn Huber – persönlich", "department": "bauaufsicht",
                  "person": "huber", "confidence": 0.9, "confidential": True, "decided_by": "recipient:address",
                  "because": ["address names Bauaufsichtsamt"]},
    "routing": {
        "postbox": "rechtsamt", "status": "routed", "confidence": 1.0, "decided_by": "clerk:mueller", "trace": [],
        "alternatives": [], "confidential": True, "person": "huber", "copies": ["buergermeister"],
        "reason": "Widerspruch: zuständig ist das Rechtsamt",
        "history": [{"postbox": "bauaufsicht", "status": "routed", "confidence": 0.91, "decided_by": "model:postbox@2",
                     "trace": [], "alternatives": [{"postbox": "rechtsamt", "confidence": 0.05}],
                     "because": ["address names Bauaufsichtsamt"], "confidential": True, "person": "huber"}],
    },
    "parent": {"document_id": "0189", "pages": [3, 4], "page_numbers": [3, 4]},
}


def _declared(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def test_every_declared_field_is_in_the_published_schema() -> None:
    properties = SCHEMA["properties"]
    assert _declared(Result) <= set(properties)
    assert _declared(Routing) <= set(properties["routing"]["properties"])
    assert _declared(Recipient) <= set(properties["recipient"]["properties"])
    assert _declared(ParentStack) <= set(properties["parent"]["properties"])
    assert _declared(Letter) <= set(properties["letters"]["items"]["properties"])


def test_the_fields_once_undeclared_are_typed() -> None:
    result = Result.model_validate(STORED)
    assert result.routing is not None and result.recipient is not None and result.parent is not None
    assert result.routing.copies == ["buergermeister"] and result.routing.confidential is True
    assert result.routing.reason and result.routing.history and result.routing.history[0].postbox == "bauaufsicht"
    assert result.recipient.confidential is True and result.parent.pages == [3, 4]
    assert result.model_extra == {} and result.routing.model_extra == {}


def test_a_stored_result_loads_and_saves_unchanged() -> None:
    jsonschema.validate(STORED, SCHEMA)
    assert json.loads(Result.from_json(json.dumps(STORED)).to_json()) == STORED


def test_fields_of_a_later_version_survive_loading() -> None:
    """Additive: a reader of this version keeps what a newer writer added."""
    newer = {**STORED, "summary": "Widerspruch gegen den Bescheid", "routing": {**STORED["routing"], "sla_days": 5}}
    assert json.loads(Result.from_json(json.dumps(newer)).to_json()) == newer


def test_superseded_routing_keeps_history_and_the_personal_marking() -> None:
    first = Routing.model_validate(STORED["routing"])
    moved = first.superseded(Routing(postbox="ordnungsamt", status="routed", decided_by="reviewer:k", confidence=1.0))
    assert [h.postbox for h in moved.history or []] == ["bauaufsicht", "rechtsamt"]
    assert moved.confidential is True and moved.person == "huber" and moved.postbox == "ordnungsamt"
    assert (moved.history or [])[-1].history is None
