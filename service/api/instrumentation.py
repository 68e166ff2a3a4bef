"""GET /metrics, and the middleware that counts and times every request by its route template."""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from service import metrics
from service.api.routes import SessionDep
from service.sources import views
from service.stories import queries

log = logging.getLogger(__name__)

# The classic text format, which every Prometheus (2 and 3) and compatible scraper reads; with
# our ASCII names it is the same text as prometheus_client's newer 1.0.0 label.
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# The route label of a request no route handled: one value, whatever the path was.
UNMATCHED_ROUTE = "<unmatched>"

router = APIRouter()


@router.get(
    "/metrics",
    tags=["ops"],
    response_class=Response,
    responses={200: {"content": {METRICS_CONTENT_TYPE: {}}}},
)
def prometheus_metrics(request: Request, session: SessionDep) -> Response:
    """Prometheus text format: requests, article outcomes, stage latencies, poll outcomes from
    every API and worker process; backlog, sources by status and queue depth read now. JSON
    counts are at /stats."""
    state = metrics.StateCollector(
        backlog=lambda: queries.backlog(session),
        sources=lambda: views.count_by_status(session),
        queue_depths=request.app.state.queue_depths,
    )
    return Response(metrics.exposition(state), media_type=METRICS_CONTENT_TYPE)


def route_template(scope: dict[str, Any]) -> str:
    """The path template of the route that handled the request, such as
    "/articles/{article_id}": never the raw path, which would make one series per id. A request
    no route handled (a 404, a body refused before routing) is UNMATCHED_ROUTE."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    # A mounted app (the stylesheet's StaticFiles) leaves no route in the scope; the Mount that
    # handed it the request extended root_path by its prefix.
    root_path = str(scope.get("root_path", ""))
    app_root_path = str(scope.get("app_root_path", root_path))
    if root_path != app_root_path and root_path.startswith(app_root_path):
        return root_path[len(app_root_path) :] + "/{path}"
    return UNMATCHED_ROUTE


class RequestMetrics:
    """Pure ASGI middleware (no response buffering): counts and times every HTTP request.

    A request is recorded as its last body chunk is handed to the server, before the client can
    have the whole response: a client that then scrapes /metrics finds its request counted (the
    request's own clean-up, such as closing its database session, comes after)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500  # if the app raises before answering, the server answers 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            try:
                metrics.record_request(
                    scope["method"], route_template(scope), status, perf_counter() - started
                )
            except Exception:  # counting must never cost the client its answer
                log.exception("request not counted")

        async def send_and_record(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                record()
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            record()  # no complete response: an error, or the client went away
