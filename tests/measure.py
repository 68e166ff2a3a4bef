"""Measuring what a call costs, for tests that bound it (memory, not time)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable


def peak_traced_bytes(call: Callable[[], object]) -> tuple[int, Exception | None]:
    """The peak of Python-allocated memory during `call`, and the exception it raised, if any."""
    tracemalloc.start()
    error: Exception | None = None
    try:
        call()
    except Exception as exc:
        error = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, error
