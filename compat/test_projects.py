"""Projects: CreateProject, DescribeProjectList, DescribeProjectInfo, ModifyProject, DeleteProject,
ModifyProjectSecMode, through the vendor's Python SDK."""

import json
import time

import pytest
from tencentcloud.trro.v20220325 import models

from tcutil import (PROJECT_ID_RE, UUID_RE, assert_error, assert_recent, call, create_device,
                    create_project, expect_error, made_up_project_id, parse_time)


# ---------------------------------------------------------------------------------------------
# CreateProject


def test_create_project_with_typed_models_returns_a_16_char_id_and_the_project_reads_back(cli_a):
    req = models.CreateProjectRequest()
    req.from_json_string(json.dumps({
        "ProjectName": "mine_site_7",
        "ProjectDescription": "project description info",
        "PolicyMode": "white",
    }))
    resp = cli_a.CreateProject(req)
    assert isinstance(resp, models.CreateProjectResponse)
    assert PROJECT_ID_RE.match(resp.ProjectId), resp.ProjectId
    assert UUID_RE.match(resp.RequestId), resp.RequestId

    info_req = models.DescribeProjectInfoRequest()
    info_req.ProjectId = resp.ProjectId
    info = cli_a.DescribeProjectInfo(info_req)
    assert info.ProjectName == "mine_site_7"
    assert info.ProjectDescription == "project description info"
    assert info.PolicyMode == "white"
    assert_recent(info.ModifyTime)
    assert UUID_RE.match(info.RequestId)


def test_create_project_defaults_to_black_policy_mode_and_empty_description(cli_a):
    pid = create_project(cli_a, name="defaults")
    info = call(cli_a, "DescribeProjectInfo", {"ProjectId": pid})
    assert info.PolicyMode == "black"
    assert info.ProjectDescription == ""
    assert info.ProjectName == "defaults"


def test_every_created_project_gets_a_distinct_id(cli_a):
    ids = {create_project(cli_a) for _ in range(5)}
    assert len(ids) == 5
    assert all(PROJECT_ID_RE.match(i) for i in ids)


def test_project_name_of_24_characters_is_accepted(cli_a):
    name = "n" * 24
    pid = create_project(cli_a, name=name)
    assert call(cli_a, "DescribeProjectInfo", {"ProjectId": pid}).ProjectName == name


def test_project_name_limit_counts_characters_not_bytes(cli_a):
    name = "矿区远程驾驶项目" * 3  # 24 CJK characters, 72 UTF-8 bytes
    assert len(name) == 24
    pid = create_project(cli_a, name=name)
    assert call(cli_a, "DescribeProjectInfo", {"ProjectId": pid}).ProjectName == name


def test_project_name_of_25_characters_is_invalid_parameter_value(cli_a):
    e = expect_error(call, cli_a, "CreateProject", {"ProjectName": "n" * 25})
    assert_error(e, "InvalidParameterValue", "ProjectName")


def test_project_description_of_120_characters_is_accepted_and_121_is_not(cli_a):
    pid = create_project(cli_a, ProjectDescription="d" * 120)
    assert call(cli_a, "DescribeProjectInfo", {"ProjectId": pid}).ProjectDescription == "d" * 120
    e = expect_error(call, cli_a, "CreateProject", {"ProjectName": "x", "ProjectDescription": "d" * 121})
    assert_error(e, "InvalidParameterValue", "ProjectDescription")


def test_create_project_rejects_policy_mode_grey(cli_a):
    e = expect_error(call, cli_a, "CreateProject", {"ProjectName": "x", "PolicyMode": "grey"})
    assert_error(e, "InvalidParameterValue", "PolicyMode")


def test_create_project_without_name_is_missing_parameter(raw_a):
    e = expect_error(raw_a.call_json, "CreateProject", {"ProjectDescription": "no name"})
    assert_error(e, "MissingParameter", "ProjectName")


def test_create_project_with_an_unknown_parameter_is_unknown_parameter(raw_a):
    e = expect_error(raw_a.call_json, "CreateProject", {"ProjectName": "x", "Foo": 1})
    assert_error(e, "UnknownParameter", "Foo")


def test_a_json_number_for_a_string_field_is_accepted_as_text(raw_a):
    # Lenient scalars (docs/protocol.md §7 item 9): a JSON number for a String field is stringified.
    resp = raw_a.call_json("CreateProject", {"ProjectName": 12345})["Response"]
    info = raw_a.call_json("DescribeProjectInfo", {"ProjectId": resp["ProjectId"]})["Response"]
    assert info["ProjectName"] == "12345"


# ---------------------------------------------------------------------------------------------
# DescribeProjectList


