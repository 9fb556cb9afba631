"""The benchmark: its generated site, and one whole run of every stage on a tiny site."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import TABLE_END, TABLE_START, update_readme
from bench.crawls import median_round
from bench.server import SiteServer
from bench.site import OUTLETS, BenchSite
from crawler.discovery import page_links, parse_feed
from crawler.urls import normalize_url

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGES = 60


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read()


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    with SiteServer(BenchSite(PAGES)) as running:
        yield running


def _json_ld(body: bytes) -> list[Any]:
    match = re.search(rb'<script type="application/ld\+json">(.*?)</script>', body, re.S)
    assert match is not None
    data: list[Any] = json.loads(match.group(1))
    return data


def test_article_pages_are_realistic(server: SiteServer) -> None:
    site = server.site
    seen = 0
    for outlet in OUTLETS:
        for index in range(site.counts[outlet.name]):
            meta = site.meta(outlet, index)
            status, headers, body = _get(server.base(outlet) + meta.path)
            assert status == 200
            assert headers["Content-Type"].startswith("text/html")
            assert 50_000 <= len(body) <= 200_000, (meta.path, len(body))
            article = _json_ld(body)[0]
            assert article["@type"] == "NewsArticle"
            assert article["headline"] == meta.headline
            assert article["author"]
            assert article["datePublished"]
            assert b"<figcaption" in body
            assert b'property="og:title"' in body
            assert b"<nav" in body
            assert b"<footer" in body
            seen += 1
    assert seen == PAGES


def test_pages_are_rendered_the_same_every_time() -> None:
    outlet = OUTLETS[2]
    first, second = BenchSite(PAGES), BenchSite(PAGES)
    path = first.meta(outlet, 3).path
    pages = []
    for site in (first, second):
        resource = site.resource(outlet, path, "")
        assert resource is not None
        pages.append(resource.render("http://127.0.0.1:1"))
    assert pages[0] == pages[1]
    assert BenchSite(PAGES, seed=2).meta(outlet, 3).path != path


def test_conditional_requests_get_304(server: SiteServer) -> None:
    outlet = OUTLETS[0]
    url = server.base(outlet) + server.site.meta(outlet, 1).path
    status, headers, _ = _get(url)
    assert status == 200
    etag, last_modified = headers["ETag"], headers["Last-Modified"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    assert _get(url, {"If-None-Match": etag})[:1] == (304,)
    assert _get(url, {"If-None-Match": etag})[2] == b""
    assert _get(url, {"If-Modified-Since": last_modified})[0] == 304
    # If-None-Match wins over If-Modified-Since (RFC 9110).
    assert _get(url, {"If-None-Match": '"other"', "If-Modified-Since": last_modified})[0] == 200


def test_refreshed_listings_change_while_articles_do_not() -> None:
    with SiteServer(BenchSite(8)) as running:
        outlet = OUTLETS[1]
        _, feeds = running.site.listing_paths(outlet)
        feed = running.base(outlet) + feeds[0]
        article = running.base(outlet) + running.site.meta(outlet, 0).path
        feed_etag = _get(feed)[1]["ETag"]
        article_etag = _get(article)[1]["ETag"]
        running.site.refresh_listings()
        assert _get(feed, {"If-None-Match": feed_etag})[0] == 200
        assert _get(article, {"If-None-Match": article_etag})[0] == 304


def test_every_article_is_listed_and_matches_its_source(server: SiteServer) -> None:
    sources = tomllib.loads(server.sources_toml(concurrency=4))["sources"]
    listed: set[str] = set()
    for outlet in OUTLETS:
        source = sources[outlet.name]
        for feed in source["feeds"]:
            listed |= {entry.url for entry in parse_feed(_get(feed)[2])}
        for section in source["sections"]:
            links, following = page_links(_get(section)[2], "utf-8", section)
            listed |= set(links)
            for url in following:
                listed |= set(page_links(_get(url)[2], "utf-8", url)[0])
        patterns = [re.compile(pattern) for pattern in source["article_patterns"]]
        for url in source["feeds"] + source["sections"]:
            assert not any(p.search(normalize_url(url)) for p in patterns), url
    articles = server.article_urls()
    assert set(articles) <= listed
    for url in articles:
        name = next(o.name for o in OUTLETS if url.startswith(server.base(o)))
        patterns = sources[name]["article_patterns"]
        assert any(re.search(pattern, normalize_url(url)) for pattern in patterns), url


def test_readme_table_is_replaced_between_its_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{TABLE_START}\nold\n{TABLE_END}\nafter\n", encoding="utf-8")
    update_readme("new table", readme)
    assert readme.read_text(encoding="utf-8") == (
        f"intro\n{TABLE_START}\n```text\nnew table\n```\n{TABLE_END}\nafter\n"
    )


def test_a_whole_run_measures_every_stage(tmp_path: Path) -> None:
    output = tmp_path / "result.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--pages",
            str(PAGES),
            "--frontier-urls",
            "20000",
            "--frontier-requests",
            "5000",
            "--rounds",
            "2",
            "--output",
            str(output),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "targets:" in completed.stdout
    result = json.loads(output.read_text(encoding="utf-8"))
    stages = result["stages"]
    assert list(stages) == ["A", "B", "C0", "C", "D", "E"]
    assert result["site"]["pages"] == PAGES
    assert result["machine"]["cpu_count"] >= 1
    assert result["machine"]["usable_cpus"] >= 1

    fetch = stages["A"]
    assert fetch["pages"] == PAGES == fetch["served"]["article_200"]
    for name in ("B", "C0", "C"):
        assert stages[name]["pages"] == PAGES
        assert stages[name]["p50_ms"] <= stages[name]["p90_ms"] <= stages[name]["max_ms"]
    assert stages["C"]["results"] == PAGES, "every generated page is an article"

    crawl = stages["D"]
    assert crawl["finish_reason"] == "finished"
    assert crawl["pages"] == crawl["extracted"] == crawl["archived"] == PAGES
    assert crawl["served"]["article_200"] == PAGES
    assert crawl["objects_written"]["articles"] >= PAGES
    assert crawl["failed"] == 0

    recrawl = stages["E"]
    assert recrawl["pages"] == PAGES == recrawl["served"]["article_304"]
    assert recrawl["extracted"] == 0
    assert recrawl["archived"] == 0
    assert "articles" not in recrawl["objects_written"]
    # A and E ran twice each, alternately; the listings were re-issued before each E.
    assert len(fetch["rounds"]) == len(recrawl["rounds"]) == 2
    assert recrawl["pages_per_s"] in [r["pages_per_s"] for r in recrawl["rounds"]]
    assert recrawl["objects_written"]["listings"] == 2 * result["site"]["listings"]

    for stage in stages.values():
        assert stage["pages_per_s"] > 0
        assert stage["cpu_ms_per_page"] > 0
    for name in ("A", "D", "E"):
        assert stages[name]["peak_rss_mb"] > 0
        # Shared library pages count once in the tree, once per process in the plain sum.
        assert 0 < stages[name]["peak_tree_mb"] <= stages[name]["peak_total_rss_mb"]
    assert "D memory: peak" in completed.stdout
    assert all(value is not None for key, value in result["ratios"].items() if "10k" not in key)
    assert len(result["targets"]) == 6
    by_name = {target["target"]: target["pass"] for target in result["targets"]}
    assert by_name["E: every page asked again, 0 extractions, 0 writes"] is True
    assert result["frontier"]["dupefilter"]["mb_per_million"] > 0
    assert result["frontier"]["frontier"]["mb_per_million"] > 0


def test_a_short_stage_shows_its_median_round_and_counts_every_round() -> None:
    def stage(rate: float, extracted: int, written: dict[str, int]) -> dict[str, Any]:
        return {
            "pages_per_s": rate,
            "cpu_ms_per_page": 1.0,
            "tail_s": 0.1,
            "extracted": extracted,
            "archived": 0,
            "objects_written": written,
        }

    rounds = [stage(300.0, 0, {"runs": 1}), stage(100.0, 1, {"runs": 1}), stage(200.0, 0, {})]
    chosen = median_round(rounds)
    assert chosen["pages_per_s"] == 200.0
    assert [r["pages_per_s"] for r in chosen["rounds"]] == [300.0, 100.0, 200.0]
    # A round that extracted anything shows, even when it is not the median one.
    assert chosen["extracted"] == 1
    assert chosen["objects_written"] == {"runs": 2}
    assert median_round(rounds[:2])["pages_per_s"] == 100.0
