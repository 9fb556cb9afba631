"""The sources file: the shipped default, validation messages, selection and URL membership."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.errors import CrawlerError, SourcesError
from crawler.sources import Source, default_sources_path, load_sources, select_sources

DOCS = Path(__file__).resolve().parents[1] / "docs" / "sources.md"

GOOD_SOURCE = """
[sources.bbc]
feeds = ["https://feeds.bbci.co.uk/news/world/rss.xml"]
allowed_domains = ["bbc.co.uk", "bbc.com"]
"""


def write(tmp_path: Path, text: str, name: str = "sources.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(SourcesError) as info:
        load_sources(path)
    assert isinstance(info.value, CrawlerError)
    return str(info.value)


# --- the shipped default ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> dict[str, Source]:
    return load_sources()


def test_default_path_is_the_bundled_file(shipped: dict[str, Source]) -> None:
    path = default_sources_path()
    assert path.is_file()
    assert path.name == "sources.toml"
    assert load_sources(path) == shipped


def test_shipped_sources_cover_the_world(shipped: dict[str, Source]) -> None:
    assert len(shipped) >= 15
    assert len({s.language for s in shipped.values()}) >= 5
    assert len({s.region for s in shipped.values()}) >= 10
    assert all(s.language and s.region and s.enabled for s in shipped.values())


def test_shipped_sources_are_well_formed(shipped: dict[str, Source]) -> None:
    for name, source in shipped.items():
        assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name)
        assert source.name == name
        listings = (*source.feeds, *source.sitemaps, *source.sections)
        assert listings, name
        for url in listings:
            assert urlsplit(url).scheme == "https", url
            # Listings live on the source's own hosts, so the crawl never goes off-site.
            assert source.allows(url), url
            assert not source.is_article_url(url), url


def test_shipped_politeness_defaults(shipped: dict[str, Source]) -> None:
    for source in shipped.values():
        assert source.download_delay == 2.0
        assert source.concurrency == 2
    assert shipped["guardian-world"].schedule == "30m"
    assert shipped["ap"].schedule == "15m"


@pytest.mark.parametrize(
    ("name", "article", "not_article"),
    [
        (
            "bbc-world",
            "https://www.bbc.com/news/articles/c0k8v3x8xq1o?at_medium=RSS&at_campaign=rss",
            "https://www.bbc.com/news/world-middle-east",
        ),
        (
            "guardian-world",
            "https://www.theguardian.com/world/2024/may/12/ukraine-war-latest",
            "https://www.theguardian.com/world/video/2024/may/12/rafah-aerial-footage",
        ),
        (
            "reuters",
            "https://www.reuters.com/world/europe/russia-says-it-downed-drones-2024-05-12/",
            "https://www.reuters.com/world/europe/",
        ),
        (
            "ap",
            "https://apnews.com/article/israel-hamas-war-gaza-rafah-3f8b2c1d4e5f67890a1b2c3d4e",
            "https://apnews.com/hub/israel-hamas-war",
        ),
        (
            "lemonde-international",
            "https://www.lemonde.fr/international/article/2024/05/12/en-ukraine_6232749_3210.html",
            "https://www.lemonde.fr/ukraine/",
        ),
        (
            "elpais-internacional",
            "https://elpais.com/internacional/2024-05-12/israel-ordena-evacuar-rafah.html",
            "https://elpais.com/internacional/ultimas-noticias-del-mundo/",
        ),
        (
            "dw-es",
            "https://www.dw.com/es/alemania-eleva-la-alerta/a-68912345",
            "https://www.dw.com/en/germany-raises-the-alert/a-68912345",
        ),
        (
            "irish-news",
            "https://www.irishnews.com/news/world/israel-strikes-rafah-as-talks-stall-CG7TE5XJ/",
            "https://www.irishnews.com/news/world/",
        ),
    ],
)
def test_shipped_article_recognition(
    shipped: dict[str, Source], name: str, article: str, not_article: str
) -> None:
    assert shipped[name].is_article_url(article)
    assert not shipped[name].is_article_url(not_article)


def test_docs_list_every_shipped_source(shipped: dict[str, Source]) -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in shipped:
        assert f"| `{name}` |" in text, name


# --- loading a file -----------------------------------------------------------------------------


def test_a_full_source_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [defaults]
        download_delay = 1
        concurrency = 3
        schedule = "1h"

        [sources."the-paper.intl"]
        feeds = [" https://www.paper.example/world/rss.xml ", "https://www.paper.example/world/rss.xml"]
        sitemaps = ["https://www.paper.example/news-sitemap.xml"]
        sections = ["https://www.paper.example/world/"]
        allowed_domains = ["Paper.example", "127.0.0.1:8080"]
        article_patterns = ['/world/\\d{4}/', '-\\d+\\.html$']
        download_delay = 0.5
        language = "pt-BR"
        region = "BR"
        enabled = false
        schedule = "*/15 6-22 * jan-mar,jul mon-fri"

        [sources.other]
        sections = ["http://127.0.0.1:8080/section"]
        allowed_domains = ["127.0.0.1:8080"]
        """.replace("\n        ", "\n"),
    )
    sources = load_sources(str(path))
    assert list(sources) == ["the-paper.intl", "other"]
    paper = sources["the-paper.intl"]
    assert paper.feeds == ("https://www.paper.example/world/rss.xml",)
    assert paper.sitemaps == ("https://www.paper.example/news-sitemap.xml",)
    assert paper.sections == ("https://www.paper.example/world/",)
    assert paper.allowed_domains == ("paper.example", "127.0.0.1:8080")
    assert paper.article_pattern_strings == ("/world/\\d{4}/", "-\\d+\\.html$")
    assert all(isinstance(p, re.Pattern) for p in paper.article_patterns)
    assert (paper.download_delay, paper.concurrency) == (0.5, 3)
    assert (paper.language, paper.region, paper.enabled) == ("pt-BR", "BR", False)
    assert paper.schedule == "*/15 6-22 * jan-mar,jul mon-fri"
    other = sources["other"]
    assert (other.download_delay, other.concurrency, other.schedule) == (1.0, 3, "1h")
    assert isinstance(other.download_delay, float)
    assert (other.language, other.region, other.enabled) == (None, None, True)


