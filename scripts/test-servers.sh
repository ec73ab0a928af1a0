#!/usr/bin/env bash
# The store and queue tests start real PostgreSQL and Redis servers (test/helpers/servers.ts) from
# Debian's packages. This installs the packages that are missing (apt, as root or through sudo);
# it does nothing when both are there. `npm test` runs it first (pretest), and so does `.ci/run`.
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "tuna tests: ${missing[*]} missing and no apt-get here: install PostgreSQL and Redis servers (Debian packages postgresql, redis-server)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "tuna tests: ${missing[*]} missing; install them as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
echo "tuna tests: installing ${missing[*]} (Debian packages) for the store and queue tests" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
