"""The Tencent Cloud API 3.0 calling convention, exercised through the vendor's Python SDK
(docs/protocol.md)."""

import json
import shutil
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tcutil import (CJK_RE, REGION, UUID_RE, Account, Server, assert_error, call, create_device, create_key,
                    create_project, delete_key, expect_error, list_keys, made_up_project_id, make_client,
                    make_common_client)

# ---------------------------------------------------------------------------------------------
# Authentication


def test_wrong_secret_key_is_signature_failure(client, account_a):
    bad = Account(account_a.account_id, account_a.secret_id, account_a.secret_key + "x")
    e = expect_error(call, client(bad), "DescribeProjectList", {})
    assert_error(e, "AuthFailure.SignatureFailure")


def test_unknown_secret_id_is_secret_id_not_found(client, account_a):
    ghost = Account("nobody", "AKID" + "Z" * 32, account_a.secret_key)
    e = expect_error(call, client(ghost), "DescribeProjectList", {})
    assert_error(e, "AuthFailure.SecretIdNotFound")


def test_a_key_deleted_while_the_server_runs_stops_working(server, teleoscope_bin, client, account_a):
    key = create_key(teleoscope_bin, server.db_url, account_id=account_a.account_id)
    assert key.account_id == account_a.account_id
    listed = {k["SecretId"]: k for k in list_keys(teleoscope_bin, server.db_url)}
    assert key.secret_id in listed and listed[key.secret_id]["AccountId"] == account_a.account_id
    assert "SecretKey" not in listed[key.secret_id], "keys list must not print secret keys"
    cli = client(key)
    assert call(cli, "DescribeProjectList", {}).Total >= 0

    delete_key(teleoscope_bin, server.db_url, key.secret_id)
    assert key.secret_id not in {k["SecretId"] for k in list_keys(teleoscope_bin, server.db_url)}
    e = expect_error(call, cli, "DescribeProjectList", {})
    assert_error(e, "AuthFailure.SecretIdNotFound")
    # the account's other key still works
    assert call(client(account_a), "DescribeProjectList", {}).Total >= 0


def test_an_expired_timestamp_is_signature_expire(client, account_a, monkeypatch):
    import tencentcloud.common.abstract_client as ac
    real_time = time.time

    class SkewedTime:
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def time():
            return real_time() - 3600

    monkeypatch.setattr(ac, "time", SkewedTime())
    e = expect_error(call, client(account_a), "DescribeProjectList", {})
    assert_error(e, "AuthFailure.SignatureExpire")


def test_a_request_signed_for_another_service_is_invalid_authorization(common_client, account_a):
    e = expect_error(common_client(account_a, service="cvm").call_json, "DescribeProjectList", {})
    assert_error(e, "AuthFailure.InvalidAuthorization")


@pytest.mark.parametrize("host_kind", ["ip", "localhost"])
def test_the_service_name_the_nodejs_sdk_derives_from_the_endpoint_is_accepted(server, account_a, host_kind):
    # docs/api.md §2.3: the text before the first `.` of Host: `127` for 127.0.0.1:port,
    # `localhost:port` for localhost:port.
    if host_kind == "ip":
        host, service = server.host, "127"
    else:
        host, service = "localhost:%d" % server.port, "localhost:%d" % server.port
    cred = credential.Credential(account_a.secret_id, account_a.secret_key)
    from tencentcloud.common.common_client import CommonClient
    from tcutil import make_profile
    cc = CommonClient(service, "2022-03-25", cred, REGION, profile=make_profile(host))
    r = cc.call_json("DescribeProjectList", {})["Response"]
    assert UUID_RE.match(r["RequestId"]) and "Total" in r


# ---------------------------------------------------------------------------------------------
# Request shapes


def test_endpoint_with_scheme_sends_a_literal_scheme_host_and_still_works(server, account_a):
    cli = make_client(server.host, account_a, endpoint="http://" + server.host)
    pid = create_project(cli, name="scheme_host")
    assert call(cli, "DescribeProjectInfo", {"ProjectId": pid}).ProjectName == "scheme_host"


