"""docs/api.md §4.5: "An acknowledged sample is durable: it survives a crash of the server the moment
after the answer." Several devices stream batches to a dedicated server, which is SIGKILLed mid-stream and
restarted on the same database file; every acknowledged sample must be there, and re-sending the batches
that were never acknowledged must simply work."""

import os
import shutil
import tempfile
import threading
import time

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tcutil import (Server, create_device, create_key, create_project, device_client, make_client,
                    make_common_client, rand_token)

PAIRS = 4
BATCH = 10


class Stream(threading.Thread):
    """One device pair: sends field and remote batches in turn until the server goes away."""

    def __init__(self, host, pid, n, tokens, stop):
        super().__init__(daemon=True)
        self.host, self.pid, self.n, self.tokens, self.stop = host, pid, n, tokens, stop
        self.session = "durable-%d-%s" % (n, pid)
        self.field, self.remote = "truck_%d" % n, "op_%d" % n
        self.start_time = int(time.time()) - 3600
        self.acked = {self.field: set(), self.remote: set()}
        self.pending = {}            # device -> the batch it sent without an answer
        self.next = {self.field: 0, self.remote: 0}
        self.error = None

    def batch(self, dev_id):
        first = self.next[dev_id]
        return [{"TimeOffset": 2 * (first + i), "Rate": 700 + i, "Fps": 20, "CpuUsed": 35.02,
                 "Lost": 0.5, "NetworkLatency": 40 + i} for i in range(BATCH)]

    def body(self, dev_id, samples):
        peer = self.remote if dev_id == self.field else self.field
        return {"SessionId": self.session, "PeerDeviceId": peer, "StartTime": self.start_time, "Ver": "2.4",
                "SdkMode": "server2", "Width": 1280, "Height": 720, "Samples": samples, "Final": False}

    def run(self):
        clients = {d: device_client(self.host, self.pid, d, self.tokens[d]) for d in (self.field, self.remote)}
        while not all(d in self.pending for d in clients):
            for dev_id, cli in clients.items():
                if dev_id in self.pending:
                    continue
                samples = self.batch(dev_id)
                try:
                    r = cli.call_json("ReportSessionMetrics", self.body(dev_id, samples))["Response"]
                except TencentCloudSDKException as e:
                    if not self.stop.is_set():
                        self.error = e       # an answer with an error while the server was up
                    self.pending[dev_id] = samples
                    continue
                except Exception:            # the connection died with the server
                    self.pending[dev_id] = samples
                    continue
                if r.get("Accepted", 0) + r.get("Duplicates", 0) != len(samples):
                    self.error = AssertionError("answer %r for %d samples" % (r, len(samples)))
                self.acked[dev_id].update(s["TimeOffset"] for s in samples)
                self.next[dev_id] += BATCH


@pytest.fixture
def crash_server(teleoscope_bin):
    workdir = tempfile.mkdtemp(prefix="teleoscope-compat-kill-")
    cfg = os.path.join(workdir, "teleoscope.toml")
    with open(cfg, "w") as fh:
        fh.write("device_rate_limit_per_second = 100000\n")
    servers = []

    def start():
        srv = Server(teleoscope_bin, workdir, env_extra={"TELEOSCOPE_RATE_LIMIT_PER_SECOND": "10000"},
                     extra_args=["--config", cfg])
        servers.append(srv)
        return srv
    yield start
    for srv in servers:
        srv.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_sigkill_during_ingest_loses_no_acknowledged_sample(crash_server, teleoscope_bin):
    srv = crash_server()
    acct = create_key(teleoscope_bin, srv.db_url)
    cli = make_client(srv.host, acct)
    pid = create_project(cli, name="durable")
    tokens = {}
    for n in range(PAIRS):
        for dev_id, kind in (("truck_%d" % n, "field"), ("op_%d" % n, "remote")):
            tokens[dev_id] = rand_token()
            create_device(cli, pid, dev_id, kind, token=tokens[dev_id])

    stop = threading.Event()
    streams = [Stream(srv.host, pid, n, tokens, stop) for n in range(PAIRS)]
    for s in streams:
        s.start()
    # let them stream, then pull the plug mid-stream
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and min(len(a) for s in streams for a in s.acked.values()) < 5 * BATCH:
        time.sleep(0.05)
    time.sleep(1.0)
    stop.set()
    srv.proc.kill()              # SIGKILL: no shutdown, no flush
    srv.proc.wait(timeout=10)
    for s in streams:
        s.join(timeout=30)
        assert not s.is_alive(), "a stream did not notice the server's death"
        assert s.error is None, "error while the server was up: %r" % (s.error,)
    acked_total = sum(len(a) for s in streams for a in s.acked.values())
    assert acked_total >= PAIRS * 2 * 5 * BATCH, "too little was acknowledged before the kill to test anything"

    srv2 = crash_server()        # same database file
    raw = make_common_client(srv2.host, acct)
    for s in streams:
        d = {x["DeviceId"]: x for x in raw.call_json("DescribeDeviceSessionDetails",
                                                     {"SessionId": s.session})["Response"]["Details"]}
        for dev_id, acked in s.acked.items():
            stored = set(d[dev_id]["TimeOffset"])
            lost = sorted(acked - stored)
            assert not lost, "%s lost %d acknowledged samples after SIGKILL, e.g. %s" % (dev_id, len(lost), lost[:5])
            sent = acked | {x["TimeOffset"] for x in s.pending[dev_id]}
            assert stored <= sent, "%s has samples it never sent" % dev_id
            # every stored sample is whole: aligned arrays with the values sent
            n = len(d[dev_id]["TimeOffset"])
            for k in ("Rate", "Fps", "CpuUsed", "Lost", "NetworkLatency"):
                assert len(d[dev_id][k]) == n, (dev_id, k)
            assert set(d[dev_id]["CpuUsed"]) == {35.02} and set(d[dev_id]["Lost"]) == {0.5}

    # the devices re-send what was never acknowledged: accepted or recognised, never an error
    for s in streams:
        for dev_id, samples in s.pending.items():
            dev = device_client(srv2.host, pid, dev_id, tokens[dev_id])
            r = dev.call_json("ReportSessionMetrics", s.body(dev_id, samples))["Response"]
            assert r["Accepted"] + r["Duplicates"] == len(samples), r
            # and once more: all duplicates now
            r = dev.call_json("ReportSessionMetrics", s.body(dev_id, samples))["Response"]
            assert (r["Accepted"], r["Duplicates"]) == (0, len(samples)), r
        d = {x["DeviceId"]: x for x in raw.call_json("DescribeDeviceSessionDetails",
                                                     {"SessionId": s.session})["Response"]["Details"]}
        for dev_id in (s.field, s.remote):
            want = sorted(s.acked[dev_id] | {x["TimeOffset"] for x in s.pending[dev_id]})
            assert d[dev_id]["TimeOffset"] == want, dev_id
            assert d[dev_id]["Rate"] == [700 + (o // 2) % BATCH for o in want], dev_id
