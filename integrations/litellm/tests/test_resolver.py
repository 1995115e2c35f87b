"""The resolver against a real HTTP server on 127.0.0.1 playing Ferry (tests/fakes.py): requests sent, caching,
request sharing and failing closed on every kind of answer."""

import asyncio
import copy
import socket
import time

import litellm
import pytest
from fakes import FakeFerry, FerryAnswer, ferry_error

from ferry_litellm import (
    FerryError,
    FerryResolutionError,
    FerryResolver,
    FerryUnavailableError,
)
from ferry_litellm.resolver import CustomLogger

A = "file-ferry-" + "0123456789abcdef01234567"
B = "file-ferry-" + "89abcdef0123456789abcdef"
UNKNOWN = "file-ferry-" + "000000000000000000000000"
AZURE = "https://res.openai.azure.com"
TOKEN = "s3cret-token-value"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def ferry():
    server = FakeFerry(token=TOKEN)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def fresh(ferry):
    ferry.clear()
    ferry.placements.clear()
    ferry.overrides.clear()
    ferry.token = TOKEN
    ferry.place(A, "openai", None, "file-openai-a")
    ferry.place(A, "azure", AZURE, "file-azure-a")
    ferry.place(B, "openai", None, "file-openai-b")
    ferry.place(B, "azure", AZURE, "file-azure-b")
    yield


def resolver(ferry, **overrides):
    settings = {"token": TOKEN, "timeout": 1.0, "cache_ttl": 5.0, "negative_cache_ttl": 1.0, "environ": {}}
    settings.update(overrides)
    return FerryResolver(ferry.url, **settings)


def chat(model="azure/my-dep", api_base=AZURE, ids=(A,), group="gpt"):
    kwargs = {
        "model": model,
        "metadata": {"model_group": group},
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "read"}] + [{"type": "file", "file": {"file_id": i}} for i in ids],
            }
        ],
    }
    if api_base is not None:
        kwargs["api_base"] = api_base
    return kwargs


def file_ids(kwargs):
    return [part["file"]["file_id"] for part in kwargs["messages"][0]["content"] if part["type"] == "file"]


def run(r, coro):
    """Run `coro` in a new event loop, closing the resolver's HTTP client of that loop afterwards."""

    async def go():
        try:
            return await coro
        finally:
            await r.aclose()

    return asyncio.run(go())


def hook(r, kwargs, call_type=None):
    return run(r, r.async_pre_call_deployment_hook(kwargs, call_type))


# ----------------------------------------------------------------------------------------------------------------


def test_is_a_litellm_custom_logger():
    assert isinstance(FerryResolver("http://127.0.0.1:1"), CustomLogger)


def test_chat_ids_resolved_for_the_deployment_and_query_sent(ferry):
    r = resolver(ferry)
    kwargs = chat(ids=(A, B, A))
    original = copy.deepcopy(kwargs)
    out = hook(r, kwargs)
    assert file_ids(out) == ["file-azure-a", "file-azure-b", "file-azure-a"]
    assert kwargs == original
    requests = sorted(ferry.resolve_requests(), key=lambda q: q.path)
    assert [q.path for q in requests] == [f"/api/v1/resolve/{A}", f"/api/v1/resolve/{B}"]
    assert requests[0].query == {"provider": "azure", "api_base": AZURE, "model": "gpt"}
    assert requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_openai_default_sends_no_api_base(ferry):
    r = resolver(ferry)
    out = hook(r, chat(model="gpt-4o", api_base=None, group=None))
    assert file_ids(out) == ["file-openai-a"]
    (request,) = ferry.resolve_requests()
    assert request.query == {"provider": "openai"}


def test_each_deployment_gets_its_own_id_from_the_same_request_objects(ferry):
    # the router hands every attempt (retry, fallback, other deployment) the same messages list
    r = resolver(ferry)
    kwargs = chat()
    first = hook(r, {**kwargs, "model": "azure/my-dep", "api_base": AZURE})
    second = hook(r, {**kwargs, "model": "openai/gpt-4o", "api_base": None})
    assert file_ids(first) == ["file-azure-a"]
    assert file_ids(second) == ["file-openai-a"]
    assert file_ids(kwargs) == [A]


