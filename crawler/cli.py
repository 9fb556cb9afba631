"""The ``newsarchive`` command: ``crawl``, ``revisit``, ``extract``, ``demo`` and ``schedule``."""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import json
import os
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from crawler import __version__
from crawler.backfill import DateWindow
from crawler.cli_spool import register as register_spool
from crawler.errors import CrawlerError
from crawler.scheduling.command import add_schedule_arguments, cmd_schedule

READ_COMMANDS = (
    "archiver.cli_diff",
    "archiver.cli_catalog",
    "archiver.cli_export",
    "archiver.cli_read",
    "archiver.cli_fsck",
)
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
GC_YOUNG_THRESHOLD = 10_000
"""Allocations between collections of the youngest generation during a crawl (Python's
default is 700): measured on a recrawl, the collector's time fell from 0.37 s to 0.18 s."""
# `extract URL` reads at most this much of a page.
MAX_PAGE_BYTES = 20 * 1024 * 1024


def _project_settings(overrides: dict[str, Any]) -> Any:
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_crawl(
    *,
    sources: str | None,
    archive: str | None,
    source_names: Sequence[str] = (),
    urls: Sequence[str] = (),
    summary_file: str | None = None,
    extra: dict[str, Any] | None = None,
    spider: str = "news",
    since: str | None = None,
    until: str | None = None,
) -> dict[str, Any]:
    """Run one crawl in this process and return its summary (see :mod:`crawler.summary`).

    ``spider`` is ``news`` (discover and archive) or ``revisit`` (fetch due articles again).
    """
    from scrapy.crawler import CrawlerProcess

    from crawler.sources import load_sources, select_sources

    # Fail on a bad sources file or date window before Scrapy starts anything.
    known = load_sources(sources)
    if until and not since:
        raise CrawlerError("--until needs --since: a backfill window starts somewhere")
    if since:
        DateWindow.parse(since, until)
    if source_names:
        select_sources(known, source_names)

    with tempfile.TemporaryDirectory(prefix="newsarchive-") as tmp:
        summary_path = summary_file or str(Path(tmp) / "summary.json")
        overrides: dict[str, Any] = {"ARCHIVE_SUMMARY_FILE": summary_path}
        if sources:
            overrides["ARCHIVE_SOURCES"] = sources
        if archive:
            overrides["ARCHIVE_URI"] = archive
        overrides.update(extra or {})
        process = CrawlerProcess(_project_settings(overrides))
        spider_args: dict[str, str] = {}
        if source_names:
            spider_args["source"] = ",".join(source_names)
        if urls:
            spider_args["urls"] = ",".join(urls)
        if since:
            spider_args["since"] = since
        if until:
            spider_args["until"] = until
        process.crawl(spider, **spider_args)
        # Scrapy, Twisted, botocore and the crawl's own parts are built by now and live as long
        # as the crawl: set them aside from the cyclic collector, whose full passes would
        # otherwise walk them all, some 80 ms each, several times a crawl. A crawl makes and
        # drops many small objects (requests, responses, their meta); a larger youngest
        # generation lets them die before a collection has to look at them.
        thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
        try:
            process.start()
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
        path = Path(summary_path)
        if not path.exists():
            raise CrawlerError("the crawl ended without a summary; see the log above")
        summary: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return summary


