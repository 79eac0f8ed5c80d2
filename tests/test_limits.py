"""Limits against abuse, on raw sockets so the test controls every byte: an oversized PUT is
refused from its headers alone, a client that dribbles its headers is cut off, and connections
beyond --max-connections get 503 SlowDown. Also the forged or malformed signed requests no real
client sends (wrong payload hash, skewed clock, wrong region), and start/stop behaviour."""
import datetime
import hashlib
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.clients import (boto3_client, connect, parse_error, raw_head,  # noqa: E402
                             read_response, sign_headers)
from support.store import (Store, StoreTestCase, TempDir, clean_env, main, poll,  # noqa: E402
                           random_credentials, sparkify_binary)

MAX_OBJECT = 1 << 20


class Signed:
    """Builds signed raw requests for one store."""

    def __init__(self, store):
        self.store = store

    def head(self, method, path, extra=None, payload_hash="UNSIGNED-PAYLOAD", **kw):
        headers = sign_headers(method, "127.0.0.1:%d" % self.store.port, path, *self.store.root,
                               headers=extra, payload_hash=payload_hash, **kw)
        return raw_head(method, path, headers)

    def request(self, method, path, body=b"", extra=None, timeout=10, **kw):
        extra = dict(extra or {})
        if method in ("PUT", "POST"):
            extra["content-length"] = str(len(body))
        with connect(self.store.port, timeout) as sock:
            sock.sendall(self.head(method, path, extra, **kw) + body)
            return read_response(sock, method)


class SignedStoreTestCase(StoreTestCase):
    """A store, raw signed requests to it (self.signed), and a bucket of our own."""
    BUCKET_PREFIX = "b"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.signed = Signed(cls.store)
        cls.bucket = cls.unique(cls.BUCKET_PREFIX)
        status, _, body = cls.signed.request("PUT", "/" + cls.bucket)
        assert status == 200, body


class ObjectSizeAndHeaderTimeoutTest(SignedStoreTestCase):
    STORE_ARGS = ("--max-object-size", str(MAX_OBJECT), "--header-timeout", "1")

    BUCKET_PREFIX = "lim"

    def test_put_at_the_limit_is_accepted(self):
        status, _, body = self.signed.request("PUT", "/%s/exact" % self.bucket, b"x" * MAX_OBJECT)
        self.assertEqual(status, 200, body)

    def test_oversized_put_refused_before_the_body(self):
        for expect in (False, True):
            with self.subTest(expect_100_continue=expect):
                extra = {"content-length": str(MAX_OBJECT + 1)}
                if expect:
                    extra["expect"] = "100-continue"
                start = time.monotonic()
                with connect(self.store.port, timeout=5) as sock:
                    # Headers only: a server that waits for the body would time us out here.
                    sock.sendall(self.signed.head("PUT", "/%s/too-big" % self.bucket, extra))
                    try:
                        status, headers, body = read_response(sock, "PUT")
                    except (socket.timeout, ConnectionError) as e:
                        self.fail("no answer to the headers of an oversized PUT (%r): the "
                                  "server waits for a body it is going to refuse" % e)
                self.assertLess(time.monotonic() - start, 3)
                self.assertEqual(status, 400, body)
                self.assertEqual(parse_error(body)[0], "EntityTooLarge", body)
                self.assertIn("x-amz-request-id", headers)
        status, _, body = self.signed.request("GET", "/%s/too-big" % self.bucket)
        self.assertEqual((status, parse_error(body)[0]), (404, "NoSuchKey"), body)

    def test_slow_headers_are_cut_off(self):
        # One header byte every 0.2 s: always progressing, never finishing. --header-timeout 1.
        head = self.signed.head("GET", "/%s/whatever" % self.bucket)
        start = time.monotonic()
        answer = None
        with connect(self.store.port) as sock:
            sock.settimeout(0.2)  # the pace of the trickle
            for i in range(len(head) - 2):  # never the final CRLF
                if time.monotonic() - start > 6:
                    break
                try:
                    sock.sendall(head[i:i + 1])
                    answer = sock.recv(4096)
                except socket.timeout:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    answer = b""
                break
        elapsed = time.monotonic() - start
        self.assertIsNotNone(answer, "a client sending headers byte by byte was never cut off")
        self.assertLess(elapsed, 4)
        self.assertGreater(elapsed, 0.5)
        if answer:  # an answer is optional, but if there is one it is a clean HTTP error
            self.assertRegex(answer, rb"^HTTP/1\.1 (400|408) ")

    def test_oversized_headers_are_refused(self):
        head = self.signed.head("GET", "/%s/x" % self.bucket, {"x-amz-meta-pad": "p" * 20000})
        with connect(self.store.port, timeout=5) as sock:
            try:
                sock.sendall(head)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may stop reading as soon as the limit is passed
            status, _, body = read_response(sock)
        self.assertEqual(status, 400, body)
        self.assertIsNotNone(parse_error(body)[0], body)

    def test_idle_connection_is_closed(self):
        with connect(self.store.port, timeout=5) as sock:
            start = time.monotonic()
            self.assertEqual(sock.recv(1), b"")  # closed by the server, not our 5 s timeout
            self.assertLess(time.monotonic() - start, 4)

    def test_store_still_serves_after_abuse(self):
        status, _, body = self.signed.request("PUT", "/%s/fine" % self.bucket, b"fine")
        self.assertEqual(status, 200, body)
        status, _, body = self.signed.request("GET", "/%s/fine" % self.bucket)
        self.assertEqual((status, body), (200, b"fine"))


