"""``/api/v1/directory``: the organisation directory (departments, postboxes, persons); admins replace it.

``GET`` shows the directory the routing uses (the installed one, else Stadt Musterstadt's default) to every
authenticated key; persons are shown without their aliases and former names (personal data the routing needs
but a postbox listing does not). ``PUT`` (admin) takes the whole directory as YAML or CSV (the formats of
``mailroom directory import``), validates it and installs it as ``<data_dir>/directory.yaml|csv``; the change is
recorded in the audit trail (``directory.replaced``: who, SHA-256 of the new file, its counts) and the answer
lists a warning per stored rule the change affects.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.deps import AnyPrincipal, Services, ServicesDep, require
from api.errors import error_responses
from api.schemas import API_PREFIX, DepartmentInfo, DirectoryView, PersonInfo, PostboxInfo
from mailroom import audit
from mailroom.directory import Directory, current_directory, installed_directory_file
from mailroom.errors import FileTooLarge, MailroomError, UnsupportedFileType
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role
from routing.router import install_directory
from rules.store import directory_warnings

router = APIRouter(prefix=f"{API_PREFIX}/directory", tags=["directory"])

AdminPrincipal = Annotated[Principal, Depends(require(Role.ADMIN))]

MAX_DIRECTORY_BYTES = 5 * 1024 * 1024
CSV_TYPES = frozenset({"text/csv", "application/csv"})
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain", ""})

_PUT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


def directory_view(directory: Directory, source: str, warnings: list[str] | None = None) -> DirectoryView:
    return DirectoryView(
        name=directory.name,
        source=source,
        warnings=warnings or [],
        leitweg_id=directory.leitweg_id,
        departments=[
            DepartmentInfo(
                id=d.id, name=d.name, amt=d.amt, aliases=list(d.aliases), former_names=list(d.former_names),
                postboxes=list(d.postboxes), leitweg_ids=list(d.leitweg_ids),
                aktenzeichen_patterns=list(d.aktenzeichen_patterns),
            )
            for d in directory.departments.values()
        ],
        postboxes=[PostboxInfo(id=b.id, name=b.name, department=b.department) for b in directory.postboxes.values()],
        persons=[
            PersonInfo(
                id=p.id, display_name=p.display_name, title=p.title, salutation=p.salutation,
                first_name=p.first_name, last_name=p.last_name, department=p.department, role=p.role,
                deputies=list(p.deputies),
            )
            for p in directory.persons.values()
        ],
    )


def _suffix(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    if media in CSV_TYPES:
        return ".csv"
    if media in YAML_TYPES:
        return ".yaml"
    raise UnsupportedFileType(f"a directory is YAML (application/yaml) or CSV (text/csv), not {media!r}")


@router.get(
    "",
    summary="The organisation directory: departments, postboxes, persons",
    responses=error_responses(401),
)
def get_directory(services: ServicesDep, principal: AnyPrincipal) -> DirectoryView:
    source = "installed" if installed_directory_file(services.settings) else "default"
    return directory_view(current_directory(services.settings), source)


@router.put(
    "",
    summary="Replace the organisation directory (admin)",
    description="The body is the whole directory as YAML (`Content-Type: application/yaml`, the format of the "
    "default directory) or CSV (`text/csv`, one row per entry with a `kind` column). It is validated as a whole: "
    "422 `invalid_directory` with `details.problems` listing every problem; nothing is installed then. A valid "
    "directory replaces the installed one atomically; new routing decisions of this service use it at once, "
    "separate worker processes when they restart. `warnings` lists each stored rule (active version and drafts) "
    "the change affects: a postbox, person or department it names is gone, or a person it names moved to another "
    "department.",
    openapi_extra=_PUT_BODY,
    responses=error_responses(401, 403, 413, 415, 422),
)
async def put_directory(request: Request, services: ServicesDep, principal: AdminPrincipal) -> DirectoryView:
    suffix = _suffix(request.headers.get("content-type"))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DIRECTORY_BYTES:
            raise FileTooLarge(f"a directory is at most {MAX_DIRECTORY_BYTES} bytes")
    directory, warnings = await run_in_threadpool(replace_directory, services, principal.actor, bytes(body), suffix)
    return directory_view(directory, "installed", warnings)


def replace_directory(
    services: Services, actor: str, body: bytes, suffix: str, via: str | None = None
) -> tuple[Directory, list[str]]:
    """Install a new directory (:func:`routing.router.install_directory`: validated as a whole), audit it as
    ``directory.replaced`` and return it with a warning per stored rule the change affects (a postbox, person or
    department gone, a person moved): the REST API's and the web UI's one way to replace the directory."""
    try:
        old: Directory | None = current_directory(services.settings)
    except MailroomError:
        old = None
    directory = install_directory(services.settings, body, suffix)
    with session_scope(services.pipeline.sessions) as session:
        warnings = directory_warnings(session, old, directory)
        details: dict[str, object] = {
            "format": suffix.lstrip("."), "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body),
            "departments": len(directory.departments), "postboxes": len(directory.postboxes),
            "persons": len(directory.persons), "rule_warnings": len(warnings),
        }
        if via:
            details["via"] = via
        audit.record(session, actor=actor, action="directory.replaced", object_type="directory",
                     object_id=directory.name, details=details)
    return directory, warnings
