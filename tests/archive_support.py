"""Build a real archive for reader tests: the demo site crawled twice, with one article edited.

The first crawl archives every article (edition 1); the live article is then edited (edition 2)
and a second crawl, re-reading every listing, adds exactly one version. Crawls run as child
processes, as in production.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.demosite.server import DemoSite, load_manifest
from crawler.urls import normalize_url

CRAWL_SETTINGS = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s",
    "RETRY_TIMES=0",
    "-s",
    "ARCHIVE_SKIP_UNCHANGED_LISTINGS=0",
]


@dataclass(frozen=True)
class DemoArchive:
    """What was crawled into the archive at ``uri``."""

    uri: str
    identities: list[str]
    """Identity URLs of every archived article."""
    edited: str
    """Identity URL of the article that has two versions."""
    edited_headlines: tuple[str, str]
    """Its headline in version 1 and version 2."""
    first_run: dict[str, Any]
    second_run: dict[str, Any]
    """The crawl summaries (with ``run_id``) of the two crawls."""


def crawl(site: DemoSite, uri: str, tmp: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Crawl the demo site into ``uri`` once and return the crawl summary."""
    sources = site.write_sources(tmp / "sources.toml")
    summary_path = tmp / f"summary-{uuid.uuid4().hex[:8]}.json"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    child_env.update(env or {})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--sources",
            str(sources),
            "--archive",
            uri,
            "--summary",
            str(summary_path),
            *CRAWL_SETTINGS,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=child_env,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"crawl failed:\n{result.stdout}\n{result.stderr}")
    summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    return summary


def build_demo_archive(
    site: DemoSite, uri: str, tmp: Path, env: dict[str, str] | None = None
) -> DemoArchive:
    """Crawl edition 1, edit the live article, crawl again; describe the result."""
    tmp.mkdir(parents=True, exist_ok=True)
    site.set_edition(1)
    first = crawl(site, uri, tmp, env)
    site.set_edition(2)
    try:
        second = crawl(site, uri, tmp, env)
    finally:
        site.set_edition(1)
    if second["totals"].get("archived_by") != {"changed": 1}:
        raise AssertionError(f"expected exactly one changed article, got {second['totals']}")
    identities: list[str] = []
    edited = ""
    headlines = ("", "")
    for outlet, spec in load_manifest()["outlets"].items():
        base = site.outlets[outlet]
        for page in spec["pages"]:
            if not page["is_article"] or "disallowed" in page["roles"]:
                continue
            if not page["discovered_via"]:
                continue
            identity = normalize_url(base + page["canonical_path"])
            identities.append(identity)
            if "two_editions" in page["roles"]:
                edited = identity
                headlines = (page["headline"], page["editions"]["2"]["headline"])
    return DemoArchive(uri, identities, edited, headlines, first, second)
