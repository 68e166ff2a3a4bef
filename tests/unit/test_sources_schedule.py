"""Schedule arithmetic: adaptive interval within bounds, failure backoff, Retry-After, status."""

from datetime import UTC, datetime, timedelta

import pytest

from service.sources.schedule import (
    MAX_RETRY_AFTER,
    PollBounds,
    after_failure,
    after_success,
    failure_backoff,
    first_poll,
    next_interval,
    parse_retry_after,
    status_text,
)

BOUNDS = PollBounds(
    min_interval=timedelta(minutes=5),
    max_interval=timedelta(hours=24),
    default_interval=timedelta(minutes=30),
)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def test_new_source_is_polled_now_at_the_default_interval() -> None:
    state = first_poll(now=NOW, bounds=BOUNDS)
    assert (state.next_poll_at, state.interval, state.failing) == (NOW, HALF_HOUR, False)


def test_mostly_new_items_halve_the_interval() -> None:
    assert next_interval(HALF_HOUR, new_items=8, known_items=2, bounds=BOUNDS) == timedelta(
        minutes=15
    )


def test_mostly_known_items_lengthen_the_interval() -> None:
    assert next_interval(HALF_HOUR, new_items=0, known_items=20, bounds=BOUNDS) == timedelta(
        minutes=45
    )


def test_some_new_items_keep_the_interval() -> None:
    assert next_interval(HALF_HOUR, new_items=3, known_items=7, bounds=BOUNDS) == HALF_HOUR


def test_empty_document_counts_as_quiet() -> None:
    assert next_interval(HALF_HOUR, new_items=0, known_items=0, bounds=BOUNDS) > HALF_HOUR


def test_interval_never_goes_below_the_minimum_however_busy() -> None:
    interval = HALF_HOUR
    for _ in range(20):
        interval = next_interval(interval, new_items=50, known_items=0, bounds=BOUNDS)
    assert interval == BOUNDS.min_interval


def test_interval_never_goes_above_the_maximum_however_quiet() -> None:
    interval = HALF_HOUR
    polls = 0
    while interval < BOUNDS.max_interval:
        interval = next_interval(interval, new_items=0, known_items=50, bounds=BOUNDS)
        polls += 1
    assert polls == 10  # the docstring's "30 min to 24 h takes 10 quiet polls"
    interval = next_interval(interval, new_items=0, known_items=50, bounds=BOUNDS)
    assert interval == BOUNDS.max_interval


def test_success_schedules_the_next_poll_one_interval_later_and_clears_failures() -> None:
    failing = after_failure(
        first_poll(now=NOW, bounds=BOUNDS), now=NOW, error="HTTP 503", bounds=BOUNDS
    )
    state = after_success(failing, now=NOW, new_items=3, known_items=7, bounds=BOUNDS)
    assert state.next_poll_at == NOW + HALF_HOUR
    assert (state.consecutive_failures, state.failing_since, state.last_error) == (0, None, None)


# ---------------------------------------------------------------- failures


def test_backoff_doubles_from_the_minimum_up_to_the_cap() -> None:
    waits = [failure_backoff(n, bounds=BOUNDS) for n in range(1, 12)]
    assert waits[:4] == [timedelta(minutes=m) for m in (5, 10, 20, 40)]
    assert waits[9:] == [BOUNDS.max_interval, BOUNDS.max_interval]
    assert failure_backoff(100_000, bounds=BOUNDS) == BOUNDS.max_interval


def test_retry_after_longer_than_the_backoff_is_honoured() -> None:
    assert failure_backoff(1, bounds=BOUNDS, retry_after=timedelta(hours=2)) == timedelta(hours=2)


def test_retry_after_shorter_than_the_backoff_does_not_shorten_it() -> None:
    assert failure_backoff(3, bounds=BOUNDS, retry_after=timedelta(seconds=1)) == timedelta(
        minutes=20
    )


def test_retry_after_beyond_a_week_is_capped() -> None:
    assert failure_backoff(1, bounds=BOUNDS, retry_after=timedelta(days=400)) == MAX_RETRY_AFTER


def test_failing_source_is_never_disabled_and_keeps_its_interval() -> None:
    state = first_poll(now=NOW, bounds=BOUNDS)
    moment = NOW
    for _ in range(1000):
        state = after_failure(state, now=moment, error="HTTP 503", bounds=BOUNDS)
        assert NOW < state.next_poll_at <= moment + BOUNDS.max_interval
        moment = state.next_poll_at
    assert state.consecutive_failures == 1000
    assert state.failing_since == NOW
    assert state.interval == HALF_HOUR


def test_status_of_a_failing_source_says_since_when_why_and_next_try() -> None:
    state = first_poll(now=NOW, bounds=BOUNDS)
    state = after_failure(state, now=NOW, error="HTTP 503", bounds=BOUNDS)
    assert status_text(state) == (
        "failing since 2026-03-01 12:00 UTC: HTTP 503, next try at 2026-03-01 12:05 UTC"
    )
    later = NOW + timedelta(minutes=5)
    state = after_failure(
        state, now=later, error="HTTP 503", bounds=BOUNDS, retry_after=timedelta(hours=1)
    )
    assert status_text(state) == (
        "failing since 2026-03-01 12:00 UTC: HTTP 503 (2 failures in a row), "
        "next try at 2026-03-01 13:05 UTC"
    )


def test_status_of_a_healthy_source_says_when_it_is_polled_next() -> None:
    state = after_success(
        first_poll(now=NOW, bounds=BOUNDS), now=NOW, new_items=1, known_items=9, bounds=BOUNDS
    )
    assert status_text(state) == "ok, next poll at 2026-03-01 12:30 UTC"


# ---------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("120", timedelta(seconds=120)),
        (" 0 ", timedelta(0)),
        ("Sun, 01 Mar 2026 12:30:00 GMT", timedelta(minutes=30)),  # IMF-fixdate
        ("Sunday, 01-Mar-26 12:30:00 GMT", timedelta(minutes=30)),  # obsolete RFC 850
        ("Sun Mar  1 12:30:00 2026", timedelta(minutes=30)),  # obsolete asctime
        ("Sun, 01 Mar 2026 11:00:00 GMT", timedelta(0)),  # in the past: no wait
    ],
)
def test_retry_after_is_read_in_seconds_and_in_http_date_forms(
    header: str, wait: timedelta
) -> None:
    assert parse_retry_after(header, now=NOW) == wait


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "1.5"])
def test_unreadable_retry_after_is_none(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None