def test_no_token_no_header(ferry):
    ferry.token = None
    r = resolver(ferry, token=None)
    hook(r, chat())
    (request,) = ferry.resolve_requests()
    assert "authorization" not in request.headers


def test_requests_without_ids_do_not_ask_ferry(ferry):
    r = FerryResolver(environ={})  # not even configured
    kwargs = chat(ids=("file-abc",))
    assert hook(r, kwargs) is None
    assert hook(r, {"model": "gpt-4o", "input": "hello"}) is None
    assert ferry.resolve_requests() == []


def test_responses_and_batches(ferry):
    r = resolver(ferry)
    responses = {
        "model": "azure/my-dep",
        "custom_llm_provider": "azure",
        "api_base": AZURE,
        "litellm_metadata": {"model_group": "gpt"},
        "input": [{"role": "user", "content": [{"type": "input_file", "file_id": B}]}],
    }
    out = hook(r, responses, litellm.types.utils.CallTypes.aresponses)
    assert out["input"][0]["content"][0]["file_id"] == "file-azure-b"
    batch = {"custom_llm_provider": "openai", "input_file_id": A, "endpoint": "/v1/chat/completions"}
    out = hook(r, batch, litellm.types.utils.CallTypes.acreate_batch)
    assert out["input_file_id"] == "file-openai-a"
    assert batch["input_file_id"] == A


def test_vertex_bucket_is_sent(ferry):
    ferry.place(A, "vertex_ai", None, "gs://bucket-1/ferry/handbook.pdf", bucket="bucket-1")
    r = resolver(ferry)
    kwargs = chat(model="vertex_ai/gemini-2.0-flash", api_base=None)
    kwargs["gcs_bucket_name"] = "bucket-1"
    out = hook(r, kwargs)
    assert file_ids(out) == ["gs://bucket-1/ferry/handbook.pdf"]
    (request,) = ferry.resolve_requests()
    assert request.query == {"provider": "vertex_ai", "bucket": "bucket-1", "model": "gpt"}


# ----------------------------------------------------------------------------------------------------------------
# Caching and sharing


def test_answers_are_cached_for_the_ttl(ferry):
    clock = Clock()
    r = resolver(ferry, clock=clock, cache_ttl=5.0)
    hook(r, chat())
    hook(r, chat())
    assert len(ferry.resolve_requests()) == 1
    clock.now += 4.9
    hook(r, chat())
    assert len(ferry.resolve_requests()) == 1
    clock.now += 0.2
    hook(r, chat())
    assert len(ferry.resolve_requests()) == 2
    # the key includes the endpoint and the model group
    hook(r, chat(group="other"))
    hook(r, chat(model="gpt-4o", api_base=None))
    assert len(ferry.resolve_requests()) == 4


def test_refusals_are_cached_shorter(ferry):
    clock = Clock()
    r = resolver(ferry, clock=clock, cache_ttl=5.0, negative_cache_ttl=1.0)
    for _ in range(3):
        with pytest.raises(FerryResolutionError):
            hook(r, chat(ids=(UNKNOWN,)))
    assert len(ferry.resolve_requests()) == 1
    clock.now += 1.01
    ferry.place(UNKNOWN, "azure", AZURE, "file-azure-new")  # e.g. the upload finished
    assert file_ids(hook(r, chat(ids=(UNKNOWN,)))) == ["file-azure-new"]
    assert len(ferry.resolve_requests()) == 2


def test_negative_caching_can_be_off(ferry):
    r = resolver(ferry, negative_cache_ttl=0)
    for _ in range(2):
        with pytest.raises(FerryResolutionError):
            hook(r, chat(ids=(UNKNOWN,)))
    assert len(ferry.resolve_requests()) == 2


