#!/usr/bin/env bash
# Everything `make test` and `make ci` need on a fresh Debian machine: the project's
# venv, a running Docker engine and the locally made base images. Idempotent and quick
# when everything is already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${VENV:-.venv}"
stamp="$VENV/.dockstep-installed"
if [[ ! -x "$VENV/bin/python" ]]; then
    python3 -m venv "$VENV"
fi
# Reinstall only when the dependency list changed.
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -e '.[dev]'
    echo "$want" > "$stamp"
fi

# Compiled bytecode for the package: an editable install never writes it where
# PYTHONDONTWRITEBYTECODE=1 is set (this machine), and every start would compile the
# package again (~70 ms). Quick when it is up to date; Python checks each .pyc's source time.
"$VENV/bin/python" -m compileall -q runner

scripts/ensure-docker.sh
# The swarm backend's tests run on a one-node swarm; once made, it is left (other runs share
# the engine, and leaving would remove their services).
if [[ "$(docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null)" != "active" ]]; then
    echo "setup: docker swarm init (a one-node swarm on 127.0.0.1)" >&2
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi
# The integration tests run a real image registry (the CNCF distribution registry).
if ! command -v docker-registry >/dev/null 2>&1; then
    echo "setup: installing docker-registry" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry
fi
images/bootstrap.sh tiny >/dev/null
images/bootstrap.sh debian >/dev/null
# The dashboard's browser test drives Debian's headless Chromium with its chromedriver
# (selenium never downloads a driver: the test names /usr/bin/chromedriver).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "setup: installing chromium and chromium-driver" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi
