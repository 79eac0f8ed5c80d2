"""Encryption at rest (SSE-S3) through the machine's boto3 against a real `sparkify store`:
objects, multipart uploads and copies asked to be encrypted are stored as AES-256-GCM records
(no plaintext byte pattern on the disk) and read back whole, by range, by part and through
presigned URLs; bucket default encryption (Put/Get/DeleteBucketEncryption) and the store's
--default-encryption; SSE-KMS and SSE-C are refused with NotImplemented; the key file is
private, may live outside the data dir, and a store without the key its objects need does
not start."""
import hashlib
import os
import stat
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.clients import boto3_client, error_code, isolate_aws_config  # noqa: E402
from support.store import Store, StoreTestCase, main, require  # noqa: E402

try:
    import boto3  # noqa: F401
    from boto3.s3.transfer import TransferConfig
    from botocore.exceptions import ClientError
    HAVE_BOTO3 = True
except ImportError:
    HAVE_BOTO3 = False

MIB = 1 << 20


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def disk_bytes(data_dir):
    """Every byte the store keeps for its buckets, concatenated."""
    out = []
    for root, _, files in os.walk(os.path.join(data_dir, "buckets")):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                out.append(f.read())
    return b"".join(out)


class EncryptionTestBase(StoreTestCase):

    @classmethod
    def setUpClass(cls):
        require(HAVE_BOTO3, "boto3 is not installed")
        super().setUpClass()
        isolate_aws_config(cls.tmp.path)
        cls.s3 = boto3_client(cls.store.endpoint, *cls.store.root)

    def assertClientError(self, code, status, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        err = cm.exception
        self.assertEqual(error_code(err), code, err.response)
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], status, err.response)
        return err

    def body(self, bucket, key, **kw):
        return self.s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()

    def marker(self):
        return b"PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()