def test_get_requests_work(server, account_a):
    cli = make_client(server.host, account_a, req_method="GET")
    pid = create_project(cli, name="via_get", ProjectDescription="描述 with spaces & symbols=?")
    info = call(cli, "DescribeProjectInfo", {"ProjectId": pid})
    assert (info.ProjectName, info.ProjectDescription) == ("via_get", "描述 with spaces & symbols=?")
    create_device(cli, pid, "g1", name="矿卡_一号")
    create_device(cli, pid, "g2")
    r = call(cli, "DescribeDeviceList", {"ProjectId": pid, "PageNumber": 1, "PageSize": 10})
    assert sorted(d.DeviceId for d in r.Devices) == ["g1", "g2"]
    assert {d.DeviceId: d.DeviceName for d in r.Devices}["g1"] == "矿卡_一号"
    # lists are flattened as DeviceIds.0, DeviceIds.1, ...
    resp = call(cli, "BatchDeleteDevices", {"ProjectId": pid, "DeviceIds": ["g1", "nope", "g2"]})
    assert resp.FailedDeviceIds == ["nope"]


def test_get_errors_are_reported_like_post_errors(server, account_a):
    cli = make_client(server.host, account_a, req_method="GET")
    e = expect_error(call, cli, "DescribeProjectInfo", {"ProjectId": made_up_project_id()})
    assert_error(e, "ResourceNotFound")
    e = expect_error(call, cli, "DescribeProjectList", {"PageSize": 101})
    assert_error(e, "InvalidParameterValue", "PageSize")


@pytest.mark.parametrize("req_method", ["POST", "GET"])
@pytest.mark.parametrize("sign_method", ["HmacSHA1", "HmacSHA256"])
def test_v1_signatures_work(server, account_a, sign_method, req_method):
    cli = make_client(server.host, account_a, sign_method=sign_method, req_method=req_method)
    pid = create_project(cli, name="v1_" + sign_method[-3:].lower(), ProjectDescription="签名 v1")
    info = call(cli, "DescribeProjectInfo", {"ProjectId": pid})
    assert (info.ProjectDescription, info.PolicyMode) == ("签名 v1", "black")
    create_device(cli, pid, "v1dev", name="设备_1")
    resp = call(cli, "BatchDeleteDevices", {"ProjectId": pid, "DeviceIds": ["v1dev", "ghost"]})
    assert resp.FailedDeviceIds == ["ghost"]


@pytest.mark.parametrize("sign_method", ["HmacSHA1", "HmacSHA256"])
def test_v1_signature_with_a_wrong_key_is_signature_failure(server, account_a, sign_method):
    bad = Account(account_a.account_id, account_a.secret_id, "wrong" + account_a.secret_key)
    e = expect_error(call, make_client(server.host, bad, sign_method=sign_method), "DescribeProjectList", {})
    assert_error(e, "AuthFailure.SignatureFailure")


@pytest.mark.parametrize("req_method", ["POST", "GET"])
def test_unsigned_payload_works(server, account_a, req_method):
    cli = make_client(server.host, account_a, unsigned_payload=True, req_method=req_method)
    pid = create_project(cli, name="unsigned")
    assert call(cli, "DescribeProjectInfo", {"ProjectId": pid}).ProjectName == "unsigned"


def test_numeric_strings_in_a_get_query_are_integers(server, account_a):
    cli = make_common_client(server.host, account_a, req_method="GET")
    r = cli.call_json("DescribeProjectList", {"PageNumber": 1, "PageSize": 1})["Response"]
    assert r["Num"] <= 1 and type(r["Total"]) is int


# ---------------------------------------------------------------------------------------------
# Errors


def test_english_and_chinese_error_messages_for_the_same_error(client, account_a):
    pid = made_up_project_id()
    en = expect_error(call, client(account_a, language="en-US"), "DescribeProjectInfo", {"ProjectId": pid})
    zh = expect_error(call, client(account_a), "DescribeProjectInfo", {"ProjectId": pid})  # SDK default zh-CN
    assert en.get_code() == zh.get_code() == "ResourceNotFound"
    assert not CJK_RE.search(en.get_message()), "en-US message is not English: %r" % en.get_message()
    assert CJK_RE.search(zh.get_message()), "zh-CN message is not Chinese: %r" % zh.get_message()


def test_language_also_applies_to_validation_errors(client, account_a):
    en = expect_error(call, client(account_a, language="en-US"), "CreateProject", {"ProjectName": "n" * 25})
    zh = expect_error(call, client(account_a, language="zh-CN"), "CreateProject", {"ProjectName": "n" * 25})
    assert_error(en, "InvalidParameterValue", "ProjectName")
    assert_error(zh, "InvalidParameterValue", "ProjectName")
    assert not CJK_RE.search(en.get_message()) and CJK_RE.search(zh.get_message())


