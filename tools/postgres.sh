# Sourced by tools/test.sh: makes sure PostgreSQL answers (installing Debian's package on a machine
# without it, starting the machine's cluster when it is stopped) and creates a fresh database for this
# test run, dropped when the run ends.
# Exports TELEOSCOPE_TEST_POSTGRES, the database the PostgreSQL tests use (each test takes a schema
# of its own in it). Env: TELEOSCOPE_TEST_PG_ADMIN, a URL of an existing database to create it from
# (default postgres://root@127.0.0.1:5432/postgres, trust authentication).
PG_ADMIN="${TELEOSCOPE_TEST_PG_ADMIN:-postgres://root@127.0.0.1:5432/postgres}"

# A machine without PostgreSQL (and running as root with apt-get): Debian's package, a superuser role
# `root`, and trust for local TCP connections — this is a machine the tests provision for themselves.
if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "PostgreSQL is not installed: installing Debian's package" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    PG_VERSION="$(ls /etc/postgresql | sort -V | tail -1)"
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' \
      "/etc/postgresql/$PG_VERSION/main/pg_hba.conf"
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main restart || \
      pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start
    su postgres -c "psql -qc 'CREATE ROLE root SUPERUSER LOGIN'" 2>/dev/null || true
  else
    echo "PostgreSQL not found: install it (Debian: apt-get install postgresql), or set TELEOSCOPE_TEST_PG_ADMIN" >&2
    exit 1
  fi
fi

if ! pg_isready -d "$PG_ADMIN" -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is not answering: starting the local cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  fi
  for _ in $(seq 1 60); do
    pg_isready -d "$PG_ADMIN" -q 2>/dev/null && break
    sleep 0.5
  done
  if ! pg_isready -d "$PG_ADMIN" -q 2>/dev/null; then
    echo "PostgreSQL does not answer at $PG_ADMIN: install and start it, or set TELEOSCOPE_TEST_PG_ADMIN" >&2
    exit 1
  fi
fi

PG_TEST_DB="teleoscope_test_$(date +%s)_$$"
psql "$PG_ADMIN" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $PG_TEST_DB"
export TELEOSCOPE_TEST_POSTGRES="${PG_ADMIN%/*}/$PG_TEST_DB"
drop_test_database() {
  psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $PG_TEST_DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap drop_test_database EXIT
echo "PostgreSQL test database: $TELEOSCOPE_TEST_POSTGRES"
