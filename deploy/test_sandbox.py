"""The images, run as Lambda's and a container's environment run them, without Docker: build
both images (the function's and the web app's) with one deploy/build-image.sh run, then start
each entrypoint from its image's root file system under bubblewrap with the root read-only, a
tmpfs /tmp, an unprivileged user, and no network but the sandbox's own loopback. The seed's
curl command must return a cut-out from the function; the web app's image must serve its page
and make a collage of its bundled samples through that function.

Opt-in (it builds the images: a few minutes): SPARKIFY_TEST_SANDBOX=1, as root. Otherwise
ctest reports it skipped.

Layout: this file re-runs itself inside `bwrap --unshare-net` (a private network namespace
with only lo). There it starts, on loopback, what the images talk to and must never contain:
our store (from the build tree; the bucket, and a user each for the function and the web app
with the policies `sparkify policy` gives them, the ones the AWS template grants) and a small
HTTP server with the sample covers. Then each image's entrypoint, with its image.conf's
environment, runs in a bwrap of its own whose root is the image. Timings go to
SPARKIFY_SANDBOX_RESULTS.
"""
import http.server
import json
import os
import select
import shlex
import shutil
import statistics
import struct
import tarfile
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
from support.store import (Store, TempDir, clean_env, random_credentials, require,  # noqa: E402
                           sparkify_binary, _die_with_parent)

SAMPLES = os.path.join(os.environ.get("SPARKIFY_CACHE") or os.path.expanduser("~/.cache/sparkify"),
                       "samples")
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
# The function holds 8080 on the sandbox's loopback; the web app's image listens on its own
# 8080 in a container, here on this port instead (as `docker run -e` would set it).
WEB_PORT = 8081
# Per image (its archive is tagged sparkify-NAME): its run configuration, the paths it must
# hold, and the folders it must not (the other image's).
# Both images: the binary, its loader and some of its libraries, the CA bundle, the users;
# and no base system (no shell, no package manager, no coreutils).
COMMON_PRESENT = ["/opt/sparkify/bin/sparkify-ai", "/lib64/ld-linux-x86-64.so.2",
                  "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libdnnl.so.2",
                  "/usr/lib/x86_64-linux-gnu/liblapack.so.3", "/etc/ssl/certs/ca-certificates.crt",
                  "/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf", "/tmp",
                  # the packages' licence notices travel with their libraries
                  "/usr/share/doc/libc6/copyright", "/usr/share/doc/libdnnl2/copyright",
                  "/usr/share/doc/liblapack3/copyright", "/usr/share/doc/ca-certificates/copyright"]
COMMON_ABSENT = ["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/var/lib/dpkg", "/etc/apt"]
IMAGES = {
    "function": ("image.conf",
                 COMMON_PRESENT + ["/opt/sparkify/model/model.sgraph",
                                   "/opt/sparkify/model/manifest.json"],
                 COMMON_ABSENT + ["/opt/sparkify/samples"]),
    "web": ("image-web.conf",
            COMMON_PRESENT + ["/opt/sparkify/samples/index.tsv", "/opt/sparkify/samples/SOURCE",
                              "/opt/sparkify/samples/astronaut.png"],
            COMMON_ABSENT + ["/opt/sparkify/model"]),
}
# Issue 8's budget for the function's image, model included, unpacked.
FUNCTION_IMAGE_BUDGET = 220_000_000


def image_conf(name="image.conf"):
    conf = {}
    with open(os.path.join(HERE, "image", name)) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                conf[key] = " ".join(shlex.split(value))
    return conf


