"""`callbacks: ferry_litellm.ferry_resolver` through LiteLLM's own config loader (get_instance_fn), in both forms:
the installed package, and resolver.py copied next to config.yaml as ferry_litellm.py."""

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
from fakes import FakeFerry
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy.types_utils.utils import get_instance_fn

import ferry_litellm

A = "file-ferry-" + "0123456789abcdef01234567"
RESOLVER_SOURCE = Path(ferry_litellm.__file__).resolve().parent / "resolver.py"


def test_installed_package_form(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("litellm_settings:\n  callbacks: ferry_litellm.ferry_resolver\n")
    loaded = get_instance_fn("ferry_litellm.ferry_resolver", config_file_path=str(config))
    assert loaded is ferry_litellm.ferry_resolver
    assert isinstance(loaded, CustomLogger)


def test_file_copied_next_to_the_config(tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("litellm_settings:\n  callbacks: ferry_litellm.ferry_resolver\n")
    shutil.copy(RESOLVER_SOURCE, tmp_path / "ferry_litellm.py")
    # as in a proxy without the package installed: nothing named ferry_litellm in sys.modules (LiteLLM executes
    # the copied file without registering it there)
    monkeypatch.delitem(sys.modules, "ferry_litellm", raising=False)
    loaded = get_instance_fn("ferry_litellm.ferry_resolver", config_file_path=str(config))
    assert "ferry_litellm" not in sys.modules
    # LiteLLM prefers the file next to the config over an installed module of the same name
    assert loaded is not ferry_litellm.ferry_resolver
    assert type(loaded).__name__ == "FerryResolver"
    assert isinstance(loaded, CustomLogger)

    # the copy works on its own (it is loaded without being registered in sys.modules)
    with FakeFerry() as ferry:
        ferry.place(A, "openai", None, "file-openai-a")
        monkeypatch.setenv("FERRY_URL", ferry.url)
        kwargs = {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": A}}]}]}

        async def go(call_kwargs):
            try:
                return await loaded.async_pre_call_deployment_hook(call_kwargs, None)
            finally:
                await loaded.aclose()

        out = asyncio.run(go(kwargs))
        assert out["messages"][0]["content"][0]["file"]["file_id"] == "file-openai-a"
        with pytest.raises(Exception) as caught:
            asyncio.run(go({**kwargs, "model": "azure/x", "api_base": "https://r"}))
        assert type(caught.value).__name__ == "FerryResolutionError"
        assert caught.value.status_code == 400
