"""Tenant isolation: account B can never see, change or even detect account A's objects.

docs/api.md §2.9: a project or device that belongs to another account is `ResourceNotFound`,
"no caller can learn that another tenant's object exists" -- so the answer to B for A's real
ProjectId must be the same as for a made-up one (code, and message up to the id itself).
"""

import pytest

from tcutil import (assert_error, call, create_device, create_key, create_project, expect_error,
                    made_up_project_id, rand_token)

KEY32 = "0123456789abcdefghijklmnopqrstuv"


@pytest.fixture(scope="module")
def world_a(client, account_a):
    """Account A's project with a field device, a remote device and a policy between them."""
    cli = client(account_a)
    pid = create_project(cli, name="a_private", ProjectDescription="a only")
    create_device(cli, pid, "truck_a", "field", name="a_truck")
    create_device(cli, pid, "op_a", "remote", name="a_op")
    call(cli, "ModifyPolicy", {"ProjectId": pid, "RemoteDeviceId": "op_a", "FieldDeviceIds": ["truck_a"],
                               "PolicyMode": "black", "ModifyMode": "add"})
    return pid


def assert_a_intact(cli_a, pid):
    info = call(cli_a, "DescribeProjectInfo", {"ProjectId": pid})
    assert (info.ProjectName, info.ProjectDescription, info.PolicyMode) == ("a_private", "a only", "black")
    devs = call(cli_a, "DescribeDeviceList", {"ProjectId": pid})
    assert sorted((d.DeviceId, d.DeviceName) for d in devs.Devices) == [("op_a", "a_op"), ("truck_a", "a_truck")]
    pol = call(cli_a, "DescribePolicy", {"ProjectId": pid})
    assert [(p.RemoteDeviceId, p.FieldDeviceIds) for p in pol.PolicyInfo] == [("op_a", ["truck_a"])]


# Every project-scoped action with otherwise valid parameters; `pid` is filled in.
ACTIONS = {
    "DescribeProjectInfo": lambda pid: {"ProjectId": pid},
    "ModifyProject": lambda pid: {"ProjectId": pid, "ProjectName": "hijacked", "PolicyMode": "white"},
    "DeleteProject": lambda pid: {"ProjectId": pid},
    "ModifyProjectSecMode": lambda pid: {"ProjectId": pid, "Mode": 1, "Key": KEY32, "AutoRegister": 3,
                                         "FieldListEnable": 1},
    "CreateDevice": lambda pid: {"ProjectId": pid, "DeviceId": "intruder", "DeviceName": "x",
                                 "DeviceType": "field", "DeviceToken": "abcd1234abcd1234"},
    "DescribeDeviceList": lambda pid: {"ProjectId": pid},
    "DescribeDeviceInfo": lambda pid: {"ProjectId": pid, "DeviceId": "truck_a"},
    "ModifyDevice": lambda pid: {"ProjectId": pid, "DeviceId": "truck_a", "DeviceName": "hijacked",
                                 "DeviceToken": "abcd1234abcd1234"},
    "BatchDeleteDevices": lambda pid: {"ProjectId": pid, "DeviceIds": ["truck_a", "op_a"]},
    "ModifyPolicy": lambda pid: {"ProjectId": pid, "RemoteDeviceId": "op_a", "FieldDeviceIds": ["truck_a"],
                                 "PolicyMode": "black", "ModifyMode": "remove"},
    "DescribePolicy": lambda pid: {"ProjectId": pid},
    "BatchDeletePolicy": lambda pid: {"ProjectId": pid, "RemoteDeviceIds": ["op_a"], "PolicyMode": "black"},
    "ModifyCallbackUrl": lambda pid: {"ProjectId": pid, "CallbackUrl": "http://evil.example.com/",
                                      "SignKey": "abcd1234"},
    # Session and usage queries are project-scoped too.
    "DescribeDeviceSessionList": lambda pid: {"ProjectId": pid, "PageNumber": 1, "PageSize": 10},
    "DescribeRecentSessionList": lambda pid: {"ProjectId": pid, "PageNumber": 1, "PageSize": 10},
    "DescribeSessionStatistics": lambda pid: {"ProjectId": pid},
    "DescribeSessionStatisticsByInterval": lambda pid: {"ProjectId": pid, "StatisticInterval": "day"},
    "GetTotalDuration": lambda pid: {"ProjectId": pid, "StartTime": 1680076919, "EndTime": 1688025719},
    "GetDurationDetails": lambda pid: {"ProjectId": pid, "StartTime": 1703433600, "EndTime": 1703443600,
                                       "PageNum": 1, "PageSize": 10},
}


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_another_accounts_project_looks_exactly_like_a_made_up_one(client, account_a, account_b, world_a,
                                                                   action, language):
    cli_b = client(account_b, language=language)
    fake = made_up_project_id()
    real = expect_error(call, cli_b, action, ACTIONS[action](world_a))
    made_up = expect_error(call, cli_b, action, ACTIONS[action](fake))
    assert_error(made_up, "ResourceNotFound")
    assert_error(real, "ResourceNotFound")
    assert real.get_message().replace(world_a, "<ID>") == made_up.get_message().replace(fake, "<ID>"), \
        "B can tell A's project from a made-up one: %r vs %r" % (real.get_message(), made_up.get_message())
    assert_a_intact(client(account_a), world_a)


def test_a_device_id_of_another_account_in_own_project_is_not_found(client, account_a, account_b, world_a):
    cli_b = client(account_b)
    pid_b = create_project(cli_b)
    e = expect_error(call, cli_b, "DescribeDeviceInfo", {"ProjectId": pid_b, "DeviceId": "truck_a"})
    assert_error(e, "ResourceNotFound")
    # B may use the same device id in its own project; A's device is untouched.
    create_device(cli_b, pid_b, "truck_a", "remote", name="b_truck", token=rand_token())
    assert call(cli_b, "DescribeDeviceInfo", {"ProjectId": pid_b, "DeviceId": "truck_a"}).DeviceName == "b_truck"
    assert_a_intact(client(account_a), world_a)


def _all_project_ids(cli):
    ids, page = [], 1
    while True:
        r = call(cli, "DescribeProjectList", {"PageNumber": page, "PageSize": 100})
        if not r.Projects:
            return ids, r.Total
        ids += [p.ProjectId for p in r.Projects]
        page += 1


def test_project_lists_never_show_the_other_accounts_projects(client, account_a, account_b, world_a):
    cli_a, cli_b = client(account_a), client(account_b)
    pid_b = create_project(cli_b, name="b_private")
    ids_a, total_a = _all_project_ids(cli_a)
    ids_b, total_b = _all_project_ids(cli_b)
    assert world_a in ids_a and pid_b not in ids_a
    assert pid_b in ids_b and world_a not in ids_b
    assert not set(ids_a) & set(ids_b)
    assert total_a == len(ids_a) and total_b == len(ids_b), "Total must count only the caller's projects"


def test_a_second_key_of_the_same_account_sees_the_same_projects(server, teleoscope_bin, client, account_a,
                                                                 world_a):
    second = create_key(teleoscope_bin, server.db_url, account_id=account_a.account_id)
    assert second.account_id == account_a.account_id
    assert second.secret_id != account_a.secret_id
    assert call(client(second), "DescribeProjectInfo", {"ProjectId": world_a}).ProjectName == "a_private"
