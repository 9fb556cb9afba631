"""Storage outages mid-crawl: captures go to the local spool and reach the archive exactly once.

SeaweedFS is really stopped and started again on the same ports and data; crawls run as
``python -m crawler.cli crawl`` in child processes, as in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from archiver.spool import iter_spools
from crawler.demosite.server import DemoSite
from tests.archive_support import CRAWL_SETTINGS
from tests.servers.seaweedfs import SeaweedFS
from tests.test_crawl_e2e import expected_articles

# Slow enough that the outage lands in the middle; retries short so the test does not wait.
PACED = [
    *CRAWL_SETTINGS,
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=1",
    "-s",
    "ARCHIVE_STORE_RETRIES=1",
    "-s",
    "ARCHIVE_STORE_RETRY_BACKOFF=0.1",
]


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture
def seaweed() -> Iterator[SeaweedFS]:
    # One per test: each halts and resumes it.
    with SeaweedFS() as server:
        yield server


@pytest.fixture
def bucket(seaweed: SeaweedFS) -> str:
    return seaweed.create_bucket("outage")


def child_env(seaweed: SeaweedFS, spool: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # A refused connection should fail fast: boto3's own retries come before ours.
    env.update(seaweed.environ(), AWS_MAX_ATTEMPTS="2", ARCHIVE_SPOOL_DIR=str(spool))
    return env


def crawl_command(site: DemoSite, uri: str, tmp: Path, summary: Path) -> list[str]:
    sources = site.write_sources(tmp / "sources.toml")
    # The demo's sources file says not to wait; pace this crawl so things happen mid-run.
    paced = sources.read_text(encoding="utf-8").replace(
        "download_delay = 0.0", "download_delay = 0.3"
    )
    assert paced != sources.read_text(encoding="utf-8")
    sources.write_text(paced, encoding="utf-8")
    return [
        *(sys.executable, "-m", "crawler.cli", "crawl", "--sources", str(sources)),
        *("--archive", uri, "--summary", str(summary), *PACED),
    ]


def versions_by_article(seaweed: SeaweedFS, bucket: str) -> dict[str, list[str]]:
    """Return the version record keys of every article folder in the bucket."""
    client = seaweed.client()
    found: dict[str, list[str]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix="news/articles/"
    ):
        for item in page.get("Contents", []):
            folder, _, name = item["Key"].rpartition("/")
            if name.startswith("v") and name.endswith(".json"):
                found.setdefault(folder, []).append(name)
    client.close()
    return found


def spooled(spool: Path) -> int:
    return sum(count for _, count in iter_spools(spool))


def summary_of(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_an_outage_mid_crawl_is_spooled_then_archived_exactly_once(
    site: DemoSite, seaweed: SeaweedFS, bucket: str, tmp_path: Path
) -> None:
    uri = f"s3://{bucket}/news"
    spool = tmp_path / "spool"
    env = child_env(seaweed, spool)
    first = tmp_path / "first.json"
    with subprocess.Popen(
        crawl_command(site, uri, tmp_path, first),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        deadline = time.monotonic() + 120
        while sum(map(len, versions_by_article(seaweed, bucket).values())) < 3:
            assert child.poll() is None, "the crawl ended before the outage"
            assert time.monotonic() < deadline, "no version appeared"
            time.sleep(0.1)
        seaweed.halt()
        _, stderr = child.communicate(timeout=300)
    assert "spooling from now on" in stderr
    run = summary_of(first)
    waiting = spooled(spool)
    assert run["totals"]["spooled"] == waiting > 0

    seaweed.resume()
    second = tmp_path / "second.json"
    result = subprocess.run(
        crawl_command(site, uri, tmp_path, second),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert summary_of(second)["totals"]["flushed"] == waiting
    assert spooled(spool) == 0
    archived = versions_by_article(seaweed, bucket)
    # Every article of the site, each exactly once: no loss, no duplicate version.
    assert len(archived) == len(expected_articles(site))
    assert all(names == ["v000001.json"] for names in archived.values()), archived


def test_spool_flush_archives_what_a_crawl_could_not(
    site: DemoSite, seaweed: SeaweedFS, bucket: str, tmp_path: Path
) -> None:
    uri = f"s3://{bucket}/news"
    spool = tmp_path / "spool"
    env = child_env(seaweed, spool)
    seaweed.halt()
    summary = tmp_path / "down.json"
    down = subprocess.run(
        crawl_command(site, uri, tmp_path, summary),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    waiting = spooled(spool)
    assert summary_of(summary)["totals"]["spooled"] == waiting == len(expected_articles(site))
    assert "spooling from now on" in down.stderr

    listed = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "spool", "list", "--spool-dir", str(spool)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.split("\t")[0] == str(waiting)
    flush = [sys.executable, "-m", "crawler.cli", "spool", "flush", "--archive", uri]
    flush += ["--spool-dir", str(spool)]
    still_down = subprocess.run(flush, env=env, capture_output=True, text=True, check=False)
    assert still_down.returncode == 1
    assert spooled(spool) == waiting

    seaweed.resume()
    flushed = subprocess.run(flush, env=env, capture_output=True, text=True, check=False)
    assert flushed.returncode == 0, flushed.stderr
    assert [line.split("\t")[0] for line in flushed.stdout.splitlines()] == ["new"] * waiting
    assert spooled(spool) == 0
    archived = versions_by_article(seaweed, bucket)
    assert len(archived) == waiting
    assert all(names == ["v000001.json"] for names in archived.values())
    # The catalog has a row for each flushed version.
    client = seaweed.client()
    parts = client.list_objects_v2(Bucket=bucket, Prefix="news/catalog/").get("Contents", [])
    client.close()
    assert parts
