"""Ferry unified file ids for LiteLLM.

A LiteLLM callback that replaces every Ferry unified file id (``file-ferry-`` + 24 lowercase hex digits) in a
request with the provider file id Ferry placed on the endpoint of the deployment LiteLLM chose. It runs in
LiteLLM's deployment-level hook (``CustomLogger.async_pre_call_deployment_hook``), which LiteLLM calls after a
deployment is picked and before the request is sent, once per attempt (retries and fallbacks included).

Enable it in the proxy's config.yaml::

    litellm_settings:
      callbacks: ferry_litellm.ferry_resolver

This file is self-contained (standard library, httpx and litellm only) so that it also works when copied next to
config.yaml as ``ferry_litellm.py``. LiteLLM then loads it without registering it in ``sys.modules``, which is
why it does not use ``from __future__ import annotations`` (dataclasses look string annotations up there).

If Ferry cannot resolve an id the request fails (fail closed) and never reaches the provider with a unified id:

- Ferry answered that the id cannot be used on that endpoint (404/409/400): ``FerryResolutionError``, a
  ``litellm.BadRequestError`` (the client gets HTTP 400; LiteLLM does not retry it within the model group, a
  configured fallback model group is tried).
- Ferry could not be asked (not configured, connection refused, timeout, 5xx, 401/403, malformed answer):
  ``FerryUnavailableError``, a ``litellm.ServiceUnavailableError`` (HTTP 503; the router retries it like any 503).
"""

import asyncio
import logging
import math
import os
import re
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Union
from urllib.parse import urlsplit, urlunsplit

import httpx
import litellm
from litellm.integrations.custom_logger import CustomLogger

__all__ = [
    "FERRY_ID_PATTERN",
    "Deployment",
    "FerryError",
    "FerryResolutionError",
    "FerryResolver",
    "FerryUnavailableError",
    "deployment_from_kwargs",
    "find_ferry_ids",
    "replace_ferry_ids",
    "ferry_resolver",
]

logger = logging.getLogger("ferry_litellm")

#: A Ferry unified id, matched as a whole string.
FERRY_ID_PATTERN = re.compile(r"file-ferry-[0-9a-f]{24}")

DEFAULT_TIMEOUT = 2.0
DEFAULT_CACHE_TTL = 5.0
DEFAULT_NEGATIVE_CACHE_TTL = 1.0
_CACHE_MAX_ENTRIES = 10_000

#: Request fields that can carry file ids, and where inside them ids are looked for.
#: - ``messages`` (chat completions): any ``"file_id"`` string, e.g. ``{"type": "file", "file": {"file_id": …}}``.
#: - ``input`` (Responses API): any ``"file_id"``, e.g. ``{"type": "input_file", "file_id": …}`` at any depth.
#: - ``tools`` (Responses API): ``"file_id"`` strings and ``"file_ids"`` lists, e.g. a code interpreter container.
#: - ``input_file_id`` (batches): the whole value.
_NESTED_FIELDS = ("messages", "input", "tools")
_TOP_LEVEL_ID_FIELDS = ("input_file_id",)

_OPENAI_PROVIDERS = frozenset({"openai", "text-completion-openai"})
_AZURE_PROVIDERS = frozenset({"azure", "azure_text"})
_VERTEX_PROVIDERS = frozenset({"vertex_ai", "vertex_ai_beta"})


def _is_ferry_id(value: object) -> bool:
    return isinstance(value, str) and FERRY_ID_PATTERN.fullmatch(value) is not None


# ----------------------------------------------------------------------------------------------------------------
# Finding and replacing ids (pure functions)


