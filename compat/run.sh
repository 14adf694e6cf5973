#!/usr/bin/env bash
# Runs the vendor-client compatibility suite against a real `teleoscope serve`.
#   compat/run.sh [pytest args...]        e.g. compat/run.sh -k tccli -x
# Env: TELEOSCOPE_BIN (default: $REPO/target/debug/teleoscope), PYTHON (default: python3).
# Needs Node.js 20+ and npm for the Node.js SDK tests (compat/node/, installed with `npm ci`).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/target/compat-venv"
REQ="$REPO/compat/requirements.txt"
STAMP="$VENV/.requirements.sha256"

export TELEOSCOPE_BIN="${TELEOSCOPE_BIN:-$REPO/target/debug/teleoscope}"
if [[ ! -x "$TELEOSCOPE_BIN" ]]; then
  echo "compat/run.sh: teleoscope binary not found or not executable: $TELEOSCOPE_BIN" >&2
  echo "  build it first:  (cd \"$REPO\" && cargo build --bin teleoscope)   or set TELEOSCOPE_BIN" >&2
  exit 2
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  mkdir -p "$REPO/target"
  "${PYTHON:-python3}" -m venv "$VENV"
  rm -f "$STAMP"
fi

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
  echo "compat/run.sh: installing pinned vendor clients into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" > "$STAMP"
fi

# The Node.js SDK (compat/test_node_sdk.py): `npm ci` from the committed lock when node_modules is
# missing or the lock changed (sha256 stamp in node_modules).
NODE_DIR="$REPO/compat/node"
NODE_STAMP="$NODE_DIR/node_modules/.package-lock.sha256"
want="$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)"
have="$(cat "$NODE_STAMP" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
  if ! command -v npm >/dev/null; then
    echo "compat/run.sh: npm not found: the Node.js SDK tests need Node.js 20 or later with npm" >&2
    exit 2
  fi
  echo "compat/run.sh: installing the pinned Node.js SDK into $NODE_DIR/node_modules" >&2
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" > "$NODE_STAMP"
fi

export NO_PROXY="127.0.0.1,localhost"
export no_proxy="$NO_PROXY"
export PYTHONDONTWRITEBYTECODE=1

cd "$REPO"
exec "$VENV/bin/python" -m pytest -q compat "$@"
