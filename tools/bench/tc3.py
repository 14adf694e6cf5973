#!/usr/bin/env python3
"""Minimal TC3-HMAC-SHA256 client (stdlib only) for load-test set-up and for wrk scripts.

  tc3.py call  ENDPOINT ID KEY ACTION JSON      -> prints the JSON answer
  tc3.py wrk   ENDPOINT ID KEY ACTION JSON OUT  -> writes a wrk Lua script replaying one signed request
A TC3 signature is valid for 300 s (no nonce), so wrk may replay one request for a few minutes.
"""
import hashlib, hmac, json, sys, time, urllib.request
from datetime import datetime, timezone


def sign(host, sid, key, action, body, ts):
    date = datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join(["POST", "/", "", f"content-type:application/json\nhost:{host}\n",
                           "content-type;host", hashlib.sha256(body).hexdigest()])
    sts = "\n".join(["TC3-HMAC-SHA256", str(ts), f"{date}/trro/tc3_request",
                     hashlib.sha256(canonical.encode()).hexdigest()])
    k = hmac.new(("TC3" + key).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, b"trro", hashlib.sha256).digest()
    k = hmac.new(k, b"tc3_request", hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json", "Host": host, "X-TC-Action": action,
        "X-TC-Timestamp": str(ts), "X-TC-Version": "2022-03-25", "X-TC-Region": "ap-guangzhou",
        "Authorization": f"TC3-HMAC-SHA256 Credential={sid}/{date}/trro/tc3_request, "
                         f"SignedHeaders=content-type;host, Signature={sig}",
    }


def main():
    mode, endpoint, sid, key, action, payload = sys.argv[1:7]
    host = endpoint.split("://", 1)[-1]
    body = payload.encode()
    headers = sign(host, sid, key, action, body, int(time.time()))
    if mode == "call":
        req = urllib.request.Request(f"http://{host}/", data=body, headers=headers, method="POST")
        print(urllib.request.urlopen(req).read().decode())
    else:
        lua = ['wrk.method = "POST"', f"wrk.body = {json.dumps(payload)}"]
        lua += [f'wrk.headers["{k}"] = {json.dumps(v)}' for k, v in headers.items()]
        open(sys.argv[7], "w").write("\n".join(lua) + "\n")


if __name__ == "__main__":
    main()
