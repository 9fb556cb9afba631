"""Every Scrapy setting newsarchive uses, with its default.

This is the one module that reads the environment. Our own settings are prefixed ``ARCHIVE_``;
Scrapy's and boto3's keep their own names. Any of them can be overridden with ``-s NAME=VALUE``.
"""

from __future__ import annotations

import os

from crawler import __version__


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _env_list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# --- newsarchive ------------------------------------------------------------------------------
# Where versions are stored: a local folder (the default) or s3://bucket/prefix.
ARCHIVE_URI = os.environ.get("ARCHIVE_URI", "archive")
# Whether the S3 server honours conditional writes (If-None-Match: *). Turn off only for servers
# that ignore them; see docs/archive.md for what the fallback does and does not guarantee.
ARCHIVE_S3_CONDITIONAL_WRITES = _env_bool("ARCHIVE_S3_CONDITIONAL_WRITES", True)
# The sources file; empty means the default file shipped with the package.
ARCHIVE_SOURCES = os.environ.get("ARCHIVE_SOURCES", "")
# Who runs this crawler: named in the User-Agent so site owners can reach the operator.
ARCHIVE_CONTACT_URL = os.environ.get(
    "ARCHIVE_CONTACT_URL", "https://github.com/newsarchive/newsarchive"
)
# Threads that run blocking storage calls (boto3, file I/O) off the reactor.
ARCHIVE_STORE_THREADS = _env_int("ARCHIVE_STORE_THREADS", 8)
# A version write that fails (after boto3's own retries) is tried this many more times, after
# ARCHIVE_STORE_RETRY_BACKOFF seconds, then twice that...; then it goes to the local spool.
ARCHIVE_STORE_RETRIES = _env_int("ARCHIVE_STORE_RETRIES", 2)
ARCHIVE_STORE_RETRY_BACKOFF = _env_float("ARCHIVE_STORE_RETRY_BACKOFF", 1.0)
# Keep what the archive knows of each article's last fetch in ARCHIVE_STATE_DIR/hints.sqlite,
# so a conditional GET of an unchanged article costs the archive no request.
ARCHIVE_HINTS_CACHE = _env_bool("ARCHIVE_HINTS_CACHE", True)
# Where captures wait while the archive is unavailable; empty: ARCHIVE_STATE_DIR/spool.
ARCHIVE_SPOOL_DIR = os.environ.get("ARCHIVE_SPOOL_DIR", "")
# Worker processes that extract pages off the reactor, one page at a time each (extraction is
# CPU-bound: more workers than usable cores only add contention).
ARCHIVE_EXTRACT_WORKERS = _env_int("ARCHIVE_EXTRACT_WORKERS", len(os.sched_getaffinity(0)))
# A page still being extracted after this many seconds is abandoned and its worker killed.
ARCHIVE_EXTRACT_TIMEOUT = _env_float("ARCHIVE_EXTRACT_TIMEOUT", 30.0)
# A worker is replaced after this many pages, and may take at most this much address space:
# bounds on what a slow leak or a page built to exhaust memory can take.
ARCHIVE_EXTRACT_MAX_PAGES = _env_int("ARCHIVE_EXTRACT_MAX_PAGES", 1000)
ARCHIVE_EXTRACT_MEMORY_LIMIT = _env_int("ARCHIVE_EXTRACT_MEMORY_LIMIT", 2 * 1024**3)
# Extract in threads of the crawler's own process instead (no time limit): for debugging.
ARCHIVE_EXTRACT_IN_PROCESS = _env_bool("ARCHIVE_EXTRACT_IN_PROCESS", False)
# Each run writes its manifest (counts, configuration hash, software) to runs/ in the archive.
ARCHIVE_RUN_MANIFESTS = _env_bool("ARCHIVE_RUN_MANIFESTS", True)
# Where the end-of-crawl summary is written as JSON (empty: not written).
ARCHIVE_SUMMARY_FILE = os.environ.get("ARCHIVE_SUMMARY_FILE", "")
# The crawler's own local state (the revisit queue, revisits.sqlite); a folder.
ARCHIVE_STATE_DIR = os.environ.get("ARCHIVE_STATE_DIR", "state")
# Revisit each new article this long after it was first seen, to catch edits and removals;
# empty: no revisits. A source's `revisit` list in the sources file wins.
ARCHIVE_REVISIT_STEPS = os.environ.get("ARCHIVE_REVISIT_STEPS", "1h,6h,24h,3d,7d")
# A removal, redirect or paywall seen once is checked again this much later; two sightings
# in a row confirm it.
ARCHIVE_REVISIT_CONFIRM_AFTER = os.environ.get("ARCHIVE_REVISIT_CONFIRM_AFTER", "1h")
# A revisit crawl holds the articles it took for this long, so a second one leaves them alone;
# those it could not record come back when it runs out.
ARCHIVE_REVISIT_LEASE = os.environ.get("ARCHIVE_REVISIT_LEASE", "2h")
# Feeds, sitemaps and sections larger than this are refused (bytes).
ARCHIVE_MAX_LISTING_SIZE = _env_int("ARCHIVE_MAX_LISTING_SIZE", 20 * 1024 * 1024)
# Sitemap indexes are followed at most this deep.
ARCHIVE_SITEMAP_DEPTH = _env_int("ARCHIVE_SITEMAP_DEPTH", 3)
# A source's sitemaps read in one crawl, at most: indexes that list ever new sitemaps would
# otherwise multiply the requests at every level. A sitemap already read is never read again.
ARCHIVE_MAX_SITEMAPS = _env_int("ARCHIVE_MAX_SITEMAPS", 10_000)
# Section pages: how many pages of a section (next/pagination links) to follow.
ARCHIVE_SECTION_PAGES = _env_int("ARCHIVE_SECTION_PAGES", 2)

