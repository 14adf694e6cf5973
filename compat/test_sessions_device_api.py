"""The device API (docs/api.md §4) through the vendor SDK's generic CommonClient: device
credentials (token, project shared key, USEPROJECTKEYPWD, auto-register), policy, the ingest rules and
their errors (each time: nothing stored), device status, DescribeRecentSessionList and the per-device
rate limit."""

import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tcutil import (Server, assert_error, call, create_device, create_key, create_project, device_client,
                    expect_error, make_client, make_common_client, project_key_password, rand_suffix, rand_token,
                    run_import)

PROJECT_KEY = "k3y" + "0123456789abcdefghijklmnopq" + "rs"   # 32 lowercase alnum


# ---------------------------------------------------------------------------------------------
# helpers


class Fleet:
    """A project of one tenant with registered devices and their tokens."""

    def __init__(self, host, cli, raw, pid, tokens):
        self.host, self.cli, self.raw, self.pid, self.tokens = host, cli, raw, pid, tokens

    def dev(self, device_id):
        return device_client(self.host, self.pid, device_id, self.tokens[device_id])

    def status(self, device_id):
        return call(self.cli, "DescribeDeviceInfo", {"ProjectId": self.pid, "DeviceId": device_id}).DeviceStatus

    def listed(self, **filters):
        r = call(self.cli, "DescribeDeviceList", dict(filters, ProjectId=self.pid, PageSize=100))
        return sorted(d.DeviceId for d in (r.Devices or []))

    def details(self, session_id):
        """The session's Details, or None when the session does not exist."""
        try:
            r = self.raw.call_json("DescribeDeviceSessionDetails", {"SessionId": session_id})
        except TencentCloudSDKException as e:
            assert e.get_code() == "ResourceNotFound", (e.get_code(), e.get_message())
            return None
        return r["Response"]["Details"]

    def sessions(self, **kw):
        r = self.raw.call_json("DescribeDeviceSessionList",
                               dict(kw, ProjectId=self.pid, PageNumber=1, PageSize=100))["Response"]
        return sorted(s["SessionId"] for s in r["DeviceSessionList"])

    def recent(self, **kw):
        return self.raw.call_json("DescribeRecentSessionList",
                                  dict(kw, ProjectId=self.pid, PageNumber=1, PageSize=100))["Response"]


def make_fleet(host, acct, fields=("truck_1", "truck_2"), remotes=("op_a", "op_b"), tokens=None, **project):
    cli = make_client(host, acct, language="en-US")
    raw = make_common_client(host, acct, language="en-US")
    pid = create_project(cli, **project)
    toks = {}
    for ids, kind in ((fields, "field"), (remotes, "remote")):
        for d in ids:
            toks[d] = (tokens or {}).get(d) or rand_token()
            create_device(cli, pid, d, kind, token=toks[d])
    return Fleet(host, cli, raw, pid, toks)


def body(session_id, peer, offsets=(0, 2, 4), start=None, final=False, **meta):
    b = {"SessionId": session_id, "PeerDeviceId": peer, "StartTime": start or int(time.time()) - 60,
         "Ver": "2.4", "SdkMode": "server2", "Width": 1280, "Height": 720,
         "Samples": [{"TimeOffset": o, "Rate": 800, "Fps": 20, "CpuUsed": 35.02} for o in offsets],
         "Final": final}
    b.update(meta)
    return b


def report(dev, b):
    return dev.call_json("ReportSessionMetrics", b)["Response"]


def sid(tag):
    return "compat-%s-%s" % (tag, rand_suffix(8))


@pytest.fixture(scope="module")
def acct(server, teleoscope_bin):
    return create_key(teleoscope_bin, server.db_url)


@pytest.fixture
def fleet(server, acct):
    return make_fleet(server.host, acct)


# ---------------------------------------------------------------------------------------------
# Policy


