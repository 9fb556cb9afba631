"""Per-source crawl counts and the end-of-crawl summary.

Counts live in Scrapy's stats collector under ``newsarchive/<source>/<outcome>[/<reason>]`` so
they show in Scrapy's own stats dump too; this extension turns them into a summary by source and
reason, logs it and, with ``ARCHIVE_SUMMARY_FILE``, writes it as JSON.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

from archiver import ArchiverError
from archiver.runs import new_run_id, run_manifest, write_run_manifest
from crawler.crawl_store import crawl_store

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)

PREFIX = "newsarchive/"
WARNINGS_KEY = "newsarchive_warnings"
RUN_ID_KEY = "newsarchive_run_id"
CHECKS_KEY_STAT = "newsarchive_checks_key"
EXTRACTION_KEY = "newsarchive_extraction"
OUTCOMES = ("fetched", "archived", "unchanged", "spooled", "skipped", "failed")


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
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        """Name the run, so every component can refer to it."""
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(RUN_ID_KEY, new_run_id(datetime.now(UTC)))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Summarise the finished crawl and keep its manifest in the archive."""
        assert self.crawler.stats is not None
        stats = self.crawler.stats.get_stats()
        summary = build_summary(stats)
        summary["finish_reason"] = reason
        if stats.get(EXTRACTION_KEY):
            summary["extraction"] = stats[EXTRACTION_KEY]
        hints = {
            key.rpartition("/")[2]: value
            for key, value in stats.items()
            if key.startswith("newsarchive_hints/")
        }
        if hints:
            summary["fetch_hints"] = hints
        logger.info("crawl summary (%s):\n%s", reason, format_summary(summary))
        if self.crawler.settings.getbool("ARCHIVE_RUN_MANIFESTS"):
            try:
                summary["run_id"], summary["manifest_key"] = self._write_manifest(
                    spider, stats, summary
                )
            except ArchiverError as err:
                # The versions are stored; only the run's own record is missing. Say so loudly.
                logger.error("could not write the run manifest: %s", err)
        if self.summary_file:
            path = Path(self.summary_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(summary, indent=2, sort_keys=True), encoding="utf-8")
            tmp.replace(path)

    def _write_manifest(
        self, spider: Spider, stats: dict[str, Any], summary: dict[str, Any]
    ) -> tuple[str, str]:
        from crawler.pipelines import software_versions

        settings = self.crawler.settings
        started = stats.get("start_time") or datetime.now(UTC)
        finished = stats.get("finish_time") or datetime.now(UTC)
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        if finished.tzinfo is None:
            finished = finished.replace(tzinfo=UTC)
        run_id = stats.get(RUN_ID_KEY) or new_run_id(started)
        sources = [src.name for src in getattr(spider, "sources", [])]
        manifest = run_manifest(
            run_id=run_id,
            started_at=started,
            finished_at=finished,
            finish_reason=summary["finish_reason"],
            spider=spider.name,
            sources=sorted(set(sources) | set(summary["sources"])),
            config_sha256=config_sha256(settings, getattr(spider, "sources_path", None)),
            software=software_versions(),
            counts=run_counts(summary["totals"]),
            by_source=summary["sources"],
        )
        manifest["checks_key"] = stats.get(CHECKS_KEY_STAT)
        key = write_run_manifest(crawl_store(self.crawler).storage, manifest)
        logger.info("run %s manifest: %s", run_id, key)
        return run_id, key


# Settings that shape what a run archives; their hash tells two runs' configurations apart.
CONFIG_SETTINGS = (
    "ARCHIVE_URI",
    "ARCHIVE_CONDITIONAL_GET",
    "ARCHIVE_SECTION_PAGES",
    "ARCHIVE_SITEMAP_DEPTH",
    "ARCHIVE_MAX_SITEMAPS",
    "AUTOTHROTTLE_ENABLED",
    "CONCURRENT_REQUESTS",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY",
    "DOWNLOAD_MAXSIZE",
    "DOWNLOAD_TIMEOUT",
    "RETRY_TIMES",
    "ROBOTSTXT_OBEY",
    "USER_AGENT",
)


def config_sha256(settings: Any, sources_path: str | None) -> str:
    """Hash the sources file and the settings that shape a run (no credentials are read)."""
    digest = hashlib.sha256()
    for name in CONFIG_SETTINGS:
        digest.update(f"{name}={settings.get(name)!r}\n".encode())
    if sources_path:
        try:
            with open(sources_path, "rb") as handle:
                digest.update(handle.read())
        except OSError:
            digest.update(b"<sources file unreadable>")
    return digest.hexdigest()


def run_counts(totals: dict[str, Any]) -> dict[str, Any]:
    """Name a run's counts as its manifest gives them."""
    archived_by = totals.get("archived_by", {})
    unchanged_by = totals.get("unchanged_by", {})
    states_by = totals.get("states_by", {})
    return {
        "fetched": totals.get("fetched", 0),
        "extracted": totals.get("extracted", 0),
        "new": archived_by.get("new", 0),
        "changed": archived_by.get("changed", 0),
        "unchanged": totals.get("unchanged", 0),
        "not_modified": unchanged_by.get("not_modified", 0),
        "same_html": unchanged_by.get("same_html", 0),
        "removed": states_by.get("removed", 0),
        "skipped": totals.get("skipped", 0),
        "skipped_by": totals.get("skipped_by", {}),
        "failed": totals.get("failed", 0),
        "failed_by": totals.get("failed_by", {}),
        "spooled": totals.get("spooled", 0),
        "flushed": totals.get("flushed", 0),
    }
