"""When to poll a source next: pure arithmetic on its state, no clock, no database.

Design notes (stage 2 stores ``PollState``'s fields as columns on the source row and calls
``after_success`` / ``after_failure`` with the poll's outcome):

- **Adaptive interval.** A feed is a window on the newest items. When most of a poll's items
  are new, items may have scrolled out of the window unseen since the last poll, so the
  interval halves. When almost none are new (under one in ten), the poll mostly re-reads what
  we have, so it grows by half. In between it stays. Growing slower than shrinking means a
  source that wakes up is caught within a poll or two, while a quiet one backs off gradually
  (30 min to 24 h takes 10 quiet polls, about two and a half days). The interval stays within
  the bounds. A poll that lists nothing at all counts as quiet.
- **Failures.** Each consecutive failure doubles the wait from the minimum interval up to the
  maximum (5 min, 10, 20 ... then 24 h after nine failures). A Retry-After from the server is
  honoured when longer (RFC 9110 §10.2.3), up to ``MAX_RETRY_AFTER`` so a hostile or mistyped
  date cannot park a source for years. The adaptive interval is kept through failures, so a
  recovered source resumes its old rhythm.
- **Never silently disabled.** A failing source always has a next try, at most the maximum
  interval away (or the Retry-After the server asked for), and its status says since when it
  fails, why, and when it is tried next. Turning a source off is a person's decision.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# More than half of the items new: the window may have scrolled past unseen items.
BUSY_SHARE = 0.5
# Fewer than one item in ten new: the poll mostly re-reads known items.
QUIET_SHARE = 0.1
FASTER = 0.5  # a busy poll halves the interval
SLOWER = 1.5  # a quiet poll lengthens it by half: back off slower than we catch up
# A Retry-After longer than a week is more likely a mistake than a plan; a week is long
# enough for any real maintenance and short enough that the status shows it to someone.
MAX_RETRY_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class PollBounds:
    """The application builds these from its settings; the defaults are theirs."""

    min_interval: timedelta = timedelta(minutes=5)
    max_interval: timedelta = timedelta(hours=24)
    default_interval: timedelta = timedelta(minutes=30)

    def clamp(self, interval: timedelta) -> timedelta:
        return max(self.min_interval, min(self.max_interval, interval))


@dataclass(frozen=True)
class PollState:
    """What the scheduler keeps per source between polls."""

    interval: timedelta  # the adaptive interval between successful polls
    next_poll_at: datetime
    consecutive_failures: int = 0
    failing_since: datetime | None = None  # first failure of the current run of failures
    last_error: str | None = None  # e.g. "HTTP 503", "not a feed or sitemap: an HTML page"

    @property
    def failing(self) -> bool:
        return self.consecutive_failures > 0


def first_poll(*, now: datetime, bounds: PollBounds) -> PollState:
    """A new source: polled at once, then at the default interval until it shows its pace."""
    return PollState(interval=bounds.default_interval, next_poll_at=now)


def next_interval(
    interval: timedelta, *, new_items: int, known_items: int, bounds: PollBounds
) -> timedelta:
    """The interval after a successful poll that found ``new_items`` and ``known_items``."""
    total = new_items + known_items
    share_new = new_items / total if total else 0.0
    if share_new > BUSY_SHARE:
        interval = interval * FASTER
    elif share_new < QUIET_SHARE:
        interval = interval * SLOWER
    return bounds.clamp(interval)


def failure_backoff(
    consecutive_failures: int, *, bounds: PollBounds, retry_after: timedelta | None = None
) -> timedelta:
    """How long to wait after the ``consecutive_failures``-th failure in a row (1 = first)."""
    doublings = max(0, consecutive_failures - 1)
    # Cap the exponent before computing: 2 ** 10,000 failures is a big number for no gain.
    factor = 1 << min(doublings, 32)
    backoff = min(bounds.max_interval, bounds.min_interval * factor)
    if retry_after is not None:
        backoff = max(backoff, min(retry_after, MAX_RETRY_AFTER))
    return backoff


def after_success(
    state: PollState, *, now: datetime, new_items: int, known_items: int, bounds: PollBounds
) -> PollState:
    interval = next_interval(
        state.interval, new_items=new_items, known_items=known_items, bounds=bounds
    )
    return PollState(interval=interval, next_poll_at=now + interval)


def after_failure(
    state: PollState,
    *,
    now: datetime,
    error: str,
    bounds: PollBounds,
    retry_after: timedelta | None = None,
) -> PollState:
    failures = state.consecutive_failures + 1
    wait = failure_backoff(failures, bounds=bounds, retry_after=retry_after)
    return replace(
        state,
        next_poll_at=now + wait,
        consecutive_failures=failures,
        failing_since=state.failing_since or now,
        last_error=error,
    )


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """A Retry-After header as a wait: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).

    None when absent or unreadable; a date in the past is no wait.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" or an obsolete zone: HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(timedelta(0), when - now)


def status_text(state: PollState) -> str:
    """What a person sees on the source: "ok, next poll at …" or
    "failing since …: HTTP 503, next try at …"."""
    next_at = _shown(state.next_poll_at)
    if not state.failing:
        return f"ok, next poll at {next_at}"
    since = _shown(state.failing_since) if state.failing_since else "?"
    failures = state.consecutive_failures
    tries = f" ({failures} failures in a row)" if failures > 1 else ""
    return f"failing since {since}: {state.last_error}{tries}, next try at {next_at}"


def _shown(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
