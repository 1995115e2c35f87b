"""Ferry unified file ids for LiteLLM: see `ferry_litellm.resolver` and README.md.

Enable with ``litellm_settings: {callbacks: ferry_litellm.ferry_resolver}`` in the LiteLLM proxy config.
"""

from .resolver import (
    FERRY_ID_PATTERN,
    Deployment,
    FerryError,
    FerryResolutionError,
    FerryResolver,
    FerryUnavailableError,
    deployment_from_kwargs,
    ferry_resolver,
    find_ferry_ids,
    replace_ferry_ids,
)

__version__ = "0.1.0"

__all__ = [
    "FERRY_ID_PATTERN",
    "Deployment",
    "FerryError",
    "FerryResolutionError",
    "FerryResolver",
    "FerryUnavailableError",
    "deployment_from_kwargs",
    "ferry_resolver",
    "find_ferry_ids",
    "replace_ferry_ids",
]