def test_without_defaults_politeness_is_left_to_the_crawl(tmp_path: Path) -> None:
    source = load_sources(write(tmp_path, GOOD_SOURCE))["bbc"]
    assert (source.download_delay, source.concurrency, source.schedule) == (None, None, None)


# Each case: (file text, the source or table named, the key named, the rest of the message).
INVALID = [
    (
        '[sources.bbc]\nfeeds = "https://feeds.bbci.co.uk/news/world/rss.xml"\n'
        'allowed_domains = ["bbc.co.uk"]',
        "source 'bbc'",
        "key 'feeds'",
        "expected a list of URLs, got str",
    ),
    (
        '[sources.bbc]\nfeeds = ["https://bbc.co.uk/rss.xml", "ftp://x"]\n'
        'allowed_domains = ["bbc.co.uk"]',
        "source 'bbc'",
        "key 'feeds[1]'",
        "not an absolute http(s) URL: 'ftp://x'",
    ),
    (
        '[sources.bbc]\nsitemaps = ["/sitemap.xml"]\nallowed_domains = ["bbc.co.uk"]',
        "source 'bbc'",
        "key 'sitemaps[0]'",
        "not an absolute http(s) URL: '/sitemap.xml'",
    ),
    (
        '[sources.bbc]\nsections = [3]\nallowed_domains = ["bbc.co.uk"]',
        "source 'bbc'",
        "key 'sections[0]'",
        "expected a string, got int",
    ),
    (
        GOOD_SOURCE + "article_patterns = ['/news/(unclosed']",
        "source 'bbc'",
        "key 'article_patterns[0]'",
        "invalid regex: missing ), unterminated subpattern",
    ),
    (
        GOOD_SOURCE + "article_patterns = '/news/'",
        "source 'bbc'",
        "key 'article_patterns'",
        "expected a list of regexes, got str",
    ),
    (
        '[sources.bbc]\nfeed = ["https://bbc.co.uk/rss.xml"]\nallowed_domains = ["bbc.co.uk"]',
        "source 'bbc'",
        "unknown key 'feed'",
        "(did you mean 'feeds'?)",
    ),
    (
        '[sources.bbc]\nallowed_domains = ["bbc.co.uk"]\nlanguage = "en"',
        "source 'bbc'",
        "no feeds, sitemaps or sections",
        "give at least one URL",
    ),
    (
        '[sources.bbc]\nfeeds = ["https://bbc.co.uk/rss.xml"]',
        "source 'bbc'",
        "key 'allowed_domains'",
        "missing",
    ),
    (
        '[sources.bbc]\nfeeds = ["https://bbc.co.uk/rss.xml"]\nallowed_domains = []',
        "source 'bbc'",
        "key 'allowed_domains'",
        "empty",
    ),
    (
        '[sources.bbc]\nfeeds = ["https://bbc.co.uk/rss.xml"]\n'
        'allowed_domains = ["bbc.co.uk", "https://www.bbc.com/"]',
        "source 'bbc'",
        "key 'allowed_domains[1]'",
        "expected a host name or host:port, got 'https://www.bbc.com/'",
    ),
    (
        '[sources.bbc]\nfeeds = ["https://bbc.co.uk/rss.xml"]\nallowed_domains = ["bbc.co.uk:0"]',
        "source 'bbc'",
        "key 'allowed_domains[0]'",
        "expected a host name or host:port",
    ),
    (
        GOOD_SOURCE + "download_delay = -1",
        "source 'bbc'",
        "key 'download_delay'",
        "expected a finite number >= 0, got -1",
    ),
    (
        GOOD_SOURCE + "download_delay = nan",
        "source 'bbc'",
        "key 'download_delay'",
        "expected a finite number >= 0, got nan",
    ),
    (
        GOOD_SOURCE + 'download_delay = "2s"',
        "source 'bbc'",
        "key 'download_delay'",
        "expected seconds, got str",
    ),
    (
        GOOD_SOURCE + "concurrency = 0",
        "source 'bbc'",
        "key 'concurrency'",
        "expected an integer >= 1, got 0",
    ),
    (
        GOOD_SOURCE + "concurrency = true",
        "source 'bbc'",
        "key 'concurrency'",
        "expected an integer, got bool",
    ),
    (
        GOOD_SOURCE + "concurrency = 1.5",
        "source 'bbc'",
        "key 'concurrency'",
        "expected an integer, got float",
    ),
    (
        GOOD_SOURCE + 'enabled = "yes"',
        "source 'bbc'",
        "key 'enabled'",
        "expected true or false, got str",
    ),
    (
        GOOD_SOURCE + 'language = "english"',
        "source 'bbc'",
        "key 'language'",
        "expected a BCP 47 tag",
    ),
    (
        GOOD_SOURCE + "region = 44",
        "source 'bbc'",
        "key 'region'",
        "expected a string, got int",
    ),
    (
        GOOD_SOURCE + 'schedule = "often"',
        "source 'bbc'",
        "key 'schedule'",
        "expected an interval such as '30m' or '1h', or 5 cron fields, got 'often'",
    ),
    (
        GOOD_SOURCE + 'schedule = "0m"',
        "source 'bbc'",
        "key 'schedule'",
        "got '0m'",
    ),
    (
        GOOD_SOURCE + 'schedule = "61 * * * *"',
        "source 'bbc'",
        "key 'schedule'",
        "cron minute field '61': 61 is outside 0-59",
    ),
    (
        GOOD_SOURCE + 'schedule = "*/0 * * * *"',
        "source 'bbc'",
        "key 'schedule'",
        "cron minute field '*/0': a step must be 1 or more",
    ),
    (
        GOOD_SOURCE + 'schedule = "0 6 * * fri-mon"',
        "source 'bbc'",
        "key 'schedule'",
        "cron day of week field 'fri-mon': range 'fri-mon' runs backwards",
    ),
    (
        GOOD_SOURCE + 'schedule = "0 6 * smarch *"',
        "source 'bbc'",
        "key 'schedule'",
        "cron month field 'smarch': 'smarch' is not a number",
    ),
    (
        GOOD_SOURCE + 'revisit = "1h,6h"',
        "source 'bbc'",
        "key 'revisit'",
        "expected a list of durations, got str",
    ),
    (
        GOOD_SOURCE + 'revisit = ["1h", "a week"]',
        "source 'bbc'",
        "key 'revisit[1]'",
        "expected a duration such as '30m', '6h' or '3d', got 'a week'",
    ),
    (
        GOOD_SOURCE + 'revisit = ["1h", 6]',
        "source 'bbc'",
        "key 'revisit[1]'",
        "expected a string, got int",
    ),
    (
        GOOD_SOURCE + 'revisit = ["1d", "6h"]',
        "source 'bbc'",
        "key 'revisit'",
        "may not decrease: '6h' after '1d'",
    ),
    (
        "[defaults]\nrevisit = []\n" + GOOD_SOURCE,
        "[defaults]",
        "unknown key 'revisit'",
        "",
    ),
    (
        GOOD_SOURCE.replace("bbc]", "BBC-News]"),
        "source 'BBC-News'",
        "invalid name",
        "use lowercase letters, digits",
    ),
    (
        '[sources]\nbbc = "https://www.bbc.co.uk/"',
        "source 'bbc'",
        "expected a table",
        "got str",
    ),
    (
        "[defaults]\ndownload_delay = -2\n" + GOOD_SOURCE,
        "[defaults]",
        "key 'download_delay'",
        "expected a finite number >= 0",
    ),
    (
        "[defaults]\nconcurency = 2\n" + GOOD_SOURCE,
        "[defaults]",
        "unknown key 'concurency'",
        "(did you mean 'concurrency'?)",
    ),
    (
        '[defaults]\nlanguage = "en"\n' + GOOD_SOURCE,
        "[defaults]",
        "unknown key 'language'",
        "",
    ),
    (
        '[source.bbc]\nfeeds = ["https://bbc.co.uk/rss.xml"]',
        "top level",
        "unknown key 'source'",
        "(did you mean 'sources'?)",
    ),
    (
        "[defaults]\nconcurrency = 2\n",
        "top level",
        "key 'sources'",
        "expected [sources.NAME] tables, got nothing",
    ),
    (
        'defaults = 3\n[sources.bbc]\nfeeds = ["https://bbc.co.uk/rss.xml"]',
        "top level",
        "key 'defaults'",
        "expected a table, got int",
    ),
]


