#!/usr/bin/env bash
# The demo: set everything up, then run mailroom on the committed sample mail.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export MAILROOM_DATA_DIR="${MAILROOM_DATA_DIR:-$PWD/data/demo}"
echo "mailroom: processing the committed sample mail in sample_docs/committed (data in $MAILROOM_DATA_DIR)" >&2
.venv/bin/mailroom process sample_docs/committed "$@"
