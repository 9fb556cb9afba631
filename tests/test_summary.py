"""The crawl summary groups Scrapy's stats by source, outcome and reason."""

from __future__ import annotations

from crawler.summary import WARNINGS_KEY, build_summary, format_summary


def test_counts_group_by_source_outcome_and_reason() -> None:
    stats = {
        "newsarchive/bbc/fetched": 5,
        "newsarchive/bbc/archived/new": 3,
        "newsarchive/bbc/archived/changed": 1,
        "newsarchive/bbc/unchanged": 1,
        "newsarchive/bbc/failed/http_404": 2,
        "newsarchive/dw/skipped/not_article": 4,
        "downloader/request_count": 99,
        WARNINGS_KEY: {"npr": ["feed https://npr.example/rss failed: dns"]},
    }
    summary = build_summary(stats)
    bbc = summary["sources"]["bbc"]
    assert bbc["archived"] == 4
    assert bbc["archived_by"] == {"new": 3, "changed": 1}
    assert bbc["failed_by"] == {"http_404": 2}
    assert summary["sources"]["dw"]["skipped_by"] == {"not_article": 4}
    assert summary["sources"]["npr"]["warnings"] == ["feed https://npr.example/rss failed: dns"]
    assert summary["totals"]["fetched"] == 5
    assert summary["totals"]["skipped"] == 4
    assert "downloader" not in summary["sources"]


def test_table_names_every_source_reason_and_warning() -> None:
    summary = build_summary(
        {
            "newsarchive/bbc/fetched": 2,
            "newsarchive/bbc/failed/timeout": 1,
            WARNINGS_KEY: {"bbc": ["sitemap https://bbc.example/s.xml failed: http_404"]},
        }
    )
    table = format_summary(summary)
    assert table.splitlines()[0].split() == [
        "source",
        "fetched",
        "archived",
        "unchanged",
        "spooled",
        "skipped",
        "failed",
    ]
    assert "bbc: failed: timeout=1" in table
    assert "bbc: WARNING: sitemap https://bbc.example/s.xml failed: http_404" in table
    assert any(line.startswith("TOTAL") and line.split()[1] == "2" for line in table.splitlines())
