"""The web UI: server-rendered pages (Jinja2) with htmx (vendored in ``static/``, no CDN), under ``/ui``.

:func:`install` adds the pages, the static files and the handlers that turn "not signed in", "CSRF token
missing", "forbidden" and "not found" into pages. The routes are thin: they call the same service functions as
the REST API with the signed-in user's principal (:mod:`api.ui.web`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.ui import account, accounts, dashboard, documents, masterdata, postboxes, review, rules, signin, station
from api.ui.web import STATIC_DIR, UI_PREFIX, redirect, render
from mailroom.errors import CsrfRefused, SignInRequired, UiForbidden, UiNotFound


def install(app: FastAPI) -> None:
    """Mount the UI on ``app``."""
    app.mount(f"{UI_PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    app.include_router(signin.router)
    app.include_router(review.router)
    app.include_router(documents.router)
    app.include_router(station.router)
    app.include_router(postboxes.router)
    app.include_router(rules.router)
    app.include_router(dashboard.router)
    app.include_router(masterdata.router)
    app.include_router(accounts.router)
    app.include_router(account.router)

    @app.exception_handler(SignInRequired)
    def _sign_in(request: Request, exc: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        query = f"next={quote(target)}" if request.method == "GET" else ""
        if exc.expired:
            query = f"{query}&expired=1" if query else "expired=1"
        return redirect(f"{UI_PREFIX}/login?{query}", request)

    @app.exception_handler(CsrfRefused)
    def _csrf(request: Request, _exc: CsrfRefused) -> Response:
        return render(request, "error.html", ui=None, status_code=403, message="error.csrf")

    @app.exception_handler(UiForbidden)
    def _forbidden(request: Request, _exc: UiForbidden) -> Response:
        return render(request, "error.html", ui=None, status_code=403, message="error.forbidden")

    @app.exception_handler(UiNotFound)
    def _not_found(request: Request, _exc: UiNotFound) -> Response:
        return render(request, "error.html", ui=None, status_code=404, message="error.not_found")
