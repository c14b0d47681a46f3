"""Rules administration: the rule set's versions (active, drafts, history with who and when), a draft in an editor
with one field per rule and every validation problem shown at its rule, simulation of a draft against recent mail
(the diff table), activation, roll back; and the "explain" view of a document (which rules fired and why, with
the words' boxes on the page).

Every action is the REST API's own function (:mod:`api.routes.rules`) called with the admin's principal, so the
rule store, its audit (``ruleset_changes``: who, when, old, new) and the simulation are the API's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, NamedTuple

import yaml
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ReadSession, ServicesDep, record_audit
from api.routes import rules as api
from api.ui.documents import BoxView, PageView, page_views, result_of, stored_document, visible_row
from api.ui.rule_text import join_rules_text, split_rules_text
from api.ui.web import UI_PREFIX, UiContext, changing_as, redirect, render, signed_in_as
from mailroom import yamlio
from mailroom.directory import Directory
from mailroom.errors import InvalidRuleSet, MailroomError, UiNotFound
from mailroom.model import MM_PER_INCH
from mailroom.storage.keys import Role
from rules import RuleProblem, check_ruleset

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)

Admin = Annotated[UiContext, Depends(signed_in_as(Role.ADMIN))]
AdminChanging = Annotated[UiContext, Depends(changing_as(Role.ADMIN))]
Version = Annotated[int, Path(ge=1, le=1_000_000)]
#: How many recent documents a simulation re-evaluates.
SIMULATE_LAST = 200
MAX_RULE_CHARS = 20_000


class Problem(NamedTuple):
    """A problem of the draft: the validator's code (the editor shows a lead for it), the field (``path``), what
    it is in the validator's English (``detail``) and the values it names (for the text in the user's language:
    :func:`api.ui.texts.detail`)."""

    code: str
    detail: str
    path: str | None = None  # None: found by the editor itself (the rule's YAML), not by the validator
    values: Mapping[str, object] = {}

    @property
    def text(self) -> str:
        """Where and what, in English, with the validator's code (as the CLI and the REST API say it)."""
        return self.detail if self.path is None else f"{self.path or '(Regel)'}: {self.detail} [{self.code}]"


@dataclass
class RuleBlock:
    """One rule in the editor: its YAML text and the problems found in it."""

    index: int
    rule_id: str | None
    text: str
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Draft:
    """The editor's content: the header (version, description, ...) and the rules, each with its problems."""

    header: str
    rules: list[RuleBlock]
    header_problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.header_problems and not any(r.problems for r in self.rules)


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=110)


def split_yaml(text: str) -> Draft:
    """A stored rule set, one block per rule, each as the admin wrote it (comments kept); only a file that does not
    cut cleanly into rules (e.g. a flow-style ``rules: [...]``) is shown re-dumped."""
    cut = split_rules_text(text)
    if cut is not None:
        header_text, texts = cut
        return Draft(header=header_text, rules=[RuleBlock(i, _rule_id(t), t) for i, t in enumerate(texts)])
    data = yaml.safe_load(text) or {}
    rules = data.get("rules") or [] if isinstance(data, dict) else []
    header = {k: v for k, v in data.items() if k != "rules"} if isinstance(data, dict) else {}
    return Draft(header=_dump(header), rules=[
        RuleBlock(i, str(r.get("id")) if isinstance(r, dict) else None, _dump(r)) for i, r in enumerate(rules)
    ])


def _rule_id(text: str) -> str | None:
    try:
        rule = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return str(rule["id"]) if isinstance(rule, dict) and rule.get("id") is not None else None