def test_language_applies_to_v1_requests(server, account_a):
    en = expect_error(call, make_client(server.host, account_a, language="en-US", sign_method="HmacSHA256"),
                      "DescribeProjectInfo", {"ProjectId": made_up_project_id()})
    zh = expect_error(call, make_client(server.host, account_a, language="zh-CN", sign_method="HmacSHA256"),
                      "DescribeProjectInfo", {"ProjectId": made_up_project_id()})
    assert not CJK_RE.search(en.get_message()) and CJK_RE.search(zh.get_message())


OUT_OF_SCOPE = [
    "BoundLicenses", "CreateBatchVideoAnnotationJob", "CreateCloudRecording", "CreateVideoAnnotationJob",
    "DeleteAnnotationJob", "DeleteAnnotationTask", "DeleteCloudRecording", "DescribeAnnotationJobs",
    "DescribeAnnotationResults", "DescribeAnnotationTasks", "GetDeviceLicense", "GetDevices",
    "GetLicenseStat", "GetLicenses", "RetryAnnotationTask", "StartPublishLiveStream", "StopPublishLiveStream",
]


@pytest.mark.parametrize("action", OUT_OF_SCOPE)
def test_vendor_actions_outside_the_product_are_unsupported_operation(raw_a, action):
    e = expect_error(raw_a.call_json, action, {})
    assert_error(e, "UnsupportedOperation")


def test_an_action_the_vendor_does_not_have_is_invalid_action(raw_a):
    e = expect_error(raw_a.call_json, "DescribeTeleportationList", {})
    assert_error(e, "InvalidAction")


def test_an_unknown_version_is_no_such_version(common_client, account_a):
    e = expect_error(common_client(account_a, version="2019-07-22").call_json, "DescribeProjectList", {})
    assert_error(e, "NoSuchVersion")


def test_unknown_parameter_is_unknown_parameter_naming_it(raw_a):
    e = expect_error(raw_a.call_json, "DescribeProjectList", {"Foo": 1})
    assert_error(e, "UnknownParameter", "Foo")


def test_missing_required_parameter_is_missing_parameter_naming_it(raw_a):
    e = expect_error(raw_a.call_json, "DescribeDeviceInfo", {"ProjectId": made_up_project_id()})
    assert_error(e, "MissingParameter", "DeviceId")


def test_wrong_type_is_invalid_parameter_naming_it(raw_a):
    e = expect_error(raw_a.call_json, "DescribeProjectList", {"PageNumber": "abc"})
    assert_error(e, "InvalidParameter", "PageNumber")


def test_every_error_carries_a_uuid_request_id_and_ids_differ(client, account_a):
    cli = client(account_a)
    ids = set()
    for _ in range(3):
        e = expect_error(call, cli, "DescribeProjectInfo", {"ProjectId": made_up_project_id()})
        assert UUID_RE.match(e.get_request_id()) and len(e.get_request_id()) == 36
        ids.add(e.get_request_id())
    ghost = Account("x", "AKID" + "Q" * 32, "k" * 32)
    e = expect_error(call, client(ghost), "DescribeProjectList", {})
    assert UUID_RE.match(e.get_request_id())
    ids.add(e.get_request_id())
    assert len(ids) == 4, "every request gets its own RequestId"


def test_successful_responses_carry_a_uuid_request_id(cli_a):
    r = call(cli_a, "DescribeProjectList", {})
    assert UUID_RE.match(r.RequestId)


def test_errors_are_http_200_with_exactly_application_json(server):
    # What the Python SDK needs to see errors at all (docs/protocol.md §4.2 and §7 items 1-2): an unsigned
    # POST gets MissingParameter `SecretId` in the normal envelope.
    req = urllib.request.Request(server.base_url + "/", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json", "X-TC-Action": "DescribeProjectList",
                                          "X-TC-Version": "2022-03-25", "X-TC-Timestamp": str(int(time.time()))})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        assert r.headers.get("Content-Type") == "application/json"
        body = json.loads(r.read())
    assert body["Response"]["Error"]["Code"] == "MissingParameter"
    assert "SecretId" in body["Response"]["Error"]["Message"]
    assert UUID_RE.match(body["Response"]["RequestId"])


# ---------------------------------------------------------------------------------------------
# Rate limits (a dedicated server with the default limits)


