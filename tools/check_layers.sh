#!/usr/bin/env bash
# The request path reads one way: http -> actions -> domain -> store. A lower module importing an
# upper one fails this check. The server library does not use the fleet tools (they are its clients;
# its integration tests may, its own code and unit tests may not).
set -euo pipefail
cd "$(dirname "$0")/../crates/server/src"
fail=0
check() { # folder, forbidden module names...
  local dir=$1; shift
  for m in "$@"; do
    if grep -rnE "(crate|teleoscope_server)::$m\b" "$dir" >/dev/null 2>&1; then
      echo "layering: $dir/ imports $m:"; grep -rnE "(crate|teleoscope_server)::$m\b" "$dir"; fail=1
    fi
  done
}
# The store speaks in domain types (Project, Device) but never calls upward.
check store http actions cli
check domain http actions cli
check actions http cli
if grep -rn "teleoscope_fleet" . >/dev/null; then
  echo "layering: the server library uses the fleet tools:"; grep -rn "teleoscope_fleet" .; fail=1
fi
if grep -rnE "tokio|axum|rusqlite|hyper" ../../protocol/src >/dev/null; then
  echo "layering: the protocol crate must not do I/O"; fail=1
fi
exit $fail
