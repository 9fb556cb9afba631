"""Entry point of the container: crawl every source on its own schedule until SIGTERM.

The same as ``newsarchive schedule``; see docs/scheduler.md.
"""

from __future__ import annotations

import sys

from crawler.scheduling import main

if __name__ == "__main__":
    sys.exit(main())