def test_failures_to_answer_are_not_cached(ferry):
    ferry.override(A, FerryAnswer(500, {"error": {"message": "db down", "code": "internal"}}))
    r = resolver(ferry)
    for _ in range(2):
        with pytest.raises(FerryUnavailableError):
            hook(r, chat())
    assert len(ferry.resolve_requests()) == 2


def test_concurrent_lookups_of_one_key_share_one_request(ferry):
    ferry.override(
        A,
        lambda request: FerryAnswer(
            200,
            {"object": "ferry.file_resolution", "id": A, "provider_file_id": "file-slow", "state": "in-sync"},
            delay=0.3,
        ),
    )
    r = resolver(ferry)

    async def many():
        same = [r.async_pre_call_deployment_hook(chat(), None) for _ in range(10)]
        other = [r.async_pre_call_deployment_hook(chat(group="other"), None) for _ in range(5)]
        return await asyncio.gather(*same, *other)

    started = time.monotonic()
    results = run(r, many())
    assert time.monotonic() - started < 2.0
    assert all(file_ids(out) == ["file-slow"] for out in results)
    assert len(ferry.resolve_requests()) == 2  # one per key


def test_a_cancelled_waiter_does_not_cancel_the_shared_lookup(ferry):
    ferry.override(
        A,
        lambda request: FerryAnswer(
            200, {"id": A, "provider_file_id": "file-slow", "state": "in-sync"}, delay=0.3
        ),
    )
    r = resolver(ferry)

    async def scenario():
        first = asyncio.ensure_future(r.async_pre_call_deployment_hook(chat(), None))
        second = asyncio.ensure_future(r.async_pre_call_deployment_hook(chat(), None))
        await asyncio.sleep(0.05)
        first.cancel()
        return await second

    assert file_ids(run(r, scenario())) == ["file-slow"]
    assert len(ferry.resolve_requests()) == 1


def test_the_resolver_works_across_event_loops(ferry):
    r = resolver(ferry, cache_ttl=0)
    for _ in range(3):  # each asyncio.run is a new loop; the client is per loop
        assert file_ids(hook(r, chat())) == ["file-azure-a"]


# ----------------------------------------------------------------------------------------------------------------
# Fail closed


REFUSALS = [
    (404, "file_not_found", "No declared file has that id (renamed?)."),
    (404, "not_placed", "handbook is declared but not for azure https://res.openai.azure.com."),
    (404, "unknown_endpoint", "Ferry has no azure endpoint at https://res.openai.azure.com."),
    (409, "not_uploaded", "handbook has not been uploaded there yet."),
    (409, "processing", "The provider is still processing handbook."),
    (409, "out_of_sync", "handbook changed; the provider holds an old version."),
    (409, "not_listed", "The provider no longer lists the file."),
    (409, "ambiguous_endpoint", "Several endpoints match; pass model."),
    (400, "unsupported_provider", "Ferry manages no files on provider 'bedrock'."),
    (400, "invalid_request", "Invalid 'api_base'."),
]


def test_a_refusal_without_a_code(ferry):
    # Ferry's 400 for a bad parameter carries "code": null
    ferry.override(
        A,
        FerryAnswer(
            400,
            {"error": {"message": "Missing 'api_base': an Azure deployment's resource URL.", "type": "invalid_request_error", "param": "api_base", "code": None}},
        ),
    )
    with pytest.raises(FerryResolutionError) as caught:
        hook(resolver(ferry), chat())
    assert caught.value.ferry_code == "http_400"
    assert "Missing 'api_base'" in str(caught.value)


@pytest.mark.parametrize("status, code, message", REFUSALS)
def test_every_refusal_fails_the_request_with_a_400(ferry, status, code, message):
    ferry.override(A, ferry_error(status, code, message))
    r = resolver(ferry)
    kwargs = chat()
    with pytest.raises(FerryResolutionError) as caught:
        hook(r, kwargs)
    error = caught.value
    assert isinstance(error, litellm.BadRequestError) and isinstance(error, FerryError)
    assert error.status_code == 400
    assert (error.ferry_code, error.ferry_status, error.unified_id) == (code, status, A)
    text = str(error)
    assert message in text and code in text and A in text
    assert "azure" in text and AZURE in text and "gpt" in text and "azure/my-dep" in text
    assert error.code == f"ferry_{code}"
    assert error.param == "messages"
    assert error.provider_specific_fields["ferry"]["code"] == code
    assert TOKEN not in text


