#!/usr/bin/env bash
# The services example (examples/services) end to end, in a scratch git repository:
# a first push builds and pushes both services, tests them together on the exact digests
# they pushed, and deploys the new api image; then a pull request that touches api/ only
# shows which pipelines it would run. Registry and services on 127.0.0.1 only.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
dockstep() { PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m runner.cli "$@"; }

"$REPO_ROOT/scripts/ensure-registry.sh"
BASE="$("$REPO_ROOT/images/bootstrap.sh" tiny)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"; docker rm -f services-it-api services-it-web services-staging-api \
      services-it-api-previous services-it-web-previous services-staging-api-previous \
      >/dev/null 2>&1 || true' EXIT
cp -r "$REPO_ROOT/examples/services/." "$WORK/"
cd "$WORK"
git init --quiet --initial-branch=main
git -c user.name=dockstep -c user.email=dockstep@example.invalid add --all
git -c user.name=dockstep -c user.email=dockstep@example.invalid commit --quiet -m "services"

started=$(date +%s)
dockstep run --all --event push --var "BASE_IMAGE=$BASE" --report report.json
echo "services example: run --all took $(( $(date +%s) - started ))s"

git switch --quiet -c change-api
echo "hello from api, v2" > api/www/hello
git -c user.name=dockstep -c user.email=dockstep@example.invalid commit --quiet -am "api v2"
echo
echo "A pull request into main that changes api/ only:"
dockstep plan --all --event pull_request --base main --var "BASE_IMAGE=$BASE"
