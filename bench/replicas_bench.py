#!/usr/bin/env python3
"""Scale-out benchmark (issue 12): the web tier behind a round-robin proxy (nginx), with 1 and
with 2 replicas of `sparkify web` on the same bucket and function, driven by N simulated
users who each make collages of the bundled samples (cut-outs cached after the first job) and
follow them to the end by polling through the proxy. Prints jobs per second and the p50/p99
time from submit to collage for each; then the web replica's CPU time per uploaded MB (from
upload to collage), sent straight to the bucket (signed POST forms) vs through the web app
(multipart).

  bench/replicas_bench.py [--users 8] [--seconds 30] [--model-size 320] [--bin build/sparkify]

Needs scripts/setup.sh (the build, the model, the samples) and nginx (Debian's)."""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None, headers=None, timeout=300):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def api(method, url, doc=None):
    body = json.dumps(doc).encode() if doc is not None else None
    status, raw = call(method, url, body, {"Content-Type": "application/json"} if body else {})
    return status, (json.loads(raw) if raw else None)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime + stime


def multipart(parts, files):
    boundary = uuid.uuid4().hex.encode()
    out = b""
    for name, value in parts:
        out += b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (
            boundary, name.encode(), value.encode())
    for name, data in files:
        out += (b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" % (boundary, name.encode()))
        out += data + b"\r\n"
    out += b"--%s--\r\n" % boundary
    return out, {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}


class Processes:
    def __init__(self):
        self.procs = []

    def start(self, args, env=None, ready=None):
        p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(p)
        match = None
        if ready:
            for line in iter(p.stdout.readline, b""):
                match = re.search(ready, line.decode(errors="replace"))
                if match:
                    break
            if not match:
                raise SystemExit("replicas_bench: %s did not start" % args[0])
        threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
        return p, match

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def nginx_conf(tmp, port, upstreams):
    servers = "".join("    server %s;\n" % u for u in upstreams)
    return """daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/body;
  fastcgi_temp_path {tmp}/body;
  uwsgi_temp_path {tmp}/body;
  scgi_temp_path {tmp}/body;
  upstream web {{
{servers}    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 64m;
    location / {{
      proxy_pass http://web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host 127.0.0.1:{port};
    }}
  }}
}}
""".format(tmp=tmp, port=port, servers=servers)


def drive(base, users, seconds):
    """N users, each making sample collages one after another for `seconds`."""
    latencies, failures = [], []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def user():
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            status, job = api("POST", base + "/api/jobs", {"sample": True})
            if status != 202:
                with lock:
                    failures.append(status)
                time.sleep(0.5)
                continue
            while True:
                time.sleep(0.2)
                status, doc = api("GET", base + "/api/jobs/" + job["id"])
                if status != 200 or doc["state"] != "running":
                    break
            with lock:
                if status == 200 and doc["state"] == "done":
                    latencies.append(time.monotonic() - t0)
                else:
                    failures.append(status if status != 200 else doc["state"])

    t0 = time.monotonic()
    threads = [threading.Thread(target=user) for _ in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else 0
    return {"jobs": len(latencies), "failed": len(failures), "wall_s": round(wall, 1),
            "jobs_per_s": round(len(latencies) / wall, 3), "p50_s": round(p(0.5), 2),
            "p99_s": round(p(0.99), 2)}


def upload_cpu(base, pid, files, direct, rounds):
    """CPU seconds the web replica spends on `rounds` jobs made of `files` (name, bytes), from
    the upload to the finished collage: sent straight to the bucket (signed POST forms, then a
    job of the keys) or through the web app (multipart)."""
    before = cpu_seconds(pid)
    taking = 0.0  # direct: while the forms are made and the files travel to the bucket
    for _ in range(rounds):
        if direct:
            t0 = cpu_seconds(pid)
            described = [{"name": n, "type": "image/png", "size": len(d)} for n, d in files]
            status, doc = api("POST", base + "/api/uploads", {"files": described})
            assert status == 200, doc
            for form, (name, data) in zip(doc["uploads"], files):
                body, headers = multipart([tuple(f) for f in form["fields"]], [(name, data)])
                status, raw = call("POST", form["url"], body, headers)
                assert status == 204, raw
            taking += cpu_seconds(pid) - t0
            status, job = api("POST", base + "/api/jobs", {"uploads": [
                {"key": u["key"], "token": u["token"], "name": u["name"]} for u in doc["uploads"]]})
        else:
            body, headers = multipart([], files)
            status, raw = call("POST", base + "/api/jobs", body, headers)
            job = json.loads(raw)
        assert status == 202, job
        while api("GET", base + "/api/jobs/" + job["id"])[1]["state"] == "running":
            time.sleep(0.2)
    return cpu_seconds(pid) - before, taking


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--model-size", type=int, default=320)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "sparkify"))
    args = ap.parse_args()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        raise SystemExit("replicas_bench: needs nginx (apt-get install nginx)")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    print("machine: %d cores, %s" % (os.cpu_count(), cpu))
    print("command: bench/replicas_bench.py --users %d --seconds %d --model-size %d" % (
        args.users, args.seconds, args.model_size))
    tmp = tempfile.mkdtemp(prefix="sparkify-replicas-", dir="/var/tmp")
    procs = Processes()
    try:
        os.makedirs(os.path.join(tmp, "nginx", "body"))
        _, m = procs.start([args.bin, "up", "--data", os.path.join(tmp, "data"), "--web-port", "0",
                            "--function-port", "0", "--store-port", "0",
                            "--model-size", str(args.model_size)],
                           ready=r"sparkify up ready: web (\S+) function (\S+) store (\S+)")
        function, store = m.group(2), m.group(3)
        with open(os.path.join(tmp, "data", "store", "iam", "users", "web",
                               "credentials.json")) as f:
            key = json.load(f)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=key["access_key_id"],
                   AWS_SECRET_ACCESS_KEY=key["secret_access_key"])
        replicas = []
        for _ in range(2):
            port = free_port()
            p, _ = procs.start([args.bin, "web", "--listen", "127.0.0.1:%d" % port,
                                "--s3-endpoint", store, "--function-url", function,
                                "--client-covers-per-minute", "0", "--client-running-jobs", "0",
                                "--client-actions-per-minute", "0", "--max-running-jobs", "64",
                                "--max-queued-jobs", "256"], env=env, ready=r"listening on")
            replicas.append((p, "127.0.0.1:%d" % port))
        # Warm the cut-out cache: the first collage segments every sample.
        status, job = api("POST", "http://%s/api/jobs" % replicas[0][1], {"sample": True})
        assert status == 202, job
        while api("GET", "http://%s/api/jobs/%s" % (replicas[0][1], job["id"]))[1]["state"] == "running":
            time.sleep(0.5)
        results = {}
        for n in (1, 2):
            port = free_port()
            conf = os.path.join(tmp, "nginx", "nginx-%d.conf" % n)
            with open(conf, "w") as f:
                f.write(nginx_conf(os.path.join(tmp, "nginx"), port,
                                   [r[1] for r in replicas[:n]]))
            proxy = subprocess.Popen([nginx, "-p", os.path.join(tmp, "nginx"), "-c", conf],
                                     stderr=subprocess.DEVNULL, start_new_session=True)
            time.sleep(0.5)
            try:
                cpu0 = [cpu_seconds(r[0].pid) for r in replicas]
                results[n] = drive("http://127.0.0.1:%d" % port, args.users, args.seconds)
                results[n]["web_cpu_s"] = [round(cpu_seconds(r[0].pid) - c, 2)
                                           for r, c in zip(replicas, cpu0)][:n]
            finally:
                os.killpg(proxy.pid, signal.SIGQUIT)
                proxy.wait(30)
            print("%d replica%s: %s" % (n, "" if n == 1 else "s", json.dumps(results[n])))
        ratio = results[2]["jobs_per_s"] / results[1]["jobs_per_s"] if results[1]["jobs_per_s"] else 0
        print("2 vs 1 replica: %.2fx the jobs per second (the function, on the same %d cores, "
              "does most of the work)" % (ratio, os.cpu_count()))

        samples = os.path.join(os.environ.get("SPARKIFY_CACHE",
                                              os.path.expanduser("~/.cache/sparkify")), "samples")
        files = []
        for name in sorted(os.listdir(samples)):
            if name.endswith(".png"):
                with open(os.path.join(samples, name), "rb") as f:
                    files.append((name, f.read()))
        mb = sum(len(d) for _, d in files) / 1e6
        web = "http://" + replicas[0][1]
        pid = replicas[0][0].pid
        rounds = 5
        direct, taking = upload_cpu(web, pid, files, True, rounds)
        proxied, _ = upload_cpu(web, pid, files, False, rounds)
        per_mb = lambda cpu: 1000 * cpu / (rounds * mb)
        print("%d jobs of %d files (%.1f MB each): web CPU while the files go to the bucket "
              "%.1f ms/MB (signing the forms; ticks of %d ms); a whole job, upload to collage, "
              "%.1f ms/MB straight to the bucket vs %.1f ms/MB through the web app" % (
                  rounds, len(files), mb, per_mb(taking), 1000 // HZ, per_mb(direct),
                  per_mb(proxied)))
    finally:
        procs.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