class ObjectEncryptionTest(EncryptionTestBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = cls.unique("sse")
        cls.s3.create_bucket(Bucket=cls.bucket)

    def test_an_encrypted_object_reads_back_every_way_and_is_not_on_disk_in_plain(self):
        marker = self.marker()
        data = marker + os.urandom(3 * MIB + 12345) + marker
        put = self.s3.put_object(Bucket=self.bucket, Key="enc/cover.png", Body=data,
                                 ServerSideEncryption="AES256", ContentType="image/png")
        self.assertEqual(put["ServerSideEncryption"], "AES256")
        self.assertEqual(put["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
        plain_marker = self.marker()
        plain = self.s3.put_object(Bucket=self.bucket, Key="enc/plain", Body=plain_marker)
        self.assertNotIn("ServerSideEncryption", plain)

        head = self.s3.head_object(Bucket=self.bucket, Key="enc/cover.png")
        self.assertEqual(head["ServerSideEncryption"], "AES256")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertEqual(head["ContentType"], "image/png")
        self.assertNotIn("ServerSideEncryption",
                         self.s3.head_object(Bucket=self.bucket, Key="enc/plain"))
        got = self.s3.get_object(Bucket=self.bucket, Key="enc/cover.png")
        self.assertEqual(got["ServerSideEncryption"], "AES256")
        self.assertTrue(got["Body"].read() == data, "whole GET differs")
        for first, last in ((0, 0), (65530, 65545), (70000, 2 * MIB + 3), (len(data) - 9,
                                                                              len(data) - 1)):
            ranged = self.body(self.bucket, "enc/cover.png", Range="bytes=%d-%d" % (first, last))
            self.assertEqual(ranged, data[first:last + 1], (first, last))
        self.assertEqual(self.body(self.bucket, "enc/cover.png", PartNumber=1), data)
        url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": "enc/cover.png"}, ExpiresIn=60)
        status, headers, body = fetch(url)
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("x-amz-server-side-encryption"), "AES256")
        self.assertTrue(body == data, "presigned GET differs")

        on_disk = disk_bytes(self.store.data_dir)
        self.assertNotIn(marker, on_disk)
        self.assertNotIn(data[MIB:MIB + 64], on_disk)
        self.assertIn(plain_marker, on_disk)  # the check can see plain bytes
        key_file = os.path.join(self.store.data_dir, "sse-s3.key")
        self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o600)

    def test_multipart_uploads_encrypt_their_parts_and_the_object(self):
        marker = self.marker()
        parts = [marker + os.urandom(5 * MIB), marker + os.urandom(5 * MIB), marker + b"end"]
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key="enc/mp",
                                             ServerSideEncryption="AES256")
        self.assertEqual(up["ServerSideEncryption"], "AES256")
        done = []
        for i, part in enumerate(parts, 1):
            r = self.s3.upload_part(Bucket=self.bucket, Key="enc/mp", UploadId=up["UploadId"],
                                    PartNumber=i, Body=part)
            self.assertEqual(r["ServerSideEncryption"], "AES256")
            done.append({"PartNumber": i, "ETag": r["ETag"]})
        self.assertNotIn(marker, disk_bytes(self.store.data_dir))
        complete = self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key="enc/mp", UploadId=up["UploadId"],
            MultipartUpload={"Parts": done})
        self.assertEqual(complete["ServerSideEncryption"], "AES256")
        self.assertNotIn(marker, disk_bytes(self.store.data_dir))
        self.assertTrue(self.body(self.bucket, "enc/mp") == b"".join(parts))
        second = self.s3.get_object(Bucket=self.bucket, Key="enc/mp", PartNumber=2)
        self.assertEqual(second["ServerSideEncryption"], "AES256")
        self.assertEqual(second["PartsCount"], 3)
        self.assertTrue(second["Body"].read() == parts[1], "part 2 differs")

    def test_copy_encrypts_in_place_and_decrypts_to_a_plain_copy(self):
        data = self.marker() + os.urandom(200000)
        self.s3.put_object(Bucket=self.bucket, Key="enc/copy", Body=data)
        # Copying an object onto itself is allowed when it changes the encryption.
        r = self.s3.copy_object(Bucket=self.bucket, Key="enc/copy", ServerSideEncryption="AES256",
                                CopySource={"Bucket": self.bucket, "Key": "enc/copy"})
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        self.assertEqual(self.s3.head_object(Bucket=self.bucket,
                                             Key="enc/copy")["ServerSideEncryption"], "AES256")
        self.assertEqual(self.body(self.bucket, "enc/copy"), data)
        r = self.s3.copy_object(Bucket=self.bucket, Key="enc/copy-plain",
                                CopySource={"Bucket": self.bucket, "Key": "enc/copy"})
        self.assertNotIn("ServerSideEncryption", r)
        self.assertEqual(self.body(self.bucket, "enc/copy-plain"), data)
        self.assertClientError("InvalidRequest", 400, self.s3.copy_object, Bucket=self.bucket,
                               Key="enc/copy", CopySource={"Bucket": self.bucket, "Key": "enc/copy"})

    def test_bucket_default_encryption(self):
        bucket = self.unique("ssedefault")
        self.s3.create_bucket(Bucket=bucket)
        self.assertClientError("ServerSideEncryptionConfigurationNotFoundError", 404,
                               self.s3.get_bucket_encryption, Bucket=bucket)
        self.s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        rules = self.s3.get_bucket_encryption(
            Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        self.assertEqual(rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")
        data = self.marker() + os.urandom(9 * MIB)
        put = self.s3.put_object(Bucket=bucket, Key="single", Body=data[:MIB])
        self.assertEqual(put["ServerSideEncryption"], "AES256")
        # boto3's managed transfer: a multipart upload that asks for nothing.
        path = os.path.join(self.tmp.path, "upload.bin")
        with open(path, "wb") as f:
            f.write(data)
        self.s3.upload_file(path, bucket, "managed", Config=TransferConfig(
            multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB))
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="managed")["ServerSideEncryption"],
                         "AES256")
        self.assertTrue(self.body(bucket, "managed") == data)
        self.assertNotIn(data[:64], disk_bytes(self.store.data_dir))

        self.s3.delete_bucket_encryption(Bucket=bucket)
        self.assertClientError("ServerSideEncryptionConfigurationNotFoundError", 404,
                               self.s3.get_bucket_encryption, Bucket=bucket)
        self.assertNotIn("ServerSideEncryption",
                         self.s3.put_object(Bucket=bucket, Key="after", Body=b"x"))
        self.assertClientError(
            "NotImplemented", 501, self.s3.put_bucket_encryption, Bucket=bucket,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"}}]})
        self.assertClientError("NoSuchBucket", 404, self.s3.get_bucket_encryption,
                               Bucket=self.unique("missing"))

    def test_an_unreadable_default_encryption_fails_writes_closed(self):
        bucket = self.unique("ssebroken")
        self.s3.create_bucket(Bucket=bucket)
        with open(os.path.join(self.store.data_dir, "buckets", bucket, "docs",
                               "encryption.xml"), "w") as f:
            f.write("<not a configuration")
        self.assertClientError("InternalError", 500, self.s3.put_object, Bucket=bucket, Key="k",
                               Body=b"would be stored in plain text")
        self.assertClientError("404", 404, self.s3.head_object, Bucket=bucket, Key="k")
        self.assertIn("encryption configuration does not parse", self.store.log_tail(50))

    def test_kms_customer_keys_and_unknown_algorithms_are_refused(self):
        self.assertClientError("NotImplemented", 501, self.s3.put_object, Bucket=self.bucket,
                               Key="enc/kms", Body=b"x", ServerSideEncryption="aws:kms",
                               SSEKMSKeyId="alias/x")
        self.assertClientError("NotImplemented", 501, self.s3.create_multipart_upload,
                               Bucket=self.bucket, Key="enc/kms", ServerSideEncryption="aws:kms")
        customer = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": os.urandom(32).hex()[:32]}
        err = self.assertClientError("NotImplemented", 501, self.s3.put_object,
                                     Bucket=self.bucket, Key="enc/ssec", Body=b"x", **customer)
        self.assertIn("SSE-C", err.response["Error"]["Message"])
        self.s3.put_object(Bucket=self.bucket, Key="enc/ssec-read", Body=b"x")
        self.assertClientError("NotImplemented", 501, self.s3.get_object, Bucket=self.bucket,
                               Key="enc/ssec-read", **customer)
        self.assertClientError("InvalidArgument", 400, self.s3.put_object, Bucket=self.bucket,
                               Key="enc/bad", Body=b"x", ServerSideEncryption="AES512")
        for key in ("enc/kms", "enc/ssec", "enc/bad"):
            self.assertClientError("404", 404, self.s3.head_object, Bucket=self.bucket, Key=key)


class StoreDefaultEncryptionTest(EncryptionTestBase):
    """--default-encryption AES256 (what `sparkify up` runs): every bucket encrypts, as S3."""

    STORE_ARGS = ("--default-encryption", "AES256")

    def test_every_bucket_encrypts_without_asking(self):
        bucket = self.unique("sseall")
        self.s3.create_bucket(Bucket=bucket)
        rules = self.s3.get_bucket_encryption(
            Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        self.assertEqual(rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")
        marker = self.marker()
        put = self.s3.put_object(Bucket=bucket, Key="k", Body=marker * 1000)
        self.assertEqual(put["ServerSideEncryption"], "AES256")
        self.assertEqual(self.body(bucket, "k"), marker * 1000)
        self.assertNotIn(marker, disk_bytes(self.store.data_dir))


class EncryptionKeyFileTest(EncryptionTestBase):
    """The key outside the data dir, a restart, and stores started without the right key."""

    @classmethod
    def make_store(cls):
        cls.key_dir = cls.tmp.join("secrets")
        os.makedirs(cls.key_dir, mode=0o700)
        cls.key_file = os.path.join(cls.key_dir, "sse.key")
        return Store(cls.tmp.join("data"), args=("--encryption-key-file", cls.key_file))

    def test_restart_with_the_key_reads_and_without_it_refuses(self):
        bucket = self.unique("ssekey")
        self.s3.create_bucket(Bucket=bucket)
        data = os.urandom(300000)
        self.s3.put_object(Bucket=bucket, Key="secret", Body=data, ServerSideEncryption="AES256")
        self.s3.put_object(Bucket=bucket, Key="open", Body=b"plain")
        self.assertFalse(os.path.exists(os.path.join(self.store.data_dir, "sse-s3.key")))
        with open(self.key_file) as f:
            self.assertRegex(f.read(), r"^[0-9a-f]{64}\n$")

        self.store.stop()
        self.store.start()
        self.s3 = boto3_client(self.store.endpoint, *self.store.root)
        self.assertEqual(self.body(bucket, "secret"), data)

        # The same data dir without its key, with another key, or with the key's directory
        # not there: the store refuses to start (never a new key beside the old objects).
        self.store.stop()
        with open(os.path.join(self.key_dir, "other.key"), "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        for name, why in (("none.key", "is missing"), ("other.key", "holds key"),
                          ("no-dir/sse.key", "does not exist")):
            other = Store(self.store.data_dir, root=self.store.root, log_dir=self.tmp.path,
                          args=("--encryption-key-file", os.path.join(self.key_dir, name)))
            with self.assertRaises(RuntimeError) as cm:
                other.start()
            self.assertIn(why, str(cm.exception))
        self.assertFalse(os.path.exists(os.path.join(self.key_dir, "none.key")))
        self.store.start()
        self.s3 = boto3_client(self.store.endpoint, *self.store.root)
        self.assertEqual(self.body(bucket, "secret"), data)
        self.assertEqual(self.body(bucket, "open"), b"plain")


if __name__ == "__main__":
    main()