@pytest.mark.parametrize(("text", "where", "key", "message"), INVALID)
def test_invalid_files_name_file_source_and_key(
    tmp_path: Path, text: str, where: str, key: str, message: str
) -> None:
    error = load_error(write(tmp_path, text, name="my-sources.toml"))
    assert error.startswith(f"{tmp_path / 'my-sources.toml'}: {where}: ")
    assert key in error
    assert message in error


def test_toml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_SOURCE + 'language = "en\n')
    error = load_error(path)
    assert error.startswith(f"{path}: invalid TOML: ")
    assert "line 5" in error


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    assert load_error(path) == f"{path}: file not found"


def test_unreadable_file(tmp_path: Path) -> None:
    assert load_error(tmp_path).startswith(f"{tmp_path}: cannot read: ")


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD_SOURCE.encode() + b'region = "Espa\xf1a"\n')
    assert load_error(path).startswith(f"{path}: ")


@pytest.mark.parametrize(
    "schedule", ["15m", "1h", "90s", "1d", "0 * * * *", "*/5 0-23/2 1,15 * 0-7", "0 6 * dec sun"]
)
def test_valid_schedules_load(tmp_path: Path, schedule: str) -> None:
    path = write(tmp_path, GOOD_SOURCE + f'schedule = "{schedule}"')
    assert load_sources(path)["bbc"].schedule == schedule