def _list_all_ids(cli, page_size=100):
    ids, page = [], 1
    while True:
        r = call(cli, "DescribeProjectList", {"PageNumber": page, "PageSize": page_size})
        ids += [p.ProjectId for p in (r.Projects or [])]
        if not r.Projects:
            return ids, r.Total
        page += 1


def test_project_list_shows_every_field_of_a_created_project(client, new_account):
    cli = client(new_account())
    pid = create_project(cli, name="list_me", ProjectDescription="desc", PolicyMode="white")
    r = call(cli, "DescribeProjectList", {})
    assert r.Total == 1 and r.Num == 1
    assert len(r.Projects) == 1
    p = r.Projects[0]
    assert isinstance(p, models.ProjectInfo)
    assert (p.ProjectId, p.ProjectName, p.ProjectDescription, p.PolicyMode) == (pid, "list_me", "desc", "white")
    assert_recent(p.ModifyTime)


def test_a_new_account_has_no_projects(client, new_account):
    r = call(client(new_account()), "DescribeProjectList", {"PageNumber": 1, "PageSize": 10})
    assert r.Total == 0
    assert r.Num == 0
    assert not r.Projects


def test_project_list_paging_total_and_num_are_right_across_pages(client, new_account):
    cli = client(new_account())
    created = {create_project(cli, name="pg_%d" % i) for i in range(5)}
    seen = []
    for page, expected_num in ((1, 2), (2, 2), (3, 1), (4, 0)):
        r = call(cli, "DescribeProjectList", {"PageNumber": page, "PageSize": 2})
        assert r.Total == 5, "page %d" % page
        assert r.Num == expected_num, "page %d" % page
        assert len(r.Projects or []) == expected_num, "page %d" % page
        seen += [p.ProjectId for p in (r.Projects or [])]
    assert len(seen) == 5 and set(seen) == created, "pages must partition the projects"


def test_project_list_defaults_to_page_size_10(client, new_account):
    cli = client(new_account())
    for i in range(12):
        create_project(cli, name="d_%d" % i)
    r = call(cli, "DescribeProjectList", {})
    assert r.Total == 12
    assert r.Num == 10
    assert len(r.Projects) == 10


def test_page_number_0_means_the_first_page(client, new_account):
    cli = client(new_account())
    for i in range(3):
        create_project(cli, name="z_%d" % i)
    first = call(cli, "DescribeProjectList", {"PageNumber": 1, "PageSize": 2})
    zero = call(cli, "DescribeProjectList", {"PageNumber": 0, "PageSize": 2})
    assert [p.ProjectId for p in zero.Projects] == [p.ProjectId for p in first.Projects]
    assert zero.Num == 2 and zero.Total == 3
    # The vendor's own example sends PageSize 10, PageNumber 0.
    ex = call(cli, "DescribeProjectList", {"PageSize": 10, "PageNumber": 0})
    assert ex.Num == 3 and ex.Total == 3


def test_numeric_strings_are_accepted_for_integers(common_client, new_account):
    raw = common_client(new_account())
    for i in range(3):
        raw.call_json("CreateProject", {"ProjectName": "s_%d" % i})
    r = raw.call_json("DescribeProjectList", {"PageNumber": "1", "PageSize": "2"})["Response"]
    assert r["Num"] == 2 and type(r["Num"]) is int, "output numbers must be JSON numbers"
    assert r["Total"] == 3 and type(r["Total"]) is int
    assert len(r["Projects"]) == 2
    r2 = raw.call_json("DescribeProjectList", {"PageNumber": "2", "PageSize": "2"})["Response"]
    assert r2["Num"] == 1


def test_non_numeric_page_number_is_invalid_parameter(raw_a):
    e = expect_error(raw_a.call_json, "DescribeProjectList", {"PageNumber": "abc"})
    assert_error(e, "InvalidParameter", "PageNumber")


@pytest.mark.parametrize("value", [[1], {"n": 1}, True, 1.5])
def test_page_size_of_the_wrong_json_type_is_invalid_parameter(raw_a, value):
    e = expect_error(raw_a.call_json, "DescribeProjectList", {"PageSize": value})
    assert_error(e, "InvalidParameter", "PageSize")


def test_page_size_100_is_accepted_and_101_is_rejected(raw_a):
    r = raw_a.call_json("DescribeProjectList", {"PageSize": 100})["Response"]
    assert "Total" in r and "Num" in r
    e = expect_error(raw_a.call_json, "DescribeProjectList", {"PageSize": 101})
    assert_error(e, "InvalidParameterValue", "PageSize")


@pytest.mark.parametrize("field", ["PageSize", "PageNumber"])
def test_negative_paging_values_are_invalid_parameter_value(raw_a, field):
    e = expect_error(raw_a.call_json, "DescribeProjectList", {field: -1})
    assert_error(e, "InvalidParameterValue", field)