def test_black_mode_denies_the_listed_field_devices_of_a_remote_and_stores_nothing(fleet):
    call(fleet.cli, "ModifyPolicy", {"ProjectId": fleet.pid, "RemoteDeviceId": "op_a", "FieldDeviceIds": ["truck_1"],
                                     "PolicyMode": "black", "ModifyMode": "add"})
    s1, s2, ok = sid("black1"), sid("black2"), sid("black-ok")
    e = expect_error(report, fleet.dev("op_a"), body(s1, "truck_1"))
    assert_error(e, "OperationDenied")
    e = expect_error(report, fleet.dev("truck_1"), body(s2, "op_a"))
    assert_error(e, "OperationDenied")
    assert fleet.details(s1) is None and fleet.details(s2) is None
    assert fleet.sessions() == []
    assert fleet.status("truck_1") == "offline" and fleet.status("op_a") == "offline"
    # every other pair is allowed
    assert report(fleet.dev("op_a"), body(ok, "truck_2"))["Accepted"] == 3
    assert report(fleet.dev("op_b"), body(sid("black-ok2"), "truck_1"))["Accepted"] == 3
    assert ok in fleet.sessions()


def test_white_mode_allows_only_the_listed_field_devices(fleet):
    call(fleet.cli, "ModifyProject", {"ProjectId": fleet.pid, "PolicyMode": "white"})
    call(fleet.cli, "ModifyPolicy", {"ProjectId": fleet.pid, "RemoteDeviceId": "op_a", "FieldDeviceIds": ["truck_1"],
                                     "PolicyMode": "white", "ModifyMode": "add"})
    allowed = sid("white-ok")
    assert report(fleet.dev("truck_1"), body(allowed, "op_a"))["Accepted"] == 3
    denied = [("op_a", "truck_2"), ("truck_2", "op_a"), ("op_b", "truck_1"), ("truck_1", "op_b")]
    ids = []
    for me, peer in denied:
        s = sid("white-no")
        ids.append(s)
        e = expect_error(report, fleet.dev(me), body(s, peer))
        assert_error(e, "OperationDenied")
    assert all(fleet.details(s) is None for s in ids)
    assert fleet.sessions() == [allowed]


def test_a_denied_device_cannot_join_an_existing_session_either(fleet):
    s = sid("join")
    report(fleet.dev("truck_1"), body(s, "op_a"))
    before = fleet.details(s)
    call(fleet.cli, "ModifyPolicy", {"ProjectId": fleet.pid, "RemoteDeviceId": "op_a", "FieldDeviceIds": ["truck_1"],
                                     "PolicyMode": "black", "ModifyMode": "add"})
    e = expect_error(report, fleet.dev("op_a"), body(s, "truck_1"))
    assert_error(e, "OperationDenied")
    assert fleet.details(s) == before
    assert [d["DeviceType"] for d in before] == ["field"]


# ---------------------------------------------------------------------------------------------
# Credentials


def test_device_and_account_credentials_reach_only_their_own_actions(fleet, server, acct):
    e = expect_error(make_common_client(server.host, acct).call_json, "ReportSessionMetrics",
                     body(sid("acct"), "op_a"))
    assert_error(e, "AuthFailure.UnauthorizedOperation")
    e = expect_error(make_common_client(server.host, acct).call_json, "ReportDeviceStatus", {"Status": "ready"})
    assert_error(e, "AuthFailure.UnauthorizedOperation")
    for action, params in (("DescribeProjectList", {}),
                           ("DescribeDeviceSessionList", {"ProjectId": fleet.pid, "PageNumber": 1, "PageSize": 10}),
                           ("CreateDevice", {"ProjectId": fleet.pid, "DeviceId": "sneaky", "DeviceName": "x",
                                             "DeviceType": "field", "DeviceToken": rand_token()})):
        e = expect_error(fleet.dev("truck_1").call_json, action, params)
        assert_error(e, "AuthFailure.UnauthorizedOperation")
    assert "sneaky" not in fleet.listed()


def test_a_wrong_device_token_and_an_unknown_device_get_the_same_signature_failure(fleet, server):
    # An unknown device must not be told apart from a wrong token: no probing of what exists
    # (docs/security.md).
    e = expect_error(device_client(server.host, fleet.pid, "truck_1", rand_token()).call_json,
                     "ReportDeviceStatus", {"Status": "ready"})
    assert_error(e, "AuthFailure.SignatureFailure")
    e2 = expect_error(device_client(server.host, fleet.pid, "nobody", rand_token()).call_json,
                      "ReportDeviceStatus", {"Status": "ready"})
    assert_error(e2, "AuthFailure.SignatureFailure")
    assert e.get_message() == e2.get_message()
    assert fleet.status("truck_1") == "offline"


