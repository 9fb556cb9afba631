"""The scheduler of the container: every source crawled on its own schedule, unattended.

- :mod:`.config`: settings from arguments and ``ARCHIVE_*`` variables;
- :mod:`.triggers`: ``30m`` or cron text -> APScheduler trigger;
- :mod:`.runner`: one crawl of one source in a child process, bounded in time;
- :mod:`.runs`: what a run came to;
- :mod:`.staleness` and :mod:`.state`: noticing a source that has gone quiet, across restarts;
- :mod:`.jobstore`: APScheduler with its persistent job store, kept in line with the sources;
- :mod:`.jobs`: the functions the stored jobs name;
- :mod:`.service`: the service that ties runs, history, metrics and the scheduler together;
- :mod:`.command`: ``newsarchive schedule`` and ``scheduler.py``.

Metrics and the health endpoint are in :mod:`crawler.metrics`. See docs/scheduler.md.
"""

from __future__ import annotations

from crawler.scheduling.command import main

__all__ = ["main"]
