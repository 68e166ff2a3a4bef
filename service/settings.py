"""The one settings object. Every knob is read from the environment with the prefix NEWSDEDUP_.

Each default says why it is what it is; unsafe behaviour (loopback fetches) is off unless set.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Redis hands an unacknowledged message to another worker after this long (the broker's
# visibility_timeout, read from here by workers/celery_app.py). A task deferred with a
# countdown stays unacknowledged while it waits, so countdown + run time must stay below it.
BROKER_VISIBILITY_TIMEOUT_S = 3600


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSDEDUP_", extra="ignore")

    # --- where things live -------------------------------------------------------------
    # Unset means "start embedded servers under data_dir" for `newsdedup up`; the API and
    # workers started on their own require them.
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".newsdedup")

    # --- ingest API --------------------------------------------------------------------
    # 5 MiB holds the largest real article page we have seen (~1.5 MiB) three times over.
    max_body_bytes: int = 5 * 1024 * 1024
    # A batch is one transaction; 1,000 rows commit in well under a second.
    max_batch_articles: int = 1000
    # Past this many accepted-but-unfinished articles the API answers 429: about an hour of
    # work for two workers, and far below what PostgreSQL or Redis would struggle to hold.
    max_backlog: int = 200_000
    # Counting the backlog grows with it, and the bound is soft: count at most once a second.
    backlog_count_max_age_s: float = 1.0
    # Per-client token bucket on the ingest routes, counted in articles: 200/s sustained with
    # bursts of one full batch. 0 disables it.
    rate_limit_articles_per_s: float = 200.0
    rate_limit_burst_articles: float = 2000.0

    # --- fetching ----------------------------------------------------------------------
    # Off by default: loopback is where local admin interfaces live. Lifts only the loopback
    # restriction (127.0.0.0/8, ::1 and names that resolve there) so tests and local demos can
    # fetch from 127.0.0.1; private, link-local and metadata addresses stay refused.
    fetch_allow_loopback: bool = False
    # A healthy server accepts a TCP (and TLS) connection in well under a second; 5 s leaves room
    # for a slow path across the world without tying a worker up on a black hole.
    fetch_connect_timeout_s: float = 5.0
    # Longest silence tolerated between two reads; news CMSs can take a few seconds to render.
    fetch_read_timeout_s: float = 10.0
    # Bound on the whole fetch, redirects included, so a server trickling bytes cannot hold a
    # worker; well under the task time limits below.
    fetch_total_timeout_s: float = 30.0
    # Cap on the decoded body. Article pages are 50 KB-1 MB (the extraction benchmark's largest
    # is about 1.5 MB); 5 MiB leaves room while bounding memory per fetch.
    fetch_max_bytes: int = 5 * 1024 * 1024
    # Browsers allow 20; 5 covers http->https, www and a tracking hop with room to spare.
    fetch_max_redirects: int = 5
    fetch_user_agent: str = "newsdedup/0.1 (+https://github.com/newsdedup)"

    # --- matching ----------------------------------------------------------------------
    # 128 permutations in 64 bands of 2 rows: an S-curve threshold near (1/64)^(1/2) = 0.125,
    # so rewrites whose key-term Jaccard is only 0.2 still collide in a band with p = 0.93.
    # LSH is only the candidate generator; the verification score decides.
    minhash_num_perm: int = 128
    lsh_bands: int = 64
    # How many candidates (most band collisions first) get the sharper verification score. On the
    # dev set 20 finds 149 of the 187 clear same-story pairs (50: 151) with the same F1; at 10k
    # stored it cuts assign_story p50 from 13.7 to 10.2 ms (fewer candidates' terms to weigh).
    max_candidates: int = 20
    # Band rows read per band key, newest first. A key held by more stored articles than this is
    # a common pair of words, not evidence of one story; among its holders the recent ones are
    # the likely variants (a story's copies arrive within days), and an older original is still
    # reached through its rarer bands. At 1M stored it cuts the look-up's p99 from 43 to 5 ms
    # with every near copy's original still found (bench/dedup_scale.py).
    lsh_band_read_limit: int = 100
    # Verification score at or above which two articles are one story, once the corpus holds
    # 1,000 articles (a younger corpus demands more: scoring.effective_threshold). The best
    # dev-set F1 with pairwise precision >= 0.85, simulating the service (bench/eval_offline.py):
    # P 0.85 R 0.43 F1 0.57 (0.84-0.85 between runs, as two workers set the ingest order); 0.55
    # trades precision 0.78-0.80 for far more recall; the best F1 after the fact is at 0.47.
    same_story_threshold: float = 0.76
    # Word 5-shingle Jaccard above which a match is a near copy rather than a rewrite.
    near_copy_jaccard: float = 0.5

    # --- semantic matching (the sentence encoder) ---------------------------------------
    # multilingual-e5-small beside the lexical score: on the dev set it lifts same-story recall
    # at the same precision and links reports across languages. It costs ~54 ms of CPU per
    # article at 48 tokens, which a deployment that cannot pay it switches off here (the
    # lexical score alone then decides, as before).
    semantic_matching: bool = True
    # Tokens of headline + lead the encoder reads. Quality climbs to ~128 tokens and stops,
    # cost grows linearly (~1.1 ms per token): 48 is the longest input that keeps 2 cores at
    # >= 25 articles/s, and 128 (F1 +0.16 on the dev set) lets the seeds' same-topic stories
    # merge. The decision model and the language means are fitted for this length: another
    # needs bench/fit_decision.py first.
    embedding_max_tokens: int = 48
    # Candidates the embedding proposes beyond MinHash's: the 10 sharing the most semantic
    # band keys (16 bands) raised candidate recall of the clear same-story dev pairs from 149
    # to 163 of 187 (bench/eval_offline.py).
    semantic_candidates: int = 10
    # Rows read per semantic band key, newest first. Every semantic cell is "hot" at 1M stored
    # (~1,300 holders each), so it reads fewer than a MinHash key: the 30 newest holders of a
    # cell span ~3 % of the store, where a story's variants (arriving within days) are.
    semantic_band_read_limit: int = 30
    # Two leads citing different original reporters are two stories, whatever else they share
    # (a rule, not a fitted weight: too few dev pairs cite outlets in both leads to fit one).
    attribution_veto: bool = True

    # --- workers -----------------------------------------------------------------------
    # Well under Redis' default visibility_timeout (1 h): a task killed by the limit is
    # redelivered long before the broker would consider it lost.
    task_soft_time_limit_s: int = 90
    task_time_limit_s: int = 120
    # An article queued or processing for longer than this is re-sent by the sweeper.
    sweep_stale_after_s: int = 300
    sweep_interval_s: int = 60
    # Workers commit without waiting for PostgreSQL to flush its log (synchronous_commit=off):
    # +13% raw-text throughput on 2 cores. A database crash can lose only the last fraction of
    # a second of worker commits; those articles fall back to queued/processing and the sweeper
    # sends them again. What the API accepts is always committed synchronously.
    worker_synchronous_commit: bool = False

    # --- sources and politeness --------------------------------------------------------
    # fetch_user_agent (above) says who we are and how to reach us, as site owners read it in
    # their logs: it must start with our product token, which robots.txt groups are matched
    # against (robots_product_token), and carry a contact URL as "(+https://...)".
    # Busy wire feeds publish a few items a minute and list 20-100: polling more often than
    # every 5 min re-reads the same window for items a 5-min poll still catches.
    source_poll_min_interval_s: int = 5 * 60
    # The quietest source is still read daily, and a failing one retried at least daily.
    source_poll_max_interval_s: int = 24 * 3600
    # Where a new source starts until its own pace shows (sources.schedule adapts it).
    source_poll_default_interval_s: int = 30 * 60
    # Google News sitemaps hold at most 1,000 URLs and the busiest feeds a few hundred items;
    # more from one document in one poll is an archive, not news. The newest are kept.
    source_max_items_per_document: int = 1000
    # feedparser holds a whole feed and its parse in memory; real news feeds are under 1 MiB.
    # Measured here: a 4.9 MiB feed of 10,500 items took 2.1 s and 34 MiB to parse.
    source_max_feed_bytes: int = 5 * 1024 * 1024
    # The sitemap protocol's own limit for one uncompressed file (sitemaps.org: 50 MB);
    # sitemaps are parsed as a stream, and it also caps what a .xml.gz may inflate to.
    source_max_sitemap_bytes: int = 50 * 1024 * 1024
    # RFC 9309 §2.4: a cached robots.txt should not be used for more than 24 hours.
    robots_cache_ttl_s: int = 24 * 3600
    # A host whose robots.txt is unreachable is asked again after 15 min: at most 4 requests
    # an hour to a server in trouble, and our fetches resume at most 15 min after it recovers.
    robots_error_ttl_s: int = 15 * 60
    # One worker's claim on fetching a robots.txt; longer than any fetch
    # (fetch_total_timeout_s), so it only runs out when its worker died.
    robots_fetch_claim_s: int = 60
    # One request a second to one host, from all workers together: a common crawler
    # courtesy, and far below what any news site serves to readers.
    politeness_min_interval_s: float = 1.0
    # robots.txt's Crawl-delay widens the interval up to a minute: 1,440 requests a day still
    # cover a large outlet's output; the hour some sites ask for would starve the source.
    politeness_max_crawl_delay_s: float = 60.0
    # Two requests in flight per host, the old HTTP/1.1 advice for one client (RFC 2616
    # §8.1.4): a slow page does not hold up the host's other fetches, and we never pile on.
    politeness_max_in_flight: int = 2
    # A fetch ends within fetch_total_timeout_s (30 s); a slot held for twice that belongs
    # to a worker that died, and is taken back.
    politeness_slot_lease_s: float = 60.0
    # A deferred fetch is re-queued with at most this countdown: 15 min plus the task's time
    # limit stays far below the broker's visibility timeout (1 h), past which it would run
    # twice. A longer wait just meets the gate again.
    politeness_max_countdown_s: float = 15 * 60
    # Celery beat looks for due sources this often ("each minute"): a source is polled at most
    # this late, and the look-up is one indexed query, cheap to repeat.
    source_schedule_interval_s: int = 60
    # Due sources claimed per look-up: one statement and one message each. 500 a minute are
    # 720,000 polls a day, 15,000 sources at the default 30 min; more than that waits a tick.
    source_claim_batch: int = 500
    # A claimed poll not finished within this is taken back and claimed again (its worker
    # died, its message was lost). Above the task's hard time limit, so a running poll is
    # never polled twice; a deferred poll extends its lease by its countdown.
    source_poll_lease_s: int = 10 * 60
    # Child sitemaps fetched per poll of a sitemap index, newest (by lastmod) first: news
    # indexes list the current news sitemap first, and each child costs one request at the
    # host's polite pace; older children are archives, read when their lastmod moves.
    source_max_child_sitemaps_per_poll: int = 5
    # Fetch-log rows kept per source: 100 polls are two days at the default interval, enough
    # to see a pattern, and the table stays bounded at 100 rows per source.
    source_fetch_log_keep: int = 100

    @property
    def robots_product_token(self) -> str:
        """ "newsdedup" of "newsdedup/0.1 (+https://...)": what robots.txt groups name us by."""
        from service.fetching.robots import product_token

        return product_token(self.fetch_user_agent)

    @model_validator(mode="after")
    def _sources_and_politeness_hold_together(self) -> Settings:
        self.robots_product_token  # noqa: B018 - raises if the User-Agent has no product token
        if "(+http" not in self.fetch_user_agent:
            raise ValueError("fetch_user_agent must carry a contact URL: (+https://...)")
        if not (
            self.source_poll_min_interval_s
            <= self.source_poll_default_interval_s
            <= self.source_poll_max_interval_s
        ):
            raise ValueError("source poll intervals must satisfy min <= default <= max")
        if self.robots_cache_ttl_s > 24 * 3600:
            raise ValueError("robots_cache_ttl_s above 24 h breaks RFC 9309 §2.4")
        if self.robots_error_ttl_s > self.robots_cache_ttl_s:
            raise ValueError("robots_error_ttl_s must not exceed robots_cache_ttl_s")
        for name in ("robots_fetch_claim_s", "politeness_slot_lease_s"):
            if getattr(self, name) <= self.fetch_total_timeout_s:
                raise ValueError(f"{name} must exceed fetch_total_timeout_s")
        if self.source_poll_lease_s <= self.task_time_limit_s:
            raise ValueError("source_poll_lease_s must exceed task_time_limit_s")
        if self.politeness_max_countdown_s + self.task_time_limit_s >= BROKER_VISIBILITY_TIMEOUT_S:
            raise ValueError(
                "politeness_max_countdown_s + task_time_limit_s must stay below the broker's "
                f"visibility timeout ({BROKER_VISIBILITY_TIMEOUT_S} s)"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
