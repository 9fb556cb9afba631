"""URL normalisation, article identity and the article-URL heuristic."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.errors import CrawlerError, InvalidURLError
from crawler.sources import Source
from crawler.urls import _normalize_url, host_key, identity_url, looks_like_article, normalize_url

# Example databases and deadlines would write files into the checkout and assert wall-clock times.
PROPERTY = settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --- normalize_url ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.bbc.com/news/articles/c0k8v3x8xq1o?at_medium=RSS&at_campaign=rss",
            "https://www.bbc.com/news/articles/c0k8v3x8xq1o",
        ),
        (
            "https://www.theguardian.com/world/2024/may/12/ukraine-war-latest?CMP=share_btn_url",
            "https://www.theguardian.com/world/2024/may/12/ukraine-war-latest",
        ),
        (
            "https://www.lemonde.fr/international/article/2024/05/12/x_6232749_3210.html"
            "?xtor=RSS-3208",
            "https://www.lemonde.fr/international/article/2024/05/12/x_6232749_3210.html",
        ),
        (
            "https://apnews.com/article/gaza-ceasefire-3f8b2c?utm_source=twitter&utm_medium=social"
            "&UTM_Campaign=x&fbclid=IwAR0&gclid=abc&msclkid=1&mc_cid=2&mc_eid=3&_ga=4&ocid=5",
            "https://apnews.com/article/gaza-ceasefire-3f8b2c",
        ),
        (
            "https://www.example.com/story?ito=a&cmpid=b&igshid=c&dclid=d&at_medium=e",
            "https://www.example.com/story",
        ),
        # src and ref go only when they mark a feed link.
        ("https://e.com/s?src=rss&ref=RSS", "https://e.com/s"),
        ("https://e.com/s?src=home&ref=front-page", "https://e.com/s?ref=front-page&src=home"),
    ],
)
def test_tracking_parameters_are_removed(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_other_parameters_are_kept_and_sorted() -> None:
    url = "https://www.irishnews.com/arc/outboundfeeds/rss/?outputType=xml&b=2&a=1&a=0"
    assert normalize_url(url) == (
        "https://www.irishnews.com/arc/outboundfeeds/rss/?a=0&a=1&b=2&outputType=xml"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://e.com/a#comments", "https://e.com/a"),
        ("HTTPS://WWW.Example.COM/Path/Case", "https://www.example.com/Path/Case"),
        ("http://e.com:80/a", "http://e.com/a"),
        ("https://e.com:443/a", "https://e.com/a"),
        ("http://e.com:443/a", "http://e.com:443/a"),
        ("https://127.0.0.1:8080/a", "https://127.0.0.1:8080/a"),
        ("https://e.com/a?", "https://e.com/a"),
        ("https://e.com", "https://e.com/"),
        ("https://e.com/section/", "https://e.com/section/"),
        ("https://e.com/section", "https://e.com/section"),
        ("https://user:secret@e.com/a", "https://e.com/a"),
        ("https://e.com./a", "https://e.com/a"),
        ("  https://e.com/a \n", "https://e.com/a"),
        ("https://e.com/caf\u00e9?q=\u00e9", "https://e.com/caf%C3%A9?q=%C3%A9"),
        ("https://e.com/caf%c3%a9", "https://e.com/caf%C3%A9"),
        ("https://e.com/%7Euser/a%2Fb", "https://e.com/~user/a%2Fb"),
        ("https://e.com/a/../b/./c", "https://e.com/b/c"),
        ("https://e.com/100%", "https://e.com/100%25"),
        ("https://b\u00fccher.example/x", "https://xn--bcher-kva.example/x"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ],
)
def test_normal_form(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        (
            "../world/story-one-two",
            "https://e.com/news/uk/",
            "https://e.com/news/world/story-one-two",
        ),
        ("/a?utm_source=x", "https://E.com/feed.xml", "https://e.com/a"),
        ("//cdn.e.com/a", "https://e.com/", "https://cdn.e.com/a"),
        ("https://other.org/a", "https://e.com/", "https://other.org/a"),
    ],
)
def test_relative_urls_resolve_against_base(url: str, base: str, expected: str) -> None:
    assert normalize_url(url, base=base) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ftp://e.com/file",
        "mailto:desk@e.com",
        "javascript:void(0)",
        "https:///no-host",
        "/relative/only",
        "",
        "http://e.com:99999/",
        "http://e.com:port/",
    ],
)
def test_invalid_urls_raise(url: str) -> None:
    with pytest.raises(InvalidURLError) as info:
        normalize_url(url)
    # Callers may catch either the package's root error or the standard one.
    assert isinstance(info.value, CrawlerError)
    assert isinstance(info.value, ValueError)


_TRICKY = st.sampled_from(
    [*"aZ09-._~%/?#&=+;:@!$'()*, é中", "%2F", "%41", "%zz", "%C3%A9", "..", "utm_source=x"]
)
_HOSTS = st.sampled_from(
    ["example.com", "WWW.Example.COM", "b\u00fccher.example", "127.0.0.1", "[::1]", "e.com:80"]
)


@PROPERTY
@given(st.sampled_from(["http", "https", "HTTPS"]), _HOSTS, st.lists(_TRICKY, max_size=25))
def test_normalize_is_idempotent(scheme: str, host: str, tail: list[str]) -> None:
    try:
        once = normalize_url(f"{scheme}://{host}/{''.join(tail)}")
    except InvalidURLError:
        return
    # normalize_url's cache takes a normal form for its own: check the computation itself.
    assert _normalize_url(once) == once
    assert "#" not in once


@PROPERTY
@given(st.text(max_size=40))
def test_normalize_is_idempotent_on_any_text(tail: str) -> None:
    try:
        once = normalize_url("https://e.com/" + tail)
    except InvalidURLError:
        return
    # normalize_url's cache takes a normal form for its own: check the computation itself.
    assert _normalize_url(once) == once


_PARAMS = st.lists(
    st.tuples(st.sampled_from(["id", "page", "lang", "q"]), st.text("abc123", max_size=3)),
    max_size=5,
)


@PROPERTY
@given(_PARAMS, st.randoms(use_true_random=False), st.sampled_from(["utm_medium", "fbclid", "CMP"]))
def test_parameter_order_and_tracking_do_not_change_the_normal_form(
    params: list[tuple[str, str]], rng: random.Random, tracking: str
) -> None:
    def url(pairs: list[tuple[str, str]]) -> str:
        query = "&".join(f"{k}={v}" for k, v in pairs)
        return f"https://e.com/story-one-two?{query}"

    shuffled = [*params, (tracking, "x")]
    rng.shuffle(shuffled)
    assert normalize_url(url(shuffled)) == normalize_url(url(params))


# --- host_key -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://WWW.BBC.co.uk/news", "www.bbc.co.uk"),
        ("https://e.com:443/", "e.com"),
        ("http://127.0.0.1:8123/a", "127.0.0.1:8123"),
        ("https://b\u00fccher.example/", "xn--bcher-kva.example"),
        ("http://[::1]:9000/", "[::1]:9000"),
    ],
)
def test_host_key(url: str, expected: str) -> None:
    assert host_key(url) == expected


def test_host_key_rejects_hostless_urls() -> None:
    with pytest.raises(InvalidURLError):
        host_key("file:///etc/hosts")


# --- identity_url -------------------------------------------------------------------------------

FEED_LINK = "https://www.theguardian.com/world/2024/may/12/ukraine-war?CMP=rss&utm_source=feed#top"
CANONICAL = "https://www.theguardian.com/world/2024/may/12/ukraine-war"


def test_identity_is_the_canonical_link() -> None:
    assert identity_url(FEED_LINK, CANONICAL) == CANONICAL
    # The same article reached from a section page has the same identity.
    assert identity_url(CANONICAL, CANONICAL) == CANONICAL


def test_amp_copy_takes_the_identity_of_the_article() -> None:
    amp = "https://amp.theguardian.com/world/2024/may/12/ukraine-war"
    assert identity_url(amp, CANONICAL) == CANONICAL


def test_canonical_link_is_normalised() -> None:
    canonical = "HTTPS://www.theguardian.com:443/world/2024/may/12/ukraine-war?utm_medium=x#a"
    assert identity_url(FEED_LINK, canonical) == CANONICAL


def test_without_canonical_the_final_url_is_the_identity() -> None:
    for canonical in (None, "", "   "):
        assert identity_url(FEED_LINK, canonical) == CANONICAL


def test_a_canonical_link_that_cannot_be_parsed_is_ignored() -> None:
    # urlsplit itself refuses an unclosed "[" in the host.
    for canonical in ("http://example.com[", "//www.theguardian.com]/world/x"):
        assert identity_url(FEED_LINK, canonical) == CANONICAL


@pytest.mark.parametrize(
    "canonical",
    [
        "https://aggregator.example/world/2024/may/12/ukraine-war",  # another site
        "https://co.uk/world/2024/may/12/ukraine-war",  # a bare suffix is no one's site
        "/world/2024/may/12/other-story",  # relative
        "ftp://www.theguardian.com/x",
        "not a url at all",
        "https://www.theguardian.com/",  # the front page, for every page of the site
        "https://www.theguardian.com:99999/x",
    ],
)
def test_unusable_canonical_links_are_ignored(canonical: str) -> None:
    final = "https://www.theguardian.com/world/2024/may/12/ukraine-war?CMP=rss"
    assert identity_url(final, canonical) == CANONICAL


def test_scheme_relative_canonical_takes_the_final_scheme() -> None:
    assert identity_url(FEED_LINK, "//www.theguardian.com/world/2024/may/12/ukraine-war") == (
        CANONICAL
    )


def test_allowed_decides_what_counts_as_the_same_site() -> None:
    bbc = Source(
        name="bbc",
        feeds=("https://feeds.bbci.co.uk/news/world/rss.xml",),
        allowed_domains=("bbc.com", "bbc.co.uk"),
    )
    final = "https://www.bbc.co.uk/news/world-europe-68123456"
    canonical = "https://www.bbc.com/news/world-europe-68123456"
    # Different domains: not the same site by host alone, but the source owns both.
    assert identity_url(final, canonical) == final
    assert identity_url(final, canonical, bbc.allows) == canonical
    assert identity_url(final, "https://www.cnn.com/x-y-z", bbc.allows) == final


def test_invalid_final_url_raises() -> None:
    with pytest.raises(InvalidURLError):
        identity_url("mailto:desk@e.com", CANONICAL)


# --- looks_like_article -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://www.irishnews.com/news/world/israel-strikes-rafah-as-talks-stall-CG7TE5XJXNG/",
        "https://www.japantimes.co.jp/news/2024/05/12/world/politics/election-result/",
        "https://www.news24.com/news24/world/news/sudan-army-says-it-retook-khartoum-20240512",
        "https://www3.nhk.or.jp/news/html/20240512/k10014445311000.html",
        "https://www.aljazeera.com/news/2024/5/12/israel-strikes-gaza",
        "https://www.theguardian.com/world/2024/may/12/ukraine",
        "https://www.tagesschau.de/ausland/europa/eu-arktis-gipfel-abschluss-100.html",
        "https://www.dw.com/en/germany-election-results/a-68912345",
        "https://timesofindia.indiatimes.com/world/us/x/articleshow/110012345.cms",
        "https://www.lemonde.fr/international/live/2024/05/12/en-direct-guerre-en-ukraine_6232749_3210.html",
    ],
)
def test_article_urls_look_like_articles(url: str) -> None:
    assert looks_like_article(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.irishnews.com/",
        "https://www.irishnews.com/news/world/",
        "https://www.theguardian.com/world/2024/may/",
        "https://www.aljazeera.com/news/2024/5/12/",
        "https://www.theguardian.com/profile/patrick-wintour-diplomatic-editor",
        "https://www.aljazeera.com/tag/israel-palestine-conflict/",
        "https://www.theguardian.com/world/series/the-week-in-wildlife-photos",
        "https://www.bbc.com/news/topics/c1vw6q14rzqt/russia-ukraine-war",
        "https://www.japantimes.co.jp/author/jiji-press-staff-writer/",
        "https://www.dw.com/en/video/world-news-bulletin-today/a-68912345",
        "https://www.cbc.ca/news/gallery/photos-of-the-week-in-review-1.7200123",
        "https://www.npr.org/podcasts/510310/npr-politics-podcast",
        "https://www.theguardian.com/world/newsletter-signup-first-edition",
        "https://www.scmp.com/subscribe-to-our-daily-newsletter-2024",
        "https://www.lemonde.fr/account/reset-your-password-now",
        "https://www.theguardian.com/search/ukraine-war-latest-news",
        "https://www.news24.com/news24/world/page/12345",
        "https://www.irishnews.com/news/world/page/2/",
        "https://ichef.bbci.co.uk/images/ic/976x549/p0hk5s2k-fire-crews-at-scene.jpg",
        "https://www.example.com/reports/annual-report-2024-12345.pdf",
        "https://www.abc.net.au/news/feed/52278/rss.xml",
        "https://www.lemonde.fr/sitemap_news.xml",
        "https://www.japantimes.co.jp/feed/",
        "https://www.euronews.com/rss",
        "ftp://example.com/2024/05/12/some-story-here",
        "not a url",
    ],
)
def test_other_urls_do_not_look_like_articles(url: str) -> None:
    assert not looks_like_article(url)