class ForgedRequestTest(SignedStoreTestCase):
    """Signed requests that are wrong in ways the real clients never are."""

    BUCKET_PREFIX = "raw"

    def assertError(self, response, status, code):
        got_status, _, body = response
        self.assertEqual((got_status, parse_error(body)[0]), (status, code), body)

    def test_signed_payload_hash_must_match_the_body(self):
        path = "/%s/hashed" % self.bucket
        good = hashlib.sha256(b"the body").hexdigest()
        self.assertEqual(self.signed.request("PUT", path, b"the body", payload_hash=good)[0], 200)
        self.assertError(self.signed.request("PUT", path, b"another body", payload_hash=good),
                         400, "XAmzContentSHA256Mismatch")
        status, _, body = self.signed.request("GET", path)
        self.assertEqual((status, body), (200, b"the body"))

    def test_missing_content_sha256(self):
        self.assertError(self.signed.request("GET", "/%s/x" % self.bucket, payload_hash=None),
                         400, "InvalidRequest")

    def test_skewed_clock(self):
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
        self.assertError(self.signed.request("GET", "/%s" % self.bucket, when=old),
                         403, "RequestTimeTooSkewed")

    def test_wrong_region_and_garbage_authorization(self):
        self.assertError(self.signed.request("GET", "/%s" % self.bucket, region="eu-west-1"),
                         400, "AuthorizationHeaderMalformed")
        head = raw_head("GET", "/%s" % self.bucket, {
            "host": "127.0.0.1:%d" % self.store.port, "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "authorization": "AWS4-HMAC-SHA256 nonsense"})
        with connect(self.store.port) as sock:
            sock.sendall(head)
            self.assertError(read_response(sock), 400, "AuthorizationHeaderMalformed")


def connect_from(port, source, timeout=10):
    """A connection to the store from another loopback address (127.0.0.0/8 is all ours)."""
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0))


class ConnectionLimitsTest(SignedStoreTestCase):
    """Connections beyond the limits: silent ones make room, busy ones never do."""
    LIMIT = 4
    PER_IP = 3
    STORE_ARGS = ("--max-connections", str(LIMIT), "--max-connections-per-ip", str(PER_IP))

    BUCKET_PREFIX = "limits"

    def busy(self, sock):
        """Starts a signed PUT whose body never finishes: its handler is waiting for it."""
        extra = {"content-length": "1000"}
        sock.sendall(self.signed.head("PUT", "/%s/busy" % self.bucket, extra) + b"x" * 10)
        return sock

    def served(self, source=None):
        with (connect(self.store.port) if source is None
              else connect_from(self.store.port, source)) as sock:
            sock.sendall(self.signed.head("GET", "/"))
            return read_response(sock, "GET")

    def settle(self):
        # The server counts a connection once its reactor has accepted it, and forgets one
        # once it has seen it close: give it a moment.
        time.sleep(0.3)

    def tearDown(self):
        self.settle()

    def test_silent_connections_make_room_for_a_request(self):
        silent = [connect(self.store.port) for _ in range(self.LIMIT - 1)]
        silent.append(connect_from(self.store.port, "127.0.0.2"))
        try:
            self.settle()
            status, _, body = self.served("127.0.0.3")
            self.assertEqual(status, 200, body)
            silent[0].settimeout(3)
            self.assertEqual(silent[0].recv(1), b"", "the oldest silent connection was cut")
        finally:
            for sock in silent:
                sock.close()

    def test_busy_connections_over_the_limit_get_503_slowdown(self):
        busy = [self.busy(connect(self.store.port)) for _ in range(self.PER_IP)]
        busy.append(self.busy(connect_from(self.store.port, "127.0.0.2")))
        try:
            self.settle()
            status, headers, body = self.served("127.0.0.3")
            self.assertEqual(status, 503, body)
            self.assertEqual(parse_error(body)[0], "SlowDown", body)
            self.assertEqual(headers.get("content-type"), "application/xml")
            self.assertEqual(headers.get("retry-after"), "1")
        finally:
            for sock in busy:
                sock.close()
        status, _, body = poll(lambda: (lambda r: r if r[0] == 200 else None)(self.served()),
                               timeout=10, what="service after the busy connections closed")
        self.assertIn(b"ListAllMyBucketsResult", body)

    def test_one_address_is_capped_and_others_are_not(self):
        busy = [self.busy(connect(self.store.port)) for _ in range(self.PER_IP)]
        try:
            self.settle()
            status, _, body = self.served()
            self.assertEqual((status, parse_error(body)[0]), (503, "SlowDown"), body)
            status, _, body = self.served("127.0.0.2")
            self.assertEqual(status, 200, body)
        finally:
            for sock in busy:
                sock.close()


