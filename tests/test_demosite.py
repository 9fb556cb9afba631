"""The bundled fixture news site: every page answers as its manifest says, over real HTTP."""

from __future__ import annotations

import filecmp
import gzip
import http.client
import json
import tomllib
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
from lxml import etree, html

from crawler.demosite import SITE_DIR, DemoSite, DemoSiteError, RequestRecord
from crawler.demosite.build import build
from crawler.demosite.errors import UnsafePathError
from crawler.demosite.paths import file_for_path, variant_name
from crawler.sources import load_sources
from crawler.urls import normalize_url

SEED = (
    "/world/2023/03/02/"
    "us-secretary-of-state-and-russian-foreign-minister-hold-10-minute-chat-at-g20"
)
SEED_CAPTION = (
    "Sergei Lavrov smokes as he walks to the second session of the G20 foreign ministers "
    "meeting (Manish Swarup/AP)"
)
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}


class Reply(NamedTuple):
    status: int
    headers: Message
    body: bytes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
    """Fetch ``url`` without following redirects; HTTP errors are replies too."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as err:
        with err:
            return Reply(err.code, err.headers, err.read())


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture
def fresh_site() -> Iterator[DemoSite]:
    """A site of its own, for tests that change the edition or read the request log."""
    with DemoSite() as running:
        yield running


def pages(site: DemoSite) -> Iterator[tuple[str, dict[str, Any]]]:
    for outlet, spec in site.manifest["outlets"].items():
        for page in spec["pages"]:
            yield outlet, page


def listing_hrefs(site: DemoSite, outlet: str, listing: str) -> set[str]:
    """Return the URLs the manifest says ``listing`` carries, as listed."""
    return {
        site.url(outlet, place["href"])
        for page in site.manifest["outlets"][outlet]["pages"]
        for place in page["listed"]
        if place["on"] == listing
    }


# --- the manifest ---------------------------------------------------------------------------------
def test_manifest_describes_three_outlets_and_thirty_articles(site: DemoSite) -> None:
    assert set(site.manifest["outlets"]) == {"harbour-herald", "meridian-wire", "le-quotidien"}
    articles = [p for _, p in pages(site) if p["is_article"] and "disallowed" not in p["roles"]]
    assert len(articles) >= 30
    for page in articles:
        assert page["headline"]
        assert page["authors"]
        assert page["section"]
        assert page["date_published"]
        assert page["canonical_path"] == page["path"]
        assert 250 <= page["body_words"] <= 700, page["path"]
    roles = {role for _, page in pages(site) for role in page["roles"]}
    assert {
        "disallowed",
        "redirect_from",
        "redirect_to",
        "404",
        "500",
        "two_editions",
        "two_routes",
        "not_article:video",
        "not_article:gallery",
        "not_article:paywall",
        "not_article:tag",
        "not_article:author",
        "not_article:section",
    } <= roles


def test_committed_site_matches_a_fresh_build(tmp_path: Path) -> None:
    build(tmp_path)
    committed = sorted(p.relative_to(SITE_DIR) for p in SITE_DIR.rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert committed == fresh
    _, mismatch, errors = filecmp.cmpfiles(SITE_DIR, tmp_path, fresh, shallow=False)
    assert mismatch == [], "run: python -m crawler.demosite.build"
    assert errors == []


# --- serving ------------------------------------------------------------------------------------
def test_outlets_are_distinct_loopback_hosts(site: DemoSite) -> None:
    hosts = {urlsplit(base).netloc for base in site.outlets.values()}
    assert len(hosts) == 3
    assert all(urlsplit(base).hostname == "127.0.0.1" for base in site.outlets.values())


def test_every_manifest_page_answers_as_declared(site: DemoSite) -> None:
    for outlet, page in pages(site):
        reply = fetch(site.url(outlet, page["path"]))
        assert reply.status == page["status"], (outlet, page["path"])
        if page["status"] == 301:
            assert reply.headers["Location"] == site.url(outlet, page["location"])
        if page["status"] != 200:
            continue
        assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
        text = reply.body.decode("utf-8")
        assert "{{BASE}}" not in text
        tree = html.fromstring(text)
        assert tree.xpath("string(//h1)").strip() == page["headline"], page["path"]
        if page["is_article"]:
            canonical = tree.xpath("//link[@rel='canonical']/@href")
            assert canonical == [site.url(outlet, page["canonical_path"])]
            assert tree.xpath("//time/@datetime")[0] == page["date_published"]
            paragraphs = [p.text_content() for p in tree.xpath("//p")]
            assert page["first_paragraph"] in paragraphs
            assert page["last_paragraph"] in paragraphs


def test_listed_urls_with_tracking_serve_the_clean_page(site: DemoSite) -> None:
    tracked = [
        (outlet, page, place["href"])
        for outlet, page in pages(site)
        for place in page["listed"]
        # Tracking suffixes only: the old address of a moved page is another test's concern.
        if place["href"].startswith(page["path"]) and place["href"] != page["path"]
    ]
    suffixes = {href[len(page["path"]) :].split("=")[0] for _, page, href in tracked}
    assert {"?utm_source", "?fbclid", "#comments"} <= suffixes
    for outlet, page, href in tracked:
        clean = fetch(site.url(outlet, page["path"]))
        assert fetch(site.url(outlet, href)).body == clean.body


def test_one_article_is_listed_under_two_urls_with_one_canonical(site: DemoSite) -> None:
    outlet = "meridian-wire"
    page = next(p for p in site.manifest["outlets"][outlet]["pages"] if "two_routes" in p["roles"])
    assert set(page["discovered_via"]) == {"feed", "sitemap"}
    urls = [site.url(outlet, place["href"]) for place in page["listed"]]
    assert len(set(urls)) == 2
    for url in urls:
        tree = html.fromstring(fetch(url).body)
        assert tree.xpath("//link[@rel='canonical']/@href") == [site.url(outlet, page["path"])]


def test_server_error_and_unsafe_paths(site: DemoSite) -> None:
    error = next(p for _, p in pages(site) if p["status"] == 500)
    for _ in range(2):
        assert fetch(site.url("le-quotidien", error["path"])).status == 500
    base = urlsplit(site.outlets["harbour-herald"])
    for raw in ("/../manifest.json", "/%2e%2e/manifest.json", "/.hidden"):
        connection = http.client.HTTPConnection(base.hostname or "", base.port, timeout=10)
        connection.request("GET", raw)
        assert connection.getresponse().status == 404
        connection.close()
    two = next(p for _, p in pages(site) if "two_editions" in p["roles"])
    assert fetch(site.url("harbour-herald", two["path"] + ".v2")).status == 404


def test_photos_are_served_as_jpeg(site: DemoSite) -> None:
    page = next(p for _, p in pages(site) if p.get("images"))
    reply = fetch(site.url("harbour-herald", page["images"][0]["src"]))
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "image/jpeg"
    assert reply.body.startswith(b"\xff\xd8")
    assert reply.body.endswith(b"\xff\xd9")


# --- discovery listings ---------------------------------------------------------------------------
def test_rss_feed_lists_the_declared_urls(site: DemoSite) -> None:
    reply = fetch(site.url("harbour-herald", "/feeds/world.rss"))
    assert reply.headers["Content-Type"] == "application/rss+xml"
    root = etree.fromstring(reply.body)
    links = {link.text for link in root.iterfind("channel/item/link")}
    assert links == listing_hrefs(site, "harbour-herald", "/feeds/world.rss")
    assert all(item.findtext("pubDate") for item in root.iterfind("channel/item"))
    assert any("utm_source=rss" in link for link in links)


def test_atom_feed_lists_the_declared_urls(site: DemoSite) -> None:
    reply = fetch(site.url("meridian-wire", "/feeds/world.atom"))
    assert reply.headers["Content-Type"] == "application/atom+xml"
    root = etree.fromstring(reply.body)
    links = {link.get("href") for link in root.iterfind("atom:entry/atom:link", NS)}
    assert links == listing_hrefs(site, "meridian-wire", "/feeds/world.atom")


def test_sitemap_index_leads_to_a_plain_and_a_gzipped_news_sitemap(site: DemoSite) -> None:
    outlet = "meridian-wire"
    index = etree.fromstring(fetch(site.url(outlet, "/sitemaps/index.xml")).body)
    children = [loc.text for loc in index.iterfind("sm:sitemap/sm:loc", NS)]
    assert children == [
        site.url(outlet, "/sitemaps/news-2026-11.xml"),
        site.url(outlet, "/sitemaps/news-2026-10.xml.gz"),
    ]
    for child in children:
        assert child is not None
        reply = fetch(child)
        body = reply.body
        if child.endswith(".gz"):
            assert reply.headers["Content-Type"] == "application/gzip"
            assert reply.headers.get("Content-Encoding") is None
            body = gzip.decompress(body)
        else:
            assert reply.headers["Content-Type"] == "application/xml"
        urlset = etree.fromstring(body)
        for url in urlset.iterfind("sm:url", NS):
            assert url.findtext("news:news/news:publication_date", namespaces=NS)
            assert url.findtext("news:news/news:title", namespaces=NS)
            assert url.findtext("news:news/news:publication/news:language", namespaces=NS) == "en"
        locs = {loc.text for loc in urlset.iterfind("sm:url/sm:loc", NS)}
        path = urlsplit(child).path
        assert locs == listing_hrefs(site, outlet, path)


def _page(site: DemoSite, outlet: str, path: str) -> dict[str, Any]:
    page: dict[str, Any] = next(
        p for p in site.manifest["outlets"][outlet]["pages"] if p["path"] == path
    )
    return page


def test_section_pages_link_articles_and_paginate(site: DemoSite) -> None:
    outlet = "le-quotidien"
    first = html.fromstring(fetch(site.url(outlet, "/international/")).body)
    assert first.xpath("//a[@rel='next']/@href") == [site.url(outlet, "/international/page/2/")]
    second = html.fromstring(fetch(site.url(outlet, "/international/page/2/")).body)
    assert second.xpath("//a[@rel='next']") == []
    for tree, path in ((first, "/international/"), (second, "/international/page/2/")):
        links = set(tree.xpath("//a/@href"))
        declared = listing_hrefs(site, outlet, path)
        assert declared
        assert declared <= links
        # Section pages also carry links that are not articles: topics and authors.
        assert any("/sujet/" in link for link in links)
        assert any("/signataires/" in link for link in links)
    section_pages = {
        p["path"]
        for p in site.manifest["outlets"][outlet]["pages"]
        if "section" in p["discovered_via"]
    }
    assert len(section_pages) >= 14


# --- conditional requests and editions ------------------------------------------------------------
def test_conditional_get_answers_304(site: DemoSite) -> None:
    url = site.url("harbour-herald", SEED)
    first = fetch(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"')
    assert modified
    again = fetch(url, {"If-None-Match": etag})
    assert (again.status, again.body, again.headers["ETag"]) == (304, b"", etag)
    assert again.headers["Content-Length"] is None
    assert fetch(url, {"If-None-Match": f'"other", W/{etag}'}).status == 304
    assert fetch(url, {"If-Modified-Since": modified}).status == 304
    assert fetch(url, {"If-None-Match": '"other"'}).status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2).
    assert fetch(url, {"If-None-Match": '"other"', "If-Modified-Since": modified}).status == 200
    head = fetch(url, method="HEAD")
    assert (head.status, head.body, head.headers["ETag"]) == (200, b"", etag)
    assert head.headers["Content-Length"] == str(len(first.body))


def test_second_edition_changes_one_article_only(fresh_site: DemoSite) -> None:
    page = _page(fresh_site, "harbour-herald", _two_editions_path(fresh_site))
    url = fresh_site.url("harbour-herald", page["path"])
    other = fresh_site.url("harbour-herald", SEED)
    first, other_first = fetch(url), fetch(other)
    fresh_site.set_edition(2)
    second = fetch(url)
    edition = page["editions"]["2"]
    tree = html.fromstring(second.body)
    assert tree.xpath("string(//h1)") == edition["headline"] != page["headline"]
    assert tree.xpath("//time/@datetime")[1] == edition["date_modified"]
    paragraphs = [p.text_content() for p in tree.xpath("//div[@class='story-body']/p")]
    for text in edition["changed_paragraphs"] + edition["added_paragraphs"]:
        assert text in paragraphs
        assert text.encode() not in first.body
    assert second.headers["ETag"] != first.headers["ETag"]
    assert fetch(url, {"If-None-Match": first.headers["ETag"]}).status == 200
    assert fetch(url, {"If-Modified-Since": first.headers["Last-Modified"]}).status == 200
    unchanged = fetch(other, {"If-None-Match": other_first.headers["ETag"]})
    assert unchanged.status == 304
    fresh_site.set_edition(1)
    assert fetch(url).body == first.body


def test_pages_can_be_removed_redirected_and_paywalled(fresh_site: DemoSite) -> None:
    url = fresh_site.url("harbour-herald", SEED)
    original = fetch(url)
    teaser = next(
        page
        for page in fresh_site.manifest["outlets"]["harbour-herald"]["pages"]
        if "not_article:paywall" in page["roles"]
    )
    fresh_site.remove("harbour-herald", SEED)
    gone = fetch(url + "?utm_source=rss")
    assert (gone.status, gone.headers["Content-Type"]) == (410, "text/html; charset=utf-8")
    assert fetch(url, {"If-None-Match": original.headers["ETag"]}).status == 410
    fresh_site.remove("harbour-herald", SEED, status=404)
    assert fetch(url).status == 404
    fresh_site.redirect("harbour-herald", SEED, "/")
    moved = fetch(url)
    assert (moved.status, moved.headers["Location"]) == (301, fresh_site.url("harbour-herald", "/"))
    fresh_site.paywall("harbour-herald", SEED)
    walled = fetch(url)
    assert walled.status == 200
    assert walled.body == fetch(fresh_site.url("harbour-herald", teaser["path"])).body
    assert b"Subscribe to continue reading" in walled.body
    fresh_site.restore("harbour-herald", SEED)
    assert fetch(url).body == original.body
    # Other outlets and pages were never touched.
    assert fetch(fresh_site.url("meridian-wire", SEED)).status == 404
    with pytest.raises(DemoSiteError, match="no paywalled page"):
        fresh_site.paywall("meridian-wire", "/world/x")
    with pytest.raises(DemoSiteError, match="unknown outlet"):
        fresh_site.remove("the-daily", SEED)
    with pytest.raises(ValueError, match="404 or 410"):
        fresh_site.remove("harbour-herald", SEED, status=500)


def _two_editions_path(site: DemoSite) -> str:
    return str(
        next(
            p["path"]
            for p in site.manifest["outlets"]["harbour-herald"]["pages"]
            if "two_editions" in p["roles"]
        )
    )


# --- robots.txt and the request log ---------------------------------------------------------------
def test_robots_txt_disallows_the_documented_prefix(site: DemoSite) -> None:
    for outlet, spec in site.manifest["outlets"].items():
        reply = fetch(site.url(outlet, "/robots.txt"))
        assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
        robots = urllib.robotparser.RobotFileParser()
        robots.parse(reply.body.decode("utf-8").splitlines())
        for prefix in spec["robots_disallow"]:
            assert not robots.can_fetch("newsarchive", site.url(outlet, prefix + "x"))
        for page in spec["pages"]:
            allowed = "disallowed" not in page["roles"]
            assert robots.can_fetch("newsarchive", site.url(outlet, page["path"])) == allowed
    hidden = [p for _, p in pages(site) if "disallowed" in p["roles"]]
    assert len(hidden) == 1
    assert [place["on"] for place in hidden[0]["listed"]] == ["/feeds/world.rss"]
    assert hidden[0]["path"].startswith("/private/")


def test_request_log_records_every_request(fresh_site: DemoSite) -> None:
    paths = ["/feeds/world.rss", "/robots.txt", "/no/such/page", SEED + "?utm_source=rss"]
    urls = [fresh_site.url("harbour-herald", p) for p in paths * 5]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda u: fetch(u).status, urls))
    log = fresh_site.request_log
    assert len(log) == len(urls)
    assert sorted(log) == sorted(
        RequestRecord("harbour-herald", "GET", path, status)
        for path, status in zip(paths * 5, statuses, strict=True)
    )
    assert statuses[:4] == [200, 200, 404, 200]
    fresh_site.clear_request_log()
    assert fresh_site.request_log == []


# --- the seed article -----------------------------------------------------------------------------
def test_seed_article_keeps_the_seed_text(site: DemoSite) -> None:
    tree = html.fromstring(fetch(site.url("harbour-herald", SEED)).body)
    captions = [c.text_content() for c in tree.xpath("//figcaption")]
    assert captions == [SEED_CAPTION, SEED_CAPTION]
    assert tree.xpath("string(//*[@class='byline'])") == "Associated Press Reporter"
    assert tree.xpath("string(//*[@class='story-kicker'])") == "World news"
    body = [p.text_content() for p in tree.xpath("//div[@class='story-body']/p")]
    assert len(body) == 16
    assert body[0].startswith("US secretary of state Antony Blinken and Russian foreign minister")
    assert "\u201cwe aren\u2019t feeling isolated, it\u2019s the West" in body[6]
    assert body[-1].endswith("but had not come face-to-face until Thursday.")
    figure = tree.xpath("//div[@class='story-body']/figure")[0]
    assert figure.getprevious().text_content().startswith("A senior US official said")
    (script,) = tree.xpath("//script[@type='application/ld+json']/text()")
    data = json.loads(script)
    assert data["@type"] == "NewsArticle"
    assert data["datePublished"] == "2023-03-02T10:32:00+00:00"
    assert data["articleSection"] == "World news"
    assert data["author"] == {
        "@type": "Person",
        "name": "Associated Press Reporter",
        "url": site.url("harbour-herald", "/authors/associated-press-reporter/"),
    }


# --- the sources file and paths -------------------------------------------------------------------
def test_sources_file_describes_the_running_outlets(site: DemoSite, tmp_path: Path) -> None:
    data = tomllib.loads(site.sources_toml())
    assert set(data["sources"]) == set(site.outlets)
    for name, base in site.outlets.items():
        entry = data["sources"][name]
        assert entry["allowed_domains"] == [urlsplit(base).netloc]
        spec = site.manifest["outlets"][name]
        assert entry["feeds"] == [base + p for p in spec["feeds"]]
        assert entry["sitemaps"] == [base + p for p in spec["sitemaps"]]
        assert entry["sections"] == [base + p for p in spec["sections"]]
    known = load_sources(str(site.write_sources(tmp_path / "sources.toml")))
    for name, spec in site.manifest["outlets"].items():
        for page in spec["pages"]:
            # Every listed URL looks like an article except the video and the gallery.
            expected = not {"not_article:video", "not_article:gallery"} & set(page["roles"])
            for place in page["listed"]:
                url = normalize_url(site.url(name, place["href"]))
                assert known[name].is_article_url(url) == expected, url


@pytest.mark.parametrize(
    ("path", "relative"),
    [
        ("/", "index.html"),
        ("/world/", "world/index.html"),
        ("/world/2026/11/27/slug", "world/2026/11/27/slug.html"),
        ("/a/b_1_2.html", "a/b_1_2.html"),
        ("/feeds/world.rss", "feeds/world.rss"),
        ("/sitemaps/news-2026-10.xml.gz", "sitemaps/news-2026-10.xml.gz"),
    ],
)
def test_file_for_path(path: str, relative: str) -> None:
    assert file_for_path(path) == relative


@pytest.mark.parametrize("path", ["/../x", "/a/../../x", "/.git/config", "relative", "/a\\b"])
def test_file_for_path_refuses_paths_outside_the_site(path: str) -> None:
    with pytest.raises(UnsafePathError):
        file_for_path(path)


def test_variant_name() -> None:
    assert variant_name("a/slug.html", 1) == "a/slug.html"
    assert variant_name("a/slug.html", 2) == "a/slug.v2.html"
    assert variant_name("news.xml.gz", 3) == "news.v3.xml.gz"
