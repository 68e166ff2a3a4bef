"""The API as uvicorn runs it: the FastAPI app wired to Celery. The composition root lives here,
outside service/, so the domain and its HTTP shell know nothing of Celery."""

from __future__ import annotations

from fastapi import FastAPI

from service.api.app import create_app as create_service_app
from workers.tasks import CeleryTaskQueue


def create_app() -> FastAPI:
    queue = CeleryTaskQueue()
    return create_service_app(task_queue=queue, poll_scheduler=queue)
