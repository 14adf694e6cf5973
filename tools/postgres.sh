# Sourced by tools/test.sh: makes sure PostgreSQL answers (starting the machine's cluster when it is
# installed but stopped) and creates a fresh database for this test run, dropped when the run ends.
# Exports TELEOSCOPE_TEST_POSTGRES, the database the PostgreSQL tests use (each test takes a schema
# of its own in it). Env: TELEOSCOPE_TEST_PG_ADMIN, a URL of an existing database to create it from
# (default postgres://root@127.0.0.1:5432/postgres, trust authentication).
PG_ADMIN="${TELEOSCOPE_TEST_PG_ADMIN:-postgres://root@127.0.0.1:5432/postgres}"

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
