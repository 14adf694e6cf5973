"""Teleoscope's extension actions (docs/api.md §8), the queries behind the web console, called the way an
SDK user would: through the vendor Python SDK's generic CommonClient, signed with an account key. The
vendor's example session is imported (`teleoscope import`); DescribeSessionQuality then lists its
incidents, DescribeSessions finds it by grade and reason, DescribeFleetOverview counts it, and a bad
filter value comes back as the SDK's exception with the parameter named."""

import os

from tcutil import (assert_error, create_project, expect_error, golden_details_text, make_client,
                    make_common_client, run_import)

SESSION_ID = "c52cc0cc-3663-467b-a6d1-2f01d20ad7ae-1"


def test_the_extension_actions_through_the_sdks_common_client(server, teleoscope_bin, new_account, tmp_path):
    acct = new_account()
    pid = create_project(make_client(server.host, acct), name="console")
    path = os.path.join(str(tmp_path), "details.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(golden_details_text())
    run_import(teleoscope_bin, server.db_url, pid, path)
    raw = make_common_client(server.host, acct, language="en-US")

    q = raw.call_json("DescribeSessionQuality", {"SessionId": SESSION_ID})["Response"]
    assert (q["ProjectId"], q["Quality"], q["QualityFinal"]) == (pid, "normal", True)
    assert [r["Metric"] for r in q["Reasons"]] == ["NetworkLatency", "MultiNet.Rtt"]
    # docs/quality.md, the example worked by hand: two spikes of the field's network latency and of its
    # NIC 1's RTT, and the remote's three short stalls.
    assert [(i["DeviceType"], i["Kind"], i["NetId"], i["StartTime"], i["EndTime"], i["Peak"])
            for i in q["Incidents"]] == [
        ("remote", "stall", -1, 1731399572, 1731399574, 219),
        ("field", "network_latency", -1, 1731399573, 1731399575, 326),
        ("field", "link_rtt", 1, 1731399573, 1731399575, 262),
        ("field", "network_latency", -1, 1731399589, 1731399591, 503),
        ("field", "link_rtt", 1, 1731399589, 1731399591, 265),
        ("remote", "stall", -1, 1731399610, 1731399612, 45),
        ("remote", "stall", -1, 1731399616, 1731399618, 3),
    ]
    assert q["LatencyBudgetMs"] == 150
    assert {"Metric": "VideoLatency", "Normal": 150, "Bad": 225, "Unit": "ms", "Direction": "above"} \
        in q["Thresholds"]

    # Numbers and booleans as the SDK user writes them, strings included.
    listed = raw.call_json("DescribeSessions", {"ProjectId": pid, "Quality": "normal", "Reason": "MultiNet.Rtt",
                                                "Live": False, "PageNumber": "1", "PageSize": 5})["Response"]
    assert (listed["Total"], listed["Num"]) == (1, 1)
    s = listed["Sessions"][0]
    assert (s["SessionId"], s["Duration"], s["Resolution"], s["Reasons"]) == (
        SESSION_ID, 1731399664 - 1731399569, "1280*720", q["Reasons"])
    none = raw.call_json("DescribeSessions", {"ProjectId": pid, "Quality": "bad"})["Response"]
    assert (none["Total"], none["Sessions"]) == (0, [])

    overview = raw.call_json("DescribeFleetOverview", {"ProjectId": pid})["Response"]
    assert (overview["SessionNum"], overview["QualityMix"]) == (1, {"Good": 0, "Normal": 1, "Bad": 0})
    assert [w["SessionId"] for w in overview["WorstSessions"]] == [SESSION_ID]
    assert overview["DevicesWithMostBadSessions"] == []

    e = expect_error(raw.call_json, "DescribeSessions", {"ProjectId": pid, "Quality": "awful"})
    assert_error(e, "InvalidParameterValue", ["Quality", "awful", "good"])
    # Another tenant's session looks missing.
    other = make_common_client(server.host, new_account(), language="en-US")
    assert_error(expect_error(other.call_json, "DescribeSessionQuality", {"SessionId": SESSION_ID}),
                 "ResourceNotFound")
