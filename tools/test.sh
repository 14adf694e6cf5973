#!/usr/bin/env bash
# The test command: formatting, generated-code freshness, lints, unit and integration tests, and the
# compatibility suite that drives a real `teleoscope serve` with the vendor's own SDK and tccli.
# Installs what it needs (a Python venv with the pinned vendor packages under target/, and the pinned
# Node.js SDK in compat/node/node_modules with `npm ci`; needs Node.js 20+ and npm), and the web console's
# browser tests (playwright-core with `npm ci` in crates/server/console-tests, and Debian's `chromium`,
# installed with apt-get when missing and run as root). The integration and compatibility suites run
# twice, on SQLite and on PostgreSQL (tools/postgres.sh starts it if needed and makes a fresh
# database for the run).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "rustfmt"
cargo fmt --all --check

step "wire types are generated from the vendor model"
python3 tools/gen_wire.py --check

step "layering: lower modules never import upper ones"
bash tools/check_layers.sh

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "PostgreSQL"
source tools/postgres.sh

step "unit and integration tests (SQLite; the conformance suite and multi-node tests on both stores)"
cargo test --workspace --locked

step "integration tests on PostgreSQL"
TELEOSCOPE_TEST_BACKEND=postgres cargo test -p teleoscope-server --tests --locked

step "compatibility suite (official tencentcloud-sdk-python-trro, tccli and tencentcloud-sdk-nodejs)"
cargo build --bin teleoscope --locked
bash compat/run.sh

step "compatibility suite on PostgreSQL"
TELEOSCOPE_TEST_BACKEND=postgres bash compat/run.sh

step "web console in headless Chromium (crates/server/console-tests)"
# Debian's Chromium, installed here when missing (the tests launch it headless; no browser download).
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
  else
    echo "Chromium not found at ${CHROMIUM_PATH:-/usr/bin/chromium}: install Debian's chromium package (or set CHROMIUM_PATH)" >&2
    exit 1
  fi
fi
(cd crates/server/console-tests && npm ci --no-audit --no-fund --loglevel=error && npm test)
