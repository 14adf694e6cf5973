"""Devices: CreateDevice, DescribeDeviceList, DescribeDeviceInfo, ModifyDevice, BatchDeleteDevices."""

import json
import time

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.trro.v20220325 import models

from tcutil import (REGION, UUID_RE, assert_error, assert_recent, call, create_device, create_project,
                    expect_error, made_up_project_id, make_profile, parse_time, rand_token)


def device_ids(resp):
    return sorted(d.DeviceId for d in (resp.Devices or []))


def device_client(server, project_id, device_id, token):
    """A device's own client (docs/api.md §4.1: SecretId `<ProjectId>:<DeviceId>`, SecretKey the
    16-char DeviceToken), through the vendor SDK's generic CommonClient."""
    cred = credential.Credential("%s:%s" % (project_id, device_id), token)
    return CommonClient("trro", "2022-03-25", cred, REGION, profile=make_profile(server.host))


# ---------------------------------------------------------------------------------------------
# CreateDevice + DescribeDeviceInfo


def test_create_device_with_typed_models_and_read_it_back(cli_a, project):
    req = models.CreateDeviceRequest()
    req.from_json_string(json.dumps({
        "ProjectId": project,
        "DeviceId": "test2",
        "DeviceName": "test_device",
        "DeviceType": "field",
        "DeviceToken": "abcd1234abcd1234",
    }))
    resp = cli_a.CreateDevice(req)
    assert isinstance(resp, models.CreateDeviceResponse)
    assert UUID_RE.match(resp.RequestId)

    info_req = models.DescribeDeviceInfoRequest()
    info_req.ProjectId = project
    info_req.DeviceId = "test2"
    info = cli_a.DescribeDeviceInfo(info_req)
    assert info.DeviceName == "test_device"
    assert info.DeviceType == "field"
    assert info.DeviceStatus == "offline"
    assert_recent(info.ModifyTime)
    parse_time(info.LastReportTime)


def test_a_remote_device_reads_back_as_remote(cli_a, project):
    create_device(cli_a, project, "op_station_1", "remote", name="console")
    info = call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "op_station_1"})
    assert (info.DeviceType, info.DeviceName, info.DeviceStatus) == ("remote", "console", "offline")


def test_device_name_may_be_chinese(cli_a, project):
    create_device(cli_a, project, "truck_cn", name="矿卡_01号")
    info = call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "truck_cn"})
    assert info.DeviceName == "矿卡_01号"


def test_device_id_of_32_chars_with_digits_and_underscores_is_accepted(cli_a, project):
    did = "a_1" + "b" * 28 + "9"
    assert len(did) == 32
    create_device(cli_a, project, did, name="long_id")
    assert call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": did}).DeviceName == "long_id"


@pytest.mark.parametrize("device_id", [
    "Truck1",          # upper case
    "a" * 33,          # too long
    "truck-1",         # hyphen
    "truck 1",         # space
    "矿卡",            # not ASCII
])
def test_bad_device_ids_are_invalid_parameter_value(cli_a, project, device_id):
    e = expect_error(call, cli_a, "CreateDevice", {
        "ProjectId": project, "DeviceId": device_id, "DeviceName": "n",
        "DeviceType": "field", "DeviceToken": rand_token()})
    assert_error(e, "InvalidParameterValue", "DeviceId")


def test_device_name_must_be_shorter_than_24_characters(cli_a, project):
    create_device(cli_a, project, "name23", name="n" * 23)
    create_device(cli_a, project, "name23cn", name="矿" * 23)
    e = expect_error(call, cli_a, "CreateDevice", {
        "ProjectId": project, "DeviceId": "name24", "DeviceName": "n" * 24,
        "DeviceType": "field", "DeviceToken": rand_token()})
    assert_error(e, "InvalidParameterValue", "DeviceName")


