"""``newsarchive demo``: the whole pipeline on the bundled fixture site, offline, in seconds."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from crawler.demosite.server import DemoSite

# The demo site is on loopback and ours: no need to wait between requests, and the crawler may
# reach it (private networks are otherwise refused).
DEMO_SETTINGS: dict[str, Any] = {
    "ALLOW_PRIVATE_NETWORKS": True,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "ARCHIVE_RETRY_BACKOFF_BASE": 0.1,
    "LOG_LEVEL": "WARNING",
}


def archived_versions(archive: Path) -> list[dict[str, Any]]:
    """Read every version record of a local archive, oldest article first."""
    records = []
    for path in sorted(archive.glob("articles/*/*/v*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        record["_path"] = str(path)
        records.append(record)
    records.sort(key=lambda r: (r["article"].get("date_published") or "", r["version"]))
    return records


def run_demo(archive: Path) -> int:
    """Serve the demo site, crawl it into ``archive`` and print what was stored."""
    from crawler.cli import run_crawl
    from crawler.summary import format_summary

    with DemoSite() as site, tempfile.TemporaryDirectory(prefix="newsarchive-demo-") as tmp:
        sources = site.write_sources(Path(tmp) / "sources.toml")
        print("Serving the demo news site:")
        for name, base in site.outlets.items():
            print(f"  {name:<16} {base}/")
        print(f"Crawling it into {archive}/ ...\n")
        # The demo's revisit queue is as temporary as its site.
        settings = {**DEMO_SETTINGS, "ARCHIVE_STATE_DIR": str(Path(tmp) / "state")}
        summary = run_crawl(sources=str(sources), archive=str(archive), extra=settings)
    print(format_summary(summary))
    records = archived_versions(archive)
    print(f"\n{len(records)} versions in {archive}/:")
    for record in records:
        article = record["article"]
        images = len(article.get("images") or [])
        print(
            f"  v{record['version']}  {record['source']:<16} {article['headline'][:60]:<60}"
            f"  {article.get('word_count', 0):>4} words, {images} images"
        )
    if records:
        example = records[0]["_path"]
        print(
            "\nLook inside:\n"
            f"  python -m json.tool {example}     # one version record\n"
            f"  find {archive}/articles -type f | sort   # every key\n"
            f"  zcat {archive}/articles/*/*/html/*.html.gz | head   # raw HTML as fetched\n"
            f"\nRun it again: unchanged articles add observations, not versions."
        )
    return 0 if summary.get("finish_reason") == "finished" and records else 1
