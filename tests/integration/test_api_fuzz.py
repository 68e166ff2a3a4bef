"""Schemathesis against the live OpenAPI spec of the running stack.

Every operation the API publishes gets generated requests, valid and invalid (Schemathesis'
examples, coverage and fuzzing phases), sent to the real API backed by PostgreSQL, Redis and the
workers. Each answer must not be a 5xx, must use a status code the spec documents for that
operation, and must have a body that conforms to the documented schema for that code. 429
(rate limit, backlog bound) is documented on the ingest routes, so tripping it is fine.

Hypothesis is derandomized so CI sees the same cases every run; the cases actually sent are
counted and the last test asserts that at least MIN_TOTAL_CASES were.
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
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import Stack, redis_client, truncate_all

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

cases_by_operation: Counter[str] = Counter()
statuses_by_operation: dict[str, Counter[int]] = {}


@pytest.fixture(scope="module")
def api_schema(stack: Stack) -> schemathesis.BaseSchema:
    # A fresh corpus, so earlier tests' backlog does not push every ingest case into 429.
    redis_client(stack.redis_url).flushdb()
    truncate_all(stack.database_url)
    return schemathesis.openapi.from_url(f"{stack.api_url}/openapi.json")


@pytest.fixture(scope="module")
def http_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


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
    case: schemathesis.Case[Any], http_session: requests.Session
) -> None:
    label = case.operation.label
    response = case.call(session=http_session, timeout=30)
    cases_by_operation[label] += 1
    statuses_by_operation.setdefault(label, Counter())[response.status_code] += 1
    case.validate_response(response, checks=CHECKS)


def test_fuzzing_sent_at_least_a_thousand_cases(stack: Stack) -> None:
    """Runs after the parametrized test above (pytest keeps file order)."""
    total = sum(cases_by_operation.values())
    summary = "\n".join(
        f"  {label}: {n} cases, statuses {dict(sorted(statuses_by_operation[label].items()))}"
        for label, n in sorted(cases_by_operation.items())
    )
    print(f"\nschemathesis sent {total} cases:\n{summary}")
    assert total >= MIN_TOTAL_CASES, f"only {total} cases were sent:\n{summary}"
    # Not only refusals: some generated articles were accepted and some stories listed.
    assert statuses_by_operation["POST /articles"][202] > 0, summary
    assert statuses_by_operation["GET /stories"][200] > 0, summary
    # The service is still healthy after the onslaught.
    assert httpx.get(f"{stack.api_url}/healthz", timeout=10).status_code == 200