def test_device_type_must_be_field_or_remote(cli_a, project):
    e = expect_error(call, cli_a, "CreateDevice", {
        "ProjectId": project, "DeviceId": "robot1", "DeviceName": "n",
        "DeviceType": "robot", "DeviceToken": rand_token()})
    assert_error(e, "InvalidParameterValue", "DeviceType")


@pytest.mark.parametrize("token", [
    "abcd1234abcd123",     # 15
    "abcd1234abcd12345",   # 17
    "abcd1234abcd123!",    # punctuation
    "abcd1234abcd123_",    # underscore
    "abcd1234abcd123矿",   # non-ASCII
])
def test_device_token_must_be_16_ascii_letters_or_digits(cli_a, project, token):
    e = expect_error(call, cli_a, "CreateDevice", {
        "ProjectId": project, "DeviceId": "tok", "DeviceName": "n",
        "DeviceType": "field", "DeviceToken": token})
    assert_error(e, "InvalidParameterValue", "DeviceToken")


def test_mixed_case_token_of_16_is_accepted(cli_a, project):
    create_device(cli_a, project, "mixed", token="AbCdEfGh12345678")
    assert call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "mixed"}).DeviceType == "field"


def test_duplicate_device_id_in_a_project_is_refused(cli_a, project):
    create_device(cli_a, project, "dup1", name="first")
    e = expect_error(call, cli_a, "CreateDevice", {
        "ProjectId": project, "DeviceId": "dup1", "DeviceName": "second",
        "DeviceType": "remote", "DeviceToken": rand_token()})
    assert_error(e, "InvalidParameterValue")
    assert "dup1" in e.get_message() or "DeviceId" in e.get_message(), e.get_message()
    info = call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "dup1"})
    assert (info.DeviceName, info.DeviceType) == ("first", "field"), "the original must be unchanged"


def test_create_device_in_a_missing_project_is_resource_not_found(cli_a):
    e = expect_error(call, cli_a, "CreateDevice", {
        "ProjectId": made_up_project_id(), "DeviceId": "dev1", "DeviceName": "n",
        "DeviceType": "field", "DeviceToken": rand_token()})
    assert_error(e, "ResourceNotFound")


@pytest.mark.parametrize("missing", ["ProjectId", "DeviceId", "DeviceName", "DeviceType", "DeviceToken"])
def test_create_device_without_a_required_field_is_missing_parameter(raw_a, project, missing):
    params = {"ProjectId": project, "DeviceId": "req_dev", "DeviceName": "n",
              "DeviceType": "field", "DeviceToken": rand_token()}
    del params[missing]
    e = expect_error(raw_a.call_json, "CreateDevice", params)
    assert_error(e, "MissingParameter", missing)


def test_describe_device_info_of_a_missing_device_is_resource_not_found(cli_a, project):
    e = expect_error(call, cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "ghost"})
    assert_error(e, "ResourceNotFound")
    assert "ghost" in e.get_message() or "DeviceId" in e.get_message(), e.get_message()


def test_same_device_id_in_two_projects_is_two_independent_devices(cli_a):
    p1 = create_project(cli_a)
    p2 = create_project(cli_a)
    create_device(cli_a, p1, "shared_id", "field", name="in_p1")
    create_device(cli_a, p2, "shared_id", "remote", name="in_p2")
    call(cli_a, "ModifyDevice", {"ProjectId": p1, "DeviceId": "shared_id", "DeviceName": "renamed"})
    i1 = call(cli_a, "DescribeDeviceInfo", {"ProjectId": p1, "DeviceId": "shared_id"})
    i2 = call(cli_a, "DescribeDeviceInfo", {"ProjectId": p2, "DeviceId": "shared_id"})
    assert (i1.DeviceName, i1.DeviceType) == ("renamed", "field")
    assert (i2.DeviceName, i2.DeviceType) == ("in_p2", "remote")
    r = call(cli_a, "BatchDeleteDevices", {"ProjectId": p1, "DeviceIds": ["shared_id"]})
    assert r.FailedDeviceIds == []
    assert_error(expect_error(call, cli_a, "DescribeDeviceInfo", {"ProjectId": p1, "DeviceId": "shared_id"}),
                 "ResourceNotFound")
    assert call(cli_a, "DescribeDeviceInfo", {"ProjectId": p2, "DeviceId": "shared_id"}).DeviceName == "in_p2"


