#!/usr/bin/env bash
# Regenerates the lock files from pyproject.toml: every Python dependency pinned, with the hashes of all of its
# release files (any platform, Python 3.11+), so that an install on a fresh machine gets exactly what CI tested.
#   requirements.lock      the service (base + service + postgres extras): the Dockerfile installs it
#   requirements-dev.lock  the same plus the dev tools: scripts/bootstrap.sh (and so CI) installs it
# Run it after changing a dependency in pyproject.toml, and commit the lock files with that change:
#   scripts/lock.sh              keeps every pin that still satisfies pyproject.toml, adds what is new
#   scripts/lock.sh --upgrade    moves every pin to the newest release that satisfies pyproject.toml
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || scripts/bootstrap.sh
build_requirements='setuptools>=77
wheel'
common=(--generate-hashes --universal --python-version 3.11 --quiet --custom-compile-command "scripts/lock.sh")
echo "$build_requirements" | .venv/bin/uv pip compile pyproject.toml - --extra service --extra postgres \
  "${common[@]}" "$@" -o requirements.lock
echo "$build_requirements" | .venv/bin/uv pip compile pyproject.toml - --extra dev \
  "${common[@]}" "$@" -o requirements-dev.lock
echo "lock: requirements.lock and requirements-dev.lock written; commit them with pyproject.toml" >&2
