"""DescribeSessionStatistics, DescribeSessionStatisticsByInterval, GetTotalDuration and GetDurationDetails
on seven hand-made sessions over two days (docs/api.md §5 and §6; semantics in
crates/server/src/domain/usage.rs), every expected number worked out by hand below.

Rules used in the arithmetic:
- a session counts in the window / bucket its StartTime (earliest device start) falls in;
- its minutes are ceil((EndTime - StartTime) / 60), EndTime being the latest device end (StartTime +
  last TimeOffset);
- its class comes from the field device's configured resolution (ConfigWidth x ConfigHeight, else Width x
  Height) by pixel count: SD <= 640x480 < HD <= 1280x720 < FHD <= 1920x1080 < 2K <= 2560x1440 < 4K; no video
  is Voice; MultiMode 1 goes to the Multi* columns;
- Online is the minutes of both parts, each ceil(last TimeOffset / 60), summed;
- DeductDuration = Online*1 + Voice*1 + SD*3 + HD*5 + FHD*12 + 2K*24 + 4K*48, the multi-network minutes
  weighed alike and then x1.2;
- days, hours and months are those of +08:00; NotBadSessionRatio is whole percent, rounded down.
"""

import json
import os
import time

import pytest

from tcutil import (create_device, create_key, create_project, device_client, make_client,
                    make_common_client, rand_token, run_import)

# 2024-11-30 00:00:00 +08:00 (= 2024-11-29T16:00:00Z) and the next day, 2024-12-01 00:00:00 +08:00.
D1 = 1732896000
D2 = D1 + 86400            # 1732982400, also the start of December
NOV = 1730390400           # 2024-11-01 00:00:00 +08:00
JAN = 1735660800           # 2025-01-01 00:00:00 +08:00
H = 3600

GOOD = {"VideoLatency": 60, "Lost": 0}       # remote: p95 60 ms, no loss -> good
NORMAL = {"VideoLatency": 200, "Lost": 0}    # p95 200 ms: over 150, not over 225 -> normal
BAD_VIDEO = {"VideoLatency": 400, "Lost": 0}  # p95 400 ms: over 225 -> bad
BAD_LOSS = {"VideoLatency": 0, "Lost": 30}   # 0 is "unknown"; mean loss 30 % > 20 % -> bad

# name: (field, remote, (field start, field last offset), (remote start, remote last offset),
#        (Width, Height, ConfigWidth, ConfigHeight), MultiMode, remote metrics, how it is stored)
SESSIONS = {
    # D1 09:10:00. span max(T+100, T+5+110) - T = 115 s -> 2 min; online ceil(100/60) + ceil(110/60) = 2 + 2.
    # 640x480 -> SD. good.
    "S1": ("f1", "r1", (D1 + 9 * H + 600, 100), (D1 + 9 * H + 605, 110), (640, 480, 640, 480), 0, GOOD, "import"),
    # D1 09:40:00. span 61 s -> 2 min; online ceil(60/60) + ceil(61/60) = 1 + 2. 1280x720 -> HD. bad.
    "S2": ("f1", "r2", (D1 + 9 * H + 2400, 60), (D1 + 9 * H + 2400, 61), (1280, 720, 1280, 720), 0, BAD_VIDEO,
           "import"),
    # D1 15:00:00. span max(T+300, T+1+299) - T = 300 s -> 5 min; online 5 + 5. Configured 1920x1080 -> FHD
    # (the actual 1280x720 does not decide). normal.
    "S3": ("f2", "r1", (D1 + 15 * H, 300), (D1 + 15 * H + 1, 299), (1280, 720, 1920, 1080), 0, NORMAL, "import"),
    # D2 00:30:00 (+08:00; still 2024-11-30 in UTC). span 120 s -> 2 min; online 2 + 2. Configured 1920x1536 =
    # 2,949,120 px > 1920x1080 = 2,073,600 and <= 2560x1440 = 3,686,400 -> 2K. good.
    "S4": ("f2", "r2", (D2 + 1800, 120), (D2 + 1800, 120), (1280, 720, 1920, 1536), 0, GOOD, "import"),
    # field D2 10:00:00, remote 10 s earlier: the session starts at D2 09:59:50 (hour 09:00) and ends at
    # max(T+30, T-10+40) = T+30: span 40 s -> 1 min; online ceil(30/60) + ceil(40/60) = 1 + 1. 3840x2160 -> 4K. good.
    "S5": ("f1", "r2", (D2 + 10 * H, 30), (D2 + 10 * H - 10, 40), (3840, 2160, 3840, 2160), 0, GOOD, "import"),
    # D2 10:20:00, reported live. span max(T+90, T+150) - T = 150 s -> 3 min; online ceil(90/60) + ceil(150/60) =
    # 2 + 3 = 5, multi-network. No configured size: the actual 1280x720 -> HD -> MultiHD 3. good.
    "S6": ("f3", "r1", (D2 + 10 * H + 1200, 90), (D2 + 10 * H + 1200, 150), (1280, 720, 0, 0), 1, GOOD, "report"),
    # D2 20:00:00, reported live. span 179 s -> 3 min; online 3 + 3. No video -> Voice 3. bad.
    "S7": ("f3", "r2", (D2 + 20 * H, 179), (D2 + 20 * H, 179), (0, 0, 0, 0), 0, BAD_LOSS, "report"),
}