# ---------------------------------------------------------------------------------------------
# DescribeDeviceList


@pytest.fixture
def fleet(cli_a):
    """A project with two field and two remote devices."""
    pid = create_project(cli_a, name="fleet")
    create_device(cli_a, pid, "truck_01", "field", name="矿卡一号")
    create_device(cli_a, pid, "truck_02", "field", name="Alpha")
    create_device(cli_a, pid, "op_station", "remote", name="truck_console")
    create_device(cli_a, pid, "op_2", "remote", name="beta")
    return pid


ALL4 = ["op_2", "op_station", "truck_01", "truck_02"]


def test_device_list_shows_every_field_of_each_device(cli_a, fleet):
    r = call(cli_a, "DescribeDeviceList", {"ProjectId": fleet})
    assert r.Total == 4 and r.Num == 4
    assert device_ids(r) == ALL4
    by_id = {d.DeviceId: d for d in r.Devices}
    d = by_id["truck_01"]
    assert isinstance(d, models.DeviceInfo)
    assert (d.DeviceName, d.DeviceType, d.DeviceStatus, d.ProjectId) == ("矿卡一号", "field", "offline", fleet)
    assert_recent(d.ModifyTime)
    parse_time(d.LastReportTime)
    assert by_id["op_station"].DeviceType == "remote"


@pytest.mark.parametrize("dtype,expected", [
    ("field", ["truck_01", "truck_02"]),
    ("remote", ["op_2", "op_station"]),
])
def test_device_list_filters_by_device_type(cli_a, fleet, dtype, expected):
    r = call(cli_a, "DescribeDeviceList", {"ProjectId": fleet, "DeviceType": dtype})
    assert device_ids(r) == expected
    assert r.Total == len(expected) and r.Num == len(expected)


@pytest.mark.parametrize("words,expected", [
    ("truck", ["op_station", "truck_01", "truck_02"]),  # id of two, name of one
    ("矿卡", ["truck_01"]),                               # Chinese name
    ("lph", ["truck_02"]),                                # inside a name
    ("_0", ["truck_01", "truck_02"]),                     # inside an id
    ("station", ["op_station"]),
    ("nothing_like_this", []),
])
def test_device_list_search_words_match_id_or_name_fuzzily(cli_a, fleet, words, expected):
    r = call(cli_a, "DescribeDeviceList", {"ProjectId": fleet, "SearchWords": words})
    assert device_ids(r) == expected
    assert r.Total == len(expected) and r.Num == len(expected)


def test_device_list_combines_search_words_and_type(cli_a, fleet):
    r = call(cli_a, "DescribeDeviceList", {"ProjectId": fleet, "SearchWords": "truck", "DeviceType": "remote"})
    assert device_ids(r) == ["op_station"]


def test_new_devices_are_offline_and_not_online(cli_a, fleet):
    r = call(cli_a, "DescribeDeviceList", {"ProjectId": fleet, "DeviceStatus": "offline"})
    assert device_ids(r) == ALL4
    for status in ("online", "ready", "connected"):
        r = call(cli_a, "DescribeDeviceList", {"ProjectId": fleet, "DeviceStatus": status})
        assert device_ids(r) == [], status
        assert r.Total == 0 and r.Num == 0, status


