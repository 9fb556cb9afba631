"""A 304 to the news spider becomes a line of the run's check log without becoming an item."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from archiver import FetchHints
from crawler import settings as project_settings
from crawler.items import DiscoveredVia, FetchedPage, Provenance
from crawler.middlewares import HINTS_META
from crawler.pipelines import ArchivePipeline, crawl_archiver
from crawler.spiders.news import NewsSpider

URL = "http://news.test/world/2026/11/28/a-story"


@pytest.fixture
def crawler(tmp_path: Path) -> Iterator[Crawler]:
    settings = {name: getattr(project_settings, name) for name in dir(project_settings)}
    settings = {name: value for name, value in settings.items() if name.isupper()}
    settings["ARCHIVE_URI"] = str(tmp_path / "archive")
    settings["ARCHIVE_STATE_DIR"] = str(tmp_path / "state")
    crawler = get_crawler(NewsSpider, settings)
    # A crawl makes its spider before it freezes the settings: the spider sets download slots.
    crawler.settings.frozen = False
    crawler.spider = NewsSpider.from_crawler(crawler)
    pipeline = ArchivePipeline.from_crawler(crawler)
    yield crawler
    pipeline.executor.shutdown()
    pipeline.store.close()


def _not_modified(via: DiscoveredVia) -> HtmlResponse:
    hints = FetchHints(
        identity_url=URL,
        version=3,
        version_key="articles/x/v000003.json",
        content_sha256="0" * 64,
        html_sha256="1" * 64,
        etag='"v3"',
        last_modified=None,
    )
    meta = {
        "source": "world",
        "provenance": Provenance(via, "http://news.test/world/", "2026-11-28T00:00:00Z"),
        HINTS_META: hints,
    }
    return HtmlResponse(URL, status=304, body=b"", request=Request(URL, meta=meta))


def test_a_304_is_noted_in_the_check_log_and_yields_no_item(crawler: Crawler) -> None:
    spider = crawler.spider
    assert isinstance(spider, NewsSpider)
    pipeline = crawl_archiver(crawler)
    assert pipeline is not None

    assert list(spider.parse_article(_not_modified("section"))) == []

    [check] = pipeline.checks
    assert check["reason"] == "not_modified"
    assert (check["identity_url"], check["version"], check["status"]) == (URL, 3, 304)
    assert check["version_key"] == "articles/x/v000003.json"
    assert crawler.stats is not None
    assert crawler.stats.get_value("newsarchive/world/fetched") == 1
    assert crawler.stats.get_value("newsarchive/world/unchanged/not_modified") == 1


def test_a_revisits_304_still_reaches_the_revisit_queue_as_an_item(crawler: Crawler) -> None:
    spider = crawler.spider
    assert isinstance(spider, NewsSpider)

    [page] = list(spider.parse_article(_not_modified("revisit")))

    assert isinstance(page, FetchedPage)
    assert page.unchanged_before_extraction == "not_modified"
    pipeline = crawl_archiver(crawler)
    assert pipeline is not None
    assert pipeline.checks == []
