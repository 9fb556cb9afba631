"""Normalising authors, dates, language tags and reading bylines and section labels."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import lxml.html
import pytest

from crawler.extract_fields import (
    FUTURE_TOLERANCE,
    clean_authors,
    dedupe,
    dom_byline,
    dom_section,
    normalize_date,
    normalize_language,
)

FETCHED = datetime(2023, 3, 2, 15, 0, tzinfo=UTC)
URL = "https://news.example/world/story"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Associated Press Reporter"], ["Associated Press Reporter"]),
        (["By Jane Doe"], ["Jane Doe"]),
        (["BY JANE DOE"], ["JANE DOE"]),
        (["by: Jane Doe"], ["Jane Doe"]),
        (["Jane Doe and John Roe"], ["Jane Doe", "John Roe"]),
        (["Jane Doe, John Roe & Ann Lee"], ["Jane Doe", "John Roe", "Ann Lee"]),
        (["Jane Doe in Kyiv and John Roe in Moscow"], ["Jane Doe", "John Roe"]),
        (["By Pieter Claes, Europe Correspondent"], ["Pieter Claes"]),
        (["Jane Doe, Political Editor, and John Roe"], ["Jane Doe", "John Roe"]),
        (["María López y Jorge Ruiz"], ["María López", "Jorge Ruiz"]),
        (["Par Élise Moreau et Karim Benali, à Addis-Abeba"], ["Élise Moreau", "Karim Benali"]),
        (["Mario Rossi e Luca Bianchi"], ["Mario Rossi", "Luca Bianchi"]),
        (["Words by Jane Doe"], ["Jane Doe"]),
        (["Jane Doe", "jane doe", "John Roe"], ["Jane Doe", "John Roe"]),
        (["Jane Doe | Updated 12:47 GMT"], ["Jane Doe"]),
        (["https://news.example/profile/jane-doe"], []),
        (["jane@news.example"], []),
        (["Reuters"], ["Reuters"]),
        ([""], []),
    ],
)
def test_clean_authors(values: list[str], expected: list[str]) -> None:
    assert clean_authors(values) == expected


def test_dedupe_keeps_first_spelling_and_order() -> None:
    assert dedupe(["Ukraine", " ukraine ", "", "Russia", "UKRAINE"]) == ["Ukraine", "Russia"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-03-02T12:47:00Z", "2023-03-02T12:47:00+00:00"),
        ("2023-03-02T12:47:00.241Z", "2023-03-02T12:47:00+00:00"),
        ("2023-03-02T07:47:00-05:00", "2023-03-02T07:47:00-05:00"),
        ("2023-03-02T12:47:00+0100", "2023-03-02T12:47:00+01:00"),
        ("2023-03-02 12:47:00", "2023-03-02T12:47:00"),
        ("2023-03-02", "2023-03-02"),
        ("Thu, 02 Mar 2023 12:47:00 GMT", "2023-03-02T12:47:00+00:00"),
        ("  2023-03-02T12:47:00+00:00  ", "2023-03-02T12:47:00+00:00"),
        ("2 March 2023", None),
        ("yesterday", None),
        ("2023-13-45", None),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_date(value: str | None, expected: str | None) -> None:
    assert normalize_date(value, fetched_at=FETCHED, url=URL, field="date_published") == expected


def test_date_within_tolerance_of_fetch_time_is_kept() -> None:
    almost = (FETCHED + FUTURE_TOLERANCE - timedelta(seconds=1)).isoformat()
    assert normalize_date(almost, fetched_at=FETCHED, url=URL, field="date_published")


def test_future_date_is_dropped_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    later = (FETCHED + FUTURE_TOLERANCE + timedelta(minutes=1)).isoformat()
    with caplog.at_level(logging.WARNING, logger="crawler.extract_fields"):
        assert normalize_date(later, fetched_at=FETCHED, url=URL, field="date_modified") is None
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert URL in message
    assert "date_modified" in message


def test_naive_and_date_only_values_get_time_zone_slack() -> None:
    # A local time without offset may be up to 14 hours ahead of UTC (UTC+14).
    naive_ahead = "2023-03-03T04:00:00"
    assert normalize_date(naive_ahead, fetched_at=FETCHED, url=URL, field="date_published")
    assert normalize_date("2023-03-03", fetched_at=FETCHED, url=URL, field="date_published")
    assert not normalize_date(
        "2023-03-04T12:00:00", fetched_at=FETCHED, url=URL, field="date_published"
    )
    assert not normalize_date("2023-03-05", fetched_at=FETCHED, url=URL, field="date_published")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("en-gb", "en-GB"),
        ("es_ES", "es-ES"),
        ("fr_FR", "fr-FR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("en-US,en;q=0.9", "en-US"),
        ("English", None),
        ("", None),
        (None, None),
        ("e", None),
    ],
)
def test_normalize_language(value: str | None, expected: str | None) -> None:
    assert normalize_language(value) == expected


def _tree(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<div class="article__byline"><span class="article__author">Associated Press Reporter'
            "</span><time>02 March, 2023 12:47</time></div>",
            ["Associated Press Reporter"],
        ),
        (
            '<div class="header__byline"><div class="byline">By <a>Jane Doe</a> and <a>John Roe'
            "</a></div><span>Updated 1 hour ago</span></div>",
            ["By Jane Doe and John Roe"],
        ),
        (
            '<address><a rel="author" href="/a">Jane Doe</a> in Kyiv and '
            '<a rel="author" href="/b">John Roe</a></address>',
            ["Jane Doe", "John Roe"],
        ),
        (
            '<p itemprop="author" itemscope><span itemprop="name">Jane Doe</span>,'
            " Correspondent</p>",
            ["Jane Doe"],
        ),
        ('<div class="author-bio">Jane Doe has covered Asia for ten years.</div>', []),
        ("<p>No byline here.</p>", []),
    ],
)
def test_dom_byline(html: str, expected: list[str]) -> None:
    assert dom_byline(_tree(f"<html><body>{html}</body></html>")) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<a class="article__section-label" href="/world">World news</a><h1>T</h1>', "World news"),
        ('<span class="kicker">Crisis en Perú</span>', "Crisis en Perú"),
        ('<meta itemprop="articleSection" content="Europe"><h1>T</h1>', "Europe"),
        (
            '<nav aria-label="Breadcrumb"><a href="/">Home</a> <a href="/world">World</a>'
            ' <a href="/world/europe">Europe</a></nav>',
            "Europe",
        ),
        ('<ol class="breadcrumbs"><li><a href="/">Home</a></li></ol>', None),
        ("<p>Nothing</p>", None),
    ],
)
def test_dom_section(html: str, expected: str | None) -> None:
    assert dom_section(_tree(f"<html><body>{html}</body></html>")) == expected
