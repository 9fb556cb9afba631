"""Feeds, sitemaps and section pages give the article URLs they list, and refuse hostile input."""

from __future__ import annotations

import gzip
import re

import pytest
from scrapy.http import TextResponse

from crawler.discovery import (
    Listed,
    ListingError,
    gunzip_limited,
    maybe_gunzip,
    page_links,
    parse_feed,
    parse_sitemap,
)
from crawler.sources import Source
from crawler.spiders.news import NewsSpider

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>World</title>
<item><title>One</title><link>https://news.example/world/2026/11/27/one</link>
<pubDate>Fri, 27 Nov 2026 10:00:00 GMT</pubDate></item>
<item><title>Two</title><guid isPermaLink="true">https://news.example/world/2026/11/27/two</guid></item>
<item><title>No link</title><guid isPermaLink="false">abc-123</guid></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>
<entry><title>A</title><link rel="alternate" href="https://wire.example/a-story"/>
<link rel="enclosure" href="https://wire.example/a.jpg"/><published>2026-11-27T09:00:00Z</published></entry>
<entry><title>B</title><link href="https://wire.example/b-story"/><updated>2026-11-26T09:00:00Z</updated></entry>
</feed>"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://wire.example/sitemaps/news-1.xml</loc><lastmod>2026-11-27</lastmod></sitemap>
<sitemap><loc>https://wire.example/sitemaps/news-0.xml.gz</loc></sitemap>
</sitemapindex>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://wire.example/world/x-story</loc><lastmod>2026-11-27T11:00:00Z</lastmod>
<news:news><news:publication_date>2026-11-27T08:30:00+00:00</news:publication_date>
<news:title>X</news:title></news:news></url>
<url><loc>https://wire.example/world/y-story</loc><lastmod>2026-11-26</lastmod></url>
</urlset>"""


def test_rss_items_give_links_and_dates() -> None:
    assert parse_feed(RSS) == [
        Listed("https://news.example/world/2026/11/27/one", "Fri, 27 Nov 2026 10:00:00 GMT"),
        Listed("https://news.example/world/2026/11/27/two", None),
    ]


def test_atom_entries_give_alternate_links() -> None:
    assert parse_feed(ATOM) == [
        Listed("https://wire.example/a-story", "2026-11-27T09:00:00Z"),
        Listed("https://wire.example/b-story", "2026-11-26T09:00:00Z"),
    ]


def test_sitemap_index_and_news_urlset() -> None:
    kind, entries = parse_sitemap(INDEX)
    assert kind == "index"
    assert [e.url for e in entries] == [
        "https://wire.example/sitemaps/news-1.xml",
        "https://wire.example/sitemaps/news-0.xml.gz",
    ]
    kind, entries = parse_sitemap(NEWS_SITEMAP)
    assert kind == "urlset"
    # The news publication date wins over lastmod.
    assert entries[0] == Listed("https://wire.example/world/x-story", "2026-11-27T08:30:00+00:00")
    assert entries[1] == Listed("https://wire.example/world/y-story", "2026-11-26")


def test_gzipped_sitemap_is_read() -> None:
    kind, entries = parse_sitemap(maybe_gunzip(gzip.compress(NEWS_SITEMAP), 1 << 20))
    assert kind == "urlset"
    assert len(entries) == 2


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"\0" * (5 * 1024 * 1024))
    with pytest.raises(ListingError, match="expands past"):
        gunzip_limited(bomb, 1024 * 1024)


def test_corrupt_gzip_is_a_listing_error() -> None:
    with pytest.raises(ListingError, match="invalid gzip data"):
        gunzip_limited(b"\x1f\x8b\x08\x00garbage", 1024)


def test_entity_expansion_is_not_performed() -> None:
    billion_laughs = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><item><link>https://x.example/a-b-c</link><title>&lol3;</title>
</item></channel></rss>"""
    assert parse_feed(billion_laughs) == [Listed("https://x.example/a-b-c", None)]


