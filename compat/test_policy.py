"""Permissions: ModifyPolicy, DescribePolicy, BatchDeletePolicy."""

import json

import pytest
from tencentcloud.trro.v20220325 import models

from tcutil import (UUID_RE, assert_error, assert_recent, call, create_device, create_project, expect_error,
                    made_up_project_id)


@pytest.fixture
def pp(cli_a):
    """A black-mode project with field devices truck_1..3 and remote devices op_alpha, op_beta, op_gamma."""
    pid = create_project(cli_a, name="policy")
    for f in ("truck_1", "truck_2", "truck_3"):
        create_device(cli_a, pid, f, "field")
    for r in ("op_alpha", "op_beta", "op_gamma"):
        create_device(cli_a, pid, r, "remote")
    return pid


def modify(cli, pid, remote, fields, mode="add", policy_mode="black"):
    return call(cli, "ModifyPolicy", {"ProjectId": pid, "RemoteDeviceId": remote, "FieldDeviceIds": fields,
                                      "PolicyMode": policy_mode, "ModifyMode": mode})


def policy_map(resp):
    return {p.RemoteDeviceId: sorted(p.FieldDeviceIds or []) for p in (resp.PolicyInfo or [])}


def describe(cli, pid, **kw):
    return call(cli, "DescribePolicy", dict(kw, ProjectId=pid))


# ---------------------------------------------------------------------------------------------
# ModifyPolicy + DescribePolicy


def test_add_policy_with_typed_models_and_read_it_back(cli_a, pp):
    req = models.ModifyPolicyRequest()
    req.from_json_string(json.dumps({"ProjectId": pp, "RemoteDeviceId": "op_alpha",
                                     "FieldDeviceIds": ["truck_1", "truck_2"],
                                     "PolicyMode": "black", "ModifyMode": "add"}))
    resp = cli_a.ModifyPolicy(req)
    assert isinstance(resp, models.ModifyPolicyResponse)
    assert resp.FailedInsertIds == []
    assert resp.FailedDeleteIds == []
    assert UUID_RE.match(resp.RequestId)

    dreq = models.DescribePolicyRequest()
    dreq.ProjectId = pp
    d = cli_a.DescribePolicy(dreq)
    assert d.PolicyMode == "black"
    assert d.PolicyEnabled is True
    assert d.Total == 1 and d.Num == 1
    (info,) = d.PolicyInfo
    assert isinstance(info, models.PolicyInfo)
    assert info.RemoteDeviceId == "op_alpha"
    assert sorted(info.FieldDeviceIds) == ["truck_1", "truck_2"]
    assert_recent(info.ModifyTime)


def test_add_reports_ids_that_are_not_field_devices_of_the_project(cli_a, pp):
    other = create_project(cli_a)
    create_device(cli_a, other, "foreign_truck", "field")
    resp = modify(cli_a, pp, "op_alpha", ["truck_3", "ghost", "op_beta", "foreign_truck"])
    assert sorted(resp.FailedInsertIds) == ["foreign_truck", "ghost", "op_beta"]
    assert policy_map(describe(cli_a, pp)) == {"op_alpha": ["truck_3"]}


def test_add_accumulates_and_does_not_duplicate(cli_a, pp):
    modify(cli_a, pp, "op_alpha", ["truck_1"])
    modify(cli_a, pp, "op_alpha", ["truck_2", "truck_1"])
    assert policy_map(describe(cli_a, pp)) == {"op_alpha": ["truck_1", "truck_2"]}


def test_remove_reports_ids_that_were_not_in_the_list(cli_a, pp):
    modify(cli_a, pp, "op_alpha", ["truck_1", "truck_2"])
    resp = modify(cli_a, pp, "op_alpha", ["truck_1", "truck_3", "ghost"], mode="remove")
    assert sorted(resp.FailedDeleteIds) == ["ghost", "truck_3"]
    assert resp.FailedInsertIds == []
    assert policy_map(describe(cli_a, pp)) == {"op_alpha": ["truck_2"]}


def test_set_replaces_the_list(cli_a, pp):
    modify(cli_a, pp, "op_alpha", ["truck_1", "truck_2"])
    resp = modify(cli_a, pp, "op_alpha", ["truck_2", "truck_3"], mode="set")
    assert resp.FailedInsertIds == []
    assert policy_map(describe(cli_a, pp)) == {"op_alpha": ["truck_2", "truck_3"]}


def test_set_reports_ids_that_are_not_field_devices(cli_a, pp):
    modify(cli_a, pp, "op_alpha", ["truck_2"])
    resp = modify(cli_a, pp, "op_alpha", ["truck_1", "ghost", "op_gamma"], mode="set")
    assert sorted(resp.FailedInsertIds) == ["ghost", "op_gamma"]
    assert policy_map(describe(cli_a, pp)) == {"op_alpha": ["truck_1"]}


