#!/usr/bin/env bash
# The demo: set everything up, start mailroom (embedded mode: API + workers, no Redis needed), feed the committed
# sample mail through the REST API as a scanning station would, and show where to look.
#   scripts/demo.sh            keeps the service running until Ctrl-C
#   DEMO_EXIT=1 scripts/demo.sh   stops the service after the mail is processed
#   DEMO_SAMPLES=DIR scripts/demo.sh   feeds the files of DIR instead (your own scans; the tests use two letters)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

export MAILROOM_DATA_DIR="${MAILROOM_DATA_DIR:-$PWD/data/demo}"
PORT="${PORT:-8000}"
URL="http://127.0.0.1:$PORT"
MR=.venv/bin/mailroom
mkdir -p "$MAILROOM_DATA_DIR"

echo "mailroom demo: data in $MAILROOM_DATA_DIR, service on $URL" >&2
$MR serve --port "$PORT" > "$MAILROOM_DATA_DIR/serve.log" 2>&1 &
SERVE_PID=$!
stop() { kill -TERM "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; }
trap stop EXIT INT TERM

echo -n "waiting for the service to be ready" >&2
for _ in $(seq 1 120); do
  if curl -fsS "$URL/readyz" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVE_PID" 2>/dev/null; then echo; cat "$MAILROOM_DATA_DIR/serve.log" >&2; exit 1; fi
  echo -n "." >&2; sleep 1
done
echo >&2

# keys for the demo: a station that uploads, an admin who looks (new ones on every run, the earlier run's revoked;
# key names are never reused, so each run's names carry its time). The tokens go into files only the owner may read
# (never onto a command line, where `ps` shows them) and are shown once below.
for old in $($MR keys list --json | .venv/bin/python -c '
import json, sys
for line in sys.stdin:
    if json.loads(line)["name"].startswith(("demo-station", "demo-admin")): print(json.loads(line)["name"])'); do
  $MR keys revoke "$old" > /dev/null
done
RUN="$(date -u +%Y%m%d-%H%M%S)"
umask 077
new_key() {  # ROLE NAME [SCOPE...]: the token into $MAILROOM_DATA_DIR/demo-ROLE.token, errors shown
  local role="$1" name="$2"; shift 2
  if ! $MR keys create --role "$role" --name "$name" "$@" > "$MAILROOM_DATA_DIR/demo-$role.token" \
       2> "$MAILROOM_DATA_DIR/demo-keys.err"; then
    cat "$MAILROOM_DATA_DIR/demo-keys.err" >&2; exit 1
  fi
  rm -f "$MAILROOM_DATA_DIR/demo-keys.err"
}
new_key station "demo-station-$RUN" --station poststelle-1
new_key admin "demo-admin-$RUN"
printf 'Authorization: Bearer %s\n' "$(cat "$MAILROOM_DATA_DIR/demo-admin.token")" > "$MAILROOM_DATA_DIR/demo-admin.header"
umask 022

# sign-ins for the web UI, one per role: a reviewer, an admin, a clerk of the invoice postbox and the scanning
# station the mail comes from, with fresh random passwords, written to a file only the owner can read and handed
# to `mailroom users` through that file (never on a command line). Account and API key names are one namespace:
# the accounts are not named like the keys above.
SIGNINS="$MAILROOM_DATA_DIR/demo-signins.txt"
umask 077
: > "$SIGNINS"
for who in "demo-pruefer:reviewer:" "demo-verwaltung:admin:" \
           "demo-sachbearbeitung:clerk:--postbox kaemmerei-rechnungseingang" \
           "demo-scanstation:station:--station poststelle-1"; do
  IFS=: read -r name role scope <<< "$who"
  password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')
  printf '%s\n' "$password" > "$SIGNINS.tmp"
  # shellcheck disable=SC2086  # the scope is two words on purpose
  if ! $MR users create "$name" --role "$role" $scope --password-file "$SIGNINS.tmp" > /dev/null 2>&1; then
    $MR users unlock "$name" > /dev/null
    $MR users password "$name" --password-file "$SIGNINS.tmp" > /dev/null
  fi
  printf '%-20s %-9s password %s\n' "$name" "$role" "$password" >> "$SIGNINS"
done
rm -f "$SIGNINS.tmp"
umask 022

SAMPLES="${DEMO_SAMPLES:-sample_docs/committed}"
echo "uploading $SAMPLES as station poststelle-1" >&2
MAILROOM_TOKEN="$(cat "$MAILROOM_DATA_DIR/demo-station.token")" \
  $MR upload "$SAMPLES" --url "$URL" --timeout 1800 || true
H="$MAILROOM_DATA_DIR/demo-admin.header"

cat >&2 <<EOF

Demo keys (shown only this once; also in $MAILROOM_DATA_DIR/demo-*.token, readable by you alone):
  station poststelle-1  $(cat "$MAILROOM_DATA_DIR/demo-station.token")
  admin                 $(cat "$MAILROOM_DATA_DIR/demo-admin.token")
Where to look (curl reads the admin key from a header file: -H @FILE keeps it off the command line):
  web UI            $URL/ui/   sign in as (also in $SIGNINS):
$(sed 's/^/                      /' "$SIGNINS")
  API docs          $URL/docs
  all documents     curl -H @$H "$URL/api/v1/documents"
  the postboxes     curl -H @$H "$URL/api/v1/postboxes"
  a postbox         curl -H @$H "$URL/api/v1/postboxes/kaemmerei-rechnungseingang/documents?state=new"
  the review queue  curl -H @$H "$URL/api/v1/documents?state=review"
  webhooks          docs/dms-integration.md (subscribe: POST $URL/api/v1/webhooks)
  metrics, health   $URL/metrics   $URL/readyz
  service log       $MAILROOM_DATA_DIR/serve.log
The README's commands work on this demo's data once you run, in this shell:
  export MAILROOM_DATA_DIR=$MAILROOM_DATA_DIR
  .venv/bin/mailroom audit verify   (and: audit transfer-notes --format csv, documents reprocess --state failed)
EOF

if [ "${DEMO_EXIT:-0}" = "1" ]; then exit 0; fi
echo "the service keeps running; Ctrl-C stops it" >&2
wait "$SERVE_PID"