def test_revisit_schedules_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD_SOURCE
        + 'revisit = ["30m", " 2h", "1d"]\n'
        + GOOD_SOURCE.replace("bbc]", "quiet]")
        + "revisit = []\n"
        + GOOD_SOURCE.replace("bbc]", "plain]"),
    )
    sources = load_sources(path)
    assert sources["bbc"].revisit == ("30m", "2h", "1d")
    assert sources["quiet"].revisit == ()
    assert sources["plain"].revisit is None


# --- select_sources -----------------------------------------------------------------------------


def test_select_keeps_the_order_given_once(shipped: dict[str, Source]) -> None:
    chosen = select_sources(shipped, ["reuters", "ap", "reuters"])
    assert [s.name for s in chosen] == ["reuters", "ap"]
    assert select_sources(shipped, []) == []


def test_select_names_unknown_and_known_sources(shipped: dict[str, Source]) -> None:
    with pytest.raises(SourcesError) as info:
        select_sources(shipped, ["ap", "bbc-wrld", "nosuch"])
    message = str(info.value)
    assert message.startswith("unknown sources 'bbc-wrld' (did you mean 'bbc-world'?), 'nosuch';")
    assert "known sources: " in message
    for name in shipped:
        assert name in message.split("known sources: ")[1]


# --- allows / is_article_url --------------------------------------------------------------------