def assemble(
    header_text: str, rule_texts: list[str], directory: Directory | None = None, *,
    document_types: Collection[str] | None = None,
) -> tuple[Draft, str | None]:
    """The rule set written in the editor: each rule's YAML parsed, then the whole set checked by the rule
    language's validator (against the organisation ``directory``: postboxes, persons, departments, and the
    ``document_types`` of ``set_type``); every problem is put at its rule. Returns the draft and, when it is
    valid, the YAML: the header and the rules as written (comments kept), re-dumped only if the texts do not
    join into a file that reads back as they do."""
    draft = Draft(header=header_text, rules=[])
    try:
        header = yaml.safe_load(header_text) or {}
        if not isinstance(header, dict):
            draft.header_problems.append(Problem("header_not_a_mapping",
                                                 "the header is a mapping (version, description)"))
        elif "rules" in header:
            draft.header_problems.append(Problem("rules_in_header",
                                                 "the rules go into their own fields, not into the header"))
    except yaml.YAMLError as exc:
        draft.header_problems.append(Problem("yaml_syntax", f"YAML: {exc}", values=yamlio.place(exc)))
    if draft.header_problems:
        header = {}
    rules: list[Any] = []
    for text in rule_texts:
        if not text.strip():
            continue
        block = RuleBlock(len(draft.rules), None, text)
        draft.rules.append(block)
        if len(text) > MAX_RULE_CHARS:
            block.problems.append(Problem("too_long", f"too long (at most {MAX_RULE_CHARS} characters)",
                                          values={"max": MAX_RULE_CHARS}))
            rules.append({})
            continue
        try:
            rule = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            block.problems.append(Problem("yaml_syntax", f"YAML: {exc}", values=yamlio.place(exc)))
            rules.append({})
            continue
        if not isinstance(rule, dict):
            block.problems.append(Problem("not_a_mapping", "a rule is a mapping with id, priority, when, then, "
                                          "confidence"))
            rules.append({})
            continue
        block.rule_id = str(rule.get("id")) if rule.get("id") is not None else None
        rules.append(rule)
    if not draft.valid:
        return draft, None
    written = join_rules_text(header_text, [block.text for block in draft.rules], header, rules)
    text = written or _dump({**header, "rules": rules})
    _, problems = check_ruleset(text, directory, document_types=document_types)
    place_problems(draft, problems)
    return draft, (text if draft.valid else None)


def place_problems(draft: Draft, problems: Iterable[RuleProblem]) -> Draft:
    """Put each of the validator's ``problems`` at the rule it belongs to (by id, else by index), the rest at the
    header."""
    by_id: dict[str, RuleBlock] = {}
    for block in draft.rules:
        if block.rule_id is not None:
            by_id.setdefault(block.rule_id, block)
    for problem in problems:
        message = Problem(problem.code, problem.message, problem.path, problem.values)
        at: RuleBlock | None = by_id.get(problem.rule_id) if problem.rule_id else None
        if at is None and problem.path.startswith("rules["):  # a rule without (valid) id: by its index
            try:
                at = draft.rules[int(problem.path[6:problem.path.index("]")])]
            except (ValueError, IndexError):
                at = None
        if at is not None:
            at.problems.append(message)
        else:
            draft.header_problems.append(message)
    return draft


@router.get("/rules")
def overview(request: Request, ui: Admin, services: ServicesDep) -> HTMLResponse:
    rules = api.get_rules(services)
    changes = api.get_rule_changes(services).changes
    return render(request, "rules.html", ui=ui, rules=rules, changes=list(reversed(changes))[:50])


@router.post("/rules/drafts")
async def new_draft(request: Request, ui: AdminChanging, services: ServicesDep) -> Response:
    """A new draft, copied from the active version."""
    active = await run_in_threadpool(api.get_rules_version, api.get_rules(services).active_version or 1, services)
    detail = await run_in_threadpool(api.create_rules_version, active.yaml, services, ui.principal, Response())
    return redirect(f"{UI_PREFIX}/rules/versions/{detail.version}", request)


def _version_page(request: Request, ui: UiContext, services: Any, number: int, *, draft: Draft | None = None,
                  simulation: Any = None, message: str | None = None, error: str | None = None,
                  status_code: int = 200) -> HTMLResponse:
    try:
        detail = api.get_rules_version(number, services)
    except MailroomError:
        raise UiNotFound(f"no rule set version {number}") from None
    return render(request, "rules_version.html", ui=ui, status_code=status_code, detail=detail,
                  draft=draft or split_yaml(detail.yaml), simulation=simulation, message=message, error=error,
                  last=SIMULATE_LAST)


@router.get("/rules/versions/{number}")
def version_page(request: Request, ui: Admin, services: ServicesDep, number: Version) -> HTMLResponse:
    return _version_page(request, ui, services, number)


@router.post("/rules/versions/{number}")
async def save_draft(request: Request, ui: AdminChanging, services: ServicesDep, number: Version) -> Response:
    """Save the editor's rules into the draft; problems are shown at their rules (nothing is saved then)."""
    form = await request.form()
    texts = [str(v) for v in form.getlist("rule")]
    draft, text = assemble(str(form.get("header", "")), texts, **api.checked_against(services))
    if text is None:
        return _version_page(request, ui, services, number, draft=draft, error="rules.invalid", status_code=422)
    try:
        await run_in_threadpool(api.update_rules_version, number, text, services, ui.principal)
    except MailroomError as exc:
        return _version_page(request, ui, services, number, draft=draft, error=exc.message, status_code=409)
    return redirect(f"{UI_PREFIX}/rules/versions/{number}?saved=1", request)


