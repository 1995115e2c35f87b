#!/usr/bin/env python3
"""Reads a running `ferry serve` with the official OpenAI Python SDK and checks what it gets.

    python scripts/sdk_check.py --base-url http://127.0.0.1:8080/v1 [--token TOKEN] [--expect expect.json]

Without --expect it checks consistency only: the SDK's list equals the raw JSON list, paging with limit=1 visits
every file once in order, retrieve returns each listed file with a provider_files map, an unknown id raises
NotFoundError, and (with --token) a wrong token raises AuthenticationError.

With --expect FILE (JSON: {"files": [<file objects newest first, each with provider_files>]}) it also asserts
every value. Exits 0 and prints 'sdk check passed: N checks' when everything holds; exits 1 naming the first
mismatch otherwise.
"""

import argparse
import json
import sys
import urllib.request

import openai

FIELDS = ["id", "object", "bytes", "created_at", "filename", "purpose", "status", "status_details"]


class Checker:
    def __init__(self):
        self.count = 0

    def equal(self, actual, expected, what):
        self.count += 1
        if actual != expected:
            print(f"sdk check FAILED: {what}: expected {expected!r}, got {actual!r}", file=sys.stderr)
            sys.exit(1)

    def true(self, condition, what):
        self.equal(bool(condition), True, what)


def raw_list(base_url, token):
    request = urllib.request.Request(base_url.rstrip("/") + "/files")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def fields(file_object):
    return {name: getattr(file_object, name, None) for name in FIELDS}


def provider_files(file_object):
    extra = file_object.model_extra or {}
    return extra.get("provider_files")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8080/v1")
    parser.add_argument("--token", default=None, help="FERRY_STATUS_TOKEN of the server, if it has one")
    parser.add_argument("--expect", default=None, help="JSON file with the expected file objects, newest first")
    args = parser.parse_args()

    check = Checker()
    # The SDK sends the api key as 'Authorization: Bearer', which is what the status token expects.
    client = openai.OpenAI(base_url=args.base_url, api_key=args.token or "unused", max_retries=0, timeout=30)

    # 1. One page: the SDK's view equals the raw JSON.
    page = client.files.list()
    listed = list(page.data)
    raw = raw_list(args.base_url, args.token)
    check.equal(raw["object"], "list", "raw list object")
    check.equal([f.id for f in listed], [f["id"] for f in raw["data"]], "SDK list ids == raw list ids")
    check.equal(page.has_more, False, "default list has_more")
    for sdk_file, raw_file in zip(listed, raw["data"]):
        check.equal(fields(sdk_file), {name: raw_file.get(name) for name in FIELDS}, f"fields of {sdk_file.id}")
        check.equal(sdk_file.object, "file", f"object of {sdk_file.id}")
    ids = [f.id for f in listed]

    # 2. Auto-pagination with limit=1 visits every file once, in order, and stops.
    paged = []
    for file_object in client.files.list(limit=1):
        paged.append(file_object.id)
        if len(paged) > len(ids) + 1:
            break
    check.equal(paged, ids, "auto-paginated ids (limit=1)")
    pages = list(client.files.list(limit=2).iter_pages())
    check.equal(len(pages), max(1, (len(ids) + 1) // 2), "pages of 2")
    ascending = client.files.list(order="asc", limit=2)
    check.equal([f.id for f in ascending.data], list(reversed(ids))[:2], "order=asc first page")
    check.equal(ascending.has_more, len(ids) > 2, "order=asc has_more")

    # 3. purpose filters.
    for purpose in sorted({f.purpose for f in listed}):
        filtered = [f.id for f in client.files.list(purpose=purpose)]
        check.equal(filtered, [f.id for f in listed if f.purpose == purpose], f"purpose={purpose}")

    # 4. retrieve each file: the same fields, plus provider_files.
    retrieved = {}
    for file_id in ids:
        file_object = client.files.retrieve(file_id)
        check.equal(fields(file_object), fields(next(f for f in listed if f.id == file_id)), f"retrieve {file_id}")
        check.true(isinstance(provider_files(file_object), dict), f"provider_files of {file_id} is an object")
        retrieved[file_id] = file_object

    # 5. Unknown ids and wrong tokens raise the SDK's typed errors.
    try:
        client.files.retrieve("file-ferry-000000000000000000000000")
        check.true(False, "unknown id raises NotFoundError")
    except openai.NotFoundError as error:
        check.equal(error.status_code, 404, "unknown id status")
        check.equal(error.body.get("message") if isinstance(error.body, dict) else None,
                    "No such File object: file-ferry-000000000000000000000000", "unknown id message")
    if args.token:
        wrong = openai.OpenAI(base_url=args.base_url, api_key=args.token + "-wrong", max_retries=0, timeout=30)
        try:
            wrong.files.list()
            check.true(False, "wrong token raises AuthenticationError")
        except openai.AuthenticationError as error:
            check.equal(error.status_code, 401, "wrong token status")

    # 6. Exact values.
    if args.expect:
        with open(args.expect, encoding="utf-8") as handle:
            expected = json.load(handle)["files"]
        check.equal(ids, [f["id"] for f in expected], "expected ids, newest first")
        for want in expected:
            got = retrieved[want["id"]]
            for name in FIELDS:
                if name in want:
                    check.equal(getattr(got, name, None), want[name], f"{want['id']}.{name}")
            check.equal(provider_files(got), want["provider_files"], f"{want['id']}.provider_files")

    print(f"sdk check passed: {check.count} checks, {len(ids)} files, openai {openai.__version__}")


if __name__ == "__main__":
    main()
