"""Small real HTTP servers on 127.0.0.1 used by the tests: a fake Ferry and a fake OpenAI/Azure upstream.

Both run `http.server.ThreadingHTTPServer` in a daemon thread, record every request they receive, and are
stopped with `close()` (or as context managers).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class _Server:
    """A ThreadingHTTPServer on an ephemeral loopback port whose handler calls `self.handle`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _dispatch(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                record = Recorded(
                    method=self.command,
                    path=unquote(split.path),
                    query={k: v[-1] for k, v in parse_qs(split.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with outer._lock:
                    outer.requests.append(record)
                status, payload, extra_headers = outer.handle(record)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (extra_headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_DELETE = _dispatch

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, request: Recorded) -> tuple[int, Any, dict[str, str] | None]:
        raise NotImplementedError

    def recorded(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------------------------
# Fake Ferry


@dataclass
class FerryAnswer:
    status: int
    body: Any
    delay: float = 0.0


@dataclass
class _Placement:
    provider: str
    api_base: str | None
    provider_file_id: str
    bucket: str | None = None
    model: str | None = None


def ferry_error(status: int, code: str, message: str, **top_level: Any) -> FerryAnswer:
    body: dict[str, Any] = {
        "error": {"message": message, "type": "invalid_request_error", "param": "id", "code": code}
    }
    body.update(top_level)
    return FerryAnswer(status, body)


class FakeFerry(_Server):
    """Answers `GET /api/v1/resolve/{id}` from a table of placements, or from per-id overrides.

    - `place(unified_id, provider, api_base, provider_file_id)` declares that the id lives on that endpoint.
    - `override(unified_id, FerryAnswer | Callable)` forces an answer (errors, malformed bodies, delays).
    Ids with neither answer 404 file_not_found; a declared id asked for an endpoint it is not on answers
    404 not_placed.
    """

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.placements: dict[str, list[_Placement]] = {}
        self.overrides: dict[str, FerryAnswer | Callable[[Recorded], FerryAnswer]] = {}
        super().__init__()

    def place(
        self,
        unified_id: str,
        provider: str,
        api_base: str | None,
        provider_file_id: str,
        bucket: str | None = None,
        model: str | None = None,
    ) -> None:
        self.placements.setdefault(unified_id, []).append(
            _Placement(provider, api_base, provider_file_id, bucket, model)
        )

    def override(self, unified_id: str, answer: FerryAnswer | Callable[[Recorded], FerryAnswer]) -> None:
        self.overrides[unified_id] = answer

    def resolve_requests(self, unified_id: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.recorded()
            if r.path.startswith("/api/v1/resolve/")
            and (unified_id is None or r.path == f"/api/v1/resolve/{unified_id}")
        ]

    @staticmethod
    def _norm(base: str | None) -> str | None:
        return base.rstrip("/").lower() if base else None

    def handle(self, request: Recorded) -> tuple[int, Any, dict[str, str] | None]:
        if self.token is not None and request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": {"message": "Bad token", "type": "authentication_error", "code": "unauthorized"}}, None
        match = re.fullmatch(r"/api/v1/resolve/(.+)", request.path)
        if request.method != "GET" or match is None:
            return 404, {"error": {"message": "no route", "type": "invalid_request_error", "code": "not_found"}}, None
        unified_id = match.group(1)
        override = self.overrides.get(unified_id)
        if override is not None:
            answer = override(request) if callable(override) else override
            if answer.delay:
                time.sleep(answer.delay)
            return answer.status, answer.body, None
        provider = request.query.get("provider")
        if not provider:
            answer = ferry_error(400, "invalid_request", "Missing 'provider'.")
            return answer.status, answer.body, None
        placements = self.placements.get(unified_id)
        if not placements:
            answer = ferry_error(404, "file_not_found", f"No declared file has the id {unified_id}.")
            return answer.status, answer.body, None
        api_base = self._norm(request.query.get("api_base")) or "https://api.openai.com/v1"
        for placement in placements:
            if (
                placement.provider == provider
                and (self._norm(placement.api_base) or "https://api.openai.com/v1") == api_base
                and placement.bucket == request.query.get("bucket")
                and (placement.model is None or placement.model == request.query.get("model"))
            ):
                return (
                    200,
                    {
                        "object": "ferry.file_resolution",
                        "id": unified_id,
                        "name": "handbook",
                        "provider": provider,
                        "provider_file_id": placement.provider_file_id,
                        "endpoint": f"{provider} {api_base}",
                        "state": "in-sync",
                    },
                    None,
                )
        answer = ferry_error(404, "not_placed", f"{unified_id} is not placed on {provider} {api_base}.")
        return answer.status, answer.body, None


# --------------------------------------------------------------------------------------------------------------
# Fake OpenAI / Azure upstream


def _chat_response(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex[:12],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "ok"},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


def _responses_response(model: str) -> dict[str, Any]:
    return {
        "id": "resp_" + uuid.uuid4().hex[:12],
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_" + uuid.uuid4().hex[:12],
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "ok", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 3,
            "output_tokens": 1,
            "total_tokens": 4,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


def _batch_response(body: Any) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    return {
        "id": "batch_" + uuid.uuid4().hex[:12],
        "object": "batch",
        "endpoint": body.get("endpoint", "/v1/chat/completions"),
        "errors": None,
        "input_file_id": body.get("input_file_id"),
        "completion_window": body.get("completion_window", "24h"),
        "status": "validating",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": int(time.time()),
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": None,
    }


class FakeUpstream(_Server):
    """Answers OpenAI-shaped chat completions, Responses, embeddings and batches, on OpenAI paths
    (`/chat/completions`, `/v1/chat/completions`, …) and Azure paths (`/openai/deployments/{dep}/…`,
    `/openai/responses`, `/openai/batches`, with `?api-version=`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__()

    def handle(self, request: Recorded) -> tuple[int, Any, dict[str, str] | None]:
        path = request.path
        body = request.body if isinstance(request.body, dict) else {}
        model = str(body.get("model") or self.name)
        headers = {"x-request-id": uuid.uuid4().hex}
        deployment = re.search(r"/openai/deployments/([^/]+)/", path)
        if model.startswith("fail") or (deployment is not None and deployment.group(1).startswith("fail")):
            return 500, {"error": {"message": "fake upstream failure", "type": "server_error", "code": None}}, headers
        if path.endswith("/chat/completions"):
            return 200, _chat_response(model), headers
        if path.endswith("/responses"):
            return 200, _responses_response(model), headers
        if path.endswith("/batches"):
            return 200, _batch_response(body), headers
        if path.endswith("/embeddings"):
            return (
                200,
                {
                    "object": "list",
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.0, 0.1]}],
                    "model": model,
                    "usage": {"prompt_tokens": 1, "total_tokens": 1},
                },
                headers,
            )
        return 404, {"error": {"message": f"fake upstream has no route {path}", "type": "invalid_request_error"}}, None

    def seen_file_ids(self) -> list[str]:
        """Every string anywhere in recorded bodies that looks like a file id (`file-…`)."""
        found: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            elif isinstance(value, str) and value.startswith("file-"):
                found.append(value)

        for request in self.recorded():
            walk(request.body)
        return found
