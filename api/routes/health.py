"""``/healthz`` (the process answers) and ``/readyz`` (it can take and process documents)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.readiness import check_readiness, mailbox_health
from api.schemas import CheckInfo, Liveness, Readiness

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    summary="Readiness: database at schema head, blob folder writable, Tesseract + language, broker",
    responses={503: {"model": Readiness, "description": "not ready; `checks` says why"}},
)
def readyz(services: ServicesDep) -> JSONResponse:
    results = check_readiness(services.settings, services.pipeline, services.dispatcher)
    ready = all(r.ok for r in results)
    body = Readiness(
        status="ready" if ready else "not_ready",
        checks={r.name: CheckInfo(ok=r.ok, detail=r.detail) for r in results},
        mailboxes=mailbox_health(services.pipeline),
    ).model_dump(mode="json")
    if not ready:
        failing = ", ".join(r.name for r in results if not r.ok)
        body |= {"code": "not_ready", "message": f"not ready: {failing}"}
    return JSONResponse(body, status_code=200 if ready else 503)
