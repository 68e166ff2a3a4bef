"""The fetch step when a site says "not now", called directly against PostgreSQL: waiting for
the host's turn costs the article no attempt however often it happens, while an unreadable
robots.txt counts each try and ends the article failed, saying why, instead of deferring it
forever. The site's answers come from a stand-in PoliteClient; the database is real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.fetching.polite import NotNow, RobotsUnreachable
from service.processing import MAX_ATTEMPTS, StepOutcome, fetch_article
from tests.integration.conftest import Backends
from tests.integration.own_database import own_database

UNREACHABLE = RobotsUnreachable("robots.txt unreachable (HTTP 503): no fetches for now", 900.0)


class AnsweringClient:
    """Answers every fetch with the same refusal, as robots.txt or the gate would."""

    def __init__(self, answer: NotNow | RobotsUnreachable) -> None:
        self.answer = answer

    def fetch(self, url: str) -> NotNow | RobotsUnreachable:
        return self.answer


@pytest.fixture(scope="module")
def sessions(backends: Backends) -> Iterator[sessionmaker[Session]]:
    with own_database(backends, "newsdedup_test_fetch_step") as factory:
        yield factory


def queued_article(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        article_id = session.execute(
            text("INSERT INTO articles (url) VALUES ('https://news.example/a') RETURNING id")
        ).scalar_one()
        session.commit()
    return int(article_id)


def state(sessions: sessionmaker[Session], article_id: int) -> tuple[str, int, str | None]:
    with sessions() as session:
        row = session.execute(
            text(
                "SELECT status, attempts, error, fetch_not_before > now() + interval '10 minutes' "
                "FROM articles WHERE id = :id"
            ),
            {"id": article_id},
        ).one()
    return str(row[0]), int(row[1]), row[2]


def test_waiting_for_the_host_s_turn_never_uses_up_attempts(
    sessions: sessionmaker[Session],
) -> None:
    article_id = queued_article(sessions)
    client = AnsweringClient(NotNow(1.5, "politeness gate for news.example"))
    results = [
        fetch_article(article_id, session_factory=sessions, client=client)  # type: ignore[arg-type]
        for _ in range(3 * MAX_ATTEMPTS)
    ]

    assert {(r.outcome, r.retry_in_s) for r in results} == {(StepOutcome.DEFERRED, 1.5)}
    assert state(sessions, article_id) == ("queued", 0, None)


def test_an_unreadable_robots_txt_is_tried_max_attempts_times_then_the_article_fails(
    sessions: sessionmaker[Session],
) -> None:
    article_id = queued_article(sessions)
    client = AnsweringClient(UNREACHABLE)
    results = [
        fetch_article(article_id, session_factory=sessions, client=client)  # type: ignore[arg-type]
        for _ in range(MAX_ATTEMPTS)
    ]

    assert [r.outcome for r in results[:-1]] == [StepOutcome.DEFERRED] * (MAX_ATTEMPTS - 1)
    assert all(r.retry_in_s == 900.0 for r in results[:-1])
    assert results[-1].outcome == StepOutcome.FAILED
    status, attempts, error = state(sessions, article_id)
    assert (status, attempts) == ("failed", MAX_ATTEMPTS)
    assert error == f"robots.txt unreachable after {MAX_ATTEMPTS} tries: {UNREACHABLE.reason}"