def test_policies_are_kept_per_remote_device(cli_a, pp):
    modify(cli_a, pp, "op_alpha", ["truck_1"])
    modify(cli_a, pp, "op_beta", ["truck_2", "truck_3"])
    d = describe(cli_a, pp)
    assert policy_map(d) == {"op_alpha": ["truck_1"], "op_beta": ["truck_2", "truck_3"]}
    assert d.Total == 2 and d.Num == 2


def test_black_and_white_lists_are_separate_and_policy_enabled_follows_the_project(cli_a, pp):
    modify(cli_a, pp, "op_alpha", ["truck_1"], policy_mode="black")
    modify(cli_a, pp, "op_beta", ["truck_2"], policy_mode="white")

    d = describe(cli_a, pp)  # default: the project's mode (black)
    assert (d.PolicyMode, d.PolicyEnabled) == ("black", True)
    assert policy_map(d) == {"op_alpha": ["truck_1"]}

    w = describe(cli_a, pp, PolicyMode="white")
    assert (w.PolicyMode, w.PolicyEnabled) == ("white", False)
    assert policy_map(w) == {"op_beta": ["truck_2"]}

    call(cli_a, "ModifyProject", {"ProjectId": pp, "PolicyMode": "white"})
    d = describe(cli_a, pp)
    assert (d.PolicyMode, d.PolicyEnabled) == ("white", True)
    assert policy_map(d) == {"op_beta": ["truck_2"]}
    b = describe(cli_a, pp, PolicyMode="black")
    assert (b.PolicyMode, b.PolicyEnabled) == ("black", False)
    assert policy_map(b) == {"op_alpha": ["truck_1"]}


def test_describe_policy_of_a_white_project_defaults_to_white(cli_a):
    pid = create_project(cli_a, PolicyMode="white")
    d = describe(cli_a, pid)
    assert (d.PolicyMode, d.PolicyEnabled, d.Total, d.Num) == ("white", True, 0, 0)
    assert not d.PolicyInfo


@pytest.mark.parametrize("kw,expected", [
    ({"SearchWords": "alp"}, ["op_alpha"]),                                  # default remoteMatch
    ({"SearchMode": "remoteMatch", "SearchWords": "op_"}, ["op_alpha", "op_beta", "op_gamma"]),
    ({"SearchMode": "remoteMatch", "SearchWords": "truck"}, []),
    ({"SearchMode": "fieldMatch", "SearchWords": "truck_3"}, ["op_beta", "op_gamma"]),
    ({"SearchMode": "fieldMatch", "SearchWords": "truck_1"}, ["op_alpha"]),
    ({"SearchMode": "fieldMatch", "SearchWords": "op"}, []),
])
def test_describe_policy_search_modes(cli_a, pp, kw, expected):
    modify(cli_a, pp, "op_alpha", ["truck_1"])
    modify(cli_a, pp, "op_beta", ["truck_2", "truck_3"])
    modify(cli_a, pp, "op_gamma", ["truck_3"])
    d = describe(cli_a, pp, **kw)
    assert sorted(policy_map(d)) == expected
    assert d.Total == len(expected) and d.Num == len(expected)


def test_describe_policy_paging(cli_a, pp):
    for r in ("op_alpha", "op_beta", "op_gamma"):
        modify(cli_a, pp, r, ["truck_1"])
    p1 = describe(cli_a, pp, PageNumber=1, PageSize=2)
    p2 = describe(cli_a, pp, PageNumber=2, PageSize=2)
    assert (p1.Total, p1.Num, p2.Total, p2.Num) == (3, 2, 3, 1)
    assert sorted(list(policy_map(p1)) + list(policy_map(p2))) == ["op_alpha", "op_beta", "op_gamma"]


@pytest.mark.parametrize("kw,field", [
    ({"PolicyMode": "grey"}, "PolicyMode"),
    ({"SearchMode": "nameMatch"}, "SearchMode"),
    ({"PageSize": 101}, "PageSize"),
])
def test_describe_policy_rejects_bad_values(cli_a, pp, kw, field):
    assert_error(expect_error(describe, cli_a, pp, **kw), "InvalidParameterValue", field)


def test_describe_policy_of_a_missing_project_is_resource_not_found(cli_a):
    assert_error(expect_error(describe, cli_a, made_up_project_id()), "ResourceNotFound")