@router.post("/rules/versions/{number}/simulate")
async def simulate(request: Request, ui: AdminChanging, services: ServicesDep, number: Version) -> HTMLResponse:
    result = await run_in_threadpool(api.simulate_rules_version, number, services, SIMULATE_LAST, None, None)
    return _version_page(request, ui, services, number, simulation=result)


@router.post("/rules/versions/{number}/{action}")
async def change(request: Request, ui: AdminChanging, services: ServicesDep, number: Version, action: str) -> Response:
    try:
        if action == "activate":
            await run_in_threadpool(api.activate_rules_version, number, services, ui.principal)
        elif action == "discard":
            await run_in_threadpool(api.discard_rules_version, number, services, ui.principal)
        else:
            raise UiNotFound(f"no action {action}")
    except InvalidRuleSet as exc:  # e.g. the directory changed since the draft was saved: shown at its rules
        stored = api.get_rules_version(number, services).yaml
        draft = place_problems(split_yaml(stored), [p for p in exc.problems if isinstance(p, RuleProblem)])
        return _version_page(request, ui, services, number, draft=draft, error="rules.not_activated",
                             status_code=exc.http_status)
    except MailroomError as exc:
        if isinstance(exc, UiNotFound):
            raise
        return _version_page(request, ui, services, number, error=exc.message, status_code=exc.http_status)
    return redirect(f"{UI_PREFIX}/rules?done={action}", request)


@router.post("/rules/rollback")
async def roll_back(request: Request, ui: AdminChanging, services: ServicesDep) -> Response:
    """Back to the version active before the current one (a new version, history unchanged)."""
    try:
        await run_in_threadpool(api.rollback_rules, services, ui.principal, None)
    except MailroomError as exc:
        # the earlier version names what is gone (InvalidRuleSet): each problem, in German
        found = [p for p in getattr(exc, "problems", ()) if isinstance(p, RuleProblem)]
        problems = place_problems(Draft(header="", rules=[]), found).header_problems
        return render(request, "rules.html", ui=ui, rules=api.get_rules(services), changes=[],
                      status_code=exc.http_status, problems=problems,
                      error="rules.rollback_refused" if isinstance(exc, InvalidRuleSet) else exc.message)
    return redirect(f"{UI_PREFIX}/rules?done=rollback", request)


# --- explain ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FiredRule:
    rule: str
    version: int | None
    matched: bool
    because: list[str]


def _trace(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The rule trace of the automatic decision (kept in ``routing.history`` once a person decided)."""
    routing = result.get("routing") or {}
    if routing.get("trace"):
        return list(routing["trace"])
    for earlier in reversed(routing.get("history") or []):
        if earlier.get("trace"):
            return list(earlier["trace"])
    return []


def evidence_boxes(pages: list[PageView], trace: list[dict[str, Any]], dpi_of: dict[int, int]) -> None:
    """Add the words' boxes (mm in the evidence) of every rule that matched to ``pages``, as pixels."""
    by_number = {p.number: p for p in pages}
    for entry in trace:
        if not entry.get("matched"):
            continue
        for item in entry.get("evidence") or []:
            number = item.get("page") if isinstance(item, dict) else None
            page = by_number.get(number) if isinstance(number, int) else None
            box = item.get("box_mm") if page is not None else None
            if page is None or not isinstance(box, list | tuple) or len(box) != 4:
                continue
            scale = dpi_of.get(page.number, 300) / MM_PER_INCH
            x0, y0, x1, y1 = (round(float(v) * scale) for v in box)
            page.boxes.append(BoxView(f"rule:{entry.get('rule')}", x0, y0, max(1, x1 - x0), max(1, y1 - y0), "ok"))


@router.get("/documents/{document_id}/explain")
def explain(request: Request, ui: Admin, services: ServicesDep, session: ReadSession,
            document_id: Annotated[str, Path(max_length=64)]) -> HTMLResponse:
    row = visible_row(session, ui.principal, document_id)
    record_audit(services, actor=ui.principal.actor, action="document.read", object_type="document",
                 object_id=row.id, details={"what": "explain", "user": ui.principal.key_id})
    result = result_of(row)
    trace = _trace(result)
    document = stored_document(session, row)
    pages = page_views(document, {})
    for page in pages:
        page.boxes.clear()
    evidence_boxes(pages, trace, {p.number: p.dpi for p in document.pages} if document else {})
    fired = [FiredRule(str(e.get("rule")), e.get("version"), bool(e.get("matched")), list(e.get("because") or []))
             for e in trace]
    return render(request, "explain.html", ui=ui, row=row, result=result, pages=pages, fired=fired)
