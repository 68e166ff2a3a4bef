from service.ingest.accept import (
    AcceptedArticle,
    NewArticle,
    TaskQueue,
    enqueue_accepted,
    record_articles,
)

__all__ = ["AcceptedArticle", "NewArticle", "TaskQueue", "enqueue_accepted", "record_articles"]
