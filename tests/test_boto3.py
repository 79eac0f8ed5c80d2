"""The machine's boto3 (botocore >= 1.36: signed x-amz-checksum-crc32 on every upload) against a
real `sparkify store` over plain HTTP: object CRUD, listing pagination, copy, batch delete,
multipart from threads in random order, ranges and conditions, metadata, checksums, Content-MD5,
presigned URLs (SigV4 accepted, SigV2 refused) and S3 error parsing."""
import concurrent.futures
import datetime
import hashlib
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.checksums import b64_crc32, b64_crc32c, b64_sha256, multipart_etag  # noqa: E402
from support.clients import (boto3_client, error_code, isolate_aws_config, md5_b64,  # noqa: E402
                             parse_error, sign_headers)
from support.store import StoreTestCase, main, require  # noqa: E402

try:
    import boto3  # noqa: F401
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:
    HAVE_BOTO3 = False

MIB = 1 << 20


def fetch(url, method="GET", data=None, headers=None):
    """(status, headers, body) of a plain urllib request; HTTP errors are results too."""
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Boto3Test(StoreTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        isolate_aws_config(cls.tmp.path)
        cls.s3 = boto3_client(cls.store.endpoint, *cls.store.root)
        cls.bucket = cls.unique("boto")
        cls.s3.create_bucket(Bucket=cls.bucket)

    def assertClientError(self, code, status, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        err = cm.exception
        self.assertEqual(error_code(err), code, err.response)
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], status, err.response)
        return err

    def body(self, key, **kw):
        return self.s3.get_object(Bucket=self.bucket, Key=key, **kw)["Body"].read()

    # --- basic object calls ---

    def test_put_get_head_delete(self):
        data = os.urandom(3000)
        sent = {}
        self.s3.meta.events.register_first(
            "before-send.s3.PutObject", lambda request, **_: sent.update(request.headers))
        try:
            put = self.s3.put_object(Bucket=self.bucket, Key="crud/obj", Body=data)
        finally:
            self.s3.meta.events.unregister("before-send.s3.PutObject")
        self.assertEqual(put["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        # botocore signed a CRC32 the store had to verify, and the store echoes it.
        self.assertEqual(sent.get("x-amz-checksum-crc32"), b64_crc32(data).encode())
        self.assertEqual(put.get("ChecksumCRC32"), b64_crc32(data))
        self.assertEqual(self.body("crud/obj"), data)
        head = self.s3.head_object(Bucket=self.bucket, Key="crud/obj")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertEqual(head["ETag"], put["ETag"])
        self.assertTrue(head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-id"))
        deleted = self.s3.delete_object(Bucket=self.bucket, Key="crud/obj")
        self.assertEqual(deleted["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertClientError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="crud/obj")
        self.assertClientError("404", 404, self.s3.head_object, Bucket=self.bucket, Key="crud/obj")
        # Deleting a missing key is not an error in S3.
        self.s3.delete_object(Bucket=self.bucket, Key="crud/obj")

    def test_keys_up_to_1024_bytes(self):
        key = "long/" + "é" * 509 + "x"  # 5 + 1018 + 1 = 1024 bytes of UTF-8
        self.assertEqual(len(key.encode()), 1024)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"long")
        self.assertEqual(self.body(key), b"long")
        self.assertClientError("KeyTooLongError", 400, self.s3.put_object, Bucket=self.bucket,
                               Key=key + "y", Body=b"too long")
        for odd in ["../../escape", "a/../../b", "./x", "//double", "dots/.."]:
            with self.subTest(key=odd):
                self.s3.put_object(Bucket=self.bucket, Key=odd, Body=odd.encode())
                self.assertEqual(self.body(odd), odd.encode())

    def test_concurrent_writers_to_one_key(self):
        versions = [os.urandom(random.randint(100_000, 600_000)) for _ in range(8)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda d: self.s3.put_object(Bucket=self.bucket, Key="race/one", Body=d),
                          versions))
        final = self.body("race/one")
        self.assertIn(hashlib.md5(final).hexdigest(),
                      [hashlib.md5(v).hexdigest() for v in versions])

    # --- listing ---

    def test_paginator_2500_keys_with_delimiter(self):
        bucket = self.unique("page")
        self.s3.create_bucket(Bucket=bucket)
        flat = ["k%04d" % i for i in range(2300)]
        nested = ["dir%03d/f" % i for i in range(200)] + ["dir%03d/g" % i for i in range(0, 200, 50)]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda k: self.s3.put_object(Bucket=bucket, Key=k, Body=k.encode()),
                          flat + nested))
        paginator = self.s3.get_paginator("list_objects_v2")
        keys, prefixes, pages = [], [], 0
        for page in paginator.paginate(Bucket=bucket, Delimiter="/",
                                       PaginationConfig={"PageSize": 1000}):
            pages += 1
            self.assertLessEqual(page["KeyCount"], 1000)
            self.assertEqual(page["KeyCount"],
                             len(page.get("Contents", [])) + len(page.get("CommonPrefixes", [])))
            keys += [o["Key"] for o in page.get("Contents", [])]
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        self.assertEqual(prefixes, ["dir%03d/" % i for i in range(200)])
        self.assertEqual(keys, flat)
        self.assertEqual(pages, 3)
        all_keys = [o["Key"] for page in paginator.paginate(Bucket=bucket,
                                                            PaginationConfig={"PageSize": 1000})
                    for o in page.get("Contents", [])]
        self.assertEqual(all_keys, sorted(flat + nested))
        after = self.s3.list_objects_v2(Bucket=bucket, StartAfter="k2295", MaxKeys=10)
        self.assertEqual([o["Key"] for o in after["Contents"]], ["k%04d" % i for i in range(2296, 2300)])
        self.assertFalse(after["IsTruncated"])
        one = self.s3.list_objects_v2(Bucket=bucket, Prefix="dir007/")
        self.assertEqual([(o["Key"], o["Size"]) for o in one["Contents"]], [("dir007/f", 8)])

    # --- copy and batch delete ---

    def test_copy_object_directives(self):
        self.s3.put_object(Bucket=self.bucket, Key="copy/src é+ x", Body=b"copy me",
                           ContentType="text/plain", Metadata={"origin": "src"},
                           CacheControl="max-age=60")
        src = {"Bucket": self.bucket, "Key": "copy/src é+ x"}
        copied = self.s3.copy_object(Bucket=self.bucket, Key="copy/dst1", CopySource=src)
        self.assertEqual(copied["CopyObjectResult"]["ETag"], '"%s"' % hashlib.md5(b"copy me").hexdigest())
        head = self.s3.head_object(Bucket=self.bucket, Key="copy/dst1")
        self.assertEqual((head["ContentType"], head["Metadata"], head.get("CacheControl")),
                         ("text/plain", {"origin": "src"}, "max-age=60"))
        self.s3.copy_object(Bucket=self.bucket, Key="copy/dst2", CopySource=src,
                            MetadataDirective="REPLACE", ContentType="application/json",
                            Metadata={"fresh": "yes"})
        head = self.s3.head_object(Bucket=self.bucket, Key="copy/dst2")
        self.assertEqual((head["ContentType"], head["Metadata"]), ("application/json", {"fresh": "yes"}))
        self.assertIsNone(head.get("CacheControl"))
        self.assertEqual(self.body("copy/dst2"), b"copy me")
        self.assertClientError("InvalidRequest", 400, self.s3.copy_object, Bucket=self.bucket,
                               Key="copy/src é+ x", CopySource=src)
        self.assertClientError("NoSuchKey", 404, self.s3.copy_object, Bucket=self.bucket,
                               Key="copy/dst3", CopySource={"Bucket": self.bucket, "Key": "copy/none"})

    def test_delete_objects(self):
        keys = ["del/%d" % i for i in range(5)]
        for k in keys:
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=b"x")
        out = self.s3.delete_objects(Bucket=self.bucket, Delete={
            "Objects": [{"Key": k} for k in keys[:3] + ["del/never-existed"]]})
        self.assertEqual(sorted(d["Key"] for d in out["Deleted"]),
                         sorted(keys[:3] + ["del/never-existed"]))
        self.assertEqual(out.get("Errors", []), [])
        left = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="del/")
        self.assertEqual([o["Key"] for o in left["Contents"]], keys[3:])
        quiet = self.s3.delete_objects(Bucket=self.bucket, Delete={
            "Objects": [{"Key": k} for k in keys[3:]], "Quiet": True})
        self.assertEqual(quiet.get("Deleted", []), [])
        self.assertEqual(self.s3.list_objects_v2(Bucket=self.bucket, Prefix="del/")["KeyCount"], 0)

    def test_s3_semantics_the_external_suite_checked(self):
        # Keys of only spaces are keys: DeleteObjects takes them.
        for key in (" ", "  "):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"blank")
        out = self.s3.delete_objects(Bucket=self.bucket,
                                     Delete={"Objects": [{"Key": " "}, {"Key": "  "}]})
        self.assertEqual(sorted(d["Key"] for d in out["Deleted"]), [" ", "  "])
        self.assertEqual(out.get("Errors", []), [])
        # ListObjects V1: the Prefix comes back as given (botocore asks for encoding-type=url
        # and decodes only what S3 encodes).
        self.s3.put_object(Bucket=self.bucket, Key="sem/a b+c/x", Body=b"x")
        v1 = self.s3.list_objects(Bucket=self.bucket, Prefix="sem/a b+c/")
        self.assertEqual(v1["Prefix"], "sem/a b+c/")
        self.assertEqual([o["Key"] for o in v1["Contents"]], ["sem/a b+c/x"])
        # An empty continuation token lists from the start.
        v2 = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="sem/", ContinuationToken="")
        self.assertEqual(v2["KeyCount"], 1)
        # Content-Encoding is kept as sent.
        self.s3.put_object(Bucket=self.bucket, Key="sem/enc", Body=b"x", ContentEncoding="gzip, br")
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="sem/enc")["ContentEncoding"],
                         "gzip, br")
        # Allow with NotPrincipal is refused, as AWS does.
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*" % self.bucket}]}
        self.assertClientError("MalformedPolicy", 400, self.s3.put_bucket_policy,
                               Bucket=self.bucket, Policy=json.dumps(policy))

    def test_list_buckets_by_page(self):
        names = sorted(self.unique("page") for _ in range(5))
        for name in names:
            self.s3.create_bucket(Bucket=name)
        try:
            seen = []
            pages = self.s3.get_paginator("list_buckets").paginate(
                Prefix="page-", PaginationConfig={"PageSize": 2})
            for page in pages:
                self.assertLessEqual(len(page["Buckets"]), 2)
                seen += [b["Name"] for b in page["Buckets"]]
            self.assertEqual(seen, names)
        finally:
            for name in names:
                self.s3.delete_bucket(Bucket=name)

    # --- multipart ---

    def test_multipart_parts_in_random_order_from_threads(self):
        parts = [os.urandom(5 * MIB) for _ in range(3)] + [os.urandom(MIB + 7)]
        key = "mp/threads é.bin"
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                 ContentType="application/x-test",
                                                 Metadata={"kind": "multipart"})["UploadId"]
        order = list(range(1, len(parts) + 1))
        random.shuffle(order)

        def send(n):
            r = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=n,
                                    Body=parts[n - 1])
            return n, r["ETag"]

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            etags = dict(pool.map(send, order))
        for n, etag in etags.items():
            self.assertEqual(etag, '"%s"' % hashlib.md5(parts[n - 1]).hexdigest())
        listed = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=upload)
        self.assertEqual([(p["PartNumber"], p["Size"], p["ETag"]) for p in listed["Parts"]],
                         [(n, len(parts[n - 1]), etags[n]) for n in range(1, len(parts) + 1)])
        first = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=upload, MaxParts=2)
        self.assertTrue(first["IsTruncated"])
        rest = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=upload,
                                  PartNumberMarker=first["NextPartNumberMarker"])
        self.assertEqual([p["PartNumber"] for p in first["Parts"] + rest["Parts"]], [1, 2, 3, 4])
        done = self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]})
        self.assertEqual(done["ETag"], multipart_etag(parts))
        got = self.s3.get_object(Bucket=self.bucket, Key=key)
        self.assertEqual((got["ContentType"], got["Metadata"]), ("application/x-test", {"kind": "multipart"}))
        self.assertTrue(got["Body"].read() == b"".join(parts), "multipart object differs")
        self.assertClientError("NoSuchUpload", 404, self.s3.list_parts, Bucket=self.bucket,
                               Key=key, UploadId=upload)

    def test_transfer_manager_20mib_round_trip(self):
        # upload_file/download_file: boto3's own multipart upload and ranged, threaded download.
        data = os.urandom(20 * MIB)
        src, back = os.path.join(self.tmp.path, "tm.src"), os.path.join(self.tmp.path, "tm.back")
        with open(src, "wb") as f:
            f.write(data)
        self.s3.upload_file(src, self.bucket, "tm/20mib.bin")
        head = self.s3.head_object(Bucket=self.bucket, Key="tm/20mib.bin")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertTrue(head["ETag"].endswith('-3"'), head["ETag"])
        self.s3.download_file(self.bucket, "tm/20mib.bin", back)
        with open(back, "rb") as f:
            self.assertTrue(f.read() == data, "downloaded file differs")
        # A single-PUT object (stored with its CRC32) downloaded in ranges by the same manager.
        self.s3.put_object(Bucket=self.bucket, Key="tm/single.bin", Body=data[:12 * MIB])
        self.s3.download_file(self.bucket, "tm/single.bin", back)
        with open(back, "rb") as f:
            self.assertTrue(f.read() == data[:12 * MIB], "downloaded file differs")

    def test_get_and_head_by_part_number(self):
        key = "mp/by-part"
        sizes = (5 * 1024 * 1024, 5 * 1024 * 1024 + 3, 1000)
        bodies = [os.urandom(n) for n in sizes]
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        parts = [{"PartNumber": i + 1,
                  "ETag": self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload,
                                              PartNumber=i + 1, Body=b)["ETag"]}
                 for i, b in enumerate(bodies)]
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                          MultipartUpload={"Parts": parts})
        total = sum(sizes)
        start = 0
        for n, body in enumerate(bodies, 1):
            with self.subTest(part=n):
                got = self.s3.get_object(Bucket=self.bucket, Key=key, PartNumber=n)
                self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 206)
                self.assertEqual(got["ContentRange"], "bytes %d-%d/%d" % (start, start + len(body) - 1,
                                                                         total))
                self.assertEqual(got["PartsCount"], 3)
                self.assertEqual(got["Body"].read(), body)
                head = self.s3.head_object(Bucket=self.bucket, Key=key, PartNumber=n)
                self.assertEqual(head["ContentLength"], len(body))
                self.assertEqual(head["PartsCount"], 3)
            start += len(body)
        # A downloader that stitches the parts gets the object, not three copies of it.
        stitched = b"".join(self.s3.get_object(Bucket=self.bucket, Key=key, PartNumber=n)["Body"].read()
                            for n in (1, 2, 3))
        self.assertEqual(stitched, b"".join(bodies))
        self.assertClientError("InvalidPartNumber", 416, self.s3.get_object, Bucket=self.bucket,
                               Key=key, PartNumber=4)
        self.assertClientError("InvalidRequest", 400, self.s3.get_object, Bucket=self.bucket,
                               Key=key, PartNumber=1, Range="bytes=0-9")
        # A single PUT is its own part 1.
        self.s3.put_object(Bucket=self.bucket, Key="mp/single", Body=b"single")
        got = self.s3.get_object(Bucket=self.bucket, Key="mp/single", PartNumber=1)
        self.assertEqual((got["ResponseMetadata"]["HTTPStatusCode"], got["Body"].read()),
                         (206, b"single"))
        self.assertClientError("InvalidPartNumber", 416, self.s3.get_object, Bucket=self.bucket,
                               Key="mp/single", PartNumber=2)

    def test_multipart_abort(self):
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key="mp/aborted")["UploadId"]
        self.s3.upload_part(Bucket=self.bucket, Key="mp/aborted", UploadId=upload, PartNumber=1,
                            Body=b"a" * 1000)
        aborted = self.s3.abort_multipart_upload(Bucket=self.bucket, Key="mp/aborted", UploadId=upload)
        self.assertEqual(aborted["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertClientError("NoSuchUpload", 404, self.s3.list_parts, Bucket=self.bucket,
                               Key="mp/aborted", UploadId=upload)
        self.assertClientError("NoSuchUpload", 404, self.s3.upload_part, Bucket=self.bucket,
                               Key="mp/aborted", UploadId=upload, PartNumber=2, Body=b"late")
        self.assertClientError("NoSuchKey", 404, self.s3.get_object,
                               Bucket=self.bucket, Key="mp/aborted")

    def test_complete_multipart_upload_retried_after_success(self):
        # An SDK that lost the answer to CompleteMultipartUpload sends it again: S3 answers
        # the same result, not NoSuchUpload, while the object is still the one it made.
        key = "mp/retried"
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        etag = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=1,
                                   Body=b"r" * 1000)["ETag"]
        parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
        first = self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                                  MultipartUpload=parts)
        again = self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                                  MultipartUpload=parts)
        self.assertEqual(again["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual((again["ETag"], again["Key"], again["Bucket"]),
                         (first["ETag"], key, self.bucket))
        self.assertClientError("NoSuchUpload", 404, self.s3.complete_multipart_upload,
                               Bucket=self.bucket, Key="mp/other-key", UploadId=upload,
                               MultipartUpload=parts)
        self.assertClientError("NoSuchUpload", 404, self.s3.upload_part, Bucket=self.bucket,
                               Key=key, UploadId=upload, PartNumber=2, Body=b"late")
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"overwritten")
        self.assertClientError("NoSuchUpload", 404, self.s3.complete_multipart_upload,
                               Bucket=self.bucket, Key=key, UploadId=upload,
                               MultipartUpload=parts)

    def test_list_multipart_uploads(self):
        bucket = self.unique("uploads")
        self.s3.create_bucket(Bucket=bucket)
        keys = ["a/1", "a/1", "a/2", "b/1", "c"]
        ids = [self.s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"] for k in keys]
        try:
            everything = self.s3.list_multipart_uploads(Bucket=bucket)
            self.assertEqual([(u["Key"], u["UploadId"]) for u in everything["Uploads"]],
                             list(zip(keys, ids)))
            self.assertFalse(everything["IsTruncated"])
            # Pages of two, through boto3's paginator (key-marker and upload-id-marker).
            seen = []
            for page in self.s3.get_paginator("list_multipart_uploads").paginate(
                    Bucket=bucket, PaginationConfig={"PageSize": 2}):
                self.assertLessEqual(len(page.get("Uploads", [])), 2)
                seen += [u["UploadId"] for u in page.get("Uploads", [])]
            self.assertEqual(seen, ids)
            grouped = self.s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
            self.assertEqual([p["Prefix"] for p in grouped["CommonPrefixes"]], ["a/", "b/"])
            self.assertEqual([u["Key"] for u in grouped["Uploads"]], ["c"])
            only_a = self.s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
            self.assertEqual([u["Key"] for u in only_a["Uploads"]], ["a/1", "a/1", "a/2"])
        finally:
            for k, i in zip(keys, ids):
                self.s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=i)
            self.s3.delete_bucket(Bucket=bucket)
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", []), [])

    def test_multipart_refusals(self):
        key = "mp/bad"
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        small = [self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=n,
                                     Body=b"%d" % n * 100)["ETag"] for n in (1, 2)]

        def complete(parts):
            return self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                                     MultipartUpload={"Parts": parts})

        self.assertClientError("InvalidPartOrder", 400, complete,
                               [{"PartNumber": 2, "ETag": small[1]}, {"PartNumber": 1, "ETag": small[0]}])
        self.assertClientError("InvalidPart", 400, complete,
                               [{"PartNumber": 1, "ETag": '"%s"' % ("0" * 32)}])
        self.assertClientError("EntityTooSmall", 400, complete,
                               [{"PartNumber": 1, "ETag": small[0]}, {"PartNumber": 2, "ETag": small[1]}])
        self.assertClientError("NoSuchUpload", 404, self.s3.list_parts, Bucket=self.bucket,
                               Key=key, UploadId="no-such-upload-id")
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload)

    # --- ranges and conditions ---

    def test_range_get(self):
        data = bytes(range(256)) * 4
        self.s3.put_object(Bucket=self.bucket, Key="range/obj", Body=data)
        cases = [("bytes=10-19", data[10:20], "bytes 10-19/1024"),
                 ("bytes=-5", data[-5:], "bytes 1019-1023/1024"),
                 ("bytes=1000-", data[1000:], "bytes 1000-1023/1024"),
                 ("bytes=1000-5000", data[1000:], "bytes 1000-1023/1024")]
        for header, want, content_range in cases:
            with self.subTest(range=header):
                got = self.s3.get_object(Bucket=self.bucket, Key="range/obj", Range=header)
                self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 206)
                self.assertEqual(got["ContentRange"], content_range)
                self.assertEqual(got["Body"].read(), want)
        self.assertClientError("InvalidRange", 416, self.s3.get_object, Bucket=self.bucket,
                               Key="range/obj", Range="bytes=2000-")

    def test_conditional_get(self):
        put = self.s3.put_object(Bucket=self.bucket, Key="cond/obj", Body=b"conditional")
        etag = put["ETag"]
        head = self.s3.head_object(Bucket=self.bucket, Key="cond/obj")
        modified = head["LastModified"]
        self.assertClientError("304", 304, self.s3.get_object, Bucket=self.bucket, Key="cond/obj",
                               IfNoneMatch=etag)
        self.assertClientError("PreconditionFailed", 412, self.s3.get_object, Bucket=self.bucket,
                               Key="cond/obj", IfMatch='"0123456789abcdef0123456789abcdef"')
        self.assertEqual(self.body("cond/obj", IfMatch=etag), b"conditional")
        self.assertEqual(self.body("cond/obj", IfNoneMatch='"other"'), b"conditional")
        self.assertClientError("304", 304, self.s3.get_object, Bucket=self.bucket, Key="cond/obj",
                               IfModifiedSince=modified)
        long_ago = modified - datetime.timedelta(days=1)
        self.assertEqual(self.body("cond/obj", IfModifiedSince=long_ago), b"conditional")
        self.assertClientError("PreconditionFailed", 412, self.s3.get_object, Bucket=self.bucket,
                               Key="cond/obj", IfUnmodifiedSince=long_ago)

    def test_conditional_put(self):
        key = "cond/put"
        first = self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"v1", IfNoneMatch="*")
        self.assertClientError("PreconditionFailed", 412, self.s3.put_object, Bucket=self.bucket,
                               Key=key, Body=b"v2", IfNoneMatch="*")
        self.assertClientError("PreconditionFailed", 412, self.s3.put_object, Bucket=self.bucket,
                               Key=key, Body=b"v2", IfMatch='"0123456789abcdef0123456789abcdef"')
        self.assertEqual(self.body(key), b"v1")  # nothing of a refused write is seen
        second = self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"v2", IfMatch=first["ETag"])
        self.assertEqual(self.body(key), b"v2")
        # The old ETag no longer matches: an optimistic writer that lost must re-read.
        self.assertClientError("PreconditionFailed", 412, self.s3.put_object, Bucket=self.bucket,
                               Key=key, Body=b"v3", IfMatch=first["ETag"])
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"v3",
                           IfMatch=second["ETag"].strip('"').upper())
        self.assertClientError("NoSuchKey", 404, self.s3.put_object, Bucket=self.bucket,
                               Key="cond/missing", Body=b"x", IfMatch=first["ETag"])
        self.assertClientError("NotImplemented", 501, self.s3.put_object, Bucket=self.bucket,
                               Key=key, Body=b"x", IfNoneMatch=first["ETag"])

    def test_conditional_puts_racing_for_one_key(self):
        # Ten writers create the same key with If-None-Match: * at once: exactly one wins, and
        # then ten writers update it from the same ETag: exactly one wins again.
        key = "cond/race"
        barrier = threading.Barrier(10)

        def race(prefix, **condition):
            """Ten writers put `prefix i` at once under `condition`; returns the winners."""
            def put(i):
                barrier.wait()
                try:
                    self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"%s %d" % (prefix, i),
                                       **condition)
                    return i
                except ClientError as e:
                    self.assertEqual(error_code(e), "PreconditionFailed", e.response)
                    return None

            with concurrent.futures.ThreadPoolExecutor(10) as pool:
                return [w for w in pool.map(put, range(10)) if w is not None]

        winners = race(b"writer", IfNoneMatch="*")
        self.assertEqual(len(winners), 1)
        self.assertEqual(self.body(key), b"writer %d" % winners[0])
        etag = self.s3.head_object(Bucket=self.bucket, Key=key)["ETag"]
        winners = race(b"update", IfMatch=etag)
        self.assertEqual(len(winners), 1)
        self.assertEqual(self.body(key), b"update %d" % winners[0])

    def test_conditional_complete_multipart_upload(self):
        key = "cond/mp"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"already here")
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        etag = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload, PartNumber=1,
                                   Body=b"p" * 1000)["ETag"]
        parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
        self.assertClientError("PreconditionFailed", 412, self.s3.complete_multipart_upload,
                               Bucket=self.bucket, Key=key, UploadId=upload,
                               MultipartUpload=parts, IfNoneMatch="*")
        self.assertEqual(self.body(key), b"already here")
        # The upload is still there: completing with a condition that holds works.
        current = self.s3.head_object(Bucket=self.bucket, Key=key)["ETag"]
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                          MultipartUpload=parts, IfMatch=current)
        self.assertEqual(self.body(key), b"p" * 1000)

    # --- metadata ---

    def test_metadata_and_headers_round_trip(self):
        kw = dict(ContentType="image/png", CacheControl="public, max-age=31536000",
                  ContentDisposition='attachment; filename="a b.png"', ContentLanguage="fr",
                  Metadata={"colour": "blue", "made-by": "sparkify tests"})
        self.s3.put_object(Bucket=self.bucket, Key="meta/pic.png", Body=b"\x89PNG", **kw)
        for call in (self.s3.head_object, self.s3.get_object):
            got = call(Bucket=self.bucket, Key="meta/pic.png")
            for field, want in kw.items():
                self.assertEqual(got.get(field), want, (call.__name__, field))
        override = self.s3.get_object(Bucket=self.bucket, Key="meta/pic.png",
                                      ResponseContentType="text/plain",
                                      ResponseContentDisposition="inline")
        self.assertEqual((override["ContentType"], override["ContentDisposition"]),
                         ("text/plain", "inline"))
        self.s3.put_object(Bucket=self.bucket, Key="meta/default", Body=b"x")
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="meta/default")["ContentType"],
                         "binary/octet-stream")

    # --- integrity ---

    def test_checksums_round_trip(self):
        data = os.urandom(70_000)
        cases = [("CRC32", dict(ChecksumAlgorithm="CRC32"), b64_crc32(data)),
                 # botocore needs awscrt to compute CRC32C: give it the value ourselves.
                 ("CRC32C", dict(ChecksumCRC32C=b64_crc32c(data)), b64_crc32c(data)),
                 ("SHA256", dict(ChecksumAlgorithm="SHA256"), b64_sha256(data))]
        for alg, put_kw, want in cases:
            with self.subTest(algorithm=alg):
                key = "sum/" + alg
                put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, **put_kw)
                self.assertEqual(put.get("Checksum" + alg), want, put)
                got = self.s3.get_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
                self.assertEqual(got.get("Checksum" + alg), want)
                self.assertEqual(got["Body"].read(), data)
                head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
                self.assertEqual(head.get("Checksum" + alg), want)
        for alg, kw in [("CRC32", dict(ChecksumCRC32=b64_crc32(b"other"))),
                        ("CRC32C", dict(ChecksumCRC32C=b64_crc32c(b"other"))),
                        ("SHA256", dict(ChecksumSHA256=b64_sha256(b"other")))]:
            with self.subTest(wrong=alg):
                self.assertClientError("BadDigest", 400, self.s3.put_object, Bucket=self.bucket,
                                       Key="sum/wrong", Body=data, **kw)
        self.assertClientError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="sum/wrong")

    def test_content_md5(self):
        data = b"checked by MD5"
        self.s3.put_object(Bucket=self.bucket, Key="md5/ok", Body=data, ContentMD5=md5_b64(data))
        self.assertClientError("BadDigest", 400, self.s3.put_object, Bucket=self.bucket,
                               Key="md5/bad", Body=data, ContentMD5=md5_b64(b"something else"))
        self.assertClientError("InvalidDigest", 400, self.s3.put_object, Bucket=self.bucket,
                               Key="md5/bad", Body=data, ContentMD5="bm90IGFuIG1kNQ==")
        self.assertClientError("NoSuchKey", 404, self.s3.get_object, Bucket=self.bucket, Key="md5/bad")

    # --- presigned URLs ---

    def test_presigned_sigv4_get_and_put(self):
        self.s3.put_object(Bucket=self.bucket, Key="pre/é x+y", Body=b"presigned v4")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket,
                                                                   "Key": "pre/é x+y"}, ExpiresIn=60)
        self.assertIn("X-Amz-Algorithm=AWS4-HMAC-SHA256", url)
        self.assertEqual(fetch(url)[::2], (200, b"presigned v4"))
        put_url = self.s3.generate_presigned_url("put_object", Params={"Bucket": self.bucket,
                                                                       "Key": "pre/put"})
        status, _, body = fetch(put_url, method="PUT", data=b"via presigned put")
        self.assertEqual(status, 200, body)
        self.assertEqual(self.body("pre/put"), b"via presigned put")

    def test_presigned_response_overrides_cannot_inject_headers(self):
        """A key holder signs response-* overrides with CR/LF in them: the store refuses them
        with an S3 error instead of writing the attacker's headers and body into its answer."""
        self.s3.put_object(Bucket=self.bucket, Key="pre/inject", Body=b"plain bytes",
                           ContentType="text/plain")
        injected = "text/html\r\nSet-Cookie: session=stolen; Path=/\r\n\r\n<script>x()</script>"
        for param in ("ResponseContentType", "ResponseContentDisposition", "ResponseCacheControl",
                      "ResponseContentEncoding", "ResponseContentLanguage"):
            url = self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": "pre/inject", param: injected})
            status, headers, body = fetch(url)
            self.assertEqual(status, 400, (param, body))
            self.assertEqual(parse_error(body)[0], "InvalidArgument", body)
            self.assertNotIn("Set-Cookie", headers)
            self.assertNotIn(b"<script>", body)
        # A bare LF, a NUL and a tab: the first two refused, a tab is valid in a field value.
        for value, want in (("a\nb", 400), ("a\x00b", 400), ("attachment;\tfilename=a.png", 200)):
            url = self.s3.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": "pre/inject",
                                      "ResponseContentDisposition": value})
            self.assertEqual(fetch(url)[0], want, repr(value))
        # Through the SDK's own GetObject (header auth) as well.
        self.assertClientError("InvalidArgument", 400, self.s3.get_object, Bucket=self.bucket,
                               Key="pre/inject", ResponseContentType="a\r\nX-Evil: 1")
        # A valid override still works.
        got = self.s3.get_object(Bucket=self.bucket, Key="pre/inject",
                                 ResponseContentType="application/x-test")
        self.assertEqual(got["ContentType"], "application/x-test")

    def test_presigned_sigv2_refused(self):
        self.s3.put_object(Bucket=self.bucket, Key="pre/v2", Body=b"not for v2")
        v2 = boto3_client(self.store.endpoint, *self.store.root, signature_version=None)
        url = v2.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "pre/v2"})
        self.assertIn("AWSAccessKeyId=", url)  # botocore's default presigner is still SigV2
        status, headers, body = fetch(url)
        self.assertEqual(status, 400, body)
        code, message = parse_error(body)
        self.assertEqual(code, "InvalidRequest", body)
        self.assertIn("AWS4-HMAC-SHA256", message)
        status, _, body = fetch(self.store.endpoint + "/%s/pre/v2" % self.bucket,
                                headers={"Authorization": "AWS %s:c2lnbmF0dXJl" % self.store.root[0],
                                         "Date": "Mon, 01 Jan 2024 00:00:00 GMT"})
        self.assertEqual((status, parse_error(body)[0]), (400, "InvalidRequest"), body)

    # --- CORS ---

    def test_bucket_cors_and_browser_preflights(self):
        bucket = self.unique("cors")
        self.s3.create_bucket(Bucket=bucket)
        self.s3.put_object(Bucket=bucket, Key="img/a.png", Body=b"png bytes")
        url = "%s/%s/img/a.png" % (self.store.endpoint, bucket)

        def preflight(origin, method, headers=None):
            h = {"Origin": origin, "Access-Control-Request-Method": method} if origin else {}
            if headers:
                h["Access-Control-Request-Headers"] = headers
            return fetch(url, method="OPTIONS", headers=h)

        self.assertClientError("NoSuchCORSConfiguration", 404, self.s3.get_bucket_cors, Bucket=bucket)
        status, _, body = preflight("http://app.test", "PUT")
        self.assertEqual((status, parse_error(body)[0]), (403, "AccessForbidden"), body)
        self.assertIn(b"CORS is not enabled", body)

        rules = [{"ID": "uploads", "AllowedOrigins": ["http://app.test", "https://*.app.test"],
                  "AllowedMethods": ["PUT", "POST", "GET"], "AllowedHeaders": ["*"],
                  "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300},
                 {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]}]
        self.s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
        self.assertEqual(self.s3.get_bucket_cors(Bucket=bucket)["CORSRules"], rules)

        status, headers, body = preflight("http://app.test", "PUT", "Content-Type, X-Amz-Date")
        self.assertEqual(status, 200, body)
        self.assertEqual(headers.get("Access-Control-Allow-Origin"), "http://app.test")
        self.assertEqual(headers.get("Access-Control-Allow-Methods"), "PUT, POST, GET")
        self.assertEqual(headers.get("Access-Control-Allow-Headers"), "content-type, x-amz-date")
        self.assertEqual(headers.get("Access-Control-Expose-Headers"), "ETag")
        self.assertEqual(headers.get("Access-Control-Max-Age"), "300")
        self.assertEqual(headers.get("Access-Control-Allow-Credentials"), "true")
        self.assertEqual(preflight("https://cdn.app.test", "POST")[0], 200)
        # The second rule answers any origin, for reads only, and says "*".
        status, headers, _ = preflight("http://elsewhere.test", "GET")
        self.assertEqual((status, headers.get("Access-Control-Allow-Origin")), (200, "*"))
        status, _, body = preflight("http://elsewhere.test", "PUT")
        self.assertEqual((status, parse_error(body)[0]), (403, "AccessForbidden"), body)
        status, _, body = preflight(None, "PUT")
        self.assertEqual((status, parse_error(body)[0]), (400, "BadRequest"), body)
        status, _, body = fetch(url, method="OPTIONS", headers={"Origin": "http://app.test"})
        self.assertEqual((status, parse_error(body)[0]), (400, "BadRequest"), body)

        # The answers to real requests carry the headers when a rule allows their origin.
        get_url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "img/a.png"}, ExpiresIn=60)
        status, headers, body = fetch(get_url, headers={"Origin": "http://app.test"})
        self.assertEqual((status, body), (200, b"png bytes"))
        self.assertEqual(headers.get("Access-Control-Allow-Origin"), "http://app.test")
        self.assertEqual(headers.get("Access-Control-Expose-Headers"), "ETag")
        self.assertNotIn("Access-Control-Allow-Origin", fetch(get_url)[1])
        status, headers, _ = fetch(url, headers={"Origin": "http://app.test"})  # unsigned
        self.assertEqual(status, 403)  # the error is readable by the page, and still an error
        self.assertEqual(headers.get("Access-Control-Allow-Origin"), "http://app.test")

        # What S3 refuses, and who may change the rules.
        self.assertClientError("InvalidRequest", 400, self.s3.put_bucket_cors, Bucket=bucket,
                               CORSConfiguration={"CORSRules": [
                                   {"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]})
        self.assertClientError("MalformedXML", 400, self.s3.put_bucket_cors, Bucket=bucket,
                               CORSConfiguration={"CORSRules": []})
        status, _, body = fetch("%s/%s?cors" % (self.store.endpoint, bucket), method="PUT",
                                data=b"<CORSConfiguration/>")
        self.assertEqual((status, parse_error(body)[0]), (403, "AccessDenied"), body)
        self.assertEqual(len(self.s3.get_bucket_cors(Bucket=bucket)["CORSRules"]), 2)

        self.s3.delete_bucket_cors(Bucket=bucket)
        self.assertClientError("NoSuchCORSConfiguration", 404, self.s3.get_bucket_cors, Bucket=bucket)
        self.assertEqual(preflight("http://app.test", "PUT")[0], 403)
        self.assertNotIn("Access-Control-Allow-Origin",
                         fetch(get_url, headers={"Origin": "http://app.test"})[1])

    # --- POST Object (browser uploads) ---

    @staticmethod
    def form_body(fields, file_name="cover.png", data=b"\x89PNG fake", file_type="image/png",
                  boundary=None):
        boundary = boundary or "----sparkify%016x" % random.getrandbits(64)
        body = b""
        for name, value in fields.items():
            body += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                     % (boundary, name, value)).encode()
        body += ("--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                 "Content-Type: %s\r\n\r\n" % (boundary, file_name, file_type)).encode()
        body += data + ("\r\n--%s--\r\n" % boundary).encode()
        return body, "multipart/form-data; boundary=" + boundary

    def post_form(self, url, fields, **kw):
        """POSTs fields and then the file as multipart/form-data, as a browser's form does."""
        body, content_type = self.form_body(fields, **kw)
        return fetch(url, method="POST", data=body, headers={"Content-Type": content_type})

    def test_presigned_post_uploads_within_the_policy(self):
        bucket = self.unique("post")
        self.s3.create_bucket(Bucket=bucket)
        post = self.s3.generate_presigned_post(
            bucket, "uploads/${filename}", Fields={"Content-Type": "image/png"},
            Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 1, 1000]],
            ExpiresIn=300)
        data = os.urandom(700)
        status, headers, body = self.post_form(post["url"], post["fields"], data=data)
        self.assertEqual(status, 204, body)
        self.assertEqual(headers.get("ETag"), '"%s"' % hashlib.md5(data).hexdigest())
        self.assertTrue(headers.get("Location", "").endswith("/%s/uploads/cover.png" % bucket))
        got = self.s3.get_object(Bucket=bucket, Key="uploads/cover.png")
        self.assertEqual((got["Body"].read(), got["ContentType"]), (data, "image/png"))

        # A field the policy does not name is refused; a policy that names it gets its 201.
        fields = dict(post["fields"])
        fields["success_action_status"] = "201"
        status, _, body = self.post_form(post["url"], fields, file_name="b.png")
        self.assertEqual((status, parse_error(body)[0]), (403, "AccessDenied"), body)
        post201 = self.s3.generate_presigned_post(
            bucket, "uploads/${filename}", Fields={"success_action_status": "201"},
            Conditions=[{"success_action_status": "201"}], ExpiresIn=300)
        status, _, body = self.post_form(post201["url"], post201["fields"], file_name="b.png",
                                         data=b"b" * 1500)
        self.assertEqual(status, 201, body)
        self.assertIn(b"<Key>uploads/b.png</Key>", body)
        self.assertEqual(self.body_of(bucket, "uploads/b.png"), b"b" * 1500)

    def body_of(self, bucket, key):
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def test_presigned_post_refusals(self):
        bucket = self.unique("postno")
        self.s3.create_bucket(Bucket=bucket)
        post = self.s3.generate_presigned_post(
            bucket, "uploads/${filename}", Fields={"Content-Type": "image/png"},
            Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 10, 1000]],
            ExpiresIn=300)
        url, fields = post["url"], post["fields"]

        def refused(want_status, want_code, form, **kw):
            status, _, body = self.post_form(url, form, **kw)
            self.assertEqual((status, parse_error(body)[0]), (want_status, want_code), body)
            return parse_error(body)[1]

        refused(400, "EntityTooLarge", fields, data=b"x" * 1001)
        refused(400, "EntityTooSmall", fields, data=b"x" * 9)
        message = refused(403, "AccessDenied", dict(fields, **{"Content-Type": "text/html"}))
        self.assertIn("Policy Condition failed", message)
        message = refused(403, "AccessDenied", dict(fields, **{"x-amz-meta-extra": "1"}))
        self.assertIn("Extra input fields: x-amz-meta-extra", message)
        refused(403, "AccessDenied", dict(fields, key="elsewhere/${filename}"))
        refused(403, "SignatureDoesNotMatch", dict(fields, **{"x-amz-signature": "0" * 64}))
        no_key = {k: v for k, v in fields.items() if k != "key"}
        refused(400, "InvalidArgument", no_key)
        expired = self.s3.generate_presigned_post(bucket, "uploads/late", ExpiresIn=-60)
        message = refused(403, "AccessDenied", expired["fields"])
        self.assertIn("Policy expired", message)
        # Without a policy the form is anonymous: Block Public Access refuses it.
        refused(403, "AccessDenied", {"key": "uploads/anon.png"})
        # A form is authorised by its policy only: a request signature covers none of its fields
        # (or its body), so a signed POST /bucket is refused, not replayable with other fields.
        body, content_type = self.form_body({"key": "signed/original"})
        endpoint = urllib.parse.urlsplit(self.store.endpoint)
        headers = sign_headers("POST", endpoint.netloc, "/" + bucket, *self.store.root,
                               headers={"content-type": content_type},
                               payload_hash=hashlib.sha256(body).hexdigest())
        status, _, answer = fetch(url, method="POST", data=body, headers=headers)
        self.assertEqual((status, parse_error(answer)[0]), (400, "InvalidRequest"), answer)
        # A field that could not be a header is refused before anything is stored.
        loose = self.s3.generate_presigned_post(
            bucket, "uploads/${filename}", Fields={"Content-Type": "image/png"},
            Conditions=[["starts-with", "$Content-Type", "image/"]], ExpiresIn=300)
        status, _, answer = self.post_form(
            loose["url"], dict(loose["fields"], **{"Content-Type": "image/png\r\nX-Injected: 1"}))
        self.assertEqual((status, parse_error(answer)[0]), (400, "InvalidArgument"), answer)
        # Block Public Access: a public grant in a form is refused as in a PUT; an owner ACL is not.
        for acl, want in (("public-read", 403), ("bucket-owner-full-control", 204)):
            granted = self.s3.generate_presigned_post(
                bucket, "acl/${filename}", Fields={"acl": acl}, Conditions=[{"acl": acl}],
                ExpiresIn=300)
            status, _, answer = self.post_form(granted["url"], granted["fields"],
                                               file_name=acl + ".png")
            self.assertEqual(status, want, answer)
        self.s3.delete_object(Bucket=bucket, Key="acl/bucket-owner-full-control.png")
        status, _, body = fetch(url, method="POST", data=b"key=x",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, parse_error(body)[0]), (412, "PreconditionFailed"), body)
        self.assertEqual(self.s3.list_objects_v2(Bucket=bucket)["KeyCount"], 0)

    # --- errors ---

    def test_errors_parse_as_s3_errors(self):
        err = self.assertClientError("NoSuchBucket", 404, self.s3.get_object,
                                     Bucket="no-such-bucket-here", Key="k")
        self.assertTrue(err.response["ResponseMetadata"].get("RequestId"))
        self.assertTrue(err.response["Error"].get("Message"))
        self.assertClientError("NoSuchBucket", 404, self.s3.list_objects_v2, Bucket="no-such-bucket-here")
        self.assertClientError("InvalidBucketName", 400, self.s3.create_bucket, Bucket="Bad_Name")
        self.assertClientError("BucketAlreadyOwnedByYou", 409, self.s3.create_bucket, Bucket=self.bucket)
        self.assertClientError("BucketNotEmpty", 409, self.s3.delete_bucket, Bucket=self.bucket)
        bad = boto3_client(self.store.endpoint, self.store.root[0], "x" * 40)
        self.assertClientError("SignatureDoesNotMatch", 403, bad.list_objects_v2, Bucket=self.bucket)
        unknown = boto3_client(self.store.endpoint, "SPKUNKNOWNKEY0000000", "x" * 40)
        self.assertClientError("InvalidAccessKeyId", 403, unknown.list_buckets)
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertIn(self.bucket, names)


class AbandonedUploadsTest(StoreTestCase):
    STORE_ARGS = ("--abort-uploads-after", "3s")

    def test_uploads_older_than_the_limit_are_aborted(self):
        isolate_aws_config(self.tmp.path)
        s3 = boto3_client(self.store.endpoint, *self.store.root)
        s3.create_bucket(Bucket="orphans")
        upload = s3.create_multipart_upload(Bucket="orphans", Key="left")["UploadId"]
        s3.upload_part(Bucket="orphans", Key="left", UploadId=upload, PartNumber=1, Body=b"x" * 100)
        start = time.monotonic()
        while s3.list_multipart_uploads(Bucket="orphans").get("Uploads"):
            self.assertLess(time.monotonic() - start, 15, "the upload was never aborted")
            time.sleep(0.2)
        self.assertGreaterEqual(time.monotonic() - start, 2)  # not before its time
        with self.assertRaises(ClientError) as cm:
            s3.list_parts(Bucket="orphans", Key="left", UploadId=upload)
        self.assertEqual(error_code(cm.exception), "NoSuchUpload")


if __name__ == "__main__":
    require(HAVE_BOTO3, "boto3 is not importable by %s" % sys.executable)
    main()
