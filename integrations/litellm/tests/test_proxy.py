"""End to end: a real `litellm` proxy process with the callback enabled from its config.yaml, two fake upstreams
(one answering as OpenAI, one as Azure OpenAI) and a fake Ferry, all on 127.0.0.1, driven with the `openai` SDK.

The proxy is started once for the module (it takes 10-30 s to start). The callback is loaded the "copied next to
config.yaml" way (resolver.py copied as ferry_litellm.py); test_loading.py covers the installed-package way.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest
from fakes import FakeFerry, FakeUpstream, FerryAnswer

import ferry_litellm

pytestmark = pytest.mark.proxy

X = "file-ferry-" + "0123456789abcdef01234567"  # placed on both endpoints
Y = "file-ferry-" + "89abcdef0123456789abcdef"  # Ferry is failing for this one
UNKNOWN = "file-ferry-" + "000000000000000000000000"  # not declared
MASTER_KEY = "sk-ferry-test-master"
FERRY_TOKEN = "ferry-test-token"
STARTUP_TIMEOUT = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(openai_base: str, azure_base: str) -> str:
    openai_params = {"model": "openai/gpt-4o", "api_key": "sk-fake-openai", "api_base": openai_base}
    azure_params = {"model": "azure/my-dep", "api_key": "fake-azure-key", "api_base": azure_base, "api_version": "2024-10-21"}
    config = {
        "model_list": [
            {"model_name": "gpt-openai", "litellm_params": openai_params},
            {"model_name": "gpt-azure", "litellm_params": azure_params},
            {"model_name": "gpt-lb", "litellm_params": openai_params},
            {"model_name": "gpt-lb", "litellm_params": azure_params},
            # always answers 500 upstream: requests fall back to gpt-azure
            {"model_name": "gpt-primary", "litellm_params": {**openai_params, "model": "openai/fail-4o"}},
        ],
        "litellm_settings": {
            "callbacks": "ferry_litellm.ferry_resolver",
            "enable_loadbalancing_on_batch_endpoints": True,
        },
        "router_settings": {"num_retries": 0, "fallbacks": [{"gpt-primary": ["gpt-azure"]}]},
        "general_settings": {"master_key": MASTER_KEY},
    }
    return json.dumps(config, indent=2)  # JSON is YAML


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.openai_up = FakeUpstream("openai")
        self.azure_up = FakeUpstream("azure")
        self.ferry = FakeFerry(token=FERRY_TOKEN)
        self.openai_base = f"{self.openai_up.url}/v1"
        self.azure_base = self.azure_up.url
        self.ferry.place(X, "openai", self.openai_base, "file-openai-x")
        self.ferry.place(X, "azure", self.azure_base, "file-azure-x")
        self.ferry.override(Y, FerryAnswer(500, {"error": {"message": "state store unavailable", "code": "internal"}}))

        config = tmp / "config.yaml"
        config.write_text(_config(self.openai_base, self.azure_base))
        shutil.copy(Path(ferry_litellm.__file__).parent / "resolver.py", tmp / "ferry_litellm.py")

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
        env.update(
            {
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_TELEMETRY_DISABLED": "True",
                "NO_PROXY": "127.0.0.1,localhost",
                "FERRY_URL": self.ferry.url,
                "FERRY_TOKEN": FERRY_TOKEN,
                "FERRY_RESOLVE_TIMEOUT": "2",
                "FERRY_RESOLVE_CACHE_TTL": "5",
            }
        )
        litellm_cli = Path(sys.executable).parent / "litellm"
        if not litellm_cli.exists():
            pytest.skip(f"no litellm CLI next to {sys.executable}")
        self.log_path = tmp / "proxy.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(litellm_cli), "--config", str(config), "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=tmp,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"litellm exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health/liveliness", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"litellm did not start within {STARTUP_TIMEOUT:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()
        for server in (self.openai_up, self.azure_up, self.ferry):
            server.close()

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("ferry-litellm-proxy"))
    try:
        s.wait_ready()
        yield s
    finally:
        s.close()


@pytest.fixture(autouse=True)
def clean(stack):
    stack.openai_up.clear()
    stack.azure_up.clear()
    yield


def chat_messages(*file_ids):
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Summarise"}]
            + [{"type": "file", "file": {"file_id": file_id}} for file_id in file_ids],
        }
    ]


def bodies(upstream, suffix):
    return [r.body for r in upstream.recorded() if r.method == "POST" and r.path.endswith(suffix)]


def all_text(upstream) -> str:
    return json.dumps([r.body for r in upstream.recorded()]) + json.dumps([r.path for r in upstream.recorded()])


# ----------------------------------------------------------------------------------------------------------------


def test_openai_model_gets_the_openai_id(stack):
    stack.client().chat.completions.create(model="gpt-openai", messages=chat_messages(X, "file-abc123"))
    (body,) = bodies(stack.openai_up, "/chat/completions")
    parts = body["messages"][0]["content"]
    assert parts[1] == {"type": "file", "file": {"file_id": "file-openai-x"}}
    assert parts[2] == {"type": "file", "file": {"file_id": "file-abc123"}}  # not a Ferry id: untouched
    assert stack.azure_up.recorded() == []


def test_azure_model_gets_the_azure_id(stack):
    stack.client().chat.completions.create(model="gpt-azure", messages=chat_messages(X))
    (request,) = [r for r in stack.azure_up.recorded() if r.path.endswith("/chat/completions")]
    assert request.path == "/openai/deployments/my-dep/chat/completions"
    assert request.body["messages"][0]["content"][1]["file"]["file_id"] == "file-azure-x"
    assert bodies(stack.openai_up, "/chat/completions") == []


def test_load_balanced_group_each_deployment_gets_its_own_id(stack):
    client = stack.client()
    for attempt in range(40):
        client.chat.completions.create(model="gpt-lb", messages=chat_messages(X))
        if attempt >= 5 and bodies(stack.openai_up, "/chat/completions") and bodies(stack.azure_up, "/chat/completions"):
            break
    openai_seen = stack.openai_up.seen_file_ids()
    azure_seen = stack.azure_up.seen_file_ids()
    assert openai_seen and azure_seen, "the router never picked one of the two deployments"
    assert set(openai_seen) == {"file-openai-x"}
    assert set(azure_seen) == {"file-azure-x"}


def test_fallback_to_another_deployment_resolves_again(stack):
    # gpt-primary (OpenAI) fails upstream with a 500; the router falls back to gpt-azure with the same request
    # objects. Each must have received its own id.
    response = stack.client().chat.completions.create(model="gpt-primary", messages=chat_messages(X))
    assert response.choices[0].message.content == "ok"
    assert bodies(stack.openai_up, "/chat/completions"), "the primary deployment was not tried"
    assert set(stack.openai_up.seen_file_ids()) == {"file-openai-x"}
    assert set(stack.azure_up.seen_file_ids()) == {"file-azure-x"}


def test_unknown_id_is_refused_and_never_sent_upstream(stack):
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().chat.completions.create(model="gpt-lb", messages=chat_messages(X, UNKNOWN))
    error = caught.value
    assert error.status_code == 400
    message = str(error)
    assert UNKNOWN in message and "file_not_found" in message and "Ferry" in message
    assert isinstance(error.body, dict)
    assert error.body.get("provider_specific_fields", {}).get("ferry", {}).get("code") == "file_not_found"
    assert UNKNOWN not in all_text(stack.openai_up) and UNKNOWN not in all_text(stack.azure_up)
    assert bodies(stack.openai_up, "/chat/completions") == [] and bodies(stack.azure_up, "/chat/completions") == []


def test_ferry_failing_is_a_503_and_nothing_is_sent_upstream(stack):
    with pytest.raises(openai.APIStatusError) as caught:
        stack.client().chat.completions.create(model="gpt-openai", messages=chat_messages(Y))
    assert caught.value.status_code == 503
    assert Y in str(caught.value) and "state store unavailable" in str(caught.value)
    assert FERRY_TOKEN not in str(caught.value)
    assert stack.openai_up.recorded() == [] and stack.azure_up.recorded() == []


def test_responses_api(stack):
    client = stack.client()
    for model in ("gpt-openai", "gpt-azure"):
        client.responses.create(
            model=model,
            input=[
                {
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Summarise"}, {"type": "input_file", "file_id": X}],
                }
            ],
        )
    (openai_body,) = bodies(stack.openai_up, "/responses")
    (azure_body,) = bodies(stack.azure_up, "/responses")
    assert openai_body["input"][0]["content"][1] == {"type": "input_file", "file_id": "file-openai-x"}
    assert azure_body["input"][0]["content"][1] == {"type": "input_file", "file_id": "file-azure-x"}
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-azure", input=[{"role": "user", "content": [{"type": "input_file", "file_id": UNKNOWN}]}])
    assert UNKNOWN in str(caught.value)
    assert UNKNOWN not in all_text(stack.azure_up)


def test_batches(stack):
    client = stack.client()
    for model in ("gpt-openai", "gpt-azure"):
        client.batches.create(
            input_file_id=X, endpoint="/v1/chat/completions", completion_window="24h", extra_body={"model": model}
        )
    (openai_body,) = bodies(stack.openai_up, "/batches")
    (azure_body,) = bodies(stack.azure_up, "/batches")
    assert openai_body["input_file_id"] == "file-openai-x"
    assert azure_body["input_file_id"] == "file-azure-x"
    with pytest.raises(openai.APIStatusError) as caught:
        client.batches.create(
            input_file_id=UNKNOWN, endpoint="/v1/chat/completions", completion_window="24h", extra_body={"model": "gpt-azure"}
        )
    # LiteLLM 1.108.7's /v1/batches error handler (proxy/utils.py handle_exception_on_proxy) imports `prisma`;
    # where prisma is not installed (as in litellm[proxy] without a database) any error there, this one included,
    # becomes a bare 500. With prisma the client gets the 400 and Ferry's message.
    assert caught.value.status_code in (400, 500)
    if caught.value.status_code == 400:
        assert UNKNOWN in str(caught.value)
    assert UNKNOWN not in all_text(stack.azure_up) and UNKNOWN not in all_text(stack.openai_up)
    assert bodies(stack.azure_up, "/batches") == [azure_body]


def test_ferry_was_asked_with_the_token_and_the_deployments_endpoint(stack):
    client = stack.client()
    for model in ("gpt-openai", "gpt-azure", "gpt-lb"):
        client.chat.completions.create(model=model, messages=chat_messages(X))
    requests = stack.ferry.resolve_requests(X)  # the whole module's history (answers are cached for 5 s)
    assert all(r.headers.get("authorization") == f"Bearer {FERRY_TOKEN}" for r in requests)
    seen = {(r.query.get("provider"), r.query.get("api_base"), r.query.get("model")) for r in requests}
    assert ("openai", stack.openai_base, "gpt-openai") in seen
    assert ("azure", stack.azure_base, "gpt-azure") in seen
    assert seen & {("openai", stack.openai_base, "gpt-lb"), ("azure", stack.azure_base, "gpt-lb")}
