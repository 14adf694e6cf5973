"""The vendor's Node.js SDK (`tencentcloud-sdk-nodejs`, pinned in compat/node/package-lock.json):
runs `node --test compat/node/trro.test.js` against the shared server, once with the endpoint
`127.0.0.1:<port>` and once with `localhost:<port>`, each time as a new tenant. compat/run.sh
installs the packages (`npm ci`) before pytest starts.

This SDK sends `Host: <hostname>:<port>` but signs `host:<hostname>`, so these runs are the check that
a signature over the Host without its port is accepted (crates/protocol/src/sign/tc3.rs)."""

import os
import shutil
import subprocess

import pytest

from tcutil import create_key

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
TEST_FILE = os.path.join(NODE_DIR, "trro.test.js")
# The SDK sends through a proxy whenever `http_proxy` is set, whatever NO_PROXY says
# (common/http/fetch.js), so the test server must not be reached through one.
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def node_env(endpoint, account):
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.update(COMPAT_ENDPOINT=endpoint, COMPAT_SECRET_ID=account.secret_id,
               COMPAT_SECRET_KEY=account.secret_key, NO_COLOR="1")
    return env


@pytest.mark.parametrize("host_kind", ["ip", "localhost"])
def test_the_nodejs_sdk_suite_passes(server, teleoscope_bin, host_kind):
    node = shutil.which("node")
    assert node, "Node.js (`node`) is not on PATH: the Node.js SDK tests need Node.js 20 or later"
    assert os.path.isdir(os.path.join(NODE_DIR, "node_modules", "tencentcloud-sdk-nodejs")), (
        "compat/node/node_modules is missing: run compat/run.sh (it runs `npm ci` in compat/node)")
    host = server.host if host_kind == "ip" else "localhost:%d" % server.port
    account = create_key(teleoscope_bin, server.db_url)
    p = subprocess.run([node, "--test", "--test-reporter=spec", TEST_FILE], cwd=NODE_DIR,
                       env=node_env(host, account), capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        pytest.fail("Node.js SDK tests against %s failed (exit %d)\n--- stdout ---\n%s\n--- stderr ---\n%s"
                    % (host, p.returncode, p.stdout, p.stderr), pytrace=False)