def offsets(last):
    return [0, 2, 4, last]


def part_detail(name, project_id, dev_id, kind, start, last, size, multi, remote_metrics):
    w, h, cw, ch = size
    n = len(offsets(last))
    d = {"SessionId": "stats-" + name, "DeviceId": dev_id, "DeviceType": kind, "ProjectId": project_id,
         "StartTime": start, "EndTime": start + last, "Ver": "2.4", "SdkMode": "server2",
         "Width": w if kind == "field" else 0, "Height": h if kind == "field" else 0,
         "ConfigWidth": cw if kind == "field" else 0, "ConfigHeight": ch if kind == "field" else 0,
         "MultiMode": multi if kind == "field" else 0, "TimeOffset": offsets(last), "MultiNet": []}
    if kind == "field":
        d["NetworkLatency"] = [20] * n
        d["Lost"] = [0] * n
        if multi:
            d["MultiNet"] = [{"NetId": i, "NetIp": "10.0.%d.2" % i, "Rtt": [30] * n, "Lost": [0] * n,
                              "SendBps": [500] * n, "RecvBps": [50] * n} for i in (0, 1)]
    else:
        for k, v in remote_metrics.items():
            d[k] = [v] * n
    return d


def samples_from_detail(d):
    keys = [k for k, v in d.items() if isinstance(v, list) and v and k not in ("TimeOffset", "MultiNet")]
    out = []
    for i, off in enumerate(d["TimeOffset"]):
        s = {"TimeOffset": off}
        s.update({k: d[k][i] for k in keys})
        if d["MultiNet"]:
            s["MultiNet"] = [{"NetId": n["NetId"], "NetIp": n["NetIp"], "Rtt": n["Rtt"][i], "Lost": n["Lost"][i],
                              "SendBps": n["SendBps"][i], "RecvBps": n["RecvBps"][i]} for n in d["MultiNet"]]
        out.append(s)
    return out


