"""boto3's generate_presigned_url (SigV4) in a loop: prints "URLS_PER_SECOND COUNT".

The same request as sparkify_bench_sign presign-rate: GET, path style, one key, 1 hour, no
network traffic (presigning is local). Usage: python3 presign_boto3.py SECONDS
"""
import os
import sys
import time

import boto3
from botocore.config import Config


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9000",
        region_name="us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    params = {"Bucket": "bench", "Key": "get-4k"}
    # Warm-up: the first call loads the service model and builds the signer.
    url = client.generate_presigned_url("get_object", Params=params, ExpiresIn=3600)
    assert "X-Amz-Signature=" in url, url
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        for _ in range(32):
            client.generate_presigned_url("get_object", Params=params, ExpiresIn=3600)
        count += 32
        now = time.perf_counter()
    print(f"{count / (now - start):.0f} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
