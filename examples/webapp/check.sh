#!/bin/sh
# The example's own test: the site has a page and a health endpoint that says ok.
set -eu
cd "$(dirname "$0")"
test -s www/index.html
test "$(cat www/health)" = ok
echo "webapp: 2 files checked"