@pytest.fixture
def keyed(server, acct):
    """A shared-key project (AutoRegister 0): truck_1 has a token, op_a must use the project key."""
    f = make_fleet(server.host, acct, fields=("truck_1",), remotes=("op_a",),
                   tokens={"op_a": "USEPROJECTKEYPWD"})
    call(f.cli, "ModifyProjectSecMode", {"ProjectId": f.pid, "Mode": 1, "Key": PROJECT_KEY, "AutoRegister": 0})
    return f


def keyed_client(server, pid, device_id, expire=None, key=PROJECT_KEY):
    expire = expire if expire is not None else int(time.time()) + 3600
    return device_client(server.host, pid, device_id, project_key_password(key, device_id, expire), expire)


def test_shared_key_login_works_for_registered_devices(keyed, server):
    r = keyed_client(server, keyed.pid, "truck_1").call_json("ReportDeviceStatus", {"Status": "ready"})["Response"]
    assert r["DeviceStatus"] == "ready"
    assert keyed.status("truck_1") == "ready"
    # the device's own token still works too
    keyed.dev("truck_1").call_json("ReportDeviceStatus", {"Status": "ready"})
    # a project-key device reports a session
    s = sid("keyed")
    assert report(keyed_client(server, keyed.pid, "op_a"), body(s, "truck_1"))["Accepted"] == 3
    assert [d["DeviceId"] for d in keyed.details(s)] == ["op_a"]


def test_shared_key_password_of_another_device_or_key_is_signature_failure(keyed, server):
    exp = int(time.time()) + 3600
    other = device_client(server.host, keyed.pid, "truck_1", project_key_password(PROJECT_KEY, "op_a", exp), exp)
    e = expect_error(other.call_json, "ReportDeviceStatus", {"Status": "ready"})
    assert_error(e, "AuthFailure.SignatureFailure")
    e = expect_error(keyed_client(server, keyed.pid, "truck_1", key="x" * 32).call_json,
                     "ReportDeviceStatus", {"Status": "ready"})
    assert_error(e, "AuthFailure.SignatureFailure")
    assert keyed.status("truck_1") == "offline"


def test_an_expired_shared_key_password_is_signature_expire(keyed, server):
    e = expect_error(keyed_client(server, keyed.pid, "truck_1", expire=int(time.time()) - 60).call_json,
                     "ReportDeviceStatus", {"Status": "ready"})
    assert_error(e, "AuthFailure.SignatureExpire")
    assert keyed.status("truck_1") == "offline"


def test_a_useprojectkeypwd_device_cannot_log_in_with_its_token(keyed, server):
    e = expect_error(device_client(server.host, keyed.pid, "op_a", "USEPROJECTKEYPWD").call_json,
                     "ReportDeviceStatus", {"Status": "ready"})
    assert_error(e, "AuthFailure.InvalidSecretId")
    assert keyed.status("op_a") == "offline"
    keyed_client(server, keyed.pid, "op_a").call_json("ReportDeviceStatus", {"Status": "ready"})
    assert keyed.status("op_a") == "ready"


def test_an_unknown_device_without_auto_register_is_signature_failure(keyed, server):
    e = expect_error(keyed_client(server, keyed.pid, "ghost_truck").call_json, "ReportSessionMetrics",
                     body(sid("ghost"), "op_a"))
    assert_error(e, "AuthFailure.SignatureFailure")
    assert "ghost_truck" not in keyed.listed(RegisterType=1)
    assert keyed.sessions() == []


def test_auto_register_1_lets_an_unknown_field_device_report_and_lists_it_only_with_register_type_1(keyed, server):
    call(keyed.cli, "ModifyProjectSecMode", {"ProjectId": keyed.pid, "Mode": 1, "Key": PROJECT_KEY,
                                             "AutoRegister": 1})
    s = sid("auto")
    r = report(keyed_client(server, keyed.pid, "auto_truck"), body(s, "op_a"))
    assert (r["Accepted"], r["Duplicates"]) == (3, 0)
    assert keyed.listed() == ["op_a", "truck_1"], "RegisterType 0 (default) leaves auto-registered devices out"
    assert keyed.listed(RegisterType=0) == ["op_a", "truck_1"]
    assert keyed.listed(RegisterType=1) == ["auto_truck", "op_a", "truck_1"]
    info = call(keyed.cli, "DescribeDeviceInfo", {"ProjectId": keyed.pid, "DeviceId": "auto_truck"})
    assert (info.DeviceType, info.DeviceStatus) == ("field", "connected")
    (d,) = keyed.details(s)
    assert (d["DeviceId"], d["DeviceType"]) == ("auto_truck", "field")
    assert keyed.sessions() == [s]


