#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`.
#
# - If it already answers: do nothing (exit 0).
# - Otherwise (root only): install docker.io with apt if `dockerd` is missing,
#   start dockerd detached (stdin /dev/null, output to $STATE/dockerd.log, own
#   session), record its pid in $STATE/dockerd.pid (only when this script
#   started it, so scripts/stop-docker.sh stops only what we started), and
#   wait up to 60 s for `docker info`.
#
# STATE is $DOCKSTEP_STATE, default <repo>/.dockstep. Works from any cwd.
# Prints one line saying what it did; exits non-zero with a reason otherwise.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${DOCKSTEP_STATE:-$REPO_ROOT/.dockstep}"
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"
WAIT_SECONDS="${DOCKSTEP_DOCKER_WAIT:-60}"

say() { printf 'ensure-docker: %s\n' "$*"; }
die() { printf 'ensure-docker: error: %s\n' "$*" >&2; exit 1; }

engine_up() {
    command -v docker >/dev/null 2>&1 || return 1
    timeout 10 docker info >/dev/null 2>&1
}

# Wait until `docker info` answers; fail early if pid $1 (when given) dies.
wait_for_engine() {
    local pid="${1:-}" deadline=$((SECONDS + WAIT_SECONDS))
    while ((SECONDS < deadline)); do
        engine_up && return 0
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            return 2
        fi
        sleep 0.5
    done
    return 1
}

if engine_up; then
    say "docker engine already running; nothing to do"
    exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
    if pidof dockerd >/dev/null 2>&1; then
        die "a dockerd is running (pid $(pidof dockerd)) but 'docker info' fails for this user
  ($(id -un)): run as root, or add the user to the 'docker' group (access to
  /var/run/docker.sock), or point DOCKER_HOST at the engine."
    fi
    die "no Docker engine answers 'docker info' and starting one needs root.
  Either run this script as root (sudo $0), or start Docker yourself
  (e.g. 'sudo systemctl start docker') and make sure your user may use
  /var/run/docker.sock (e.g. member of the 'docker' group)."
fi

mkdir -p "$STATE"
did=""

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    echo "ensure-docker: installing docker.io with apt-get (progress in $STATE/apt.log)" >&2
    {
        apt-get update &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io
    } </dev/null >"$STATE/apt.log" 2>&1 || {
        tail -n 20 "$STATE/apt.log" >&2
        die "apt-get install docker.io failed (full log: $STATE/apt.log)"
    }
    command -v dockerd >/dev/null 2>&1 || die "docker.io installed but no dockerd on PATH"
    did="installed docker.io, "
    # Where an init system is present, the package may have started it.
    if engine_up; then
        say "${did}engine started by the package; nothing else to do"
        exit 0
    fi
fi

# A dockerd that is already running (but not answering yet) must not get a
# second one beside it: wait for it instead.
if pidof dockerd >/dev/null 2>&1; then
    echo "ensure-docker: a dockerd is running (pid $(pidof dockerd)) but not answering yet; waiting" >&2
    if wait_for_engine; then
        say "${did}existing dockerd became ready; not started by this script"
        exit 0
    fi
    die "a dockerd (pid $(pidof dockerd)) is running but 'docker info' did not answer within ${WAIT_SECONDS}s"
fi

# Start dockerd detached: own session, stdin from /dev/null, stdout+stderr to
# the log, and no other inherited descriptors (a pipe held open by the daemon
# would keep whoever reads this script's output waiting for ever).
start=$SECONDS
(
    for fd in /proc/"$BASHPID"/fd/*; do
        fd="${fd##*/}"
        if ((fd > 2)); then eval "exec ${fd}>&-" 2>/dev/null || true; fi
    done
    exec setsid dockerd </dev/null >"$LOG" 2>&1
) </dev/null >/dev/null 2>&1 &
pid=$!
# In a non-interactive shell the child is not a group leader, so setsid execs
# dockerd in place and $! is dockerd's pid. Record it straight away so that
# stop-docker.sh can clean up even if we fail below.
echo "$pid" >"$PIDFILE"

if wait_for_engine "$pid"; then
    :
else
    rc=$?
    tail -n 20 "$LOG" >&2 || true
    if ((rc == 2)); then
        rm -f "$PIDFILE"
        die "dockerd exited during start-up (log: $LOG)"
    fi
    die "dockerd (pid $pid) did not answer 'docker info' within ${WAIT_SECONDS}s (log: $LOG; stop it with scripts/stop-docker.sh)"
fi

# dockerd writes its own pid to /var/run/docker.pid; prefer it if it differs
# (e.g. when setsid had to fork because job control was on).
if [[ -r /var/run/docker.pid ]]; then
    real="$(cat /var/run/docker.pid 2>/dev/null || true)"
    if [[ "$real" =~ ^[0-9]+$ ]] && [[ "$real" != "$pid" ]] &&
        [[ "$(cat /proc/"$real"/comm 2>/dev/null || true)" == dockerd ]]; then
        pid="$real"
        echo "$pid" >"$PIDFILE"
    fi
fi

say "${did}started dockerd (pid $pid) in $((SECONDS - start))s; log $LOG, pid file $PIDFILE"