def test_online_filter_means_ready_or_connected(server, cli_a):
    """Uses the device API (docs/api.md §4): one device heartbeats `ready`, another reports
    session metrics (so it is `connected`), two never speak (`offline`)."""
    pid = create_project(cli_a, name="online")
    live_tok, sess_tok = rand_token(), rand_token()
    create_device(cli_a, pid, "live_truck", "field", token=live_tok)
    create_device(cli_a, pid, "sess_truck", "field", token=sess_tok)
    create_device(cli_a, pid, "sleepy_truck", "field")
    create_device(cli_a, pid, "op_1", "remote")
    device_client(server, pid, "live_truck", live_tok).call_json("ReportDeviceStatus", {"Status": "ready"})
    info = call(cli_a, "DescribeDeviceInfo", {"ProjectId": pid, "DeviceId": "live_truck"})
    assert info.DeviceStatus == "ready"
    assert_recent(info.LastReportTime)

    device_client(server, pid, "sess_truck", sess_tok).call_json("ReportSessionMetrics", {
        "SessionId": "compat-online-" + pid, "PeerDeviceId": "op_1", "StartTime": int(time.time()) - 10,
        "Ver": "2.4", "SdkMode": "server2", "Width": 1280, "Height": 720, "ConfigWidth": 1920,
        "ConfigHeight": 1536, "MultiMode": 1,
        "Samples": [{"TimeOffset": 2, "Fps": 30, "Rate": 900, "Lost": 0, "NetworkLatency": 40}],
        "Final": False})
    assert call(cli_a, "DescribeDeviceInfo", {"ProjectId": pid, "DeviceId": "sess_truck"}).DeviceStatus == "connected"

    def listed(status):
        return device_ids(call(cli_a, "DescribeDeviceList", {"ProjectId": pid, "DeviceStatus": status}))
    assert listed("online") == ["live_truck", "sess_truck"]
    assert listed("ready") == ["live_truck"]
    assert listed("connected") == ["sess_truck"]
    assert listed("offline") == ["op_1", "sleepy_truck"]


@pytest.mark.parametrize("register_type", [0, 1])
def test_device_list_register_type_0_and_1_list_registered_devices(cli_a, fleet, register_type):
    r = call(cli_a, "DescribeDeviceList", {"ProjectId": fleet, "RegisterType": register_type})
    assert device_ids(r) == ALL4


@pytest.mark.parametrize("params,field", [
    ({"DeviceType": "robot"}, "DeviceType"),
    ({"DeviceStatus": "sleeping"}, "DeviceStatus"),
    ({"RegisterType": 2}, "RegisterType"),
    ({"PageSize": 101}, "PageSize"),
    ({"PageNumber": -1}, "PageNumber"),
])
def test_device_list_rejects_bad_filter_values(cli_a, fleet, params, field):
    e = expect_error(call, cli_a, "DescribeDeviceList", dict(params, ProjectId=fleet))
    assert_error(e, "InvalidParameterValue", field)


def test_device_list_rejects_a_non_numeric_register_type(raw_a, fleet):
    e = expect_error(raw_a.call_json, "DescribeDeviceList", {"ProjectId": fleet, "RegisterType": "x"})
    assert_error(e, "InvalidParameter", "RegisterType")


def test_device_list_paging_total_and_num_are_right_across_pages(cli_a, project):
    for i in range(5):
        create_device(cli_a, project, "pg_%d" % i)
    seen = []
    for page, num in ((1, 2), (2, 2), (3, 1), (4, 0)):
        r = call(cli_a, "DescribeDeviceList", {"ProjectId": project, "PageNumber": page, "PageSize": 2})
        assert (r.Total, r.Num, len(r.Devices or [])) == (5, num, num), "page %d" % page
        seen += [d.DeviceId for d in (r.Devices or [])]
    assert sorted(seen) == ["pg_%d" % i for i in range(5)]
    r0 = call(cli_a, "DescribeDeviceList", {"ProjectId": project, "PageNumber": 0, "PageSize": 2})
    r1 = call(cli_a, "DescribeDeviceList", {"ProjectId": project, "PageNumber": 1, "PageSize": 2})
    assert [d.DeviceId for d in r0.Devices] == [d.DeviceId for d in r1.Devices]


