"""Finding and replacing unified ids in request kwargs, and reading the deployment's endpoint from them."""

import copy

from ferry_litellm import Deployment, deployment_from_kwargs, find_ferry_ids, replace_ferry_ids

A = "file-ferry-" + "0123456789abcdef01234567"
B = "file-ferry-" + "89abcdef0123456789abcdef"
C = "file-ferry-" + "ffffffffffffffffffffffff"
MAPPING = {A: "file-provider-a", B: "file-provider-b", C: "file-provider-c"}

NOT_FERRY = [
    "file-abc123",
    "file-ferry-0123456789ABCDEF01234567",  # upper case
    "file-ferry-0123456789abcdef0123456",  # 23 digits
    "file-ferry-0123456789abcdef012345678",  # 25 digits
    "file-ferry-0123456789abcdef0123456g",  # not hex
    " " + A,
    A + "\n",
    "xfile-ferry-0123456789abcdef01234567",
]


def chat_kwargs():
    return {
        "model": "azure/my-dep",
        "api_base": "https://res.openai.azure.com",
        "metadata": {"model_group": "gpt"},
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Summarise {A} please"},  # an id in text is left alone
                    {"type": "file", "file": {"file_id": A}},
                    {"type": "file", "file": {"file_id": "file-abc123"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            },
            {"role": "assistant", "content": "ok"},
            {"role": "tool", "tool_call_id": "t1", "content": [{"type": "file", "file": {"file_id": B}}]},
        ],
    }


def test_chat_file_parts_are_replaced():
    kwargs = chat_kwargs()
    assert find_ferry_ids(kwargs) == [A, B]
    out = replace_ferry_ids(kwargs, MAPPING)
    user = out["messages"][1]["content"]
    assert user[0]["text"] == f"Summarise {A} please"
    assert user[1] == {"type": "file", "file": {"file_id": "file-provider-a"}}
    assert user[2] == {"type": "file", "file": {"file_id": "file-abc123"}}
    assert out["messages"][3]["content"][0]["file"]["file_id"] == "file-provider-b"
    assert find_ferry_ids(out) == []


def test_replacement_never_modifies_the_callers_objects_and_copies_only_changed_paths():
    kwargs = chat_kwargs()
    snapshot = copy.deepcopy(kwargs)
    out = replace_ferry_ids(kwargs, MAPPING)
    assert kwargs == snapshot  # the router re-sends these same objects to the next deployment on retry
    assert out is not kwargs
    assert out["messages"] is not kwargs["messages"]
    assert out["messages"][1] is not kwargs["messages"][1]
    # untouched parts are shared, not copied (large base64 payloads are not duplicated)
    assert out["messages"][0] is kwargs["messages"][0]
    assert out["messages"][1]["content"][3] is kwargs["messages"][1]["content"][3]
    assert out["metadata"] is kwargs["metadata"]
    # a second deployment replaces from the same originals with its own ids
    other = replace_ferry_ids(kwargs, {A: "file-other-a", B: "file-other-b"})
    assert other["messages"][1]["content"][1]["file"]["file_id"] == "file-other-a"
    assert out["messages"][1]["content"][1]["file"]["file_id"] == "file-provider-a"


def test_only_exact_ferry_ids_are_touched():
    for value in NOT_FERRY:
        kwargs = {
            "messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": value}}]}],
            "input": [{"type": "input_file", "file_id": value}],
            "tools": [{"type": "code_interpreter", "container": {"file_ids": [value]}}],
            "input_file_id": value,
        }
        assert find_ferry_ids(kwargs) == [], value
        out = replace_ferry_ids(kwargs, MAPPING)
        for field in ("messages", "input", "tools", "input_file_id"):
            assert out[field] is kwargs[field], (value, field)


def test_responses_input_string_has_no_ids():
    assert find_ferry_ids({"input": f"please read {A}"}) == []


def test_responses_input_parts_anywhere():
    kwargs = {
        "model": "openai/gpt-4o",
        "custom_llm_provider": "openai",
        "input": [
            {"type": "input_file", "file_id": A},  # a bare item
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "hi"},
                    {"type": "input_file", "file_id": B},
                    {"type": "input_image", "file_id": A, "detail": "auto"},
                    {"type": "input_file", "file_id": "file-keep"},
                ],
            },
            {
                "type": "function_call_output",
                "call_id": "c1",
                "output": [{"type": "input_file", "file_id": C}],
            },
        ],
    }
    snapshot = copy.deepcopy(kwargs)
    assert find_ferry_ids(kwargs) == [A, B, C]
    out = replace_ferry_ids(kwargs, MAPPING)
    assert kwargs == snapshot
    assert out["input"][0]["file_id"] == "file-provider-a"
    assert out["input"][1]["content"][1]["file_id"] == "file-provider-b"
    assert out["input"][1]["content"][2]["file_id"] == "file-provider-a"
    assert out["input"][1]["content"][3]["file_id"] == "file-keep"
    assert out["input"][2]["output"][0]["file_id"] == "file-provider-c"
    assert out["input"][1]["content"][0] is kwargs["input"][1]["content"][0]


