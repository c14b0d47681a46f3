"""Suite-wide setup.

The recognition models are trained once per test run into one shared folder (``MAILROOM_MODELS_DIR``, inherited
by every subprocess the tests start): training on generated mail takes about a minute, and every test that routes
a document with a fresh data directory would otherwise train its own. Parallel test workers wait for each other
on the models folder's lock, so the first one trains and the others load.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def _code_version() -> str:
    """A hash of the code that trains and reads the models: a changed feature set never meets a stale model."""
    digest = hashlib.sha256()
    trainer = [_ROOT / "routing" / "training.py", _ROOT / "routing" / "recognition.py"]
    for path in sorted([*(_ROOT / "classifiers").glob("*.py"), *trainer]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


_shared = Path(tempfile.gettempdir()) / f"mailroom-test-models-{_code_version()}"
os.environ.setdefault("MAILROOM_MODELS_DIR", str(_shared))
