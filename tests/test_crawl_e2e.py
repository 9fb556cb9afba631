"""Whole crawls of the demo news site into a real SeaweedFS server and into a local folder.

Each crawl runs as ``python -m crawler.cli crawl`` in a child process, as in production. The
same scenario runs on both backends: a first crawl archives every article with the fields the
site's manifest promises; a second adds no version; after one article is edited, exactly one new
version appears; a fresh process (an empty local disk) still adds none.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from archiver import SnapshotStore, open_store
from archiver.runs import iter_run_checks, iter_run_manifests
from crawler.demosite.server import DemoSite, load_manifest
from crawler.urls import normalize_url
from tests.servers.seaweedfs import SeaweedFS

FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s",
    "RETRY_TIMES=1",
    "-s",
    "ARCHIVE_RETRY_BACKOFF_BASE=0.1",
]
# The scenario re-reads every listing so each run revisits every article; skipping unchanged
# listings has its own test below.
EVERY_LISTING = ["-s", "ARCHIVE_SKIP_UNCHANGED_LISTINGS=0"]


@dataclass(frozen=True)
class Expected:
    outlet: str
    identity: str
    page: dict[str, Any]


@dataclass
class Backend:
    uri: str
    env: dict[str, str]


def expected_articles(site: DemoSite) -> list[Expected]:
    """Every page the manifest says is an article reachable by the crawler."""
    found = []
    for outlet, spec in load_manifest()["outlets"].items():
        base = site.outlets[outlet]
        for page in spec["pages"]:
            if not page["is_article"] or "disallowed" in page["roles"]:
                continue
            if not page["discovered_via"]:
                continue
            identity = normalize_url(base + page["canonical_path"])
            found.append(Expected(outlet, identity, page))
    return found


def crawl(sources: Path, backend: Backend, tmp: Path, *extra: str) -> dict[str, Any]:
    summary_path = tmp / f"summary-{uuid.uuid4().hex[:8]}.json"
    env = {**_base_env(), **backend.env}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--sources",
            str(sources),
            "--archive",
            backend.uri,
            "--summary",
            str(summary_path),
            *FAST,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    return summary


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedFS]:
    with SeaweedFS() as server:
        yield server


@pytest.fixture(params=["local", "seaweedfs"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Backend:
    if request.param == "local":
        return Backend(str(tmp_path / "archive"), {})
    server: SeaweedFS = request.getfixturevalue("seaweed")
    bucket = f"e2e-{uuid.uuid4().hex[:12]}"
    options = server.client_options()
    client = boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=options["aws_access_key_id"],
        aws_secret_access_key=options["aws_secret_access_key"],
        region_name=options["region_name"],
    )
    client.create_bucket(Bucket=bucket)
    client.close()
    for name, value in server.environ().items():
        monkeypatch.setenv(name, value)
    return Backend(f"s3://{bucket}/news", server.environ())


def _instant(value: str | None) -> datetime | None:
    """Compare dates as instants: ``Z`` and ``+00:00`` name the same one."""
    return datetime.fromisoformat(value) if value else None


def _versions(store: SnapshotStore, identity: str) -> list[dict[str, Any]]:
    return store.history(identity)


def test_crawl_archives_every_article_then_only_changes(
    site: DemoSite, backend: Backend, tmp_path: Path
) -> None:
    site.set_edition(1)
    site.clear_request_log()
    sources = site.write_sources(tmp_path / "sources.toml")
    expected = expected_articles(site)
    assert len(expected) >= 30

    # First crawl: every article, once, with the fields the manifest promises.
    first = crawl(sources, backend, tmp_path, *EVERY_LISTING)
    totals = first["totals"]
    assert totals["archived"] == len(expected), first
    assert totals["archived_by"] == {"new": len(expected)}
    assert totals["failed_by"].get("http_404") == 1
    assert totals["failed_by"].get("http_500") == 1
    assert totals["skipped_by"].get("robots_disallowed") == 1
    # The paywalled teaser matches the article URL pattern, is fetched, and is not an article.
    assert totals["skipped_by"].get("not_article") == 1
    for outlet in site.outlets:
        assert first["sources"][outlet]["archived"] > 0
        assert "warnings" not in first["sources"][outlet]
    assert not any("/private/" in entry.path for entry in site.request_log)

    # A new archive: the local cache has seen it start, so no article costs an archive read.
    assert first["fetch_hints"]["absent"] >= len(expected)
    assert "archive" not in first["fetch_hints"]

    store = open_store(backend.uri)
    for item in expected:
        history = _versions(store, item.identity)
        assert len(history) == 1, item.identity
        record = history[0]
        article = record["article"]
        page = item.page
        assert record["source"] == item.outlet
        assert record["version"] == 1
        assert record["previous_version"] is None
        assert article["headline"] == page["headline"]
        assert article["authors"] == page["authors"]
        assert article["section"] == page["section"]
        assert _instant(article["date_published"]) == _instant(page["date_published"])
        assert article["body"].splitlines()[0] == page["first_paragraph"]
        assert article["body"].splitlines()[-1] == page["last_paragraph"]
        expected_images = [(i["caption"], i["credit"], i["role"]) for i in page["images"]]
        got_images = [(i["caption"], i["credit"], i["role"]) for i in article["images"]]
        assert got_images == expected_images, item.identity
        assert record["http"]["status"] == 200
        assert record["provenance"]["discovered_via"] in page["discovered_via"]
        html = store.storage.get(record["html_key"])
        assert html is not None
        assert page["headline"].split()[0] in gzip.decompress(html).decode("utf-8")

    # Second crawl of the unchanged site: observations only.
    # The site answers 304 to the validators of the last fetch: no article is extracted again
    # (only the paywalled page, which has no version to compare with, is looked at again).
    second = crawl(sources, backend, tmp_path, *EVERY_LISTING)
    assert second["totals"]["archived"] == 0, second
    assert second["totals"]["unchanged"] == len(expected)
    assert second["totals"]["unchanged_by"] == {"not_modified": len(expected)}
    not_articles = totals["skipped_by"]["not_article"]
    assert second["totals"]["extracted"] == not_articles
    # What the first run archived, it remembered locally: no archive request to prepare a 304.
    assert second["fetch_hints"]["cached"] == len(expected)
    # Read a listing at a time, ahead of the requests (the complete cache also knows which
    # of the listed pages are new).
    assert second["fetch_hints"]["read_ahead"] >= len(expected)
    # A 304 writes nothing of its own: the run's check log holds the evidence, once per run.
    seed_identity = next(e.identity for e in expected if "Manish" in json.dumps(e.page))
    assert store.observations(seed_identity) == []
    checks = list(iter_run_checks(store.storage, second["run_id"]))
    assert len(checks) == len(expected)
    seed_check = next(c for c in checks if c["identity_url"] == seed_identity)
    assert (seed_check["reason"], seed_check["version"], seed_check["status"]) == (
        "not_modified",
        1,
        304,
    )

    # One article is edited: exactly one new version, with its own JSON and HTML.
    edited = next(e for e in expected if "two_editions" in e.page["roles"])
    site.set_edition(2)
    third = crawl(sources, backend, tmp_path, *EVERY_LISTING)
    assert third["totals"]["archived_by"] == {"changed": 1}, third
    assert third["totals"]["unchanged"] == len(expected) - 1
    assert third["totals"]["extracted"] == 1 + not_articles
    store = open_store(backend.uri)
    history = _versions(store, edited.identity)
    assert [r["version"] for r in history] == [1, 2]
    assert history[1]["previous_version"] == 1
    assert history[1]["content_sha256"] != history[0]["content_sha256"]
    assert history[1]["html_key"] != history[0]["html_key"]
    assert store.storage.get(history[1]["html_key"]) is not None
    edition2 = edited.page["editions"]["2"]
    revised = history[1]["article"]
    assert revised["headline"] == edition2["headline"]
    assert _instant(revised["date_modified"]) == _instant(edition2["date_modified"])
    for paragraph in edition2["changed_paragraphs"] + edition2["added_paragraphs"]:
        assert paragraph in revised["body"].splitlines()
    assert history[0]["article"]["headline"] == edited.page["headline"]

    # A new process with nothing on its local disk reads the archive and adds nothing.
    fresh = ["-s", f"ARCHIVE_STATE_DIR={tmp_path / 'empty-disk'}"]
    fourth = crawl(sources, backend, tmp_path, *EVERY_LISTING, *fresh)
    assert fourth["totals"]["archived"] == 0, fourth
    assert fourth["totals"]["unchanged"] == len(expected)
    assert "cached" not in fourth["fetch_hints"]
    assert "read_ahead" not in fourth["fetch_hints"]
    # Nor can it know which articles are new: it asks the archive about every one.
    assert "absent" not in fourth["fetch_hints"]
    assert fourth["fetch_hints"]["archive"] >= len(expected)

    # Every run left its manifest, and the manifests' counts match what the archive holds.
    manifests = list(iter_run_manifests(store.storage))
    assert [m["run_id"] for m in manifests] == [
        run["run_id"] for run in (first, second, third, fourth)
    ]
    first_manifest = manifests[0]
    assert first_manifest["counts"]["new"] == len(expected)
    assert first_manifest["counts"]["failed_by"] == totals["failed_by"]
    assert first_manifest["sources"] == sorted(site.outlets)
    assert first_manifest["finish_reason"] == "finished"
    assert len(first_manifest["config_sha256"]) == 64
    assert first_manifest["software"]["newsarchive"]
    assert manifests[1]["counts"]["not_modified"] == len(expected)
    stored_versions = sum(len(store.history(e.identity)) for e in expected)
    made = sum(m["counts"]["new"] + m["counts"]["changed"] for m in manifests)
    assert made == stored_versions == len(expected) + 1
    observed = sum(len(store.observations(e.identity)) for e in expected)
    content_unchanged = sum(
        m["by_source"][s].get("unchanged_by", {}).get("content", 0)
        for m in manifests
        for s in m["by_source"]
    )
    assert observed == content_unchanged
    logged = sum(len(list(iter_run_checks(store.storage, m["run_id"]))) for m in manifests)
    assert logged == sum(m["counts"]["not_modified"] + m["counts"]["same_html"] for m in manifests)
    assert manifests[1]["checks_key"].endswith(".checks.jsonl.gz")


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_scrapy_crawl_with_given_urls_and_an_unreachable_source(
    site: DemoSite, tmp_path: Path
) -> None:
    """``scrapy crawl news`` works as documented; a dead source is a warning, not a crash."""
    site.set_edition(1)
    sources = site.write_sources(tmp_path / "sources.toml")
    port = _closed_port()
    with sources.open("a", encoding="utf-8") as handle:
        handle.write(
            f'\n[sources.gone]\nfeeds = ["http://127.0.0.1:{port}/rss.xml"]\n'
            f'allowed_domains = ["127.0.0.1:{port}"]\n'
        )
    seed = next(e for e in expected_articles(site) if "Manish Swarup/AP" in json.dumps(e.page))
    given = seed.identity + "?utm_source=newsletter#top"
    archive = tmp_path / "archive"
    summary_path = tmp_path / "summary.json"
    repo = Path(__file__).resolve().parent.parent
    common = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "news",
        "-a",
        f"sources_file={sources}",
        "-s",
        f"ARCHIVE_URI={archive}",
        "-s",
        f"ARCHIVE_SUMMARY_FILE={summary_path}",
        *FAST,
    ]
    run = subprocess.run(
        [*common, "-a", f"urls={given}"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env=_base_env(),
        check=False,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["totals"]["archived_by"] == {"new": 1}
    record = open_store(str(archive)).history(seed.identity)[0]
    assert record["provenance"]["discovered_via"] == "url"
    assert record["source"] == "harbour-herald"
    assert record["requested_url"] == seed.identity

    run = subprocess.run(
        [*common, "-a", "source=gone,harbour-herald"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        env=_base_env(),
        check=False,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    gone = summary["sources"]["gone"]
    assert len(gone["warnings"]) == 1
    assert f"http://127.0.0.1:{port}/rss.xml failed: connection_refused" in gone["warnings"][0]
    assert (
        summary["sources"]["harbour-herald"]["archived"]
        == len([e for e in expected_articles(site) if e.outlet == "harbour-herald"]) - 1
    )  # the seed article is already archived: this time it is unchanged
    assert summary["sources"]["harbour-herald"]["unchanged"] == 1


def test_a_byte_identical_page_is_not_extracted_again(site: DemoSite, tmp_path: Path) -> None:
    """Without validators (conditional GET off), the body hash alone spares the extraction."""
    site.set_edition(1)
    sources = site.write_sources(tmp_path / "sources.toml")
    backend = Backend(str(tmp_path / "archive"), {})
    first = crawl(sources, backend, tmp_path, "--source", "meridian-wire")
    archived = first["totals"]["archived"]
    assert archived == first["totals"]["extracted"] > 0
    second = crawl(
        sources,
        backend,
        tmp_path,
        "--source",
        "meridian-wire",
        "-s",
        "ARCHIVE_CONDITIONAL_GET=0",
        *EVERY_LISTING,
    )
    assert second["totals"]["unchanged_by"] == {"same_html": archived}, second
    assert second["totals"].get("extracted", 0) == 0
    assert second["totals"]["archived"] == 0


def test_unchanged_listings_are_not_parsed_again(site: DemoSite, tmp_path: Path) -> None:
    """A feed answered 304 (or the same bytes) leads to no article request at all."""
    site.set_edition(1)
    sources = site.write_sources(tmp_path / "sources.toml")
    backend = Backend(str(tmp_path / "archive"), {})
    first = crawl(sources, backend, tmp_path, "--source", "harbour-herald")
    assert first["totals"]["archived"] > 0
    site.clear_request_log()
    second = crawl(sources, backend, tmp_path, "--source", "harbour-herald")
    assert second["sources"]["harbour-herald"]["listings_unchanged_by"] == {"not_modified": 1}
    assert second["totals"]["fetched"] == 0
    requested = [r.path for r in site.request_log if r.path != "/robots.txt"]
    assert requested == ["/feeds/world.rss"]
    assert [r.status for r in site.request_log if r.path == "/feeds/world.rss"] == [304]
    # Without validators, the same bytes are recognised too.
    third = crawl(
        sources, backend, tmp_path, "--source", "harbour-herald", "-s", "ARCHIVE_CONDITIONAL_GET=0"
    )
    assert third["sources"]["harbour-herald"]["listings_unchanged_by"] == {"same_body": 1}
    assert third["totals"]["fetched"] == 0
