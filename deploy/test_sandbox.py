"""The function's image, run as Lambda's environment runs it, without Docker: build the image
with deploy/build-image.sh, then start its entrypoint from the image's root file system under
bubblewrap with the root read-only, a tmpfs /tmp, an unprivileged user, and no network but
the sandbox's own loopback; the seed's curl command must return a cut-out.

Opt-in (it builds the image: a few minutes): SPARKIFY_TEST_SANDBOX=1, as root. Otherwise
ctest reports it skipped.

Layout: this file re-runs itself inside `bwrap --unshare-net` (a private network namespace
with only lo). There it starts, on loopback, what the function talks to and that the image
must never contain: our store (from the build tree; the bucket, and a user whose policy is
`sparkify policy --principal function`, the one the AWS template grants) and a small HTTP
server with the sample covers. Then the image's entrypoint, with image.conf's environment,
runs in a second bwrap whose root is the image. Timings go to SPARKIFY_SANDBOX_RESULTS.
"""
import http.server
import json
import os
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
from support.store import (Store, TempDir, clean_env, random_credentials, require,  # noqa: E402
                           sparkify_binary, _die_with_parent)

SAMPLES = os.path.join(os.environ.get("SPARKIFY_CACHE") or os.path.expanduser("~/.cache/sparkify"),
                       "samples")
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


def image_conf():
    conf = {}
    with open(os.path.join(HERE, "image", "image.conf")) as f:
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


class SandboxTest(unittest.TestCase):
    """Runs inside the private network namespace."""

    @classmethod
    def setUpClass(cls):
        cls.rootfs = os.environ["SPARKIFY_SANDBOX_ROOTFS"]
        cls.tmp = TempDir("sparkify-sandbox-")
        cls.bucket = "sparkify-sandbox"
        # The function's least-privilege user, made before the store starts.
        data = cls.tmp.join("data")
        os.makedirs(data)
        policy_file = cls.tmp.join("function-policy.json")
        with open(policy_file, "w") as f:
            f.write(subprocess.check_output([sparkify_binary(), "policy", "--bucket", cls.bucket,
                                             "--principal", "function"], text=True))
        user = json.loads(subprocess.check_output(
            [sparkify_binary(), "user", "create", "function", "--data", data,
             "--policy", policy_file], text=True, env=clean_env()))
        cls.function_key = (user["access_key_id"], user["secret_access_key"])
        cls.store = Store(data, args=["--create-bucket", cls.bucket]).start()
        # The covers, on loopback (the sandbox has no internet).
        handler = lambda *a, **kw: QuietHandler(*a, directory=SAMPLES, **kw)  # noqa: E731
        cls.images = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=cls.images.serve_forever, daemon=True).start()
        cls.function = None

    @classmethod
    def tearDownClass(cls):
        if cls.function is not None and cls.function.poll() is None:
            cls.function.terminate()
            try:
                cls.function.wait(20)
            except subprocess.TimeoutExpired:
                cls.function.kill()
                cls.function.wait()
        if cls.function is not None:
            cls.function.stdout.close()
        cls.images.shutdown()
        cls.images.server_close()
        cls.store.stop()
        cls.tmp.cleanup()

    def url(self, name):
        return "http://127.0.0.1:%d/%s" % (self.images.server_address[1], name)

    def start_function(self):
        """The image's entrypoint in its own root; returns (process, seconds until listening)."""
        conf = image_conf()
        uid, gid = conf["IMAGE_USER"].split(":")
        cmd = ["bwrap", "--ro-bind", self.rootfs, "/", "--tmpfs", "/tmp", "--proc", "/proc",
               "--dev", "/dev", "--unshare-user", "--uid", uid, "--gid", gid, "--unshare-pid",
               "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--chdir",
               conf["IMAGE_WORKDIR"], "--clearenv"]
        env = dict(kv.split("=", 1) for kv in conf["IMAGE_ENV"].split())
        env.update({
            "SPARKIFY_BUCKET": self.bucket,
            "SPARKIFY_S3_ENDPOINT": self.store.endpoint,
            "AWS_ACCESS_KEY_ID": self.function_key[0],
            "AWS_SECRET_ACCESS_KEY": self.function_key[1],
        })
        for k, v in sorted(env.items()):
            cmd += ["--setenv", k, v]
        # As `docker run IMAGE --allow-private-fetch` would: the covers are on loopback here.
        cmd += ["--"] + conf["IMAGE_ENTRYPOINT"].split() + ["--allow-private-fetch"]
        self.log_path = self.tmp.join("function.log")
        started = time.monotonic()
        with open(self.log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log,
                                    stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        type(self).function = proc
        line = proc.stdout.readline().decode()  # blocks until it listens, or EOF if it died
        listening = time.monotonic() - started
        self.assertIn("sparkify function listening on http://0.0.0.0:8080", line,
                      "function did not start: %r\n%s" % (line, self.log_tail()))
        self.assertNotIn("worker init failed", line, self.log_tail())
        return proc, listening, started

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
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
        results = {
            "listening_s": round(listening, 2),
            "cold_start_to_first_answer_one_cover_s": round(cold, 2),
            "seed_curl_five_covers_s": round(seed, 2),
            "seed_curl_cutouts": len(cropped),
            "warm_one_new_cover_s": [round(w, 2) for w in warm],
            "warm_one_new_cover_median_s": round(statistics.median(warm), 2),
            "warm_five_cached_covers_s": round(cached, 2),
        }
        print("sandbox results: " + json.dumps(results))
        if os.environ.get("SPARKIFY_SANDBOX_RESULTS"):
            with open(os.environ["SPARKIFY_SANDBOX_RESULTS"], "w") as f:
                json.dump(results, f, indent=2)


def outer():
    """Builds the image, then runs this file again inside a private network namespace."""
    require(os.environ.get("SPARKIFY_TEST_SANDBOX") == "1",
            "set SPARKIFY_TEST_SANDBOX=1 (as root) to build the image and run it in a sandbox")
    require(os.geteuid() == 0, "the sandbox test builds the image with debootstrap: run as root")
    sparkify_binary()
    if not shutil.which("bwrap"):  # the opt-in run's own tool, like build-image.sh's
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "bubblewrap"], check=True, env=dict(os.environ,
                                                            DEBIAN_FRONTEND="noninteractive"))
    build_dir = os.environ["SPARKIFY_BUILD_DIR"]
    out = os.path.join(build_dir, "deploy-image")
    subprocess.run([os.path.join(HERE, "build-image.sh"), "--build-dir", build_dir, "--out", out],
                   check=True)
    with open(os.path.join(out, "image-sizes.json")) as f:
        print("image sizes: " + json.dumps(json.load(f)))
    check_image_files(os.path.join(out, "image-files.txt"))
    check_archive(os.path.join(out, "sparkify-function.tar"))
    env = dict(os.environ, SPARKIFY_SANDBOX_INNER="1",
               SPARKIFY_SANDBOX_ROOTFS=os.path.join(out, "rootfs"),
               SPARKIFY_SANDBOX_RESULTS=os.path.join(out, "sandbox-results.json"))
    rc = subprocess.run(["bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent",
                         "--", sys.executable, "-B", os.path.abspath(__file__)], env=env).returncode
    sys.exit(rc)