UNAVAILABLE = [
    (FerryAnswer(500, {"error": {"message": "database is locked", "code": "internal"}}), "internal", "database is locked"),
    (FerryAnswer(502, b"<html>bad gateway</html>"), "malformed_answer", "HTTP 502"),
    (FerryAnswer(404, b"not found"), "malformed_answer", "is FERRY_URL the Ferry server"),
    (FerryAnswer(200, b"not json"), "malformed_answer", "without a JSON object"),
    (FerryAnswer(200, {"object": "ferry.file_resolution", "id": A}), "malformed_answer", "provider_file_id"),
    (FerryAnswer(200, {"id": A, "provider_file_id": ""}), "malformed_answer", "provider_file_id"),
    (FerryAnswer(200, {"id": A, "provider_file_id": B}), "malformed_answer", "provider_file_id"),
    (FerryAnswer(200, {"id": B, "provider_file_id": "file-x"}), "malformed_answer", "different id"),
    (FerryAnswer(200, [1, 2]), "malformed_answer", "without a JSON object"),
]


@pytest.mark.parametrize("answer, code, fragment", UNAVAILABLE)
def test_no_usable_answer_fails_the_request_with_a_503(ferry, answer, code, fragment):
    ferry.override(A, answer)
    r = resolver(ferry)
    with pytest.raises(FerryUnavailableError) as caught:
        hook(r, chat())
    error = caught.value
    assert isinstance(error, litellm.ServiceUnavailableError) and error.status_code == 503
    assert error.ferry_code == code
    assert fragment in str(error) and A in str(error) and "azure" in str(error)


def test_wrong_token_is_a_503_naming_the_token_setting_but_not_the_token(ferry):
    r = resolver(ferry, token="wrong-token")
    with pytest.raises(FerryUnavailableError) as caught:
        hook(r, chat())
    assert caught.value.ferry_code == "unauthorized"
    assert "FERRY_TOKEN" in str(caught.value) and "wrong-token" not in str(caught.value)
    assert "wrong-token" not in repr(r)


