"""Claiming due sources in PostgreSQL: concurrent schedulers never claim one source twice
(FOR UPDATE SKIP LOCKED), a crashed poll's lease runs out and the source is claimed again, and
a poll whose claim was taken over writes nothing. Against a database of its own, so that the
shared stack's scheduler never claims these sources."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.repositories import polled_sources as repo
from service.repositories.polled_sources import PollResultRow
from tests.integration.conftest import Backends
from tests.integration.own_database import own_database

LEASE_S = 600


@pytest.fixture(scope="module")
def sessions(backends: Backends) -> Iterator[sessionmaker[Session]]:
    with own_database(backends, "newsdedup_test_claims") as factory:
        yield factory


@pytest.fixture
def due_sources(sessions: sessionmaker[Session]) -> list[int]:
    """Twenty sources, all due, the first the most overdue."""
    now = datetime.now(UTC)
    with sessions() as session:
        session.execute(text("TRUNCATE sources RESTART IDENTITY CASCADE"))
        ids = [
            repo.insert_source(
                session,
                url=f"https://news{n}.example/feed.xml",
                kind="auto",
                pinned_interval_s=None,
                interval_s=1800,
                next_poll_at=now - timedelta(minutes=60 - n),
            )
            for n in range(20)
        ]
        session.commit()
    return [i for i in ids if i is not None]


def test_two_schedulers_claiming_at_once_never_claim_one_source_twice(
    sessions: sessionmaker[Session], due_sources: list[int]
) -> None:
    first, second = sessions(), sessions()
    claimed_first = repo.claim_due(first, limit=10, lease_s=LEASE_S)  # rows locked, uncommitted
    claimed_second = repo.claim_due(second, limit=10, lease_s=LEASE_S)  # skips the locked ones
    first.commit()
    second.commit()
    third = sessions()
    claimed_later = repo.claim_due(third, limit=10, lease_s=LEASE_S)  # all are leased now
    for session in (first, second, third):
        session.close()

    ids_first = [i for i, _ in claimed_first]
    ids_second = [i for i, _ in claimed_second]
    assert sorted(ids_first) == due_sources[:10]  # the most overdue
    assert sorted(ids_second) == due_sources[10:]
    assert claimed_later == []


def test_a_crashed_poll_s_source_is_claimed_again_once_its_lease_runs_out(
    sessions: sessionmaker[Session], due_sources: list[int]
) -> None:
    source_id = due_sources[0]
    with sessions() as session:
        [(claimed_id, old_token)] = repo.claim_due(session, limit=1, lease_s=LEASE_S)
        session.commit()
        assert claimed_id == source_id
        assert repo.claim_due(session, limit=20, lease_s=LEASE_S)[0][0] != source_id
        session.rollback()
        # Its worker died; ten minutes pass.
        session.execute(
            text("UPDATE sources SET lease_until = now() - interval '1 second' WHERE id = :id"),
            {"id": source_id},
        )
        session.commit()
        reclaimed = repo.claim_due(session, limit=1, lease_s=LEASE_S)
        session.commit()
        late = repo.renew_claim(session, source_id, old_token, lease_s=LEASE_S)
        late_finish = repo.finish_poll(
            session,
            source_id,
            old_token,
            PollResultRow(1800, datetime.now(UTC) + timedelta(hours=1), 0, None, None),
        )
        session.commit()

    [(again_id, new_token)] = reclaimed
    assert again_id == source_id and new_token != old_token
    assert late is None and late_finish is False  # the dead poll's message does nothing


def test_claims_from_many_threads_cover_every_due_source_exactly_once(
    sessions: sessionmaker[Session], due_sources: list[int]
) -> None:
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(5)

    def scheduler() -> None:
        with sessions() as session:
            start.wait()
            found = repo.claim_due(session, limit=7, lease_s=LEASE_S)
            session.commit()
        with lock:
            claimed.extend(i for i, _ in found)

    threads = [threading.Thread(target=scheduler) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claimed) == due_sources
