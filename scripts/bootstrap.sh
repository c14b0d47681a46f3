#!/usr/bin/env bash
# Installs what mailroom needs on a Debian machine, idempotently: system packages (Tesseract with the German
# model, Poppler, Redis, PostgreSQL, fonts), a virtual environment in .venv with exactly the Python packages of
# requirements-dev.lock (hash-checked; scripts/lock.sh regenerates it), the package itself, and the default
# recognition models (trained once from generated mail, so that no first letter waits for them).
# The Redis and PostgreSQL servers are for the test suite, which starts its own on private ports and folders:
# the system services that Debian starts and enables on 6379/5432 are stopped and disabled again (nothing uses
# them; a deployment runs its own, see docker-compose.yml). MAILROOM_KEEP_SYSTEM_SERVICES=1 leaves them alone.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng tesseract-ocr-osd poppler-utils redis-server postgresql dovecot-imapd
              fonts-dejavu-core fonts-liberation fonts-urw-base35 python3-venv chromium curl openssl)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing system packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  if [ -z "${MAILROOM_KEEP_SYSTEM_SERVICES:-}" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now redis-server postgresql dovecot >/dev/null 2>&1 || true
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.mailroom-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements-dev.lock -nt "$stamp" ]; then
  echo "bootstrap: installing requirements-dev.lock and mailroom into .venv" >&2
  .venv/bin/python -m pip install -q --require-hashes -r requirements-dev.lock >&2
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e . >&2
  if ! .venv/bin/python -m pip check >&2; then  # a dependency added to pyproject.toml but not to the locks
    echo "bootstrap: requirements-dev.lock lacks a dependency of pyproject.toml: run scripts/lock.sh, commit" \
         "the lock files" >&2
    exit 1
  fi
  touch "$stamp"
fi

# the default recognition models, built here rather than by the first letter (into ~/.cache/mailroom or
# MAILROOM_MODELS_CACHE_DIR; a new data directory copies them); a no-op when they are built
if [ -z "${MAILROOM_SKIP_MODELS:-}" ]; then
  .venv/bin/mailroom models prepare >&2
fi
