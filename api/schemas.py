"""Response bodies of the REST API v1 (pydantic; they make the OpenAPI schema at ``/docs``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from mailroom.storage.models import DocumentEventRow, DocumentRow

API_PREFIX = "/api/v1"


def document_url(document_id: str, suffix: str = "") -> str:
    """The root-relative URL of a document (or of one of its representations)."""
    return f"{API_PREFIX}/documents/{document_id}{suffix}"


class UploadAccepted(BaseModel):
    document_id: str
    state: str = Field(
        description="Pipeline state: received, separated, ocr, recognised, routed, review, rescan, split, failed, "
        "dismissed"
    )
    status_url: str = Field(description="Poll this URL for the state and the result")
    duplicate: bool = Field(description="True when this station sent the same file before (same document)")


class ErrorInfo(BaseModel):
    code: str
    message: str | None = None


class SourceInfo(BaseModel):
    channel: str
    station: str | None = None


class DocumentEvent(BaseModel):
    from_state: str | None
    to_state: str
    at: datetime
    reason: str | None = None
    task_id: str | None = None

    @classmethod
    def from_row(cls, row: DocumentEventRow) -> DocumentEvent:
        return cls(from_state=row.from_state, to_state=row.to_state, at=row.at, reason=row.reason, task_id=row.task_id)


class DocumentEvents(BaseModel):
    document_id: str
    events: list[DocumentEvent]


class DocumentStatus(BaseModel):
    document_id: str
    state: str = Field(
        description="received, separated, ocr, recognised, routed, review, rescan (back at the station: scan "
        "again, see `rescan`), split (its letters go on: `letters`), failed or dismissed (a rescan request the "
        "station closed)"
    )
    filename: str
    kind: str = Field(description="pdf, tiff, png, jpeg or xml (sniffed from the bytes)")
    mime_type: str | None = None
    size: int = Field(description="bytes of the original")
    sha256: str
    pages: int | None = None
    source: SourceInfo
    received_at: datetime
    state_changed_at: datetime
    updated_at: datetime
    attempts: int
    parent_id: str | None = Field(None, description="the scanned stack this letter was separated from")
    page_from: int | None = None
    page_to: int | None = None
    letters: list[str] = Field(default_factory=list, description="letters separated from this stack")
    error: ErrorInfo | None = Field(None, description="why the document failed (state failed)")
    warnings: list[dict[str, Any]] = Field(
        default_factory=list, description="quality warnings for the station (blank_page, skewed, ...)"
    )
    rescan: dict[str, Any] | None = Field(
        None, description="state rescan: why the station scans it again (reason blank/unreadable, pages, message)"
    )
    result: dict[str, Any] | None = Field(None, description="mailroom.result/v1, once the document is recognised")
    links: dict[str, Any]

    @classmethod
    def from_row(cls, row: DocumentRow) -> DocumentStatus:
        result = json.loads(row.result_json) if row.result_json else None
        warnings = ((result or {}).get("quality") or {}).get("warnings") or []
        links: dict[str, Any] = {
            "self": document_url(row.id),
            "original": document_url(row.id, "/original"),
            "events": document_url(row.id, "/events"),
        }
        if row.searchable_pdf_sha:
            links["searchable_pdf"] = document_url(row.id, "/searchable.pdf")
        if row.kind != "xml" and row.pages:
            links["page_images"] = [document_url(row.id, f"/pages/{n}/image") for n in range(1, row.pages + 1)]
        if row.parent_id:
            links["parent"] = document_url(row.parent_id)
        return cls(
            document_id=row.id, state=row.state, filename=row.filename, kind=row.kind, mime_type=row.mime_type,
            size=row.size, sha256=row.sha256, pages=row.pages,
            source=SourceInfo(channel=row.source_channel, station=row.station),
            received_at=row.received_at, state_changed_at=row.state_changed_at, updated_at=row.updated_at,
            attempts=row.attempts, parent_id=row.parent_id, page_from=row.page_from, page_to=row.page_to,
            letters=[child.id for child in row.children],
            error=ErrorInfo(code=row.error_code, message=row.error_message) if row.error_code else None,
            warnings=warnings, rescan=(result or {}).get("rescan"), result=result, links=links,
        )


class CheckInfo(BaseModel):
    ok: bool
    detail: str


class MailboxHealth(BaseModel):
    ok: bool = Field(description="The last poll succeeded")
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    error: str | None = Field(None, description="code: message of the last failed poll")


class Readiness(BaseModel):
    status: str = Field(description="ready or not_ready")
    checks: dict[str, CheckInfo]
    mailboxes: dict[str, MailboxHealth] = Field(
        default_factory=dict,
        description="E-mail intake, informative: a mailbox that cannot be read does not make the API unready",
    )


class Liveness(BaseModel):
    status: str = "ok"


class DocumentSummary(BaseModel):
    """One line of a document listing."""

    document_id: str
    state: str
    filename: str
    pages: int | None = None
    station: str | None = None
    received_at: datetime
    document_type: str | None = None
    postbox: str | None = None
    routing_status: str | None = None
    warnings: list[str] = Field(default_factory=list, description="codes of the quality warnings")
    rescan: dict[str, Any] | None = Field(None, description="state rescan: reason, pages and message for the station")
    parent_id: str | None = None
    url: str

    @classmethod
    def from_row(cls, row: DocumentRow) -> DocumentSummary:
        result = json.loads(row.result_json) if row.result_json else {}
        routing = result.get("routing") or {}
        return cls(
            document_id=row.id, state=row.state, filename=row.filename, pages=row.pages, station=row.station,
            received_at=row.received_at, document_type=(result.get("document_type") or {}).get("label"),
            postbox=routing.get("postbox"), routing_status=routing.get("status"),
            warnings=[w.get("code", "") for w in (result.get("quality") or {}).get("warnings") or []],
            rescan=result.get("rescan"), parent_id=row.parent_id, url=document_url(row.id),
        )


class DocumentList(BaseModel):
    documents: list[DocumentSummary]
    count: int = Field(description="documents in this page of the listing")


# --- routing rules (``/api/v1/rules``) ----------------------------------------------------------------------


def rules_url(suffix: str = "") -> str:
    """The root-relative URL of the rules API (or of a part of it)."""
    return f"{API_PREFIX}/rules{suffix}"


class RuleVersionInfo(BaseModel):
    """One version of the rule set, without its YAML."""

    version: int
    status: str = Field(description="draft (editable, not used), active (used for every document) or history")
    source: str | None = Field(None, description="where it came from: default pack, import, rollback to N ...")
    sha256: str = Field(description="of the stored YAML")
    created_by: str
    created_at: datetime
    activated_at: datetime | None = Field(None, description="when it last became active")
    url: str


class RuleVersionDetail(RuleVersionInfo):
    """A version with its YAML as stored (its ``version:`` line is the version number)."""

    yaml: str
    rules: int = Field(description="number of rules")
    description: str | None = None


class RuleSetOverview(BaseModel):
    name: str
    active_version: int | None
    versions: list[RuleVersionInfo] = Field(description="every version, oldest first")


class RuleProblemInfo(BaseModel):
    """What is wrong, where: the rule id (absent for the rule set as a whole), the field path and why."""

    code: str
    rule: str | None = None
    field: str
    message: str


class RuleValidation(BaseModel):
    valid: bool
    problems: list[RuleProblemInfo]
    rules: int | None = Field(None, description="number of rules, when the rule set parses")


class SimulatedOutcome(BaseModel):
    status: str = Field(description="routed or review")
    postbox: str | None = None
    document_type: str | None = None
    decided_by: str | None = None


class SimulatedChange(BaseModel):
    document_id: str
    filename: str
    received_at: datetime
    kind: str = Field(description="changed, newly_routed or newly_review")
    change: str = Field(description="what differs, e.g. 'personalamt → hauptamt'")
    old: SimulatedOutcome
    new: SimulatedOutcome


class SimulationResult(BaseModel):
    baseline_version: int = Field(description="the active version")
    candidate_version: int
    documents: int = Field(description="documents re-evaluated")
    totals: dict[str, int] = Field(description="unchanged, changed, newly_routed, newly_review")
    changes: list[SimulatedChange] = Field(description="every document whose postbox, status or type changes")


class RuleChange(BaseModel):
    """One recorded change of the rule set: who, when, what, old and new state."""

    at: datetime
    actor: str
    action: str = Field(description="create_draft, update_draft, discard_draft, activate, rollback")
    version: int | None = None
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None


class RuleChanges(BaseModel):
    name: str
    changes: list[RuleChange] = Field(description="oldest first")


# --- review decisions and re-routes (api.routes.corrections) ---------------------------------------------------

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class DecisionRequest(BaseModel):
    """A reviewer's decision for a document of the review queue."""

    postbox: str = Field(min_length=1, max_length=128, pattern=_NAME_PATTERN, description="postbox id")
    document_type: str | None = Field(
        None, min_length=1, max_length=64, pattern=_NAME_PATTERN, description="the corrected document type"
    )


