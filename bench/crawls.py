"""Stages A, D and E: crawls of the site in child processes, measured from outside.

A fetches every page with Scrapy and does nothing else. D is ``newsarchive crawl`` itself, the
production pipeline (discovery, conditional GETs, extraction, archiving into SeaweedFS, the
revisit queue, run manifest and catalog), with only the politeness waits relaxed: no download
delay, no AutoThrottle, ``concurrency`` requests (and kept-alive connections) at a time per
host. E is the same crawl again
once the site's listings have been re-issued (as a live site's fronts are) while every article
stays byte-identical, so each article is asked for again, conditionally.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from bench.child import BenchError, ChildRun, child_environ, process_cpu_seconds, run_child
from bench.server import SiteServer
from tests.servers.seaweedfs import SeaweedFS


def relaxed(concurrency: int) -> list[str]:
    """Return the ``-s`` options that relax the politeness of crawler/settings.py, and no more.

    ``CONCURRENT_REQUESTS_PER_DOMAIN`` matters beside the sources file's ``concurrency``: Scrapy
    keeps that many connections per host alive, and opens a new one for every other request.
    """
    return [
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}",
    ]


@dataclass
class CrawlBench:
    """What the crawl stages share: the site, the archive, a work folder."""

    server: SiteServer
    s3: SeaweedFS | None
    """The archive's server; stage A needs none."""
    bucket: str
    prefix: str
    work: Path
    concurrency: int
    timeout: float

    @property
    def archive_uri(self) -> str:
        """Return the archive's URI."""
        return f"s3://{self.bucket}/{self.prefix}"

    def sources_file(self) -> Path:
        """Write the sources file of the site and return its path."""
        path = self.work / "sources.toml"
        path.write_text(self.server.sources_toml(self.concurrency), encoding="utf-8")
        return path

    @property
    def storage(self) -> SeaweedFS:
        """Return the archive's server."""
        if self.s3 is None:
            raise BenchError("this stage needs the archive's S3 server")
        return self.s3

    def environ(self) -> dict[str, str]:
        """Return the environment of a crawl child."""
        return child_environ(
            {
                **self.storage.environ(),
                "ARCHIVE_DOWNLOAD_DELAY": "0",
                "ARCHIVE_STATE_DIR": str(self.work / "state"),
                # The site is on loopback, which the crawler refuses unless told otherwise.
                "NEWSARCHIVE_ALLOW_PRIVATE_NETWORKS": "1",
            }
        )

    def objects(self) -> dict[str, str]:
        """Return the ETag of every object of the archive, by key relative to its root."""
        client = self._client()
        found: dict[str, str] = {}
        try:
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + "/"
            )
            for page in pages:
                for item in page.get("Contents", []):
                    found[item["Key"][len(self.prefix) + 1 :]] = item["ETag"]
        finally:
            client.close()
        return found

    def create_bucket(self) -> None:
        """Create the archive's bucket."""
        client = self._client()
        try:
            client.create_bucket(Bucket=self.bucket)
        finally:
            client.close()

    def _client(self) -> Any:
        options = self.storage.client_options()
        return boto3.client(
            "s3",
            endpoint_url=options["endpoint_url"],
            aws_access_key_id=options["aws_access_key_id"],
            aws_secret_access_key=options["aws_secret_access_key"],
            region_name=options["region_name"],
        )


def written(before: dict[str, str], after: dict[str, str]) -> dict[str, int]:
    """Count the objects created or replaced between two listings, by top-level folder."""
    counts: Counter[str] = Counter(
        key.split("/", 1)[0] for key, etag in after.items() if before.get(key) != etag
    )
    return dict(sorted(counts.items()))


def child_prefix(label: str) -> list[str]:
    """Return the words of ``BENCH_CHILD_PREFIX`` (a profiler, say) for stage ``label``."""
    return os.environ.get("BENCH_CHILD_PREFIX", "").replace("{label}", label).split()


def _measured(run: ChildRun, pages: int, others: dict[str, float]) -> dict[str, Any]:
    """Return the figures every crawl stage reports."""
    per_page = 1000 / pages if pages else None
    crawl_cpu = max(0.0, run.cpu_s - run.startup_cpu_s)
    return {
        "pages": pages,
        "wall_s": round(run.wall_s, 2),
        "crawl_s": round(run.window_s, 2),
        "tail_s": round(run.tail_s, 2),
        "pages_per_s": round(pages / run.window_s, 1) if pages and run.window_s > 0 else None,
        "cpu_ms_per_page": round(crawl_cpu * per_page, 2) if per_page else None,
        "startup_cpu_s": round(run.startup_cpu_s, 2),
        "cpu_s": round(run.cpu_s, 2),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "peak_total_rss_mb": (
            round(run.peak_total_rss_mb, 1) if run.peak_total_rss_mb is not None else None
        ),
        "peak_tree_mb": round(run.peak_tree_mb, 1) if run.peak_tree_mb is not None else None,
        "processes": run.processes,
        **{
            f"{name}_cpu_ms_per_page": round(seconds * per_page, 2) if per_page else None
            for name, seconds in others.items()
        },
    }


