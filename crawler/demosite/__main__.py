"""Serve the fixture news site until Ctrl-C: ``python -m crawler.demosite``."""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from crawler.demosite.server import DemoSite


def main(argv: list[str] | None = None) -> int:
    """Start the site, print where it is and the sources file that describes it, and wait."""
    parser = argparse.ArgumentParser(prog="python -m crawler.demosite", description=__doc__)
    parser.add_argument(
        "--sources",
        type=Path,
        help="where to write the sources file (default: a new temporary folder)",
    )
    parser.add_argument("--edition", type=int, default=1, help="edition of updated pages to serve")
    args = parser.parse_args(argv)
    with DemoSite() as site:
        site.set_edition(args.edition)
        target = args.sources or Path(tempfile.mkdtemp(prefix="demosite-")) / "sources.toml"
        sources = site.write_sources(target)
        print("Serving the demo news site (Ctrl-C to stop):")
        for name, base in site.outlets.items():
            print(f"  {name:<16} {base}/")
        print(f"Sources file: {sources}")
        print(f"Crawl it:     newsarchive crawl --sources {sources}")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nStopped.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
