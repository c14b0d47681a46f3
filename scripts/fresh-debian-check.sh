#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12 (bookworm), as close to a new machine as one host gets: a new
# root file system from debootstrap (nothing of this host's Python, venvs, pip configuration or caches), a clean
# `git clone` of one commit into it, then in a chroot exactly what the README says: `scripts/demo.sh` (with
# DEMO_EXIT=1, so that it ends) and `scripts/test.sh`, as a login shell of the chosen user.
#
#   sudo scripts/fresh-debian-check.sh [options] [-- PYTEST ARGS...]
#     --commit REV     what to clone (default: HEAD of this checkout; committed changes only)
#     --user NAME      run the two commands as NAME, a new sudoer (default: root, as CI does)
#     --runs N         demo then test, N times in a row in the same root (default 1; the issue asks for 3)
#     --skip-demo | --skip-test
#     --nice N         niceness of the two commands (default 0; on a shared machine: 19)
#     --keep           keep the root file system (default: deleted at the end)
#     --root DIR       where to build it (default: a new folder under /var/tmp)
#     --shared DIR     the project's shared folder (DESIGN.md, the public e-invoice samples some tests read as
#                      ../shared), copied next to the clone as on the delivered layout (default: the one next to
#                      the main checkout, if any; "none": without it, those tests fail)
#     PYTEST ARGS      passed to scripts/test.sh (a subset of the suite, e.g. tests/test_faults_heal.py)
#   MIRROR=http://deb.debian.org/debian (default)
#
# Needs root (debootstrap, chroot, mounts), debootstrap, git and unshare (util-linux). Everything runs in private
# PID and mount namespaces: /proc, /sys, /dev, /dev/pts and /dev/shm are mounted for the chroot only, and when the
# script ends (also on Ctrl-C or an error) every process started in the chroot is killed and every mount is gone.
# The only differences from a new machine: no systemd runs in the chroot, so package installs must not start
# services (policy-rc.d says so, as in any container; on a real machine the bootstrap stops and disables them);
# the kernel, the network and the host name are the host's. When this host's network intercepts TLS (its own CA
# certificates in /usr/local/share/ca-certificates), they are installed in the chroot too and pip is pointed at
# the system's CA bundle (/etc/pip.conf), or no package index could be reached; the summary says so.
# Figures and logs: $LOGDIR (default: /var/tmp/mailroom-fresh-logs-<time>), a summary at the end.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
COMMIT=HEAD RUN_USER=root RUNS=1 DO_DEMO=1 DO_TEST=1 NICE=0 KEEP=0 ROOT=""
SHARED="$(cd "$(git -C "$REPO" rev-parse --git-common-dir)/../.." && pwd)/shared"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
while [ $# -gt 0 ]; do
  case "$1" in
    --commit) COMMIT="$2"; shift 2 ;;
    --user) RUN_USER="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --skip-demo) DO_DEMO=0; shift ;;
    --skip-test) DO_TEST=0; shift ;;
    --nice) NICE="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --root) ROOT="$2"; shift 2 ;;
    --shared) SHARED="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-debian-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
PYTEST_ARGS=("$@")
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian-check: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
for tool in debootstrap git unshare chroot; do
  command -v "$tool" > /dev/null || { echo "fresh-debian-check: $tool is missing (apt-get install debootstrap)" >&2; exit 2; }
done
[[ "$RUN_USER" =~ ^[a-z][a-z0-9-]*$ ]] || { echo "fresh-debian-check: bad user name $RUN_USER" >&2; exit 2; }
SHA="$(git -C "$REPO" rev-parse --verify "$COMMIT^{commit}")"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
LOGDIR="${LOGDIR:-/var/tmp/mailroom-fresh-logs-$STAMP}"
mkdir -p "$LOGDIR"
if [ -z "$ROOT" ]; then ROOT="$(mktemp -d /var/tmp/mailroom-fresh-root.XXXXXX)"; else mkdir -p "$ROOT"; fi
ROOT="$(cd "$ROOT" && pwd)"
chmod 755 "$ROOT"  # it is the chroot's "/" (mktemp made it 0700: no other user could reach anything)
SUMMARY="$LOGDIR/summary.txt"
say() { echo "fresh-debian-check: $*" | tee -a "$SUMMARY" >&2; }

cleanup() {
  local rc=$?
  # the namespaces took the chroot's processes and mounts with them; refuse to delete through a mount anyway
  if grep -q " $ROOT/" /proc/self/mountinfo; then
    say "mounts under $ROOT are still there: not deleting it"
  elif [ "$KEEP" -eq 0 ]; then
    rm -rf --one-file-system "$ROOT"
  else
    say "root file system kept in $ROOT"
  fi
  say "exit status $rc; logs in $LOGDIR"
  exit "$rc"
}
trap cleanup EXIT
INSIDE=""
# ended from outside: end the chroot's namespace first. unshare --fork ignores TERM and INT while it waits for its
# child, so it gets KILL, and --kill-child takes every process in the namespace along
trap 'if [ -n "$INSIDE" ]; then kill -KILL "$INSIDE" 2> /dev/null; wait "$INSIDE" 2> /dev/null; fi; exit 130' INT TERM

say "commit $SHA of $REPO; user $RUN_USER; $RUNS run(s); root $ROOT; mirror $MIRROR"
t0=$(date +%s)
debootstrap --include=ca-certificates,git,sudo bookworm "$ROOT" "$MIRROR" > "$LOGDIR/debootstrap.log" 2>&1 \
  || { tail -20 "$LOGDIR/debootstrap.log" >&2; say "debootstrap failed"; exit 1; }
