"""Tests leave nothing to the next: the `service` fixture waits until the workers have finished
every message of the test before it empties the tables, and article ids are never reused, so a
late message can never land on a later test's article."""

from __future__ import annotations

from ops.stack import LocalStack
from tests.integration.conftest import empty_service
from tests.integration.helpers import (
    ServiceClient,
    celery_control,
    queued_and_unacknowledged,
    scalar,
    synthetic_article,
    worker_tasks,
)


def test_emptying_the_service_waits_for_the_workers_and_never_reuses_ids(
    service: ServiceClient, stack: LocalStack
) -> None:
    ids = service.post_batch([{"text": synthetic_article(90_000 + i)} for i in range(100)])
    assert sum(queued_and_unacknowledged(stack.redis_url)) > 0, "the batch was done already"

    empty_service(stack)

    with celery_control(stack.redis_url) as app:
        tasks = worker_tasks(app, nodes=1)
    assert tasks.running == []
    assert queued_and_unacknowledged(stack.redis_url) == (0, len(tasks.deferred))
    assert scalar(service.database_url, "SELECT count(*) FROM articles") == 0
    assert service.post(text=synthetic_article(90_100)) > max(ids)
