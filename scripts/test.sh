#!/usr/bin/env bash
# Runs every check and test of nomosauth on a fresh machine: formatting,
# go vet, and the whole suite with the race detector. The README's test
# command; .ci/run calls it too.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

# The race detector needs cgo and a C compiler; the browser test drives
# Debian's Chromium. Both come from Debian's packages when missing and we
# may install them (root); otherwise the browser test skips with a message.
need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
# No program code writes to a fixed path of its own (a debugging leftover
# once did): files come from flags, the database or the test's temp dir.
fixed=$(git grep -n -E '"/(tmp|var/tmp)/' -- '*.go' ':!*_test.go' 2>/dev/null || true)
if [ -n "$fixed" ]; then
  echo "fixed paths in program code:"; echo "$fixed"; exit 1
fi
# PostgreSQL: a throwaway cluster for the conformance suite and the
# two-replica tests (scripts/with-postgres.sh).
./scripts/with-postgres.sh env CGO_ENABLED=1 go test -race -count=1 ./... "$@"