def test_auto_register_1_does_not_register_a_remote_device(keyed, server):
    call(keyed.cli, "ModifyProjectSecMode", {"ProjectId": keyed.pid, "Mode": 1, "Key": PROJECT_KEY,
                                             "AutoRegister": 1})
    s = sid("auto-remote")
    # its peer is a field device, so it would be a remote device
    e = expect_error(report, keyed_client(server, keyed.pid, "auto_op"), body(s, "truck_1"))
    assert_error(e, "OperationDenied")
    assert "auto_op" not in keyed.listed(RegisterType=1)
    assert keyed.details(s) is None and keyed.sessions() == []


# ---------------------------------------------------------------------------------------------
# Bad input: a precise error, and nothing of the request stored


def unknown_metric(b):
    b["Samples"][0]["Foo"] = 1


def unknown_metric_later(b):
    b["Samples"][2]["Foo"] = 1


def float_rate(b):
    b["Samples"][0]["Rate"] = 800.5


def negative_offset(b):
    b["Samples"][0]["TimeOffset"] = -2


def duplicated_offset(b):
    b["Samples"][1]["TimeOffset"] = b["Samples"][2]["TimeOffset"]


def lacking_metric(b):
    del b["Samples"][1]["Fps"]


def too_many(b):
    b["Samples"] = [{"TimeOffset": 2 * i, "Rate": 800, "Fps": 20, "CpuUsed": 1.5} for i in range(1801)]


BAD = [
    (unknown_metric, "UnknownParameter", "Samples.0.Foo"),
    (unknown_metric_later, "UnknownParameter", "Samples.2.Foo"),
    (float_rate, "InvalidParameter", "Samples.0.Rate"),
    (negative_offset, "InvalidParameterValue", "TimeOffset"),
    (duplicated_offset, "InvalidParameterValue", "TimeOffset"),
    (lacking_metric, "InvalidParameterValue", "Samples"),
    (too_many, "InvalidParameterValue", "Samples"),
]


@pytest.mark.parametrize("spoil,code,name", BAD, ids=[b[0].__name__ for b in BAD])
def test_bad_samples_are_refused_with_a_precise_error_and_nothing_is_stored(fleet, spoil, code, name):
    established = sid("est")
    report(fleet.dev("truck_1"), body(established, "op_a", offsets=(0, 2, 4)))
    before = fleet.details(established)
    # on a new session: no session is created, the device is not connected
    fresh = sid("bad")
    b = body(fresh, "op_b", offsets=(10, 12, 14))
    spoil(b)
    e = expect_error(report, fleet.dev("truck_2"), b)
    assert_error(e, code, name)
    assert fleet.details(fresh) is None
    assert fleet.status("truck_2") == "offline"
    # on an existing session: not one of the request's samples is stored (the good ones neither)
    b = body(established, "op_a", offsets=(10, 12, 14))
    spoil(b)
    e = expect_error(report, fleet.dev("truck_1"), b)
    assert_error(e, code, name)
    assert fleet.details(established) == before
    assert fleet.sessions() == [established]


def test_1800_samples_in_one_report_are_accepted(fleet):
    s = sid("big")
    b = body(s, "op_a", start=int(time.time()) - 4000, offsets=range(0, 3600, 2))
    assert report(fleet.dev("truck_1"), b)["Accepted"] == 1800
    (d,) = fleet.details(s)
    assert d["TimeOffset"] == list(range(0, 3600, 2))


def test_a_peer_that_is_not_a_device_of_the_other_type_is_denied(fleet):
    # docs/api.md §4.4: "the peer must be a device of the other type in the same project, and the
    # project's policy must allow ...: ... Otherwise `OperationDenied`, and nothing of the request is stored."
    for me, peer in (("truck_1", "truck_2"), ("op_a", "op_b"), ("truck_1", "nobody"), ("op_a", "ghost")):
        s = sid("peer")
        e = expect_error(report, fleet.dev(me), body(s, peer))
        assert_error(e, "OperationDenied", "PeerDeviceId")
        assert fleet.details(s) is None
        assert fleet.status(me) == "offline"


