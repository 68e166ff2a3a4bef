"""Redis URLs and clients. Two spellings of a unix socket meet here: kombu (the Celery broker)
says redis+socket://PATH, redis-py says unix://PATH; settings may hold either."""

from __future__ import annotations

import redis

# Health checks and the politeness gate must not hang on a Redis that is away.
REDIS_TIMEOUT_S = 2.0
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def broker_url(redis_url: str | None) -> str:
    """The URL as kombu wants it."""
    url = redis_url or DEFAULT_REDIS_URL
    if url.startswith("unix://"):
        return "redis+socket://" + url.removeprefix("unix://")
    return url


def client_url(redis_url: str | None) -> str:
    """The URL as redis-py wants it."""
    url = redis_url or DEFAULT_REDIS_URL
    if url.startswith("redis+socket://"):
        return "unix://" + url.removeprefix("redis+socket://")
    return url


def redis_client(redis_url: str | None) -> redis.Redis[bytes]:
    return redis.Redis.from_url(
        client_url(redis_url),
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
    )