def _parse_settings(pairs: Sequence[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CrawlerError(f"-s expects NAME=VALUE, got {pair!r}")
        settings[name] = value
    return settings


def cmd_crawl(args: argparse.Namespace) -> int:
    """Crawl sources (or given URLs) into the archive."""
    from crawler.summary import format_summary

    summary = run_crawl(
        sources=args.sources,
        archive=args.archive,
        source_names=args.source or (),
        urls=args.url or (),
        summary_file=args.summary,
        extra=_parse_settings(args.set or ()),
        since=args.since,
        until=args.until,
    )
    print(format_summary(summary))
    return EXIT_OK if summary.get("finish_reason") == "finished" else EXIT_FAILED


def cmd_revisit(args: argparse.Namespace) -> int:
    """Fetch again the archived articles whose revisit is due."""
    from crawler.summary import format_summary

    extra: dict[str, Any] = _parse_settings(args.set or ())
    if args.state_dir:
        extra["ARCHIVE_STATE_DIR"] = args.state_dir
    summary = run_crawl(
        sources=args.sources,
        archive=args.archive,
        source_names=args.source or (),
        summary_file=args.summary,
        extra=extra,
        spider="revisit",
    )
    print(format_summary(summary))
    for name, entry in summary["sources"].items():
        states = entry.get("states_by") or {}
        detail = ", ".join(f"{state}={n}" for state, n in sorted(states.items()))
        print(
            f"  {name}: revisited={entry.get('revisited', 0)}" + (f"; {detail}" if detail else "")
        )
    return EXIT_OK if summary.get("finish_reason") == "finished" else EXIT_FAILED


def _read_page(target: str) -> bytes:
    if target.startswith(("http://", "https://")):
        from crawler import settings
        from crawler.netguard import (
            GuardedRedirectHandler,
            NetworkPolicy,
            check_url,
            parse_networks,
        )

        opener = urllib.request.build_opener()
        if not settings.ALLOW_PRIVATE_NETWORKS:
            # The same refusal as the crawler's: this URL may come from a page, not the user.
            policy = NetworkPolicy(parse_networks(settings.ARCHIVE_ALLOWED_NETWORKS))
            check_url(target, policy)
            opener = urllib.request.build_opener(GuardedRedirectHandler(policy))
        request = urllib.request.Request(target, headers={"User-Agent": settings.USER_AGENT})
        with opener.open(request, timeout=30) as response:
            data: bytes = response.read(MAX_PAGE_BYTES + 1)
    else:
        data = Path(target).read_bytes()
    if len(data) > MAX_PAGE_BYTES:
        raise CrawlerError(f"{target}: page larger than {MAX_PAGE_BYTES} bytes")
    return data


def cmd_extract(args: argparse.Namespace) -> int:
    """Print the article extracted from a file or URL as JSON."""
    from crawler.extract import article_to_json, extract_article

    target: str = args.target
    try:
        html = _read_page(target)
    except OSError as err:
        raise CrawlerError(f"cannot read {target}: {err}") from err
    url = args.url or (target if "://" in target else Path(target).resolve().as_uri())
    article = extract_article(html, url)
    if article is None:
        print(f"{target}: not an article", file=sys.stderr)
        return EXIT_FAILED
    print(article_to_json(article))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the bundled fixture news site on loopback and archive it into a local folder."""
    from crawler.demo import run_demo

    return run_demo(Path(args.archive))


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    parser = argparse.ArgumentParser(
        prog="newsarchive", description="Archive world news: crawl, extract, keep every version."
    )
    parser.add_argument("--version", action="version", version=f"newsarchive {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    crawl = commands.add_parser("crawl", help="crawl sources into the archive")
    crawl.add_argument("--sources", help="sources TOML file (default: the bundled list)")
    crawl.add_argument("--archive", help="archive URI: a folder or s3://bucket/prefix")
    crawl.add_argument("--source", action="append", help="crawl only this source (repeatable)")
    crawl.add_argument("--url", action="append", help="archive this article URL (repeatable)")
    crawl.add_argument("--summary", help="also write the crawl summary to this JSON file")
    crawl.add_argument(
        "--since", metavar="YYYY-MM-DD", help="backfill: walk sitemaps for articles from this day"
    )
    crawl.add_argument("--until", metavar="YYYY-MM-DD", help="backfill: up to this day")
    crawl.add_argument(
        "-s", "--set", action="append", metavar="NAME=VALUE", help="override a setting"
    )
    crawl.set_defaults(func=cmd_crawl)

    revisit = commands.add_parser(
        "revisit", help="fetch due articles again, to catch edits and removals"
    )
    revisit.add_argument("--sources", help="sources TOML file (default: the bundled list)")
    revisit.add_argument("--archive", help="archive URI: a folder or s3://bucket/prefix")
    revisit.add_argument(
        "--source", action="append", help="revisit only this source's articles (repeatable)"
    )
    revisit.add_argument("--state-dir", help="folder of the revisit queue (ARCHIVE_STATE_DIR)")
    revisit.add_argument("--summary", help="also write the crawl summary to this JSON file")
    revisit.add_argument(
        "-s", "--set", action="append", metavar="NAME=VALUE", help="override a setting"
    )
    revisit.set_defaults(func=cmd_revisit)

    extract = commands.add_parser("extract", help="print the article of an HTML file or URL")
    extract.add_argument("target", help="an HTML file or an http(s) URL")
    extract.add_argument("--url", help="the page's URL, when TARGET is a file")
    extract.set_defaults(func=cmd_extract)

    demo = commands.add_parser("demo", help="archive the bundled demo news site, offline")
    demo.add_argument(
        "--archive",
        default="demo-archive",
        help="local folder to archive into (default: %(default)s)",
    )
    demo.set_defaults(func=cmd_demo)

    # Reading the archive: these commands live with the archiver, which knows no Scrapy.
    for module in READ_COMMANDS:
        importlib.import_module(module).register(commands)
    register_spool(commands)

    schedule = commands.add_parser("schedule", help="crawl every source on its own schedule")
    add_schedule_arguments(schedule)
    schedule.set_defaults(func=cmd_schedule)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    from archiver import ArchiverError

    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (CrawlerError, ArchiverError) as err:
        print(f"newsarchive: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code


def exit_now(code: int) -> NoReturn:
    """Exit as the interpreter does, less its last step: freeing every object one by one.

    The usual exit waits for the threads that are not daemons, runs the ``atexit`` handlers
    (logging flushes and closes its files there), flushes stdout and stderr, and then takes
    every module apart. That last step costs a crawl's process about 0.3 s (Scrapy, Twisted,
    botocore's service model) and buys nothing: the system takes the memory back whole, and
    everything the command wrote is closed by then.
    """
    wait_for_threads = getattr(threading, "_shutdown", None)
    if wait_for_threads is None:  # not CPython's threading module: exit the usual way
        sys.exit(code)
    wait_for_threads()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or 120  # what Python answers when it cannot flush them
    os._exit(code)


def run() -> NoReturn:
    """Entry point of the ``newsarchive`` command: :func:`main`, then :func:`exit_now`."""
    exit_now(main())


if __name__ == "__main__":
    run()
