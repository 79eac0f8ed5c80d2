#!/usr/bin/python3
"""Debian's awscli v2 (/usr/bin/aws, never the pyenv one) and the seed's curl command against
the Lambda emulator, on an ephemeral loopback port.

    awscli_invoke_test.py --emulator PATH --worker PATH

Exits 77 (skipped) when /usr/bin/aws is missing.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

AWS = "/usr/bin/aws"
ROOT_KEY = "ROOTKEYAWSCLILAMBDA1"
ROOT_SECRET = "root/secret/for/the/awscli/lambda/test/0"


def aws(port, workdir, *args, secret=ROOT_SECRET, key=ROOT_KEY):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.path.join(workdir, "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(workdir, "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    }
    cmd = [AWS, "lambda", "invoke", "--endpoint-url", f"http://127.0.0.1:{port}",
           "--cli-binary-format", "raw-in-base64-out", *args]
    return subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True, timeout=120)


def check(condition, what, detail=""):
    if not condition:
        print(f"FAIL: {what}\n{detail}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--worker", required=True)
    args = parser.parse_args()
    if not os.access(AWS, os.X_OK):
        print("skipped: no /usr/bin/aws")
        return 77

    workdir = tempfile.mkdtemp(prefix="lambda-awscli-")
    env = dict(os.environ, SPARKIFY_ROOT_ACCESS_KEY_ID=ROOT_KEY,
               SPARKIFY_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
    emulator = subprocess.Popen(
        [args.emulator, "--worker", args.worker, "--data", os.path.join(workdir, "data")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        text=True)
    try:
        line = emulator.stdout.readline()
        check(line.startswith("listening on http://127.0.0.1:"), "emulator started", line)
        port = int(line.strip().rsplit(":", 1)[1])
        out = os.path.join(workdir, "out.json")

        r = aws(port, workdir, "--function-name", "function", "--payload", '{"x":1}', out)
        check(r.returncode == 0, "aws lambda invoke succeeds", r.stderr)
        meta = json.loads(r.stdout)
        check(meta.get("StatusCode") == 200, "StatusCode 200", r.stdout)
        check(meta.get("ExecutedVersion") == "$LATEST", "ExecutedVersion $LATEST", r.stdout)
        check("FunctionError" not in meta, "no FunctionError", r.stdout)
        with open(out) as f:
            check(json.load(f) == {"x": 1}, "out.json holds the function's answer")

        r = aws(port, workdir, "--function-name", "function", "--log-type", "Tail",
                "--payload", '{"op":"error","message":"bad covers"}', out)
        check(r.returncode == 0, "invoke with a function error succeeds", r.stderr)
        meta = json.loads(r.stdout)
        check(meta.get("FunctionError") == "Unhandled", "FunctionError Unhandled", r.stdout)
        tail = base64.b64decode(meta.get("LogResult", "")).decode()
        check("START RequestId:" in tail and "REPORT RequestId:" in tail, "LogResult tail", tail)
        with open(out) as f:
            body = json.load(f)
        check(body.get("errorType") == "TestError", "error document in out.json", str(body))

        r = aws(port, workdir, "--function-name", "function", "--invocation-type", "Event",
                "--payload", "{}", out)
        check(r.returncode == 0 and json.loads(r.stdout).get("StatusCode") == 202,
              "Event invoke answers 202", r.stdout + r.stderr)
        r = aws(port, workdir, "--function-name", "function", "--invocation-type", "DryRun",
                "--payload", "{}", out)
        check(r.returncode == 0 and json.loads(r.stdout).get("StatusCode") == 204,
              "DryRun invoke answers 204", r.stdout + r.stderr)

        r = aws(port, workdir, "--function-name", "nosuchfunction", "--payload", "{}", out)
        check(r.returncode != 0 and "ResourceNotFoundException" in r.stderr,
              "unknown function is ResourceNotFoundException", r.stderr)
        r = aws(port, workdir, "--function-name", "function", "--payload", "{}", out,
                secret="wrong/secret/wrong/secret/wrong/secret/0")
        check(r.returncode != 0 and "InvalidSignatureException" in r.stderr,
              "wrong secret is InvalidSignatureException", r.stderr)
        r = aws(port, workdir, "--function-name", "function", "--payload", "{}", out,
                key="AKIDUNKNOWNUNKNOWN00")
        check(r.returncode != 0 and "UnrecognizedClientException" in r.stderr,
              "unknown key is UnrecognizedClientException", r.stderr)

        # The seed's own test, unsigned from loopback.
        if shutil.which("curl"):
            c = subprocess.run(
                ["curl", "-sS", "-w", "\n%{http_code}",
                 f"http://localhost:{port}/2015-03-31/functions/function/invocations",
                 "-d", '{"body": {"urls": []}}'],
                capture_output=True, text=True, timeout=60)
            body, _, code = c.stdout.rpartition("\n")
            check(code == "200" and json.loads(body) == {"body": {"urls": []}},
                  "the seed's curl command", c.stdout + c.stderr)
        emulator.stdin.close()
        check(emulator.wait(timeout=60) == 0, "emulator stops cleanly on stdin EOF")
    finally:
        if emulator.poll() is None:
            emulator.kill()
            emulator.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
