"""Durability under kill -9: 100 concurrent boto3 PUTs, the store killed while they run, then
restarted on the same data dir. Every acknowledged object must be intact, every listed object
must be one whole version some client sent, and nothing partial may be visible. Three rounds
kill at different points, and each restart re-checks the earlier rounds' buckets too."""
import concurrent.futures
import hashlib
import os
import random
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.clients import boto3_client, error_code, isolate_aws_config  # noqa: E402
from support.store import StoreTestCase, main, require  # noqa: E402

try:
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:
    HAVE_BOTO3 = False

KIB, MIB = 1 << 10, 1 << 20
PUTS = 100
OVERWRITTEN = 10  # keys that already hold an acknowledged version before the storm
WORKERS = 12


def md5(data):
    return hashlib.md5(data).hexdigest()


class Round:
    """One bucket's worth of writes: what was sent and what was acknowledged."""

    def __init__(self, bucket):
        self.bucket = bucket
        self.sent = {}     # key -> MD5s of every version some client sent
        self.acked = {}    # key -> MD5 of the last acknowledged version
        self.failed = 0


class CrashTest(StoreTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        isolate_aws_config(cls.tmp.path)

    def client(self):
        return boto3_client(self.store.endpoint, *self.store.root, max_pool_connections=16,
                            read_timeout=30)

    def storm(self, kill_after):
        """Runs PUTS concurrent PUTs into a fresh bucket and kill -9s the store after
        `kill_after` of them were acknowledged."""
        s3 = self.client()
        r = Round(self.unique("crash"))
        s3.create_bucket(Bucket=r.bucket)
        rng = random.Random()
        payloads = {"obj/%03d" % i: os.urandom(rng.randint(KIB, 2 * MIB)) for i in range(PUTS)}
        for key, data in payloads.items():
            r.sent[key] = {md5(data)}
        for key in list(payloads)[:OVERWRITTEN]:
            old = os.urandom(rng.randint(KIB, 2 * MIB))
            s3.put_object(Bucket=r.bucket, Key=key, Body=old)
            r.sent[key].add(md5(old))
            r.acked[key] = md5(old)

        lock = threading.Condition()
        acked_now = [0]

        def put(key):
            data = payloads[key]
            try:
                resp = s3.put_object(Bucket=r.bucket, Key=key, Body=data)
            except Exception:  # connection reset or refused once the store is gone
                with lock:
                    r.failed += 1
                return
            with lock:
                assert resp["ETag"] == '"%s"' % md5(data), (key, resp["ETag"])
                r.acked[key] = md5(data)
                acked_now[0] += 1
                lock.notify_all()

        keys = list(payloads)
        rng.shuffle(keys)
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            futures = [pool.submit(put, k) for k in keys]
            with lock:
                reached = lock.wait_for(lambda: acked_now[0] >= kill_after, timeout=90)
                self.store.kill()
            for f in futures:
                f.result()
        self.assertTrue(reached, "only %d PUTs acknowledged in 90 s" % acked_now[0])
        self.assertGreater(r.failed, 0, "every PUT finished before kill -9: no crash tested")
        print("\n  kill -9 with %d PUTs acknowledged, %d failed" % (acked_now[0], r.failed),
              file=sys.stderr)
        return r

    def verify(self, r):
        s3 = self.client()
        listed = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=r.bucket):
            for o in page.get("Contents", []):
                listed[o["Key"]] = o["Size"]
        self.assertLessEqual(set(listed), set(r.sent), "a key nobody wrote is listed")
        for key in sorted(r.acked):
            self.assertIn(key, listed, "acknowledged %s lost after kill -9" % key)
        for key, size in sorted(listed.items()):
            body = s3.get_object(Bucket=r.bucket, Key=key)["Body"].read()
            self.assertEqual(len(body), size, "%s: listed size differs from its body" % key)
            got = md5(body)
            self.assertIn(got, r.sent[key], "%s holds bytes no client sent (partial?)" % key)
            if key in r.acked and got != r.acked[key]:
                # Only a newer PUT that was in flight at the kill may have replaced it.
                self.assertEqual(len(r.sent[key]), 2, "%s: acknowledged version lost" % key)
        for key in set(r.sent) - set(listed):
            with self.assertRaises(ClientError) as cm:
                s3.head_object(Bucket=r.bucket, Key=key)
            self.assertEqual(error_code(cm.exception), "404")
        return len(listed)

    def test_kill_9_during_concurrent_puts(self):
        rounds = []
        for kill_after in (40, 15, 70):
            with self.subTest(kill_after=kill_after):
                rounds.append(self.storm(kill_after))
                self.store.start()
                for r in rounds:
                    self.verify(r)
        s3 = self.client()
        s3.put_object(Bucket=rounds[0].bucket, Key="after/restart", Body=b"alive")
        self.assertEqual(s3.get_object(Bucket=rounds[0].bucket, Key="after/restart")["Body"].read(),
                         b"alive")


if __name__ == "__main__":
    require(HAVE_BOTO3, "boto3 is not importable by %s" % sys.executable)
    main()
