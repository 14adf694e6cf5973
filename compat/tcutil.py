"""Helpers shared by the compatibility tests (imported by conftest.py and the tests).

Everything here talks to a real `teleoscope` process through the vendor's own Python SDK
(`tencentcloud-sdk-python-trro` / `-common`), never through a home-made client.
"""

import json
import os
import re
import secrets
import socket
import ssl
import string
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.trro.v20220325 import models, trro_client

REGION = "ap-guangzhou"
SERVICE = "trro"
VERSION = "2022-03-25"

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PROJECT_ID_RE = re.compile(r"^[a-z0-9]{16}$")
# ISO-8601 with the vendor's (and Teleoscope's default) +08:00 offset.
ISO_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+08:00$")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


# ----------------------------------------------------------------------------------------------
# The server process


def database_url(workdir):
    """The store of a server run in `workdir`: its SQLite file, or with TELEOSCOPE_TEST_BACKEND=postgres
    a schema of its own (named after the directory, so a restart in it finds the same data) in the
    database TELEOSCOPE_TEST_POSTGRES names; tools/test.sh makes a fresh database for each run."""
    if os.environ.get("TELEOSCOPE_TEST_BACKEND", "sqlite") != "postgres":
        return "sqlite://" + os.path.join(workdir, "t.db")
    base = os.environ.get("TELEOSCOPE_TEST_POSTGRES", "postgres://root@127.0.0.1:5432/test")
    schema = "c_" + re.sub(r"[^a-z0-9]", "_", os.path.basename(os.path.normpath(workdir)).lower())
    subprocess.run(["psql", base, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    "CREATE SCHEMA IF NOT EXISTS %s" % schema], check=True, capture_output=True)
    sep = "&" if "?" in base else "?"
    return "%s%soptions=-csearch_path%%3D%s" % (base, sep, schema)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Account:
    account_id: str
    secret_id: str
    secret_key: str


class Server:
    """A running `teleoscope serve` on 127.0.0.1:<free port> with its own store (`database_url`)."""

    def __init__(self, binary, workdir, env_extra=None, env_remove=(), extra_args=(), scheme="http",
                 ca_file=None, ready_timeout=20.0):
        self.binary = binary = os.path.abspath(binary)
        self.workdir = workdir
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.base_url = "%s://%s" % (scheme, self.host)
        self.ssl_context = ssl.create_default_context(cafile=ca_file) if scheme == "https" else None
        self.db_url = database_url(workdir)
        self.stderr_path = os.path.join(workdir, "server.stderr")
        self.stdout_path = os.path.join(workdir, "server.stdout")
        env = dict(os.environ)
        for k in env_remove:
            env.pop(k, None)
        env.update(env_extra or {})
        self.env = env
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "serve", "--listen", self.host, "--database", self.db_url] + list(extra_args),
            stdout=self._out,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=workdir,
        )
        self._wait_ready(ready_timeout)

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._close_files()
                pytest.fail(
                    "teleoscope serve exited with code %s before it was ready (workdir %s).\n--- stderr ---\n%s"
                    % (self.proc.returncode, self.workdir, self.stderr_text()),
                    pytrace=False,
                )
            try:
                with urllib.request.urlopen(self.base_url + "/readyz", timeout=2, context=self.ssl_context) as r:
                    if r.status == 200:
                        return
                    last = "HTTP %d" % r.status
            except urllib.error.HTTPError as e:
                last = "HTTP %d" % e.code
            except OSError as e:
                last = repr(e)
            time.sleep(0.1)
        self.stop()
        pytest.fail(
            "teleoscope serve did not answer 200 on GET /readyz within %.0f s (last: %s).\n"
            "--- stderr ---\n%s" % (timeout, last, self.stderr_text()),
            pytrace=False,
        )

    def _close_files(self):
        for f in (self._out, self._err):
            try:
                f.close()
            except OSError:
                pass

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_files()


# ----------------------------------------------------------------------------------------------
# `teleoscope keys ...`


def run_keys(binary, db_url, *args, env=None):
    cmd = [binary, "keys"] + list(args[:1]) + ["--database", db_url] + list(args[1:])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    if p.returncode != 0:
        pytest.fail(
            "`%s` failed with exit code %d\n--- stdout ---\n%s\n--- stderr ---\n%s"
            % (" ".join(cmd), p.returncode, p.stdout, p.stderr),
            pytrace=False,
        )
    return p.stdout


def create_key(binary, db_url, account_id=None, env=None):
    args = ["create", "--json"]
    if account_id:
        args += ["--account", account_id]
    out = run_keys(binary, db_url, *args, env=env)
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == 1, "keys create --json must print exactly one JSON line, got: %r" % out
    obj = json.loads(lines[0])
    assert set(obj) >= {"AccountId", "SecretId", "SecretKey"}, obj
    return Account(obj["AccountId"], obj["SecretId"], obj["SecretKey"])


def list_keys(binary, db_url, env=None):
    out = run_keys(binary, db_url, "list", "--json", env=env)
    return json.loads(out)


def delete_key(binary, db_url, secret_id, env=None):
    run_keys(binary, db_url, "delete", secret_id, env=env)


# ----------------------------------------------------------------------------------------------
# SDK clients


