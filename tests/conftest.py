"""Suite-wide setup.

The recognition models are trained once, before the first test starts (:func:`pytest_sessionstart`), into one
shared folder (``MAILROOM_MODELS_DIR``, inherited by every subprocess the tests start): training on generated mail
takes one to three minutes, and every test that routes a document with a fresh data directory would otherwise train
its own, or the first one would wait for the training within its own time limit.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_ROOT = Path(__file__).resolve().parent.parent


def _code_version() -> str:
    """The hash the default-models cache uses (routing.training.code_version): one notion of "the models' code"."""
    from routing.training import code_version

    return code_version()


# per user: one user may not write (lock) another's folder
_shared = Path(tempfile.gettempdir()) / f"mailroom-test-models-{_code_version()}-{os.getuid()}"
os.environ.setdefault("MAILROOM_MODELS_DIR", str(_shared))


def pytest_sessionstart(session: object) -> None:
    """Train the shared models before the first test starts (once per code version; a second run loads them), so
    that no test's wait for a letter includes minutes of training. Under xdist only the controller trains."""
    if hasattr(getattr(session, "config", None), "workerinput"):
        return
    from mailroom.settings import Settings
    from routing.training import ensure_default_models

    ensure_default_models(Settings(models_dir=Path(os.environ["MAILROOM_MODELS_DIR"])))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (tests/uikit.py): one per UI test module."""
    from uikit import chromium

    with chromium() as running:
        yield running


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (German, 1400 × 1000) and its page, closed after the test."""
    context = browser.new_context(locale="de-DE", viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()
