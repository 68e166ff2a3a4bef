"""The "sources and politeness" settings: defaults that hold together, refusals that keep them
so, and the domain's value objects defaulting to the same numbers."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from service.fetching.politeness import PolitenessRules
from service.fetching.robots import RobotsCacheTimes
from service.settings import BROKER_VISIBILITY_TIMEOUT_S, Settings
from service.sources import DocumentLimits
from service.sources.schedule import PollBounds


def test_default_user_agent_names_our_product_token_and_a_contact_url() -> None:
    settings = Settings()
    assert settings.robots_product_token == "newsdedup"
    assert "(+https://" in settings.fetch_user_agent


def test_countdown_and_task_limit_stay_below_the_visibility_timeout() -> None:
    settings = Settings()
    assert (
        settings.politeness_max_countdown_s + settings.task_time_limit_s
        < BROKER_VISIBILITY_TIMEOUT_S
    )


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"fetch_user_agent": "(+https://n.example)"}, "product token"),
        ({"fetch_user_agent": "newsdedup/1.0"}, "contact URL"),
        ({"source_poll_min_interval_s": 7200}, "min <= default <= max"),
        ({"robots_cache_ttl_s": 2 * 86_400}, "RFC 9309"),
        ({"robots_error_ttl_s": 90_000, "robots_cache_ttl_s": 3600}, "robots_error_ttl_s"),
        ({"politeness_slot_lease_s": 10}, "politeness_slot_lease_s must exceed"),
        ({"robots_fetch_claim_s": 5}, "robots_fetch_claim_s must exceed"),
        ({"politeness_max_countdown_s": 3500}, "visibility timeout"),
    ],
)
def test_settings_that_do_not_hold_together_are_refused(
    overrides: dict[str, object], why: str
) -> None:
    with pytest.raises(ValidationError, match=why):
        Settings(**overrides)  # type: ignore[arg-type]


def test_value_objects_default_to_the_settings_defaults() -> None:
    # The declared defaults, whatever this environment overrides.
    settings = Settings.model_construct()
    assert DocumentLimits() == DocumentLimits(
        max_items=settings.source_max_items_per_document,
        max_feed_bytes=settings.source_max_feed_bytes,
        max_sitemap_bytes=settings.source_max_sitemap_bytes,
    )
    assert PollBounds() == PollBounds(
        min_interval=timedelta(seconds=settings.source_poll_min_interval_s),
        max_interval=timedelta(seconds=settings.source_poll_max_interval_s),
        default_interval=timedelta(seconds=settings.source_poll_default_interval_s),
    )
    assert RobotsCacheTimes() == RobotsCacheTimes(
        ttl_s=settings.robots_cache_ttl_s,
        error_ttl_s=settings.robots_error_ttl_s,
        fetch_claim_s=settings.robots_fetch_claim_s,
    )
    defaults = PolitenessRules()
    assert defaults == PolitenessRules(
        min_interval_s=settings.politeness_min_interval_s,
        max_crawl_delay_s=settings.politeness_max_crawl_delay_s,
        max_in_flight=settings.politeness_max_in_flight,
        slot_lease_s=settings.politeness_slot_lease_s,
        max_countdown_s=settings.politeness_max_countdown_s,
        full_retry_s=defaults.full_retry_s,
    )
