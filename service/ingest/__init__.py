from service.ingest.accept import (
    AcceptedArticle,
    IdempotencyConflict,
    IngestGuards,
    InvalidArticle,
    NewArticle,
    TaskQueue,
    TooBusy,
    accept_articles,
    enqueue_accepted,
    record_articles,
)
from service.ingest.guards import BacklogCounter, RateLimiter

__all__ = [
    "AcceptedArticle",
    "BacklogCounter",
    "IdempotencyConflict",
    "IngestGuards",
    "InvalidArticle",
    "NewArticle",
    "RateLimiter",
    "TaskQueue",
    "TooBusy",
    "accept_articles",
    "enqueue_accepted",
    "record_articles",
]