def _walk_ids(value: object, found: list[str], depth: int = 0) -> None:
    if depth > 64:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "file_id" and _is_ferry_id(item):
                found.append(item)
            elif key == "file_ids" and isinstance(item, (list, tuple)):
                found.extend(entry for entry in item if _is_ferry_id(entry))
            else:
                _walk_ids(item, found, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk_ids(item, found, depth + 1)


def find_ferry_ids(kwargs: Mapping[str, object]) -> list[str]:
    """The distinct unified ids in a request, in order of first appearance."""
    found: list[str] = []
    for field in _TOP_LEVEL_ID_FIELDS:
        if _is_ferry_id(kwargs.get(field)):
            found.append(kwargs[field])  # type: ignore[arg-type]
    for field in _NESTED_FIELDS:
        _walk_ids(kwargs.get(field), found)
    return list(dict.fromkeys(found))


def _replaced(value: Any, mapping: Mapping[str, str], depth: int = 0) -> Any:
    """`value` with ids replaced, copying only the dicts and lists on the way to a replaced id (copy on write);
    everything else is shared with `value`, which is never modified."""
    if depth > 64:
        return value
    if isinstance(value, Mapping):
        changed: dict[Any, Any] | None = None
        for key, item in value.items():
            if key == "file_id" and isinstance(item, str) and item in mapping:
                new_item: Any = mapping[item]
            elif key == "file_ids" and isinstance(item, (list, tuple)) and any(
                isinstance(entry, str) and entry in mapping for entry in item
            ):
                new_item = type(item)(mapping.get(entry, entry) if isinstance(entry, str) else entry for entry in item)
            else:
                new_item = _replaced(item, mapping, depth + 1)
            if new_item is not item:
                if changed is None:
                    changed = dict(value)
                changed[key] = new_item
        return value if changed is None else changed
    if isinstance(value, (list, tuple)):
        items = [_replaced(item, mapping, depth + 1) for item in value]
        if all(new is old for new, old in zip(items, value)):
            return value
        return items if isinstance(value, list) else tuple(items)
    return value


def replace_ferry_ids(kwargs: Mapping[str, object], mapping: Mapping[str, str]) -> dict[str, object]:
    """A new kwargs dict with every unified id in `mapping` replaced. `kwargs` and everything it holds are left
    untouched: the router passes the same `messages`/`input` objects to every retry and fallback, and each
    deployment must see its own ids."""
    result = dict(kwargs)
    for field in _TOP_LEVEL_ID_FIELDS:
        value = result.get(field)
        if isinstance(value, str) and value in mapping:
            result[field] = mapping[value]
    for field in _NESTED_FIELDS:
        if field in result:
            result[field] = _replaced(result[field], mapping)
    return result


# ----------------------------------------------------------------------------------------------------------------
# Which endpoint the deployment sends to


@dataclass(frozen=True)
class Deployment:
    """The endpoint a LiteLLM deployment sends to, as Ferry's resolve API names it."""

    provider: str
    api_base: str | None = None
    bucket: str | None = None
    model_group: str | None = None
    model: str | None = None  # the deployment's litellm model, e.g. "azure/my-deployment" (for messages only)

    def describe(self) -> str:
        where = self.api_base or ("gs://" + self.bucket if self.bucket else "default api_base")
        text = f"{self.provider} {where}"
        details = []
        if self.model:
            details.append(f"deployment model '{self.model}'")
        if self.model_group:
            details.append(f"model group '{self.model_group}'")
        return text + (f" ({', '.join(details)})" if details else "")


def _nonempty_str(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _metadata_value(kwargs: Mapping[str, object], key: str) -> str | None:
    # The router writes its bookkeeping to `litellm_metadata` for Responses/batches/generic calls and to
    # `metadata` for chat completions, embeddings and text completions (`metadata` on the Responses API is the
    # caller's own OpenAI metadata, hence litellm_metadata first).
    for bucket_name in ("litellm_metadata", "metadata"):
        bucket = kwargs.get(bucket_name)
        if isinstance(bucket, Mapping):
            value = _nonempty_str(bucket.get(key))
            if value is not None:
                return value
    return None


def _provider_of(kwargs: Mapping[str, object]) -> str | None:
    explicit = _nonempty_str(kwargs.get("custom_llm_provider"))
    if explicit is not None:
        return explicit
    model = _nonempty_str(kwargs.get("model"))
    if model is None:
        return None
    try:
        return litellm.get_llm_provider(model=model, api_base=_nonempty_str(kwargs.get("api_base")))[1]
    except Exception:  # noqa: BLE001  # an unknown model: Ferry is told nothing it could match
        return None


def _api_base_of(kwargs: Mapping[str, object], provider: str | None, environ: Mapping[str, str]) -> str | None:
    explicit = _nonempty_str(kwargs.get("api_base"))
    if explicit is not None:
        return explicit
    # LiteLLM's own defaults when a deployment sets no api_base (litellm/main.py): the global litellm.api_base,
    # then these environment variables. With none of them, OpenAI means https://api.openai.com/v1, which is also
    # Ferry's default, so nothing is sent.
    if provider in _OPENAI_PROVIDERS:
        names: tuple[str, ...] = ("OPENAI_BASE_URL", "OPENAI_API_BASE")
    elif provider in _AZURE_PROVIDERS:
        names = ("AZURE_API_BASE",)
    else:
        return None
    global_base = _nonempty_str(getattr(litellm, "api_base", None))
    if global_base is not None:
        return global_base
    for name in names:
        value = _nonempty_str(environ.get(name))
        if value is not None:
            return value
    return None


def _bucket_of(kwargs: Mapping[str, object], provider: str | None, environ: Mapping[str, str]) -> str | None:
    if provider not in _VERTEX_PROVIDERS:
        return None
    # The same sources LiteLLM's Vertex AI file upload uses (llms/vertex_ai/files/transformation.py).
    for value in (kwargs.get("gcs_bucket_name"), kwargs.get("bucket_name")):
        if _nonempty_str(value) is not None:
            return _nonempty_str(value)
    from_metadata = _metadata_value(kwargs, "gcs_bucket_name")
    if from_metadata is not None:
        return from_metadata
    return _nonempty_str(environ.get("GCS_BATCH_BUCKET_NAME")) or _nonempty_str(environ.get("GCS_BUCKET_NAME"))


def deployment_from_kwargs(kwargs: Mapping[str, object], environ: Mapping[str, str] | None = None) -> Deployment:
    """Read the chosen deployment's endpoint from the kwargs LiteLLM hands the deployment hook.

    In LiteLLM 1.108.7 the deployment's `litellm_params` are merged into the kwargs: `model`
    (e.g. "azure/my-dep"), `api_base`, `custom_llm_provider` (set for Responses and batches, absent for chat
    completions where it is derived from the model prefix), `gcs_bucket_name`; the model group is
    `metadata["model_group"]` (chat, embeddings, text completion) or `litellm_metadata["model_group"]`
    (Responses, batches).
    """
    environ = os.environ if environ is None else environ
    provider = _provider_of(kwargs)
    return Deployment(
        provider=provider or "",
        api_base=_api_base_of(kwargs, provider, environ),
        bucket=_bucket_of(kwargs, provider, environ),
        model_group=_metadata_value(kwargs, "model_group"),
        model=_nonempty_str(kwargs.get("model")),
    )


# ----------------------------------------------------------------------------------------------------------------
# Errors


def _rebuild_error(cls: type, state: dict[str, Any], args: tuple[Any, ...]) -> BaseException:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    error.args = args
    return error


class FerryError(Exception):
    """Common base of the two errors the resolver raises (both are also LiteLLM exceptions)."""

    unified_id: str
    ferry_code: str
    ferry_status: int | None
    deployment: Deployment

    def __reduce__(self) -> tuple[Any, ...]:
        # copy/pickle without calling __init__ (whose arguments are keyword-only)
        return (_rebuild_error, (type(self), dict(self.__dict__), self.args))

    def _record(self, *, unified_id: str, ferry_code: str, ferry_status: int | None, deployment: Deployment) -> None:
        """Keeps what Ferry said, and exposes it in the error body's `provider_specific_fields.ferry`."""
        self.unified_id = unified_id
        self.ferry_code = ferry_code
        self.ferry_status = ferry_status
        self.deployment = deployment
        self.provider_specific_fields = {"ferry": _error_fields(self)}


class FerryResolutionError(litellm.BadRequestError, FerryError):
    """Ferry answered that the id has no usable provider file on the deployment's endpoint. HTTP 400."""

    def __init__(
        self,
        message: str,
        *,
        unified_id: str,
        ferry_code: str,
        ferry_status: int | None,
        deployment: Deployment,
        param: str | None = None,
        stale_file_id: str | None = None,
    ) -> None:
        super().__init__(
            message=message,
            model=deployment.model_group or deployment.model,
            llm_provider=deployment.provider,
            body={"type": "invalid_request_error", "code": f"ferry_{ferry_code}", "param": param},
        )
        self.stale_file_id = stale_file_id
        self._record(unified_id=unified_id, ferry_code=ferry_code, ferry_status=ferry_status, deployment=deployment)


class FerryUnavailableError(litellm.ServiceUnavailableError, FerryError):
    """Ferry could not be asked or gave no usable answer. HTTP 503."""

    def __init__(
        self,
        message: str,
        *,
        unified_id: str,
        ferry_code: str,
        ferry_status: int | None,
        deployment: Deployment,
    ) -> None:
        super().__init__(
            message=message,
            llm_provider=deployment.provider,
            model=deployment.model_group or deployment.model,
        )
        self.code = f"ferry_{ferry_code}"
        self._record(unified_id=unified_id, ferry_code=ferry_code, ferry_status=ferry_status, deployment=deployment)


def _error_fields(error: FerryError) -> dict[str, object]:
    # No api_base here: LiteLLM redacts internal host names from error messages, not from these fields.
    fields: dict[str, object] = {
        "id": error.unified_id,
        "code": error.ferry_code,
        "status": error.ferry_status,
        "provider": error.deployment.provider,
        "model_group": error.deployment.model_group,
    }
    stale = getattr(error, "stale_file_id", None)
    if stale:
        fields["stale_file_id"] = stale
    return fields


# ----------------------------------------------------------------------------------------------------------------
# Answers from Ferry


@dataclass(frozen=True)
class _Resolved:
    provider_file_id: str
    endpoint: str | None
    state: str | None


@dataclass(frozen=True)
class _Refused:
    """Ferry answered with an error envelope: the id cannot be used on that endpoint (cached briefly)."""

    status: int
    code: str
    message: str
    stale_file_id: str | None = None


@dataclass(frozen=True)
class _Unavailable:
    """No usable answer (never cached)."""

    code: str
    message: str
    status: int | None = None


_Outcome = Union[_Resolved, _Refused, _Unavailable]
_Key = tuple[str, str, Union[str, None], Union[str, None], Union[str, None]]


def _error_envelope(body: object, status: int) -> tuple[str, str] | None:
    """(code, message) of an OpenAI-style error envelope; a missing code (Ferry sends `"code": null` for some
    bad parameters) becomes `http_<status>`."""
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if not isinstance(error, Mapping):
        return None
    code = error.get("code")
    message = error.get("message")
    code = code if isinstance(code, str) and code else None
    message = message if isinstance(message, str) and message else None
    if code is None and message is None:
        return None
    return code or f"http_{status}", message or code or f"HTTP {status}"


def _parse_answer(unified_id: str, response: httpx.Response) -> _Outcome:
    status = response.status_code
    try:
        body: object = response.json()
    except ValueError:
        body = None
    if status == 200:
        if not isinstance(body, Mapping):
            return _Unavailable("malformed_answer", "Ferry answered 200 without a JSON object.", status)
        file_id = body.get("provider_file_id")
        answered_id = body.get("id")
        if answered_id is not None and answered_id != unified_id:
            return _Unavailable(
                "malformed_answer", f"Ferry answered 200 for a different id ({answered_id!r}).", status
            )
        if not isinstance(file_id, str) or not file_id.strip() or _is_ferry_id(file_id.strip()):
            return _Unavailable(
                "malformed_answer", "Ferry answered 200 without a usable 'provider_file_id'.", status
            )
        endpoint = body.get("endpoint")
        state = body.get("state")
        return _Resolved(
            file_id.strip(),
            endpoint if isinstance(endpoint, str) else None,
            state if isinstance(state, str) else None,
        )
    envelope = _error_envelope(body, status)
    if status in (401, 403):
        detail = f": {envelope[1]}" if envelope else ""
        return _Unavailable(
            "unauthorized",
            f"Ferry refused the resolver's credentials (HTTP {status}{detail}); check FERRY_TOKEN.",
            status,
        )
    if 400 <= status < 500 and envelope is not None:
        stale = body.get("stale_file_id") if isinstance(body, Mapping) else None
        return _Refused(status, envelope[0], envelope[1], stale if isinstance(stale, str) and stale else None)
    if envelope is not None:
        return _Unavailable(envelope[0], f"Ferry answered HTTP {status}: {envelope[1]}", status)
    return _Unavailable(
        "malformed_answer",
        f"Ferry answered HTTP {status} without an error envelope (is FERRY_URL the Ferry server?).",
        status,
    )


# ----------------------------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class _Settings:
    url: str | None
    token: str | None
    timeout: float
    cache_ttl: float
    negative_cache_ttl: float
    allow_stale: bool
    problem: str | None = None  # a configuration error, reported when an id needs resolving


def _parse_seconds(name: str, text: str | None, default: float) -> float:
    if text is None or not str(text).strip():
        return default
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={text!r} is not a number of seconds") from None
    if math.isnan(value) or value < 0:
        raise ValueError(f"{name}={text!r} must be zero or more seconds")
    return value


def _parse_bool(name: str, text: str | None) -> bool:
    if text is None or not str(text).strip():
        return False
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={text!r} is not a boolean (true/false)")


def _display_url(url: str) -> str:
    """The URL without user info, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


# ----------------------------------------------------------------------------------------------------------------
# The callback


class _LoopState:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.inflight: dict[_Key, asyncio.Future[_Outcome]] = {}


class FerryResolver(CustomLogger):
    """Replaces Ferry unified ids with the provider file id for the deployment LiteLLM chose.

    Every argument left as None is read from the environment the first time an id needs resolving:
    FERRY_URL (required), FERRY_TOKEN, FERRY_RESOLVE_TIMEOUT (seconds, default 2),
    FERRY_RESOLVE_CACHE_TTL (seconds, default 5), FERRY_RESOLVE_NEGATIVE_CACHE_TTL (seconds, default 1, at most
    the cache TTL), FERRY_ALLOW_STALE (default false).
    """

    def __init__(
        self,
        ferry_url: str | None = None,
        *,
        token: str | None = None,
        timeout: float | None = None,
        cache_ttl: float | None = None,
        negative_cache_ttl: float | None = None,
        allow_stale: bool | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._explicit = {
            "url": ferry_url,
            "token": token,
            "timeout": timeout,
            "cache_ttl": cache_ttl,
            "negative_cache_ttl": negative_cache_ttl,
            "allow_stale": allow_stale,
        }
        self._environ = environ
        self._clock = clock
        self._settings: _Settings | None = None
        self._cache: dict[_Key, tuple[float, _Outcome]] = {}
        self._cache_lock = threading.Lock()  # LiteLLM's sync Responses path runs the hook on another thread's loop
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()
        #: Number of HTTP requests sent to Ferry (for tests and debugging).
        self.lookups = 0

    def __repr__(self) -> str:  # never shows the token
        url = self._explicit["url"] or (self._environ or os.environ).get("FERRY_URL")
        return f"FerryResolver(ferry_url={_display_url(url) if url else None!r})"

    # -- settings -------------------------------------------------------------------------------------------

    @property
    def settings(self) -> _Settings:
        if self._settings is None:
            self._settings = self._load_settings()
        return self._settings

    def _load_settings(self) -> _Settings:
        env = os.environ if self._environ is None else self._environ
        explicit = self._explicit
        url = explicit["url"] if explicit["url"] is not None else env.get("FERRY_URL")
        token = explicit["token"] if explicit["token"] is not None else env.get("FERRY_TOKEN")
        url = url.strip().rstrip("/") if isinstance(url, str) and url.strip() else None
        token = token.strip() if isinstance(token, str) and token.strip() else None
        problem = None
        timeout, cache_ttl, negative_ttl, allow_stale = DEFAULT_TIMEOUT, DEFAULT_CACHE_TTL, None, False
        try:
            timeout = (
                float(explicit["timeout"])
                if explicit["timeout"] is not None
                else _parse_seconds("FERRY_RESOLVE_TIMEOUT", env.get("FERRY_RESOLVE_TIMEOUT"), DEFAULT_TIMEOUT)
            )
            if not timeout > 0:
                raise ValueError("the resolve timeout must be more than zero seconds")
            cache_ttl = (
                float(explicit["cache_ttl"])
                if explicit["cache_ttl"] is not None
                else _parse_seconds("FERRY_RESOLVE_CACHE_TTL", env.get("FERRY_RESOLVE_CACHE_TTL"), DEFAULT_CACHE_TTL)
            )
            negative_ttl = (
                float(explicit["negative_cache_ttl"])
                if explicit["negative_cache_ttl"] is not None
                else _parse_seconds(
                    "FERRY_RESOLVE_NEGATIVE_CACHE_TTL",
                    env.get("FERRY_RESOLVE_NEGATIVE_CACHE_TTL"),
                    min(DEFAULT_NEGATIVE_CACHE_TTL, cache_ttl),
                )
            )
            allow_stale = (
                bool(explicit["allow_stale"])
                if explicit["allow_stale"] is not None
                else _parse_bool("FERRY_ALLOW_STALE", env.get("FERRY_ALLOW_STALE"))
            )
        except ValueError as error:
            problem = f"Ferry resolver misconfigured: {error}."
        if problem is None and url is None:
            problem = "Ferry resolver misconfigured: FERRY_URL is not set."
        if problem is None and urlsplit(url or "").scheme not in ("http", "https"):
            problem = f"Ferry resolver misconfigured: FERRY_URL={_display_url(url or '')!r} is not an http(s) URL."
        return _Settings(
            url=url,
            token=token,
            timeout=timeout,
            cache_ttl=max(cache_ttl, 0.0),
            negative_cache_ttl=max(min(negative_ttl if negative_ttl is not None else 0.0, cache_ttl), 0.0),
            allow_stale=allow_stale,
            problem=problem,
        )

    # -- the hook -------------------------------------------------------------------------------------------

    async def async_pre_call_deployment_hook(self, kwargs: dict[str, object], call_type: Any) -> dict | None:
        unified_ids = find_ferry_ids(kwargs)
        if not unified_ids:
            return None
        deployment = deployment_from_kwargs(kwargs, self._environ)
        mapping = await self.resolve_all(unified_ids, deployment, param=_param_for(kwargs))
        return replace_ferry_ids(kwargs, mapping)

    async def resolve_all(
        self, unified_ids: list[str], deployment: Deployment, *, param: str | None = None
    ) -> dict[str, str]:
        """Provider file ids for `unified_ids` on `deployment`; raises the first failure (in the order given)."""
        results = await asyncio.gather(
            *(self.resolve(unified_id, deployment, param=param) for unified_id in unified_ids),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return dict(zip(unified_ids, results))  # type: ignore[arg-type]

    async def resolve(self, unified_id: str, deployment: Deployment, *, param: str | None = None) -> str:
        """The provider file id for one unified id on `deployment`, or raise a `FerryError`."""
        settings = self.settings
        if settings.problem is not None:
            self._settings = None  # read the environment again next time (it may be fixed without a restart)
            raise FerryUnavailableError(
                f"{settings.problem} Cannot resolve {unified_id} for {deployment.describe()}.",
                unified_id=unified_id,
                ferry_code="not_configured",
                ferry_status=None,
                deployment=deployment,
            )
        if not deployment.provider:
            raise FerryResolutionError(
                f"Cannot resolve {unified_id}: LiteLLM names no provider for deployment model "
                f"'{deployment.model or ''}', so Ferry cannot tell which endpoint it sends to.",
                unified_id=unified_id,
                ferry_code="unknown_provider",
                ferry_status=None,
                deployment=deployment,
                param=param,
            )
        outcome = await self._outcome(unified_id, deployment, settings)
        if isinstance(outcome, _Resolved):
            logger.debug("Ferry: %s -> %s on %s", unified_id, outcome.provider_file_id, deployment.describe())
            return outcome.provider_file_id
        if isinstance(outcome, _Refused):
            if outcome.code == "out_of_sync" and outcome.stale_file_id and settings.allow_stale:
                logger.warning(
                    "Ferry: %s is out of sync on %s; using the stale provider file %s (FERRY_ALLOW_STALE)",
                    unified_id,
                    deployment.describe(),
                    outcome.stale_file_id,
                )
                return outcome.stale_file_id
            hint = ""
            if outcome.code == "out_of_sync" and outcome.stale_file_id:
                hint = " (Ferry still knows a stale copy; set FERRY_ALLOW_STALE=true to use it)"
            raise FerryResolutionError(
                f"Ferry cannot resolve {unified_id} for {deployment.describe()}: "
                f"[{outcome.code}] {outcome.message}{hint}",
                unified_id=unified_id,
                ferry_code=outcome.code,
                ferry_status=outcome.status,
                deployment=deployment,
                param=param,
                stale_file_id=outcome.stale_file_id,
            )
        raise FerryUnavailableError(
            f"Ferry at {_display_url(settings.url or '')} gave no answer for {unified_id} "
            f"({deployment.describe()}): [{outcome.code}] {outcome.message}",
            unified_id=unified_id,
            ferry_code=outcome.code,
            ferry_status=outcome.status,
            deployment=deployment,
        )

    # -- cache, request sharing, HTTP -----------------------------------------------------------------------

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def _cached(self, key: _Key) -> _Outcome | None:
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            expires, outcome = entry
            if self._clock() >= expires:
                self._cache.pop(key, None)
                return None
            return outcome

    def _remember(self, key: _Key, outcome: _Outcome, settings: _Settings) -> None:
        ttl = (
            settings.cache_ttl
            if isinstance(outcome, _Resolved)
            else settings.negative_cache_ttl
            if isinstance(outcome, _Refused)
            else 0.0
        )
        if ttl <= 0:
            return
        with self._cache_lock:
            now = self._clock()
            if len(self._cache) >= _CACHE_MAX_ENTRIES:
                for stale_key in [k for k, (expires, _) in self._cache.items() if expires <= now]:
                    del self._cache[stale_key]
                while len(self._cache) >= _CACHE_MAX_ENTRIES:
                    del self._cache[next(iter(self._cache))]
            self._cache[key] = (now + ttl, outcome)

    def _loop_state(self, settings: _Settings) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = _LoopState(httpx.AsyncClient(timeout=httpx.Timeout(settings.timeout)))
            self._loops[loop] = state
        return state

    async def _outcome(self, unified_id: str, deployment: Deployment, settings: _Settings) -> _Outcome:
        key: _Key = (unified_id, deployment.provider, deployment.api_base, deployment.bucket, deployment.model_group)
        cached = self._cached(key)
        if cached is not None:
            return cached
        state = self._loop_state(settings)
        future = state.inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._fetch(state.client, unified_id, deployment, settings))
            state.inflight[key] = future

            def finished(done: asyncio.Future[_Outcome], key: _Key = key) -> None:
                state.inflight.pop(key, None)
                if not done.cancelled() and done.exception() is None:
                    self._remember(key, done.result(), settings)

            future.add_done_callback(finished)
        # shield: one caller giving up (client disconnect) does not cancel the lookup others wait for
        return await asyncio.shield(future)

    async def _fetch(
        self, client: httpx.AsyncClient, unified_id: str, deployment: Deployment, settings: _Settings
    ) -> _Outcome:
        params = {"provider": deployment.provider}
        if deployment.api_base is not None:
            params["api_base"] = deployment.api_base
        if deployment.bucket is not None:
            params["bucket"] = deployment.bucket
        if deployment.model_group is not None:
            params["model"] = deployment.model_group
        headers = {"Accept": "application/json"}
        if settings.token is not None:
            headers["Authorization"] = f"Bearer {settings.token}"
        url = f"{settings.url}/api/v1/resolve/{unified_id}"
        self.lookups += 1
        try:
            response = await client.get(url, params=params, headers=headers, timeout=settings.timeout)
        except httpx.TimeoutException:
            return _Unavailable("timeout", f"no answer within {settings.timeout:g} s (FERRY_RESOLVE_TIMEOUT).")
        except httpx.HTTPError as error:
            return _Unavailable("unreachable", f"{type(error).__name__}: {error or 'request failed'}")
        except Exception as error:  # noqa: BLE001  # anything else still fails closed
            return _Unavailable("unreachable", f"{type(error).__name__}: {error}")
        return _parse_answer(unified_id, response)

    async def aclose(self) -> None:
        """Close the HTTP client of the running event loop."""
        loop = asyncio.get_running_loop()
        state = self._loops.pop(loop, None)
        if state is not None:
            await state.client.aclose()


def _param_for(kwargs: Mapping[str, object]) -> str | None:
    """The request field the error names as `param`."""
    if _is_ferry_id(kwargs.get("input_file_id")):
        return "input_file_id"
    for field in _NESTED_FIELDS:
        found: list[str] = []
        _walk_ids(kwargs.get(field), found)
        if found:
            return field
    return None


#: The instance LiteLLM's config loads: `litellm_settings: {callbacks: ferry_litellm.ferry_resolver}`.
ferry_resolver = FerryResolver()
