"""Fixtures: one real `teleoscope serve` for the whole session, two tenants, SDK client factories."""

import os
import shutil
import tempfile

import pytest

import tcutil

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BIN = os.path.join(REPO, "target", "debug", "teleoscope")


@pytest.fixture(scope="session")
def teleoscope_bin():
    path = os.path.abspath(os.environ.get("TELEOSCOPE_BIN") or DEFAULT_BIN)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.exit(
            "teleoscope binary not found or not executable: %s\n"
            "Build it with `cargo build --bin teleoscope` or set TELEOSCOPE_BIN." % path,
            returncode=4,
        )
    return path


@pytest.fixture(scope="session")
def server(teleoscope_bin):
    """The shared server. The suite is not rate-limited (TELEOSCOPE_RATE_LIMIT_PER_SECOND=10000) and
    has no brake on failed signatures, which its error tests make on purpose; test_protocol.py starts
    separate servers with the default limits for the rate-limit and brake tests."""
    workdir = tempfile.mkdtemp(prefix="teleoscope-compat-")
    config = os.path.join(workdir, "compat.toml")
    with open(config, "w") as f:
        f.write("failed_signatures_per_secret_id = 0\nfailed_signatures_per_address = 0\n")
    srv = tcutil.Server(teleoscope_bin, workdir, extra_args=["--config", config],
                        env_extra={"TELEOSCOPE_RATE_LIMIT_PER_SECOND": "10000"})
    yield srv
    srv.stop()
    if os.environ.get("COMPAT_KEEP_TMP"):
        print("server workdir kept: %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def account_a(server, teleoscope_bin):
    return tcutil.create_key(teleoscope_bin, server.db_url)


@pytest.fixture(scope="session")
def account_b(server, teleoscope_bin):
    return tcutil.create_key(teleoscope_bin, server.db_url)


@pytest.fixture
def new_account(server, teleoscope_bin):
    """Factory: a brand-new tenant (empty project list), for tests that count everything."""
    def make():
        return tcutil.create_key(teleoscope_bin, server.db_url)
    return make


@pytest.fixture(scope="session")
def client(server):
    """Factory: client(account, language=..., sign_method=..., req_method=..., unsigned_payload=...,
    endpoint=...) -> TrroClient pointed at the test server over plain HTTP."""
    def make(account, **profile_kwargs):
        return tcutil.make_client(server.host, account, **profile_kwargs)
    return make


@pytest.fixture(scope="session")
def common_client(server):
    """Factory: common_client(account, service="trro", version="2022-03-25", **profile_kwargs)
    -> CommonClient for raw dict calls (call_json)."""
    def make(account, **kwargs):
        return tcutil.make_common_client(server.host, account, **kwargs)
    return make


@pytest.fixture
def cli_a(client, account_a):
    return client(account_a)


@pytest.fixture
def raw_a(common_client, account_a):
    return common_client(account_a)


@pytest.fixture
def project(cli_a):
    """A fresh project of account A."""
    return tcutil.create_project(cli_a)
