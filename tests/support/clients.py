"""The real clients the store must satisfy: Debian's awscli v2, curl and boto3, plus a small
independent SigV4 signer for raw requests (limits tests need control over the socket)."""
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import socket
import ssl
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET

from .store import clean_env

AWS_CLI = "/usr/bin/aws"  # Debian's awscli v2; the pyenv awscli v1 earlier on PATH is not it
CURL = "/usr/bin/curl"
REGION = "us-east-1"


def isolate_aws_config(tmp_dir):
    """Points this process's botocore at empty config files so nothing local leaks in."""
    for k in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[k]
    os.environ["AWS_CONFIG_FILE"] = os.path.join(tmp_dir, "no-aws-config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(tmp_dir, "no-aws-credentials")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def parse_error(body):
    """(Code, Message) of an S3 XML error body, or (None, None) when it is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None, None
    if root.tag != "Error":
        return None, None
    return root.findtext("Code"), root.findtext("Message")


class AwsCli:
    """Runs /usr/bin/aws against one endpoint with credentials in temp config files."""

    def __init__(self, endpoint, key_id, secret, work_dir):
        self.endpoint = endpoint
        self.work_dir = work_dir
        os.makedirs(work_dir, exist_ok=True)
        self.config = os.path.join(work_dir, "aws-config")
        self.credentials = os.path.join(work_dir, "aws-credentials")
        with open(self.config, "w") as f:
            f.write("[default]\nregion = %s\noutput = json\n" % REGION)
        with open(self.credentials, "w") as f:
            f.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    % (key_id, secret))
        os.chmod(self.credentials, 0o600)

    def env(self, key_id=None, secret=None):
        return clean_env(AWS_CONFIG_FILE=self.config, AWS_SHARED_CREDENTIALS_FILE=self.credentials,
                         AWS_DEFAULT_REGION=REGION, AWS_PAGER="", AWS_EC2_METADATA_DISABLED="true",
                         AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret,
                         HOME=self.work_dir)

    def run(self, *args, check=True, key_id=None, secret=None, timeout=120):
        """`aws ARGS --endpoint-url E`; returns CompletedProcess with text output."""
        cmd = [AWS_CLI, *args, "--endpoint-url", self.endpoint]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env(key_id, secret),
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed (%d):\nstdout: %s\nstderr: %s"
                                 % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def json(self, *args, **kw):
        out = self.run(*args, **kw).stdout
        return json.loads(out) if out.strip() else {}


class CurlResult:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lowercase name -> last value
        self.body = body

    @property
    def error(self):
        return parse_error(self.body)

    def __repr__(self):
        return "CurlResult(%d, %r)" % (self.status, self.body[:300])


def curl(url, work_dir, method=None, headers=(), data_file=None, extra=(), timeout=60):
    """Fetches `url` with curl exactly as given (no globbing, no dot-segment removal)."""
    body_path = os.path.join(work_dir, "curl.body")
    head_path = os.path.join(work_dir, "curl.head")
    cmd = [CURL, "-sS", "-g", "--path-as-is", "--max-time", str(timeout), "-o", body_path,
           "-D", head_path, "-w", "%{http_code}"]
    if method:
        cmd += ["-X", method]
    for h in headers:
        cmd += ["-H", h]
    if data_file:
        cmd += ["--data-binary", "@" + data_file]
    cmd += list(extra) + [url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10,
                          env=clean_env(), stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError("curl %s failed (%d): %s" % (url, proc.returncode, proc.stderr))
    with open(body_path, "rb") as f:
        body = f.read()
    headers_out = {}
    with open(head_path, "rb") as f:
        for line in f.read().decode("latin-1").splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                headers_out[k.strip().lower()] = v.strip()
    return CurlResult(int(proc.stdout.strip()), headers_out, body)


def boto3_client(endpoint, key_id, secret, verify=None, signature_version="s3v4", **config):
    """A boto3 S3 client for the store: path style, no retries (errors must surface)."""
    import boto3
    from botocore.config import Config
    kw = dict(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
              connect_timeout=10, read_timeout=60, max_pool_connections=32)
    if signature_version:
        kw["signature_version"] = signature_version
    kw.update(config)
    session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret,
                                    region_name=REGION)
    return session.client("s3", endpoint_url=endpoint, verify=verify, config=Config(**kw))


def error_code(client_error):
    return client_error.response.get("Error", {}).get("Code")


# --- A minimal SigV4 header signer, written from the spec, for hand-made requests. ---

def _uri_encode(s, keep_slash):
    return urllib.parse.quote(s, safe="/~" if keep_slash else "~")


def sign_headers(method, host, path, key_id, secret, query=(), headers=None,
                 payload_hash="UNSIGNED-PAYLOAD", when=None, region=REGION):
    """Headers (Host, x-amz-date, x-amz-content-sha256, Authorization) for a request to
    `path` (decoded: it is URI-encoded here once, as S3 wants)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    hdrs = {"host": host, "x-amz-date": amz_date}
    if payload_hash is not None:  # None: leave the header out (a malformed request)
        hdrs["x-amz-content-sha256"] = payload_hash
    for k, v in (headers or {}).items():
        hdrs[k.lower()] = str(v).strip()
    signed = sorted(hdrs)
    canonical_query = "&".join(
        "%s=%s" % (_uri_encode(k, False), _uri_encode(v, False)) for k, v in sorted(query))
    canonical = "\n".join([
        method, _uri_encode(path, True), canonical_query,
        "".join("%s:%s\n" % (k, hdrs[k]) for k in signed), ";".join(signed),
        payload_hash or "UNSIGNED-PAYLOAD"])
    scope = "%s/%s/s3/aws4_request" % (day, region)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    hdrs["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                             % (key_id, scope, ";".join(signed), signature))
    return hdrs


def raw_head(method, path, headers, query=()):
    """The request line and headers of an HTTP/1.1 request, as bytes."""
    target = _uri_encode(path, True)
    if query:
        target += "?" + "&".join("%s=%s" % (_uri_encode(k, False), _uri_encode(v, False))
                                 for k, v in query)
    lines = ["%s %s HTTP/1.1" % (method, target)]
    lines += ["%s: %s" % (k, v) for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock, method="GET"):
    """Parses one HTTP response from a connected socket: (status, headers, body)."""
    resp = http.client.HTTPResponse(sock, method=method)
    resp.begin()
    body = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def tls_context(cert_file):
    ctx = ssl.create_default_context(cafile=cert_file)
    return ctx


def connect(port, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)
