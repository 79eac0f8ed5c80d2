#!/usr/bin/env python3
"""The warm collage invoke: how long the function takes to answer {"op":"collage"} for covers
it has already cut out (what the web app asks after its segment invokes), for covers it knows
by their stored checksum against covers it must read (the peer: how every collage was made
before issue 11 item 6), alternating in the same run.

    bench/collage_bench.py [--bin build/sparkify] [--size 320] [--runs 15] [--cache DIR]

Starts `sparkify store` and `sparkify function` on free loopback ports (scratch data under
/var/tmp), uploads the bundled samples twice: as the web app does (uploads/<sha256>.<ext>,
with an x-amz-checksum-sha256 the store verifies) and without a checksum (plain/<sha256>.<ext>),
makes every cut-out with one segment invoke per cover, then times --runs pairs of collage
invokes of all the covers, one of each set in turn (a different seed each pair). Prints for
each set the medians of the wall time (an HTTP client on loopback) and of the function's own
stats (load_ms, total_ms), how many covers the store served by GET (counted in its debug log)
during the timed invokes, and the median of the pairs' ratios.
Needs a python3 with boto3, the samples and the model (scripts/setup.sh --deps).
"""
import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from botocore.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKET = "bench"


def start(cmd, env, log_path, pattern, timeout):
    """Starts cmd with stdout and stderr in log_path; returns it and the port its log gives."""
    proc = subprocess.Popen(cmd, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with open(log_path, errors="replace") as f:
            m = re.search(pattern, f.read())
        if m:
            return proc, int(m.group(1))
        time.sleep(0.1)
    proc.kill()
    sys.exit("collage_bench: %s did not start (see %s)" % (cmd[1], log_path))


def invoke(port, event):
    req = urllib.request.Request(
        "http://127.0.0.1:%d/2015-03-31/functions/function/invocations" % port,
        data=json.dumps(event).encode(), method="POST")
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=600) as r:
        body = r.read()
    ms = (time.monotonic() - t0) * 1000
    answer = json.loads(body)
    body = answer.get("body")  # the seed's shape: {"statusCode": ..., "body": {...}}
    if isinstance(body, str):
        body = json.loads(body)
    return ms, body if isinstance(body, dict) else answer


def store_gets(log_path, key_prefix):
    """GETs of keys under key_prefix in the store's debug log so far."""
    with open(log_path, errors="replace") as f:
        return sum(1 for line in f if " GET /%s/%s" % (BUCKET, key_prefix) in line)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", default=os.path.join(REPO, "build", "sparkify"))
    p.add_argument("--size", type=int, default=320)
    p.add_argument("--runs", type=int, default=15)
    p.add_argument("--cache", default=os.environ.get(
        "SPARKIFY_CACHE", os.path.expanduser("~/.cache/sparkify")))
    args = p.parse_args()
    samples = os.path.join(args.cache, "samples")
    names = sorted(n for n in os.listdir(samples)
                   if n.endswith((".png", ".jpg")) and n != "truncated.jpg")

    with open("/proc/cpuinfo") as f:
        cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    print("machine: %d cores, %s" % (os.cpu_count(), cpu))
    print("command: bench/collage_bench.py --size %d --runs %d (%d covers, %s)"
          % (args.size, args.runs, len(names), subprocess.run(
              ["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
              text=True).stdout.strip()))

    work = tempfile.mkdtemp(prefix="sparkify-collage-bench.", dir="/var/tmp")
    key, secret = "SPKBENCH" + secrets.token_hex(6).upper(), secrets.token_urlsafe(30)
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "SPARKIFY_CACHE": args.cache,
           "SPARKIFY_ROOT_ACCESS_KEY_ID": key, "SPARKIFY_ROOT_SECRET_ACCESS_KEY": secret,
           "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    procs = []
    try:
        # The store logs every request at debug level: how the covers' GETs are counted.
        access_log = os.path.join(work, "store.log")
        store, store_port = start(
            [args.bin, "store", "--data", os.path.join(work, "data"), "--listen", "127.0.0.1:0",
             "--create-bucket", BUCKET], dict(env, SPDLOG_LEVEL="debug"), access_log,
            r"listening on http://127\.0\.0\.1:(\d+)", 30)
        procs.append(store)
        endpoint = "http://127.0.0.1:%d" % store_port
        function, fn_port = start(
            [args.bin, "function", "--listen", "127.0.0.1:0", "--size", str(args.size),
             "--bucket", BUCKET, "--s3-endpoint", endpoint], env,
            os.path.join(work, "function.log"),
            r"sparkify function listening on http://127\.0\.0\.1:(\d+)", 120)
        procs.append(function)

        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=key, aws_secret_access_key=secret,
                          config=Config(s3={"addressing_style": "path"}))
        keys = {"summed": [], "plain": []}
        for name in names:
            with open(os.path.join(samples, name), "rb") as f:
                data = f.read()
            digest = hashlib.sha256(data).digest()
            leaf = "%s.%s" % (digest.hex(), "jpg" if name.endswith(".jpg") else "png")
            s3.put_object(Bucket=BUCKET, Key="uploads/" + leaf, Body=data,
                          ChecksumSHA256=base64.b64encode(digest).decode())
            s3.put_object(Bucket=BUCKET, Key="plain/" + leaf, Body=data)
            keys["summed"].append("uploads/" + leaf)
            keys["plain"].append("plain/" + leaf)
        for k in keys["summed"]:
            _, answer = invoke(fn_port, {"op": "segment", "keys": [k]})
            if answer.get("errors"):
                sys.exit("collage_bench: segment %s failed: %s" % (k, answer["errors"]))
        prefixes = {"summed": "uploads/", "plain": "plain/"}
        walls = {"summed": [], "plain": []}
        totals = {"summed": [], "plain": []}
        loads = {"summed": [], "plain": []}
        gets0 = {m: store_gets(access_log, prefixes[m]) for m in keys}
        for run in range(args.runs):
            for mode in ("plain", "summed") if run % 2 else ("summed", "plain"):
                ms, answer = invoke(fn_port, {"op": "collage", "keys": keys[mode],
                                              "options": {"seed": run}})
                stats = answer.get("stats", {})
                if answer.get("errors") or stats.get("cache_hits") != 9:
                    sys.exit("collage_bench: collage failed: %s" % json.dumps(answer)[:500])
                walls[mode].append(ms)
                totals[mode].append(stats["total_ms"])
                loads[mode].append(stats["load_ms"])
        time.sleep(0.2)
        print("warm collage invoke of %d covers (9 in the collage, all cut out already), "
              "%d pairs, medians:" % (len(names), args.runs))
        for mode, what in (("plain", "covers read (no checksum)"),
                           ("summed", "covers known by checksum")):
            gets = store_gets(access_log, prefixes[mode]) - gets0[mode]
            print("  %-26s wall %6.1f ms, function total %6.1f ms (loading %6.1f ms), "
                  "%4.1f covers downloaded per invoke"
                  % (what, statistics.median(walls[mode]), statistics.median(totals[mode]),
                     statistics.median(loads[mode]), gets / args.runs))
        ratios = [a / b for a, b in zip(walls["summed"], walls["plain"])]
        print("  wall time ratio, checksum / read, pair by pair: median %.3f (min %.3f, max %.3f)"
              % (statistics.median(ratios), min(ratios), max(ratios)))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
