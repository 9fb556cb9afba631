"""``newsarchive catalog rebuild | path``: regenerate the Parquet catalog, or say where it is."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from .errors import ArchiveURIError
from .uri import open_storage, parse_archive_uri

PROGRESS_EVERY = 1000


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``catalog rebuild`` and ``catalog path`` to the ``newsarchive`` parser."""
    catalog = commands.add_parser("catalog", help="the Parquet catalog of every version")
    actions = catalog.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    rebuild = actions.add_parser(
        "rebuild",
        help="regenerate the catalog from the version records (replaces its part files)",
    )
    _archive_argument(rebuild)
    rebuild.set_defaults(func=cmd_rebuild)
    path = actions.add_parser("path", help="print the glob that DuckDB's read_parquet reads")
    _archive_argument(path)
    path.set_defaults(func=cmd_path)


def _archive_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--archive",
        default=os.environ.get("ARCHIVE_URI") or "archive",
        help="archive URI: a folder or s3://bucket/prefix (default: $ARCHIVE_URI, else archive)",
    )


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Rebuild the catalog and print the number of rows written."""
    location = parse_archive_uri(args.archive)
    if location.path is not None and not location.path.is_dir():
        raise ArchiveURIError(f"no archive folder at {location.path}")
    conditional = os.environ.get("ARCHIVE_S3_CONDITIONAL_WRITES", "true").strip().lower()
    storage = open_storage(args.archive, conditional_writes=conditional not in ("0", "false", "no"))
    # Imported here: the parser is built for every command, and the crawl's must stay light.
    from .catalog import rebuild_catalog

    progress = _Progress(sys.stderr) if sys.stderr.isatty() else None
    try:
        rows = rebuild_catalog(storage, progress=progress)
    finally:
        storage.close()
        if progress is not None:
            progress.done()
    print(rows)
    return 0


def cmd_path(args: argparse.Namespace) -> int:
    """Print the glob naming every catalog part, for ``read_parquet(..., hive_partitioning)``."""
    # Imported here: the parser is built for every command, and the crawl's must stay light.
    from .catalog import catalog_glob

    location = parse_archive_uri(args.archive)
    if location.kind == "s3":
        root = f"s3://{location.bucket}/{location.prefix}"
    else:
        assert location.path is not None
        root = str(location.path.absolute())
    print(catalog_glob(root))
    return 0


class _Progress:
    """Show a running count of the versions read, on a terminal only."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, rows: int) -> None:
        if rows % PROGRESS_EVERY == 0:
            self.stream.write(f"\rcatalog rebuild: {rows} versions read")
            self.stream.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