# --- politeness -------------------------------------------------------------------------------
USER_AGENT = f"newsarchive/{__version__} (+{ARCHIVE_CONTACT_URL}; news archive for research)"
ROBOTSTXT_OBEY = True
DOWNLOAD_DELAY = _env_float("ARCHIVE_DOWNLOAD_DELAY", 1.0)
DOWNLOAD_DELAY_JITTER = 0.5
CONCURRENT_REQUESTS = 16
# Scrapy starts this many tasks for the output of every callback, whatever its size, even an
# empty one; an article page yields at most one item and a listing's requests are scheduled at
# once, so more than one only spends the reactor's time: 100 (the default) cost 1.1 ms per page,
# 8 about 0.12 ms, 1 about 0.035 ms.
CONCURRENT_ITEMS = 1
# Scrapy checks every callback for a generator that returns a value, a mistake in a spider's
# code. It caches the verdict by the callback object, and each request carries a bound method
# of its own, so it read and parsed the source of ``parse_article`` again for every page: a
# tenth of a millisecond of the reactor's time per page. Our callbacks are tested instead.
WARN_ON_GENERATOR_RETURN_VALUE = False
CONCURRENT_REQUESTS_PER_DOMAIN = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = DOWNLOAD_DELAY
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# --- safety -----------------------------------------------------------------------------------
# Private, loopback, link-local (the cloud metadata address), multicast and other non-public
# destinations are refused, after DNS resolution and at every redirect (crawler/netguard.py).
# Allowing them is for tests and `newsarchive demo`, which crawl a site on loopback.
ALLOW_PRIVATE_NETWORKS = _env_bool("NEWSARCHIVE_ALLOW_PRIVATE_NETWORKS", False)
# Networks exempt from that refusal (CIDRs; comma-separated in the environment).
ARCHIVE_ALLOWED_NETWORKS = _env_list("ARCHIVE_ALLOWED_NETWORKS")
TWISTED_DNS_RESOLVER = "crawler.netguard.GuardedThreadedResolver"
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Before each retry, wait base * 2^(n-1) seconds (with jitter), or the server's Retry-After,
# at most ARCHIVE_RETRY_BACKOFF_MAX. A base of 0 retries at once, as plain Scrapy does.
ARCHIVE_RETRY_BACKOFF_BASE = _env_float("ARCHIVE_RETRY_BACKOFF_BASE", 2.0)
ARCHIVE_RETRY_BACKOFF_MAX = _env_float("ARCHIVE_RETRY_BACKOFF_MAX", 60.0)
# Articles already archived are fetched with If-None-Match / If-Modified-Since; a 304 or a
# byte-identical body is recorded as an observation without extraction.
ARCHIVE_CONDITIONAL_GET = _env_bool("ARCHIVE_CONDITIONAL_GET", True)
# Feeds, sitemaps and section pages unchanged since the last finished crawl (a 304, or the
# same bytes) are not parsed again: edits to articles they list are caught by revisits.
ARCHIVE_SKIP_UNCHANGED_LISTINGS = _env_bool("ARCHIVE_SKIP_UNCHANGED_LISTINGS", True)
DOWNLOADER_MIDDLEWARES = {
    # Just above RetryMiddleware (550): a refused address is never retried.
    "crawler.netguard.NetworkGuardMiddleware": 555,
    "crawler.middlewares.RetryBackoffMiddleware": 560,
    "crawler.middlewares.ConditionalGetMiddleware": 570,
}
SPIDER_MIDDLEWARES = {
    # Every request a listing yields passes through each spider middleware in turn, an async
    # generator layer apiece. These two add nothing here: listing depth is bounded by
    # ARCHIVE_SITEMAP_DEPTH and ARCHIVE_SECTION_PAGES (so DEPTH_LIMIT has no effect), and the
    # spider builds each request's meta afresh rather than copying a response's.
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
}
REDIRECT_MAX_TIMES = 10
# Our own code sees 404/410 so it can count them by reason; others are dropped by Scrapy.
HTTPERROR_ALLOWED_CODES: list[int] = []
COOKIES_ENABLED = False

# Scrapy's telnet console and remote-control HTTP endpoint are off: a crawler on a server must
# not open control ports.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
    "crawler.summary.CrawlSummary": 500,
    # Loggers below LOG_LEVEL return at once instead of building records the handler drops.
    "crawler.logs.LogLevelGate": 0,
}

ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 100,
    "crawler.pipelines.ArchivePipeline": 200,
    "crawler.revisit_pipeline.RevisitPipeline": 300,
}

# --- engine -----------------------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = os.environ.get("ARCHIVE_LOG_LEVEL", "INFO")
FEED_EXPORT_ENCODING = "utf-8"
