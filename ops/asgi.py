"""The API as uvicorn runs it: the FastAPI app wired to Celery. The composition root lives here,
outside service/, so the domain and its HTTP shell know nothing of Celery."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from service.api.app import create_app as create_service_app
from service.redis_client import redis_client
from service.settings import get_settings
from workers.celery_app import queue_depths
from workers.tasks import CeleryTaskQueue


def create_app() -> FastAPI:
    queue = CeleryTaskQueue()
    return create_service_app(
        task_queue=queue,
        poll_scheduler=queue,
        queue_depths=partial(queue_depths, redis_client(get_settings().redis_url)),
    )
