#!/usr/bin/env bash
# Latency of a signed DescribeDeviceList under steady load (wrk), on a release build.
#   tools/bench/describe_device_list.sh [DEVICES] [SECONDS] [CONNECTIONS]
# Needs wrk (apt-get install wrk). The rate limit is lifted for the run (it is per account and action).
set -euo pipefail
cd "$(dirname "$0")/../.."
devices=${1:-200} seconds=${2:-20} conns=${3:-8}
bin=target/release/teleoscope
[ -x "$bin" ] || cargo build --release --bin teleoscope
dir=$(mktemp -d); trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
db="sqlite://$dir/bench.db"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TELEOSCOPE_LOG=warn TELEOSCOPE_RATE_LIMIT_PER_SECOND=1000000 "$bin" serve --database "$db" --listen "127.0.0.1:$port" &
pid=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
key=$("$bin" keys create --database "$db" --json)
sid=$(echo "$key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["SecretId"])')
skey=$(echo "$key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["SecretKey"])')
ep="127.0.0.1:$port"
pidj=$(python3 tools/bench/tc3.py call "$ep" "$sid" "$skey" CreateProject '{"ProjectName":"bench"}')
project=$(echo "$pidj" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Response"]["ProjectId"])')
for i in $(seq "$devices"); do
  t=field; [ $((i % 2)) -eq 0 ] && t=remote
  python3 tools/bench/tc3.py call "$ep" "$sid" "$skey" CreateDevice \
    "{\"ProjectId\":\"$project\",\"DeviceId\":\"dev_$i\",\"DeviceName\":\"dev_$i\",\"DeviceType\":\"$t\",\"DeviceToken\":\"abcd1234abcd1234\"}" >/dev/null
done
python3 tools/bench/tc3.py wrk "$ep" "$sid" "$skey" DescribeDeviceList \
  "{\"ProjectId\":\"$project\",\"PageNumber\":3,\"PageSize\":20,\"DeviceType\":\"field\",\"SearchWords\":\"dev\"}" "$dir/req.lua"
echo "DescribeDeviceList, $devices devices, page 3 of 20 with type + search filters, $conns connections, ${seconds}s:"
wrk -t2 -c"$conns" -d"${seconds}s" --latency -s "$dir/req.lua" "http://$ep/" | sed -n '1,20p'
echo "answers by code (from /metrics; every answer is HTTP 200, so errors show only here):"
curl -s "http://$ep/metrics" | grep '^teleoscope_requests_total{action="DescribeDeviceList"'
echo "check: one answer body:"
python3 tools/bench/tc3.py call "$ep" "$sid" "$skey" DescribeDeviceList "{\"ProjectId\":\"$project\",\"PageSize\":1}" | head -c 300; echo