@pytest.mark.parametrize("kw,field", [
    ({"PolicyMode": "grey"}, "PolicyMode"),
    ({"ModifyMode": "merge"}, "ModifyMode"),
])
def test_modify_policy_rejects_bad_modes_and_changes_nothing(cli_a, pp, kw, field):
    modify(cli_a, pp, "op_alpha", ["truck_1"])
    params = {"ProjectId": pp, "RemoteDeviceId": "op_alpha", "FieldDeviceIds": ["truck_2"],
              "PolicyMode": "black", "ModifyMode": "add"}
    params.update(kw)
    assert_error(expect_error(call, cli_a, "ModifyPolicy", params), "InvalidParameterValue", field)
    assert policy_map(describe(cli_a, pp)) == {"op_alpha": ["truck_1"]}


@pytest.mark.parametrize("missing", ["RemoteDeviceId", "FieldDeviceIds", "PolicyMode", "ModifyMode"])
def test_modify_policy_without_a_required_field_is_missing_parameter(raw_a, pp, missing):
    params = {"ProjectId": pp, "RemoteDeviceId": "op_alpha", "FieldDeviceIds": ["truck_1"],
              "PolicyMode": "black", "ModifyMode": "add"}
    del params[missing]
    assert_error(expect_error(raw_a.call_json, "ModifyPolicy", params), "MissingParameter", missing)


def test_modify_policy_in_a_missing_project_is_resource_not_found(cli_a):
    e = expect_error(modify, cli_a, made_up_project_id(), "op_alpha", ["truck_1"])
    assert_error(e, "ResourceNotFound")


def test_modify_policy_for_a_remote_device_that_does_not_exist_is_resource_not_found(cli_a, pp):
    e = expect_error(modify, cli_a, pp, "ghost_op", ["truck_1"])
    assert_error(e, "ResourceNotFound")
    assert "ghost_op" not in policy_map(describe(cli_a, pp))


# ---------------------------------------------------------------------------------------------
# BatchDeletePolicy


def test_batch_delete_policy_reports_remote_ids_without_a_policy(cli_a, pp):
    modify(cli_a, pp, "op_alpha", ["truck_1"])
    modify(cli_a, pp, "op_beta", ["truck_2"])
    req = models.BatchDeletePolicyRequest()
    req.from_json_string(json.dumps({"ProjectId": pp, "RemoteDeviceIds": ["op_alpha", "ghost"],
                                     "PolicyMode": "black"}))
    resp = cli_a.BatchDeletePolicy(req)
    assert isinstance(resp, models.BatchDeletePolicyResponse)
    assert resp.FailedRemoteDeviceIds == ["ghost"]
    assert UUID_RE.match(resp.RequestId)
    assert policy_map(describe(cli_a, pp)) == {"op_beta": ["truck_2"]}


def test_batch_delete_policy_only_touches_the_given_mode(cli_a, pp):
    modify(cli_a, pp, "op_alpha", ["truck_1"], policy_mode="black")
    modify(cli_a, pp, "op_alpha", ["truck_2"], policy_mode="white")
    resp = call(cli_a, "BatchDeletePolicy", {"ProjectId": pp, "RemoteDeviceIds": ["op_alpha"], "PolicyMode": "white"})
    assert resp.FailedRemoteDeviceIds == []
    assert policy_map(describe(cli_a, pp, PolicyMode="white")) == {}
    assert policy_map(describe(cli_a, pp, PolicyMode="black")) == {"op_alpha": ["truck_1"]}
    resp = call(cli_a, "BatchDeletePolicy", {"ProjectId": pp, "RemoteDeviceIds": ["op_alpha"], "PolicyMode": "white"})
    assert resp.FailedRemoteDeviceIds == ["op_alpha"]


def test_batch_delete_policy_rejects_policy_mode_grey(cli_a, pp):
    e = expect_error(call, cli_a, "BatchDeletePolicy", {"ProjectId": pp, "RemoteDeviceIds": ["op_alpha"],
                                                        "PolicyMode": "grey"})
    assert_error(e, "InvalidParameterValue", "PolicyMode")


def test_batch_delete_policy_without_policy_mode_is_missing_parameter(raw_a, pp):
    e = expect_error(raw_a.call_json, "BatchDeletePolicy", {"ProjectId": pp, "RemoteDeviceIds": ["op_alpha"]})
    assert_error(e, "MissingParameter", "PolicyMode")


def test_batch_delete_policy_in_a_missing_project_is_resource_not_found(cli_a):
    e = expect_error(call, cli_a, "BatchDeletePolicy", {"ProjectId": made_up_project_id(),
                                                        "RemoteDeviceIds": ["op_alpha"], "PolicyMode": "black"})
    assert_error(e, "ResourceNotFound")