def test_a_peer_in_another_project_is_not_a_peer(fleet, server, acct):
    other = make_fleet(server.host, acct, fields=("truck_x",), remotes=("op_x",))
    s = sid("xproject")
    e = expect_error(report, fleet.dev("truck_1"), body(s, "op_x"))
    assert_error(e, "OperationDenied", "PeerDeviceId")
    assert fleet.details(s) is None and other.sessions() == []


def test_a_session_that_already_has_another_field_device_refuses_a_second_one(fleet):
    s = sid("two-fields")
    report(fleet.dev("truck_1"), body(s, "op_a"))
    report(fleet.dev("op_a"), body(s, "truck_1"))
    before = fleet.details(s)
    e = expect_error(report, fleet.dev("truck_2"), body(s, "op_a", offsets=(6, 8)))
    assert_error(e, "InvalidParameterValue", "SessionId")
    assert fleet.details(s) == before
    assert [d["DeviceId"] for d in before] == ["truck_1", "op_a"]
    assert fleet.status("truck_2") == "offline"
    # and the same for a second remote device
    e = expect_error(report, fleet.dev("op_b"), body(s, "truck_1", offsets=(6, 8)))
    assert_error(e, "InvalidParameterValue", "SessionId")
    assert fleet.details(s) == before


def test_a_later_report_with_a_different_metric_set_is_refused(fleet):
    s = sid("schema")
    report(fleet.dev("truck_1"), body(s, "op_a", offsets=(0, 2)))
    before = fleet.details(s)
    b = body(s, "op_a", offsets=(4, 6))
    for smp in b["Samples"]:
        del smp["CpuUsed"]
    e = expect_error(report, fleet.dev("truck_1"), b)
    assert_error(e, "InvalidParameterValue", "Samples")
    b = body(s, "op_a", offsets=(4, 6))
    for smp in b["Samples"]:
        smp["NACK"] = 0
    e = expect_error(report, fleet.dev("truck_1"), b)
    assert_error(e, "InvalidParameterValue", "Samples")
    assert fleet.details(s) == before
    # the same metric set is still welcome
    assert report(fleet.dev("truck_1"), body(s, "op_a", offsets=(4, 6)))["Accepted"] == 2
    assert fleet.details(s)[0]["TimeOffset"] == [0, 2, 4, 6]


def test_samples_sent_out_of_order_and_overlapping_are_merged_by_time_offset(fleet):
    s = sid("order")
    dev = fleet.dev("truck_1")
    r = report(dev, body(s, "op_a", offsets=(8, 4, 6)))
    assert (r["Accepted"], r["Duplicates"]) == (3, 0)
    r = report(dev, body(s, "op_a", offsets=(0, 2, 4)))
    assert (r["Accepted"], r["Duplicates"]) == (2, 1)
    (d,) = fleet.details(s)
    assert d["TimeOffset"] == [0, 2, 4, 6, 8]
    assert d["CpuUsed"] == [35.02] * 5


# ---------------------------------------------------------------------------------------------
# Device status


def test_device_status_follows_heartbeats_and_session_parts(fleet):
    dev = fleet.dev("truck_1")
    r = dev.call_json("ReportDeviceStatus", {"Status": "ready"})["Response"]
    assert r["DeviceStatus"] == "ready"
    assert fleet.status("truck_1") == "ready"
    assert fleet.listed(DeviceStatus="online") == ["truck_1"]
    assert "truck_1" not in fleet.listed(DeviceStatus="offline")

    s = sid("status")
    report(dev, body(s, "op_a", offsets=(0, 2)))
    assert fleet.status("truck_1") == "connected"
    assert fleet.listed(DeviceStatus="online") == ["truck_1"]
    assert fleet.listed(DeviceStatus="connected") == ["truck_1"]

    report(dev, body(s, "op_a", offsets=(4, 6), final=True))
    assert fleet.status("truck_1") == "ready"
    assert fleet.listed(DeviceStatus="ready") == ["truck_1"]

    r = dev.call_json("ReportDeviceStatus", {"Status": "offline"})["Response"]
    assert r["DeviceStatus"] == "offline"
    assert fleet.status("truck_1") == "offline"
    assert fleet.listed(DeviceStatus="online") == []


