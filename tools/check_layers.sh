#!/usr/bin/env bash
# The request path reads one way, and so do the modules of the server crate (docs/architecture.md):
#
#   model  <-  store  <-  domain  <-  actions  <-  http, cli
#
# A module imports only the ones to its left. `errors` (the error types and their one mapping to
# vendor codes) and `config` sit beside the path. Besides: only the store sees SQL and the sample
# format (`store/codec.rs`, `store/sqlite/`); the server library does not use the fleet tools (they
# are its clients: its integration tests may, its own code and unit tests may not); and the protocol
# crate does no I/O.
set -euo pipefail
cd "$(dirname "$0")/../crates/server/src"
fail=0
check() { # folder, forbidden module paths...
  local dir=$1; shift
  for m in "$@"; do
    local pattern="(crate|teleoscope_server)::$m\b"
    if grep -rnE "$pattern" "$dir" >/dev/null 2>&1; then
      echo "layering: $dir/ imports $m:"; grep -rnE "$pattern" "$dir"; fail=1
    fi
  done
}
check model store domain actions http cli errors config
check store domain actions http cli config
check domain actions http cli config store::sqlite store::postgres store::codec
check actions http cli store::sqlite store::postgres store::codec
check http cli store::sqlite store::postgres store::codec
if grep -rn "teleoscope_fleet" . >/dev/null; then
  echo "layering: the server library uses the fleet tools:"; grep -rn "teleoscope_fleet" .; fail=1
fi
if grep -rnE "tokio|axum|rusqlite|hyper" ../../protocol/src >/dev/null; then
  echo "layering: the protocol crate must not do I/O"; fail=1
fi
exit $fail
