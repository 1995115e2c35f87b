#!/usr/bin/env python3
"""Writes Tests/Fixtures/sigv4-vectors.json: AWS Signature Version 4 vectors for S3, signed by
botocore's own S3SigV4Auth (the signer LiteLLM's bedrock files use) at a fixed time, so Ferry's Swift signer can be
checked byte for byte without botocore at test time.

Run with any Python that has botocore (scripts/test.sh installs it into .venv-test with moto[server]):
    .venv-test/bin/python scripts/gen_sigv4_vectors.py
The fixture is committed; re-running it with the same botocore gives the same file.
"""
import datetime
import hashlib
import json
import os
import sys
from unittest import mock
from urllib.parse import quote

import botocore
import botocore.auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

FIXED = datetime.datetime(2026, 1, 1, 12, 30, 45)
AKID = "AKIDEXAMPLEFERRY"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE//token+with/slashes=="


def encode(text, safe):
    return quote(text, safe=safe)


def vector(name, method, host, bucket, key, query, headers, body=b"", token=None, region="us-west-2",
           sign_payload=True, scheme="https"):
    path = "/" + encode(bucket, "") + ("/" + encode(key, "/~") if key is not None else "/")
    query_text = "&".join(f"{encode(k, '-_.~')}={encode(v, '-_.~')}" for k, v in query)
    url = f"{scheme}://{host}{path}" + (f"?{query_text}" if query_text else "")
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    request.context["payload_signing_enabled"] = sign_payload
    request.context["client_config"] = Config(s3={"payload_signing_enabled": sign_payload})
    signer = S3SigV4Auth(Credentials(AKID, SECRET, token), "s3", region)
    # add_auth's own steps, keeping the intermediate texts (the clock is botocore's, frozen).
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=FIXED):
        request.context["timestamp"] = botocore.auth.get_current_datetime().strftime(botocore.auth.SIGV4_TIMESTAMP)
        signer._modify_request_before_signing(request)
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        signer._inject_signature_to_request(request, signer.signature(string_to_sign, request))
    # The same request through the public add_auth must sign identically.
    check = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    check.context["payload_signing_enabled"] = sign_payload
    check.context["client_config"] = Config(s3={"payload_signing_enabled": sign_payload})
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=FIXED):
        S3SigV4Auth(Credentials(AKID, SECRET, token), "s3", region).add_auth(check)
    assert check.headers["Authorization"] == request.headers["Authorization"], name
    signed = {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"}
    if "host" not in signed:
        signed["host"] = host
    return {
        "name": name,
        "method": method,
        "host": host,
        "region": region,
        "bucket": bucket,
        "key": key,
        "query": [[k, v] for k, v in query],
        "url": url,
        "encodedPath": path,
        "bodySHA256": hashlib.sha256(body).hexdigest(),
        "sessionToken": token,
        "headers": dict(sorted(signed.items())),
        "canonicalRequest": canonical,
        "stringToSign": string_to_sign,
        "authorization": request.headers["Authorization"],
    }


def main():
    host = "s3.us-west-2.amazonaws.com"
    body = b'{"custom_id":"1","method":"POST","url":"/v1/chat/completions"}\n'
    vectors = [
        vector("list first page", "GET", host, "ferry-batch", None,
               [("list-type", "2"), ("prefix", "ferry/"), ("max-keys", "1000")], {}),
        vector("list with a continuation token", "GET", host, "ferry-batch", None,
               [("list-type", "2"), ("prefix", "ferry/"),
                ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM= &+~x")], {}),
        vector("put with metadata", "PUT", host, "ferry-batch",
               "ferry/batch/0123abcd/requests.jsonl", [],
               {"Content-Type": "application/jsonl", "Content-Length": str(len(body)),
                "x-amz-meta-ferry-name": "batches/requests.jsonl",
                "x-amz-meta-ferry-sha256": hashlib.sha256(body).hexdigest()}, body=body),
        vector("put streamed, unsigned payload", "PUT", host, "ferry-batch",
               "ferry/batch/0123abcd/big.jsonl", [], {"Content-Type": "application/jsonl"},
               body=body, sign_payload=False),
        vector("delete", "DELETE", host, "ferry-batch", "ferry/batch/0123abcd/requests.jsonl", [], {}),
        vector("head with a session token", "HEAD", host, "ferry-batch", "ferry/batch/0123abcd/requests.jsonl",
               [], {}, token=TOKEN),
        vector("key with spaces and unicode", "PUT", host, "ferry-batch",
               "ferry/user_data/00ff/Überblick Q3 (final) ä+ö=ü.txt", [],
               {"Content-Type": "text/plain", "x-amz-meta-ferry-name": "docs/Überblick Q3.txt"}, body=b"hello\n"),
        vector("multipart part", "PUT", "127.0.0.1:5000", "ferry-batch", "ferry/batch/00aa/big.jsonl",
               [("partNumber", "3"), ("uploadId", "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA")],
               {}, body=b"x" * 100, region="eu-central-1", scheme="http"),
        vector("complete multipart with an empty-valued query", "POST", host, "ferry-batch",
               "ferry/batch/00aa/big.jsonl", [("uploadId", "abc~def")], {"Content-Type": "application/xml"},
               body=b"<CompleteMultipartUpload></CompleteMultipartUpload>"),
        vector("create multipart (uploads=)", "POST", host, "ferry-batch", "ferry/batch/00aa/big.jsonl",
               [("uploads", "")], {"x-amz-meta-ferry-name": "big.jsonl"}),
    ]
    out = {
        "source": f"scripts/gen_sigv4_vectors.py with botocore {botocore.__version__} (S3SigV4Auth), "
                  f"fixed time {FIXED.strftime('%Y%m%dT%H%M%SZ')}",
        "accessKeyID": AKID,
        "secretAccessKey": SECRET,
        "vectors": vectors,
    }
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "sigv4-vectors.json")
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(out, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    print(f"wrote {len(vectors)} vectors to {os.path.relpath(target)}", file=sys.stderr)


if __name__ == "__main__":
    main()