def check_image_files(listing):
    """The built image's every path: the model is there, no secrets are."""
    sys.path.insert(0, HERE)
    from test_deploy import secret_paths  # noqa: E402
    with open(listing) as f:
        paths = [line.rstrip("\n") for line in f]
    for want in ("/opt/sparkify/model/model.sgraph", "/opt/sparkify/model/manifest.json",
                 "/opt/sparkify/bin/sparkify-ai"):
        if want not in paths:
            sys.exit("image lacks %s" % want)
    bad = secret_paths(paths)
    if bad:
        sys.exit("image holds secrets: %s" % bad)


def check_archive(path):
    """The `docker load` archive: its tag, image.conf's run configuration, and the files of
    every layer (the model there, no secrets)."""
    sys.path.insert(0, HERE)
    from test_deploy import secret_paths  # noqa: E402
    conf = image_conf()
    with tarfile.open(path) as archive:
        manifest = json.load(archive.extractfile("manifest.json"))
        if manifest[0]["RepoTags"] != ["docker.io/library/sparkify-function:latest"]:
            sys.exit("archive tag: %s" % manifest[0]["RepoTags"])
        config = json.load(archive.extractfile(manifest[0]["Config"]))
        c = config["config"]
        if (c["Entrypoint"] != conf["IMAGE_ENTRYPOINT"].split() or c["User"] != conf["IMAGE_USER"]
                or sorted(c["Env"]) != sorted(conf["IMAGE_ENV"].split())
                or c["WorkingDir"] != conf["IMAGE_WORKDIR"] or config["architecture"] != "amd64"):
            sys.exit("archive config differs from image.conf: %s" % json.dumps(config))
        paths = []
        for layer in manifest[0]["Layers"]:
            with tarfile.open(fileobj=archive.extractfile(layer)) as t:
                paths += ["/" + n.lstrip("./") for n in t.getnames()]
    if "/opt/sparkify/model/model.sgraph" not in paths:
        sys.exit("the archive's layers lack the model")
    if secret_paths(paths):
        sys.exit("the archive's layers hold secrets: %s" % secret_paths(paths))
    print("docker archive: %d layers, %d paths, config as image.conf" % (len(manifest[0]["Layers"]), len(paths)))


if __name__ == "__main__":
    if os.environ.get("SPARKIFY_SANDBOX_INNER") == "1":
        unittest.main(verbosity=2)
    else:
        outer()
