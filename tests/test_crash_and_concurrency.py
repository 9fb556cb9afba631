"""A crawl killed with SIGKILL, and two crawlers on one archive at once: nothing lost or doubled.

Crawls run as ``python -m crawler.cli crawl`` child processes against the demo site, into
SeaweedFS and into a local folder, as in production.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from archiver.reader import open_reader
from archiver.uri import open_storage
from crawler.demosite.server import DemoSite
from tests.archive_support import CRAWL_SETTINGS
from tests.servers.seaweedfs import SeaweedFS
from tests.test_crawl_e2e import expected_articles

VERSION = re.compile(r"/v\d+\.json$")
PACED = [*CRAWL_SETTINGS, "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedFS]:
    with SeaweedFS() as server:
        yield server


@pytest.fixture(params=["seaweedfs", "local"])
def archive(
    request: pytest.FixtureRequest,
    seaweed: SeaweedFS,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, dict[str, str]]:
    """An empty archive and the environment a crawler needs to reach it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if request.param == "local":
        return str(tmp_path / "archive"), env
    bucket = seaweed.create_bucket("crash")
    # The tests read the archive in this process too.
    for name, value in seaweed.environ().items():
        monkeypatch.setenv(name, value)
    return f"s3://{bucket}/news", {**env, **seaweed.environ()}


def crawl_command(
    site: DemoSite, uri: str, tmp: Path, name: str, *, paced: bool = False
) -> list[str]:
    sources = site.write_sources(tmp / f"sources-{name}.toml")
    if paced:
        # The demo's sources file says not to wait; pace this crawl so a kill lands mid-run.
        text = sources.read_text(encoding="utf-8")
        slower = text.replace("download_delay = 0.0", "download_delay = 0.4")
        assert slower != text
        sources.write_text(slower, encoding="utf-8")
    return [
        *(sys.executable, "-m", "crawler.cli", "crawl", "--sources", str(sources)),
        *("--archive", uri, "--summary", str(tmp / f"{name}.json"), *PACED),
    ]


def version_numbers(uri: str) -> dict[str, list[int]]:
    """Return every archived article's version numbers, reading as a researcher would."""
    found: dict[str, list[int]] = {}
    with open_reader(uri) as reader:
        for summary in reader.articles(latest_only=False):
            found.setdefault(summary.identity_url, []).append(summary.version)
            # Every visible version is whole: its HTML is there and matches its hash.
            assert reader.raw_html(summary.identity_url, summary.version)
    return found


def test_a_crawl_killed_mid_run_leaves_no_half_version_and_the_next_run_completes(
    site: DemoSite, archive: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    uri, env = archive
    with subprocess.Popen(
        crawl_command(site, uri, tmp_path, "killed", paced=True),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    ) as child:
        deadline = time.monotonic() + 120
        with closing(open_storage(uri)) as storage:
            while True:
                try:
                    seen = sum(1 for key in storage.list("articles/") if VERSION.search(key))
                except FileNotFoundError:
                    seen = 0
                if seen >= 5:
                    break
                assert child.poll() is None, "the crawl ended before it could be killed"
                assert time.monotonic() < deadline, "no version appeared"
                time.sleep(0.05)
        # The whole process group: the crawler and its extraction workers, as a crash would.
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    expected = len(expected_articles(site))
    partial = version_numbers(uri)
    assert 5 <= len(partial) < expected
    assert all(numbers == [1] for numbers in partial.values())

    result = subprocess.run(
        crawl_command(site, uri, tmp_path, "next"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    complete = version_numbers(uri)
    assert len(complete) == expected
    assert all(numbers == [1] for numbers in complete.values())


def test_two_crawlers_on_one_archive_lose_and_double_nothing(
    site: DemoSite, archive: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    uri, env = archive
    commands = [crawl_command(site, uri, tmp_path, name) for name in ("one", "two")]
    children = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    for child in children:
        _, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, stderr
    found = version_numbers(uri)
    assert len(found) == len(expected_articles(site))
    assert all(numbers == [1] for numbers in found.values()), found

    # An article edited while both crawl again: exactly one new version, not two.
    site.set_edition(2)
    try:
        again = [
            subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
            for command in commands
        ]
        for child in again:
            _, stderr = child.communicate(timeout=300)
            assert child.returncode == 0, stderr
    finally:
        site.set_edition(1)
    after = version_numbers(uri)
    changed = {url: numbers for url, numbers in after.items() if numbers != [1]}
    assert list(changed.values()) == [[1, 2]], changed