def test_device_list_defaults_to_page_size_10(cli_a, project):
    for i in range(11):
        create_device(cli_a, project, "many_%d" % i)
    r = call(cli_a, "DescribeDeviceList", {"ProjectId": project})
    assert (r.Total, r.Num, len(r.Devices)) == (11, 10, 10)


def test_device_list_accepts_numeric_strings_as_in_the_vendor_examples(raw_a, fleet):
    r = raw_a.call_json("DescribeDeviceList", {"ProjectId": fleet, "PageNumber": "1", "PageSize": "3",
                                               "RegisterType": "0"})["Response"]
    assert r["Total"] == 4 and r["Num"] == 3 and type(r["Num"]) is int


def test_device_list_of_a_missing_project_is_resource_not_found(cli_a):
    assert_error(expect_error(call, cli_a, "DescribeDeviceList", {"ProjectId": made_up_project_id()}),
                 "ResourceNotFound")


def test_device_list_without_project_id_is_missing_parameter(raw_a):
    assert_error(expect_error(raw_a.call_json, "DescribeDeviceList", {"PageNumber": 1}),
                 "MissingParameter", "ProjectId")


# ---------------------------------------------------------------------------------------------
# ModifyDevice


def test_modify_device_renames_and_bumps_modify_time(cli_a, project):
    create_device(cli_a, project, "ren", "remote", name="old_name")
    t0 = parse_time(call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "ren"}).ModifyTime)
    time.sleep(1.1)
    req = models.ModifyDeviceRequest()
    req.from_json_string(json.dumps({"ProjectId": project, "DeviceId": "ren", "DeviceName": "新名字"}))
    resp = cli_a.ModifyDevice(req)
    assert UUID_RE.match(resp.RequestId)
    info = call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "ren"})
    assert (info.DeviceName, info.DeviceType, info.DeviceStatus) == ("新名字", "remote", "offline")
    assert parse_time(info.ModifyTime) > t0


def test_modify_device_token_only_keeps_the_name(cli_a, project):
    create_device(cli_a, project, "tok_only", name="keep_me")
    call(cli_a, "ModifyDevice", {"ProjectId": project, "DeviceId": "tok_only", "DeviceToken": "abcd1234abcd1234"})
    assert call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "tok_only"}).DeviceName == "keep_me"


def test_modified_token_replaces_the_old_one_for_the_device(server, cli_a, project):
    """Uses the device API (docs/api.md §4.1): the device signs with its DeviceToken."""
    old, new = rand_token(), rand_token()
    create_device(cli_a, project, "rotating", token=old)
    device_client(server, project, "rotating", old).call_json("ReportDeviceStatus", {"Status": "ready"})
    call(cli_a, "ModifyDevice", {"ProjectId": project, "DeviceId": "rotating", "DeviceToken": new})
    e = expect_error(device_client(server, project, "rotating", old).call_json,
                     "ReportDeviceStatus", {"Status": "offline"})
    assert_error(e, "AuthFailure.SignatureFailure")
    device_client(server, project, "rotating", new).call_json("ReportDeviceStatus", {"Status": "offline"})


@pytest.mark.parametrize("params,field", [
    ({"DeviceName": "n" * 24}, "DeviceName"),
    ({"DeviceToken": "short"}, "DeviceToken"),
    ({"DeviceToken": "abcd1234abcd123!"}, "DeviceToken"),
])
def test_modify_device_rejects_invalid_values_and_changes_nothing(cli_a, project, params, field):
    create_device(cli_a, project, "steady", name="steady_name")
    e = expect_error(call, cli_a, "ModifyDevice", dict(params, ProjectId=project, DeviceId="steady"))
    assert_error(e, "InvalidParameterValue", field)
    assert call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "steady"}).DeviceName == "steady_name"


def test_modify_device_of_a_missing_device_is_resource_not_found(cli_a, project):
    e = expect_error(call, cli_a, "ModifyDevice", {"ProjectId": project, "DeviceId": "ghost", "DeviceName": "x"})
    assert_error(e, "ResourceNotFound")