@pytest.fixture(scope="module")
def limited_server(teleoscope_bin):
    workdir = tempfile.mkdtemp(prefix="teleoscope-compat-rl-")
    srv = Server(teleoscope_bin, workdir, env_remove=("TELEOSCOPE_RATE_LIMIT_PER_SECOND",))
    yield srv
    srv.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def _hammer(fn, n, workers=8):
    """Fire n calls concurrently; return (successes, [exceptions])."""
    def one(i):
        try:
            fn(i)
            return None
        except TencentCloudSDKException as e:
            return e
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, range(n)))
    errors = [r for r in results if r is not None]
    return n - len(errors), errors


def test_default_rate_limit_is_20_per_second_per_action(limited_server, teleoscope_bin):
    acct = create_key(teleoscope_bin, limited_server.db_url)
    cli = make_client(limited_server.host, acct, language="en-US")
    ok, errors = _hammer(lambda i: call(cli, "DescribeProjectList", {}), 80)
    codes = {e.get_code() for e in errors}
    assert codes == {"RequestLimitExceeded"}, codes
    assert ok >= 20, "the first 20 requests of a second must pass, got %d" % ok
    assert "`20`" in errors[0].get_message(), errors[0].get_message()
    assert all(UUID_RE.match(e.get_request_id()) for e in errors)
    # another action of the same account, and the same action of another account, are not throttled
    assert call(cli, "DescribeProjectInfo", {"ProjectId": create_project(cli)}).PolicyMode == "black"
    other = make_client(limited_server.host, create_key(teleoscope_bin, limited_server.db_url))
    assert call(other, "DescribeProjectList", {}).Total == 0
    # and the limit lifts after a second
    time.sleep(1.2)
    assert call(cli, "DescribeProjectList", {}).Total >= 1


def test_create_device_rate_limit_is_50_per_second(limited_server, teleoscope_bin):
    acct = create_key(teleoscope_bin, limited_server.db_url)
    cli = make_client(limited_server.host, acct, language="en-US")
    pid = create_project(cli)
    ok, errors = _hammer(lambda i: create_device(cli, pid, "rl_%d" % i), 200, workers=16)
    assert {e.get_code() for e in errors} == {"RequestLimitExceeded"}
    assert ok >= 50, ok
    assert "`50`" in errors[0].get_message(), errors[0].get_message()
    time.sleep(1.2)
    assert call(cli, "DescribeDeviceList", {"ProjectId": pid}).Total == ok, \
        "exactly the accepted CreateDevice calls created devices"


def test_wrong_signatures_cool_the_secret_id_down(limited_server, teleoscope_bin):
    """The brake on guessing (docs/security.md): after 10 failed signatures in a minute the SecretId
    gets RequestLimitExceeded, which the SDK's retryers know, without its signature being checked."""
    acct = create_key(teleoscope_bin, limited_server.db_url)
    guess = make_client(limited_server.host, Account(acct.account_id, acct.secret_id, "x" * 32),
                        language="en-US")
    for _ in range(11):
        assert_error(expect_error(call, guess, "DescribeProjectList", {}), "AuthFailure.SignatureFailure")
    e = expect_error(call, guess, "DescribeProjectList", {})
    assert_error(e, "RequestLimitExceeded", "SecretId")
    # the right key waits out the cool-down too; another account does not
    right = make_client(limited_server.host, acct)
    assert_error(expect_error(call, right, "DescribeProjectList", {}), "RequestLimitExceeded")
    other = make_client(limited_server.host, create_key(teleoscope_bin, limited_server.db_url))
    assert call(other, "DescribeProjectList", {}).Total == 0


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_methods_other_than_get_and_post_are_unsupported_protocol(server, method):
    req = urllib.request.Request(server.base_url + "/", data=b"{}", method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        assert r.headers.get("Content-Type") == "application/json"
        body = json.loads(r.read())
    assert body["Response"]["Error"]["Code"] == "UnsupportedProtocol"
    assert UUID_RE.match(body["Response"]["RequestId"])


@pytest.mark.parametrize("sign_method,name", [(None, "X-TC-Region"), ("HmacSHA256", "Region")])
def test_an_unknown_region_is_invalid_parameter_value(server, account_a, sign_method, name):
    from tencentcloud.common.common_client import CommonClient
    from tcutil import make_profile
    cred = credential.Credential(account_a.secret_id, account_a.secret_key)
    cc = CommonClient("trro", "2022-03-25", cred, "mars-north-1",
                      profile=make_profile(server.host, sign_method=sign_method))
    e = expect_error(cc.call_json, "DescribeProjectList", {})
    assert_error(e, "InvalidParameterValue", name)
