#!/usr/bin/env bash
# The test suite: set everything up, check style, types and the import contracts (layers, see CONTRIBUTING.md),
# run pytest (real Tesseract, Poppler, SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
