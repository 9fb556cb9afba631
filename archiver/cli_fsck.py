"""``newsarchive fsck``: verify an archive and report every problem found, as it is found."""

from __future__ import annotations

import argparse
import json
import os
import sys

EXIT_CLEAN = 0
EXIT_PROBLEMS = 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``fsck`` to the ``newsarchive`` command line."""
    fsck = commands.add_parser(
        "fsck",
        help="verify the archive: records, HTML, version chains, runs and the catalog",
        description="Verify an archive and print each problem as it is found, then a summary. "
        "Only reads: nothing is repaired or deleted. Exit status: 0 clean, 1 problems found "
        "(or notices, with --strict), 2 the archive could not be read.",
    )
    fsck.add_argument(
        "--archive",
        default=os.environ.get("ARCHIVE_URI") or "archive",
        metavar="URI",
        help="archive folder or s3://bucket/prefix (default: $ARCHIVE_URI, else ./archive)",
    )
    fsck.add_argument(
        "--json", action="store_true", help="print each finding, then the summary, as JSON lines"
    )
    fsck.add_argument(
        "--strict",
        action="store_true",
        help="fail on notices too (HTML left by interrupted writes, unknown objects...)",
    )
    fsck.set_defaults(func=cmd_fsck)


def cmd_fsck(args: argparse.Namespace) -> int:
    """Check the archive, printing findings as they come and the summary last."""
    # Imported here: the parser is built for every command, and the crawl's must stay light.
    from .fsck import ArchiveChecker, open_archive

    storage = open_archive(args.archive)
    checker = ArchiveChecker(storage, strict=args.strict)
    try:
        for problem in checker.check():
            line = (
                json.dumps(problem.to_json(), ensure_ascii=False) if args.json else problem.line()
            )
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        report = checker.report
        if args.json:
            sys.stdout.write(json.dumps({"summary": report.to_json()}, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write(report.summary() + "\n")
    except BrokenPipeError:
        # The reader of a pipe (`| head`) has had enough: stop. An unfinished check is not a
        # clean one, and a finding was printed before the pipe closed.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_PROBLEMS
    finally:
        storage.close()
    return EXIT_PROBLEMS if report.failed else EXIT_CLEAN
