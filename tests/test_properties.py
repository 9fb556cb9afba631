"""Properties that hold for any input: URL normalisation, storage keys, listings and extraction.

Each function meets text or bytes from the open web (or from a page that wants to break it). For
any input it returns, or raises the one error its docstring names; nothing else escapes. The
deadlines bound each example far above its normal cost (milliseconds): they catch run-away,
super-linear behaviour, not slowness.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver import InvalidKeyError, StorageError
from archiver.keys import (
    ARTICLES,
    article_id,
    article_prefix,
    check_key,
    check_prefix,
    html_key,
    observation_key,
    version_key,
)
from archiver.local import LocalStorage
from crawler.backfill import listing_day
from crawler.discovery import ListingError, page_links, parse_feed, parse_sitemap
from crawler.errors import InvalidURLError, PageTooLargeError
from crawler.extract import extract_article
from crawler.extract_fields import normalize_date
from crawler.extract_html import decode_html
from crawler.items import Article
from crawler.urls import (
    _canonical_form,
    _normalize_url,
    host_key,
    identity_url,
    looks_like_article,
    normalize_url,
)


def _bounded(seconds: float, examples: int) -> settings:
    # No example database: it would write files into the checkout.
    return settings(
        max_examples=examples,
        deadline=timedelta(seconds=seconds),
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


QUICK = _bounded(2, 300)
PAGES = _bounded(10, 60)

# Every code point, lone surrogates included: text decoded with "surrogateescape" has them.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=60)
URL_PIECES = st.sampled_from(
    [
        *"aZ09-._~%/?#&=+;:@!$'()*, \\\t\n",
        "é",
        "中",
        "\x00",
        "%00",
        "%2e%2e%2f",
        "%2F",
        "%zz",
        "%C0%AE",
        "..",
        "../",
        "//",
        "[",
        "]",
        "[::1]",
        ":99999",
        ":0",
        "@",
        "xn--",
        "utm_source=x",
        "\ud800",
        "\u202e",
        "\uff0e",
    ]
)
URL_TEXT = st.builds(
    "".join,
    st.lists(st.one_of(URL_PIECES, ANY_TEXT), max_size=12),
)
SCHEMES = st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "//", "http:", "h"])
HOSTS = st.sampled_from(
    ["example.com", "Ex.COM.", "b\u00fccher.example", "127.0.0.1", "[::1]", "", "a..b", "-x-"]
)
URLS = st.one_of(
    URL_TEXT,
    st.builds(lambda scheme, host, rest: scheme + host + rest, SCHEMES, HOSTS, URL_TEXT),
)


# --- URL normalisation ---------------------------------------------------------------------


@QUICK
@given(URLS, st.one_of(st.none(), URLS))
def test_normalize_url_raises_only_invalid_url_and_is_idempotent(
    url: str, base: str | None
) -> None:
    try:
        once = normalize_url(url, base=base)
    except InvalidURLError:
        return
    # normalize_url's cache takes a normal form for its own: check the computation itself.
    assert _normalize_url(once) == once
    assert once.startswith(("http://", "https://"))
    assert once.isascii()
    assert not any(ord(char) <= 0x20 or ord(char) == 0x7F for char in once)
    assert host_key(once) == host_key(once).lower()


# URLs built to take _normalize_url's short path, and its edges: hosts and ports it must hand
# on (a trailing dot, a default or zero-padded port, a port out of range), dot and empty
# segments.
PLAIN_LOOKING_URLS = st.builds(
    lambda scheme, host, port, path: scheme + host + port + path,
    st.sampled_from(["http://", "https://"]),
    st.sampled_from(
        [
            "example.com",
            "ex.com.",
            "127.0.0.1",
            "a..b",
            "-x-",
            "a_b.example",
            "xn--bcher-kva.example",
        ]
    ),
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":0080", ":65535"]),
    st.builds(
        "".join,
        st.lists(st.sampled_from([*"aZ09-._~", "/", "/.", "/..", "//", ".html"]), max_size=12),
    ).map(lambda path: "/" + path),
)


def _outcome(normalize: Callable[[str], str], url: str) -> str:
    try:
        return normalize(url)
    except InvalidURLError:
        return "InvalidURLError"


@QUICK
@given(st.one_of(PLAIN_LOOKING_URLS, URLS))
def test_the_short_path_of_normalisation_agrees_with_the_long_one(url: str) -> None:
    assert _outcome(_normalize_url, url) == _outcome(_canonical_form, url)


@QUICK
@given(URLS, st.one_of(st.none(), URLS))
def test_identity_url_is_a_normal_form_or_invalid_url(final: str, canonical: str | None) -> None:
    try:
        identity = identity_url(final, canonical)
    except InvalidURLError:
        return
    assert normalize_url(identity) == identity
    assert identity == normalize_url(final) or canonical is not None


@QUICK
@given(URLS)
def test_looks_like_article_always_answers(url: str) -> None:
    assert looks_like_article(url) in (True, False)


# --- storage keys --------------------------------------------------------------------------


@QUICK
@given(st.text(ANY_CHAR, min_size=1, max_size=200), st.integers(1, 10**9))
def test_keys_built_from_any_identity_are_valid_and_stay_in_their_prefix(
    identity: str, version: int
) -> None:
    try:
        aid = article_id(identity)
    except UnicodeEncodeError:
        # A lone surrogate is no text a URL can carry; normalize_url never produces one.
        return
    prefix = article_prefix(aid)
    assert prefix.startswith(f"{ARTICLES}/")
    keys = [
        version_key(aid, version),
        html_key(aid, aid * 2),
        observation_key(aid, "20260102T030405.123456Z", aid[:8]),
    ]
    for key in keys:
        assert check_key(key) == key
        assert key.startswith(prefix)
        assert "/../" not in key


@QUICK
@given(st.one_of(URL_TEXT, ANY_TEXT))
def test_a_valid_key_never_leaves_the_root(key: str) -> None:
    try:
        check_key(key)
    except InvalidKeyError:
        return
    resolved = os.path.normpath(os.path.join("/root", key))
    assert resolved.startswith("/root/")
    key.encode("utf-8")  # storable as a file name and as an S3 key alike
    assert check_prefix(key) == key


@pytest.fixture(scope="module")
def archive_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="newsarchive-props-") as folder:
        yield Path(folder)


@QUICK
@given(st.one_of(URL_TEXT, ANY_TEXT, st.text("a./\\", max_size=12)))
def test_local_storage_writes_only_inside_its_root(archive_root: Path, key: str) -> None:
    parent = archive_root / "writes"
    storage = LocalStorage(parent / "archive")
    try:
        storage.put(key, b"x", content_type="text/plain")
    except InvalidKeyError:
        for operation in (storage.get, storage.exists, storage.delete):
            with pytest.raises(InvalidKeyError):
                operation(key)
        return
    except StorageError:
        # A key the file system cannot hold (a name too long, say) is a storage failure.
        return
    written = storage.root.joinpath(key).resolve()
    assert written.is_relative_to(storage.root.resolve())
    assert written.read_bytes() == b"x"
    assert storage.get(key) == b"x"
    assert storage.exists(key)
    assert key in set(storage.list(""))
    storage.delete(key)
    assert not storage.exists(key)
    # Nothing outside the root: the archive folder is the only entry beside it.
    assert [entry.name for entry in parent.iterdir()] == ["archive"]


LONG_SEGMENTS = st.builds(
    "/".join, st.lists(st.text(st.sampled_from("ab\u00e9."), min_size=1, max_size=300), max_size=3)
)


@QUICK
@given(st.one_of(LONG_SEGMENTS, st.text(ANY_CHAR, max_size=300)))
def test_local_storage_answers_any_key_with_a_value_or_a_documented_error(
    archive_root: Path, key: str
) -> None:
    (archive_root / "empty").mkdir(exist_ok=True)
    storage = LocalStorage(archive_root / "empty")
    try:
        assert storage.get(key) is None
        assert storage.exists(key) is False
        storage.delete(key)
    except InvalidKeyError:
        with pytest.raises(InvalidKeyError):
            check_key(key)
    except StorageError as err:
        message = str(err)
        assert "too long" in message


# --- listings and dates ----------------------------------------------------------------------

XML_PIECES = st.sampled_from(
    [
        '<?xml version="1.0"?>',
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE x SYSTEM "http://127.0.0.1:9/never.dtd">',
        '<!ENTITY e SYSTEM "file:///etc/passwd">',
        "<rss>",
        "<channel>",
        "<item>",
        "<link>",
        "</link>",
        "https://e.com/a-b-c",
        "&b;",
        "&e;",
        "<urlset>",
        "<sitemapindex>",
        "<sitemap>",
        "<url>",
        "<loc>",
        "</loc>",
        "<feed>",
        "<entry>",
        '<link href="/x-y-z"/>',
        "<![CDATA[",
        "]]>",
        "<a href='",
        "<a rel=next href=",
        "'>",
        "\x00",
        "\xff",
    ]
)
XML_BYTES = st.builds(
    lambda parts: "".join(parts).encode("utf-8", "surrogatepass"),
    st.lists(st.one_of(XML_PIECES, ANY_TEXT), max_size=30),
)


@QUICK
@given(st.one_of(XML_BYTES, st.binary(max_size=300)))
def test_listing_parsers_raise_only_listing_error(body: bytes) -> None:
    for parse in (parse_feed, parse_sitemap):
        with contextlib.suppress(ListingError):
            parse(body)
    try:
        links, next_links = page_links(body, "utf-8", "https://e.com/section/")
    except ListingError:
        return
    assert all(isinstance(link, str) for link in [*links, *next_links])


@QUICK
@given(st.one_of(ANY_TEXT, st.sampled_from(["2026-02-30", "99999-01-01", "-1", "0000-00-00"])))
def test_dates_from_pages_and_listings_never_raise(text: str) -> None:
    fetched = datetime(2026, 5, 1, tzinfo=UTC)
    value = normalize_date(text, fetched_at=fetched, url="https://e.com/a", field="date")
    if value is not None:
        assert 1800 < datetime.fromisoformat(value).year <= 2026
    day = listing_day(text)
    assert day is None or day.year >= 1


# --- extraction ----------------------------------------------------------------------------

TAGS = st.sampled_from(["p", "div", "article", "h1", "span", "a", "table", "td", "script", "b"])
WORDS = st.lists(st.sampled_from(["news", "the", "talks", "mayor", "é", "中文", "&amp;", "<"]))
DATES = st.sampled_from(
    ["2026-02-30", "99999-12-31T00:00:00Z", "9999-12-31", "-62135596800", "2026-01-01", "", "x"]
)


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    """Build a small page: nested elements, prose, and structured data with odd values."""
    body: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        tag = draw(TAGS)
        depth = draw(st.integers(0, 40))
        text = " ".join(draw(WORDS))
        closed = draw(st.booleans())
        body.append(f"<{tag}>" * depth + text + (f"</{tag}>" * depth if closed else ""))
    json_ld = {
        "@type": draw(st.sampled_from(["NewsArticle", ["Article"], None, 7])),
        "headline": draw(st.one_of(ANY_TEXT, st.none(), st.integers())),
        "datePublished": draw(st.one_of(DATES, st.integers(), st.none())),
        "author": draw(st.one_of(ANY_TEXT, st.lists(ANY_TEXT, max_size=3), st.none())),
    }
    script = json.dumps(json_ld) if draw(st.booleans()) else draw(ANY_TEXT)
    head = (
        f'<meta property="article:published_time" content="{draw(DATES)}">'
        f'<script type="application/ld+json">{script}</script>'
    )
    return f"<html><head>{head}</head><body>{''.join(body)}</body></html>"


def _extracts_or_refuses(page: str | bytes, encoding: str | None = None) -> None:
    fetched = datetime(2026, 5, 1, tzinfo=UTC)
    try:
        article = extract_article(
            page, "https://e.com/a-b-c", fetched_at=fetched, encoding=encoding
        )
    except PageTooLargeError:
        return
    assert article is None or isinstance(article, Article)
    if article is not None and article.date_published is not None:
        assert datetime.fromisoformat(article.date_published).year <= 2026


@PAGES
@given(html_documents())
def test_extraction_of_generated_pages_gives_an_article_or_none(page: str) -> None:
    _extracts_or_refuses(page)


@PAGES
@given(
    st.binary(max_size=2000),
    st.sampled_from([None, "utf-8", "shift_jis", "latin-1", "utf-16", "x-unknown", ""]),
)
def test_extraction_of_any_bytes_gives_an_article_or_none(
    page: bytes, encoding: str | None
) -> None:
    _extracts_or_refuses(page, encoding)
    assert isinstance(decode_html(page, encoding), str)


@PAGES
@given(st.text(ANY_CHAR, max_size=2000))
def test_extraction_of_any_text_gives_an_article_or_none(page: str) -> None:
    _extracts_or_refuses(page)
