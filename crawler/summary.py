"""Per-source crawl counts and the end-of-crawl summary.

Counts live in Scrapy's stats collector under ``newsarchive/<source>/<outcome>[/<reason>]`` so
they show in Scrapy's own stats dump too; this extension turns them into a summary by source and
reason, logs it and, with ``ARCHIVE_SUMMARY_FILE``, writes it as JSON.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

PREFIX = "newsarchive/"
WARNINGS_KEY = "newsarchive_warnings"
OUTCOMES = ("fetched", "archived", "unchanged", "skipped", "failed")


def count(stats: StatsCollector, source: str, outcome: str, reason: str | None = None) -> None:
    """Count one event of ``outcome`` (and ``reason``) for ``source``."""
    key = f"{PREFIX}{source}/{outcome}" + (f"/{reason}" if reason else "")
    stats.inc_value(key)


def warn_source(stats: StatsCollector, source: str, message: str) -> None:
    """Record a per-source warning for the summary (a listing that failed, say) and log it."""
    logger.warning("source %s: %s", source, message)
    warnings: dict[str, list[str]] = stats.get_value(WARNINGS_KEY) or {}
    warnings.setdefault(source, []).append(message)
    stats.set_value(WARNINGS_KEY, warnings)


def build_summary(stats: dict[str, Any]) -> dict[str, Any]:
    """Turn flat stats into ``{"sources": {name: {outcome: n, ...}}, "totals": {...}}``.

    ``archived``, ``skipped`` and ``failed`` also break down by reason under ``<outcome>_by``.
    """
    sources: dict[str, dict[str, Any]] = {}
    totals: dict[str, Any] = {outcome: 0 for outcome in OUTCOMES}
    for key, value in stats.items():
        if not key.startswith(PREFIX) or not isinstance(value, int):
            continue
        source, _, rest = key[len(PREFIX) :].partition("/")
        outcome, _, reason = rest.partition("/")
        entry = sources.setdefault(source, {outcome: 0 for outcome in OUTCOMES})
        entry[outcome] = entry.get(outcome, 0) + value
        totals[outcome] = totals.get(outcome, 0) + value
        if reason:
            entry.setdefault(f"{outcome}_by", {})
            entry[f"{outcome}_by"][reason] = entry[f"{outcome}_by"].get(reason, 0) + value
            totals.setdefault(f"{outcome}_by", {})
            totals[f"{outcome}_by"][reason] = totals[f"{outcome}_by"].get(reason, 0) + value
    warnings = stats.get(WARNINGS_KEY) or {}
    for source, messages in warnings.items():
        sources.setdefault(source, {outcome: 0 for outcome in OUTCOMES})["warnings"] = messages
    return {"sources": dict(sorted(sources.items())), "totals": totals}


def format_summary(summary: dict[str, Any]) -> str:
    """Render a summary as a fixed-width table with reasons and warnings below it."""
    header = f"{'source':<24}" + "".join(f"{o:>11}" for o in OUTCOMES)
    lines = [header, "-" * len(header)]
    rows = [*summary["sources"].items(), ("TOTAL", summary["totals"])]
    for name, entry in rows:
        lines.append(f"{name:<24}" + "".join(f"{entry.get(o, 0):>11}" for o in OUTCOMES))
    for name, entry in summary["sources"].items():
        for outcome in ("archived", "skipped", "failed"):
            reasons = entry.get(f"{outcome}_by")
            if reasons:
                detail = ", ".join(f"{reason}={n}" for reason, n in sorted(reasons.items()))
                lines.append(f"  {name}: {outcome}: {detail}")
        for message in entry.get("warnings", []):
            lines.append(f"  {name}: WARNING: {message}")
    return "\n".join(lines)


class CrawlSummary:
    """Log the crawl summary when the spider closes and optionally write it as JSON."""

    def __init__(self, crawler: Crawler, summary_file: str) -> None:
        self.crawler = crawler
        self.summary_file = summary_file

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlSummary:
        """Build the extension from the crawler's settings."""
        extension = cls(crawler, crawler.settings.get("ARCHIVE_SUMMARY_FILE", ""))
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, reason: str) -> None:
        """Summarise the finished crawl."""
        assert self.crawler.stats is not None
        summary = build_summary(self.crawler.stats.get_stats())
        summary["finish_reason"] = reason
        logger.info("crawl summary (%s):\n%s", reason, format_summary(summary))
        if self.summary_file:
            path = Path(self.summary_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")
            tmp.replace(path)