class RescanBody(BaseModel):
    """A reviewer's request to the station that scanned a document in review: scan these pages again."""

    message: str = Field(min_length=1, max_length=500, description="what the station operator reads (German)")
    pages: list[int] = Field(default_factory=list, max_length=500,
                             description="the pages to scan again (1-based); empty or none valid: every page")


class DismissBody(BaseModel):
    """A station closes a rescan request: the new scan is in (``replaced_by``) or there was nothing to scan."""

    replaced_by: str | None = Field(None, min_length=1, max_length=64,
                                    description="the new scan's document id (a document the caller sees)")
    note: str | None = Field(None, max_length=500, description="why, for the trail")


class SplitBody(BaseModel):
    """A reviewer splits a document in review that holds several letters: a new letter starts at each page."""

    before_pages: list[int] = Field(min_length=1, max_length=100,
                                    description="the pages (2..pages) at which a new letter starts")


class FieldsRequest(BaseModel):
    """A reviewer's confirmed or corrected invoice fields (contract form: ISO dates, ``"1234.56"`` amounts)."""

    fields: dict[str, str] = Field(
        default_factory=dict, max_length=40,
        description="field name → confirmed value, e.g. {\"invoice_number\": \"RE-2026-04711\"}",
    )
    confirm_rest: bool = Field(False, description="every other field as read is confirmed too")