def test_timeout(ferry):
    ferry.override(A, FerryAnswer(200, {"id": A, "provider_file_id": "file-late"}, delay=1.5))
    r = resolver(ferry, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(FerryUnavailableError) as caught:
        hook(r, chat())
    assert time.monotonic() - started < 1.2
    assert caught.value.ferry_code == "timeout"
    assert "0.3 s" in str(caught.value)


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before use: nothing listens there
    r = FerryResolver(f"http://user:pw@127.0.0.1:{port}", token=TOKEN, timeout=1.0, environ={})
    with pytest.raises(FerryUnavailableError) as caught:
        hook(r, chat())
    assert caught.value.ferry_code == "unreachable"
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert ":pw@" not in str(caught.value) and ":pw@" not in repr(r)


def test_a_deployment_without_a_known_provider_is_refused_without_asking_ferry(ferry):
    r = resolver(ferry)
    with pytest.raises(FerryResolutionError) as caught:
        hook(r, chat(model="no-such-provider-model-xyz", api_base=None))
    assert caught.value.ferry_code == "unknown_provider"
    assert "no-such-provider-model-xyz" in str(caught.value)
    assert ferry.resolve_requests() == []


def test_one_failing_id_fails_the_request_and_names_that_id(ferry):
    r = resolver(ferry)
    with pytest.raises(FerryResolutionError) as caught:
        hook(r, chat(ids=(A, UNKNOWN, B)))
    assert caught.value.unified_id == UNKNOWN
    assert caught.value.ferry_code == "file_not_found"


def test_stale_ids_only_when_allowed(ferry):
    ferry.override(A, ferry_error(409, "out_of_sync", "handbook changed.", stale_file_id="file-old"))
    with pytest.raises(FerryResolutionError) as caught:
        hook(resolver(ferry), chat())
    assert "FERRY_ALLOW_STALE" in str(caught.value)
    assert caught.value.provider_specific_fields["ferry"]["stale_file_id"] == "file-old"
    assert file_ids(hook(resolver(ferry, allow_stale=True), chat())) == ["file-old"]
    # allowed, but Ferry has no stale copy to offer
    ferry.override(A, ferry_error(409, "out_of_sync", "handbook changed."))
    with pytest.raises(FerryResolutionError):
        hook(resolver(ferry, allow_stale=True), chat())
    # allowing stale ids does not turn other refusals into answers
    ferry.override(A, ferry_error(409, "not_uploaded", "not yet.", stale_file_id="file-old"))
    with pytest.raises(FerryResolutionError):
        hook(resolver(ferry, allow_stale=True), chat())


# ----------------------------------------------------------------------------------------------------------------
# Configuration from the environment


def test_settings_from_the_environment(ferry):
    env = {
        "FERRY_URL": ferry.url + "/",
        "FERRY_TOKEN": TOKEN,
        "FERRY_RESOLVE_TIMEOUT": "0.5",
        "FERRY_RESOLVE_CACHE_TTL": "30",
        "FERRY_ALLOW_STALE": "true",
    }
    r = FerryResolver(environ=env)
    settings = r.settings
    assert (settings.url, settings.token, settings.timeout, settings.cache_ttl, settings.allow_stale) == (
        ferry.url,
        TOKEN,
        0.5,
        30.0,
        True,
    )
    assert settings.negative_cache_ttl == 1.0
    assert file_ids(hook(r, chat())) == ["file-azure-a"]
    assert TOKEN not in repr(r)


def test_defaults():
    settings = FerryResolver(environ={"FERRY_URL": "http://127.0.0.1:8080"}).settings
    assert (settings.timeout, settings.cache_ttl, settings.negative_cache_ttl, settings.allow_stale) == (
        2.0,
        5.0,
        1.0,
        False,
    )
    assert settings.token is None and settings.problem is None
    assert FerryResolver(environ={"FERRY_URL": "http://x", "FERRY_RESOLVE_CACHE_TTL": "0.5"}).settings.negative_cache_ttl == 0.5


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({}, "FERRY_URL is not set"),
        ({"FERRY_URL": "127.0.0.1:8080"}, "not an http(s) URL"),
        ({"FERRY_URL": "http://127.0.0.1:1", "FERRY_RESOLVE_TIMEOUT": "soon"}, "FERRY_RESOLVE_TIMEOUT"),
        ({"FERRY_URL": "http://127.0.0.1:1", "FERRY_RESOLVE_TIMEOUT": "0"}, "more than zero"),
        ({"FERRY_URL": "http://127.0.0.1:1", "FERRY_RESOLVE_CACHE_TTL": "-1"}, "FERRY_RESOLVE_CACHE_TTL"),
        ({"FERRY_URL": "http://127.0.0.1:1", "FERRY_ALLOW_STALE": "maybe"}, "FERRY_ALLOW_STALE"),
    ],
)
def test_misconfiguration_fails_requests_with_ids_only(env, fragment):
    r = FerryResolver(environ=env)
    assert hook(r, chat(ids=("file-abc",))) is None
    with pytest.raises(FerryUnavailableError) as caught:
        hook(r, chat())
    assert caught.value.ferry_code == "not_configured"
    assert fragment in str(caught.value)


def test_configuration_is_read_again_until_it_is_valid(ferry):
    env = {}
    r = FerryResolver(environ=env)
    with pytest.raises(FerryUnavailableError):
        hook(r, chat())
    env.update({"FERRY_URL": ferry.url, "FERRY_TOKEN": TOKEN})
    assert file_ids(hook(r, chat())) == ["file-azure-a"]
