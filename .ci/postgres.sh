#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the store tests and prints the storage URL on
# stdout (everything else goes to stderr). Used by .ci/run; developers can run it too:
#   export QFRONT_TEST_POSTGRES=$(bash .ci/postgres.sh)
# Installs Debian's postgresql package when no server binaries are found. The cluster lives
# in $QFRONT_PG_DIR (default: a new temporary directory; stop it with
# `pg_ctl -D $QFRONT_PG_DIR/db stop`), listens on 127.0.0.1 only, on the first free port from
# 54329, and trusts local connections (it holds nothing but test studies).
set -euo pipefail
find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
bin="$(find_bin || true)"
if [ -z "$bin" ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2 \
    || (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >&2
  bin="$(find_bin)"
fi
[ -n "$bin" ] || { echo "no PostgreSQL server binaries found" >&2; exit 1; }

# PostgreSQL refuses to run as root: run it as the 'postgres' user when we are root.
as_owner() {
  if [ "$(id -u)" = "0" ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
data="${QFRONT_PG_DIR:-$(mktemp -d /tmp/qfront-pg.XXXXXX)}"
mkdir -p "$data"
chmod 755 "$data"
[ "$(id -u)" = "0" ] && chown postgres "$data"
as_owner "$bin/initdb" -D "$data/db" -U qfront --auth=trust >/dev/null
for port in $(seq 54329 54349); do
  if as_owner "$bin/pg_ctl" -D "$data/db" -l "$data/log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $data -c fsync=off -c max_connections=200" start >&2; then
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U qfront qfront_test >&2
    echo "postgresql://qfront@127.0.0.1:$port/qfront_test"
    exit 0
  fi
  echo "port $port is taken; trying the next" >&2
done
echo "PostgreSQL did not start; see $data/log" >&2
exit 1
