"""Schemathesis against the live OpenAPI spec of the running stack.

Every operation the API publishes gets generated requests, valid and invalid (Schemathesis'
examples, coverage and fuzzing phases), sent to the real API backed by PostgreSQL, Redis and the
workers. Each answer must not be a 5xx, must use a status code the spec documents for that
operation, and must have a body that conforms to the documented schema for that code. 429
(rate limit, backlog bound) is documented on the ingest routes, so tripping it is fine.

Hypothesis is derandomized so CI sees the same cases every run; the cases actually sent are
counted, and the test fails unless at least MIN_TOTAL_CASES were.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from requests.adapters import HTTPAdapter
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ops.stack import LocalStack
from tests.integration.conftest import empty_service

MIN_TOTAL_CASES = 1_000
# Generated examples per operation (the coverage phase adds its own deterministic cases on top).
# Operations without parameters (healthz, metrics) exhaust their space after a few cases, so the
# others carry the total.
EXAMPLES_PER_OPERATION = 170
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Loopback, and not the 127.0.0.1 other tests post from: the API keeps a token bucket per client
# address for as long as it runs, and the fuzzing empties its bucket.
FUZZING_CLIENT = "127.0.0.3"


@pytest.fixture
def api_schema(stack: LocalStack) -> schemathesis.BaseSchema:
    # A fresh corpus, so earlier tests' backlog does not push every ingest case into 429.
    empty_service(stack)
    return schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")


class FromAddress(HTTPAdapter):
    """Connections from one local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs, source_address=(self.address, 0))


@pytest.fixture
def http_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.mount("http://", FromAddress(FUZZING_CLIENT))
        yield session


@pytest.fixture
def sent(stack: LocalStack) -> Iterator[dict[str, Counter[int]]]:
    """The statuses of the cases the test sends, by operation. After the test: at least
    MIN_TOTAL_CASES were sent, some articles accepted and stories listed, and the API is still
    healthy."""
    statuses: dict[str, Counter[int]] = {}
    yield statuses
    total = sum(n for counts in statuses.values() for n in counts.values())
    summary = "\n".join(
        f"  {label}: {sum(counts.values())} cases, statuses {dict(sorted(counts.items()))}"
        for label, counts in sorted(statuses.items())
    )
    print(f"\nschemathesis sent {total} cases:\n{summary}")
    assert total >= MIN_TOTAL_CASES, f"only {total} cases were sent:\n{summary}"
    # Not only refusals: some generated articles were accepted and some stories listed.
    assert statuses["POST /articles"][202] > 0, summary
    assert statuses["GET /stories"][200] > 0, summary
    assert httpx.get(f"{stack.api_url}/healthz", timeout=10).status_code == 200


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
def test_every_operation_answers_within_its_schema(
    case: schemathesis.Case[Any],
    http_session: requests.Session,
    sent: dict[str, Counter[int]],
) -> None:
    response = case.call(session=http_session, timeout=30)
    sent.setdefault(case.operation.label, Counter())[response.status_code] += 1
    case.validate_response(response, checks=CHECKS)