def test_responses_tools_file_ids():
    kwargs = {
        "input": "hi",
        "tools": [
            {"type": "code_interpreter", "container": {"type": "auto", "file_ids": [A, "file-keep", B]}},
            {"type": "function", "name": "f", "parameters": {"properties": {"file_id": {"type": "string"}}}},
        ],
    }
    assert find_ferry_ids(kwargs) == [A, B]
    out = replace_ferry_ids(kwargs, MAPPING)
    assert out["tools"][0]["container"]["file_ids"] == ["file-provider-a", "file-keep", "file-provider-b"]
    assert out["tools"][1] is kwargs["tools"][1]
    assert kwargs["tools"][0]["container"]["file_ids"] == [A, "file-keep", B]


def test_batch_input_file_id():
    kwargs = {"input_file_id": A, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    assert find_ferry_ids(kwargs) == [A]
    out = replace_ferry_ids(kwargs, MAPPING)
    assert out["input_file_id"] == "file-provider-a"
    assert kwargs["input_file_id"] == A
    assert find_ferry_ids({"input_file_id": "file-abc"}) == []


def test_ids_are_distinct_in_order_of_appearance():
    kwargs = {
        "input_file_id": C,
        "messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": B}}] * 3}],
        "input": [{"type": "input_file", "file_id": A}, {"type": "input_file", "file_id": B}],
    }
    assert find_ferry_ids(kwargs) == [C, B, A]


def test_other_fields_are_not_searched():
    kwargs = {
        "metadata": {"file_id": A},
        "proxy_server_request": {"body": {"messages": [{"content": [{"file": {"file_id": A}}]}]}},
        "file_id": A,  # e.g. a files API call: not rewritten
        "prompt": A,
    }
    assert find_ferry_ids(kwargs) == []


def test_tuples_and_odd_shapes():
    kwargs = {"messages": ({"role": "user", "content": ({"type": "file", "file": {"file_id": A}},)},)}
    out = replace_ferry_ids(kwargs, MAPPING)
    assert out["messages"][0]["content"][0]["file"]["file_id"] == "file-provider-a"
    assert isinstance(out["messages"], tuple)
    assert find_ferry_ids({"messages": None, "input": 42, "tools": "x"}) == []


# ----------------------------------------------------------------------------------------------------------------
# Deployment endpoint


def test_deployment_of_a_chat_completion():
    # what the hook gets for /chat/completions in LiteLLM 1.108.7: no custom_llm_provider, metadata.model_group
    kwargs = {
        "model": "azure/my-dep",
        "api_base": "https://res.openai.azure.com/",
        "metadata": {"model_group": "gpt-lb", "api_base": "https://res.openai.azure.com/"},
        "messages": [],
    }
    assert deployment_from_kwargs(kwargs, {}) == Deployment(
        provider="azure", api_base="https://res.openai.azure.com/", model_group="gpt-lb", model="azure/my-dep"
    )


def test_deployment_of_a_responses_or_batch_call():
    kwargs = {
        "model": "openai/gpt-4o",
        "custom_llm_provider": "openai",
        "api_base": "http://127.0.0.1:9/v1",
        "litellm_metadata": {"model_group": "gpt-openai"},
        "metadata": {"model_group": "set-by-the-caller"},  # Responses API: the caller's own OpenAI metadata
    }
    deployment = deployment_from_kwargs(kwargs, {})
    assert (deployment.provider, deployment.api_base, deployment.model_group) == (
        "openai",
        "http://127.0.0.1:9/v1",
        "gpt-openai",
    )


def test_openai_default_base_is_not_sent():
    deployment = deployment_from_kwargs({"model": "gpt-4o"}, {})
    assert deployment.provider == "openai"
    assert deployment.api_base is None
    assert deployment.bucket is None
    assert deployment.model_group is None


def test_environment_defaults_litellm_uses():
    env = {"OPENAI_BASE_URL": "https://gateway.example/v1", "AZURE_API_BASE": "https://res.openai.azure.com"}
    assert deployment_from_kwargs({"model": "gpt-4o"}, env).api_base == "https://gateway.example/v1"
    assert deployment_from_kwargs({"model": "gpt-4o"}, {"OPENAI_API_BASE": "https://b/v1"}).api_base == "https://b/v1"
    assert deployment_from_kwargs({"model": "azure/dep"}, env).api_base == "https://res.openai.azure.com"
    assert deployment_from_kwargs({"model": "azure/dep", "api_base": "https://own"}, env).api_base == "https://own"


def test_text_completion_provider():
    deployment = deployment_from_kwargs({"model": "text-completion-openai/gpt-3.5-turbo-instruct"}, {})
    assert deployment.provider == "text-completion-openai"


def test_vertex_bucket():
    kwargs = {"model": "vertex_ai/gemini-2.0-flash", "gcs_bucket_name": "my-bucket", "vertex_project": "p"}
    deployment = deployment_from_kwargs(kwargs, {})
    assert (deployment.provider, deployment.bucket, deployment.api_base) == ("vertex_ai", "my-bucket", None)
    assert deployment_from_kwargs({"model": "vertex_ai/gemini-2.0-flash"}, {"GCS_BUCKET_NAME": "env-b"}).bucket == "env-b"
    assert (
        deployment_from_kwargs({"model": "vertex_ai/gemini-2.0-flash", "litellm_metadata": {"gcs_bucket_name": "m"}}, {})
    ).bucket == "m"
    # no bucket for other providers even when one is configured
    assert deployment_from_kwargs({"model": "gpt-4o", "gcs_bucket_name": "b"}, {}).bucket is None


def test_unknown_model_gives_no_provider():
    assert deployment_from_kwargs({"model": "no-such-provider-model-xyz"}, {}).provider == ""
    assert deployment_from_kwargs({}, {}).provider == ""
