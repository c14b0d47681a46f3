"""``/api/v1/rules``: the routing rule set for admins: versions, validate, simulate, activate, rollback, share.

Thin routes over ``rules.store``, ``rules.pack`` and ``rules.simulate`` (the same functions as
``mailroom rules ...``). Every change is recorded with the API key's name as actor. The shipped default pack is
installed as version 1 the first time the rule set is needed. Reads use read-only sessions; each change is one
committed unit of work, so an activation takes effect in every worker with its next document.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import Services, ServicesDep, require
from api.errors import error_responses
from api.schemas import (
    API_PREFIX,
    RuleChange,
    RuleChanges,
    RuleProblemInfo,
    RuleSetOverview,
    RuleValidation,
    RuleVersionDetail,
    RuleVersionInfo,
    SimulatedChange,
    SimulatedOutcome,
    SimulationResult,
    rules_url,
)
from mailroom.directory import Directory, current_directory
from mailroom.errors import FileTooLarge, ValidationFailed
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role
from mailroom.storage.rulesets import RuleSetChangeRow, RuleSetRow, RuleSetVersionRow
from routing.training import known_document_types
from rules import check_ruleset, load_ruleset
from rules.pack import export_pack, import_pack
from rules.simulate import received_bound, simulate_against_active
from rules.store import (
    DEFAULT_RULESET,
    activate,
    create_draft,
    discard_draft,
    ensure_default_ruleset,
    get_ruleset,
    get_version,
    list_changes,
    list_versions,
    read_version,
    rollback,
    update_draft,
)

#: Rule files are small; anything larger is refused while reading.
MAX_RULES_BYTES = 1024 * 1024

_admin = require(Role.ADMIN)
AdminPrincipal = Annotated[Principal, Depends(_admin)]

router = APIRouter(prefix=f"{API_PREFIX}/rules", tags=["rules"], dependencies=[Depends(_admin)])

VersionNumber = Annotated[int, Path(ge=1, description="The version number")]

_RULES_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}, "example": "version: 1\nrules: []\n"},
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {"type": "object", "required": ["yaml"], "properties": {"yaml": {"type": "string"}}}
            },
        },
    }
}
_ERRORS = error_responses(401, 403)
_NOT_FOUND = error_responses(401, 403, 404)
_CHANGE_ERRORS = error_responses(401, 403, 404, 409, 413, 422)


async def rules_text(request: Request) -> str:
    """The rule set sent as the body: YAML as it is, or JSON ``{"yaml": "..."}``."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_RULES_BYTES:
            raise FileTooLarge(f"a rule file may have at most {MAX_RULES_BYTES} bytes", field="body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed("the rule set must be UTF-8 text", field="body") from exc
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json":
        try:
            data: Any = json.loads(text)
        except ValueError as exc:
            raise ValidationFailed(f"the body is not valid JSON: {exc}", field="body") from exc
        if not isinstance(data, dict) or not isinstance(data.get("yaml"), str):
            raise ValidationFailed('a JSON body is {"yaml": "<the rule set as YAML>"}', field="yaml")
        text = data["yaml"]
    return text


RulesText = Annotated[str, Depends(rules_text)]


def _installed(services: Services) -> None:
    """Install the default pack when the rule set has no version yet (a write only on first use)."""
    sessions = services.pipeline.sessions
    with session_scope(sessions, readonly=True) as session:
        installed = session.scalar(
            select(RuleSetVersionRow.id)
            .join(RuleSetRow, RuleSetRow.id == RuleSetVersionRow.ruleset_id)
            .where(RuleSetRow.name == DEFAULT_RULESET)
            .limit(1)
        )
        if installed is not None:
            return
    with session_scope(sessions) as session:
        ensure_default_ruleset(session)


class CheckedAgainst(TypedDict):
    """What a rule set may name besides its language (keywords of the rules layer's checks)."""

    directory: Directory
    document_types: set[str] | None


def checked_against(services: Services) -> CheckedAgainst:
    """What every rule set validated, made, activated or rolled back here is checked against: the organisation
    directory in force (postboxes, persons, departments) and the document types the type model knows
    (``set_type``; not checked before there is a model)."""
    return {"directory": current_directory(services.settings),
            "document_types": known_document_types(services.settings)}


def _info(row: RuleSetVersionRow) -> RuleVersionInfo:
    return RuleVersionInfo(
        version=row.version, status=row.status, source=row.source, sha256=row.sha256, created_by=row.created_by,
        created_at=row.created_at, activated_at=row.activated_at, url=rules_url(f"/versions/{row.version}"),
    )


def _detail(session: Session, number: int) -> RuleVersionDetail:
    row = get_version(session, number)
    ruleset = load_ruleset(row.yaml_text)
    return RuleVersionDetail(
        **_info(row).model_dump(), yaml=row.yaml_text, rules=len(ruleset.rules), description=ruleset.description
    )


def _bound(field: str, value: str | None) -> datetime | None:
    try:
        return received_bound(value) if value is not None else None
    except ValueError as exc:
        raise ValidationFailed(f"{field}: {exc}", field=field) from exc


def _change(row: RuleSetChangeRow) -> RuleChange:
    return RuleChange(
        at=row.at, actor=row.actor, action=row.action, version=row.version,
        old=json.loads(row.old_json) if row.old_json else None,
        new=json.loads(row.new_json) if row.new_json else None,
    )


@router.get("", summary="The rule set: its active version and every version", responses=_ERRORS)
def get_rules(services: ServicesDep) -> RuleSetOverview:
    _installed(services)
    with session_scope(services.pipeline.sessions, readonly=True) as session:
        ruleset = get_ruleset(session)
        return RuleSetOverview(
            name=ruleset.name, active_version=ruleset.active_version,
            versions=[_info(row) for row in list_versions(session)],
        )


@router.get("/versions/{number}", summary="A version with its YAML", responses=_NOT_FOUND)
def get_rules_version(number: VersionNumber, services: ServicesDep) -> RuleVersionDetail:
    _installed(services)
    with session_scope(services.pipeline.sessions, readonly=True) as session:
        return _detail(session, number)


@router.post(
    "/validate",
    summary="Check a rule set without saving it",
    description="Body: the rule set (or a rule pack) as YAML, or JSON `{\"yaml\": \"...\"}`. Answers 200 with "
    "`valid` and every problem found: its `code`, the `rule` id, the `field` path and the `message` (why); "
    "postboxes, persons and departments the organisation directory does not have are problems too "
    "(`unknown_postbox`, `unknown_person`, `unknown_department`).",
    openapi_extra=_RULES_BODY,
    responses=error_responses(401, 403, 413, 422),
)
def validate_rules(text: RulesText, services: ServicesDep) -> RuleValidation:
    ruleset, problems = check_ruleset(text, **checked_against(services))
    return RuleValidation(
        valid=ruleset is not None and not problems,
        problems=[RuleProblemInfo(**problem.to_dict()) for problem in problems],
        rules=len(ruleset.rules) if ruleset is not None else None,
    )


@router.post(
    "/versions",
    status_code=201,
    summary="Store a rule set as a new draft version",
    description="The draft gets the next version number (its `version:` line is set to it). An invalid rule set "
    "answers 422 `invalid_rules` with every problem in `details.problems` (`code`, `rule`, `field`, `message`); "
    "one naming a postbox, person or department the organisation directory lacks 422 `rules_not_in_directory`.",
    openapi_extra=_RULES_BODY,
    responses=_CHANGE_ERRORS,
)
def create_rules_version(
    text: RulesText, services: ServicesDep, admin: AdminPrincipal, response: Response
) -> RuleVersionDetail:
    _installed(services)
    with session_scope(services.pipeline.sessions) as session:
        row = create_draft(session, text, actor=admin.actor, source="API", **checked_against(services))
        detail = _detail(session, row.version)
    response.headers["Location"] = detail.url
    return detail


@router.put(
    "/versions/{number}",
    summary="Replace the YAML of a draft",
    description="Only drafts change (409 `ruleset_conflict` otherwise); invalid rules answer 422 `invalid_rules`, "
    "names the organisation directory lacks 422 `rules_not_in_directory`.",
    openapi_extra=_RULES_BODY,
    responses=_CHANGE_ERRORS,
)
def update_rules_version(
    number: VersionNumber, text: RulesText, services: ServicesDep, admin: AdminPrincipal
) -> RuleVersionDetail:
    with session_scope(services.pipeline.sessions) as session:
        update_draft(session, number, text, actor=admin.actor, **checked_against(services))
        return _detail(session, number)


@router.delete(
    "/versions/{number}",
    status_code=204,
    summary="Discard a draft",
    responses=error_responses(401, 403, 404, 409),
)
def discard_rules_version(number: VersionNumber, services: ServicesDep, admin: AdminPrincipal) -> Response:
    with session_scope(services.pipeline.sessions) as session:
        discard_draft(session, number, actor=admin.actor)
    return Response(status_code=204)


@router.post(
    "/versions/{number}/simulate",
    summary="What would this version change on recent mail?",
    description="Re-evaluates the stored recognition results (no OCR) of the last `last` documents, or of those "
    "received in `[since, until)`, with the active version and with this one, and lists every document whose "
    "postbox, status or type would change (old → new), with totals. Default: the last 100 documents.",
    responses=error_responses(401, 403, 404, 422),
)
def simulate_rules_version(
    number: VersionNumber,
    services: ServicesDep,
    last: Annotated[int | None, Query(ge=1, le=10_000, description="the last N documents")] = None,
    since: Annotated[str | None, Query(description="received on or after (YYYY-MM-DD or ISO date-time)")] = None,
    until: Annotated[str | None, Query(description="... and before (YYYY-MM-DD or ISO date-time)")] = None,
) -> SimulationResult:
    start, end = _bound("since", since), _bound("until", until)
    _installed(services)
    from routing.router import hybrid_outcome  # the whole decision, as the pipeline makes it

    finalise = hybrid_outcome(services.pipeline.router)
    with session_scope(services.pipeline.sessions, readonly=True) as session:
        candidate = read_version(session, number).ruleset
        report = simulate_against_active(
            session, candidate, last=last, since=start, until=end, finalise=finalise
        )
    return SimulationResult(
        baseline_version=report.baseline_version, candidate_version=report.candidate_version,
        documents=report.documents, totals=dict(report.totals),
        changes=[
            SimulatedChange(
                document_id=c.document_id, filename=c.filename, received_at=c.received_at, kind=c.kind,
                change=c.describe(), old=SimulatedOutcome(**vars(c.old)), new=SimulatedOutcome(**vars(c.new)),
            )
            for c in report.changes
        ],
    )


@router.post(
    "/versions/{number}/activate",
    summary="Make a draft the active version",
    description="Every worker uses it from its next document on, without a restart. The active version before "
    "becomes history. 409 `ruleset_conflict` for a version that is active or history (use rollback); 422 "
    "`rules_not_in_directory` for a draft naming what the organisation directory no longer has.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def activate_rules_version(number: VersionNumber, services: ServicesDep, admin: AdminPrincipal) -> RuleVersionInfo:
    with session_scope(services.pipeline.sessions) as session:
        return _info(activate(session, number, actor=admin.actor, **checked_against(services)))


@router.post(
    "/rollback",
    summary="Re-activate an earlier version",
    description="Copies a history version (`to`, default: the one active before the current) into a new version "
    "and activates it; history itself never changes. 422 `rules_not_in_directory` when that version names what "
    "the organisation directory no longer has.",
    responses=error_responses(401, 403, 404, 409, 422),
)
def rollback_rules(
    services: ServicesDep,
    admin: AdminPrincipal,
    to: Annotated[int | None, Query(ge=1, description="the history version to restore")] = None,
) -> RuleVersionInfo:
    _installed(services)
    with session_scope(services.pipeline.sessions) as session:
        return _info(rollback(session, actor=admin.actor, to=to, **checked_against(services)))


@router.get(
    "/export",
    summary="Download a version as a rule pack (YAML)",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {"schema": {"type": "string"}}}}, **_NOT_FOUND},
)
def export_rules(
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1, description="the version (default: the active one)")] = None,
    town: Annotated[str | None, Query(max_length=200, description="the town named in the pack header")] = None,
) -> Response:
    _installed(services)
    with session_scope(services.pipeline.sessions, readonly=True) as session:
        number = get_version(session, version).version
        text = export_pack(session, number, town=town)
    filename = f"rules-{DEFAULT_RULESET}-v{number}.yaml"
    return Response(
        text.encode("utf-8"), media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/import",
    status_code=201,
    summary="Store a rule pack as the next version (a draft, or active with `activate=true`)",
    description="Body: a rule pack (or plain rule set) as YAML, or JSON `{\"yaml\": \"...\"}`. Invalid rules "
    "answer 422 `invalid_rules` with every problem in `details.problems` (422 `rules_not_in_directory` for names "
    "the organisation directory lacks).",
    openapi_extra=_RULES_BODY,
    responses=_CHANGE_ERRORS,
)
def import_rules(
    text: RulesText,
    services: ServicesDep,
    admin: AdminPrincipal,
    response: Response,
    activate_now: Annotated[bool, Query(alias="activate", description="activate it at once")] = False,
) -> RuleVersionInfo:
    _installed(services)
    with session_scope(services.pipeline.sessions) as session:
        info = _info(import_pack(session, text, actor=admin.actor, activate_now=activate_now,
                                 **checked_against(services)))
    response.headers["Location"] = info.url
    return info


@router.get("/changes", summary="Every change of the rule set: who, when, old and new", responses=_ERRORS)
def get_rule_changes(services: ServicesDep) -> RuleChanges:
    _installed(services)
    with session_scope(services.pipeline.sessions, readonly=True) as session:
        return RuleChanges(name=DEFAULT_RULESET, changes=[_change(row) for row in list_changes(session)])