@pytest.fixture(scope="module")
def stats(server, teleoscope_bin, tmp_path_factory):
    acct = create_key(teleoscope_bin, server.db_url)
    cli = make_client(server.host, acct, language="en-US")
    raw = make_common_client(server.host, acct, language="en-US")
    pid = create_project(cli, name="statistics")
    tokens = {}
    for d, kind in (("f1", "field"), ("f2", "field"), ("f3", "field"), ("r1", "remote"), ("r2", "remote")):
        tokens[d] = rand_token()
        create_device(cli, pid, d, kind, token=tokens[d])
    imported = []
    for name, (f, r, (fs, fl), (rs, rl), size, multi, rm, how) in SESSIONS.items():
        parts = [part_detail(name, pid, f, "field", fs, fl, size, multi, rm),
                 part_detail(name, pid, r, "remote", rs, rl, size, multi, rm)]
        if how == "import":
            imported += parts
            continue
        for p, peer in ((parts[0], r), (parts[1], f)):
            b = {"SessionId": p["SessionId"], "PeerDeviceId": peer, "StartTime": p["StartTime"], "Ver": "2.4",
                 "SdkMode": "server2", "Width": p["Width"], "Height": p["Height"],
                 "ConfigWidth": p["ConfigWidth"], "ConfigHeight": p["ConfigHeight"], "MultiMode": p["MultiMode"],
                 "Samples": samples_from_detail(p), "Final": True}
            r_ = device_client(server.host, pid, p["DeviceId"], tokens[p["DeviceId"]]).call_json(
                "ReportSessionMetrics", b)["Response"]
            assert r_["Accepted"] == 4, r_
    path = os.path.join(str(tmp_path_factory.mktemp("stats")), "sessions.json")
    with open(path, "w") as fh:
        json.dump({"Response": {"Details": imported, "RequestId": "export"}}, fh)
    run_import(teleoscope_bin, server.db_url, pid, path)
    # the two reported sessions are graded by the server once they end; wait for the final grades
    deadline = time.monotonic() + 5
    while True:
        q = quality_by_session(raw, pid)
        if q == EXPECTED_QUALITY or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return {"cli": cli, "raw": raw, "pid": pid, "quality": q}


EXPECTED_QUALITY = {"stats-S1": "good", "stats-S2": "bad", "stats-S3": "normal", "stats-S4": "good",
                    "stats-S5": "good", "stats-S6": "good", "stats-S7": "bad"}


def quality_by_session(raw, pid):
    r = raw.call_json("DescribeDeviceSessionList", {"ProjectId": pid, "PageNumber": 1, "PageSize": 100})["Response"]
    return {s["SessionId"]: s["Quality"] for s in r["DeviceSessionList"]}


def statistics(st, **kw):
    r = st["raw"].call_json("DescribeSessionStatistics", dict(kw, ProjectId=st["pid"]))["Response"]
    return (r["SessionNum"], r["TotalDuration"], r["ActiveFieldDeviceNum"], r["ActiveRemoteDeviceNum"],
            r["NotBadSessionRatio"])


def by_interval(st, interval, **kw):
    r = st["raw"].call_json("DescribeSessionStatisticsByInterval",
                            dict(kw, ProjectId=st["pid"], StatisticInterval=interval))["Response"]
    # buckets without sessions, if any are listed, carry nothing
    rows = [x for x in r["SessionStatistics"] if x["SessionNum"] != 0]
    for x in r["SessionStatistics"]:
        if x["SessionNum"] == 0:
            assert (x["TotalDuration"], x["ActiveFieldDeviceNum"], x["ActiveRemoteDeviceNum"]) == (0, 0, 0), x
    return [(x["StartTime"], x["SessionNum"], x["TotalDuration"], x["ActiveFieldDeviceNum"],
             x["ActiveRemoteDeviceNum"], x["NotBadSessionRatio"]) for x in sorted(rows, key=lambda x: x["StartTime"])]


USAGE_KEYS = ("Voice", "SD", "HD", "FHD", "TwoK", "FourK", "Online", "MultiSD", "MultiHD", "MultiFHD",
              "MultiTwoK", "MultiFourK", "MultiOnline", "DeductDuration")


def usage(d):
    return {k: d[k] for k in USAGE_KEYS}


def zero(**kw):
    u = dict.fromkeys(USAGE_KEYS, 0)
    u.update(kw)
    return u


def test_the_sessions_are_graded_as_designed(stats):
    assert stats["quality"] == EXPECTED_QUALITY


def test_session_statistics_over_both_days(stats):
    # 7 sessions; minutes 2 + 2 + 5 + 2 + 1 + 3 + 3 = 18; field f1, f2, f3; remote r1, r2;
    # not bad: 5 of 7 (S2 and S7 are bad) = 71.4 % -> 71.
    assert statistics(stats, StartTime=D1, EndTime=D2 + 86399) == (7, 18, 3, 2, 71)
    assert statistics(stats) == (7, 18, 3, 2, 71), "no window: every session"