def is_rgba_png(data):
    # PNG signature, then the IHDR chunk: width, height, bit depth, colour type 6 = RGBA.
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return False
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width > 0 and height > 0 and depth == 8 and colour == 6


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def http_request(method, url, body=None, timeout=30):
    """(status, headers, body) of one request, without an Origin (as curl or a script sends)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def stop(proc):
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.stdout.close()


class SandboxTest(unittest.TestCase):
    """Runs inside the private network namespace."""

    @classmethod
    def setUpClass(cls):
        cls.rootfs = os.environ["SPARKIFY_SANDBOX_ROOTFS"]
        cls.web_rootfs = os.environ["SPARKIFY_SANDBOX_WEB_ROOTFS"]
        cls.tmp = TempDir("sparkify-sandbox-")
        cls.bucket = "sparkify-sandbox"
        cls.results = {}
        # The function's and the web app's least-privilege users, made before the store starts.
        data = cls.tmp.join("data")
        os.makedirs(data)
        keys = {}
        for principal in ("function", "web"):
            policy_file = cls.tmp.join("%s-policy.json" % principal)
            with open(policy_file, "w") as f:
                f.write(subprocess.check_output([sparkify_binary(), "policy", "--bucket", cls.bucket,
                                                 "--principal", principal], text=True))
            user = json.loads(subprocess.check_output(
                [sparkify_binary(), "user", "create", principal, "--data", data,
                 "--policy", policy_file], text=True, env=clean_env()))
            keys[principal] = (user["access_key_id"], user["secret_access_key"])
        cls.function_key, cls.web_key = keys["function"], keys["web"]
        # What the function checks the web app's signed invokes against (as `sparkify up` gives
        # it the store's users): the web user's key and policy only, mounted at run time.
        cls.invokers = cls.tmp.join("invokers")
        shutil.copytree(os.path.join(data, "iam", "users", "web"),
                        os.path.join(cls.invokers, "iam", "users", "web"))
        cls.store = Store(data, args=["--create-bucket", cls.bucket]).start()
        # The covers, on loopback (the sandbox has no internet).
        handler = lambda *a, **kw: QuietHandler(*a, directory=SAMPLES, **kw)  # noqa: E731
        cls.images = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=cls.images.serve_forever, daemon=True).start()
        cls.function = None
        cls.web = None

    @classmethod
    def tearDownClass(cls):
        stop(cls.web)
        stop(cls.function)
        cls.images.shutdown()
        cls.images.server_close()
        cls.store.stop()
        cls.tmp.cleanup()

    def url(self, name):
        return "http://127.0.0.1:%d/%s" % (self.images.server_address[1], name)

    def record(self, **results):
        """Adds to the timings (SPARKIFY_SANDBOX_RESULTS) and prints them."""
        print("sandbox results: " + json.dumps(results))
        type(self).results.update(results)
        if os.environ.get("SPARKIFY_SANDBOX_RESULTS"):
            with open(os.environ["SPARKIFY_SANDBOX_RESULTS"], "w") as f:
                json.dump(type(self).results, f, indent=2)

    def start_image(self, rootfs, conf, env, args, binds, log_name):
        """An image's entrypoint (with `args` after it, as `docker run IMAGE ARGS` passes them)
        from its root, read-only, with a tmpfs /tmp, as the image's user, with the image's
        environment plus `env`; returns (process, the line it printed once listening, seconds
        until then, start time)."""
        uid, gid = conf["IMAGE_USER"].split(":")
        cmd = ["bwrap", "--ro-bind", rootfs, "/", "--tmpfs", "/tmp", "--proc", "/proc",
               "--dev", "/dev", "--unshare-user", "--uid", uid, "--gid", gid, "--unshare-pid",
               "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--chdir",
               conf["IMAGE_WORKDIR"], "--clearenv"]
        for source, dest in binds:
            cmd += ["--ro-bind", source, dest]
        all_env = dict(kv.split("=", 1) for kv in conf["IMAGE_ENV"].split())
        all_env.update(env)
        for k, v in sorted(all_env.items()):
            cmd += ["--setenv", k, v]
        cmd += ["--"] + conf["IMAGE_ENTRYPOINT"].split() + args
        log_path = self.tmp.join(log_name)
        started = time.monotonic()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log,
                                    stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        # Its first line says it listens; EOF if it died; a minute without either: it hangs.
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        if not ready:
            proc.kill()
            proc.wait()
            self.fail("%s printed nothing in 60 s (log: %s)" % (conf["IMAGE_ENTRYPOINT"], log_path))
        line = proc.stdout.readline().decode()
        return proc, line, time.monotonic() - started, started

    def start_function(self):
        """The function image's entrypoint in its own root; returns (process, seconds until
        listening, start time)."""
        root = random_credentials("SPKROOT")  # its IAM needs one; nobody signs with it
        proc, line, listening, started = self.start_image(
            self.rootfs, image_conf(), {
                "SPARKIFY_BUCKET": self.bucket,
                "SPARKIFY_S3_ENDPOINT": self.store.endpoint,
                "AWS_ACCESS_KEY_ID": self.function_key[0],
                "AWS_SECRET_ACCESS_KEY": self.function_key[1],
                "SPARKIFY_ROOT_ACCESS_KEY_ID": root[0],
                "SPARKIFY_ROOT_SECRET_ACCESS_KEY": root[1],
            },
            # As `docker run IMAGE --allow-private-fetch` would: the covers are on loopback here;
            # and the web app's signed invokes are checked against its mounted user.
            ["--allow-private-fetch", "--iam-data", "/tmp/invokers"],
            [(self.invokers, "/tmp/invokers")], "function.log")
        type(self).function = proc
        self.assertIn("sparkify function listening on http://0.0.0.0:8080", line,
                      "function did not start: %r\n%s" % (line, self.log_tail()))
        self.assertNotIn("worker init failed", line, self.log_tail())
        return proc, listening, started

    def log_tail(self, name="function.log"):
        try:
            with open(self.tmp.join(name), "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def curl(self, payload):
        """The seed's test command (with the container's port: there is no -p mapping here)."""
        out = subprocess.run(
            ["curl", "-sS", "--max-time", "300", "http://localhost:8080" + INVOKE_PATH, "-d",
             json.dumps(payload)], capture_output=True, check=True)
        return json.loads(out.stdout)

    def fetch_cutout(self, key):
        """Through a presigned URL, as the web app shows it."""
        env = clean_env(AWS_ACCESS_KEY_ID=self.store.root[0],
                        AWS_SECRET_ACCESS_KEY=self.store.root[1])
        url = subprocess.check_output(
            [sparkify_binary(), "presign", "s3://%s/%s" % (self.bucket, key), "--endpoint",
             self.store.endpoint], text=True, env=env).strip()
        return subprocess.run(["curl", "-sSf", url], capture_output=True, check=True).stdout

    def test_seed_curl_returns_cutouts_from_a_read_only_root(self):
        proc, listening, started = self.start_function()
        # Cold start: from starting the sandbox to the answer of a first one-cover invoke.
        answer = self.curl({"op": "segment", "urls": [self.url("astronaut.png")]})
        cold = time.monotonic() - started
        self.assertEqual(answer.get("statusCode"), 200, json.dumps(answer)[:2000])

        # The seed's test, verbatim shape: five covers, about 60% of them cut out.
        covers = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "horse.png"]
        t0 = time.monotonic()
        answer = self.curl({"body": {"urls": [self.url(c) for c in covers]}})
        seed = time.monotonic() - t0
        self.assertEqual(answer.get("statusCode"), 200, json.dumps(answer)[:2000])
        body = answer["body"]
        self.assertFalse(body.get("errors"), body.get("errors"))
        cropped = body["cropped_image_data"]
        self.assertGreaterEqual(len(cropped), 1, json.dumps(body)[:2000])
        self.assertEqual(len(cropped) + len(body["uncropped_image_data"]), len(covers))
        for entry in cropped:
            self.assertTrue(entry["key"].startswith("cutouts/"), entry)
            self.assertTrue(is_rgba_png(self.fetch_cutout(entry["key"])), entry["key"])

        # Warm: one new cover per invocation, so each runs the model (1024 px).
        warm = []
        for cover in ["hubble_deep_field.jpg", "coins.png", "camera.png"]:
            t0 = time.monotonic()
            answer = self.curl({"op": "segment", "urls": [self.url(cover)]})
            warm.append(time.monotonic() - t0)
            self.assertEqual(answer.get("statusCode"), 200, json.dumps(answer)[:2000])
        # Warm, covers already cut out: a HEAD per cover, no model run.
        t0 = time.monotonic()
        self.curl({"body": {"urls": [self.url(c) for c in covers]}})
        cached = time.monotonic() - t0

        # The read-only root held: the process is alive and wrote nowhere but /tmp (bwrap's
        # --ro-bind makes any other write fail with EROFS, which would have failed an invoke).
        self.assertIsNone(proc.poll(), self.log_tail())
        self.record(**{
            "listening_s": round(listening, 2),
            "cold_start_to_first_answer_one_cover_s": round(cold, 2),
            "seed_curl_five_covers_s": round(seed, 2),
            "seed_curl_cutouts": len(cropped),
            "warm_one_new_cover_s": [round(w, 2) for w in warm],
            "warm_one_new_cover_median_s": round(statistics.median(warm), 2),
            "warm_five_cached_covers_s": round(cached, 2),
        })

    def test_web_image_serves_the_page_and_a_collage_of_its_samples(self):
        """The web app's image against the same store and the function's image: its page, its
        bundled samples, and a sample collage made through signed invokes (the covers the
        function cut out above are reused: a HEAD each; the others run the model)."""
        if type(self).function is None:  # this test alone
            self.start_function()
        proc, line, listening, _ = self.start_image(
            self.web_rootfs, image_conf("image-web.conf"), {
                "SPARKIFY_WEB_LISTEN": "0.0.0.0:%d" % WEB_PORT,
                "SPARKIFY_BUCKET": self.bucket,
                "SPARKIFY_S3_ENDPOINT": self.store.endpoint,
                "SPARKIFY_FUNCTION_URL": "http://127.0.0.1:8080",
                "AWS_ACCESS_KEY_ID": self.web_key[0],
                "AWS_SECRET_ACCESS_KEY": self.web_key[1],
            }, [], [], "web.log")
        type(self).web = proc
        self.assertIn("sparkify web listening on http://0.0.0.0:%d" % WEB_PORT, line,
                      "web app did not start: %r\n%s" % (line, self.log_tail("web.log")))
        base = "http://127.0.0.1:%d" % WEB_PORT

        status, headers, page = http_request("GET", base + "/")
        self.assertEqual(status, 200, page[:500])
        self.assertTrue(headers["Content-Type"].startswith("text/html"), headers["Content-Type"])
        self.assertIn(b"<title>Sparkify", page)
        status, _, config = http_request("GET", base + "/api/config")
        self.assertEqual(status, 200, config[:500])
        self.assertTrue(json.loads(config)["samples"], config)

        t0 = time.monotonic()
        status, _, raw = http_request("POST", base + "/api/jobs", b'{"sample": true, "seed": 7}')
        self.assertEqual(status, 202, raw[:2000])
        job_id = json.loads(raw)["id"]
        deadline = time.monotonic() + 120
        while True:
            status, _, raw = http_request("GET", base + "/api/jobs/" + job_id)
            self.assertEqual(status, 200, raw[:2000])
            job = json.loads(raw)
            if job["state"] != "running" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        collage_s = time.monotonic() - t0
        self.assertEqual(job["state"], "done", json.dumps(job)[:3000] + self.log_tail("web.log"))
        # Every sample the image holds is a cover and is cut out or shown whole, but the one
        # made to fail (truncated.jpg, which the web app may also leave out of the set).
        with open(os.path.join(self.web_rootfs, "opt/sparkify/samples/index.tsv")) as f:
            listed = len(f.read().strip().splitlines()) - 1
        self.assertGreaterEqual(len(job["covers"]), listed - 1, json.dumps(job)[:3000])
        self.assertEqual([c for c in job["covers"]
                          if c["state"] != "done" and c["name"] != "truncated"], [],
                         json.dumps(job)[:3000])
        items = job["collage"]["items"]
        cutouts = [i for i in items if i["kind"] == "cutout"]
        self.assertTrue(cutouts, json.dumps(job["collage"])[:2000])
        # A cut-out as the page shows it: the presigned URL the web app signed, from the store.
        status, _, png = http_request("GET", cutouts[0]["url"])
        self.assertEqual(status, 200)
        self.assertTrue(is_rgba_png(png))
        # The read-only root held for both.
        self.assertIsNone(proc.poll(), self.log_tail("web.log"))
        self.assertIsNone(type(self).function.poll(), self.log_tail())
        self.record(**{
            "web_listening_s": round(listening, 2),
            "web_sample_collage_s": round(collage_s, 2),
            "web_sample_covers": len(job["covers"]),
            "web_sample_cutouts": len(cutouts),
        })


def outer():
    """Builds the images, then runs this file again inside a private network namespace."""
    require(os.environ.get("SPARKIFY_TEST_SANDBOX") == "1",
            "set SPARKIFY_TEST_SANDBOX=1 (as root) to build the images and run them in a sandbox")
    require(os.geteuid() == 0, "the sandbox test builds the images with debootstrap: run as root")
    sparkify_binary()
    if not shutil.which("bwrap"):  # the opt-in run's own tool, like build-image.sh's
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "bubblewrap"], check=True, env=dict(os.environ,
                                                            DEBIAN_FRONTEND="noninteractive"))
    build_dir = os.environ["SPARKIFY_BUILD_DIR"]
    out = os.path.join(build_dir, "deploy-image")
    # Both images from one stage (one apt-get install).
    subprocess.run([os.path.join(HERE, "build-image.sh"), "--image", "all", "--build-dir",
                    build_dir, "--out", out], check=True)
    dirs = {"function": out, "web": os.path.join(out, "web")}
    for name, folder in dirs.items():
        with open(os.path.join(folder, "image-sizes.json")) as f:
            sizes = json.load(f)
        print("%s image sizes: %s" % (name, json.dumps(sizes)))
        if name == "function" and sizes["unpacked_bytes"] > FUNCTION_IMAGE_BUDGET:
            sys.exit("the function's image is %d bytes unpacked, over its budget of %d"
                     % (sizes["unpacked_bytes"], FUNCTION_IMAGE_BUDGET))
        check_image_files(name, os.path.join(folder, "image-files.txt"))
        check_archive(name, os.path.join(out, "sparkify-%s.tar" % name))
    env = dict(os.environ, SPARKIFY_SANDBOX_INNER="1",
               SPARKIFY_SANDBOX_ROOTFS=os.path.join(out, "rootfs"),
               SPARKIFY_SANDBOX_WEB_ROOTFS=os.path.join(out, "web", "rootfs"),
               SPARKIFY_SANDBOX_RESULTS=os.path.join(out, "sandbox-results.json"))
    rc = subprocess.run(["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent",
                         "--", sys.executable, "-B", os.path.abspath(__file__)], env=env).returncode
    sys.exit(rc)


def check_paths(name, paths, where):
    """An image's paths: what it must hold is there (the model, or the samples), what the
    other image holds is not, and no secrets are."""
    sys.path.insert(0, HERE)
    from test_deploy import secret_paths  # noqa: E402
    _, present, absent = IMAGES[name]
    for want in present:
        if want not in paths:
            sys.exit("%s %s lacks %s" % (name, where, want))
    for unwanted in absent:
        if any(p == unwanted or p.startswith(unwanted + "/") for p in paths):
            sys.exit("%s %s holds %s" % (name, where, unwanted))
    bad = secret_paths(paths)
    if bad:
        sys.exit("%s %s holds secrets: %s" % (name, where, bad))


def check_image_files(name, listing):
    """The built image's every path."""
    with open(listing) as f:
        check_paths(name, [line.rstrip("\n") for line in f], "image")