def test_modify_device_in_a_missing_project_is_resource_not_found(cli_a):
    e = expect_error(call, cli_a, "ModifyDevice",
                     {"ProjectId": made_up_project_id(), "DeviceId": "dev1", "DeviceName": "x"})
    assert_error(e, "ResourceNotFound")


def test_modify_device_with_an_unknown_parameter_is_rejected(cli_a, raw_a, project):
    create_device(cli_a, project, "x", "field")
    e = expect_error(raw_a.call_json, "ModifyDevice",
                     {"ProjectId": project, "DeviceId": "x", "DeviceType": "remote"})
    # DeviceType is not a parameter of ModifyDevice in the vendor model.
    assert_error(e, "UnknownParameter", "DeviceType")
    assert call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "x"}).DeviceType == "field"


# ---------------------------------------------------------------------------------------------
# BatchDeleteDevices


def test_batch_delete_reports_ids_that_were_not_found(cli_a, project):
    create_device(cli_a, project, "dev1")
    create_device(cli_a, project, "dev2")
    create_device(cli_a, project, "dev3")
    req = models.BatchDeleteDevicesRequest()
    req.from_json_string(json.dumps({"ProjectId": project, "DeviceIds": ["dev1", "ghost", "dev2"]}))
    resp = cli_a.BatchDeleteDevices(req)
    assert resp.FailedDeviceIds == ["ghost"]
    assert UUID_RE.match(resp.RequestId)
    r = call(cli_a, "DescribeDeviceList", {"ProjectId": project})
    assert device_ids(r) == ["dev3"] and r.Total == 1
    for gone in ("dev1", "dev2"):
        assert_error(expect_error(call, cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": gone}),
                     "ResourceNotFound")


def test_batch_delete_of_existing_devices_returns_an_empty_failed_list(cli_a, project):
    create_device(cli_a, project, "dev1")
    create_device(cli_a, project, "dev2")
    resp = call(cli_a, "BatchDeleteDevices", {"ProjectId": project, "DeviceIds": ["dev1", "dev2"]})
    assert resp.FailedDeviceIds == []
    assert call(cli_a, "DescribeDeviceList", {"ProjectId": project}).Total == 0


def test_batch_delete_twice_reports_all_ids_the_second_time(cli_a, project):
    create_device(cli_a, project, "dev1")
    call(cli_a, "BatchDeleteDevices", {"ProjectId": project, "DeviceIds": ["dev1"]})
    resp = call(cli_a, "BatchDeleteDevices", {"ProjectId": project, "DeviceIds": ["dev1"]})
    assert resp.FailedDeviceIds == ["dev1"]


def test_a_deleted_device_id_can_be_created_again(cli_a, project):
    create_device(cli_a, project, "phoenix", "field", name="first")
    call(cli_a, "BatchDeleteDevices", {"ProjectId": project, "DeviceIds": ["phoenix"]})
    create_device(cli_a, project, "phoenix", "remote", name="second")
    info = call(cli_a, "DescribeDeviceInfo", {"ProjectId": project, "DeviceId": "phoenix"})
    assert (info.DeviceName, info.DeviceType) == ("second", "remote")


def test_batch_delete_in_a_missing_project_is_resource_not_found(cli_a):
    e = expect_error(call, cli_a, "BatchDeleteDevices", {"ProjectId": made_up_project_id(), "DeviceIds": ["dev1"]})
    assert_error(e, "ResourceNotFound")


def test_batch_delete_without_device_ids_is_missing_parameter(raw_a, project):
    e = expect_error(raw_a.call_json, "BatchDeleteDevices", {"ProjectId": project})
    assert_error(e, "MissingParameter", "DeviceIds")


def test_batch_delete_with_a_string_instead_of_a_list_is_invalid_parameter(raw_a, project):
    e = expect_error(raw_a.call_json, "BatchDeleteDevices", {"ProjectId": project, "DeviceIds": "dev1"})
    assert_error(e, "InvalidParameter", "DeviceIds")