def test_a_bad_status_is_invalid_parameter_value(fleet):
    e = expect_error(fleet.dev("truck_1").call_json, "ReportDeviceStatus", {"Status": "sleeping"})
    assert_error(e, "InvalidParameterValue", "Status")
    assert fleet.status("truck_1") == "offline"


# ---------------------------------------------------------------------------------------------
# DescribeRecentSessionList


def test_recent_sessions_show_live_sessions_and_not_old_ones(fleet, server, teleoscope_bin, tmp_path):
    now = int(time.time())
    live = sid("live")
    report(fleet.dev("truck_1"), body(live, "op_a", start=now - 20, offsets=(0, 2, 4)))
    # a long session: started three hours ago, still reporting
    long_running = sid("long")
    report(fleet.dev("truck_2"), body(long_running, "op_b", start=now - 3 * 3600, offsets=(10790, 10792)))
    # an old session (2024), imported
    old = sid("old")
    parts = []
    for dev_id, kind, start in (("truck_1", "field", 1731399569), ("op_a", "remote", 1731399570)):
        parts.append({"SessionId": old, "DeviceId": dev_id, "DeviceType": kind, "ProjectId": fleet.pid,
                      "StartTime": start, "EndTime": start + 4, "Ver": "2.4", "SdkMode": "server2",
                      "Width": 1280, "Height": 720, "ConfigWidth": 0, "ConfigHeight": 0, "MultiMode": 0,
                      "TimeOffset": [0, 2, 4], "Fps": [20, 20, 20], "MultiNet": []})
    path = os.path.join(str(tmp_path), "old.json")
    with open(path, "w") as f:
        json.dump({"Response": {"Details": parts, "RequestId": "x"}}, f)
    run_import(teleoscope_bin, server.db_url, fleet.pid, path)
    assert old in fleet.sessions(), "the imported session is stored"

    r = fleet.recent()
    by_id = {x["SessionId"]: x for x in r["RecentSessionList"]}
    assert set(by_id) == {live, long_running}, "not the session last reported in 2024"
    assert (r["Total"], r["Num"]) == (2, 2)
    x = by_id[live]
    assert (x["FieldDeviceId"], x["RemoteDeviceId"], x["Resolution"], x["StartTime"]) == (
        "truck_1", "op_a", "1280*720", now - 20)
    assert abs(x["LatestUpdateTime"] - time.time()) <= 10, x
    assert abs(by_id[long_running]["LatestUpdateTime"] - time.time()) <= 10
    assert by_id[long_running]["StartTime"] == now - 3 * 3600

    r = fleet.recent(DeviceId="op_b")
    assert [x["SessionId"] for x in r["RecentSessionList"]] == [long_running]
    r = fleet.recent(DeviceId="truck_1")
    assert [x["SessionId"] for x in r["RecentSessionList"]] == [live]


# ---------------------------------------------------------------------------------------------
# Per-device rate limit, on servers of their own


def _burst(fn, n, workers=16):
    def one(i):
        try:
            return fn(i)
        except TencentCloudSDKException as e:
            return e
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, range(n)))
    return ([r for r in results if not isinstance(r, TencentCloudSDKException)],
            [r for r in results if isinstance(r, TencentCloudSDKException)])


@pytest.fixture(scope="module")
def default_limits(teleoscope_bin):
    workdir = tempfile.mkdtemp(prefix="teleoscope-compat-devrl-")
    srv = Server(teleoscope_bin, workdir, env_remove=("TELEOSCOPE_RATE_LIMIT_PER_SECOND",))
    yield srv
    srv.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_a_device_over_50_reports_per_second_is_throttled_and_another_device_is_not(default_limits, teleoscope_bin):
    acct = create_key(teleoscope_bin, default_limits.db_url)
    f = make_fleet(default_limits.host, acct)
    s, s2 = sid("burst"), sid("other")
    dev, other = f.dev("truck_1"), f.dev("truck_2")
    # a fixed one-second window may split a burst in two: try a few bursts of 60
    accepted = 0
    for attempt in range(3):
        base = 1000 * attempt
        ok, errors = _burst(lambda i: report(dev, body(s, "op_a", offsets=(base + 2 * i,))), 60)
        accepted += sum(r["Accepted"] for r in ok)
        # the other device, in the same second
        assert report(other, body(s2, "op_b", offsets=(base,)))["Accepted"] == 1
        if errors:
            break
        time.sleep(1.1)
    assert errors, "60 reports from one device within a second were all accepted"
    assert {e.get_code() for e in errors} == {"RequestLimitExceeded"}
    assert "`50`" in errors[0].get_message(), errors[0].get_message()
    assert len(ok) >= 50, "the first 50 reports of a second must pass, got %d" % len(ok)
    # exactly the accepted reports were stored
    assert len(f.details(s)[0]["TimeOffset"]) == accepted
    assert len(f.details(s2)[0]["TimeOffset"]) == attempt + 1


