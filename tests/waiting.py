"""The one way the tests wait for something: ask for the real condition until it holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How often a wait asks again: often enough to add little to a test, rarely enough to leave
# the two cores to the service.
POLL_INTERVAL_S = 0.2


def poll_until(
    condition: Callable[[], T | None],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = POLL_INTERVAL_S,
) -> T:
    """Ask `condition` until it returns something truthy, and return that; fail after
    `timeout_s`, saying `what` was awaited and the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}: {answer!r}")
        time.sleep(interval_s)