def test_unknown_parameter_in_project_list_is_rejected(raw_a):
    e = expect_error(raw_a.call_json, "DescribeProjectList", {"Foo": 1})
    assert_error(e, "UnknownParameter", "Foo")


def test_null_parameters_count_as_absent(raw_a):
    r = raw_a.call_json("DescribeProjectList", {"PageNumber": None, "PageSize": None})["Response"]
    assert r["Num"] <= 10 and r["Num"] == len(r["Projects"] or [])


# ---------------------------------------------------------------------------------------------
# DescribeProjectInfo


def test_describe_project_info_of_a_missing_project_is_resource_not_found(cli_a):
    pid = made_up_project_id()
    e = expect_error(call, cli_a, "DescribeProjectInfo", {"ProjectId": pid})
    assert_error(e, "ResourceNotFound")
    assert pid in e.get_message() or "ProjectId" in e.get_message(), e.get_message()


def test_describe_project_info_without_project_id_is_missing_parameter(raw_a):
    e = expect_error(raw_a.call_json, "DescribeProjectInfo", {})
    assert_error(e, "MissingParameter", "ProjectId")


# ---------------------------------------------------------------------------------------------
# ModifyProject


def test_modify_project_changes_only_the_given_fields_and_bumps_modify_time(cli_a):
    pid = create_project(cli_a, name="before", ProjectDescription="old", PolicyMode="black")
    t0 = parse_time(call(cli_a, "DescribeProjectInfo", {"ProjectId": pid}).ModifyTime)
    time.sleep(1.1)
    req = models.ModifyProjectRequest()
    req.from_json_string(json.dumps({"ProjectId": pid, "ProjectName": "after"}))
    resp = cli_a.ModifyProject(req)
    assert UUID_RE.match(resp.RequestId)
    info = call(cli_a, "DescribeProjectInfo", {"ProjectId": pid})
    assert (info.ProjectName, info.ProjectDescription, info.PolicyMode) == ("after", "old", "black")
    assert parse_time(info.ModifyTime) > t0

    call(cli_a, "ModifyProject", {"ProjectId": pid, "ProjectDescription": "new", "PolicyMode": "white"})
    info = call(cli_a, "DescribeProjectInfo", {"ProjectId": pid})
    assert (info.ProjectName, info.ProjectDescription, info.PolicyMode) == ("after", "new", "white")


def test_modify_project_as_in_the_vendor_example(cli_a):
    pid = create_project(cli_a)
    call(cli_a, "ModifyProject", {"ProjectId": pid, "ProjectName": "mytest",
                                  "ProjectDescription": "test2", "PolicyMode": "black"})
    info = call(cli_a, "DescribeProjectInfo", {"ProjectId": pid})
    assert (info.ProjectName, info.ProjectDescription, info.PolicyMode) == ("mytest", "test2", "black")


@pytest.mark.parametrize("params,field", [
    ({"ProjectName": "n" * 25}, "ProjectName"),
    ({"ProjectDescription": "d" * 121}, "ProjectDescription"),
    ({"PolicyMode": "grey"}, "PolicyMode"),
])
def test_modify_project_rejects_invalid_values_and_changes_nothing(cli_a, params, field):
    pid = create_project(cli_a, name="stable", ProjectDescription="same")
    e = expect_error(call, cli_a, "ModifyProject", dict(params, ProjectId=pid))
    assert_error(e, "InvalidParameterValue", field)
    info = call(cli_a, "DescribeProjectInfo", {"ProjectId": pid})
    assert (info.ProjectName, info.ProjectDescription, info.PolicyMode) == ("stable", "same", "black")


def test_modify_project_of_a_missing_project_is_resource_not_found(cli_a):
    e = expect_error(call, cli_a, "ModifyProject", {"ProjectId": made_up_project_id(), "ProjectName": "x"})
    assert_error(e, "ResourceNotFound")


# ---------------------------------------------------------------------------------------------
# DeleteProject


def test_delete_project_makes_the_project_and_its_devices_vanish(cli_a):
    pid = create_project(cli_a, name="doomed")
    create_device(cli_a, pid, "truck_1", "field")
    create_device(cli_a, pid, "op_1", "remote")
    call(cli_a, "ModifyPolicy", {"ProjectId": pid, "RemoteDeviceId": "op_1", "FieldDeviceIds": ["truck_1"],
                                 "PolicyMode": "black", "ModifyMode": "add"})

    req = models.DeleteProjectRequest()
    req.ProjectId = pid
    resp = cli_a.DeleteProject(req)
    assert UUID_RE.match(resp.RequestId)

    assert_error(expect_error(call, cli_a, "DescribeProjectInfo", {"ProjectId": pid}), "ResourceNotFound")
    assert_error(expect_error(call, cli_a, "DescribeDeviceInfo", {"ProjectId": pid, "DeviceId": "truck_1"}),
                 "ResourceNotFound")
    assert_error(expect_error(call, cli_a, "DescribeDeviceList", {"ProjectId": pid}), "ResourceNotFound")
    assert_error(expect_error(call, cli_a, "DescribePolicy", {"ProjectId": pid}), "ResourceNotFound")
    ids, _ = _list_all_ids(cli_a)
    assert pid not in ids