def check_archive(name, path):
    """The `docker load` archive: its tag, the image's run configuration, and the files of
    every layer."""
    conf = image_conf(IMAGES[name][0])
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        if manifest[0]["RepoTags"] != ["docker.io/library/sparkify-%s:latest" % name]:
            sys.exit("archive tag: %s" % manifest[0]["RepoTags"])
        config = json.load(archive.extractfile(manifest[0]["Config"]))
        c = config["config"]
        if (c["Entrypoint"] != conf["IMAGE_ENTRYPOINT"].split() or c["User"] != conf["IMAGE_USER"]
                or sorted(c["Env"]) != sorted(conf["IMAGE_ENV"].split())
                or c["WorkingDir"] != conf["IMAGE_WORKDIR"] or config["architecture"] != "amd64"
                or list(c.get("ExposedPorts", {})) != [conf["IMAGE_PORT"]]):
            sys.exit("%s archive config differs from %s: %s" % (name, IMAGES[name][0],
                                                                 json.dumps(config)))
        paths = []
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=archive.extractfile(layer)) as t:
                paths += ["/" + n.lstrip("./") for n in t.getnames()]
    check_paths(name, paths, "archive's layers")
    print("%s docker archive: %d layers, %d paths, config as %s"
          % (name, len(manifest[0]["Layers"]), len(paths), IMAGES[name][0]))


if __name__ == "__main__":
    if os.environ.get("SPARKIFY_SANDBOX_INNER") == "1":
        unittest.main(verbosity=2)
    else:
        outer()
