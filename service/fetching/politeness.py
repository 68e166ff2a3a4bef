"""A per-host politeness gate in Redis, shared by every worker on every machine.

Celery's ``rate_limit`` is per worker process, so N workers would hit one site N times as
hard; the gate's state therefore lives in Redis, and one Lua script reads and writes it, so two
workers asking at the same instant cannot both pass (Redis runs a script atomically).

Per host it keeps two keys:
- ``…:last``: when the last request was granted. A new one waits until ``interval`` has passed:
  ``min_interval_s``, widened to the host's robots.txt Crawl-delay when that is larger, capped
  at ``max_crawl_delay_s`` (a Crawl-delay of an hour would starve a news source).
- ``…:slots``: a sorted set of the requests in flight, each scored by when its lease ends. At
  most ``max_in_flight`` at once. A worker that dies mid-fetch never releases its slot, so each
  slot is a lease: expired ones are dropped before counting, and nothing leaks for longer than
  ``slot_lease_s``.

``try_acquire`` never sleeps. It grants a ``Slot`` (release it after the fetch, in a
``finally``) or answers ``Wait(seconds)``: the caller re-queues its task with that countdown.
A countdown is capped at ``max_countdown_s``, below the broker's visibility timeout: Redis
hands an unacknowledged message to another worker after that timeout (1 h here), and a
task waiting on its countdown is unacknowledged, so a longer countdown would run it twice. A
capped wait that was not long enough just meets the gate again.

The clock: by default the script reads Redis' own clock (``TIME``), one clock for all workers,
so machines whose clocks disagree still space their requests correctly. Tests inject a clock;
the script then takes ``now`` as an argument, and time only moves when the test moves it.
All times inside the script are integer milliseconds (Lua numbers returned to Redis are cut
to integers).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis

_ACQUIRE = """
local slots, last = KEYS[1], KEYS[2]
local now
if ARGV[1] == '' then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local interval = tonumber(ARGV[2])
local max_in_flight = tonumber(ARGV[3])
local lease = tonumber(ARGV[4])
local full_retry = tonumber(ARGV[5])
local token = ARGV[6]

redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
local previous = redis.call('GET', last)
if previous then
  -- min(): a clock that stepped back must not stretch the wait past one interval
  local wait = math.min(tonumber(previous) + interval - now, interval)
  if wait > 0 then
    return {0, wait}
  end
end
if redis.call('ZCARD', slots) >= max_in_flight then
  -- Slots usually free up within seconds, when fetches end; the oldest lease's end is the
  -- latest a slot can free up.
  local oldest = redis.call('ZRANGE', slots, 0, 0, 'WITHSCORES')
  return {0, math.max(1, math.min(full_retry, tonumber(oldest[2]) - now))}
end
-- The keys outlive what they record by a margin; the times inside decide, not the expiry.
redis.call('SET', last, now, 'PX', interval + lease)
redis.call('ZADD', slots, now + lease, token)
redis.call('PEXPIRE', slots, interval + lease)
return {1, 0}
"""


@dataclass(frozen=True)
class PolitenessRules:
    """The gate's numbers; the application builds them from its settings (see there for why)."""

    min_interval_s: float = 1.0
    max_crawl_delay_s: float = 60.0
    max_in_flight: int = 2
    slot_lease_s: float = 60.0
    max_countdown_s: float = 900.0
    # How soon to ask again when every slot is taken: fetches take seconds, not minutes.
    full_retry_s: float = 2.0


@dataclass(frozen=True)
class Slot:
    """Permission for one request to ``host``; give it back with ``release``."""

    host: str
    token: str


@dataclass(frozen=True)
class Wait:
    """Not now: re-queue the fetch with this countdown (already capped)."""

    seconds: float


class PolitenessGate:
    PREFIX = "newsdedup:polite:"

    def __init__(
        self,
        client: redis.Redis[Any],
        *,
        rules: PolitenessRules | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock`` returns seconds; None uses Redis' clock (see the module doc)."""
        self._redis = client
        self.rules = rules or PolitenessRules()
        self._clock = clock
        self._acquire = client.register_script(_ACQUIRE)

    def interval_for(self, crawl_delay_s: float | None = None) -> float:
        """Seconds between two requests to a host whose robots.txt asks ``crawl_delay_s``."""
        delay = min(crawl_delay_s or 0.0, self.rules.max_crawl_delay_s)
        return max(self.rules.min_interval_s, delay)

    def try_acquire(self, host: str, *, crawl_delay_s: float | None = None) -> Slot | Wait:
        host = host.lower()
        token = uuid.uuid4().hex
        now = "" if self._clock is None else str(_ms(self._clock()))
        granted, wait_ms = self._acquire(
            keys=self._keys(host),
            args=[
                now,
                _ms(self.interval_for(crawl_delay_s)),
                self.rules.max_in_flight,
                _ms(self.rules.slot_lease_s),
                _ms(self.rules.full_retry_s),
                token,
            ],
        )
        if int(granted):
            return Slot(host, token)
        return Wait(min(int(wait_ms) / 1000, self.rules.max_countdown_s))

    def release(self, slot: Slot) -> None:
        slots, _ = self._keys(slot.host)
        self._redis.zrem(slots, slot.token)

    def in_flight(self, host: str) -> int:
        """Slots held for ``host``, expired leases included until the next acquire drops them."""
        slots, _ = self._keys(host.lower())
        return int(self._redis.zcard(slots))

    def _keys(self, host: str) -> list[str]:
        # The braces are a Redis Cluster hash tag: both keys of a host live on one node,
        # which a script touching both requires.
        return [f"{self.PREFIX}{{{host}}}:slots", f"{self.PREFIX}{{{host}}}:last"]


def gate_host(url: str) -> str:
    """The host a URL's request is counted against: its host name, lower-case, port ignored
    (two ports of one host are still one server to be polite to)."""
    host = urlsplit(url).hostname
    if not host:
        raise ValueError(f"no host in {url!r}")
    return host.lower()


def _ms(seconds: float) -> int:
    return round(seconds * 1000)
