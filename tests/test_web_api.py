"""The web app's API against a real `sparkify up` (store, function, web) on loopback.

One `sparkify up` (model size 256, private fetches allowed so a loopback image server works)
serves most tests; a loopback fake Spotify (fake_spotify.py) is configured through the
SPOTIFY_* variables. Function invocations are counted from the REPORT lines the function
logs (relayed by `sparkify up` on its stderr).
"""
import base64
import http.client
import http.cookiejar
import http.server
import functools
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_spotify import FakeSpotify, track  # noqa: E402
from support.clients import boto3_client, error_code, isolate_aws_config  # noqa: E402
from support.store import TempDir, _die_with_parent, clean_env, poll, sparkify_binary  # noqa: E402

CACHE = os.environ.get("SPARKIFY_CACHE") or os.path.expanduser("~/.cache/sparkify")
SAMPLES = os.path.join(CACHE, "samples")
READY = re.compile(r"sparkify up ready: web (\S+) function (\S+) store (\S+)")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


class Up:
    """One `sparkify up` process tree."""

    def __init__(self, data_dir, log_path, args=(), env=None):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        cmd = [sparkify_binary(), "up", "--data", data_dir, "--function-port", "0",
               "--store-port", "0", "--model-size", "256"] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log,
                                     stdin=subprocess.DEVNULL, env=env or clean_env(),
                                     preexec_fn=_die_with_parent)
        self.stdout = []
        self.web = self.function = self.store = None
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode()
            self.stdout.append(line)
            m = READY.search(line)
            if m:
                self.web, self.function, self.store = m.groups()
                break
        if self.web is None:
            self.proc.wait(30)
            raise RuntimeError("sparkify up did not start:\n" + self.log_text()[-4000:])
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for raw in iter(self.proc.stdout.readline, b""):
            self.stdout.append(raw.decode())

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def reports(self):
        return self.log_text().count("[function] REPORT RequestId:")

    def stop(self, sig=signal.SIGINT, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.proc.stdout.close()
        return self.proc.returncode


def request(method, url, body=None, headers=None, opener=None):
    """(status, headers, body bytes), for any status."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener(NoRedirect)).open(req, timeout=120) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def api(method, url, doc=None, opener=None):
    body = json.dumps(doc).encode() if doc is not None else None
    headers = {"Content-Type": "application/json"} if doc is not None else {}
    status, headers, raw = request(method, url, body, headers, opener)
    return status, (json.loads(raw) if raw else None), headers


def multipart(files):
    boundary = uuid.uuid4().hex
    out = b""
    for name, data in files:
        out += (b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" % (boundary.encode(), name.encode()))
        out += data + b"\r\n"
    out += b"--%s--\r\n" % boundary.encode()
    return out, {"Content-Type": "multipart/form-data; boundary=" + boundary}


def form_post(url, fields, filename, data, origin=None):
    """POSTs an S3 POST Object form as a browser does: the fields in order, then the file."""
    boundary = uuid.uuid4().hex.encode()
    out = b""
    for name, value in fields:
        out += (b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                % (boundary, name.encode(), value.encode()))
    out += (b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" % (boundary, filename.encode()))
    out += data + b"\r\n--%s--\r\n" % boundary
    headers = {"Content-Type": "multipart/form-data; boundary=" + boundary.decode()}
    if origin:
        headers["Origin"] = origin
    return request("POST", url, out, headers)


def jpeg_with_a_long_header(jpeg, extra):
    """The JPEG with APP2 segments holding `extra` bytes put before its frame header, as large
    ICC profiles are: its size then lies past the first 64 KiB."""
    assert jpeg[:2] == b"\xff\xd8"
    segments = b""
    while extra > 0:
        n = min(extra, 65000)
        segments += b"\xff\xe2" + (n + 2).to_bytes(2, "big") + b"\x00" * n
        extra -= n
    return jpeg[:2] + segments + jpeg[2:]


def sample(name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        return f.read()


def png_size(data):
    assert data.startswith(PNG_MAGIC), data[:16]
    return struct.unpack(">II", data[16:24])


class ImageServer:
    """The sample images over http on loopback; records the paths asked for."""

    def __init__(self):
        self.paths = []
        self.gates = {}  # path -> threading.Event: its answer waits until the event is set
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.paths.append(self.path)
                gate = server.gates.get(self.path)
                if gate is not None:
                    gate.wait(60)
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=SAMPLES))
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name):
        return "http://127.0.0.1:%d/%s" % (self.httpd.server_address[1], name)

    def hold(self, path):
        """Answers for `path` (with its query) wait until the returned event is set."""
        self.gates[path] = threading.Event()
        return self.gates[path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class WebApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir("sparkify-web-")
        isolate_aws_config(cls.tmp.path)
        cls.images = ImageServer()
        small, large = cls.images.url("coins.png"), cls.images.url("chelsea.png")
        cls.spotify = FakeSpotify("client-1", "secret-1", [
            track("a", "Album A", [(small, 64), (large, 640)]),
            track("b", "Album B", [(cls.images.url("coffee.png"), 640)]),
            track("a", "Album A", [(small, 64), (large, 640)]),  # same album again
            track("c", "Album C", [(cls.images.url("rocket.jpg"), 300)]),
        ])
        cls.web_port = free_port()
        env = clean_env(SPOTIFY_CLIENT_ID="client-1", SPOTIFY_CLIENT_SECRET="secret-1",
                        SPOTIFY_AUTH_URL=cls.spotify.url + "/authorize",
                        SPOTIFY_TOKEN_URL=cls.spotify.url + "/api/token",
                        SPOTIFY_API_URL=cls.spotify.url, SPARKIFY_CACHE=CACHE)
        cls.data = cls.tmp.join("data")
        cls.up = Up(cls.data, cls.tmp.join("up.log"),
                    ["--web-port", str(cls.web_port), "--allow-private-fetch"], env)
        cls.base = cls.up.web

    @classmethod
    def tearDownClass(cls):
        code = cls.up.stop()
        cls.spotify.stop()
        cls.images.stop()
        cls.tmp.cleanup()
        if code != 0:
            raise AssertionError("sparkify up exited %s after SIGINT" % code)

    # --- helpers ---------------------------------------------------------------------------

    def follow(self, job_id, base=None):
        """Reads the job's event stream (on `base`, default `up`'s web app) to its end; returns
        the states seen (job JSON, with the event's id as "_id")."""
        port = urllib.parse.urlsplit(base).port if base else self.web_port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=180)
        conn.request("GET", "/api/jobs/%s/events" % job_id)
        res = conn.getresponse()
        self.assertEqual(res.status, 200)
        self.assertTrue(res.getheader("Content-Type").startswith("text/event-stream"))
        states, event = [], {}
        while True:
            line = res.readline()
            if not line:
                break
            line = line.decode().rstrip("\n")
            if line == "":
                if event.get("event") == "job":
                    states.append(dict(json.loads(event["data"]), _id=event.get("id", "0")))
                event = {}
            elif not line.startswith(":") and ":" in line:
                k, v = line.split(":", 1)
                event[k] = v[1:] if v.startswith(" ") else v
        conn.close()
        self.assertTrue(states, "no job events")
        self.assertIn(states[-1]["state"], ("done", "failed"))
        return states

    def upload_job(self, names):
        body, headers = multipart([(n, sample(n)) for n in names])
        status, doc, hdrs = (lambda r: (r[0], json.loads(r[2]), r[1]))(
            request("POST", self.base + "/api/jobs", body, headers))
        self.assertEqual(status, 202, doc)
        self.assertEqual(hdrs["Location"], "/api/jobs/" + doc["id"])
        return doc

    def check_signed(self, url):
        """A presigned GET URL of the store: it works; without its query it answers 403."""
        self.assertTrue(url.startswith(self.up.store + "/sparkify/"), url)
        self.assertIn("X-Amz-Signature=", url)
        status, _, data = request("GET", url)
        self.assertEqual(status, 200, url)
        status, _, _ = request("GET", url.split("?")[0])
        self.assertEqual(status, 403)
        return data

    def marker_invoke(self):
        """The seed's curl command (unsigned, from loopback), verbatim but for the port; waits
        until its REPORT line is in the log, so every earlier invocation is counted too."""
        out = subprocess.run(
            ["curl", "-s", "-D", "-", self.up.function.replace("127.0.0.1", "localhost") +
             "/2015-03-31/functions/function/invocations",
             "-d", json.dumps({"body": {"urls": [self.images.url("coffee.png")]}})],
            check=True, capture_output=True, timeout=120).stdout.decode()
        self.assertIn("200 OK", out.splitlines()[0])
        self.assertIn("dominant_color", out)
        request_id = re.search(r"(?i)x-amzn-requestid: (\S+)", out).group(1)
        poll(lambda: ("REPORT RequestId: " + request_id) in self.up.log_text(), 30,
             what="the marker's REPORT line")

    # --- tests -----------------------------------------------------------------------------

    def test_page_config_and_security_headers(self):
        status, headers, body = request("GET", self.base + "/")
        self.assertEqual(status, 200)
        self.assertIn(b"<html", body.lower())
        csp = headers["Content-Security-Policy"]
        self.assertIn("img-src 'self' %s data: blob:" % self.up.store, csp)
        for part in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                     "base-uri 'none'", "form-action 'self'", "connect-src 'self'"):
            self.assertIn(part, csp)
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(headers["Referrer-Policy"], "no-referrer")
        status, headers, _ = request("GET", self.base + "/static/app.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/javascript"))
        status, doc, headers = api("GET", self.base + "/static/nope.js")
        self.assertEqual((status, doc["error"]["code"]), (404, "not_found"))
        self.assertIn("Content-Security-Policy", headers)
        status, doc, _ = api("GET", self.base + "/api/config")
        self.assertEqual(status, 200)
        self.assertEqual(doc["max_files"], 30)
        self.assertEqual(doc["url_expires_seconds"], 3600)
        self.assertEqual(doc["share_link_seconds"], 7 * 24 * 3600)
        self.assertTrue(doc["spotify"])
        self.assertTrue(doc["samples"])
        self.assertFalse(doc["spotify_connected"])

    def test_upload_collage_regenerate_share_download(self):
        job = self.upload_job(["astronaut.png", "chelsea.png", "coffee.png"])
        self.assertEqual([c["name"] for c in job["covers"]],
                         ["astronaut.png", "chelsea.png", "coffee.png"])
        states = self.follow(job["id"])
        final = states[-1]
        self.assertEqual(final["state"], "done", final)
        seen = {c["state"] for s in states for c in s["covers"]}
        self.assertIn("done", seen)
        collage = final["collage"]
        self.assertEqual(collage["size"], 1080)
        self.assertEqual(len(collage["items"]), 3)
        self.assertTrue(any(i["kind"] == "cutout" for i in collage["items"]))
        for item in collage["items"]:
            data = self.check_signed(item["url"])
            self.assertTrue(data.startswith(PNG_MAGIC) or data[:3] == b"\xff\xd8\xff")
            self.assertTrue(item["alt"])
            if item["kind"] == "cutout":
                # Cropped to the subject, and chosen for a confident mask.
                self.assertEqual(png_size(data), (item["source_width"], item["source_height"]))
                self.assertGreaterEqual(item["quality"], 0.5)
        self.assertEqual(len(collage["dominant_color"]), 3)
        self.assertTrue(collage["palette"])

        # Regenerate: a new layout of the same images, and no new invocation.
        self.marker_invoke()
        before = self.up.reports()
        status, again, _ = api("POST", self.base + "/api/jobs/%s/regenerate" % job["id"])
        self.assertEqual(status, 200, again)
        self.assertNotEqual(again["seed"], collage["seed"])
        place = lambda c: sorted((i["rank"], i["x"], i["y"], i["rotation"]) for i in c["items"])
        self.assertNotEqual(place(again), place(collage))
        self.assertEqual(sorted(i["url"].split("?")[0] for i in again["items"]),
                         sorted(i["url"].split("?")[0] for i in collage["items"]))
        self.marker_invoke()
        self.assertEqual(self.up.reports(), before + 1, "regenerate invoked the function")
        status, now, _ = api("GET", self.base + "/api/jobs/" + job["id"])
        self.assertEqual(now["collage"]["seed"], again["seed"])

        # Share: a link on the app's own origin to a PNG of the current layout, whose page
        # signs a fresh image URL at every view; download: the same PNG, attached.
        status, shared, _ = api("POST", self.base + "/api/jobs/%s/share" % job["id"])
        self.assertEqual(status, 200, shared)
        self.assertTrue(shared["url"].startswith(self.base + "/s/"), shared)
        self.assertEqual(shared["url"], self.base + shared["path"])
        self.assertEqual(shared["image"], shared["url"] + ".png")
        left = (time.mktime(time.strptime(shared["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
                - time.mktime(time.gmtime()))
        self.assertAlmostEqual(left, 7 * 24 * 3600, delta=120)
        status, headers, page = request("GET", shared["url"])
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        page = page.decode()
        self.assertIn('<meta property="og:image" content="%s">' % shared["image"], page)
        image = re.search(r'<img id="shared-collage" src="([^"]+)"', page).group(1)
        image = image.replace("&amp;", "&")
        self.assertRegex(image, r"/sparkify/collages/[0-9a-f]{32}\.png\?")
        # The job id is a key to the job's API: neither the link nor what it names shows it.
        self.assertNotIn(job["id"], image)
        payload = shared["path"][len("/s/"):].split(".")[0]
        payload = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        self.assertRegex(payload, r"^collages/[0-9a-f]{32}\.png\|\d+$")
        self.assertNotIn(job["id"], payload)
        self.assertEqual(png_size(self.check_signed(image)), (1080, 1080))
        status, headers, _ = request("GET", shared["image"])
        self.assertEqual(status, 302)
        self.assertEqual(png_size(self.check_signed(headers["Location"])), (1080, 1080))
        # A forged or cut link is a page in words (and a JSON error for the image), never XML.
        token = shared["path"][len("/s/"):]
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        for bad in (forged, token[:20], "nonsense"):
            status, headers, body = request("GET", self.base + "/s/" + bad)
            self.assertEqual(status, 404, bad)
            self.assertIn(b"No such collage", body)
            status, _, body = request("GET", self.base + "/s/" + bad + ".png")
            self.assertEqual((status, json.loads(body)["error"]["code"]), (404, "not_found"))
        status, headers, _ = request("GET", self.base + "/api/jobs/%s/download" % job["id"])
        self.assertEqual(status, 303)
        location = headers["Location"]
        self.assertIn("response-content-disposition=attachment", location)
        status, headers, data = request("GET", location)
        self.assertEqual(status, 200)
        self.assertIn("attachment", headers["Content-Disposition"])
        self.assertEqual(png_size(data), (1080, 1080))

    def test_share_links_with_a_public_url_and_a_share_secret(self):
        with open(os.path.join(self.data, "store", "iam", "users", "web",
                               "credentials.json")) as f:
            web = json.load(f)
        secret_file = self.tmp.join("share-secret")
        with open(secret_file, "w") as f:
            f.write("a share secret of our own\n")
        env = clean_env(AWS_ACCESS_KEY_ID=web["access_key_id"],
                        AWS_SECRET_ACCESS_KEY=web["secret_access_key"],
                        SPARKIFY_SHARE_SECRET_FILE=secret_file)
        args = [sparkify_binary(), "web", "--listen", "127.0.0.1:0", "--s3-endpoint",
                self.up.store, "--function-url", self.up.function, "--samples", "none"]
        for bad, says in ((["--public-url", "https://collage.example/app"], b"no path"),
                          (["--public-url", "collage.example"], b"http(s)://HOST")):
            r = subprocess.run(args + bad, env=env, capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(says, r.stderr)
        r = subprocess.run(args, env=dict(env, SPARKIFY_SHARE_SECRET="short"),
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"share secret must be at least 16 characters", r.stderr)
        # A key the store does not know, or the wrong secret: said at start, not as every
        # visitor's failed covers. (A bucket the web user may not read answers AccessDenied,
        # as a missing key does to it: not a reason to stop.)
        for bad_env, says in ((dict(env, AWS_ACCESS_KEY_ID="AKIDNOBODYHASTHIS000"),
                               b"cannot be used with the web app's key: InvalidAccessKeyId"),
                              (dict(env, AWS_SECRET_ACCESS_KEY="not-the-secret"),
                               b"SignatureDoesNotMatch"),
                              (dict(env, AWS_REGION="eu-west-1"),
                               b"AuthorizationHeaderMalformed")):
            r = subprocess.run(args, env=bad_env, capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(says, r.stderr)
        proc = subprocess.Popen(args + ["--public-url", "https://collage.example"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        try:
            base = re.search(r"listening on (\S+)", proc.stdout.readline().decode()).group(1)
            body, headers = multipart([("coffee.png", sample("coffee.png"))])
            status, _, raw = request("POST", base + "/api/jobs", body, headers)
            self.assertEqual(status, 202, raw)
            job_id = json.loads(raw)["id"]
            poll(lambda: api("GET", base + "/api/jobs/" + job_id)[1]["state"] == "done", 120,
                 what="the job on the second web app")
            status, shared, _ = api("POST", base + "/api/jobs/%s/share" % job_id)
            self.assertEqual(status, 200, shared)
            self.assertEqual(shared["url"], "https://collage.example" + shared["path"])
            self.assertFalse(shared["local"])
            status, _, page = request("GET", base + shared["path"])
            self.assertEqual(status, 200)
            self.assertIn(b'content="https://collage.example/s/', page)
            # Sealed with its own secret: the other web app (the S3 key's) does not honour it.
            status, _, page = request("GET", self.base + shared["path"])
            self.assertEqual(status, 404)
            self.assertIn(b"No such collage", page)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(30), 0)
            proc.stdout.close()
        # On localhost the link says it opens here only.
        job = self.upload_job(["coins.png"])
        self.assertEqual(self.follow(job["id"])[-1]["state"], "done")
        status, shared, _ = api("POST", self.base + "/api/jobs/%s/share" % job["id"])
        self.assertTrue(shared["local"], shared)

    def web_replica(self, web_key=True, extra_args=(), **env):
        """Another `sparkify web` on the same bucket and function with the web key (unless
        not `web_key`) and the Spotify settings; (process, base URL). The caller stops it."""
        with open(os.path.join(self.data, "store", "iam", "users", "web",
                               "credentials.json")) as f:
            web = json.load(f)
        if not web_key:
            web = {"access_key_id": None, "secret_access_key": None}
        env = clean_env(AWS_ACCESS_KEY_ID=web["access_key_id"],
                        AWS_SECRET_ACCESS_KEY=web["secret_access_key"],
                        SPOTIFY_CLIENT_ID="client-1", SPOTIFY_CLIENT_SECRET="secret-1",
                        SPOTIFY_AUTH_URL=self.spotify.url + "/authorize",
                        SPOTIFY_TOKEN_URL=self.spotify.url + "/api/token",
                        SPOTIFY_API_URL=self.spotify.url,
                        # Sign-ins start on the first web app (any port serves the callback).
                        SPOTIFY_REDIRECT_URI=self.base + "/auth/spotify/callback", **env)
        proc = subprocess.Popen(
            [sparkify_binary(), "web", "--listen", "127.0.0.1:0", "--s3-endpoint", self.up.store,
             "--function-url", self.up.function, "--samples", "none", "--allow-private-fetch",
             *extra_args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        line = proc.stdout.readline().decode()
        started = re.search(r"listening on (\S+)", line)
        if not started:
            proc.wait(30)
            self.fail("the replica did not start: %s" % proc.stderr.read().decode()[-2000:])
        return proc, started.group(1)

    def test_a_replica_on_a_task_role_renews_its_key_and_believes_only_its_proxy(self):
        """As on ECS: no key in the environment, the role's temporary key from the container
        credentials endpoint (here a fake one, the only part that cannot exist here), renewed
        when it nears its end; behind a load balancer named by --trusted-proxies."""
        users = os.path.join(self.data, "store", "iam", "users")
        role_dir = os.path.join(users, "web-task-role")
        os.makedirs(role_dir, exist_ok=True)
        with open(os.path.join(users, "web", "policy.json")) as f:
            policy = f.read()
        with open(os.path.join(role_dir, "policy.json"), "w") as f:
            f.write(policy)

        def iso(seconds_from_now):
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))

        def key(name):
            return {"AccessKeyId": "ASIA" + name + uuid.uuid4().hex[:12].upper(),
                    "SecretAccessKey": uuid.uuid4().hex + uuid.uuid4().hex,
                    "Token": "token-" + name + "-" + uuid.uuid4().hex}

        def grant(k):  # what STS does for the role: the store now knows this key, only this one
            path = os.path.join(role_dir, "credentials.json")
            with open(path + ".tmp", "w") as f:
                json.dump({"access_key_id": k["AccessKeyId"],
                           "secret_access_key": k["SecretAccessKey"],
                           "session_token": k["Token"], "expiration": iso(7200)}, f)
            os.chmod(path + ".tmp", 0o600)
            os.replace(path + ".tmp", path)
            time.sleep(1.5)  # the store re-reads key files at most once a second

        served = {"key": None, "until": None, "token": "agent-token-1"}
        token_file = self.tmp.join("agent-token")
        with open(token_file, "w") as f:
            f.write("agent-token-1\n")
        seen = []

        class Endpoint(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.path, self.headers.get("Authorization")))
                if self.path != "/v2/credentials/task" or \
                        self.headers.get("Authorization") != served["token"]:
                    self.send_response(403)
                    self.end_headers()
                    return
                body = json.dumps(dict(served["key"], Expiration=served["until"],
                                       RoleArn="arn:aws:iam::000000000000:role/web")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        endpoint = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
        threading.Thread(target=endpoint.serve_forever, daemon=True).start()
        first, second = key("ONE"), key("TWO")
        grant(first)
        # 100 s left: inside the renewal window (--url-expires 60 + 300 s), so every use
        # may fetch again (at most every 10 s) and gets the same key until the role rotates.
        served.update(key=first, until=iso(100))
        role_env = dict(AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:%d/v2/credentials/task"
                        % endpoint.server_port,
                        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=token_file)
        args = [sparkify_binary(), "web", "--listen", "127.0.0.1:0", "--s3-endpoint",
                self.up.store, "--function-url", self.up.function, "--samples", "none"]
        try:
            # A key that rotates cannot seal cookies and links: both secrets are required.
            r = subprocess.run(args, env=clean_env(**role_env), capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(b"SPARKIFY_SESSION_SECRET and SPARKIFY_SHARE_SECRET", r.stderr)
            # An endpoint that refuses stops the start, saying why.
            bad = dict(role_env, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=None,
                       AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong")
            r = subprocess.run(args, env=clean_env(**bad, SPARKIFY_SESSION_SECRET="s" * 32,
                                                   SPARKIFY_SHARE_SECRET="t" * 32),
                               capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(b"container credentials endpoint", r.stderr)
            self.assertIn(b"HTTP 403", r.stderr)

            replica, base = self.web_replica(
                web_key=False, extra_args=["--url-expires", "60", "--trusted-proxies",
                                           "127.0.0.0/8", "--client-actions-per-minute", "1"],
                SPARKIFY_SESSION_SECRET="a session secret all replicas share",
                SPARKIFY_SHARE_SECRET="a share secret all replicas share", **role_env)
            try:
                self.assertEqual(api("GET", base + "/healthz")[:2], (200, {"ok": True}))

                def direct_job(name):
                    forms = api("POST", base + "/api/uploads", {"files": [
                        {"name": name, "type": "image/png", "size": len(sample(name))}]})[1]
                    form = forms["uploads"][0]
                    fields = dict(form["fields"])
                    self.assertIn(fields["x-amz-security-token"], (first["Token"], second["Token"]))
                    status, _, body = form_post(form["url"], form["fields"], name, sample(name))
                    self.assertEqual(status, 204, body)
                    status, job, _ = api("POST", base + "/api/jobs", {"uploads": [
                        {"key": form["key"], "token": form["token"], "name": name}]})
                    self.assertEqual(status, 202, job)
                    poll(lambda: api("GET", base + "/api/jobs/" + job["id"])[1]["state"]
                         in ("done", "failed"), 120, what="the job on the role's key")
                    final = api("GET", base + "/api/jobs/" + job["id"])[1]
                    self.assertEqual((final["state"], final["covers"][0]["state"]),
                                     ("done", "done"), final)
                    url = final["covers"][0]["preview"]["url"]
                    self.assertIn("X-Amz-Security-Token=", url)
                    status, _, png = request("GET", url)
                    self.assertEqual((status, png[:4]), (200, b"\x89PNG"))
                    return final, fields

                job, fields = direct_job("coffee.png")
                self.assertEqual(fields["x-amz-security-token"], first["Token"])
                self.assertEqual(seen[-1], ("/v2/credentials/task", "agent-token-1"))
                # The role rotates: STS now honours only the new key, the endpoint hands it
                # out, and the agent's token (a file the replica reads at every fetch) changes.
                with open(token_file, "w") as f:
                    f.write("agent-token-2\n")
                served.update(key=second, until=iso(7200), token="agent-token-2")
                grant(second)
                time.sleep(10)  # the replica asks again at most every 10 s
                _, fields = direct_job("coins.png")
                self.assertEqual(fields["x-amz-security-token"], second["Token"])
                self.assertEqual(seen[-1], ("/v2/credentials/task", "agent-token-2"))
                fetches = len(seen)
                direct_job("chelsea.png")  # the new key has two hours: no more fetches
                self.assertEqual(len(seen), fetches)

                # Behind the proxy: its X-Forwarded-Proto makes share links https, and its
                # X-Forwarded-For entry names the client the per-client budget counts.
                def act(action, client):
                    headers = {"X-Forwarded-For": "198.51.100.1, " + client,
                               "X-Forwarded-Proto": "https"}
                    status, _, raw = request("POST", base + "/api/jobs/%s/%s" % (job["id"], action),
                                             b"", headers)
                    return status, json.loads(raw)

                status, shared = act("share", "203.0.113.7")
                self.assertEqual(status, 200, shared)
                self.assertTrue(shared["url"].startswith("https://127.0.0.1:"), shared)
                # One action a minute per client: the spoofed first entry changes nothing.
                self.assertEqual(act("regenerate", "203.0.113.7")[0], 429)
                self.assertEqual(act("regenerate", "203.0.113.8")[0], 200)
            finally:
                replica.send_signal(signal.SIGTERM)
                self.assertEqual(replica.wait(30), 0)
                replica.stdout.close()
        finally:
            endpoint.shutdown()
            endpoint.server_close()
            shutil.rmtree(role_dir, ignore_errors=True)

    def test_a_second_replica_serves_the_first_ones_sessions_and_uploads(self):
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
        # Signed in to Spotify on the first web app...
        status, headers, _ = request("GET", self.base + "/auth/spotify/login", opener=browser)
        status, headers, _ = request("GET", headers["Location"])
        status, headers, _ = request("GET", headers["Location"], opener=browser)
        self.assertEqual((status, headers["Location"]), (302, "/?spotify=connected"))
        forms = api("POST", self.base + "/api/uploads", {"files": [
            {"name": "coffee.png", "type": "image/png", "size": len(sample("coffee.png"))}]})[1]
        form = forms["uploads"][0]
        status, _, body = form_post(form["url"], form["fields"], "coffee.png", sample("coffee.png"))
        self.assertEqual(status, 204, body)
        replica, base = self.web_replica()
        other, other_base = self.web_replica(SPARKIFY_SESSION_SECRET="another replica's secret")
        try:
            # ... the second one knows the session (the cookie carries it, sealed) ...
            self.assertTrue(api("GET", base + "/api/config", opener=browser)[1]["spotify_connected"])
            status, job, _ = api("POST", base + "/api/jobs", {"source": "spotify"}, opener=browser)
            self.assertEqual(status, 202, job)
            poll(lambda: api("GET", base + "/api/jobs/" + job["id"])[1]["state"] == "done", 120,
                 what="the Spotify job on the second replica")
            # ... and takes the files sent with the first one's forms.
            status, job, _ = api("POST", base + "/api/jobs", {"uploads": [
                {"key": form["key"], "token": form["token"], "name": "coffee.png"}]})
            self.assertEqual(status, 202, job)
            poll(lambda: api("GET", base + "/api/jobs/" + job["id"])[1]["state"] == "done", 120,
                 what="the direct-upload job on the second replica")
            final = api("GET", base + "/api/jobs/" + job["id"])[1]
            self.assertEqual(final["covers"][0]["state"], "done", final)
            # A replica with another session secret opens neither.
            self.assertFalse(
                api("GET", other_base + "/api/config", opener=browser)[1]["spotify_connected"])
            status, doc, _ = api("POST", other_base + "/api/jobs", {"source": "spotify"},
                                 opener=browser)
            self.assertEqual((status, doc["error"]["code"]), (401, "spotify_session"))
            status, doc, _ = api("POST", other_base + "/api/jobs", {"uploads": [
                {"key": form["key"], "token": form["token"], "name": "coffee.png"}]})
            self.assertEqual((status, doc["error"]["code"]), (400, "bad_request"))
        finally:
            for p in (replica, other):
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(30), 0)
                p.stdout.close()

    def test_any_replica_serves_any_job_and_a_job_outlives_its_replica(self):
        first, first_base = self.web_replica()
        second, second_base = self.web_replica()
        third = None
        try:
            body, headers = multipart([("coffee.png", sample("coffee.png")),
                                       ("rocket.jpg", sample("rocket.jpg"))])
            status, _, raw = request("POST", first_base + "/api/jobs", body, headers)
            self.assertEqual(status, 202, raw)
            job_id = json.loads(raw)["id"]
            # At once on the other replica (the first saved it before answering) ...
            status, doc, _ = api("GET", second_base + "/api/jobs/" + job_id)
            self.assertEqual(status, 200, doc)
            self.assertEqual([c["name"] for c in doc["covers"]], ["coffee.png", "rocket.jpg"])
            # ... whose event stream follows it to the end, read from the bucket.
            states = self.follow(job_id, second_base)
            self.assertEqual(states[-1]["state"], "done", states[-1])
            versions = [int(s.get("_id", 0)) for s in states]
            self.assertEqual(versions, sorted(versions))
            # A new layout made on the second replica is what the first one shows.
            status, collage, _ = api("POST", second_base + "/api/jobs/%s/regenerate" % job_id)
            self.assertEqual(status, 200, collage)
            status, doc, _ = api("GET", first_base + "/api/jobs/" + job_id)
            self.assertEqual(doc["collage"]["seed"], collage["seed"])
            status, shared, _ = api("POST", first_base + "/api/jobs/%s/share" % job_id)
            self.assertEqual(status, 200, shared)
            # The replica that made the job stops; a new one (and `up`'s) still serve it.
            first.send_signal(signal.SIGTERM)
            self.assertEqual(first.wait(30), 0)
            first.stdout.close()
            first = None
            third, third_base = self.web_replica()
            for base in (third_base, self.base):
                status, doc, _ = api("GET", base + "/api/jobs/" + job_id)
                self.assertEqual((status, doc["state"]), (200, "done"), doc)
                self.assertEqual(doc["collage"]["seed"], collage["seed"])
                self.check_signed(doc["collage"]["items"][0]["url"])
            status, headers, _ = request("GET", third_base + "/api/jobs/%s/download" % job_id)
            self.assertEqual(status, 303)
            self.assertEqual(png_size(self.check_signed(headers["Location"])), (1080, 1080))
            status, _, page = request("GET", third_base + shared["path"])
            self.assertEqual(status, 200)
            # A record left running by a replica that died long ago says so, on any replica.
            with open(os.path.join(self.data, "root-credentials.json")) as f:
                root = json.load(f)
            s3 = boto3_client(self.up.store, root["access_key_id"], root["secret_access_key"])
            record = json.loads(s3.get_object(Bucket="sparkify",
                                              Key="jobs/%s.json" % job_id)["Body"].read())
            self.assertEqual((record["id"], record["state"]), (job_id, "done"))
            orphan_id = "cd" * 12
            record.update(id=orphan_id, state="running", collage=None, finished_at=None,
                          saved_at=int(time.time()) - 3600)
            s3.put_object(Bucket="sparkify", Key="jobs/%s.json" % orphan_id,
                          Body=json.dumps(record).encode())
            status, doc, _ = api("GET", third_base + "/api/jobs/" + orphan_id)
            self.assertEqual((status, doc["state"], doc["error"]["code"]),
                             (200, "failed", "server_stopped"), doc)
            self.assertEqual(self.follow(orphan_id, third_base)[-1]["state"], "failed")
            # A record that is not one is a store problem, said without its details.
            s3.put_object(Bucket="sparkify", Key="jobs/%s.json" % ("ef" * 12), Body=b"{}")
            status, doc, _ = api("GET", third_base + "/api/jobs/" + "ef" * 12)
            self.assertEqual((status, doc["error"]["code"]), (502, "store_error"), doc)
            # What a replica never saw and the bucket does not hold is still unknown.
            status, doc, _ = api("GET", third_base + "/api/jobs/" + "ab" * 12)
            self.assertEqual((status, doc["error"]["code"]), (404, "not_found"))
            # Streams of finished jobs end at once on any replica.
            self.assertEqual(self.follow(job_id, third_base)[-1]["state"], "done")
        finally:
            for p in (first, second, third):
                if p is not None:
                    p.send_signal(signal.SIGTERM)
                    self.assertEqual(p.wait(30), 0)
                    p.stdout.close()

    def test_jobs_beyond_the_slots_wait_in_a_fair_queue(self):
        with open(os.path.join(self.data, "store", "iam", "users", "web",
                               "credentials.json")) as f:
            web = json.load(f)
        env = clean_env(AWS_ACCESS_KEY_ID=web["access_key_id"],
                        AWS_SECRET_ACCESS_KEY=web["secret_access_key"])
        gate = self.images.hold("/coins.png?held")
        proc = subprocess.Popen(
            [sparkify_binary(), "web", "--listen", "127.0.0.1:0", "--s3-endpoint", self.up.store,
             "--function-url", self.up.function, "--samples", "none", "--allow-private-fetch",
             "--max-running-jobs", "1", "--max-queued-jobs", "1", "--client-running-jobs", "0"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        try:
            base = re.search(r"listening on (\S+)", proc.stdout.readline().decode()).group(1)
            status, first, _ = api("POST", base + "/api/jobs",
                                   {"urls": [self.images.url("coins.png?held")]})
            self.assertEqual(status, 202, first)
            self.assertNotIn("waiting_ahead", first)
            poll(lambda: "/coins.png?held" in self.images.paths, 30, what="the held fetch")
            status, second, _ = api("POST", base + "/api/jobs",
                                    {"urls": [self.images.url("coffee.png")]})
            self.assertEqual(status, 202, second)
            self.assertEqual(second["waiting_ahead"], 0, "one slot, taken: it waits, first")
            status, third, _ = api("POST", base + "/api/jobs",
                                   {"urls": [self.images.url("rocket.jpg")]})
            self.assertEqual((status, third["error"]["code"]), (503, "busy"), third)
            self.assertEqual(api("GET", base + "/api/jobs/" + second["id"])[1]["waiting_ahead"], 0)
            gate.set()
            for job in (first, second):
                poll(lambda: api("GET", base + "/api/jobs/" + job["id"])[1]["state"] == "done",
                     120, what="job %s done" % job["id"])
            done = api("GET", base + "/api/jobs/" + second["id"])[1]
            self.assertNotIn("waiting_ahead", done)
        finally:
            gate.set()
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(30), 0)
            proc.stdout.close()

    def test_refused_uploads_and_requests(self):
        cases = [
            ([("notes.txt", b"hello, not an image")], 415, "unsupported_type"),
            ([("truncated.jpg", sample("truncated.jpg"))], 400, "bad_image"),
            ([("empty.png", b"")], 400, "bad_image"),
            ([("big.png", sample("astronaut.png") + b"\0" * (10 << 20))], 413, "too_large"),
            ([("a%d.png" % i, sample("chelsea.png")) for i in range(31)], 413, "too_many_files"),
            ([("notes.txt", b"hello"), ("empty.png", b"")], 400, "bad_image"),
            ([("a.txt", b"hello"), ("b.txt", b"world")], 415, "unsupported_type"),
        ]
        for files, status, code in cases:
            body, headers = multipart(files)
            got, _, raw = request("POST", self.base + "/api/jobs", body, headers)
            self.assertEqual((got, json.loads(raw)["error"]["code"]), (status, code), files[0][0])
            if files[0][0] == "notes.txt" and len(files) == 2:  # each file's own reason
                message = json.loads(raw)["error"]["message"]
                self.assertIn("notes.txt:", message)
                self.assertIn("empty.png: This file is empty.", message)
        for doc, status, code in [({"urls": ["file:///etc/passwd"]}, 400, "bad_url"),
                                  ({"urls": []}, 400, "bad_url"),
                                  ({"nothing": 1}, 400, "bad_request"),
                                  ({"sample": "yes"}, 400, "bad_request"),
                                  ({"sample": [True]}, 400, "bad_request"),
                                  ({"source": 5}, 400, "bad_request"),
                                  ({"source": {"a": 1}}, 400, "bad_request"),
                                  ({"seed": "7", "sample": True}, 400, "bad_request"),
                                  ({"urls": ["http://x/%d" % i for i in range(31)]}, 413,
                                   "too_many_files")]:
            got, answer, _ = api("POST", self.base + "/api/jobs", doc)
            self.assertEqual((got, answer["error"]["code"]), (status, code), doc)
        got, _, raw = request("POST", self.base + "/api/jobs", b"x", {"Content-Type": "text/plain"})
        self.assertEqual(got, 415)
        # A body that is not a JSON object says which of the ways it is not.
        for raw_body, says in [(b'{"sample": tru', "The body is not valid JSON."),
                               (b"[1, 2]", "The body must be a JSON object, not array."),
                               (b"[" * 40 + b"]" * 40, "The body nests deeper than 32 levels.")]:
            got, _, raw = request("POST", self.base + "/api/jobs", raw_body,
                                  {"Content-Type": "application/json"})
            self.assertEqual((got, json.loads(raw)["error"]["message"]), (400, says), raw_body)

    def test_media_types_and_url_schemes_ignore_case_and_bad_chunks_are_400(self):
        got, _, raw = request("POST", self.base + "/api/jobs", b'{"nothing": 1}',
                              {"Content-Type": "Application/JSON; Charset=UTF-8"})
        self.assertEqual((got, json.loads(raw)["error"]["code"]), (400, "bad_request"))
        body, headers = multipart([("notes.txt", b"hello")])
        headers["Content-Type"] = headers["Content-Type"].replace("multipart/form-data",
                                                                  "Multipart/Form-Data")
        got, _, raw = request("POST", self.base + "/api/jobs", body, headers)
        self.assertEqual((got, json.loads(raw)["error"]["code"]), (415, "unsupported_type"))
        url = self.images.url("coins.png").replace("http://", "HTTP://")
        status, job, _ = api("POST", self.base + "/api/jobs", {"urls": [url]})
        self.assertEqual(status, 202, job)
        self.assertEqual(self.follow(job["id"])[-1]["state"], "done")
        with socket.create_connection(("127.0.0.1", self.web_port), timeout=30) as s:
            s.sendall(b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"zz\r\n{}\r\n0\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer:
                more = s.recv(4096)
                if not more:
                    break
                answer += more
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:200])

    def test_deeply_nested_json_is_refused_and_the_server_lives(self):
        # Dumping or comparing such a document would recurse 125000 times (stack overflow).
        for deep in (b'{"urls":[' + b"[" * 125000 + b"]" * 125000 + b"]}",
                     b'{"urls":[' + b"[" * 40 + b"]" * 40 + b"]}",
                     b'{"sample":' + b"{\"a\":" * 40000 + b"1" + b"}" * 40000 + b"}"):
            got, _, raw = request("POST", self.base + "/api/jobs", deep,
                                  {"Content-Type": "application/json"})
            self.assertEqual((got, json.loads(raw)["error"]["code"]), (400, "bad_request"))
        got, answer, _ = api("POST", self.base + "/api/jobs", {"urls": [[[1]]]})
        self.assertEqual((got, answer["error"]["code"]), (400, "bad_url"))
        self.assertIn("(found: array)", answer["error"]["message"])
        self.assertEqual(api("GET", self.base + "/api/config")[0], 200)
        for path in ("/api/jobs/0123abcd", "/api/jobs/0123abcd/events", "/api/jobs/zz/share"):
            got, answer, _ = api("GET", self.base + path)
            self.assertEqual((got, answer["error"]["code"]), (404, "not_found"), path)
        got, answer, _ = api("POST", self.base + "/api/jobs/0123abcd/regenerate")
        self.assertEqual(got, 404)
        got, answer, _ = api("DELETE", self.base + "/api/jobs")
        self.assertEqual(got, 405)

    def test_uploads_being_read_share_a_byte_budget_and_parts_are_capped(self):
        body, headers = multipart([("a%d.png" % i, b"x") for i in range(101)])
        got, _, raw = request("POST", self.base + "/api/jobs", body, headers)
        self.assertEqual((got, json.loads(raw)["error"]["code"]), (413, "too_many_files"))
        small, headers = multipart([("notes.txt", b"hello")])

        def status():
            return request("POST", self.base + "/api/jobs", small, headers)[0]
        # Nothing else holds budget (the refused request above is over) ...
        poll(lambda: status() == 415, 30, what="the budget free")
        # ... then four uploads announcing 64 MiB each and sending nothing hold all 256 MiB.
        # An earlier test's job may still hold its uploads for a moment (the 415 above only
        # says a small body fits): an upload refused at once (503) is sent again.
        holders = []
        deadline = time.monotonic() + 90  # a stalled upload is cut after 60 s
        while len(holders) < 4:
            s = socket.create_connection(("127.0.0.1", self.web_port))
            s.sendall(b"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: multipart/form-data; boundary=B\r\n"
                      b"Content-Length: %d\r\n\r\n" % (64 << 20))
            answered, _, _ = select.select([s], [], [], 2)
            if not answered:  # admitted: it waits for the body
                holders.append(s)
                continue
            s.close()
            self.assertLess(time.monotonic(), deadline, "the upload budget never freed")
            time.sleep(0.5)
        poll(lambda: status() == 503, 30, what="503 busy while the budget is held")
        for s in holders:
            s.close()
        poll(lambda: status() == 415, 30, what="uploads accepted again")

    def test_other_origins_and_host_names_are_refused(self):
        json_type = {"Content-Type": "application/json"}
        for origin in ("http://evil.example", "null", "http://127.0.0.1:1"):
            got, _, raw = request("POST", self.base + "/api/jobs", b'{"sample": true}',
                                  dict(json_type, Origin=origin))
            self.assertEqual((got, json.loads(raw)["error"]["code"]), (403, "forbidden_origin"))
        got, _, raw = request("POST", self.base + "/api/jobs/0123abcd/regenerate", b"",
                              {"Origin": "http://evil.example"})
        self.assertEqual(got, 403)
        # The page's own origin (as a browser sends it) goes through to the handler.
        got, _, raw = request("POST", self.base + "/api/jobs", b'{"nothing": 1}',
                              dict(json_type, Origin=self.base))
        self.assertEqual((got, json.loads(raw)["error"]["code"]), (400, "bad_request"))
        # DNS rebinding: a name that is not loopback's reaches a loopback server only by trick.
        got, _, raw = request("GET", self.base + "/api/config",
                              headers={"Host": "evil.example:%d" % self.web_port})
        self.assertEqual((got, json.loads(raw)["error"]["code"]), (403, "forbidden_host"))
        got, _, _ = request("GET", self.base + "/api/config",
                            headers={"Host": "localhost:%d" % self.web_port})
        self.assertEqual(got, 200)

    def test_a_partial_upload_goes_on_and_each_refused_file_says_why(self):
        body, headers = multipart([("notes.txt", b"hello, not an image"),
                                   ("coffee.png", sample("coffee.png")),
                                   ("empty.png", b""),
                                   ("rocket.jpg", sample("rocket.jpg"))])
        status, _, raw = request("POST", self.base + "/api/jobs", body, headers)
        self.assertEqual(status, 202, raw)
        job = json.loads(raw)
        self.assertEqual([(c["name"], c["state"]) for c in job["covers"]],
                         [("notes.txt", "failed"), ("coffee.png", "queued"),
                          ("empty.png", "failed"), ("rocket.jpg", "queued")])
        self.assertEqual(job["covers"][0]["error"]["code"], "unsupported_type")
        self.assertEqual(job["covers"][2]["error"],
                         {"code": "bad_image", "message": "This file is empty."})
        final = self.follow(job["id"])[-1]
        self.assertEqual(final["state"], "done", final)
        self.assertEqual([c["state"] for c in final["covers"]],
                         ["failed", "done", "failed", "done"])
        self.assertEqual(len(final["collage"]["items"]), 2)
        # A URL list with a malformed entry: that entry fails, the others go on.
        status, job, _ = api("POST", self.base + "/api/jobs",
                             {"urls": ["not, a, url", self.images.url("coins.png")]})
        self.assertEqual(status, 202, job)
        self.assertEqual(job["covers"][0]["error"]["code"], "bad_url")
        self.assertNotIn("not, a, url", job["covers"][0]["error"]["message"])
        self.assertEqual(self.follow(job["id"])[-1]["state"], "done")

    def test_direct_uploads_go_to_the_bucket_and_are_checked_there(self):
        origin = "http://127.0.0.1:%d" % self.web_port
        csp = request("GET", self.base + "/")[1]["Content-Security-Policy"]
        self.assertIn("connect-src 'self' %s;" % self.up.store, csp)
        self.assertTrue(api("GET", self.base + "/api/config")[1]["direct_uploads"])
        coffee, rocket = sample("coffee.png"), sample("rocket.jpg")
        long_header = jpeg_with_a_long_header(rocket, 150_000)
        files = [
            {"name": "coffee.png", "type": "image/png", "size": len(coffee)},
            {"name": "notes.txt", "type": "text/plain", "size": 10},
            {"name": "huge.png", "type": "image/png", "size": 10 * 1024 * 1024 + 1},
            {"name": "liar.png", "type": "image/png", "size": len(rocket)},
            {"name": "icc.jpg", "type": "image/jpeg", "size": len(long_header)},
            {"name": "garbage.png", "type": "image/png", "size": 100},
            {"name": "lost.png", "type": "image/png", "size": 100},
        ]
        status, doc, _ = api("POST", self.base + "/api/uploads", {"files": files})
        self.assertEqual(status, 200, doc)
        forms = doc["uploads"]
        self.assertEqual([f["name"] for f in forms], [f["name"] for f in files])
        self.assertEqual(forms[1]["error"]["code"], "unsupported_type")
        self.assertEqual(forms[2]["error"]["code"], "too_large")
        for i in (0, 3, 4, 5, 6):
            self.assertRegex(forms[i]["key"], r"^uploads/direct/[0-9a-f]{32}\.(png|jpg)$")
            self.assertTrue(forms[i]["url"].startswith(self.up.store + "/sparkify"), forms[i])
        self.assertEqual(len({forms[i]["key"] for i in (0, 3, 4, 5, 6)}), 5)
        fields = dict(forms[0]["fields"])
        self.assertEqual(fields["Content-Type"], "image/png")
        self.assertIn("x-amz-signature", fields)
        self.assertNotIn(self.up.store, json.dumps(fields))  # no secret, just the signed policy

        # The browser's POSTs: the store answers this origin's page, and the bytes never pass
        # through the web app.
        for i, data in ((0, coffee), (3, rocket), (4, long_header)):
            status, headers, body = form_post(forms[i]["url"], forms[i]["fields"],
                                              forms[i]["name"], data, origin)
            self.assertEqual(status, 204, body)
            self.assertEqual(headers["Access-Control-Allow-Origin"], origin)
        # A form is for its own key, type and size only.
        status, _, body = form_post(forms[5]["url"], forms[5]["fields"], "x.png", b"x" * 200)
        self.assertEqual(status, 204, body)  # within the policy: 1..10 MiB, any bytes
        tampered = [(k, "uploads/direct/other.png" if k == "key" else v)
                    for k, v in forms[0]["fields"]]
        status, _, body = form_post(forms[0]["url"], tampered, "x.png", coffee)
        self.assertEqual(status, 403, body)
        self.assertIn(b"Invalid according to Policy", body)
        # Another origin's page gets no CORS answer from the store.
        status, headers, _ = form_post(forms[0]["url"], forms[0]["fields"], "c.png", coffee,
                                       "http://evil.example")
        self.assertIsNone(headers.get("Access-Control-Allow-Origin"))

        uploads = [{"key": forms[i]["key"], "token": forms[i]["token"], "name": forms[i]["name"]}
                   for i in (0, 3, 4, 5, 6)]  # lost.png's form was never used
        status, job, _ = api("POST", self.base + "/api/jobs", {"uploads": uploads, "seed": 3})
        self.assertEqual(status, 202, job)
        final = self.follow(job["id"])[-1]
        self.assertEqual(final["state"], "done", final)
        states = {c["name"]: (c["state"], c.get("error", {}).get("code")) for c in final["covers"]}
        self.assertEqual(states, {
            "coffee.png": ("done", None), "liar.png": ("failed", "unsupported_type"),
            "icc.jpg": ("done", None), "garbage.png": ("failed", "unsupported_type"),
            "lost.png": ("failed", "not_uploaded")})
        self.assertEqual(len(final["collage"]["items"]), 2)

        # Keys the web app did not hand out, or not lists, are refused before any work.
        token = forms[0]["token"]
        for bad in ([{"key": "uploads/other.png", "token": token}],
                    [{"key": "cutouts/x.png", "token": token}],
                    [{"key": "uploads/direct/../../collages/a.png", "token": token}], "nope", [],
                    [{"key": "uploads/direct/" + "A" * 32 + ".png", "token": token}],
                    # a key without its token (seen in a preview URL, say), or another's
                    [{"key": forms[0]["key"]}], [{"key": forms[3]["key"], "token": token}],
                    [{"key": forms[0]["key"], "token": token[:-1]}]):
            status, doc, _ = api("POST", self.base + "/api/jobs", {"uploads": bad})
            self.assertEqual((status, doc["error"]["code"]), (400, "bad_request"), bad)
        for bad in ({"files": []}, {"files": "x"}, {"files": [{"name": "a.png"}]},
                    {"files": [{"type": "image/png", "size": -1}]}):
            status, doc, _ = api("POST", self.base + "/api/uploads", bad)
            self.assertEqual((status, doc["error"]["code"]), (400, "bad_request"), bad)
        status, doc, _ = api("POST", self.base + "/api/uploads",
                             {"files": [{"type": "text/html", "size": 5}]})
        self.assertEqual((status, doc["error"]["code"]), (415, "unsupported_type"), doc)
        status, doc, _ = api("POST", self.base + "/api/uploads",
                             {"files": [{"type": "image/png", "size": 1}] * 31})
        self.assertEqual((status, doc["error"]["code"]), (413, "too_many_files"), doc)

    def test_names_that_are_not_utf8_or_are_cut_mid_character_do_not_hurt(self):
        # Raw bytes in a file name, and a URL cut at 200 bytes inside a character: the job is
        # made, saved (replaced characters) and followed to its end on a live server.
        boundary = uuid.uuid4().hex.encode()
        body = (b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\xff\xfe.png\""
                b"\r\nContent-Type: image/png\r\n\r\n" % boundary + sample("coffee.png") +
                b"\r\n--%s--\r\n" % boundary)
        status, _, raw = request("POST", self.base + "/api/jobs", body,
                                 {"Content-Type": "multipart/form-data; boundary=" +
                                  boundary.decode()})
        self.assertEqual(status, 202, raw)
        self.assertEqual(self.follow(json.loads(raw)["id"])[-1]["state"], "done")
        url = self.images.url("coffee.png") + "?" + "a" * 150 + "\u00e9" * 40
        status, job, _ = api("POST", self.base + "/api/jobs", {"urls": [url]})
        self.assertEqual(status, 202, job)
        self.assertTrue(job["covers"][0]["name"].endswith("..."))
        self.assertEqual(self.follow(job["id"])[-1]["state"], "done")
        self.assertEqual(api("GET", self.base + "/api/config")[0], 200)

    def test_the_same_picture_twice_is_in_the_collage_once(self):
        urls = [self.images.url("coffee.png"), self.images.url("coffee.png") + "?again",
                self.images.url("rocket.jpg")]
        status, job, _ = api("POST", self.base + "/api/jobs", {"urls": urls})
        self.assertEqual(status, 202, job)
        final = self.follow(job["id"])[-1]
        self.assertEqual(final["state"], "done", final)
        self.assertEqual(len(final["collage"]["items"]), 2, final)
        twice = final["covers"][1]
        self.assertIn("same picture", twice.get("note", ""), final["covers"])

    def test_urls_job_with_one_bad_url(self):
        urls = [self.images.url("rocket.jpg"), self.images.url("missing.jpg"),
                self.images.url("coffee.png")]
        status, job, _ = api("POST", self.base + "/api/jobs", {"urls": urls, "seed": 7})
        self.assertEqual(status, 202, job)
        final = self.follow(job["id"])[-1]
        self.assertEqual(final["state"], "done", final)
        self.assertEqual([c["state"] for c in final["covers"]], ["done", "failed", "done"])
        self.assertEqual(final["covers"][1]["error"]["code"], "fetch_failed")
        self.assertEqual(final["collage"]["seed"], 7)
        self.assertEqual(len(final["collage"]["items"]), 2)
        # An EventSource reconnecting after the end: the last state once, then 204 (stop).
        events = self.base + "/api/jobs/%s/events" % job["id"]
        status, _, body = request("GET", events, headers={"Last-Event-ID": "1"})
        self.assertEqual(status, 200)
        last_id = int(re.findall(r"^id: (\d+)$", body.decode(), re.M)[-1])
        self.assertEqual(body.decode().count("event: job"), 1)
        status, _, body = request("GET", events, headers={"Last-Event-ID": str(last_id)})
        self.assertEqual((status, body), (204, b""))

    def test_a_broken_image_fails_its_cover_not_the_job(self):
        # The header is a good PNG's, so only the function finds out (its answer is a 422).
        broken = sample("astronaut.png")[:20000]
        body, headers = multipart([("broken.png", broken), ("coffee.png", sample("coffee.png"))])
        status, _, raw = request("POST", self.base + "/api/jobs", body, headers)
        self.assertEqual(status, 202, raw)
        final = self.follow(json.loads(raw)["id"])[-1]
        self.assertEqual(final["state"], "done", final)
        self.assertEqual([c["state"] for c in final["covers"]], ["failed", "done"])
        self.assertEqual(final["covers"][0]["error"]["code"], "bad_image", final)
        body, headers = multipart([("broken.png", broken)])
        status, _, raw = request("POST", self.base + "/api/jobs", body, headers)
        self.assertEqual(status, 202, raw)
        final = self.follow(json.loads(raw)["id"])[-1]
        self.assertEqual(final["state"], "failed", final)
        self.assertEqual(final["error"]["code"], "no_usable_covers", final)
        self.assertEqual(final["covers"][0]["error"]["code"], "bad_image", final)

    def test_sample_set(self):
        status, job, _ = api("POST", self.base + "/api/jobs", {"sample": True})
        self.assertEqual(status, 202, job)
        self.assertNotIn("truncated", [c["name"] for c in job["covers"]])
        final = self.follow(job["id"])[-1]
        self.assertEqual(final["state"], "done", final)
        self.assertEqual(len(final["collage"]["items"]), 9)  # the original's collage size
        status, again, _ = api("GET", self.base + "/api/jobs/" + job["id"])
        self.assertEqual(again["state"], "done")

    def test_keys_files_and_the_web_keys_limits(self):
        users = os.path.join(self.data, "store", "iam", "users")
        for path in (os.path.join(self.data, "root-credentials.json"),
                     os.path.join(users, "web", "credentials.json"),
                     os.path.join(users, "function", "credentials.json")):
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600, path)
        with open(os.path.join(users, "web", "credentials.json")) as f:
            web = json.load(f)
        with open(os.path.join(self.data, "root-credentials.json")) as f:
            root = json.load(f)
        self.assertNotIn(root["secret_access_key"], self.up.log_text())
        self.assertNotIn(web["secret_access_key"], self.up.log_text())
        s3 = boto3_client(self.up.store, web["access_key_id"], web["secret_access_key"])
        s3.put_object(Bucket="sparkify", Key="uploads/web-key-test.png", Body=sample("coffee.png"))
        denied = [
            lambda: s3.list_objects_v2(Bucket="sparkify"),
            lambda: s3.list_objects_v2(Bucket="sparkify", Prefix="uploads/"),
            lambda: s3.delete_object(Bucket="sparkify", Key="uploads/web-key-test.png"),
            lambda: s3.put_object(Bucket="sparkify", Key="cutouts/forged.png", Body=b"x"),
            lambda: s3.put_object(Bucket="sparkify", Key="elsewhere.txt", Body=b"x"),
        ]
        for call in denied:
            with self.assertRaises(Exception) as ctx:
                call()
            self.assertEqual(error_code(ctx.exception), "AccessDenied")
        # Block Public Access: an anonymous read of an existing object is refused.
        status, _, _ = request("GET", self.up.store + "/sparkify/uploads/web-key-test.png")
        self.assertEqual(status, 403)

    def test_spotify_flow(self):
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))
        # No session: refused.
        status, doc, _ = api("POST", self.base + "/api/jobs", {"source": "spotify"})
        self.assertEqual((status, doc["error"]["code"]), (401, "spotify_session"))
        status, headers, _ = request("GET", self.base + "/auth/spotify/callback?code=x&state=y")
        self.assertEqual((status, headers["Location"]),
                         (302, "/?spotify=error&code=spotify_session"))

        # Sign in, but come back with a wrong state: refused, and the state is spent.
        status, headers, _ = request("GET", self.base + "/auth/spotify/login", opener=browser)
        self.assertEqual(status, 302)
        cookie = headers["Set-Cookie"]
        for attr in ("HttpOnly", "SameSite=Lax", "Path=/"):
            self.assertIn(attr, cookie)
        authorize = urllib.parse.urlsplit(headers["Location"])
        q = dict(urllib.parse.parse_qsl(authorize.query))
        self.assertEqual(q["code_challenge_method"], "S256")
        self.assertEqual(q["redirect_uri"], self.base + "/auth/spotify/callback")
        status, headers, _ = request("GET", headers["Location"])
        self.assertEqual(status, 302)
        back = urllib.parse.urlsplit(headers["Location"])
        code = dict(urllib.parse.parse_qsl(back.query))["code"]
        status, headers, _ = request(
            "GET", self.base + "/auth/spotify/callback?" + urllib.parse.urlencode(
                {"code": code, "state": q["state"] + "x"}), opener=browser)
        self.assertEqual((status, headers["Location"]), (302, "/?spotify=error&code=spotify_state"))
        status, headers, _ = request("GET", self.base + "/auth/spotify/callback?" + back.query,
                                     opener=browser)
        self.assertEqual((status, headers["Location"]), (302, "/?spotify=error&code=spotify_state"),
                         "a state must not be usable after a wrong one")

        # The whole flow: login -> Spotify -> callback -> a job from the top tracks.
        status, headers, _ = request("GET", self.base + "/auth/spotify/login", opener=browser)
        status, headers, _ = request("GET", headers["Location"])
        self.assertEqual(status, 302)
        status, headers, _ = request("GET", headers["Location"], opener=browser)
        self.assertEqual((status, headers["Location"]), (302, "/?spotify=connected"))
        status, doc, _ = api("GET", self.base + "/api/config", opener=browser)
        self.assertTrue(doc["spotify_connected"])
        self.images.paths.clear()
        status, job, _ = api("POST", self.base + "/api/jobs", {"source": "spotify"}, opener=browser)
        self.assertEqual(status, 202, job)
        self.assertEqual([c["name"] for c in job["covers"]],
                         ["Album A - Artist a", "Album B - Artist b", "Album C - Artist c"])
        final = self.follow(job["id"])[-1]
        self.assertEqual(final["state"], "done", final)
        self.assertNotIn("/coins.png", self.images.paths)  # the largest image only
        self.assertIn("/chelsea.png", self.images.paths)
        for item in final["collage"]["items"]:
            self.check_signed(item["url"])

        # Spotify's tokens last an hour: one about to expire is refreshed before it is used,
        # and the person stays signed in. A refresh Spotify refuses signs them out.
        self.spotify.expires_in = 30  # inside the app's one-minute margin
        try:
            status, headers, _ = request("GET", self.base + "/auth/spotify/login", opener=browser)
            status, headers, _ = request("GET", headers["Location"])
            status, headers, _ = request("GET", headers["Location"], opener=browser)
            self.assertEqual((status, headers["Location"]), (302, "/?spotify=connected"))
            before = len(self.spotify.tokens)
            for _ in range(2):
                posts = len([p for p in self.spotify.requests if p == "/api/token"])
                status, job, _ = api("POST", self.base + "/api/jobs", {"source": "spotify"},
                                     opener=browser)
                self.assertEqual(status, 202, job)
                self.assertEqual(len([p for p in self.spotify.requests if p == "/api/token"]),
                                 posts + 1, "each use refreshed the short-lived token")
                self.follow(job["id"])
            self.assertEqual(len(self.spotify.tokens), before, "each refresh replaced the token")
            self.spotify.refresh_tokens.clear()  # revoked at Spotify
            status, doc, _ = api("POST", self.base + "/api/jobs", {"source": "spotify"},
                                 opener=browser)
            self.assertEqual((status, doc["error"]["code"]), (401, "spotify_session"), doc)
            status, doc, _ = api("GET", self.base + "/api/config", opener=browser)
            self.assertFalse(doc["spotify_connected"])
        finally:
            self.spotify.expires_in = 3600


class LifecycleTest(unittest.TestCase):
    """Start-up errors, a function that is down, and Ctrl-C."""

    def setUp(self):
        self.tmp = TempDir("sparkify-web-life-")

    def tearDown(self):
        self.tmp.cleanup()

    def run_up(self, *args, **env):
        return subprocess.run([sparkify_binary(), "up"] + list(args), capture_output=True,
                              env=clean_env(**env), timeout=60, stdin=subprocess.DEVNULL)

    def test_busy_port_and_bad_data_dir_fail_before_anything_starts(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            r = self.run_up("--data", self.tmp.join("d"), "--web-port", str(port))
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"port %d on 127.0.0.1 is busy (--web-port" % port, r.stderr)
        self.assertFalse(os.path.exists(self.tmp.join("d")))
        not_a_dir = self.tmp.join("file")
        open(not_a_dir, "w").close()
        r = self.run_up("--data", not_a_dir, "--web-port", "0")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"data dir", r.stderr)

    def test_model_flags_the_model_cannot_take_fail_before_anything_starts(self):
        r = self.run_up("--data", self.tmp.join("m"), "--web-port", "0", "--model-size", "100")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"sparkify up: --model-size 100: the model isnet-general-medium takes a "
                      b"side that is a multiple of 64", r.stderr)
        self.assertNotIn(b"[function]", r.stderr)
        self.assertNotIn(b"setup.sh", r.stderr)
        self.assertFalse(os.path.exists(self.tmp.join("m")))

    def test_a_missing_model_stops_everything_with_a_clear_error(self):
        r = self.run_up("--data", self.tmp.join("d"), "--web-port", "0", "--function-port", "0",
                        "--store-port", "0", SPARKIFY_CACHE=self.tmp.join("no-cache"))
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"sparkify up: the AI function cannot start: cannot load the model", r.stderr)
        self.assertNotIn(b"sparkify up ready", r.stdout)

    def test_malformed_key_files_and_endpoints_are_clear_errors(self):
        data = self.tmp.join("bad-keys")
        os.makedirs(data)
        with open(os.path.join(data, "root-credentials.json"), "w") as f:
            f.write('{"access_key_id": 5, "secret_access_key": []}')
        r = self.run_up("--data", data, "--web-port", "0", "--function-port", "0",
                        "--store-port", "0")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"root-credentials.json is not a credentials file", r.stderr)
        os.remove(os.path.join(data, "root-credentials.json"))
        web_dir = os.path.join(data, "store", "iam", "users", "web")
        os.makedirs(web_dir)
        with open(os.path.join(web_dir, "policy.json"), "w") as f:
            f.write('{"Version": "2012-10-17", "Statement": []}')
        with open(os.path.join(web_dir, "credentials.json"), "w") as f:
            f.write('{"access_key_id": "AKID", "secret_access_key": {"no": "string"}}')
        r = self.run_up("--data", data, "--web-port", "0", "--function-port", "0",
                        "--store-port", "0")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"web/credentials.json is not a credentials file", r.stderr)
        # `sparkify web` with an endpoint that has no scheme: refused at the start.
        for flag in ("--s3-endpoint", "--function-url"):
            r = subprocess.run(
                [sparkify_binary(), "web", "--listen", "127.0.0.1:0", flag, "127.0.0.1:9100"],
                capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                env=clean_env(AWS_ACCESS_KEY_ID="AKID", AWS_SECRET_ACCESS_KEY="secret"))
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(b"must start with http:// or https://", r.stderr)

    def test_the_data_dir_is_private(self):
        # A model whose file is garbage passes the flag checks, so the dirs are made before
        # the function fails to load it and everything stops.
        cache = self.tmp.join("broken-cache")
        model_dir = os.path.join(cache, "models", "isnet-general-medium")
        os.makedirs(model_dir)
        with open(os.path.join(CACHE, "models", "isnet-general-medium", "manifest.json")) as f:
            manifest = json.load(f)
        with open(os.path.join(model_dir, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        with open(os.path.join(model_dir, manifest["file"]), "wb") as f:
            f.write(b"not a model")
        fresh = self.tmp.join("new", "data")
        r = self.run_up("--data", fresh, "--web-port", "0", "--function-port", "0",
                        "--store-port", "0", SPARKIFY_CACHE=cache)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"sparkify up: the AI function cannot start: ", r.stderr)
        for d in (fresh, os.path.join(fresh, "store")):
            self.assertEqual(os.stat(d).st_mode & 0o777, 0o700, d)
        self.assertNotIn(b"warning", r.stderr)
        shared = self.tmp.join("shared")
        os.mkdir(shared)
        os.chmod(shared, 0o755)
        r = self.run_up("--data", shared, "--web-port", "0", "--function-port", "0",
                        "--store-port", "0", SPARKIFY_CACHE=cache)
        self.assertIn(b"warning: %s (mode 755) is open to other users" % shared.encode(), r.stderr)

    def test_a_dying_child_stops_the_tree(self):
        up = Up(self.tmp.join("d"), self.tmp.join("up.log"), ["--web-port", "0"])
        children = []
        for entry in os.listdir("/proc"):
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    argv = f.read().split(b"\0")
            except (OSError, ValueError, IndexError):
                continue
            if ppid == up.proc.pid:
                children.append((int(entry), argv[1] if len(argv) > 1 else b""))
        self.assertEqual(sorted(a for _, a in children), [b"function", b"store", b"web"])
        store_pid = [p for p, a in children if a == b"store"][0]
        os.kill(store_pid, signal.SIGKILL)
        self.assertEqual(up.proc.wait(60), 1)
        log = up.log_text()
        up.stop()
        self.assertIn("sparkify up: the store stopped (signal", log)
        for pid, _ in children:  # reaped by sparkify up, so gone
            self.assertFalse(os.path.exists("/proc/%d" % pid), pid)

    def test_ctrl_c_during_a_hanging_url_fetch_stops_at_once(self):
        asked = threading.Event()
        release = threading.Event()

        class Hang(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                asked.set()
                release.wait(60)  # answers only when the test is over

        hang = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hang)
        threading.Thread(target=hang.serve_forever, daemon=True).start()
        up = Up(self.tmp.join("d"), self.tmp.join("up.log"),
                ["--web-port", "0", "--allow-private-fetch"])
        try:
            url = "http://127.0.0.1:%d/slow.png" % hang.server_address[1]
            status, job, _ = api("POST", up.web + "/api/jobs", {"urls": [url]})
            self.assertEqual(status, 202, job)
            self.assertTrue(asked.wait(30), "the web app never fetched the URL")
            started = time.monotonic()
            code = up.stop(signal.SIGINT)
            took = time.monotonic() - started
        finally:
            release.set()
            hang.shutdown()
            hang.server_close()
        log = up.log_text()
        self.assertEqual(code, 0, log[-3000:])
        # Held by the fetch, the web app would outlast its 10 s grace and be killed.
        self.assertNotIn("had to be killed", log)
        self.assertIn("sparkify up: stopped", log)
        self.assertLess(took, 15, log[-3000:])
        self.assertIn("[web] sparkify web: signal", log)  # relayed while stopping

    def _one_cover_job_on_a_second_web_app(self, up, function_url):
        """Runs `sparkify web` with up's web key and store but `function_url`, submits one
        cover, waits for the job's end. Returns (the final job, whether the web app was still
        running then); the web app must then stop cleanly on SIGTERM."""
        with open(self.tmp.join("d", "store", "iam", "users", "web", "credentials.json")) as f:
            web = json.load(f)
        env = clean_env(AWS_ACCESS_KEY_ID=web["access_key_id"],
                        AWS_SECRET_ACCESS_KEY=web["secret_access_key"])
        proc = subprocess.Popen(
            [sparkify_binary(), "web", "--listen", "127.0.0.1:0", "--s3-endpoint", up.store,
             "--function-url", function_url], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        try:
            line = proc.stdout.readline().decode()
            base = re.search(r"listening on (\S+)", line).group(1)
            body, headers = multipart([("chelsea.png", sample("chelsea.png"))])
            status, _, raw = request("POST", base + "/api/jobs", body, headers)
            self.assertEqual(status, 202)
            job_id = json.loads(raw)["id"]
            final = poll(lambda: (lambda d: d if d["state"] != "running" else None)(
                api("GET", base + "/api/jobs/" + job_id)[1]), 60, what="the job's end")
            return final, proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(30), 0)
            proc.stdout.close()

    def test_a_badly_typed_function_answer_fails_the_job_not_the_web_app(self):
        class Odd(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = b'{"statusCode":"200","body":{}}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        odd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Odd)
        threading.Thread(target=odd.serve_forever, daemon=True).start()
        up = Up(self.tmp.join("d"), self.tmp.join("up.log"), ["--web-port", "0"])
        try:
            final, alive = self._one_cover_job_on_a_second_web_app(
                up, "http://127.0.0.1:%d" % odd.server_address[1])
            self.assertEqual(final["state"], "failed")
            self.assertEqual(final["error"]["code"], "function_error")
            self.assertEqual(final["covers"][0]["error"]["code"], "function_error")
            self.assertTrue(alive, "the web app died")
        finally:
            odd.shutdown()
            odd.server_close()
            up.stop(signal.SIGINT)

    def test_function_down_then_ctrl_c(self):
        up = Up(self.tmp.join("d"), self.tmp.join("up.log"), ["--web-port", "0"])
        try:
            # A second web app whose function endpoint is closed.
            final, _ = self._one_cover_job_on_a_second_web_app(
                up, "http://127.0.0.1:%d" % free_port())
            self.assertEqual(final["state"], "failed")
            self.assertEqual(final["error"]["code"], "function_down")
            self.assertIn("AI function is down", final["error"]["message"])
            self.assertNotIn("127.0.0.1", final["error"]["message"])  # the address: log only
            self.assertEqual(final["covers"][0]["error"]["code"], "function_down")
        finally:
            code = up.stop(signal.SIGINT)
        self.assertEqual(code, 0, up.log_text()[-3000:])
        self.assertIn("sparkify up: stopped", up.log_text())
        for url in (up.web, up.function, up.store):
            port = int(url.rsplit(":", 1)[1])
            with socket.socket() as s:
                self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0, url)

        # A second run keeps the keys and the user's edits to a policy.
        users = self.tmp.join("d", "store", "iam", "users")
        policy_path = os.path.join(users, "web", "policy.json")
        with open(policy_path) as f:
            policy = json.load(f)
        policy["Statement"].append({"Sid": "EditedByTheUser", "Effect": "Deny",
                                    "Action": "s3:GetObject",
                                    "Resource": "arn:aws:s3:::sparkify/private/*"})
        with open(policy_path, "w") as f:
            json.dump(policy, f)
        keys = {}
        for name in ("web", "function"):
            with open(os.path.join(users, name, "credentials.json")) as f:
                keys[name] = json.load(f)["access_key_id"]
        again = Up(self.tmp.join("d"), self.tmp.join("up2.log"), ["--web-port", "0"])
        self.assertEqual(again.stop(signal.SIGTERM), 0)
        with open(policy_path) as f:
            self.assertIn("EditedByTheUser", f.read())
        for name in ("web", "function"):
            with open(os.path.join(users, name, "credentials.json")) as f:
                self.assertEqual(json.load(f)["access_key_id"], keys[name])


if __name__ == "__main__":
    unittest.main(verbosity=2)