def test_session_statistics_of_one_day_and_of_one_device(stats):
    # D1: S1, S2, S3: minutes 2 + 2 + 5 = 9; f1, f2; r1, r2; 2 of 3 not bad = 66.7 % -> 66 (rounded down).
    assert statistics(stats, StartTime=D1, EndTime=D2 - 1) == (3, 9, 2, 2, 66)
    # D2: S4, S5, S6, S7: 2 + 1 + 3 + 3 = 9; f2, f1, f3; r2, r1; 3 of 4 = 75.
    assert statistics(stats, StartTime=D2, EndTime=D2 + 86399) == (4, 9, 3, 2, 75)
    # f1: S1, S2, S5: 2 + 2 + 1 = 5; one field device, remotes r1, r2; 2 of 3 -> 66.
    assert statistics(stats, DeviceId="f1") == (3, 5, 1, 2, 66)
    # r1: S1, S3, S6: 2 + 5 + 3 = 10; f1, f2, f3; r1; none bad -> 100.
    assert statistics(stats, DeviceId="r1") == (3, 10, 3, 1, 100)
    # D2 09:00:00..09:59:59 holds S5, which starts at 09:59:50 (its remote's start), though its field
    # device started at 10:00:00.
    assert statistics(stats, StartTime=D2 + 9 * H, EndTime=D2 + 10 * H - 1) == (1, 1, 1, 1, 100)
    # a window without sessions
    assert statistics(stats, StartTime=D2 + 86400, EndTime=D2 + 2 * 86400) == (0, 0, 0, 0, 0)


def test_statistics_by_day_use_days_of_plus_0800(stats):
    # (bucket start, sessions, minutes, field devices, remote devices, not-bad %), as worked out above.
    assert by_interval(stats, "day", StartTime=D1, EndTime=D2 + 86399) == [
        (D1, 3, 9, 2, 2, 66),
        (D2, 4, 9, 3, 2, 75),   # S4 at 00:30 +08:00 is in D2, although it is 2024-11-30 in UTC
    ]


def test_statistics_by_hour(stats):
    assert by_interval(stats, "hour", StartTime=D1, EndTime=D2 + 86399) == [
        (D1 + 9 * H, 2, 4, 1, 2, 50),    # S1 (2 min, good) + S2 (2 min, bad): f1; r1, r2; 1 of 2 -> 50
        (D1 + 15 * H, 1, 5, 1, 1, 100),  # S3, normal counts as not bad
        (D2, 1, 2, 1, 1, 100),           # S4
        (D2 + 9 * H, 1, 1, 1, 1, 100),   # S5 starts at 09:59:50
        (D2 + 10 * H, 1, 3, 1, 1, 100),  # S6
        (D2 + 20 * H, 1, 3, 1, 1, 0),    # S7, bad
    ]


def test_statistics_by_month(stats):
    # D1 is the last day of November, D2 the first of December (+08:00).
    assert by_interval(stats, "month", StartTime=NOV, EndTime=JAN - 1) == [
        (NOV, 3, 9, 2, 2, 66),
        (D2, 4, 9, 3, 2, 75),
    ]


def test_statistics_by_interval_of_one_device(stats):
    assert by_interval(stats, "day", StartTime=D1, EndTime=D2 + 86399, DeviceId="f3") == [
        (D2, 2, 6, 1, 2, 50),   # S6 (3 min, good, r1) + S7 (3 min, bad, r2)
    ]


