"""Stage A: Scrapy fetching the site's pages and nothing else, with the crawler's own settings.

``python -m bench.fetch_spider URLS.json RESULT.json`` fetches every listing and article URL of
``URLS.json`` (``{"listings": [...], "articles": [...], "concurrency": N}``) with the project's
settings, minus what needs an archive (item pipelines, the conditional-GET and retry back-off
middlewares, the crawl summary), and with the same politeness relaxations as the pipeline run:
no download delay, no AutoThrottle, ``N`` requests (and kept-alive connections) at a time per
host. It writes the counts to
``RESULT.json``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response

from crawler.urls import host_key


class FetchSpider(Spider):
    """Fetch a fixed list of URLs and count the answers."""

    name = "bench_fetch"

    def __init__(self, urls_file: str = "", result_file: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        spec = json.loads(Path(urls_file).read_text(encoding="utf-8"))
        self.listings: list[str] = spec["listings"]
        self.articles: set[str] = set(spec["articles"])
        self.result_file = result_file
        self.counts = {"articles": 0, "listings": 0, "article_bytes": 0, "other": 0}

    async def start(self) -> AsyncIterator[Any]:
        """Yield the listings, then the articles, each in its host's download slot."""
        for url in [*self.listings, *sorted(self.articles)]:
            yield Request(url, callback=self.parse, meta={"download_slot": host_key(url)})

    def parse(self, response: Response) -> None:
        """Count the page; do nothing else with it."""
        if response.url in self.articles and response.status == 200:
            self.counts["articles"] += 1
            self.counts["article_bytes"] += len(response.body)
        elif response.url in self.listings:
            self.counts["listings"] += 1
        else:
            self.counts["other"] += 1

    def closed(self, reason: str) -> None:
        """Write the counts."""
        result = {**self.counts, "finish_reason": reason}
        Path(self.result_file).write_text(json.dumps(result), encoding="utf-8")


def fetch_settings(concurrency: int, hosts: Sequence[str]) -> dict[str, Any]:
    """Return the overrides of the project's settings for a fetch-only crawl."""
    return {
        "ITEM_PIPELINES": {},
        # Both need the archive: conditional GETs read its hints; back-off only matters on
        # errors, which a healthy loopback site does not give.
        "DOWNLOADER_MIDDLEWARES": {},
        "EXTENSIONS": {
            "scrapy.extensions.telnet.TelnetConsole": None,
            "scrapy.extensions.remote_control.RemoteControl": None,
            # As in the pipeline: log records below LOG_LEVEL are not built at all.
            "crawler.logs.LogLevelGate": 0,
        },
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "DOWNLOAD_DELAY": 0.0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_SLOTS": {host: {"delay": 0.0, "concurrency": concurrency} for host in hosts},
    }


def main(argv: Sequence[str]) -> int:
    """Run the fetch-only crawl of ``argv[0]`` and write its counts to ``argv[1]``."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    urls_file, result_file = argv
    spec = json.loads(Path(urls_file).read_text(encoding="utf-8"))
    hosts = sorted({host_key(url) for url in [*spec["listings"], *spec["articles"]]})
    settings = get_project_settings()
    for name, value in fetch_settings(spec["concurrency"], hosts).items():
        settings.set(name, value, priority="cmdline")
    process = CrawlerProcess(settings)
    process.crawl(FetchSpider, urls_file=urls_file, result_file=result_file)
    process.start()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