class FieldsConfirmation(BaseModel):
    """What a confirmation did."""

    document_id: str
    corrected: list[str] = Field(description="fields whose value the reviewer changed")
    supplier_key: str | None = Field(description="the key the supplier's layout is learned under")
    learned: list[str] = Field(description="fields whose place on the page was learned for the next invoice")
    invoice: dict[str, Any]


class RerouteRequest(BaseModel):
    """Send a routed document on to another postbox."""

    postbox: str = Field(min_length=1, max_length=128, pattern=_NAME_PATTERN, description="postbox id")
    reason: str = Field(min_length=1, max_length=1000, description="why the document belongs there")


# --- organisation directory (api.routes.directory) ---------------------------------------------------------------


class DepartmentInfo(BaseModel):
    id: str
    name: str
    amt: str = ""
    aliases: list[str] = Field(default_factory=list)
    former_names: list[str] = Field(default_factory=list)
    postboxes: list[str] = Field(default_factory=list)
    leitweg_ids: list[str] = Field(default_factory=list)
    aktenzeichen_patterns: list[str] = Field(default_factory=list)


class PostboxInfo(BaseModel):
    id: str
    name: str
    department: str


class PersonInfo(BaseModel):
    """A person of the directory: name, function and deputies (aliases and former names are left out)."""

    id: str
    display_name: str
    title: str = ""
    salutation: str = ""
    first_name: str = ""
    last_name: str
    department: str
    role: str = ""
    deputies: list[str] = Field(default_factory=list)


class DirectoryView(BaseModel):
    name: str
    source: str = Field(description="'installed' (PUT /api/v1/directory) or 'default' (Stadt Musterstadt)")
    warnings: list[str] = Field(default_factory=list, description="After a PUT: each stored rule the change "
                                "affects (a postbox, person or department gone, a person moved)")
    leitweg_id: str | None = None
    departments: list[DepartmentInfo]
    postboxes: list[PostboxInfo]
    persons: list[PersonInfo]
