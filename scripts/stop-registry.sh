#!/usr/bin/env bash
# Stop the registry scripts/ensure-registry.sh started (a no-op when it started none).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PIDFILE="${DOCKSTEP_STATE:-$REPO_ROOT/.dockstep}/registry/registry.pid"
[[ -f "$PIDFILE" ]] || exit 0
pid="$(cat "$PIDFILE")"
if [[ "$(cat /proc/"$pid"/comm 2>/dev/null || true)" == docker-registry ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "stop-registry: stopped the registry (pid $pid)"
fi
rm -f "$PIDFILE"
