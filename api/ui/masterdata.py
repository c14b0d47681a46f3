"""Master data for admins: the organisation directory (departments, postboxes, persons, responsibilities) and the
supplier master data (creditors), each to view, edit with validation, import and export; every change audited.

The directory is edited as the YAML file it is (the format of ``mailroom directory import``); it is validated as a
whole by the same function the REST API's ``PUT /api/v1/directory`` calls (:func:`routing.router.install_directory`):
a directory with problems is not installed, and each problem is listed. Suppliers are edited one by one (IBANs and
VAT id checked like the CSV import) or imported from the creditors' CSV export.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ReadSession, ServicesDep
from api.routes.directory import directory_view, replace_directory
from api.ui.web import UI_PREFIX, UiContext, changing_as, redirect, render, signed_in_as
from extraction import parsers
from extraction.suppliers import read_suppliers_csv, write_suppliers_csv
from mailroom import audit
from mailroom.directory import DEFAULT_PATH, current_directory, installed_directory_file
from mailroom.errors import InvalidDirectory, MailroomError
from mailroom.storage import suppliers as tables
from mailroom.storage.db import session_scope
from mailroom.storage.keys import Role

router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)
Admin = Annotated[UiContext, Depends(signed_in_as(Role.ADMIN))]
AdminChanging = Annotated[UiContext, Depends(changing_as(Role.ADMIN))]
#: Largest directory or supplier file accepted from the browser.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _directory_text(services: Any) -> tuple[str, str]:
    """The installed directory file (or the default one) as text, and its format suffix."""
    path = installed_directory_file(services.settings) or DEFAULT_PATH
    return path.read_text(encoding="utf-8-sig"), path.suffix


def _directory_page(request: Request, ui: UiContext, services: Any, *, text: str | None = None,
                    problems: Sequence[str] | None = None, message: str | None = None,
                    warnings: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
    source = "installed" if installed_directory_file(services.settings) else "default"
    stored, suffix = _directory_text(services)
    return render(request, "directory.html", ui=ui, status_code=status_code,
                  view=directory_view(current_directory(services.settings), source), text=text or stored,
                  editable=suffix in (".yaml", ".yml"), problems=problems or [], message=message,
                  warnings=warnings or [])


@router.get("/directory")
def directory_page(request: Request, ui: Admin, services: ServicesDep) -> HTMLResponse:
    saved = request.query_params.get("saved")
    return _directory_page(request, ui, services, message="dir.saved" if saved else None)


@router.get("/directory/export")
def directory_export(ui: Admin, services: ServicesDep) -> Response:
    text, suffix = _directory_text(services)
    media = "text/csv" if suffix == ".csv" else "application/yaml"
    return Response(text.encode("utf-8"), media_type=f"{media}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="directory{suffix}"'})


async def _install(request: Request, ui: UiContext, services: Any, body: bytes, suffix: str) -> Response:
    try:
        _, warnings = await run_in_threadpool(replace_directory, services, ui.principal.actor, body, suffix, "ui")
    except InvalidDirectory as exc:
        problems = list(exc.details.get("problems") or [exc.message])  # each with its code (mailroom.directory)
        text = body.decode("utf-8", "replace") if suffix != ".csv" else None
        return _directory_page(request, ui, services, text=text, problems=problems, status_code=422)
    except MailroomError as exc:
        return _directory_page(request, ui, services, problems=[exc.message], status_code=exc.http_status)
    if warnings:  # installed; the rules it affects are shown at once (no redirect, which would lose them)
        return _directory_page(request, ui, services, message="dir.saved", warnings=warnings)
    return redirect(f"{UI_PREFIX}/directory?saved=1", request)


@router.post("/directory")
async def directory_save(request: Request, ui: AdminChanging, services: ServicesDep) -> Response:
    form = await request.form()
    text = str(form.get("directory", ""))
    if len(text.encode("utf-8")) > MAX_UPLOAD_BYTES:
        return _directory_page(request, ui, services, problems=["dir.problem.too_large"], status_code=413)
    return await _install(request, ui, services, text.encode("utf-8"), ".yaml")


@router.post("/directory/import")
async def directory_import(request: Request, ui: AdminChanging, services: ServicesDep) -> Response:
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return _directory_page(request, ui, services, problems=["dir.problem.no_file"], status_code=422)
    body = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(body) > MAX_UPLOAD_BYTES:
        return _directory_page(request, ui, services, problems=["dir.problem.too_large"], status_code=413)
    name = (upload.filename or "").lower()
    suffix = ".csv" if name.endswith(".csv") else ".yaml"
    return await _install(request, ui, services, body, suffix)


# --- suppliers --------------------------------------------------------------------------------------------


def _suppliers_page(request: Request, ui: UiContext, session: Any, *, form: dict[str, str] | None = None,
                    problems: list[str] | None = None, message: str | None = None,
                    status_code: int = 200) -> HTMLResponse:
    return render(request, "suppliers.html", ui=ui, status_code=status_code, suppliers=tables.load_suppliers(session),
                  form=form or {}, problems=problems or [], message=message)


@router.get("/suppliers")
def suppliers_page(request: Request, ui: Admin, session: ReadSession) -> HTMLResponse:
    """The suppliers; ``?edit=CREDITOR`` fills the form with that supplier (change one field, not retype all)."""
    done = request.query_params.get("done")
    edit = request.query_params.get("edit")
    found = next((s for s in tables.load_suppliers(session) if s.creditor_number == edit), None) if edit else None
    form = {"creditor_number": found.creditor_number, "name": found.name, "ibans": ", ".join(found.ibans),
            "vat_id": found.vat_id or "", "tax_number": found.tax_number or ""} if found is not None else None
    return _suppliers_page(request, ui, session, form=form,
                           message=f"sup.done.{done}" if done in ("saved", "imported") else None)


def check_supplier(form: dict[str, str]) -> tuple[tables.SupplierRecord | None, list[str]]:
    """A supplier from the edit form, checked like the CSV import (IBAN and VAT id check digits)."""
    problems = []
    creditor, name = form.get("creditor_number", "").strip(), form.get("name", "").strip()
    if not creditor or not name:
        problems.append("sup.problem.required")
    ibans = []
    for raw in form.get("ibans", "").replace(",", "\n").splitlines():
        iban = parsers.compact(raw)
        if iban:
            if parsers.iban_problem(iban):
                problems.append("sup.problem.iban")
            ibans.append(iban)
    vat_id = parsers.compact(form.get("vat_id", "")) or None
    if vat_id and parsers.vat_id_problem(vat_id):
        problems.append("sup.problem.vat_id")
    if problems:
        return None, problems
    return tables.SupplierRecord(creditor, name, tuple(ibans), vat_id, form.get("tax_number", "").strip() or None), []


@router.post("/suppliers")
async def supplier_save(request: Request, ui: AdminChanging, services: ServicesDep, session: ReadSession) -> Response:
    form = {k: str(v)[:500] for k, v in (await request.form()).items() if k != "csrf"}
    record, problems = check_supplier(form)
    if record is None:
        return _suppliers_page(request, ui, session, form=form, problems=problems, status_code=422)
    with session_scope(services.pipeline.sessions) as writing:
        created, _ = tables.upsert_suppliers(writing, [record])
        audit.record(writing, actor=ui.principal.actor, action="supplier.created" if created else "supplier.changed",
                     object_type="supplier", object_id=record.creditor_number,
                     details={"name": record.name, "ibans": list(record.ibans), "vat_id": record.vat_id,
                              "tax_number": record.tax_number})
    return redirect(f"{UI_PREFIX}/suppliers?done=saved", request)


@router.post("/suppliers/import")
async def supplier_import(request: Request, ui: AdminChanging, services: ServicesDep,
                          session: ReadSession) -> Response:
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return _suppliers_page(request, ui, session, problems=["sup.problem.file"], status_code=422)
    body = await upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        if len(body) > MAX_UPLOAD_BYTES:
            raise ValueError("too large")
        suppliers = read_suppliers_csv(body.decode("utf-8-sig"))
    except (MailroomError, ValueError, UnicodeDecodeError) as exc:
        return _suppliers_page(request, ui, session, problems=[str(exc)], status_code=422)
    records = [tables.SupplierRecord(s.creditor_number, s.name, s.ibans, s.vat_id, s.tax_number) for s in suppliers]
    with session_scope(services.pipeline.sessions) as writing:
        created, updated = tables.upsert_suppliers(writing, records)
        audit.record(writing, actor=ui.principal.actor, action="suppliers.imported", object_type="supplier",
                     object_id=None, details={"created": created, "updated": updated,
                                              "sha256": hashlib.sha256(body).hexdigest()})
    return redirect(f"{UI_PREFIX}/suppliers?done=imported", request)


@router.get("/suppliers/export")
def supplier_export(ui: Admin, session: ReadSession) -> Response:
    text = write_suppliers_csv(tables.load_suppliers(session))
    return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="suppliers.csv"'})
