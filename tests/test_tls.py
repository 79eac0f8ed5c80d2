"""boto3 over HTTPS against a real `sparkify store --tls-cert/--tls-key` with a throwaway
self-signed certificate. Over TLS botocore streams uploads as aws-chunked bodies with a CRC32
trailer and Transfer-Encoding: chunked, the mode the store must decode and verify."""
import hashlib
import http.client
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.checksums import b64_crc32  # noqa: E402
from support.clients import boto3_client, error_code, isolate_aws_config  # noqa: E402
from support.store import Store, StoreTestCase, clean_env, main, require  # noqa: E402

try:
    from botocore.exceptions import ClientError, SSLError
    HAVE_BOTO3 = True
except ImportError:
    HAVE_BOTO3 = False

MIB = 1 << 20
OPENSSL = "/usr/bin/openssl"


def make_self_signed(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, env=clean_env(), timeout=30)
    return cert, key


class TlsTest(StoreTestCase):

    @classmethod
    def make_store(cls):
        cls.cert, key = make_self_signed(cls.tmp.path)
        return Store(cls.tmp.join("data"), tls=(cls.cert, key))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        isolate_aws_config(cls.tmp.path)
        assert cls.store.endpoint.startswith("https://")
        cls.s3 = boto3_client(cls.store.endpoint, *cls.store.root, verify=cls.cert)
        cls.bucket = cls.unique("tls")
        cls.s3.create_bucket(Bucket=cls.bucket)

    def put_capturing_headers(self, key, data):
        sent = {}
        hook = lambda request, **_: sent.update(request.headers)  # noqa: E731
        self.s3.meta.events.register_first("before-send.s3.PutObject", hook)
        try:
            put = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
        finally:
            self.s3.meta.events.unregister("before-send.s3.PutObject", hook)
        return put, {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in sent.items()}

    def test_aws_chunked_uploads_small_and_10mib(self):
        for key, size in [("small.bin", 1024), ("ten.bin", 10 * MIB)]:
            with self.subTest(size=size):
                data = os.urandom(size)
                put, sent = self.put_capturing_headers(key, data)
                # The upload really was the streaming trailer mode this test is about.
                self.assertIn("aws-chunked", sent.get("content-encoding", ""))
                self.assertEqual(sent.get("transfer-encoding"), "chunked")
                self.assertNotIn("content-length", sent)
                self.assertEqual(sent.get("x-amz-decoded-content-length"), str(size))
                self.assertEqual(sent.get("x-amz-trailer"), "x-amz-checksum-crc32")
                self.assertEqual(put["ETag"], '"%s"' % hashlib.md5(data).hexdigest())
                got = self.s3.get_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
                self.assertEqual(got["ContentLength"], size)
                self.assertEqual(got.get("ChecksumCRC32"), b64_crc32(data))
                # aws-chunked is a transfer detail: it must not be stored as the encoding.
                self.assertNotIn("aws-chunked", got.get("ContentEncoding", ""))
                self.assertTrue(got["Body"].read() == data, "object read back differs")

    def test_multipart_over_tls(self):
        parts = [os.urandom(5 * MIB), os.urandom(1000)]
        mp = self.s3.create_multipart_upload(Bucket=self.bucket, Key="mp.bin")["UploadId"]
        etags = [self.s3.upload_part(Bucket=self.bucket, Key="mp.bin", UploadId=mp, PartNumber=n,
                                     Body=p)["ETag"] for n, p in enumerate(parts, 1)]
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key="mp.bin", UploadId=mp,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]})
        body = self.s3.get_object(Bucket=self.bucket, Key="mp.bin")["Body"].read()
        self.assertTrue(body == b"".join(parts), "multipart object over TLS differs")

    def test_presigned_url_over_tls(self):
        self.s3.put_object(Bucket=self.bucket, Key="pre.txt", Body=b"secure presigned")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket,
                                                                   "Key": "pre.txt"})
        ctx = ssl.create_default_context(cafile=self.cert)
        with urllib.request.urlopen(url, context=ctx, timeout=30) as resp:
            self.assertEqual((resp.status, resp.read()), (200, b"secure presigned"))

    def test_untrusted_certificate_is_refused_by_client(self):
        strict = boto3_client(self.store.endpoint, *self.store.root, verify=True)
        with self.assertRaises(SSLError):
            strict.list_buckets()

    def test_plain_http_to_tls_port_fails_fast(self):
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.store.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = b""
            try:
                while True:
                    chunk = sock.recv(4096)  # socket.timeout here would be the hang we forbid
                    if not chunk:
                        break
                    received += chunk
            except ConnectionResetError:
                pass
        self.assertLess(time.monotonic() - start, 5)
        self.assertFalse(received.startswith(b"HTTP/1.1 200"), received)
        conn = http.client.HTTPConnection("127.0.0.1", self.store.port, timeout=5)
        try:
            with self.assertRaises((http.client.HTTPException, ConnectionError)):
                conn.request("GET", "/")
                resp = conn.getresponse()
                self.assertNotEqual(resp.status, 200)
                raise http.client.HTTPException("got HTTP %d over plain text" % resp.status)
        finally:
            conn.close()
        # The server is still fine for TLS clients.
        self.assertIn(self.bucket, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])

    def test_errors_over_tls(self):
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket=self.bucket, Key="missing")
        self.assertEqual(error_code(cm.exception), "NoSuchKey")


if __name__ == "__main__":
    require(HAVE_BOTO3, "boto3 is not importable by %s" % sys.executable)
    require(os.access(OPENSSL, os.X_OK), "the openssl CLI is not installed")
    main()
