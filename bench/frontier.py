"""What a crawl keeps per URL: the duplicate filter and the frontier, in MB per million URLs.

``python -m bench.frontier URLS REQUESTS`` runs in a fresh process and prints JSON:

- the duplicate filter: Scrapy's ``RFPDupeFilter`` (the news spider's only per-URL state that
  lives as long as the crawl) after seeing ``URLS`` article URLs;
- the frontier: ``REQUESTS`` article requests built as the news spider builds them (source,
  provenance, download slot) and held waiting, as Scrapy's in-memory scheduler holds them.

Growth of the resident set is measured, so allocator overhead counts; both are scaled to one
million URLs.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.request import RequestFingerprinter

from crawler.items import Provenance

MILLION = 1_000_000


def resident_mb() -> float:
    """Return this process's resident set in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def article_url(n: int) -> str:
    """Return a realistic article URL (about 100 characters), different for each ``n``."""
    host = f"www.outlet{n % 97}.example"
    section = ("world", "politics", "business", "science", "culture")[n % 5]
    day = f"2025/{n % 12 + 1:02d}/{n % 28 + 1:02d}"
    return f"https://{host}/{section}/{day}/officials-report-progress-in-talks-over-{n}"


def _callback(response: Any) -> None:
    """Stand in for the spider's bound callback: the request holds a reference only."""


def dupefilter_mb(urls: int) -> float:
    """Return the memory the duplicate filter holds after seeing ``urls`` URLs."""
    dupefilter = RFPDupeFilter(fingerprinter=RequestFingerprinter())
    gc.collect()
    before = resident_mb()
    for n in range(urls):
        dupefilter.request_seen(Request(article_url(n)))
    gc.collect()
    grown = resident_mb() - before
    # Keep the filter alive until measured, and check that it saw every URL once.
    assert dupefilter.request_seen(Request(article_url(0)))
    return grown


def frontier_mb(requests: int) -> float:
    """Return the memory of ``requests`` article requests waiting to be fetched."""
    gc.collect()
    before = resident_mb()
    waiting = []
    for n in range(requests):
        url = article_url(n)
        provenance = Provenance(
            "feed", f"https://www.outlet{n % 97}.example/world/rss", "2025-06-02T12:00:00Z", None
        )
        meta = {"source": f"outlet{n % 97}", "provenance": provenance, "download_slot": url[8:30]}
        waiting.append(Request(url, callback=_callback, errback=_callback, meta=meta))
    gc.collect()
    grown = resident_mb() - before
    assert len(waiting) == requests
    return grown


def measure(urls: int, requests: int) -> dict[str, Any]:
    """Return both measurements, in MB and in MB per million URLs."""
    seen = dupefilter_mb(urls)
    held = frontier_mb(requests)
    return {
        "dupefilter": {
            "urls": urls,
            "mb": round(seen, 1),
            "mb_per_million": round(seen * MILLION / urls, 1),
            "bytes_per_url": round(seen * 2**20 / urls),
        },
        "frontier": {
            "requests": requests,
            "mb": round(held, 1),
            "mb_per_million": round(held * MILLION / requests, 1),
            "bytes_per_url": round(held * 2**20 / requests),
        },
    }


def main(argv: Sequence[str]) -> int:
    """Print the measurements for the counts given on the command line."""
    urls, requests = (int(value) for value in argv)
    print(json.dumps(measure(urls, requests)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
