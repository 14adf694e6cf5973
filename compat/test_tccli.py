"""The vendor's CLI, `tccli`, run as a real subprocess against the server."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from tcutil import PROJECT_ID_RE, UUID_RE, assert_recent, made_up_project_id

TCCLI = os.path.join(os.path.dirname(sys.executable), "tccli")


@pytest.fixture(scope="module")
def tccli_home():
    home = tempfile.mkdtemp(prefix="tccli-home-")
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def tccli(server, account_a, tccli_home):
    if not os.access(TCCLI, os.X_OK):
        pytest.fail("tccli not found next to the Python interpreter (%s); run compat/run.sh" % TCCLI)

    def run(action, *args, expect_rc=0, language=None):
        cmd = [TCCLI, "trro", action,
               "--endpoint", "http://" + server.host,
               "--region", "ap-guangzhou",
               "--secretId", account_a.secret_id,
               "--secretKey", account_a.secret_key] + list(args)
        if language:
            cmd += ["--language", language]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TENCENTCLOUD_")}
        env.update({"HOME": tccli_home, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"})
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=tccli_home)
        assert p.returncode == expect_rc, "tccli %s exited %d (expected %d)\nstdout:\n%s\nstderr:\n%s" % (
            action, p.returncode, expect_rc, p.stdout, p.stderr)
        if expect_rc != 0:
            return p
        try:
            out = json.loads(p.stdout)
        except ValueError:
            pytest.fail("tccli %s printed no JSON:\n%s\nstderr:\n%s" % (action, p.stdout, p.stderr))
        return out.get("Response", out)
    return run


def test_tccli_create_project_and_list_it(tccli):
    out = tccli("CreateProject", "--ProjectName", "cli_proj", "--ProjectDescription", "由 tccli 创建",
                "--PolicyMode", "white")
    pid = out["ProjectId"]
    assert PROJECT_ID_RE.match(pid)
    assert UUID_RE.match(out["RequestId"])

    listed, page = {}, 1
    while True:
        out = tccli("DescribeProjectList", "--PageNumber", str(page), "--PageSize", "100")
        assert isinstance(out["Total"], int) and isinstance(out["Num"], int)
        assert out["Num"] == len(out["Projects"] or [])
        if not out["Projects"]:
            break
        listed.update({p["ProjectId"]: p for p in out["Projects"]})
        page += 1
    assert len(listed) == out["Total"]
    p = listed[pid]
    assert (p["ProjectName"], p["ProjectDescription"], p["PolicyMode"]) == ("cli_proj", "由 tccli 创建", "white")
    assert_recent(p["ModifyTime"])


def test_tccli_create_device_and_list_devices(tccli):
    pid = tccli("CreateProject", "--ProjectName", "cli_devs")["ProjectId"]
    out = tccli("CreateDevice", "--ProjectId", pid, "--DeviceId", "cli_truck", "--DeviceName", "矿卡_cli",
                "--DeviceType", "field", "--DeviceToken", "abcd1234abcd1234")
    assert UUID_RE.match(out["RequestId"])
    tccli("CreateDevice", "--ProjectId", pid, "--DeviceId", "cli_op", "--DeviceName", "op",
          "--DeviceType", "remote", "--DeviceToken", "ABCD1234abcd1234")

    out = tccli("DescribeDeviceList", "--ProjectId", pid, "--PageNumber", "1", "--PageSize", "10")
    assert out["Total"] == 2 and out["Num"] == 2
    devs = {d["DeviceId"]: d for d in out["Devices"]}
    assert set(devs) == {"cli_truck", "cli_op"}
    d = devs["cli_truck"]
    assert (d["DeviceName"], d["DeviceType"], d["DeviceStatus"], d["ProjectId"]) == ("矿卡_cli", "field", "offline", pid)
    assert_recent(d["ModifyTime"])

    out = tccli("DescribeDeviceList", "--ProjectId", pid, "--DeviceType", "remote")
    assert [d["DeviceId"] for d in out["Devices"]] == ["cli_op"]


def test_tccli_list_parameters_as_json(tccli):
    pid = tccli("CreateProject", "--ProjectName", "cli_batch")["ProjectId"]
    tccli("CreateDevice", "--ProjectId", pid, "--DeviceId", "b1", "--DeviceName", "b1",
          "--DeviceType", "field", "--DeviceToken", "abcd1234abcd1234")
    out = tccli("BatchDeleteDevices", "--ProjectId", pid, "--DeviceIds", '["b1", "ghost"]')
    assert out["FailedDeviceIds"] == ["ghost"]


def test_tccli_missing_project_exits_255_with_the_sdk_error_line(tccli):
    pid = made_up_project_id()
    p = tccli("DescribeProjectInfo", "--ProjectId", pid, expect_rc=255)
    text = p.stdout + p.stderr
    assert "[TencentCloudSDKException] code:ResourceNotFound" in text, text
    assert "requestId:" in text, text


def test_tccli_english_error_message(tccli):
    p = tccli("DescribeProjectInfo", "--ProjectId", made_up_project_id(), expect_rc=255, language="en-US")
    text = p.stdout + p.stderr
    line = [l for l in text.splitlines() if "code:ResourceNotFound" in l]
    assert line, text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in line[0]), line[0]


def test_tccli_cli_input_json_with_numeric_strings(tccli, tmp_path):
    pid = tccli("CreateProject", "--ProjectName", "cli_json")["ProjectId"]
    for i in range(3):
        tccli("CreateDevice", "--ProjectId", pid, "--DeviceId", "j%d" % i, "--DeviceName", "j%d" % i,
              "--DeviceType", "field", "--DeviceToken", "abcd1234abcd1234")
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"ProjectId": pid, "PageNumber": "1", "PageSize": "2"}))
    out = tccli("DescribeDeviceList", "--cli-input-json", "file://" + str(f))
    assert out["Total"] == 3 and out["Num"] == 2
    assert len(out["Devices"]) == 2

    g = tmp_path / "y.json"
    g.write_text(json.dumps({"PageNumber": "1", "PageSize": "1"}))
    out = tccli("DescribeProjectList", "--cli-input-json", "file://" + str(g))
    assert out["Num"] == 1 and len(out["Projects"]) == 1 and out["Total"] >= 1
