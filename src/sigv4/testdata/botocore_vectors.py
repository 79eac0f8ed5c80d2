#!/usr/bin/env python3
"""Prints the botocore SigV4 vectors pasted into src/sigv4/interop_test.cpp.

Run: python3 src/sigv4/testdata/botocore_vectors.py   (botocore 1.43, the machine's pyenv)
Signs with botocore's own S3SigV4Auth (header auth) and S3SigV4QueryAuth (presigned URLs) at a
fixed time, by patching botocore.auth.get_current_datetime, and prints C++ table rows.
"""
import datetime
from unittest import mock

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode

T = datetime.datetime(2024, 3, 1, 12, 0, 0)
PERM = Credentials("AKIDSPARKIFYTEST", "sparkify/secret+key=example")
TEMP = Credentials("ASIASPARKIFYTEMP", "temporary/secret", "session+token/==")


def url(host, key, scheme="https"):
    # botocore's REST serializer encodes keys the same way (safe='/~').
    return f"{scheme}://{host}/" + percent_encode(key, safe="/~")


def c(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def header(name, method, u, creds, headers=None, body=b"", params=None):
    req = AWSRequest(method=method, url=u, headers=headers or {}, data=body, params=params or {})
    with mock.patch("botocore.auth.get_current_datetime", return_value=T):
        S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    p = req.prepare()
    hs = ", ".join("{%s, %s}" % (c(k), c(v)) for k, v in p.headers.items() if k != "Content-Length")
    print(f"    {{{c(name)}, {c(method)}, {c(p.url)}, {{{hs}}}}},")


def presign(name, method, u, creds, expires=3600):
    req = AWSRequest(method=method, url=u)
    with mock.patch("botocore.auth.get_current_datetime", return_value=T):
        S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=expires).add_auth(req)
    print(f"    {{{c(name)}, {c(method)}, {c(req.prepare().url)}, {{}}}},")


KEYS = [("Space", "my file.txt"), ("Plus", "a+b=c&d.txt"),
        ("Unicode", "unicode/\u65e5\u672c\u8a9e \u00f1.txt"), ("DotDot", "dir/../etc/passwd"),
        ("DoubleSlashDot", "a//b/./c"), ("Punctuation", "~user/it's (1)*!.txt")]
for label, key in KEYS:
    for style, host, scheme, k in [("Virtual", "examplebucket.s3.amazonaws.com", "https", key),
                                   ("Path", "127.0.0.1:9000", "http", "examplebucket/" + key)]:
        header(f"Header{label}{style}", "GET", url(host, k, scheme), PERM)
        presign(f"Presign{label}{style}", "GET", url(host, k, scheme), PERM)
photo = url("examplebucket.s3.amazonaws.com", "photos/cat & dog+1.jpg")
header("HeaderPutWithMetadata", "PUT", photo, PERM,
       {"Content-Type": "image/jpeg", "x-amz-meta-owner": "Ana Li"}, b"hello world\n")
header("HeaderSessionTokenAndQuery", "GET", photo, TEMP, params={"versionId": "v 1+2", "acl": ""})
presign("PresignSessionTokenPut7Days", "PUT", photo, TEMP, expires=604800)
