#!/usr/bin/env bash
# A local image registry (the CNCF distribution registry) on 127.0.0.1:${DOCKSTEP_REGISTRY_PORT:-5000},
# storing under .dockstep/registry, for the delivery example when no remote registry is at hand.
# Idempotent: does nothing when one already answers. scripts/stop-registry.sh stops it.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${DOCKSTEP_STATE:-$REPO_ROOT/.dockstep}"
PORT="${DOCKSTEP_REGISTRY_PORT:-5000}"
URL="http://127.0.0.1:$PORT/v2/"

answers() { python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$URL" 2>/dev/null; }

if answers; then
    echo "ensure-registry: a registry already answers at 127.0.0.1:$PORT"
    exit 0
fi
if ! command -v docker-registry >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry
fi
mkdir -p "$STATE/registry/data"
cat > "$STATE/registry/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $STATE/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
YAML
setsid docker-registry serve "$STATE/registry/config.yml" </dev/null >"$STATE/registry/registry.log" 2>&1 &
echo $! > "$STATE/registry/registry.pid"
for _ in $(seq 100); do
    answers && { echo "ensure-registry: started a registry at 127.0.0.1:$PORT (pid $(cat "$STATE/registry/registry.pid"))"; exit 0; }
    sleep 0.1
done
echo "ensure-registry: the registry did not answer; see $STATE/registry/registry.log" >&2
exit 1
