"""``/api/v1/directory``: the organisation directory (departments, postboxes, persons); admins replace it.

``GET`` shows the directory the routing uses (the installed one, else Stadt Musterstadt's default) to every
authenticated key; persons are shown without their aliases and former names (personal data the routing needs
but a postbox listing does not). ``PUT`` (admin) takes the whole directory as YAML or CSV (the formats of
``mailroom directory import``), validates it and installs it as ``<data_dir>/directory.yaml|csv``; the change is
recorded in the audit trail (``directory.replaced``: who, SHA-256 of the new file, its counts).
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.deps import AnyPrincipal, ServicesDep, record_audit, require
from api.errors import error_responses
from api.schemas import API_PREFIX, DepartmentInfo, DirectoryView, PersonInfo, PostboxInfo
from mailroom.directory import Directory, current_directory, installed_directory_file
from mailroom.errors import FileTooLarge, UnsupportedFileType
from mailroom.storage.keys import Role
from routing.router import install_directory

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


def directory_view(directory: Directory, source: str) -> DirectoryView:
    return DirectoryView(
        name=directory.name,
        source=source,
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
    "separate worker processes when they restart.",
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
    directory = await run_in_threadpool(install_directory, services.settings, bytes(body), suffix)
    await run_in_threadpool(
        record_audit, services, actor=principal.actor, action="directory.replaced", object_type="directory",
        object_id=directory.name,
        details={"format": suffix.lstrip("."), "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body),
                 "departments": len(directory.departments), "postboxes": len(directory.postboxes),
                 "persons": len(directory.persons)},
    )
    return directory_view(directory, "installed")
