#!/usr/bin/env bash
# Stop the dockerd that scripts/ensure-docker.sh started (it left its pid in
# $STATE/dockerd.pid). A no-op when there is no pid file, so an engine that
# was already running (or started by someone else) is never touched.
# SIGTERM first, SIGKILL after 20 s; waits until the process is gone.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${DOCKSTEP_STATE:-$REPO_ROOT/.dockstep}"
PIDFILE="$STATE/dockerd.pid"
GRACE_SECONDS="${DOCKSTEP_DOCKER_STOP_GRACE:-20}"

say() { printf 'stop-docker: %s\n' "$*"; }

if [[ ! -f "$PIDFILE" ]]; then
    say "no $PIDFILE; nothing started by ensure-docker.sh, nothing to stop"
    exit 0
fi

pid="$(tr -dc '0-9' <"$PIDFILE")"

# Only signal the pid if it still is a dockerd (pids get reused); a zombie
# (exited, not yet reaped by init) counts as gone.
is_our_dockerd() {
    local stat
    [[ -n "$pid" ]] || return 1
    [[ "$(cat /proc/"$pid"/comm 2>/dev/null || true)" == dockerd ]] || return 1
    stat="$(cat /proc/"$pid"/stat 2>/dev/null || true)"
    stat="${stat##*) }"
    [[ -n "$stat" && "${stat:0:1}" != Z ]]
}

if ! is_our_dockerd; then
    rm -f "$PIDFILE"
    say "dockerd (pid ${pid:-?}) was not running; removed stale pid file"
    exit 0
fi

kill -TERM "$pid" 2>/dev/null || true
deadline=$((SECONDS + GRACE_SECONDS))
while is_our_dockerd && ((SECONDS < deadline)); do
    sleep 0.2
done

how="SIGTERM"
if is_our_dockerd; then
    # dockerd's own containerd would outlive a SIGKILL: take it along.
    children="$(pgrep -P "$pid" || true)"
    kill -KILL "$pid" 2>/dev/null || true
    for child in $children; do kill -TERM "$child" 2>/dev/null || true; done
    how="SIGKILL after ${GRACE_SECONDS}s"
    while is_our_dockerd; do sleep 0.2; done
fi

rm -f "$PIDFILE"
say "stopped dockerd (pid $pid) with $how"
