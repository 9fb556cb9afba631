"""``newsarchive sources | ls | history | show``: read the archive from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from .read_filter import ReadError, parse_instant
from .read_render import render_article, render_history, short_time, summary_line
from .reader import ArchiveReader, open_reader


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sources``, ``ls``, ``history`` and ``show`` to the ``newsarchive`` command line."""
    sources = commands.add_parser(
        "sources",
        help="list the sources in the archive, with article and version counts",
        description="List the sources in the archive, one per line, with the articles and "
        "versions the crawl runs recorded (--scan counts the article folders instead).",
    )
    sources.add_argument(
        "--scan", action="store_true", help="count by reading every article (slow, exact)"
    )
    sources.add_argument("--json", action="store_true", help="print JSON lines")
    _archive_option(sources)
    sources.set_defaults(func=cmd_sources)

    listing = commands.add_parser(
        "ls",
        help="list archived articles, with filters",
        description="List archived articles, one line each: capture time, source, "
        "version/versions, headline and URL (tab-separated). Bounds are inclusive: a date "
        "covers its whole UTC day, a time (2026-11-27T12:00Z) is an instant.",
    )
    listing.add_argument("--source", action="append", default=[], metavar="S", help="repeatable")
    for name, help_text in (
        ("--published-from", "published at or after D"),
        ("--published-to", "published at or before D"),
        ("--captured-from", "captured at or after D"),
        ("--captured-to", "captured at or before D (the article as it read then)"),
    ):
        listing.add_argument(name, metavar="D", help=help_text)
    listing.add_argument("--language", metavar="L", help="language, e.g. fr (matches fr-FR)")
    listing.add_argument(
        "--contains", metavar="TEXT", help="headline, description or body contains TEXT (any case)"
    )
    listing.add_argument(
        "--all-versions", action="store_true", help="every matching version, not only the latest"
    )
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    _archive_option(listing)
    listing.set_defaults(func=cmd_ls)

    history = commands.add_parser(
        "history",
        help="list an article's versions and state changes with times",
        description="List an article's versions, state changes (removed, restored...) and "
        "sightings, oldest first; unchanged sightings are summarised.",
    )
    history.add_argument("url", metavar="URL", help="the article's URL (its identity URL)")
    history.add_argument(
        "--checks",
        action="store_true",
        help="also read every run's check log (fetches found unchanged before extraction)",
    )
    history.add_argument("--json", action="store_true", help="print every event as a JSON line")
    _archive_option(history)
    history.set_defaults(func=cmd_history)

    show = commands.add_parser(
        "show",
        help="print an article as it read at a time, or one version of it",
        description="Print an archived article: by default its latest version.",
    )
    show.add_argument("url", metavar="URL", help="the article's URL (its identity URL)")
    when = show.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIME", help="as it read at TIME, e.g. 2026-11-27T12:00Z")
    when.add_argument("--version", type=int, metavar="N", help="version N")
    output = show.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the version's article as JSON")
    output.add_argument("--html", action="store_true", help="print the raw HTML as fetched")
    _archive_option(show)
    show.set_defaults(func=cmd_show)


def _archive_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--archive",
        default=os.environ.get("ARCHIVE_URI") or "archive",
        metavar="URI",
        help="archive folder or s3://bucket/prefix (default: $ARCHIVE_URI, else ./archive)",
    )


def _with_reader(args: argparse.Namespace, action: Callable[[ArchiveReader], int]) -> int:
    with open_reader(args.archive) as reader:
        try:
            return action(reader)
        except BrokenPipeError:
            # The reader of a pipe (`| head`) has had enough; that is not an error. Point
            # stdout at nothing so the interpreter's final flush does not fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return 0


def _json_line(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def cmd_sources(args: argparse.Namespace) -> int:
    """Print the sources, one per line."""

    def run(reader: ArchiveReader) -> int:
        stats = reader.source_stats(scan=args.scan)
        width = max((len(name) for name in stats), default=0)
        for item in stats.values():
            if args.json:
                _json_line(vars(item))
            else:
                sys.stdout.write(
                    f"{item.name:<{width}}  {item.articles:>7} articles  "
                    f"{item.versions:>7} versions\n"
                )
        return 0

    return _with_reader(args, run)


def cmd_ls(args: argparse.Namespace) -> int:
    """Print the matching articles, one per line, as they are read."""

    def run(reader: ArchiveReader) -> int:
        found = reader.articles(
            source=args.source or None,
            published_from=args.published_from,
            published_to=args.published_to,
            captured_from=args.captured_from,
            captured_to=args.captured_to,
            language=args.language,
            text_contains=args.contains,
            latest_only=not args.all_versions,
        )
        for summary in found:
            if args.json:
                _json_line(summary.to_json())
            else:
                sys.stdout.write(summary_line(summary) + "\n")
        return 0

    return _with_reader(args, run)


def cmd_history(args: argparse.Namespace) -> int:
    """Print an article's history."""

    def run(reader: ArchiveReader) -> int:
        identity = reader.resolve(args.url)
        events = reader.history(identity, include_checks=args.checks)
        if args.json:
            for event in events:
                _json_line({"identity_url": identity, **event.to_json()})
        else:
            sys.stdout.write(render_history(identity, events))
        return 0

    return _with_reader(args, run)


def cmd_show(args: argparse.Namespace) -> int:
    """Print an article as it read at ``--at``, as version ``--version``, or as it reads now."""

    def run(reader: ArchiveReader) -> int:
        identity = reader.resolve(args.url)
        numbers = reader.version_numbers(identity)
        at = parse_instant(args.at) if args.at else None
        if at is not None:
            record = reader.as_of(identity, at)
            if record is None:
                first = reader.version(identity, numbers[0])
                raise ReadError(
                    f"{identity} was first archived at {short_time(first.get('captured_at'))}; "
                    f"--at {args.at} is before it"
                )
        elif args.version is not None:
            record = reader.version(identity, args.version)
        else:
            record = reader.version(identity, numbers[-1])
        if args.html:
            sys.stdout.flush()
            sys.stdout.buffer.write(reader.raw_html(identity, int(record["version"])))
            sys.stdout.buffer.flush()
        elif args.json:
            json.dump(record.get("article"), sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(render_article(record, len(numbers), at))
        return 0

    return _with_reader(args, run)