say "debootstrap: $(( $(date +%s) - t0 )) s"

# the machine's set-up (what a provider's image has), not the user's steps
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
printf '127.0.0.1 localhost\n127.0.1.1 %s\n::1 localhost ip6-localhost ip6-loopback\n' "$(hostname)" > "$ROOT/etc/hosts"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
  "$MIRROR" "$MIRROR" > "$ROOT/etc/apt/sources.list"
host_cas=(/usr/local/share/ca-certificates/*.crt)
if [ -e "${host_cas[0]}" ]; then  # this host's network intercepts TLS: trust what the host trusts
  cp "${host_cas[@]}" "$ROOT/usr/local/share/ca-certificates/"
  chroot "$ROOT" update-ca-certificates > /dev/null 2>&1
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$ROOT/etc/pip.conf"
  say "this host's network CA certificates installed in the chroot (${#host_cas[@]}), pip uses the system bundle"
fi
if [ "$RUN_USER" = root ]; then HOME_DIR=/root; else
  chroot "$ROOT" useradd --create-home --shell /bin/bash "$RUN_USER"
  printf '%s ALL=(ALL) NOPASSWD:ALL\n' "$RUN_USER" > "$ROOT/etc/sudoers.d/$RUN_USER"
  chmod 440 "$ROOT/etc/sudoers.d/$RUN_USER"
  HOME_DIR="/home/$RUN_USER"
fi

if [ "$SHARED" != none ] && [ -d "$SHARED" ]; then
  mkdir -p "$ROOT$HOME_DIR/shared"
  for item in "$SHARED"/*.md "$SHARED/data"; do [ -e "$item" ] && cp -a "$item" "$ROOT$HOME_DIR/shared/"; done
  chroot "$ROOT" chown -R "$RUN_USER:" "$HOME_DIR/shared"
  say "shared folder: $SHARED -> $HOME_DIR/shared"
else
  say "no shared folder: the tests that read ../shared will fail"
fi

# the commit, and only its history, as the repository the user clones from
git init -q --bare "$ROOT/srv/mailroom.git"
git -C "$ROOT/srv/mailroom.git" fetch -q --no-tags "$REPO" "$SHA:refs/heads/fresh-check"
chmod -R a+rX "$ROOT/srv/mailroom.git"
[ "$RUN_USER" = root ] || chroot "$ROOT" chown -R "$RUN_USER:" /srv/mailroom.git  # git's safe.directory

# what runs inside the namespaces: mounts for the chroot, then the user's commands as a login shell
cat > "$LOGDIR/inside.sh" <<'EOF'
set -euo pipefail
mount -t proc proc "$ROOT/proc"
mount -t sysfs -o ro sysfs "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$ROOT/dev/pts"
mount -t tmpfs -o mode=1777,size=2g shm "$ROOT/dev/shm"
as_user() {  # a login shell of the user, in the chroot; its output to $1
  local log="$1"; shift
  nice -n "$NICE" chroot "$ROOT" /usr/sbin/runuser -l "$RUN_USER" -c "$*" > "$log" 2>&1
}
as_user "$LOGDIR/clone.log" "git clone -q --branch fresh-check /srv/mailroom.git ~/mailroom"
echo "cloned: $(chroot "$ROOT" git -c safe.directory='*' -C "$HOME_DIR/mailroom" log -1 --format='%h %s' | cut -c1-100)" | tee -a "$SUMMARY" >&2
status=0
for run in $(seq 1 "$RUNS"); do
  if [ "$DO_DEMO" -eq 1 ]; then
    t=$(date +%s); rc=0
    as_user "$LOGDIR/demo-$run.log" "cd ~/mailroom && DEMO_EXIT=1 scripts/demo.sh" || rc=$?
    line=$(grep -a "angenommen" "$LOGDIR/demo-$run.log" | tail -1 || true)
    echo "run $run: scripts/demo.sh: exit $rc, $(( $(date +%s) - t )) s: ${line:-no summary line}" | tee -a "$SUMMARY" >&2
    if [ "$rc" -ne 0 ] || ! grep -Eq '(^| )0 Probleme' <<< "$line"; then status=1; fi
  fi
  if [ "$DO_TEST" -eq 1 ]; then
    t=$(date +%s); rc=0
    as_user "$LOGDIR/test-$run.log" "cd ~/mailroom && scripts/test.sh $PYTEST_ARGS" || rc=$?
    line=$(grep -aE '^=+ .*(passed|failed|error).* in ' "$LOGDIR/test-$run.log" | tail -1 || true)
    echo "run $run: scripts/test.sh $PYTEST_ARGS: exit $rc, $(( $(date +%s) - t )) s: ${line:-no pytest summary}" \
      | tee -a "$SUMMARY" >&2
    [ "$rc" -eq 0 ] || status=1
  fi
done
exit "$status"
EOF
rc=0
ROOT="$ROOT" LOGDIR="$LOGDIR" SUMMARY="$SUMMARY" RUN_USER="$RUN_USER" HOME_DIR="$HOME_DIR" RUNS="$RUNS" \
  DO_DEMO="$DO_DEMO" DO_TEST="$DO_TEST" NICE="$NICE" PYTEST_ARGS="${PYTEST_ARGS[*]:-}" \
  unshare --mount --pid --fork --kill-child --propagation private --mount-proc bash "$LOGDIR/inside.sh" &
INSIDE=$!  # in the background, so that a TERM or Ctrl-C to this script is handled at once (the trap ends it)
wait "$INSIDE" || rc=$?
INSIDE=""
say "total $(( $(date +%s) - t0 )) s"
exit "$rc"
