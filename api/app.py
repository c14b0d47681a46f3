"""The FastAPI application of mailroom: REST API v1, health and metrics.

``create_app(settings, dispatcher=...)`` builds one app: it brings the database schema to the newest revision,
opens storage (``PipelineContext``), and takes the dispatcher that hands received documents to the workers
(``InlineDispatcher`` in tests and the simplest embedded setup, the Celery dispatcher otherwise). Nothing is
global: routes get what they need from ``app.state.services`` through ``api.deps``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api.deps import Services
from api.errors import install_error_handlers
from api.metrics import ServiceMetrics
from api.routes import documents, health, metrics
from api.routes.corrections import router as corrections_router
from api.routes.deletion import router as deletion_router
from api.routes.directory import router as directory_router
from api.routes.postboxes import copy_router as postbox_copy_router
from api.routes.postboxes import router as postboxes_router
from api.routes.reprocess import router as reprocess_router
from api.routes.rescan import router as rescan_router
from api.routes.rules import router as rules_router
from api.routes.split import router as split_router
from api.routes.webhooks import router as webhooks_router
from api.ui import install as install_ui
from mailroom import __version__
from mailroom.settings import Settings
from webhooks.delivery import install_kick
from workers.dispatch import Dispatcher
from workers.pipeline import PipelineContext

DESCRIPTION = """
The intelligent mail intake of the town hall. Scanning stations upload scanned mail; mailroom reads it (OCR,
text layer or e-invoice XML), recognises it and routes it into department postboxes.

**Authentication**: every `/api/v1` call needs an API key (`mailroom keys create --role ROLE --name NAME`),
sent as `Authorization: Bearer mr_<id>_<secret>`. Roles: `station` (upload, own uploads), `clerk` and `dms`
(documents of their postboxes), `reviewer`, `admin`. A document outside the caller's scope answers 404.

**Errors** are JSON: `{"code": "...", "message": "...", "field": "..."}` with a stable `code`.
"""

TAGS = [
    {"name": "documents", "description": "Upload scanned mail; status, result, original, searchable PDF, pages"},
    {"name": "review", "description": "Review decisions and re-routes (corrections that teach the models)"},
    {"name": "postboxes", "description": "Clerks and the DMS: list, claim, acknowledge, send a copy on"},
    {"name": "rules", "description": "Routing rule sets: drafts, validation, simulation, versions (admin)"},
    {"name": "directory", "description": "The organisation directory: departments, persons, postboxes"},
    {"name": "webhooks", "description": "Webhook subscriptions, delivery log and replay (admin)"},
    {"name": "retention", "description": "Deletion on request (data protection; admin)"},
    {"name": "operations", "description": "Liveness, readiness and Prometheus metrics (no key needed)"},
]


def create_app(settings: Settings, *, dispatcher: Dispatcher, pipeline: PipelineContext | None = None) -> FastAPI:
    """The app for ``settings``; received documents go to ``dispatcher``.

    ``pipeline`` reuses an existing context (e.g. the one the dispatcher runs with); by default one is created,
    which also migrates the database.
    """
    ctx = pipeline or PipelineContext.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if pipeline is None:  # the engine is ours to close
            ctx.sessions.kw["bind"].dispose()

    # Swagger UI and ReDoc from the package's own files (fastapi-offline), never from a CDN: /docs works in a
    # closed network
    app = FastAPIOffline(
        title="mailroom",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.services = Services(
        settings=settings, pipeline=ctx, dispatcher=dispatcher, metrics=ServiceMetrics(ctx, dispatcher)
    )
    kick = getattr(dispatcher, "kick_delivery", None)
    if callable(kick):  # a review decision or re-route wrote an outbox event: deliver it now
        install_kick(ctx.sessions, kick)
    install_error_handlers(app)
    app.include_router(documents.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(corrections_router)
    app.include_router(directory_router)
    app.include_router(rules_router)
    app.include_router(postboxes_router)
    app.include_router(postbox_copy_router)
    app.include_router(deletion_router)
    app.include_router(reprocess_router)
    app.include_router(rescan_router)
    app.include_router(split_router)
    app.include_router(webhooks_router)
    install_ui(app)
    return app
