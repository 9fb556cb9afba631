"""Article extraction against golden page fixtures, trafilatura alone, and malformed input."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
import trafilatura

from crawler.extract import MIN_BODY_WORDS, article_to_json, extract_article
from crawler.items import Article
from tests.extraction_golden import PHRASE_KEYS, GoldenCase, case_names, load_case

CASES = case_names()
ARTICLE_CASES = [name for name in CASES if load_case(name).expected.get("is_article", True)]
URL = "https://news.example/world/2023/03/02/story"
FETCHED = datetime(2023, 3, 2, 15, 0, tzinfo=UTC)


def _phrases(case: GoldenCase, key: str) -> list[str]:
    phrases: list[str] = case.expected.get(key, [])
    return phrases


def test_fixture_set_covers_articles_and_non_articles() -> None:
    assert len(ARTICLE_CASES) >= 7
    assert len(set(CASES) - set(ARTICLE_CASES)) >= 3


@pytest.mark.parametrize("name", CASES)
def test_golden_fields(name: str) -> None:
    case = load_case(name)
    article = case.extract()
    if not case.expected["is_article"]:
        assert article is None
        return
    assert article is not None
    assert article.url == case.url
    actual = article.to_dict()
    for key, value in case.expected.items():
        if key not in ("is_article", *PHRASE_KEYS):
            assert actual[key] == value, key


@pytest.mark.parametrize("name", ARTICLE_CASES)
def test_golden_body_phrases(name: str) -> None:
    case = load_case(name)
    article = case.extract()
    assert article is not None
    assert _phrases(case, "body_must_contain"), "every article case lists body phrases"
    for phrase in _phrases(case, "body_must_contain"):
        assert phrase in article.body
    for phrase in _phrases(case, "body_must_not_contain"):
        assert phrase not in article.body


@pytest.mark.parametrize("name", ARTICLE_CASES)
def test_body_has_no_caption_or_credit_lines(name: str) -> None:
    article = load_case(name).extract()
    assert article is not None
    lines = article.body.splitlines()
    assert all(line.strip() == line and line for line in lines)
    assert article.images
    for image in article.images:
        assert image.caption is None or image.caption not in article.body
        assert image.credit not in lines


@pytest.mark.parametrize("name", ARTICLE_CASES)
def test_not_worse_than_trafilatura_alone(name: str) -> None:
    case = load_case(name)
    article = case.extract()
    assert article is not None
    baseline = trafilatura.extract(case.page, url=case.url) or ""
    must = _phrases(case, "body_must_contain")
    ours = sum(phrase in article.body for phrase in must)
    theirs = sum(phrase in baseline for phrase in must)
    assert ours >= theirs
    leaked = [
        phrase
        for phrase in _phrases(case, "body_must_not_contain")
        if phrase in article.body and phrase not in baseline
    ]
    assert leaked == []


def test_seed_article_comes_out_whole_and_clean() -> None:
    case = load_case("regional_seed")
    article = case.extract()
    assert article is not None
    assert article.headline == (
        "US secretary of state and Russian foreign minister hold 10-minute chat at G20"
    )
    assert article.section == "World news"
    assert article.authors == ["Associated Press Reporter"]
    caption = (
        "Sergei Lavrov smokes as he walks to the second session"
        " of the G20 foreign ministers meeting"
    )
    assert [(image.caption, image.credit, image.role) for image in article.images] == [
        (caption, "Manish Swarup/AP", "lead"),
        (caption, "Manish Swarup/AP", "inline"),
    ]
    lines = article.body.splitlines()
    assert lines == case.expected["body"].splitlines()
    assert len(lines) == 16
    assert lines[0].startswith("US secretary of state Antony Blinken")
    assert lines[-1].endswith("had not come face-to-face until Thursday.")
    assert "World news" not in lines
    assert article.word_count == sum(len(line.split()) for line in lines)


def test_future_date_is_dropped_with_a_warning_naming_the_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    case = load_case("jsonld_graph")
    with caplog.at_level(logging.WARNING, logger="crawler"):
        article = case.extract()
    assert article is not None
    assert article.date_modified is None
    assert article.date_published == "2023-06-22T02:15:00+00:00"
    warnings = [record.getMessage() for record in caplog.records]
    assert any("date_modified" in message and case.url in message for message in warnings)


def _page(body: str, head: str = "", lang: str = "en") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>Story</title>{head}</head><body>"
        '<nav><a href="/">Home</a> <a href="/world">World</a></nav>'
        f"<main><article><h1>Ministers meet in Geneva for talks on the crisis</h1>{body}"
        "</article></main><footer>Copyright 2023 News Example</footer></body></html>"
    )


_SENTENCE = (
    "Delegates from twelve countries met in Geneva on Thursday to discuss the crisis"
    " and agreed to meet again next month."
)


def _paragraphs(count: int, extra: str = "") -> str:
    """Return ``count`` distinct paragraphs of about twenty words each."""
    return "".join(
        f"<p>{_SENTENCE.replace('twelve', str(number))}{extra}</p>" for number in range(count)
    )


_TYPED = (
    '<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",'
    '"headline":"Ministers meet in Geneva for talks on the crisis"}</script>'
)


def test_short_typed_article_with_real_paragraphs_is_kept() -> None:
    body = _paragraphs(2)
    assert len(body.split()) < MIN_BODY_WORDS
    article = extract_article(_page(body, _TYPED), URL, fetched_at=FETCHED)
    assert article is not None
    assert len(article.body.splitlines()) == 2


def test_short_untyped_page_is_not_an_article() -> None:
    body = _paragraphs(2)
    assert extract_article(_page(body), URL, fetched_at=FETCHED) is None


def test_paywall_teaser_is_not_an_article_even_when_typed() -> None:
    typed_locked = _TYPED.replace('"NewsArticle",', '"NewsArticle","isAccessibleForFree":false,')
    body = _paragraphs(2)
    assert extract_article(_page(body, typed_locked), URL, fetched_at=FETCHED) is None
    assert extract_article(_page(body, _TYPED), URL, fetched_at=FETCHED) is not None


def test_long_untyped_article_is_kept() -> None:
    article = extract_article(_page(_paragraphs(6)), URL, fetched_at=FETCHED)
    assert article is not None
    assert article.word_count > MIN_BODY_WORDS
    assert article.language == "en"


def test_repeated_extraction_of_a_page_gives_the_same_article() -> None:
    # Re-fetching a page is how new versions are found: nothing may be treated as already seen.
    case = load_case("guardian_style")
    first = case.extract()
    assert first is not None
    for _ in range(4):
        assert case.extract() == first


def test_str_and_bytes_input_agree() -> None:
    case = load_case("regional_seed")
    from_bytes = case.extract()
    from_str = extract_article(case.page.decode("utf-8"), case.url, fetched_at=case.fetched_at)
    assert from_str == from_bytes


def test_http_charset_is_honoured_for_bytes() -> None:
    page = _page(_paragraphs(4, " Café owners in Zürich")).replace('<meta charset="utf-8">', "")
    data = page.encode("cp1252")
    article = extract_article(data, URL, fetched_at=FETCHED, encoding="windows-1252")
    assert article is not None
    assert "Café owners in Zürich" in article.body


def test_fetch_time_defaults_to_now() -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    head = _TYPED.replace('"NewsArticle",', f'"NewsArticle","datePublished":"{tomorrow}",')
    article = extract_article(_page(_paragraphs(3), head), "https://news.example/world/story")
    assert article is not None
    assert article.date_published is None


def test_article_to_json_round_trips_and_keeps_non_ascii() -> None:
    article = load_case("cp1252_bytes").extract()
    assert article is not None
    text = article_to_json(article)
    assert "Élise Moreau" in text
    assert text.startswith('{\n  "url": ')
    assert Article.from_dict(json.loads(text)) == article


@pytest.mark.parametrize(
    "page",
    [
        "",
        "   \n\t ",
        "<html>",
        "<html></html>",
        "<html><head></head><body></body></html>",
        "<p>just a fragment</p>",
        "<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
        "<html><body>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "</body></html>",
        "<html><head><script type='application/ld+json'>{broken</script></head></html>",
        '<html><head><script type="application/ld+json">[[[]], 1, "x", null]</script></head>'
        "</html>",
        "\x00\x01\x02<html>\x00<body>\x0b\x0c</body>",
        b"",
        b"\xff\xfe\x00\x00garbage",
        b"\xef\xbb\xbf",
        bytes(range(256)) * 40,
        b"<html><head><meta charset='no-such-charset'></head><body>\x81\x8d\x8f</body></html>",
    ],
)
def test_malformed_input_never_raises(page: str | bytes) -> None:
    result = extract_article(page, URL, fetched_at=FETCHED)
    assert result is None or isinstance(result, Article)


def test_truncated_page_still_extracts() -> None:
    case = load_case("regional_seed")
    half = case.page[: len(case.page) * 2 // 3]
    article = extract_article(half, case.url, fetched_at=case.fetched_at)
    assert article is not None
    assert "US secretary of state Antony Blinken" in article.body
    assert "Sergei Lavrov smokes" not in article.body


def test_body_wrapper_with_furniture_like_class_is_kept() -> None:
    # Class names such as "captioned-story" or "js-comments-enabled" must not cost the body.
    body = (
        '<div class="captioned-story js-comments-enabled share-tools">'
        f'{_paragraphs(5)}<figure><img src="a.jpg"><figcaption>Delegates arrive (Jane Doe/AP)'
        '</figcaption></figure><div class="related-links"><a href="/other">Other story</a></div>'
        "</div>"
    )
    article = extract_article(_page(body, _TYPED), URL, fetched_at=FETCHED)
    assert article is not None
    assert len(article.body.splitlines()) == 5
    assert "Other story" not in article.body
    assert "Delegates arrive" not in article.body
    assert [(image.caption, image.credit) for image in article.images] == [
        ("Delegates arrive", "Jane Doe/AP")
    ]
