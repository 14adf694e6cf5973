#!/usr/bin/env bash
# The request path reads one way: http -> actions -> domain -> store. A lower module importing an
# upper one fails this check.
set -euo pipefail
cd "$(dirname "$0")/../crates/server/src"
fail=0
check() { # folder, forbidden module names...
  local dir=$1; shift
  for m in "$@"; do
    if grep -rnE "(crate|teleoscope)::$m\b" "$dir" >/dev/null 2>&1; then
      echo "layering: $dir/ imports $m:"; grep -rnE "(crate|teleoscope)::$m\b" "$dir"; fail=1
    fi
  done
}
# The store speaks in domain types (Project, Device) but never calls upward.
check store http actions cli
check domain http actions cli
check actions http cli
if grep -rnE "tokio|axum|rusqlite|hyper" ../../protocol/src >/dev/null; then
  echo "layering: the protocol crate must not do I/O"; fail=1
fi
exit $fail
