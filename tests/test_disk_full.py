"""A full disk, on a small tmpfs of our own (a private mount namespace: the script re-runs itself
under `unshare`, as root or in a user namespace), driven by boto3:

- with a free-space reserve (--min-free), PUTs and part uploads stop at the reserve with 507
  XSparkifyStorageFull, a 5xx that says the server is out of space and names no server path;
  reads, deletes and then new PUTs go on;
- with no reserve, the API fills the disk until ENOSPC, which is the same 507; the disk is then
  filled to exactly 0 bytes; the store still starts on it (its format file is not rewritten),
  reads and deletes work, and a PUT works again once a delete made room;
- a new data dir on a full disk is refused at start in plain words.
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.clients import boto3_client, error_code  # noqa: E402
from support.store import (Store, TempDir, clean_env, main, random_credentials,  # noqa: E402
                           sparkify_binary)

MIB = 1 << 20
NAMESPACE_MARK = "SPARKIFY_DISK_FULL_TEST_NS"


def enter_private_mount_namespace():
    """Re-executes this script in a mount namespace of its own, so its tmpfs mounts are seen by
    nobody else and vanish with it. Not root: a user namespace maps us to root in it."""
    if os.environ.get(NAMESPACE_MARK) == "1":
        return
    cmd = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        cmd += ["--user", "--map-root-user"]
    env = dict(os.environ, **{NAMESPACE_MARK: "1"})
    os.execvpe("unshare", cmd + [sys.executable, "-B", os.path.abspath(sys.argv[0])] +
               sys.argv[1:], env)


def mount_tmpfs(path, size_bytes):
    os.makedirs(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0700" % size_bytes, "tmpfs", path],
                   check=True)


def available(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_with_a_file(path):
    """Writes a file into `path` until the disk refuses; returns its size."""
    written = 0
    chunk = b"\0" * 65536
    with open(os.path.join(path, "filler"), "wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    f.write(chunk[:size])
                    written += size
                except OSError:
                    break
    return written


def status_of(client_error):
    return client_error.response["ResponseMetadata"]["HTTPStatusCode"]


class DiskTestCase(unittest.TestCase):
    DISK_BYTES = 32 * MIB
    STORE_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir(prefix="sparkify-disk-")
        cls.disk = cls.tmp.join("disk")
        mount_tmpfs(cls.disk, cls.DISK_BYTES)
        cls.store = Store(os.path.join(cls.disk, "data"), log_dir=cls.tmp.path,
                          args=("--create-bucket", "full") + cls.STORE_ARGS).start()
        cls.s3 = boto3_client(cls.store.endpoint, *cls.store.root)

    @classmethod
    def tearDownClass(cls):
        cls.store.stop()
        subprocess.run(["umount", cls.disk], check=False)
        cls.tmp.cleanup()

    def put_until_refused(self, prefix, size=MIB, limit=200):
        body = os.urandom(size)
        keys = []
        for i in range(limit):
            key = "%s/%03d" % (prefix, i)
            try:
                self.s3.put_object(Bucket="full", Key=key, Body=body)
            except self.s3.exceptions.ClientError as e:
                return body, keys, e
            keys.append(key)
        self.fail("%d PUTs of %d bytes fitted on a %d-byte disk" % (limit, size, self.DISK_BYTES))

    def assert_out_of_space(self, e):
        self.assertEqual(status_of(e), 507, e.response)
        self.assertEqual(error_code(e), "XSparkifyStorageFull", e.response)
        message = e.response["Error"]["Message"]
        self.assertIn("out of storage space", message)
        self.assertNotIn(self.disk, str(e.response))
        self.assertNotIn("/", message)


class ReserveTest(DiskTestCase):
    STORE_ARGS = ("--min-free", "8MiB")

    def test_writes_stop_at_the_reserve_and_reads_and_deletes_go_on(self):
        body, keys, refusal = self.put_until_refused("reserve")
        self.assert_out_of_space(refusal)
        self.assertGreaterEqual(len(keys), 10)
        self.assertGreaterEqual(available(self.disk), 7 * MIB)
        # Nothing half-written: the refused key does not exist, the others read back whole.
        with self.assertRaises(self.s3.exceptions.ClientError) as missing:
            self.s3.head_object(Bucket="full", Key="reserve/%03d" % len(keys))
        self.assertEqual(status_of(missing.exception), 404)
        self.assertEqual(self.s3.get_object(Bucket="full", Key=keys[0])["Body"].read(), body)
        # A part upload meets the same reserve.
        upload = self.s3.create_multipart_upload(Bucket="full", Key="big")["UploadId"]
        with self.assertRaises(self.s3.exceptions.ClientError) as part:
            self.s3.upload_part(Bucket="full", Key="big", UploadId=upload, PartNumber=1,
                                Body=os.urandom(5 * MIB))
        self.assert_out_of_space(part.exception)
        self.s3.abort_multipart_upload(Bucket="full", Key="big", UploadId=upload)
        # Deletes make room; a PUT then works again.
        self.s3.delete_objects(Bucket="full", Delete={"Objects": [{"Key": k} for k in keys[:3]]})
        self.s3.put_object(Bucket="full", Key="after-delete", Body=body)
        self.assertEqual(self.s3.get_object(Bucket="full", Key="after-delete")["Body"].read(),
                         body)


class FullDiskTest(DiskTestCase):
    DISK_BYTES = 16 * MIB
    STORE_ARGS = ("--min-free", "0")

    def test_a_disk_filled_to_zero_bytes(self):
        body, keys, refusal = self.put_until_refused("fill")
        self.assert_out_of_space(refusal)  # ENOSPC itself, with no reserve
        fill_with_a_file(self.disk)
        self.assertEqual(available(self.disk), 0)
        # Reads work on a full disk; so does a restart (nothing is written at start).
        self.assertEqual(self.s3.get_object(Bucket="full", Key=keys[-1])["Body"].read(), body)
        self.assertEqual(self.store.stop(), 0)
        self.store.start()
        s3 = boto3_client(self.store.endpoint, *self.store.root)
        self.assertEqual(s3.get_object(Bucket="full", Key=keys[0])["Body"].read(), body)
        listed = s3.list_objects_v2(Bucket="full", Prefix="fill/")
        self.assertEqual([o["Key"] for o in listed["Contents"]], keys)
        with self.assertRaises(s3.exceptions.ClientError) as small:
            s3.put_object(Bucket="full", Key="tiny", Body=b"x" * 70000)
        self.s3 = s3
        self.assert_out_of_space(small.exception)
        # A new data dir on this disk cannot even be set up: said in plain words.
        key_id, secret = random_credentials()
        env = clean_env(SPARKIFY_ROOT_ACCESS_KEY_ID=key_id, SPARKIFY_ROOT_SECRET_ACCESS_KEY=secret)
        out = subprocess.run([sparkify_binary(), "store", "--data",
                              os.path.join(self.disk, "other"), "--listen", "127.0.0.1:0"],
                             capture_output=True, text=True, env=env, timeout=20,
                             stdin=subprocess.DEVNULL)
        self.assertEqual(out.returncode, 2, out)
        self.assertIn("full disk", out.stderr)
        # Deletes work and make room.
        s3.delete_object(Bucket="full", Key=keys[0])
        s3.delete_object(Bucket="full", Key=keys[1])
        s3.put_object(Bucket="full", Key="after-delete", Body=b"y" * 70000)
        self.assertEqual(s3.get_object(Bucket="full", Key="after-delete")["Body"].read(),
                         b"y" * 70000)


if __name__ == "__main__":
    enter_private_mount_namespace()
    main()
