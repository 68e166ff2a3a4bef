"""The Celery app: Redis broker, acks-late, one message at a time, time limits under the
broker's visibility timeout. Results are not stored: PostgreSQL holds every article's state."""

from __future__ import annotations

import os
from typing import Any

import redis
from celery import Celery, signals
from kombu.entity import Queue
from kombu.transport.redis import PRIORITY_STEPS, Channel

from service import metrics
from service.processing import warm_up
from service.redis_client import broker_url
from service.settings import BROKER_VISIBILITY_TIMEOUT_S, get_settings

FETCH_QUEUE = "fetch"  # I/O bound: many concurrent slots pay off
PROCESS_QUEUE = "process"  # CPU bound: one slot per core

# Redis redelivers an unacknowledged message after BROKER_VISIBILITY_TIMEOUT_S (1 h); every task
# limit is far below it so a slow task is never delivered twice while still running.


def create_celery_app() -> Celery:
    settings = get_settings()
    app = Celery(
        "newsdedup",
        broker=broker_url(settings.redis_url),
        include=["workers.tasks"],
    )
    app.conf.update(
        task_acks_late=True,
        # A task whose worker process died is re-queued instead of acknowledged.
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_soft_time_limit=settings.task_soft_time_limit_s,
        task_time_limit=settings.task_time_limit_s,
        broker_transport_options={"visibility_timeout": BROKER_VISIBILITY_TIMEOUT_S},
        broker_connection_retry_on_startup=True,
        # The API enqueues after commit; if Redis is away it must answer quickly and leave the
        # article to the sweeper rather than hold the request in publish retries.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        # Keep retrying the broker forever: a Redis restart must not kill the workers.
        broker_connection_max_retries=None,
        task_queues=(Queue(FETCH_QUEUE), Queue(PROCESS_QUEUE)),
        task_default_queue=PROCESS_QUEUE,
        task_routes={
            "newsdedup.fetch_article": {"queue": FETCH_QUEUE},
            "newsdedup.process_article": {"queue": PROCESS_QUEUE},
            "newsdedup.process_articles": {"queue": PROCESS_QUEUE},
            "newsdedup.sweep_stale_articles": {"queue": PROCESS_QUEUE},
            "newsdedup.poll_due_sources": {"queue": FETCH_QUEUE},
            "newsdedup.poll_source": {"queue": FETCH_QUEUE},
        },
        beat_schedule={
            "sweep-stale-articles": {
                "task": "newsdedup.sweep_stale_articles",
                "schedule": float(settings.sweep_interval_s),
            },
            "poll-due-sources": {
                "task": "newsdedup.poll_due_sources",
                "schedule": float(settings.source_schedule_interval_s),
            },
        },
        worker_hijack_root_logger=False,
    )
    return app


app = create_celery_app()


@signals.worker_init.connect
def warm_up_before_fork(**_: object) -> None:
    """Runs in the main worker process before the pool forks: children inherit a warm
    extractor (instead of each paying ~0.4 s on its first page) and the encoder's memory-mapped
    model and key directions, shared by every pool process (one OpenMP thread, so the forked
    children can embed)."""
    warm_up(get_settings())


@signals.task_retry.connect
def count_retry(sender: Any = None, **_: object) -> None:
    metrics.TASK_RETRIES.labels(getattr(sender, "name", None) or "unknown").inc()


@signals.worker_process_shutdown.connect
def forget_pool_process(pid: int | None = None, **_: object) -> None:
    """A pool process is exiting: its live gauges leave /metrics' sums (its counts stay)."""
    metrics.mark_process_dead(pid or os.getpid())


@signals.worker_shutdown.connect
def forget_main_process(**_: object) -> None:
    metrics.mark_process_dead(os.getpid())


def _queue_keys(queue: str) -> list[str]:
    """The Redis lists that hold a queue's messages, named as kombu's Redis transport names them
    (Channel._q_for_pri): the queue's name, and one list per priority step above 0."""
    return [queue if step == 0 else f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS]


def queue_depths(client: redis.Redis[bytes]) -> dict[str, int]:
    """Messages waiting in each queue (not those a worker holds unacknowledged), for /metrics."""
    with client.pipeline(transaction=False) as pipe:
        for queue in (FETCH_QUEUE, PROCESS_QUEUE):
            for key in _queue_keys(queue):
                pipe.llen(key)
        lengths = iter(pipe.execute())
    return {
        queue: sum(next(lengths) for _ in PRIORITY_STEPS) for queue in (FETCH_QUEUE, PROCESS_QUEUE)
    }
