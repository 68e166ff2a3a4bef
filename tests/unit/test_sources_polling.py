"""The pure parts of a poll: a user-set interval against the adaptive schedule, and the
progress a deferred poll carries in its message."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from service.settings import Settings
from service.sources.polling import PollProgress, PollSettings, bounds_for
from service.sources.schedule import PollState, after_failure, after_success

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOUNDS = PollSettings.from_settings(Settings.model_construct()).bounds
HOUR = timedelta(hours=1)


def test_a_user_set_interval_holds_however_busy_or_quiet_the_source_is() -> None:
    state = PollState(interval=HOUR, next_poll_at=NOW)
    pinned = bounds_for(3600, BOUNDS, failing=False)

    busy = after_success(state, now=NOW, new_items=50, known_items=0, bounds=pinned)
    quiet = after_success(state, now=NOW, new_items=0, known_items=50, bounds=pinned)

    assert busy.interval == quiet.interval == HOUR
    assert busy.next_poll_at == NOW + HOUR


def test_a_source_with_a_user_set_interval_still_backs_off_when_it_fails() -> None:
    state = PollState(interval=HOUR, next_poll_at=NOW, consecutive_failures=3)
    failed = after_failure(
        state, now=NOW, error="HTTP 503", bounds=bounds_for(3600, BOUNDS, failing=True)
    )

    assert failed.next_poll_at == NOW + 8 * HOUR  # the fourth failure in a row: 2^3 intervals
    capped = after_failure(
        PollState(interval=HOUR, next_poll_at=NOW, consecutive_failures=20),
        now=NOW,
        error="HTTP 503",
        bounds=bounds_for(3600, BOUNDS, failing=True),
    )
    assert capped.next_poll_at == NOW + BOUNDS.max_interval


def test_without_a_user_set_interval_the_service_bounds_apply() -> None:
    assert bounds_for(None, BOUNDS, failing=False) == BOUNDS
    assert bounds_for(None, BOUNDS, failing=True) == BOUNDS


def test_a_deferred_poll_s_progress_survives_the_trip_through_a_json_message() -> None:
    progress = PollProgress(
        fetch_id=7,
        children=["https://example.com/sitemap-2.xml"],
        documents=2,
        items=40,
        new_items=12,
        known_items=28,
        parsed=2,
        children_read=1,
        http_status=200,
        notes=["malformed sitemap, kept what could be read: ..."],
        document_kind="sitemap index",
    )

    assert PollProgress.from_json(json.loads(json.dumps(progress.to_json()))) == progress
    assert PollProgress.from_json(None) == PollProgress()


def test_source_documents_may_be_as_large_as_the_document_caps_allow() -> None:
    settings = Settings.model_construct()
    poll = PollSettings.from_settings(settings)
    assert poll.policy.max_bytes == settings.source_max_sitemap_bytes
    assert poll.policy.user_agent == settings.fetch_user_agent


def test_a_poll_lease_the_task_could_outlive_is_refused() -> None:
    with pytest.raises(ValidationError, match="source_poll_lease_s must exceed"):
        Settings(source_poll_lease_s=60)