class _OtherCpu:
    """CPU spent meanwhile by the site (this process) and by SeaweedFS."""

    def __init__(self, s3: SeaweedFS | None) -> None:
        self._clock = time.process_time
        self._s3_pid = s3.pid if s3 is not None else None
        self._site = self._clock()
        self._s3 = self._s3_cpu()

    def _s3_cpu(self) -> float:
        cpu = process_cpu_seconds(self._s3_pid) if self._s3_pid else None
        return cpu or 0.0

    def spent(self) -> dict[str, float]:
        figures = {"site": self._clock() - self._site}
        if self._s3_pid:
            figures["s3"] = self._s3_cpu() - self._s3
        return figures


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the round of a short crawl stage with the median pages/s, with every round's
    figures under ``rounds``.

    Counts that must hold in every round are taken over all of them: the most extractions and
    versions any round made, and the objects all rounds wrote together.
    """
    ordered = sorted(rounds, key=lambda stage: float(stage["pages_per_s"]))
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rounds"] = [
        {key: stage[key] for key in ("pages_per_s", "cpu_ms_per_page", "tail_s")}
        for stage in rounds
    ]
    if "extracted" in chosen:
        chosen["extracted"] = max(stage["extracted"] for stage in rounds)
        chosen["archived"] = max(stage["archived"] for stage in rounds)
        total: Counter[str] = Counter()
        for stage in rounds:
            total.update(stage["objects_written"])
        chosen["objects_written"] = dict(total)
    return chosen


def fetch_stage(bench: CrawlBench) -> dict[str, Any]:
    """Stage A: fetch every listing and article page with Scrapy alone."""
    server = bench.server
    spec = {
        "listings": server.listing_urls(),
        "articles": server.article_urls(),
        "concurrency": bench.concurrency,
    }
    urls_file = bench.work / "fetch-urls.json"
    urls_file.write_text(json.dumps(spec), encoding="utf-8")
    result_file = bench.work / "fetch-result.json"
    other = _OtherCpu(None)
    run = run_child(
        [
            *child_prefix("A"),
            sys.executable,
            "-m",
            "bench.fetch_spider",
            str(urls_file),
            str(result_file),
        ],
        env=child_environ({"NEWSARCHIVE_ALLOW_PRIVATE_NETWORKS": "1"}),
        server=server,
        log=bench.work / "fetch.log",
        timeout=bench.timeout,
    )
    if run.returncode != 0 or not result_file.exists():
        raise BenchError(f"stage A failed ({run.returncode}):\n{run.tail()}")
    counts = json.loads(result_file.read_text(encoding="utf-8"))
    served = server.counts()
    return {
        **_measured(run, counts["articles"], other.spent()),
        "served": served,
        "listings": counts["listings"],
        "mb_per_s": round(counts["article_bytes"] / 1e6 / run.window_s, 1),
    }


def pipeline_stage(bench: CrawlBench, label: str) -> dict[str, Any]:
    """Stage D or E: ``newsarchive crawl`` of the whole site into the archive."""
    summary_file = bench.work / f"summary-{label}.json"
    before = bench.objects()
    other = _OtherCpu(bench.storage)
    argv = [
        *child_prefix(label),
        sys.executable,
        "-m",
        "crawler.cli",
        "crawl",
        "--sources",
        str(bench.sources_file()),
        "--archive",
        bench.archive_uri,
        "--summary",
        str(summary_file),
        *relaxed(bench.concurrency),
    ]
    run = run_child(
        argv,
        env=bench.environ(),
        server=bench.server,
        log=bench.work / f"crawl-{label}.log",
        timeout=bench.timeout,
    )
    if run.returncode != 0 or not summary_file.exists():
        raise BenchError(f"stage {label} failed ({run.returncode}):\n{run.tail()}")
    # Before the listing of every object below, which costs SeaweedFS more than E's own requests.
    spent = other.spent()
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    totals = summary.get("totals", {})
    after = bench.objects()
    return {
        **_measured(run, totals.get("fetched", 0), spent),
        "served": bench.server.counts(),
        "extracted": totals.get("extracted", 0),
        "archived": totals.get("archived", 0),
        "archived_by": totals.get("archived_by", {}),
        "unchanged": totals.get("unchanged", 0),
        "unchanged_by": totals.get("unchanged_by", {}),
        "skipped_by": totals.get("skipped_by", {}),
        "failed": totals.get("failed", 0),
        "failed_by": totals.get("failed_by", {}),
        "objects_written": written(before, after),
        "extraction": summary.get("extraction"),
        "finish_reason": summary.get("finish_reason"),
    }
