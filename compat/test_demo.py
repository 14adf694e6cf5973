"""`teleoscope demo`, as a new user meets it: started with no configuration, it prints credentials, and
the vendor's SDK sees the demo fleet's live sessions within seconds."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import tcutil

# A new user gets this far in seconds; the first sessions start when the simulated fleet does.
LIVE_WITHIN_SECONDS = 20


def wait_for_banner(path, proc, timeout):
    """The SecretId, SecretKey and ProjectId the demo prints, once it has printed them."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        assert proc.poll() is None, "teleoscope demo exited early:\n" + text
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        found = {k: re.search(r"^\s+%s\s+(\S+)" % k, text, re.M) for k in ("SecretId", "SecretKey", "ProjectId")}
        if all(found.values()):
            return {k: m.group(1) for k, m in found.items()}
        time.sleep(0.1)
    raise AssertionError("no credentials printed within %d s:\n%s" % (timeout, text))


def test_demo_shows_live_sessions_through_the_vendor_sdk_within_seconds(teleoscope_bin):
    workdir = tempfile.mkdtemp(prefix="teleoscope-demo-test-")
    host = "127.0.0.1:%d" % tcutil.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEOSCOPE_")}
    out_path = os.path.join(workdir, "demo.out")
    started = time.monotonic()
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([teleoscope_bin, "demo", "--listen", host], stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=workdir)
    try:
        creds = wait_for_banner(out_path, proc, LIVE_WITHIN_SECONDS)
        client = tcutil.make_client(host, tcutil.Account("", creds["SecretId"], creds["SecretKey"]))
        live = []
        while time.monotonic() - started < LIVE_WITHIN_SECONDS and not live:
            r = tcutil.call(client, "DescribeRecentSessionList",
                            {"ProjectId": creds["ProjectId"], "PageNumber": 1, "PageSize": 10})
            live = r.RecentSessionList or []
            if not live:
                time.sleep(0.5)
        assert live, "no live session within %d s of starting the demo" % LIVE_WITHIN_SECONDS
        # The demo's own devices drive them: trucks in the field, consoles at the remote end.
        s = live[0]
        assert s.FieldDeviceId.startswith("truck_") and s.RemoteDeviceId.startswith("console_")
        # LatestUpdateTime is UNIX seconds in the model.
        assert abs(time.time() - s.LatestUpdateTime) < 60

        # The session's samples are there too, through the seed action.
        d = tcutil.call(client, "DescribeDeviceSessionDetails", {"SessionId": s.SessionId})
        assert {x.DeviceType for x in d.Details} <= {"field", "remote"} and d.Details
        assert all(len(x.TimeOffset) == len(x.Rate) > 0 for x in d.Details)

        # The terminal is for a person: session starts are there, a line per request is not
        # (request logs are at `warn` in the demo unless TELEOSCOPE_LOG says otherwise).
        with open(out_path, "rb") as f:
            printed = f.read().decode("utf-8", "replace")
        assert re.search(r"^session \S+ started: ", printed, re.M), printed
        request_lines = [l for l in printed.splitlines() if "teleoscope::request" in l]
        assert not request_lines, "request log lines in the demo's output:\n" + "\n".join(request_lines[:5])

        # Ctrl-C stops it cleanly.
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
