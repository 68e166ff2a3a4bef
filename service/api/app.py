"""The FastAPI app: thin routes that validate, call a service function and map domain errors."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException

from service import metrics
from service.api import instrumentation, pages
from service.api.routes import router
from service.fetching import FetchPolicy
from service.ingest import BacklogCounter, IngestGuards, RateLimiter, TaskQueue, TooBusy
from service.settings import get_settings
from service.sources.subscriptions import PollScheduler

log = logging.getLogger(__name__)

# Clients should come back after about as long as a PostgreSQL restart takes.
DATABASE_RETRY_AFTER_S = 5

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodySizeLimit:
    """Refuse bodies over the configured size with 413, whether or not they declare a length,
    before the JSON parser ever holds them in memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(send)
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException, because FastAPI turns any other exception raised while
                    # it reads the body into "400 There was an error parsing the body"; this
                    # one it re-raises, and the app answers it as the 413 it is.
                    raise _BodyTooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:  # raised where no exception handler sees it
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse({"detail": _BodyTooLarge(self.max_bytes).detail}, status_code=413)
        await response({"type": "http"}, _no_receive, send)


class _BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body exceeds {max_bytes} bytes")


class _RepairingJSONResponse(JSONResponse):
    """JSON that may echo hostile input (validation errors quote it): a lone surrogate, which
    UTF-8 cannot encode, becomes "?" instead of failing the response with a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode("utf-8", errors="replace")


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(
    *,
    task_queue: TaskQueue,
    poll_scheduler: PollScheduler | None = None,
    queue_depths: Callable[[], dict[str, int]] | None = None,
) -> FastAPI:
    """The API, sending accepted work to `task_queue` and asking `poll_scheduler` to poll
    sources that are due now (Celery for both in production: ops/asgi.py; without a scheduler,
    new and nudged sources wait for the scheduler's next tick). `queue_depths`, read at each
    scrape of /metrics, says how many messages wait per queue."""
    settings = get_settings()
    if not metrics.multiprocess_dir():
        log.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: /metrics counts this API process only, "
            "not the workers"
        )
    app = FastAPI(
        title="newsdedup",
        version="0.1.0",
        description=(
            "Deduplicating news ingest: post articles or URLs, read stories of near-duplicates."
        ),
    )
    app.state.task_queue = task_queue
    app.state.queue_depths = queue_depths
    app.state.poll_scheduler = poll_scheduler
    app.state.ingest_guards = IngestGuards(
        fetch_policy=FetchPolicy.from_settings(settings),
        rate_limiter=RateLimiter(
            settings.rate_limit_articles_per_s, settings.rate_limit_burst_articles
        ),
        backlog=BacklogCounter(settings.backlog_count_max_age_s),
        max_backlog=settings.max_backlog,
    )
    app.include_router(router)
    app.include_router(instrumentation.router)
    pages.install(app)

    # Only connection-level errors mean "the database is away": those get 503 and Retry-After.
    # Other database errors are bugs or bad data and must not be disguised as outages.
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return JSONResponse(
            {"detail": "database unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer, rendered so that quoting the bad input can never fail.
        return _RepairingJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)

    @app.exception_handler(TooBusy)
    async def too_busy(request: Request, exc: TooBusy) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.reason},
            status_code=429,
            headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))},
        )

    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Outermost, so that it also counts what the body limit refuses.
    app.add_middleware(instrumentation.RequestMetrics)
    return app