def test_external_entities_are_not_fetched_or_read(tmp_path: object) -> None:
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&xxe;</loc></url></urlset>"""
    kind, entries = parse_sitemap(xxe)
    assert kind == "urlset"
    assert all("root:" not in e.url for e in entries)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>not a feed</body></html>", "not an RSS or Atom feed"),
        (b"", "empty or not XML|not well-formed"),
        (b"\x00\x01\x02binary", "empty or not XML|not well-formed"),
    ],
)
def test_bad_feeds_are_listing_errors(body: bytes, message: str) -> None:
    with pytest.raises(ListingError, match=message):
        parse_feed(body)


def test_a_feed_is_not_a_sitemap() -> None:
    with pytest.raises(ListingError, match="not a sitemap"):
        parse_sitemap(RSS)


def test_section_page_links_are_absolute_and_next_is_apart() -> None:
    page = b"""<html><head><base href="https://paper.example/international/">
<link rel="next" href="page/2/"></head><body>
<a href="2026/11/27/un-vote-on-ceasefire">story</a>
<a href="/tag/diplomacy/">tag</a><a href="#top">top</a><a>no href</a>
</body></html>"""
    links, next_links = page_links(page, "utf-8", "https://paper.example/international/")
    assert "https://paper.example/international/2026/11/27/un-vote-on-ceasefire" in links
    assert "https://paper.example/tag/diplomacy/" in links
    assert next_links == ["https://paper.example/international/page/2/"]


def test_a_full_billion_laughs_declaration_loses_no_link() -> None:
    # Ten levels of ten: libxml2 stops at its amplification limit even without expanding, and
    # would drop every item after the declaration if it were parsed at all.
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)
    )
    feed = (
        f'<?xml version="1.0"?><!-- a comment --><!DOCTYPE rss [{entities}]>'
        '<rss version="2.0"><channel><title>&l9;</title>'
        "<item><title>&l9;</title><link>https://x.example/a-b-c</link></item></channel></rss>"
    ).encode()
    assert parse_feed(feed) == [Listed("https://x.example/a-b-c", None)]


WORLD = Source(
    name="world",
    allowed_domains=("news.example",),
    article_patterns=(re.compile(r"/world/\d{4}/"),),
)
"""A source whose articles are under /world/YYYY/ of news.example."""


def test_link_verdicts_are_kept_per_source_and_match_a_fresh_look() -> None:
    spider = NewsSpider()
    other = Source(name="other", allowed_domains=("other.example",))
    base = "https://news.example/world/"
    article = "https://news.example/world/2026/talks.html?utm_source=rss#top"
    for _ in range(2):  # the second time from the kept verdicts
        assert spider._article_url(WORLD, article, base) == (
            "https://news.example/world/2026/talks.html"
        )
        assert spider._article_url(WORLD, "https://news.example/about", base) is None
        assert spider._article_url(other, article, base) is None
        assert spider._article_url(WORLD, "https://[broken", base) is None
    # Relative links depend on the page they are on: resolved each time.
    assert (
        spider._article_url(WORLD, "2026/a.html", base) == "https://news.example/world/2026/a.html"
    )
    assert spider._article_url(WORLD, "2026/a.html", "https://news.example/sport/") is None


def test_an_article_listed_twice_is_requested_once() -> None:
    spider = NewsSpider()
    feed = TextResponse("https://news.example/world/rss", body=b"")
    section = TextResponse("https://news.example/world/", body=b"")
    first = [Listed("https://news.example/world/2026/a.html"), Listed("/world/2026/b.html")]
    again = [
        Listed("https://news.example/world/2026/b.html?utm_source=rss"),
        Listed("/world/2026/a.html"),
        Listed("/world/2026/c.html"),
    ]

    from_feed = list(spider._from_entries(WORLD, feed, "feed", first))
    from_section = list(spider._from_entries(WORLD, section, "section", again))

    assert [r.url for r in from_feed] == [
        "https://news.example/world/2026/a.html",
        "https://news.example/world/2026/b.html",
    ]
    # What the feed asked for is not built again for the duplicate filter to drop.
    assert [r.url for r in from_section] == ["https://news.example/world/2026/c.html"]
    assert from_feed[0].meta["provenance"].discovered_via == "feed"
