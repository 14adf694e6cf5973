"""`serve --tls-cert/--tls-key` (docs/api.md §7): the SDK's default HTTPS transport works against
a server with a self-signed certificate (trusted through HttpProfile.certification)."""

import os
import shutil
import subprocess
import tempfile

import pytest
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.trro.v20220325 import trro_client

from tcutil import REGION, UUID_RE, Server, assert_error, call, create_key, create_project, expect_error, made_up_project_id


@pytest.fixture(scope="module")
def tls_server(teleoscope_bin):
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed to make a test certificate")
    workdir = tempfile.mkdtemp(prefix="teleoscope-compat-tls-")
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    srv = Server(teleoscope_bin, workdir, env_extra={"TELEOSCOPE_RATE_LIMIT_PER_SECOND": "10000"},
                 extra_args=["--tls-cert", cert, "--tls-key", key], scheme="https", ca_file=cert)
    srv.cert = cert
    yield srv
    srv.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def tls_client(srv, acct, certification):
    http = HttpProfile(endpoint=srv.host, certification=certification)  # protocol defaults to https
    cred = credential.Credential(acct.secret_id, acct.secret_key)
    return trro_client.TrroClient(cred, REGION, ClientProfile(httpProfile=http))


@pytest.mark.parametrize("trust", ["cert", "no-verify"])
def test_the_sdk_over_https(tls_server, teleoscope_bin, trust):
    acct = create_key(teleoscope_bin, tls_server.db_url)
    cli = tls_client(tls_server, acct, tls_server.cert if trust == "cert" else False)
    pid = create_project(cli, name="over_tls")
    info = call(cli, "DescribeProjectInfo", {"ProjectId": pid})
    assert info.ProjectName == "over_tls" and UUID_RE.match(info.RequestId)
    assert_error(expect_error(call, cli, "DescribeProjectInfo", {"ProjectId": made_up_project_id()}),
                 "ResourceNotFound")