def test_delete_project_twice_is_resource_not_found(cli_a):
    pid = create_project(cli_a)
    call(cli_a, "DeleteProject", {"ProjectId": pid})
    assert_error(expect_error(call, cli_a, "DeleteProject", {"ProjectId": pid}), "ResourceNotFound")


def test_deleting_one_project_leaves_the_others(cli_a):
    keep = create_project(cli_a, name="keep")
    create_device(cli_a, keep, "dev1")
    drop = create_project(cli_a, name="drop")
    create_device(cli_a, drop, "dev1")
    call(cli_a, "DeleteProject", {"ProjectId": drop})
    assert call(cli_a, "DescribeProjectInfo", {"ProjectId": keep}).ProjectName == "keep"
    assert call(cli_a, "DescribeDeviceInfo", {"ProjectId": keep, "DeviceId": "dev1"}).DeviceType == "field"


def test_project_list_total_drops_after_delete(client, new_account):
    cli = client(new_account())
    a = create_project(cli)
    create_project(cli)
    assert call(cli, "DescribeProjectList", {}).Total == 2
    call(cli, "DeleteProject", {"ProjectId": a})
    r = call(cli, "DescribeProjectList", {})
    assert r.Total == 1 and r.Num == 1 and r.Projects[0].ProjectId != a


# ---------------------------------------------------------------------------------------------
# ModifyProjectSecMode


def test_modify_project_sec_mode_as_in_the_vendor_example(cli_a, project):
    req = models.ModifyProjectSecModeRequest()
    req.from_json_string(json.dumps({
        "ProjectId": project,
        "Mode": 1,
        "Key": "123456789012345678901234567abcde",
        "AutoRegister": 3,
        "FieldListEnable": 1,
    }))
    resp = cli_a.ModifyProjectSecMode(req)
    assert isinstance(resp, models.ModifyProjectSecModeResponse)
    assert UUID_RE.match(resp.RequestId)
    # and switching it off again
    resp = call(cli_a, "ModifyProjectSecMode", {"ProjectId": project, "Mode": 0})
    assert UUID_RE.match(resp.RequestId)


@pytest.mark.parametrize("key", [
    "123456789012345678901234567ABCDE",   # upper case
    "123456789012345678901234567abcd",    # 31 chars
    "123456789012345678901234567abcdef",  # 33 chars
    "123456789012345678901234567abc_e",   # underscore
])
def test_project_key_must_be_32_lowercase_letters_or_digits(cli_a, project, key):
    e = expect_error(call, cli_a, "ModifyProjectSecMode", {"ProjectId": project, "Mode": 1, "Key": key})
    assert_error(e, "InvalidParameterValue", "Key")


def test_shared_key_mode_without_a_key_is_refused(raw_a, project):
    e = expect_error(raw_a.call_json, "ModifyProjectSecMode", {"ProjectId": project, "Mode": 1})
    assert e.get_code() in ("MissingParameter", "InvalidParameterValue"), (e.get_code(), e.get_message())
    assert "Key" in e.get_message()


@pytest.mark.parametrize("params,field", [
    ({"Mode": 2}, "Mode"),
    ({"Mode": 0, "AutoRegister": 4}, "AutoRegister"),
    ({"Mode": 0, "FieldListEnable": 2}, "FieldListEnable"),
])
def test_modify_project_sec_mode_rejects_out_of_range_values(cli_a, project, params, field):
    e = expect_error(call, cli_a, "ModifyProjectSecMode", dict(params, ProjectId=project))
    assert_error(e, "InvalidParameterValue", field)


def test_modify_project_sec_mode_without_mode_is_missing_parameter(raw_a, project):
    e = expect_error(raw_a.call_json, "ModifyProjectSecMode", {"ProjectId": project})
    assert_error(e, "MissingParameter", "Mode")


def test_modify_project_sec_mode_of_a_missing_project_is_resource_not_found(cli_a):
    e = expect_error(call, cli_a, "ModifyProjectSecMode", {"ProjectId": made_up_project_id(), "Mode": 0})
    assert_error(e, "ResourceNotFound")
