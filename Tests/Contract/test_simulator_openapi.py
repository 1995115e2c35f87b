"""Contract test: the simulator's OpenAI Files and Uploads answers against OpenAI's official OpenAPI schemas.

Runs the built `ferry simulator` (FERRY_BIN, else .build/debug/ferry) on 127.0.0.1, drives every files and uploads
route once, and validates each JSON answer against the 200 response schema the spec gives that route
(openai-files-openapi.yaml next to this file, copied from the official spec with its source noted).

A field the spec requires that the simulator omits, a wrong type or a value outside an enum fails the test. One
allowance, because the real API does the same: an optional field may be sent as null (OpenAI sends
`"status_details": null`); a required field may be null only where the spec allows null.

    .venv-test/bin/python -m pytest -q Tests/Contract
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parent.parent
SPEC = yaml.safe_load((HERE / "openai-files-openapi.yaml").read_text())
KEY = "sk-contract-test"


def response_schema(method: str, path: str) -> dict:
    """The 200 JSON schema of a route, with the spec's components alongside so `#/components/...` resolves."""
    operation = SPEC["paths"][path][method]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return {**schema, "components": SPEC["components"]}


def strip_nulls(value):
    if isinstance(value, dict):
        return {key: strip_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [strip_nulls(item) for item in value]
    return value


def lookup(value, path):
    for key in path:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            return False, None
    return True, value


def contract_errors(instance, schema) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    with_nulls = {tuple(error.absolute_path) for error in validator.iter_errors(instance)}
    problems = []
    for error in validator.iter_errors(strip_nulls(instance)):
        if error.validator == "required":
            missing = re.match(r"'(.+)' is a required property", error.message)
            if missing:
                path = tuple(error.absolute_path) + (missing.group(1),)
                present, value = lookup(instance, path)
                # Sent as null where the spec allows null: no error at that path when validated as sent.
                if present and value is None and path not in with_nulls:
                    continue
                # An empty list page has no first or last object: OpenAI answers `first_id`/`last_id` null there
                # although the spec types them as strings. Only that case is let through.
                if (present and value is None and path in (("first_id",), ("last_id",))
                        and isinstance(instance, dict) and instance.get("data") == []):
                    continue
        location = "/".join(str(part) for part in error.absolute_path) or "(root)"
        problems.append(f"{location}: {error.message}")
    return problems


@pytest.fixture(scope="module")
def simulator():
    binary = os.environ.get("FERRY_BIN") or str(REPOSITORY / ".build/debug/ferry")
    if not os.access(binary, os.X_OK):
        pytest.fail(f"no ferry binary at {binary}: build first (swift build) or set FERRY_BIN")
    process = subprocess.Popen(
        [binary, "simulator", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            pytest.fail(f"the simulator did not say where it listens: {line!r}")
        base = f"http://127.0.0.1:{match.group(1)}/v1"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as client:
            yield client
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def check(response: httpx.Response, method: str, path: str) -> dict:
    assert response.status_code == 200, f"{method.upper()} {path}: {response.status_code} {response.text}"
    body = response.json()
    problems = contract_errors(body, response_schema(method, path))
    assert not problems, f"{method.upper()} {path} answers outside the spec:\n" + "\n".join(problems)
    return body


def test_files_routes_match_the_spec(simulator):
    created = []
    for purpose in ["assistants", "batch", "fine-tune", "vision", "user_data"]:
        data = b'{"messages": []}\n' if purpose in ("batch", "fine-tune") else b"contract test\n"
        reply = simulator.post(
            "/files", files={"file": (f"{purpose}.jsonl", data)}, data={"purpose": purpose}
        )
        created.append(check(reply, "post", "/files"))
    listed = check(simulator.get("/files", params={"limit": 2, "order": "asc"}), "get", "/files")
    assert listed["has_more"] is True and len(listed["data"]) == 2
    check(simulator.get("/files", params={"purpose": "batch"}), "get", "/files")
    for file in created:
        check(simulator.get(f"/files/{file['id']}"), "get", "/files/{file_id}")
    deleted = check(simulator.delete(f"/files/{created[0]['id']}"), "delete", "/files/{file_id}")
    assert deleted["deleted"] is True


def test_uploads_routes_match_the_spec(simulator):
    part_size = 1024
    data = bytes(range(256)) * 8  # 2 KiB: two parts
    upload = check(
        simulator.post(
            "/uploads",
            json={"filename": "big.jsonl", "purpose": "batch", "bytes": len(data), "mime_type": "application/jsonl"},
        ),
        "post",
        "/uploads",
    )
    parts = []
    for start in range(0, len(data), part_size):
        reply = simulator.post(
            f"/uploads/{upload['id']}/parts", files={"data": ("part", data[start : start + part_size])}
        )
        parts.append(check(reply, "post", "/uploads/{upload_id}/parts")["id"])
    completed = check(
        simulator.post(f"/uploads/{upload['id']}/complete", json={"part_ids": parts}),
        "post",
        "/uploads/{upload_id}/complete",
    )
    assert completed["status"] == "completed" and completed["file"]["bytes"] == len(data)

    other = check(
        simulator.post(
            "/uploads",
            json={"filename": "gone.jsonl", "purpose": "batch", "bytes": 10, "mime_type": "application/jsonl"},
        ),
        "post",
        "/uploads",
    )
    cancelled = check(simulator.post(f"/uploads/{other['id']}/cancel"), "post", "/uploads/{upload_id}/cancel")
    assert cancelled["status"] == "cancelled"


def test_the_check_catches_an_omitted_required_field():
    """The contract check itself: a file object without `bytes`, or with a purpose outside the enum, fails."""
    schema = response_schema("get", "/files/{file_id}")
    good = {
        "id": "file-1", "object": "file", "bytes": 1, "created_at": int(time.time()), "filename": "a.md",
        "purpose": "assistants", "status": "processed", "expires_at": None, "status_details": None,
    }
    assert contract_errors(good, schema) == []
    missing = {key: value for key, value in good.items() if key != "bytes"}
    assert any("'bytes' is a required property" in problem for problem in contract_errors(missing, schema))
    assert contract_errors({**good, "purpose": "nonsense"}, schema)
    assert contract_errors({**good, "bytes": None}, schema)


def test_vector_store_routes_match_the_spec(simulator):
    """Stores and their files: create, list, retrieve, modify, attach (processed asynchronously), list and retrieve
    attachments (a failed one carries last_error), detach, delete."""
    searchable = check(
        simulator.post("/files", files={"file": ("guide.md", b"# Guide\n")}, data={"purpose": "assistants"}),
        "post", "/files")
    binary = check(
        simulator.post("/files", files={"file": ("blob.bin", b"\x00\x01")}, data={"purpose": "assistants"}),
        "post", "/files")
    store = check(
        simulator.post(
            "/vector_stores",
            json={"name": "kb", "metadata": {"ferry-vector-store": "kb"},
                  "expires_after": {"anchor": "last_active_at", "days": 7}},
        ),
        "post", "/vector_stores")
    assert store["metadata"] == {"ferry-vector-store": "kb"} and store["expires_at"] is not None
    check(simulator.get("/vector_stores", params={"limit": 1, "order": "asc"}), "get", "/vector_stores")
    check(simulator.get(f"/vector_stores/{store['id']}"), "get", "/vector_stores/{vector_store_id}")
    modified = check(
        simulator.post(f"/vector_stores/{store['id']}", json={"name": "kb2", "expires_after": None}),
        "post", "/vector_stores/{vector_store_id}")
    assert modified["name"] == "kb2" and modified.get("expires_at") is None
    for file, chunking in [(searchable, {"type": "auto"}),
                           (binary, {"type": "static", "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 100}})]:
        attached = check(
            simulator.post(
                f"/vector_stores/{store['id']}/files",
                json={"file_id": file["id"], "attributes": {"ferry-name": "x", "rank": 1, "draft": False},
                      "chunking_strategy": chunking},
            ),
            "post", "/vector_stores/{vector_store_id}/files")
        assert attached["status"] == "in_progress" and attached["id"] == file["id"]
    deadline = time.time() + 10
    while True:
        files = check(simulator.get(f"/vector_stores/{store['id']}/files"), "get", "/vector_stores/{vector_store_id}/files")
        states = {item["id"]: item["status"] for item in files["data"]}
        if "in_progress" not in states.values() or time.time() > deadline:
            break
        time.sleep(0.1)
    assert states == {searchable["id"]: "completed", binary["id"]: "failed"}
    failed = check(
        simulator.get(f"/vector_stores/{store['id']}/files/{binary['id']}"),
        "get", "/vector_stores/{vector_store_id}/files/{file_id}")
    assert failed["last_error"]["code"] == "unsupported_file"
    check(simulator.get(f"/vector_stores/{store['id']}/files", params={"filter": "failed"}),
          "get", "/vector_stores/{vector_store_id}/files")
    counted = check(simulator.get(f"/vector_stores/{store['id']}"), "get", "/vector_stores/{vector_store_id}")
    assert counted["file_counts"] == {"in_progress": 0, "completed": 1, "failed": 1, "cancelled": 0, "total": 2}
    detached = check(
        simulator.delete(f"/vector_stores/{store['id']}/files/{binary['id']}"),
        "delete", "/vector_stores/{vector_store_id}/files/{file_id}")
    assert detached["deleted"] is True
    # Deleting a file removes it from every store.
    check(simulator.delete(f"/files/{searchable['id']}"), "delete", "/files/{file_id}")
    assert check(simulator.get(f"/vector_stores/{store['id']}/files"), "get",
                 "/vector_stores/{vector_store_id}/files")["data"] == []
    deleted = check(simulator.delete(f"/vector_stores/{store['id']}"), "delete", "/vector_stores/{vector_store_id}")
    assert deleted["deleted"] is True
    assert simulator.get(f"/vector_stores/{store['id']}").status_code == 404


def test_the_check_catches_a_store_without_file_counts():
    """A vector store object missing a required field (`file_counts`) or with a status outside the enum fails."""
    schema = response_schema("get", "/vector_stores/{vector_store_id}")
    good = {
        "id": "vs_1", "object": "vector_store", "created_at": 1, "name": "kb", "usage_bytes": 0,
        "file_counts": {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0},
        "status": "completed", "last_active_at": 1, "metadata": {},
    }
    assert contract_errors(good, schema) == []
    assert contract_errors({key: value for key, value in good.items() if key != "file_counts"}, schema)
    assert contract_errors({**good, "status": "ready"}, schema)
    # The empty-page allowance covers list envelopes only, and only with no data.
    listing = response_schema("get", "/vector_stores")
    assert contract_errors({"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}, listing) == []
    assert contract_errors({"object": "list", "data": [good], "first_id": None, "last_id": None, "has_more": False}, listing)
