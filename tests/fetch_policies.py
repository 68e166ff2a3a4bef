"""Fetch policies for tests: the service's defaults (not the environment's, so a developer's
NEWSDEDUP_* variables change nothing), and a loopback policy with limits short enough that a
failing test never hangs on a local server."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from service.fetching import FetchPolicy
from service.settings import Settings

DEFAULT_POLICY = FetchPolicy.from_settings(Settings.model_construct())


def local_policy(**overrides: Any) -> FetchPolicy:
    """Loopback allowed; local servers answer in milliseconds."""
    limits: dict[str, Any] = {
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "total_timeout_s": 5.0,
    }
    return replace(DEFAULT_POLICY, allow_loopback=True, **{**limits, **overrides})
