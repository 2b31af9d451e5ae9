#!/usr/bin/env bash
# Runs a command with NOMOSAUTH_TEST_POSTGRES pointing at a throwaway
# PostgreSQL cluster: initdb in a temporary directory, listening only on a
# Unix socket there, stopped and deleted when the command ends. When the
# variable is already set, the command runs against that database instead.
# Without PostgreSQL (and no root to install Debian's package) the command
# runs without it, and the PostgreSQL tests say they skip.
set -euo pipefail

if [ -n "${NOMOSAUTH_TEST_POSTGRES:-}" ]; then
  exec "$@"
fi

find_bin() {
  command -v initdb 2>/dev/null && return
  ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1
}
initdb_bin=$(find_bin || true)
if [ -z "$initdb_bin" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing postgresql from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  initdb_bin=$(find_bin || true)
fi
if [ -z "$initdb_bin" ]; then
  echo "PostgreSQL not found: its tests will skip (set NOMOSAUTH_TEST_POSTGRES to use a running server)"
  exec "$@"
fi
bindir=$(dirname "$(readlink -f "$initdb_bin")")

dir=$(mktemp -d /tmp/nomosauth-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root.
  chown postgres: "$dir"
  as_owner=(runuser -u postgres --)
fi
port=54329
stop() {
  "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log"; exit 1; }
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-c listen_addresses='' -k $dir -p $port -c max_connections=300 -c fsync=on" start >/dev/null ||
  { cat "$dir/server.log"; exit 1; }
export NOMOSAUTH_TEST_POSTGRES="postgres://postgres@/postgres?host=$dir&port=$port&sslmode=disable"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') for the tests on $dir"
status=0
"$@" || status=$?
exit $status
