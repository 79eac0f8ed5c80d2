#!/usr/bin/python3
"""End to end: `sparkify store` and `sparkify function --allow-private-fetch` as processes on
free loopback ports, sample covers served by a loopback HTTP server, then the seed's own curl
command and Debian's awscli v2 `aws lambda invoke` against the function; the cut-outs it
reports must be in the store (fetched through presigned URLs from `sparkify presign`).

    function_e2e_test.py --sparkify PATH --cache DIR

A missing sample, model, curl or /usr/bin/aws is a failure, not a skip.
"""
import argparse
import functools
import http.server
import json
import os
import queue
import re
import secrets
import shutil
import signal
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time

AWS = "/usr/bin/aws"  # Debian's awscli v2, never the pyenv one first on PATH
CURL = "/usr/bin/curl"
BUCKET = "sparkify"
SAMPLES = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "camera.png", "coins.png",
           "clock_motion.png", "horse.png", "hubble_deep_field.jpg", "retina.jpg", "ihc.png",
           "logo.png"]
CUTOUT_KEY = re.compile(r"^cutouts/[0-9a-f]{64}-isnet-general-medium-fp32-512\.png$")


def check(condition, what, detail=""):
    if not condition:
        print("FAIL: %s\n%s" % (what, detail), file=sys.stderr)
        sys.exit(1)
    print("ok: %s" % what, flush=True)


def random_key(prefix):
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(20 - len(prefix)))


