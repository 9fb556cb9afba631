"""``newsarchive export``: write a slice of the archive as JSONL, Parquet or WARC."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .export_select import FORMATS, ExportError, ExportFilter
from .uri import open_storage

if TYPE_CHECKING:
    from .export import ExportStats

PROGRESS_EVERY = 100
"""Versions between two refreshes of the progress line."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``export`` to the ``newsarchive`` command line."""
    parser = commands.add_parser(
        "export",
        help="export versions as JSONL, Parquet or WARC (with a CDXJ index)",
        description="Export the versions of the archived articles, by source and date range, "
        "streaming: memory stays constant however large the archive. Dates are inclusive; "
        "capture dates are UTC.",
    )
    parser.add_argument("--format", required=True, choices=FORMATS, help="output format")
    parser.add_argument(
        "--output",
        "-o",
        required=True,
        type=Path,
        metavar="PATH",
        help="file to write; a WARC export also writes PATH's .cdxj index beside it",
    )
    parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="S",
        help="only this source (repeat for several; default: every source)",
    )
    parser.add_argument(
        "--from", dest="captured_from", type=_date, metavar="YYYY-MM-DD", help="captured from"
    )
    parser.add_argument(
        "--to", dest="captured_to", type=_date, metavar="YYYY-MM-DD", help="captured until"
    )
    parser.add_argument(
        "--published-from", type=_date, metavar="YYYY-MM-DD", help="published on or after"
    )
    parser.add_argument(
        "--published-to", type=_date, metavar="YYYY-MM-DD", help="published on or before"
    )
    parser.add_argument(
        "--latest",
        action="store_true",
        help="only the last matching version of each article (default: every version)",
    )
    parser.add_argument(
        "--archive",
        default=os.environ.get("ARCHIVE_URI") or "archive",
        metavar="URI",
        help="archive folder or s3://bucket/prefix (default: $ARCHIVE_URI, else ./archive)",
    )
    parser.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Run the export and print what it wrote."""
    # Imported here: the parser is built for every command, and the crawl's must stay light.
    from .export import export_archive

    selection = ExportFilter(
        sources=frozenset(args.source),
        captured_from=args.captured_from,
        captured_to=args.captured_to,
        published_from=args.published_from,
        published_to=args.published_to,
        latest=args.latest,
    )
    if not args.output.parent.is_dir():
        raise ExportError(f"the folder of {args.output} does not exist")
    conditional = os.environ.get("ARCHIVE_S3_CONDITIONAL_WRITES", "true").strip().lower()
    storage = open_storage(args.archive, conditional_writes=conditional not in ("0", "false", "no"))
    progress = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    try:
        stats = export_archive(storage, args.format, args.output, selection, progress=progress)
    finally:
        storage.close()
        if progress is not None:
            progress.done()
    print(f"{stats.versions} versions of {stats.articles} articles written to {args.output}")
    return 0


class ProgressLine:
    """Show versions and bytes written so far on one terminal line, redrawn in place."""

    def __init__(self, stream: TextIO, every: int = PROGRESS_EVERY) -> None:
        self.stream = stream
        self.every = every
        self.last: ExportStats | None = None

    def __call__(self, stats: ExportStats) -> None:
        self.last = stats
        if stats.versions % self.every == 0:
            self._draw(stats)

    def done(self) -> None:
        """Draw the final count and end the line."""
        if self.last is not None:
            self._draw(self.last)
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, stats: ExportStats) -> None:
        self.stream.write(
            f"\rexport: {stats.versions} versions, {stats.articles} articles, {_size(stats.bytes)}"
        )
        self.stream.flush()


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from err
