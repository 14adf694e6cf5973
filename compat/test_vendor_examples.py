"""docs/api.md §2.6: every example request of the vendor's published model
(vendor/trro-2022-03-25/examples.json) for an action in scope is accepted as written
(ids aside), and the answer carries at least the fields of the example's answer.

The bodies below are copied verbatim from examples.json; `{P}` stands for the project id.
"""

import json

import pytest

from tcutil import UUID_RE, call, create_device, create_project

EXAMPLES = [
    ("CreateProject",
     '{"ProjectName": "my_project", "ProjectDescription": "project description info", "PolicyMode": "black"}',
     ["ProjectId", "RequestId"]),
    ("DescribeProjectList", '{"PageSize": 10, "PageNumber": 0}', ["Num", "Projects", "RequestId", "Total"]),
    ("DescribeProjectInfo", '{"ProjectId": "{P}"}',
     ["ModifyTime", "PolicyMode", "ProjectDescription", "ProjectName", "RequestId"]),
    ("ModifyProject",
     '{"ProjectId": "{P}", "ProjectName": "mytest", "ProjectDescription": "test2", "PolicyMode": "black"}',
     ["RequestId"]),
    ("ModifyProjectSecMode",
     '{"ProjectId": "{P}", "Mode": 1, "Key": "123456789012345678901234567abcde", "AutoRegister": 3, '
     '"FieldListEnable": 1}', ["RequestId"]),
    ("CreateDevice",
     '{"ProjectId": "{P}", "DeviceId": "test2", "DeviceName": "test_device", "DeviceType": "field", '
     '"DeviceToken": "abcd1234abcd1234"}', ["RequestId"]),
    ("DescribeDeviceList",
     '{"ProjectId": "{P}", "DeviceType": "field", "SearchWords": "dev1", "PageSize": 10, "PageNumber": 1, '
     '"DeviceStatus": "offline"}', ["Devices", "Num", "RequestId", "Total"]),
    ("DescribeDeviceInfo", '{"ProjectId": "{P}", "DeviceId": "test1"}',
     ["DeviceName", "DeviceStatus", "DeviceType", "LastReportTime", "ModifyTime", "RequestId"]),
    ("ModifyDevice",
     '{"ProjectId": "{P}", "DeviceId": "test1", "DeviceName": "test_device", "DeviceToken": "abcd1234abcd1234"}',
     ["RequestId"]),
    ("BatchDeleteDevices", '{"ProjectId": "{P}", "DeviceIds": ["dev1", "dev2"]}', ["FailedDeviceIds", "RequestId"]),
    ("ModifyPolicy",
     '{"ProjectId": "{P}", "RemoteDeviceId": "test3", "FieldDeviceIds": ["dev2", "dev3"], "PolicyMode": "black", '
     '"ModifyMode": "add"}', ["FailedDeleteIds", "FailedInsertIds", "RequestId"]),
    ("DescribePolicy", '{"ProjectId": "{P}"}',
     ["Num", "PolicyEnabled", "PolicyInfo", "PolicyMode", "RequestId", "Total"]),
    ("BatchDeletePolicy", '{"ProjectId": "{P}", "RemoteDeviceIds": ["test1", "test2"], "PolicyMode": "black"}',
     ["FailedRemoteDeviceIds", "RequestId"]),
    ("ModifyCallbackUrl",
     '{"ProjectId": "{P}", "CallbackUrl": "http://123.45.81.121:9999", "SignKey": "abcd1234"}',
     ["Code", "Msg", "RequestId"]),
    ("DeleteProject", '{"ProjectId": "{P}"}', ["RequestId"]),
]


def world(cli):
    """A project holding the devices and policies the examples refer to."""
    pid = create_project(cli, name="project1", ProjectDescription="test project")
    create_device(cli, pid, "dev1", "field", name="key")
    create_device(cli, pid, "dev2", "field")
    create_device(cli, pid, "dev3", "field")
    create_device(cli, pid, "test1", "remote", name="test_device1")
    create_device(cli, pid, "test3", "remote")
    for remote in ("test1", "test3"):
        call(cli, "ModifyPolicy", {"ProjectId": pid, "RemoteDeviceId": remote, "FieldDeviceIds": ["dev1"],
                                   "PolicyMode": "black", "ModifyMode": "add"})
    return pid


@pytest.mark.parametrize("action,body,fields", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_vendor_example_request_is_accepted_as_written(cli_a, raw_a, action, body, fields):
    pid = world(cli_a)
    params = json.loads(body.replace("{P}", pid))
    resp = raw_a.call_json(action, params)["Response"]
    missing = [f for f in fields if f not in resp]
    assert not missing, "%s answer lacks %s: %s" % (action, missing, resp)
    assert UUID_RE.match(resp["RequestId"])


def test_vendor_example_answers_have_the_example_values(cli_a, raw_a):
    """Where the example answer follows from the example request, the values match too."""
    pid = world(cli_a)
    r = raw_a.call_json("DescribeDeviceList", {"ProjectId": pid, "DeviceType": "field", "SearchWords": "dev1",
                                               "PageSize": 10, "PageNumber": 1, "DeviceStatus": "offline"})["Response"]
    assert (r["Total"], r["Num"]) == (1, 1)
    d = r["Devices"][0]
    assert (d["DeviceId"], d["DeviceName"], d["DeviceStatus"], d["DeviceType"], d["ProjectId"]) == \
        ("dev1", "key", "offline", "field", pid)

    r = raw_a.call_json("DescribeDeviceInfo", {"ProjectId": pid, "DeviceId": "test1"})["Response"]
    assert (r["DeviceName"], r["DeviceStatus"], r["DeviceType"]) == ("test_device1", "offline", "remote")

    r = raw_a.call_json("BatchDeletePolicy", {"ProjectId": pid, "RemoteDeviceIds": ["test1", "test3"],
                                              "PolicyMode": "black"})["Response"]
    assert r["FailedRemoteDeviceIds"] == []

    r = raw_a.call_json("BatchDeleteDevices", {"ProjectId": pid, "DeviceIds": ["dev1", "dev2"]})["Response"]
    assert r["FailedDeviceIds"] == []

    r = raw_a.call_json("ModifyPolicy", {"ProjectId": pid, "RemoteDeviceId": "test3", "FieldDeviceIds": ["dev3"],
                                         "PolicyMode": "black", "ModifyMode": "add"})["Response"]
    assert (r["FailedInsertIds"], r["FailedDeleteIds"]) == ([], [])

    r = raw_a.call_json("DescribePolicy", {"ProjectId": pid})["Response"]
    assert (r["PolicyMode"], r["PolicyEnabled"], r["Total"], r["Num"]) == ("black", True, 1, 1)
    assert r["PolicyInfo"][0]["RemoteDeviceId"] == "test3" and r["PolicyInfo"][0]["FieldDeviceIds"] == ["dev3"]