def make_profile(host, language=None, sign_method=None, req_method="POST", unsigned_payload=False,
                 endpoint=None):
    http = HttpProfile(protocol="http", endpoint=endpoint or host, reqMethod=req_method)
    kwargs = {"httpProfile": http}
    if language:
        kwargs["language"] = language
    if sign_method:
        kwargs["signMethod"] = sign_method
    profile = ClientProfile(**kwargs)
    if unsigned_payload:
        # `unsignedPayload` is a class attribute of ClientProfile, not a constructor argument.
        profile.unsignedPayload = True
    return profile


def make_client(host, account, **profile_kwargs):
    cred = credential.Credential(account.secret_id, account.secret_key)
    return trro_client.TrroClient(cred, REGION, make_profile(host, **profile_kwargs))


def make_common_client(host, account, service=SERVICE, version=VERSION, **profile_kwargs):
    cred = credential.Credential(account.secret_id, account.secret_key)
    return CommonClient(service, version, cred, REGION, profile=make_profile(host, **profile_kwargs))


def call(client, action, params):
    """Call a TRRO action through the typed SDK client: builds models.<Action>Request from a dict
    (via from_json_string) and returns the typed models.<Action>Response."""
    req = getattr(models, action + "Request")()
    req.from_json_string(json.dumps(params))
    return getattr(client, action)(req)


def expect_error(fn, *args, **kwargs):
    """Run fn and return the TencentCloudSDKException it raises; fail if it succeeds."""
    try:
        result = fn(*args, **kwargs)
    except TencentCloudSDKException as e:
        return e
    resp = result.to_json_string() if hasattr(result, "to_json_string") else result
    pytest.fail("expected an error response, but the call succeeded: %s" % (resp,))


def assert_error(exc, code, names=None):
    """The error has exactly `code`, a RequestId that is a UUID and (optionally) a message that
    names `names` (a parameter name or a list of them)."""
    assert exc.get_code() == code, "expected code %s, got %s: %s" % (code, exc.get_code(), exc.get_message())
    assert exc.get_message(), "error %s has an empty message" % code
    assert exc.get_request_id() and UUID_RE.match(exc.get_request_id()), (
        "error RequestId must be a 36-char UUID, got %r" % exc.get_request_id())
    if names:
        for n in [names] if isinstance(names, str) else names:
            assert n in exc.get_message(), "message of %s should name `%s`: %r" % (code, n, exc.get_message())


def rand_suffix(n=6):
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def rand_token():
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))


def made_up_project_id():
    """A syntactically valid ProjectId (16 lowercase alnum) that no one has."""
    return "zz" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(14))


def create_project(client, name=None, **extra):
    params = {"ProjectName": name or ("p_" + rand_suffix())}
    params.update(extra)
    return call(client, "CreateProject", params).ProjectId


def create_device(client, project_id, device_id, device_type="field", name=None, token=None):
    call(client, "CreateDevice", {
        "ProjectId": project_id,
        "DeviceId": device_id,
        "DeviceName": name or device_id[:20],
        "DeviceType": device_type,
        "DeviceToken": token or rand_token(),
    })


def parse_time(s):
    """Parse an ISO-8601 time as the server returns it (must carry +08:00)."""
    from datetime import datetime
    assert isinstance(s, str) and ISO_TIME_RE.match(s), "expected ISO-8601 with +08:00, got %r" % (s,)
    return datetime.fromisoformat(s)


def assert_recent(s, slack_seconds=600):
    """`s` is an ISO-8601 +08:00 time within `slack_seconds` of now."""
    t = parse_time(s).timestamp()
    now = time.time()
    assert abs(now - t) <= slack_seconds, "time %s is %.0f s away from now" % (s, now - t)


# ----------------------------------------------------------------------------------------------
# The device API (docs/api.md §4), the seeds, and `teleoscope import`


FIXTURES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


def project_key_password(project_key, device_id, expire_time):
    """The vendor's shared-key password: Base64(HMAC-SHA256(project key, DeviceId + ExpireTime))
    without `+`, `/`, `=`, then `_<ExpireTime>`."""
    import base64
    import hashlib
    import hmac
    mac = hmac.new(project_key.encode(), (device_id + str(expire_time)).encode(), hashlib.sha256).digest()
    b64 = base64.b64encode(mac).decode()
    return "".join(c for c in b64 if c not in "+/=") + "_" + str(expire_time)


def device_client(host, project_id, device_id, secret, expire_time=None, language="en-US"):
    """A device's own CommonClient: SecretId `<ProjectId>:<DeviceId>` (secret: its DeviceToken), or
    `<ProjectId>:<DeviceId>:<ExpireTime>` (secret: the project-key password) when expire_time is given."""
    sid = "%s:%s" % (project_id, device_id) if expire_time is None else "%s:%s:%d" % (
        project_id, device_id, expire_time)
    cred = credential.Credential(sid, secret)
    return CommonClient(SERVICE, VERSION, cred, REGION, profile=make_profile(host, language=language))


def golden_details_text():
    """The example response of DescribeDeviceSessionDetails, exactly as the vendor published it
    (fixtures/README.md)."""
    with open(os.path.join(FIXTURES_DIR, "describe-device-session-details.json"), encoding="utf-8") as f:
        return f.read().rstrip("\n")


def run_import(binary, db_url, project_id, *files):
    """`teleoscope import --database URL --project PID FILE...`; returns its stdout."""
    cmd = [binary, "import", "--database", db_url, "--project", project_id] + list(files)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        pytest.fail("`%s` failed with exit code %d\n--- stdout ---\n%s\n--- stderr ---\n%s"
                    % (" ".join(cmd), p.returncode, p.stdout, p.stderr), pytrace=False)
    return p.stdout