class ExpireTest(StoreTestCase):
    """--expire deletes objects under a prefix once they are old, as an S3 lifecycle rule."""
    STORE_ARGS = ("--expire", "uploads/=2s")

    def test_objects_under_the_prefix_expire_and_others_stay(self):
        s3 = boto3_client(self.store.endpoint, *self.store.root)
        bucket = self.unique("expire")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="uploads/old.png", Body=b"old")
        s3.put_object(Bucket=bucket, Key="collages/keep.png", Body=b"keep")
        s3.put_object(Bucket=bucket, Key="uploadsX", Body=b"not under uploads/")

        def gone():
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
            return keys if "uploads/old.png" not in keys else None

        # Written over 2 s ago and swept (every 1.5 s here): gone; the rest untouched.
        self.assertEqual(poll(gone, timeout=15, what="uploads/old.png expired"),
                         ["collages/keep.png", "uploadsX"])
        # A key written again is young again.
        s3.put_object(Bucket=bucket, Key="uploads/new.png", Body=b"new")
        self.assertEqual(s3.get_object(Bucket=bucket, Key="uploads/new.png")["Body"].read(),
                         b"new")


class StartAndStopTest(StoreTestCase):
    """Start-up refusals are clear and non-zero; SIGTERM stops promptly even with clients."""

    def run_store(self, *args, creds=True):
        env = clean_env()
        if creds:
            key_id, secret = random_credentials()
            env.update(SPARKIFY_ROOT_ACCESS_KEY_ID=key_id, SPARKIFY_ROOT_SECRET_ACCESS_KEY=secret)
        return subprocess.run([sparkify_binary(), "store", *args], capture_output=True, text=True,
                              env=env, timeout=20, stdin=subprocess.DEVNULL)

    def test_refusals_at_start(self):
        tmp = TempDir()
        try:
            not_a_dir = tmp.join("file")
            with open(not_a_dir, "w") as f:
                f.write("x")
            out = self.run_store("--data", not_a_dir, "--listen", "127.0.0.1:0")
            self.assertEqual(out.returncode, 2, out)
            self.assertIn("data dir", out.stderr)
            out = self.run_store("--data", tmp.join("d"), "--listen", "127.0.0.1:0", creds=False)
            self.assertEqual(out.returncode, 2, out)
            self.assertIn("SPARKIFY_ROOT_ACCESS_KEY_ID", out.stderr)
            out = self.run_store("--data", tmp.join("d"), "--listen", "127.0.0.1:%d" % self.store.port)
            self.assertNotEqual(out.returncode, 0, out)
            self.assertTrue(out.stderr.strip(), "a busy port must be reported")
            # A bucket no S3 client could address is refused, not made unreachable.
            for bad in ("My_Bucket", "ab", "bucket..dots", "192.168.1.1", "-dash"):
                out = self.run_store("--data", tmp.join("d"), "--listen", "127.0.0.1:0",
                                     "--create-bucket", bad)
                self.assertEqual(out.returncode, 2, out)
                self.assertIn("--create-bucket %s: not a valid S3 bucket name" % bad, out.stderr)
            self.assertFalse(os.path.exists(tmp.join("d", "buckets", "My_Bucket")))
            out = self.run_store("--data", tmp.join("d"), "--listen", "127.0.0.1:0",
                                 "--min-free", "lots")
            self.assertNotEqual(out.returncode, 0, out)
            self.assertIn("--min-free", out.stderr)
            for bad in ("uploads/", "uploads/=", "uploads/=0", "uploads/=3w", "x=99999d"):
                out = self.run_store("--data", tmp.join("d"), "--listen", "127.0.0.1:0",
                                     "--expire", bad)
                self.assertEqual(out.returncode, 2, out)
                self.assertIn("--expire %s: expected PREFIX=AGE" % bad, out.stderr)
        finally:
            tmp.cleanup()

    def test_sigterm_with_open_connections(self):
        store = Store(self.tmp.join("data2")).start()
        try:
            idle = connect(store.port)
            busy = connect(store.port)
            busy.sendall(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
            start = time.monotonic()
            self.assertEqual(store.stop(timeout=10), 0)
            self.assertLess(time.monotonic() - start, 5)
            idle.close()
            busy.close()
        finally:
            store.kill()


if __name__ == "__main__":
    main()