def test_a_device_back_from_an_outage_sends_its_buffered_batches_at_once(default_limits, teleoscope_bin):
    acct = create_key(teleoscope_bin, default_limits.db_url)
    f = make_fleet(default_limits.host, acct)
    s = sid("outage")
    dev = f.dev("truck_1")
    time.sleep(1.0)
    ok, errors = _burst(lambda i: report(dev, body(s, "op_a", offsets=range(20 * i, 20 * i + 20, 2))), 40)
    assert errors == [], [e.get_message() for e in errors[:3]]
    assert sum(r["Accepted"] for r in ok) == 400
    assert f.details(s)[0]["TimeOffset"] == list(range(0, 800, 2))


@pytest.fixture(scope="module")
def tuned(teleoscope_bin):
    """A server configured by TOML: device limit 5/s, idle and heartbeat timeouts of 2 s. The suite's
    TELEOSCOPE_RATE_LIMIT_PER_SECOND=10000 is set and does not lift the device limit."""
    workdir = tempfile.mkdtemp(prefix="teleoscope-compat-tuned-")
    cfg = os.path.join(workdir, "teleoscope.toml")
    with open(cfg, "w") as fh:
        fh.write("device_rate_limit_per_second = 5\nidle_timeout_seconds = 2\nheartbeat_timeout_seconds = 2\n")
    srv = Server(teleoscope_bin, workdir, env_extra={"TELEOSCOPE_RATE_LIMIT_PER_SECOND": "10000"},
                 extra_args=["--config", cfg])
    yield srv
    srv.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_the_device_rate_limit_comes_from_the_configuration(tuned, teleoscope_bin):
    acct = create_key(teleoscope_bin, tuned.db_url)
    f = make_fleet(tuned.host, acct)
    dev = f.dev("truck_1")
    ok, errors = _burst(lambda i: dev.call_json("ReportDeviceStatus", {"Status": "ready"}), 20, workers=8)
    assert 5 <= len(ok) <= 10, "a limit of 5/s lets 5 (or, across a window edge, 10) of 20 through: %d" % len(ok)
    assert {e.get_code() for e in errors} == {"RequestLimitExceeded"}
    assert "`5`" in errors[0].get_message(), errors[0].get_message()
    f.dev("truck_2").call_json("ReportDeviceStatus", {"Status": "ready"})


def test_heartbeat_and_idle_timeouts_end_ready_and_connected(tuned, teleoscope_bin):
    acct = create_key(teleoscope_bin, tuned.db_url)
    f = make_fleet(tuned.host, acct)
    time.sleep(1.0)   # a fresh rate-limit second for these devices
    f.dev("truck_1").call_json("ReportDeviceStatus", {"Status": "ready"})
    s = sid("idle")
    report(f.dev("truck_2"), body(s, "op_a", offsets=(0, 2)))
    assert (f.status("truck_1"), f.status("truck_2")) == ("ready", "connected")
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        states = (f.status("truck_1"), f.status("truck_2"))
        if states == ("offline", "offline"):
            break
        time.sleep(0.25)
    assert states == ("offline", "offline"), "2 s heartbeat / idle timeouts: still %s after 8 s" % (states,)
    # the device comes back: its part reopens, it is connected again
    report(f.dev("truck_2"), body(s, "op_a", offsets=(30, 32)))
    assert f.status("truck_2") == "connected"
    assert f.details(s)[0]["TimeOffset"] == [0, 2, 30, 32]