# Minutes by class, both days:
#   Voice 3 (S7); SD 2 (S1); HD 2 (S2); FHD 5 (S3); 2K 2 (S4); 4K 1 (S5); MultiHD 3 (S6);
#   Online = S1 4 + S2 3 + S3 10 + S4 4 + S5 2 + S7 6 = 29; MultiOnline = S6 5.
#   Deduct = 29 + 3 + 2*3 + 2*5 + 5*12 + 2*24 + 1*48 = 204, plus (5 + 3*5) * 1.2 = 24 -> 228.
TOTAL = zero(Voice=3, SD=2, HD=2, FHD=5, TwoK=2, FourK=1, Online=29, MultiHD=3, MultiOnline=5, DeductDuration=228)
# D1 (S1, S2, S3): Online 4 + 3 + 10 = 17; Deduct 17 + 2*3 + 2*5 + 5*12 = 93.
DAY1 = zero(SD=2, HD=2, FHD=5, Online=17, DeductDuration=93)
# D2 (S4..S7): Online 4 + 2 + 6 = 12; Deduct 12 + 3 + 2*24 + 1*48 + (5 + 3*5) * 1.2 = 111 + 24 = 135.
DAY2 = zero(Voice=3, TwoK=2, FourK=1, Online=12, MultiHD=3, MultiOnline=5, DeductDuration=135)


def test_get_total_duration_every_column(stats):
    r = stats["raw"].call_json("GetTotalDuration", {"ProjectId": stats["pid"], "StartTime": D1,
                                                    "EndTime": D2 + 86399})["Response"]
    assert usage(r) == TOTAL
    # numeric strings are integers too
    r = stats["raw"].call_json("GetTotalDuration", {"ProjectId": stats["pid"], "StartTime": str(D2),
                                                    "EndTime": str(D2 + 86399)})["Response"]
    assert usage(r) == DAY2


def test_get_total_duration_of_one_device(stats):
    # f3: S6 (MultiHD 3, MultiOnline 5) and S7 (Voice 3, Online 6): Deduct 6 + 3 + (5 + 15) * 1.2 = 33.
    r = stats["raw"].call_json("GetTotalDuration", {"ProjectId": stats["pid"], "StartTime": D1,
                                                    "EndTime": D2 + 86399, "DeviceId": "f3"})["Response"]
    assert usage(r) == zero(Voice=3, Online=6, MultiHD=3, MultiOnline=5, DeductDuration=33)
    # r1: S1 (SD 2, Online 4), S3 (FHD 5, Online 10), S6 (MultiHD 3, MultiOnline 5):
    # Deduct 14 + 2*3 + 5*12 + (5 + 15) * 1.2 = 80 + 24 = 104.
    r = stats["raw"].call_json("GetTotalDuration", {"ProjectId": stats["pid"], "StartTime": D1,
                                                    "EndTime": D2 + 86399, "DeviceId": "r1"})["Response"]
    assert usage(r) == zero(SD=2, FHD=5, Online=14, MultiHD=3, MultiOnline=5, DeductDuration=104)


def test_get_duration_details_per_day(stats):
    r = stats["raw"].call_json("GetDurationDetails", {"ProjectId": stats["pid"], "StartTime": D1,
                                                      "EndTime": D2 + 86399, "PageNum": 1,
                                                      "PageSize": 10})["Response"]
    assert r["TotalCount"] == 2
    days = r["DurationDetails"]
    assert [d["SessionTime"] for d in days] == [str(D1), str(D2)], "the day's start, as a string"
    assert [usage(d) for d in days] == [DAY1, DAY2]
    # the days add up to the total
    assert {k: days[0][k] + days[1][k] for k in USAGE_KEYS} == TOTAL


def test_get_duration_details_pages(stats):
    def page(n, size):
        r = stats["raw"].call_json("GetDurationDetails", {"ProjectId": stats["pid"], "StartTime": str(D1),
                                                          "EndTime": str(D2 + 86399), "PageNum": str(n),
                                                          "PageSize": str(size)})["Response"]
        return r["TotalCount"], [(d["SessionTime"], usage(d)) for d in r["DurationDetails"]]
    assert page(1, 1) == (2, [(str(D1), DAY1)])
    assert page(2, 1) == (2, [(str(D2), DAY2)])
    assert page(3, 1) == (2, [])
    # one day only
    r = stats["raw"].call_json("GetDurationDetails", {"ProjectId": stats["pid"], "StartTime": D2,
                                                      "EndTime": D2 + 86399, "PageNum": 1,
                                                      "PageSize": 10})["Response"]
    assert r["TotalCount"] == 1 and [d["SessionTime"] for d in r["DurationDetails"]] == [str(D2)]
