"""Debian's awscli v2 (/usr/bin/aws) and curl against a real `sparkify store` on loopback:
buckets, small and multipart copies both ways, listings, awkward keys, presigned URLs (awscli's
and sparkify's) and the 403s of tampered, expired, unsigned and wrongly signed requests."""
import hashlib
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.clients import AWS_CLI, AwsCli, curl, parse_error  # noqa: E402
from support.store import StoreTestCase, clean_env, main, poll, random_credentials, require, sparkify_binary  # noqa: E402

MIB = 1 << 20


def write_random(path, size):
    data = os.urandom(size)
    with open(path, "wb") as f:
        f.write(data)
    return data


def read(path):
    with open(path, "rb") as f:
        return f.read()


def multipart_etag(data, part_size):
    digests = b"".join(hashlib.md5(data[i:i + part_size]).digest()
                       for i in range(0, len(data), part_size))
    return '"%s-%d"' % (hashlib.md5(digests).hexdigest(), (len(data) + part_size - 1) // part_size)


class AwsCliTest(StoreTestCase):
    FIXTURES = ["pre/file.txt", "pre/other.txt", "pre/exp.txt", "pre/private.txt", "spk/get.txt"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.aws = AwsCli(cls.store.endpoint, *cls.store.root, cls.tmp.join("aws"))
        cls.bucket = cls.unique("cli")
        cls.aws.run("s3", "mb", "s3://" + cls.bucket)
        # Objects the presign tests read, uploaded in one go; each holds its own key.
        fixtures = cls.tmp.join("fixtures")
        for key in cls.FIXTURES:
            os.makedirs(os.path.join(fixtures, os.path.dirname(key)), exist_ok=True)
            with open(os.path.join(fixtures, key), "wb") as f:
                f.write(key.encode())
        cls.aws.run("s3", "cp", "--recursive", fixtures, "s3://%s/" % cls.bucket)

    def setUp(self):
        self.work = self.tmp.join(self.id().rsplit(".", 1)[-1])
        os.makedirs(self.work, exist_ok=True)

    def path(self, name):
        return os.path.join(self.work, name)

    def put_bytes(self, key, data):
        local = self.path("upload.tmp")
        with open(local, "wb") as f:
            f.write(data)
        self.aws.run("s3", "cp", local, "s3://%s/%s" % (self.bucket, key))

    def put_many(self, keys):
        """Uploads one small object per key (content = the key) with a single awscli call."""
        tree = self.path("tree")
        for key in keys:
            os.makedirs(os.path.join(tree, os.path.dirname(key)), exist_ok=True)
            with open(os.path.join(tree, key), "wb") as f:
                f.write(key.encode())
        self.aws.run("s3", "cp", "--recursive", tree, "s3://%s/" % self.bucket)

    def head(self, key):
        return self.aws.json("s3api", "head-object", "--bucket", self.bucket, "--key", key)

    def object_url(self, key):
        return "%s/%s/%s" % (self.store.endpoint, self.bucket, urllib.parse.quote(key, safe="/~"))

    def presign(self, key, expires=300):
        return self.aws.run("s3", "presign", "s3://%s/%s" % (self.bucket, key),
                            "--expires-in", str(expires)).stdout.strip()

    def sparkify_presign(self, key, *args):
        env = clean_env(AWS_ACCESS_KEY_ID=self.store.root[0],
                        AWS_SECRET_ACCESS_KEY=self.store.root[1])
        proc = subprocess.run([sparkify_binary(), "presign", "s3://%s/%s" % (self.bucket, key),
                               "--endpoint", self.store.endpoint, *args],
                              capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout.strip()

    def assertS3Error(self, result, status, code, message=None):
        self.assertEqual(result.status, status, result)
        got_code, got_message = parse_error(result.body)
        self.assertEqual(got_code, code, result)
        if message is not None:
            self.assertEqual(got_message, message, result)
        self.assertIn("x-amz-request-id", result.headers)

    # --- buckets ---

    def test_mb_ls_rb(self):
        name = self.unique("mb")
        self.aws.run("s3", "mb", "s3://" + name)
        self.assertIn(name, self.aws.run("s3", "ls").stdout)
        again = self.aws.run("s3", "mb", "s3://" + name, check=False)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("BucketAlreadyOwnedByYou", again.stderr)
        self.aws.run("s3", "rb", "s3://" + name)
        self.assertNotIn(name, self.aws.run("s3", "ls").stdout)

    # --- copies ---

    def test_small_file_round_trip(self):
        data = write_random(self.path("small.bin"), 1000)
        self.aws.run("s3", "cp", self.path("small.bin"), "s3://%s/small/one.bin" % self.bucket)
        head = self.head("small/one.bin")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertEqual(head["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        self.aws.run("s3", "cp", "s3://%s/small/one.bin" % self.bucket, self.path("back.bin"))
        self.assertEqual(read(self.path("back.bin")), data)

    def test_empty_file_round_trip(self):
        write_random(self.path("empty"), 0)
        self.aws.run("s3", "cp", self.path("empty"), "s3://%s/empty" % self.bucket)
        self.assertEqual(self.head("empty")["ContentLength"], 0)
        self.aws.run("s3", "cp", "s3://%s/empty" % self.bucket, self.path("empty.back"))
        self.assertEqual(read(self.path("empty.back")), b"")

    def test_20mib_multipart_round_trip(self):
        # awscli uploads 8 MiB parts concurrently (out of order) and downloads with ranged GETs.
        data = write_random(self.path("big.bin"), 20 * MIB)
        self.aws.run("s3", "cp", self.path("big.bin"), "s3://%s/big/20mib.bin" % self.bucket)
        head = self.head("big/20mib.bin")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertEqual(head["ETag"], multipart_etag(data, 8 * MIB))
        self.aws.run("s3", "cp", "s3://%s/big/20mib.bin" % self.bucket, self.path("big.back"))
        back = read(self.path("big.back"))
        self.assertEqual(len(back), len(data))
        self.assertTrue(back == data, "downloaded 20 MiB differ from what was uploaded")

    def test_sse_s3_multipart_copy_and_download(self):
        # `aws s3 cp --sse AES256`: 8 MiB parts, encrypted at rest, downloaded by ranges.
        data = write_random(self.path("sse.bin"), 18 * MIB)
        self.aws.run("s3", "cp", "--sse", "AES256", self.path("sse.bin"),
                     "s3://%s/sse/18mib.bin" % self.bucket)
        head = self.head("sse/18mib.bin")
        self.assertEqual(head["ServerSideEncryption"], "AES256")
        self.assertEqual(head["ETag"], multipart_etag(data, 8 * MIB))
        self.aws.run("s3", "cp", "s3://%s/sse/18mib.bin" % self.bucket, self.path("sse.back"))
        self.assertTrue(read(self.path("sse.back")) == data, "the encrypted object differs")
        # A server-side copy without --sse is a plain object again; with --sse kms, refused.
        self.aws.run("s3api", "copy-object", "--bucket", self.bucket, "--key", "sse/plain-copy.bin",
                     "--copy-source", "%s/sse/18mib.bin" % self.bucket)
        self.assertNotIn("ServerSideEncryption", self.head("sse/plain-copy.bin"))
        kms = self.aws.run("s3", "cp", "--sse", "aws:kms", self.path("sse.bin"),
                           "s3://%s/sse/kms.bin" % self.bucket, check=False)
        self.assertNotEqual(kms.returncode, 0)
        self.assertIn("NotImplemented", kms.stderr)

    # --- keys that need escaping ---

    def test_awkward_keys(self):
        keys = ["café/ü ñ+x.png", "with space/a  b.txt", "plus+sign/a+b=c.txt",
                "pct/100%25 sure %41.txt", "sym/a&b=c;d,e@f$g'h(i)!~*.txt", "日本/語 テスト.txt"]
        src, back = self.path("src"), self.path("back")
        contents = {}
        for i, key in enumerate(keys):
            contents[key] = ("content %d of %s" % (i, key)).encode()
            os.makedirs(os.path.join(src, os.path.dirname(key)), exist_ok=True)
            with open(os.path.join(src, key), "wb") as f:
                f.write(contents[key])
        self.aws.run("s3", "cp", "--recursive", src, "s3://%s/awk/" % self.bucket)
        listing = self.aws.run("s3", "ls", "--recursive", "s3://%s/awk/" % self.bucket).stdout
        listed = sorted(line.split(None, 3)[3] for line in listing.splitlines())
        self.assertEqual(listed, sorted("awk/" + k for k in keys))
        one = self.aws.run("s3", "ls", "s3://%s/awk/café/" % self.bucket).stdout
        self.assertEqual([line.split(None, 3)[3] for line in one.splitlines()], ["ü ñ+x.png"])
        head = self.head("awk/plus+sign/a+b=c.txt")
        self.assertEqual(head["ContentLength"], len(contents["plus+sign/a+b=c.txt"]))
        self.aws.run("s3", "cp", "--recursive", "s3://%s/awk/" % self.bucket, back)
        for key, data in contents.items():
            self.assertEqual(read(os.path.join(back, key)), data, key)
        for key in ["café/ü ñ+x.png", "plus+sign/a+b=c.txt"]:
            got = curl(self.presign("awk/" + key), self.work)
            self.assertEqual((got.status, got.body), (200, contents[key]), got)
        # One file copied on its own both ways, as a user would type it.
        single = "s3://%s/one/café/ü ñ+x.png" % self.bucket
        self.aws.run("s3", "cp", os.path.join(src, "café/ü ñ+x.png"), single)
        self.aws.run("s3", "cp", single, self.path("single.back"))
        self.assertEqual(read(self.path("single.back")), contents["café/ü ñ+x.png"])
        # mv is CopyObject (an URL-encoded x-amz-copy-source) then DeleteObject.
        moved = "s3://%s/one/moved ü+.png" % self.bucket
        self.aws.run("s3", "mv", single, moved)
        self.assertEqual(self.head("one/moved ü+.png")["ContentLength"],
                         len(contents["café/ü ñ+x.png"]))
        self.assertNotIn("ü ñ+x.png", self.aws.run("s3", "ls", "--recursive",
                                                   "s3://%s/one/" % self.bucket).stdout)
        self.aws.run("s3", "rm", moved)
        self.aws.run("s3", "rm", "s3://%s/awk/café/ü ñ+x.png" % self.bucket)
        missing = self.aws.run("s3api", "head-object", "--bucket", self.bucket, "--key",
                               "awk/café/ü ñ+x.png", check=False)
        self.assertIn("404", missing.stderr)
        self.aws.run("s3", "rm", "--recursive", "s3://%s/awk/" % self.bucket)
        self.assertEqual(self.aws.run("s3", "ls", "--recursive", "s3://%s/awk/" % self.bucket,
                                      check=False).stdout, "")

    # --- listings ---

    def test_ls_prefixes_and_recursive(self):
        self.put_many(["ls/a.txt", "ls/other.txt", "ls/sub/b.txt", "ls/sub/deeper/c.txt", "lsx/no"])
        top = self.aws.run("s3", "ls", "s3://%s/ls/" % self.bucket).stdout.splitlines()
        entries = sorted(line.split()[-1] for line in top)
        self.assertEqual(entries, ["a.txt", "other.txt", "sub/"])
        self.assertTrue(any(line.split() == ["PRE", "sub/"] for line in top), top)
        rec = self.aws.run("s3", "ls", "--recursive", "s3://%s/ls/sub/" % self.bucket).stdout
        self.assertEqual(sorted(line.split()[-1] for line in rec.splitlines()),
                         ["ls/sub/b.txt", "ls/sub/deeper/c.txt"])
        partial = self.aws.run("s3", "ls", "s3://%s/ls/o" % self.bucket).stdout
        self.assertEqual([line.split()[-1] for line in partial.splitlines()], ["other.txt"])
        everything = self.aws.run("s3", "ls", "--recursive", "s3://%s/" % self.bucket).stdout
        keys = [line.split(None, 3)[-1] for line in everything.splitlines()]
        self.assertEqual(keys, sorted(keys, key=lambda k: k.encode()))
        self.assertIn("lsx/no", keys)

    def test_list_objects_v2_delimiter_and_pagination(self):
        flat = ["pg/%02d" % i for i in range(7)]
        nested = ["pg/d1/x", "pg/d1/y", "pg/d2/z"]
        self.put_many(flat + nested)

        def list_v2(*args):
            return self.aws.json("s3api", "list-objects-v2", "--bucket", self.bucket,
                                 "--prefix", "pg/", *args)

        # awscli following the store's continuation tokens, 2 entries per request.
        out = list_v2("--delimiter", "/", "--page-size", "2")
        self.assertEqual([o["Key"] for o in out["Contents"]], flat)
        self.assertEqual([p["Prefix"] for p in out["CommonPrefixes"]], ["pg/d1/", "pg/d2/"])
        # The same by hand, one request per call: pages end on keys and on prefixes alike.
        keys, prefixes, token, pages = [], [], None, 0
        while True:
            extra = ["--continuation-token", token] if token else []
            out = list_v2("--delimiter", "/", "--max-keys", "2", "--no-paginate", *extra)
            pages += 1
            self.assertLessEqual(out["KeyCount"], 2)
            keys += [o["Key"] for o in out.get("Contents", [])]
            prefixes += [p["Prefix"] for p in out.get("CommonPrefixes", [])]
            token = out.get("NextContinuationToken")
            self.assertEqual(out["IsTruncated"], token is not None)
            if not token:
                break
            self.assertLess(pages, 10, "pagination does not end")
        self.assertEqual((keys, prefixes, pages), (flat, ["pg/d1/", "pg/d2/"], 5))
        # awscli's own --max-items/--starting-token paging (without a delimiter: botocore's
        # client-side truncation does not keep CommonPrefixes across a cut).
        keys, token, pages = [], None, 0
        while True:
            extra = ["--starting-token", token] if token else []
            out = list_v2("--max-items", "4", "--page-size", "3", *extra)
            keys += [o["Key"] for o in out.get("Contents", [])]
            pages += 1
            token = out.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 10, "pagination does not end")
        self.assertEqual((keys, pages), (sorted(flat + nested), 3))

    # --- delete ---

    def test_rm_and_head_object(self):
        self.put_many(["rm/one", "rm/dir/two", "rm/dir/three"])
        self.assertEqual(self.head("rm/dir/three")["ContentLength"], len("rm/dir/three"))
        self.aws.run("s3", "rm", "s3://%s/rm/one" % self.bucket)
        missing = self.aws.run("s3api", "head-object", "--bucket", self.bucket, "--key", "rm/one",
                               check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("404", missing.stderr)
        self.aws.run("s3", "rm", "--recursive", "s3://%s/rm/" % self.bucket)
        self.assertEqual(self.aws.run("s3", "ls", "--recursive", "s3://%s/rm/" % self.bucket,
                                      check=False).stdout, "")
        gone = self.aws.run("s3api", "get-object", "--bucket", self.bucket, "--key", "rm/dir/two",
                            self.path("out"), check=False)
        self.assertIn("NoSuchKey", gone.stderr)

    # --- presigned URLs and refusals ---

    def test_presign_then_curl(self):
        url = self.presign("pre/file.txt")
        self.assertIn("X-Amz-Signature=", url)
        got = curl(url, self.work)
        self.assertEqual((got.status, got.body), (200, b"pre/file.txt"), got)

    def test_tampered_presigned_url(self):
        url = self.presign("pre/file.txt")
        i = url.index("X-Amz-Signature=") + len("X-Amz-Signature=") + 5
        flipped = url[:i] + ("0" if url[i] != "0" else "1") + url[i + 1:]
        self.assertS3Error(curl(flipped, self.work), 403, "SignatureDoesNotMatch")
        other_key = url.replace("/pre/file.txt?", "/pre/other.txt?")
        self.assertNotEqual(other_key, url)
        self.assertS3Error(curl(other_key, self.work), 403, "SignatureDoesNotMatch")
        longer = url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")
        self.assertNotEqual(longer, url)
        self.assertS3Error(curl(longer, self.work), 403, "SignatureDoesNotMatch")
        put = curl(url, self.work, method="PUT", headers=["Content-Type: text/plain"])
        self.assertS3Error(put, 403, "SignatureDoesNotMatch")

    def test_expired_presigned_url(self):
        # An awscli URL with a one-second life: refused with S3's message once it has passed.
        url = self.presign("pre/exp.txt", expires=1)
        result = poll(lambda: (lambda r: r if r.status == 403 else None)(curl(url, self.work)),
                      timeout=10, interval=0.25, what="the 1 s presigned URL to expire")
        self.assertS3Error(result, 403, "AccessDenied", "Request has expired")

    def test_sparkify_presign_in_the_past_is_expired(self):
        old = self.sparkify_presign("pre/exp.txt", "--date", "20200101T000000Z", "--expires", "60")
        self.assertIn("X-Amz-Date=20200101T000000Z", old)
        self.assertS3Error(curl(old, self.work), 403, "AccessDenied", "Request has expired")

    def test_unsigned_get_is_denied(self):
        self.assertS3Error(curl(self.object_url("pre/private.txt"), self.work), 403, "AccessDenied")
        # Not even the existence of a key or a bucket leaks to anonymous callers.
        self.assertS3Error(curl(self.object_url("pre/missing.txt"), self.work), 403, "AccessDenied")
        listing = curl("%s/%s?list-type=2" % (self.store.endpoint, self.bucket), self.work)
        self.assertS3Error(listing, 403, "AccessDenied")

    def test_sparkify_presign_then_curl(self):
        got = curl(self.sparkify_presign("spk/get.txt", "--expires", "120"), self.work)
        self.assertEqual((got.status, got.body), (200, b"spk/get.txt"), got)
        key = "spk/put café + space.txt"
        with open(self.path("put.txt"), "wb") as f:
            f.write(b"uploaded through a presigned PUT")
        put = curl(self.sparkify_presign(key, "--method", "PUT"), self.work, method="PUT",
                   data_file=self.path("put.txt"))
        self.assertEqual(put.status, 200, put)
        self.aws.run("s3", "cp", "s3://%s/%s" % (self.bucket, key), self.path("put.back"))
        self.assertEqual(read(self.path("put.back")), b"uploaded through a presigned PUT")

    def test_sparkify_presign_hostile_keys(self):
        keys = ["hk/sym/a&b=c;d,e@f$g'h(i)!~*.txt", "hk/pct/100%25 %41", "hk/q?u#e.txt",
                "hk/a//b", "hk/./dot", "hk/../up", "hk/日本/語 テスト.txt"]
        for i, key in enumerate(keys):
            with self.subTest(key=key):
                local = self.path("hk%d" % i)
                with open(local, "wb") as f:
                    f.write(key.encode())
                put = curl(self.sparkify_presign(key, "--method", "PUT"), self.work, method="PUT",
                           data_file=local)
                self.assertEqual(put.status, 200, put)
                got = curl(self.sparkify_presign(key), self.work)
                self.assertEqual((got.status, got.body), (200, key.encode()), got)
        listing = self.aws.run("s3", "ls", "--recursive", "s3://%s/hk/" % self.bucket).stdout
        self.assertEqual(sorted(line.split(None, 3)[3] for line in listing.splitlines()),
                         sorted(keys, key=lambda k: k.encode()))

    def test_wrong_secret(self):
        key_id, _ = self.store.root
        bad = self.aws.run("s3", "ls", "s3://%s/" % self.bucket, check=False, key_id=key_id,
                           secret=random_credentials()[1])
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("SignatureDoesNotMatch", bad.stderr)

    def test_unknown_access_key(self):
        bad = self.aws.run("s3", "ls", "s3://%s/" % self.bucket, check=False,
                           key_id=random_credentials("SPKNOPE")[0], secret=self.store.root[1])
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("InvalidAccessKeyId", bad.stderr)


if __name__ == "__main__":
    require(os.access(AWS_CLI, os.X_OK), "Debian's awscli v2 (%s) is not installed" % AWS_CLI)
    require(os.access("/usr/bin/curl", os.X_OK), "curl is not installed")
    main()