class Process:
    """A sparkify subcommand whose stdout's first matching line gives its port."""

    def __init__(self, name, cmd, env, log_path, pattern, timeout):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=self.log,
                                     stdin=subprocess.DEVNULL, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.proc.stdout] and None,
                         daemon=True).start()
        deadline = time.monotonic() + timeout
        self.line = None
        while self.line is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line and pattern.search(line):
                self.line = line.strip()
            elif self.proc.poll() is not None and lines.empty():
                check(False, "%s started" % name, self.tail())
            elif time.monotonic() > deadline:
                self.stop()
                check(False, "%s printed its listening line within %ss" % (name, timeout),
                      self.tail())
        self.port = int(pattern.search(self.line).group(1))

    def tail(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read()[-4000:].decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def serve_samples(directory):
    handler = functools.partial(QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class RuntimeApiRecorder(http.server.BaseHTTPRequestHandler):
    """A Lambda Runtime API that only records what a worker posts (its init error)."""
    posts = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        RuntimeApiRecorder.posts.append((self.path, self.headers.get(
            "Lambda-Runtime-Function-Error-Type"), body.decode("utf-8", "replace")))
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def check_worker_config_error(sparkify, env):
    """A bad variable in a Lambda worker's environment reaches /runtime/init/error, named."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApiRecorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api = "127.0.0.1:%d" % server.server_port
    cases = [  # (variables, flags, what the message must name, what it must not)
        ({"SPARKIFY_HUGE_PAGES": "yes"}, [], ["SPARKIFY_HUGE_PAGES", "--huge-pages", "yes"], []),
        ({"SPARKIFY_ALLOW_PRIVATE_FETCH": "maybe"}, [],
         ["SPARKIFY_ALLOW_PRIVATE_FETCH", "maybe"], []),
        # The flag's value, not the variable's, is the bad one: the variable is not blamed.
        ({"SPARKIFY_HUGE_PAGES": "off"}, ["--huge-pages", "yes"], ["--huge-pages", "yes"],
         ["SPARKIFY_HUGE_PAGES"]),
    ]
    try:
        for variables, flags, named, not_named in cases:
            RuntimeApiRecorder.posts = []
            worker_env = dict(env, AWS_LAMBDA_RUNTIME_API=api, **variables)
            r = subprocess.run([sparkify, "function"] + flags, env=worker_env,
                               capture_output=True, text=True, timeout=60)
            posts = RuntimeApiRecorder.posts
            what = "%s %s" % (variables, " ".join(flags))
            check(r.returncode == 1 and len(posts) == 1 and
                  posts[0][0] == "/2018-06-01/runtime/init/error" and
                  posts[0][1] == "Runtime.ConfigError", "a bad configuration in the Lambda "
                  "worker (%s): exit 1 after one /runtime/init/error (Runtime.ConfigError)" % what,
                  "%s\n%s" % (r, posts))
            answer = json.loads(posts[0][2])
            message = answer.get("errorMessage", "")
            check(answer.get("errorType") == "Runtime.ConfigError" and
                  all(n in message for n in named) and not any(n in message for n in not_named),
                  "the init error names %s%s" % (", ".join(named), " but not " +
                                                 ", ".join(not_named) if not_named else ""),
                  posts[0][2])
    finally:
        server.shutdown()


def children(pid):
    """Pids of the direct children of `pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def listening_tcp_ports(pids):
    """Ports of the TCP sockets in LISTEN state held by these processes."""
    inodes = set()
    for pid in pids:
        fd_dir = "/proc/%d/fd" % pid
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def check_private_runtime_api(function):
    """The worker reaches its Runtime API over a Unix socket in a 0700 directory: the function
    listens on no TCP port but its invoke endpoint, and another user cannot take invocations
    (before, any local process could GET /next on a loopback port and steal them)."""
    workers = children(function.proc.pid)
    check(len(workers) >= 1, "the function runs a worker process")
    ports = listening_tcp_ports([function.proc.pid] + workers)
    check(ports == {function.port}, "only the invoke port listens on TCP", str(ports))
    with open("/proc/%d/environ" % workers[0], "rb") as f:
        env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    for name in (b"OMP_NUM_THREADS", b"ONEDNN_MAX_CPU_ISA"):
        check(name in env, "the worker has the engine's %s" % name.decode(), str(sorted(env)))
    check(env.get(b"SPARKIFY_HUGE_PAGES") == b"off", "the worker has SPARKIFY_HUGE_PAGES=off",
          str(env.get(b"SPARKIFY_HUGE_PAGES")))
    check(b"hugetlb=1" not in env.get(b"GLIBC_TUNABLES", b""),
          "with it, no malloc in huge pages either", str(env.get(b"GLIBC_TUNABLES")))
    # Its model's buffers (weights, the plan's activations) are mappings advised 'nh'.
    advised, size_kb = [], 0
    with open("/proc/%d/smaps" % workers[0]) as f:
        for line in f:
            if line.startswith("Size:"):
                size_kb = int(line.split()[1])
            elif line.startswith("VmFlags:") and " nh" in line and size_kb >= 8 << 10:
                advised.append(size_kb)
    check(len(advised) >= 1, "the worker's large buffers are in 4 KiB pages (--huge-pages off)",
          str(advised))
    api = env.get(b"AWS_LAMBDA_RUNTIME_API", b"").decode()
    check(api.startswith("unix:/"), "the worker's AWS_LAMBDA_RUNTIME_API is a Unix socket", api)
    socket_path = api[5:]
    mode = os.stat(os.path.dirname(socket_path)).st_mode & 0o777
    check(mode == 0o700, "the runtime socket's directory is private (0700)", oct(mode))
    if os.geteuid() == 0 and shutil.which("setpriv"):
        # The attack as another user, with curl: GET /next on the worker's socket.
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CURL,
                            "-sS", "--max-time", "3", "--unix-socket", socket_path,
                            "http://localhost/2018-06-01/runtime/invocation/next"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 7 and "connect" in r.stderr,
              "another user's curl cannot connect to the Runtime API", r.stderr)


def curl_invoke(port, payload):
    """The seed's command: curl "http://127.0.0.1:PORT/2015-03-31/functions/function/invocations" -d '...'"""
    r = subprocess.run([CURL, "-sS", "-w", "\n%{http_code}",
                        "http://127.0.0.1:%d/2015-03-31/functions/function/invocations" % port,
                        "-d", payload], capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "curl ran", r.stderr)
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


def aws_invoke(port, workdir, key, secret, payload):
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "AWS_ACCESS_KEY_ID": key,
           "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": os.path.join(workdir, "no-config"),
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(workdir, "no-credentials"),
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": ""}
    out = os.path.join(workdir, "out.json")
    r = subprocess.run([AWS, "lambda", "invoke", "--endpoint-url", "http://127.0.0.1:%d" % port,
                        "--function-name", "function", "--cli-binary-format", "raw-in-base64-out",
                        "--cli-read-timeout", "300", "--payload", payload, out],
                       env=env, cwd=workdir, capture_output=True, text=True, timeout=320)
    check(r.returncode == 0, "aws lambda invoke exits 0", r.stdout + r.stderr)
    meta = json.loads(r.stdout)
    with open(out) as f:
        return meta, json.load(f)


def write_role_user(data):
    """A store user with temporary credentials (a session token), as Lambda's execution role
    has, and the template's function policy: GetObject and PutObject, no ListBucket (so a HEAD
    of a missing cut-out is 403, not 404); written before the store starts so no reload has to
    be waited for."""
    user_dir = os.path.join(data, "iam", "users", "fnrole")
    os.makedirs(user_dir)
    creds = {"access_key_id": random_key("SPKROLE"), "secret_access_key": secrets.token_urlsafe(30),
             "session_token": "FwoGZXIvYXdzE" + secrets.token_urlsafe(60)}
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": ["arn:aws:s3:::%s/*" % BUCKET]}]}
    path = os.path.join(user_dir, "credentials.json")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        json.dump(creds, f)
    with open(os.path.join(user_dir, "policy.json"), "w") as f:
        json.dump(policy, f)
    return creds


def presign(sparkify, env, endpoint, key, method="GET"):
    r = subprocess.run([sparkify, "presign", "s3://%s/%s" % (BUCKET, key), "--endpoint", endpoint,
                        "--expires", "300", "--method", method],
                       env=env, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "presign %s %s" % (method, key), r.stderr)
    return r.stdout.strip()


def check_collage_answer(answer, sample_port, what):
    check(answer.get("statusCode") == 200, "%s: statusCode 200" % what, json.dumps(answer)[:2000])
    body = answer["body"]
    check(isinstance(body, dict), "%s: body is an object, as the seed's" % what)
    for field in ("cropped_image_data", "uncropped_image_data", "dominant_color",
                  "complementary_color", "errors"):
        check(field in body, "%s: body has %s" % (what, field))
    dominant, complementary = body["dominant_color"], body["complementary_color"]
    check(len(dominant) == 3 and [255 - c for c in dominant] == complementary,
          "%s: complementary colour is 255 - dominant" % what, str((dominant, complementary)))
    covers = body["cropped_image_data"] + body["uncropped_image_data"]
    check(len(covers) == 9, "%s: nine covers in the collage" % what, str(len(covers)))
    check(len(body["cropped_image_data"]) >= 3, "%s: cut-outs among them" % what)
    for entry in body["cropped_image_data"]:
        check(CUTOUT_KEY.match(entry["key"]) is not None, "%s: cut-out key %s" % (what, entry["key"]))
        check(entry["foreground_share"] >= 0.10, "%s: cropped share >= 0.10" % what)
        for field in ("rank", "colors", "score", "source"):
            check(field in entry, "%s: cut-out entry has %s" % (what, field))
    for entry in body["uncropped_image_data"]:
        check(entry["url"].startswith("http://127.0.0.1:%d/" % sample_port),
              "%s: uncropped entry keeps its url" % what, str(entry))
    errors = body["errors"]
    check(len(errors) == 1 and errors[0]["url"].endswith("/truncated.jpg")
          and errors[0]["stage"] == "decode" and "truncated" in errors[0]["reason"],
          "%s: the truncated JPEG is reported, the rest succeed" % what, json.dumps(errors))
    return body


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sparkify", required=True)
    parser.add_argument("--cache", required=True)
    args = parser.parse_args()
    samples_dir = os.path.join(args.cache, "samples")
    manifest = os.path.join(args.cache, "models", "isnet-general-medium", "manifest.json")
    for path in [manifest, AWS, CURL] + [os.path.join(samples_dir, s) for s in SAMPLES]:
        check(os.path.exists(path), "%s exists (scripts/setup.sh provides it)" % path)

    work = tempfile.mkdtemp(prefix="sparkify-fn-e2e-")
    root_key, root_secret = random_key("SPKROOT"), secrets.token_urlsafe(30)
    base_env = {"PATH": "/usr/bin:/bin", "HOME": work, "SPARKIFY_CACHE": args.cache,
                "SPARKIFY_ROOT_ACCESS_KEY_ID": root_key,
                "SPARKIFY_ROOT_SECRET_ACCESS_KEY": root_secret}
    data = os.path.join(work, "data")
    role = write_role_user(data)
    started = []
    samples = serve_samples(samples_dir)
    try:
        store = Process("sparkify store",
                        [args.sparkify, "store", "--data", data, "--listen", "127.0.0.1:0",
                         "--create-bucket", BUCKET],
                        base_env, os.path.join(work, "store.log"),
                        re.compile(r"listening on http://127\.0\.0\.1:(\d+)"), 30)
        started.append(store)
        endpoint = "http://127.0.0.1:%d" % store.port
        t0 = time.monotonic()
        # The engine's knobs (README) reach the worker: values that change nothing here, and
        # its large buffers in 4 KiB pages (the cut-outs below run that way).
        fn_env = dict(base_env, AWS_ACCESS_KEY_ID=root_key, AWS_SECRET_ACCESS_KEY=root_secret,
                      OMP_NUM_THREADS=str(len(os.sched_getaffinity(0))), ONEDNN_MAX_CPU_ISA="ALL",
                      SPARKIFY_HUGE_PAGES="off")
        function = Process("sparkify function",
                           [args.sparkify, "function", "--listen", "127.0.0.1:0", "--size", "512",
                            "--bucket", BUCKET, "--s3-endpoint", endpoint, "--allow-private-fetch",
                            "--iam-data", data, "--timeout", "240"],
                           fn_env, os.path.join(work, "function.log"),
                           re.compile(r"sparkify function listening on http://127\.0\.0\.1:(\d+)"),
                           150)
        started.append(function)
        check("init failed" not in function.line, "the worker's init succeeded", function.line)
        print("function ready in %.1f s" % (time.monotonic() - t0))
        check_private_runtime_api(function)

        sample_port = samples.server_address[1]
        urls = ["http://127.0.0.1:%d/%s" % (sample_port, s) for s in SAMPLES + ["truncated.jpg"]]
        payload = json.dumps({"body": {"urls": urls}})

        t0 = time.monotonic()
        code, text = curl_invoke(function.port, payload)
        cold = time.monotonic() - t0
        check(code == 200, "seed's curl: HTTP 200", text[:2000])
        body = check_collage_answer(json.loads(text), sample_port, "seed's curl")
        print("cold collage (13 covers, %d cut-outs at 512): %.1f s"
              % (body["stats"]["segmented"], cold))
        check(body["stats"]["segmented"] == len(body["cropped_image_data"]) +
              sum(1 for e in body["uncropped_image_data"] if "foreground_share" in e),
              "every cut-out of the first run came from the model")

        # Every cut-out is in the store: GET it through a presigned URL.
        presign_env = dict(base_env, AWS_ACCESS_KEY_ID=root_key, AWS_SECRET_ACCESS_KEY=root_secret)
        for entry in body["cropped_image_data"]:
            url = presign(args.sparkify, presign_env, endpoint, entry["key"])
            png = os.path.join(work, "cutout.png")
            g = subprocess.run([CURL, "-sS", "-o", png, "-w", "%{http_code} %{content_type}",
                                url], capture_output=True, text=True, timeout=30)
            with open(png, "rb") as f:
                magic = f.read(8)
            check(g.stdout == "200 image/png" and magic == b"\x89PNG\r\n\x1a\n",
                  "cut-out %s is in the store (presigned GET)" % entry["key"][:24], g.stdout)

        # awscli, signed with the store's root key: the same request is served from the cache.
        t0 = time.monotonic()
        meta, answer = aws_invoke(function.port, work, root_key, root_secret, payload)
        warm = time.monotonic() - t0
        check(meta.get("StatusCode") == 200 and "FunctionError" not in meta,
              "awscli: StatusCode 200, no FunctionError", json.dumps(meta))
        again = check_collage_answer(answer, sample_port, "awscli")
        check(again["stats"]["segmented"] == 0 and again["stats"]["cache_hits"] >= 3,
              "awscli: second request skips the model (HEAD hits)", json.dumps(again["stats"]))
        check([e["key"] for e in again["cropped_image_data"]] ==
              [e["key"] for e in body["cropped_image_data"]], "awscli: same collage, same keys")
        print("warm collage via awscli: %.2f s (handler %.0f ms)"
              % (warm, again["stats"]["total_ms"]))

        # API Gateway form through awscli: body as a JSON string; a bad one is a 400.
        apigw = json.dumps({"requestContext": {}, "isBase64Encoded": False,
                            "body": json.dumps({"op": "segment", "urls": urls[1:2]})})
        meta, answer = aws_invoke(function.port, work, root_key, root_secret, apigw)
        check(answer.get("statusCode") == 200 and isinstance(answer.get("body"), str),
              "API Gateway event: body is a JSON string", json.dumps(answer)[:500])
        inner = json.loads(answer["body"])
        check(len(inner["cropped_image_data"]) == 1 and inner["op"] == "segment",
              "API Gateway event: the cat is cut out", answer["body"][:500])
        code, text = curl_invoke(function.port, '{"body": {"urls": [42]}}')
        bad = json.loads(text)
        check(code == 200 and bad["statusCode"] == 400 and
              bad["body"]["message"] == "urls[0] must be a string, got number",
              "bad event: statusCode 400 saying what is wrong", text)

        # One JSON log line per invocation, without URLs.
        with open(function.log_path, encoding="utf-8", errors="replace") as f:
            lines = [l for l in f if l.startswith("{") and '"request_id"' in l]
        check(len(lines) >= 4, "one JSON log line per invocation", "".join(lines))
        check(all("127.0.0.1:%d" % sample_port not in l for l in lines), "no URLs in the logs")
        function.stop()
        started.remove(function)

        # Temporary credentials, as Lambda's execution role gives: the session token is sent.
        put = presign(args.sparkify, presign_env, endpoint, "covers/coffee.png", "PUT")
        r = subprocess.run([CURL, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T",
                            os.path.join(samples_dir, "coffee.png"), put],
                           capture_output=True, text=True, timeout=30)
        check(r.stdout == "200", "covers/coffee.png uploaded", r.stdout + r.stderr)
        # Started without --allow-private-fetch: the loopback URL must be refused.
        key_payload = json.dumps({"op": "segment", "urls": urls[:1], "keys": ["covers/coffee.png"]})
        for with_token in (True, False):
            env = dict(base_env, AWS_ACCESS_KEY_ID=role["access_key_id"],
                       AWS_SECRET_ACCESS_KEY=role["secret_access_key"])
            if with_token:
                env["AWS_SESSION_TOKEN"] = role["session_token"]
            fn = Process("sparkify function (role credentials)",
                         [args.sparkify, "function", "--listen", "127.0.0.1:0", "--size", "512",
                          "--bucket", BUCKET, "--s3-endpoint", endpoint],
                         env, os.path.join(work, "function-role.log"),
                         re.compile(r"sparkify function listening on http://127\.0\.0\.1:(\d+)"),
                         150)
            started.append(fn)
            code, text = curl_invoke(fn.port, key_payload)
            answer = json.loads(text)
            errors = answer["body"]["errors"]
            check(errors[0]["stage"] == "fetch" and "127.0.0.1 is a loopback address" in
                  errors[0]["reason"], "without --allow-private-fetch a loopback URL is refused",
                  text[:800])
            if with_token:
                check(answer["statusCode"] == 200 and
                      len(answer["body"]["cropped_image_data"]) == 1,
                      "session credentials: the key is read and its cut-out stored", text[:800])
            else:
                check(answer["statusCode"] == 422 and errors[1]["stage"] == "read" and
                      "InvalidToken" in errors[1]["reason"],
                      "without the session token the store refuses the role's key", text[:800])
            fn.stop()
            started.remove(fn)
            if not with_token:  # Lambda's "success", but the request was refused: a warning
                with open(os.path.join(work, "function-role.log")) as f:
                    lines = [json.loads(l) for l in f if l.startswith("{")]
                refused = [l for l in lines if l.get("status") == 422]
                check(refused and all(l["level"] == "warning" for l in refused),
                      "the 422 invocation's log line is a warning", str(refused)[:800])

        # A bucket the function cannot use: it says so at once, and runs no model.
        cover_payload = json.dumps({"op": "segment", "urls": urls[1:3]})
        for what, fn_endpoint, secret, expected in (
                ("a wrong secret key", endpoint, "wrong" + root_secret, "SignatureDoesNotMatch"),
                ("an unreachable store", "http://127.0.0.1:9", root_secret, "127.0.0.1 port 9")):
            env = dict(base_env, AWS_ACCESS_KEY_ID=root_key, AWS_SECRET_ACCESS_KEY=secret)
            fn = Process("sparkify function (%s)" % what,
                         [args.sparkify, "function", "--listen", "127.0.0.1:0", "--size", "512",
                          "--bucket", BUCKET, "--s3-endpoint", fn_endpoint,
                          "--allow-private-fetch"],
                         env, os.path.join(work, "function-badstore.log"),
                         re.compile(r"sparkify function listening on http://127\.0\.0\.1:(\d+)"),
                         150)
            started.append(fn)
            t0 = time.monotonic()
            code, text = curl_invoke(fn.port, cover_payload)
            took = time.monotonic() - t0
            answer = json.loads(text)
            check(answer.get("statusCode") == 502 and
                  answer["body"]["error"] == "StoreUnavailable" and
                  "cannot read the bucket s3://sparkify" in answer["body"]["message"] and
                  expected in answer["body"]["message"],
                  "%s: 502 StoreUnavailable naming the cause" % what, text[:800])
            log = open(os.path.join(work, "function-badstore.log")).read()
            check('"status":502' in log,
                  "%s: the answer is logged as a 502" % what, log[-800:])
            check(took < 20, "%s: answered in %.1f s, before any model run" % (what, took))
            fn.stop()
            started.remove(fn)

        # A missing model: the worker reports its init error, the endpoint stays up and says so.
        fn = Process("sparkify function (no model)",
                     [args.sparkify, "function", "--listen", "127.0.0.1:0", "--bucket", BUCKET,
                      "--s3-endpoint", endpoint, "--model", os.path.join(work, "none.json")],
                     fn_env, os.path.join(work, "function-nomodel.log"),
                     re.compile(r"sparkify function listening on http://127\.0\.0\.1:(\d+)"), 60)
        started.append(fn)
        check("worker init failed" in fn.line and "none.json" in fn.line,
              "missing model: the listening line says the init failed", fn.line)
        r = subprocess.run([CURL, "-sS", "-D", "-", "http://127.0.0.1:%d/2015-03-31/functions/"
                            "function/invocations" % fn.port, "-d", payload],
                           capture_output=True, text=True, timeout=60)
        check("X-Amz-Function-Error: Unhandled" in r.stdout and "Runtime.ModelError" in r.stdout,
              "missing model: invokes answer the init error", r.stdout)

        check_worker_config_error(args.sparkify, fn_env)

        # `sparkify segment`: batch cut-outs, JSON summary, non-zero exit when one fails.
        notes = os.path.join(work, "notes.txt")
        with open(notes, "w") as f:
            f.write("not an image\n")
        out_dir = os.path.join(work, "cutouts")
        r = subprocess.run([args.sparkify, "segment", os.path.join(samples_dir, "chelsea.png"),
                            os.path.join(samples_dir, "truncated.jpg"), notes,
                            os.path.join(samples_dir, "rocket.jpg"), "-o", out_dir,
                            "--size", "512", "--masks"], env=base_env, capture_output=True,
                           text=True, timeout=120)
        check(r.returncode == 1, "sparkify segment exits 1 when an input fails", r.stderr)
        summary = json.loads(r.stdout)
        results = summary["results"]
        check(summary["succeeded"] == 2 and summary["failed"] == 2 and len(results) == 4,
              "segment summary counts", r.stdout)
        check(results[0]["cropped"] and 0.1 <= results[0]["foreground_share"] <= 1 and
              os.path.exists(results[0]["output"]), "segment: the cat is cut out", r.stdout)
        with open(results[0]["output"], "rb") as f:
            cut_size = list(struct.unpack(">II", f.read(24)[16:24]))
        check((results[0]["width"], results[0]["height"]) == (451, 300) and
              results[0]["cutout_size"] == cut_size and cut_size[0] <= 451 and cut_size[1] <= 300,
              "segment: the image's size, and the cropped PNG's as cutout_size", r.stdout)
        check("truncated" in results[1]["error"] and "error" in results[2],
              "segment: the bad inputs say why", r.stdout)
        mask = results[0].get("mask", "")
        check(mask == os.path.join(out_dir, "chelsea.mask.png") and os.path.exists(mask),
              "segment --masks: the mask beside the cut-out", r.stdout)
        with open(mask, "rb") as f:
            head = f.read(26)
        width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
        check(head[:8] == b"\x89PNG\r\n\x1a\n" and (width, height) == (451, 300) and
              (depth, colour) == (8, 0), "segment --masks: an 8-bit grey PNG of the image's size",
              str((width, height, depth, colour)))
        check("segment 1/4" in r.stderr, "segment: plain progress lines off a terminal", r.stderr)
        # Cut out as the function decides: the share reaches the threshold AND the mask is a
        # confident subject. The rocket's mask at 512 covers enough but is no subject (the
        # gantry, the smoke): its PNG is written, and it is not called cropped.
        rocket = results[3]
        check(results[0]["mask_quality"] >= 0.5 and rocket["foreground_share"] >= 0.1 and
              rocket["mask_quality"] < 0.5 and not rocket["cropped"] and
              os.path.exists(rocket["output"]),
              "segment: cropped needs a confident mask, as in the function", r.stdout)
    finally:
        for p in reversed(started):
            p.stop()
        samples.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