def source(*domains: str, patterns: tuple[str, ...] = ()) -> Source:
    return Source(
        name="s",
        feeds=("https://feeds.example/rss",),
        allowed_domains=domains,
        article_patterns=tuple(re.compile(p) for p in patterns),
    )


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://bbc.co.uk/news", True),
        ("https://www.bbc.co.uk/news", True),
        ("https://WWW.BBC.CO.UK./news", True),
        ("http://m.news.bbc.co.uk:8080/news", True),  # an entry without port allows any port
        ("https://notbbc.co.uk/news", False),
        ("https://bbc.co.uk.evil.example/news", False),
        ("https://co.uk/news", False),
        ("ftp://bbc.co.uk/news", False),
        ("not a url", False),
    ],
)
def test_allows_hosts_and_subdomains(url: str, allowed: bool) -> None:
    assert source("bbc.co.uk").allows(url) is allowed


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8080/a", True),
        ("http://127.0.0.1:8081/a", False),
        ("http://127.0.0.1/a", False),
        ("https://example.org/a", True),  # 443 is the https default
        ("https://www.example.org:443/a", True),
        ("http://example.org/a", False),
        ("https://example.org:8443/a", False),
    ],
)
def test_port_entries_allow_only_their_port(url: str, allowed: bool) -> None:
    assert source("127.0.0.1:8080", "example.org:443").allows(url) is allowed


def test_article_patterns_decide_for_allowed_urls() -> None:
    paper = source("paper.example", patterns=(r"^https://www\.paper\.example/\d{4}/[a-z-]+$",))
    assert paper.is_article_url("https://www.paper.example/2024/some-story")
    # The pattern is searched in the normalised URL: case of host, tracking, fragment, port.
    assert paper.is_article_url("HTTPS://WWW.Paper.Example:443/2024/some-story?utm_source=x#c")
    assert not paper.is_article_url("https://www.paper.example/2024/some-story?page=2")
    assert not paper.is_article_url("https://www.paper.example/world/a-long-story-slug")


def test_patterns_never_admit_other_sites() -> None:
    paper = source("paper.example", patterns=(r"/\d{4}/",))
    assert paper.is_article_url("https://paper.example/2024/x")
    assert not paper.is_article_url("https://elsewhere.example/2024/x")


def test_without_patterns_the_heuristic_decides() -> None:
    paper = source("paper.example")
    assert paper.is_article_url("https://www.paper.example/world/ukraine-talks-resume-in-geneva")
    assert not paper.is_article_url("https://www.paper.example/tag/ukraine-talks-resume")
    assert not paper.is_article_url("https://www.other.example/world/ukraine-talks-resume")
