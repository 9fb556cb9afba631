"""``newsarchive spool list | flush``: the captures waiting for an unavailable archive."""

from __future__ import annotations

import argparse
import os
import sys

from archiver import open_store
from archiver.spool import Spool, iter_spools
from crawler import settings

EXIT_OK = 0
EXIT_PENDING = 1


def default_spool_dir() -> str:
    """Return ``ARCHIVE_SPOOL_DIR``, else ``ARCHIVE_STATE_DIR/spool``, as the crawler uses it."""
    return settings.ARCHIVE_SPOOL_DIR or os.path.join(settings.ARCHIVE_STATE_DIR, "spool")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``spool list`` and ``spool flush`` to the ``newsarchive`` command line."""
    spool = commands.add_parser(
        "spool",
        help="list or flush the captures spooled while the archive was unavailable",
        description="Captures the archive could not take during a crawl wait in a local spool; "
        "each crawl flushes it first. These commands show and flush it by hand.",
    )
    actions = spool.add_subparsers(dest="spool_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="print each archive URI with captures waiting")
    listing.add_argument("--spool-dir", default=default_spool_dir(), metavar="DIR")
    listing.set_defaults(func=cmd_spool_list)
    flush = actions.add_parser("flush", help="archive the spooled captures of an archive")
    flush.add_argument(
        "--archive",
        default=settings.ARCHIVE_URI,
        metavar="URI",
        help="the archive whose spool to flush (default: $ARCHIVE_URI, else ./archive)",
    )
    flush.add_argument("--spool-dir", default=default_spool_dir(), metavar="DIR")
    flush.set_defaults(func=cmd_spool_flush)


def cmd_spool_list(args: argparse.Namespace) -> int:
    """Print ``COUNT<TAB>URI`` per archive with a spool."""
    for uri, waiting in iter_spools(args.spool_dir):
        print(f"{waiting}\t{uri}")
    return EXIT_OK


def cmd_spool_flush(args: argparse.Namespace) -> int:
    """Flush the archive's spool; exit 1 if captures are still waiting."""
    store = open_store(args.archive)
    try:
        spool = Spool(args.spool_dir, store.storage.uri)
        result = spool.flush(store)
        written = [
            done.result.key for done in result.archived if done.result.outcome != "unchanged"
        ]
        if written:
            # Only now: pyarrow is a large import for a command that often has nothing to add.
            from archiver.catalog import append_version_keys

            rows = append_version_keys(store.storage, written, None)
            print(f"catalog: {rows} rows added", file=sys.stderr)
    finally:
        store.close()
    for done in result.archived:
        print(f"{done.result.outcome}\t{done.result.key}\t{done.url}")
    print(
        f"flushed {len(result.archived)}, still spooled {result.remaining}, "
        f"unreadable {len(result.failed)} ({spool.path})",
        file=sys.stderr,
    )
    return EXIT_PENDING if result.remaining or result.failed else EXIT_OK
