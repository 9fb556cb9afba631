"""The functions APScheduler calls, by reference, from its persistent job store.

A stored job names a module-level function and plain arguments (the source's name), so it can be
unpickled by any later process. The function hands the work to the scheduler that is active in
this process.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from crawler.scheduling.config import SchedulingError

if TYPE_CHECKING:
    from crawler.scheduling.service import SchedulerService

logger = logging.getLogger(__name__)

RUN_SOURCE_REF = "crawler.scheduling.jobs:run_source_job"
CHECK_STALENESS_REF = "crawler.scheduling.jobs:check_staleness_job"
RUN_REVISITS_REF = "crawler.scheduling.jobs:run_revisits_job"

_active: SchedulerService | None = None
_lock = threading.Lock()


def activate(service: SchedulerService) -> None:
    """Make ``service`` the one that runs this process's jobs."""
    global _active
    with _lock:
        if _active is not None and _active is not service:
            raise SchedulingError("another scheduler is already running in this process")
        _active = service


def deactivate(service: SchedulerService) -> None:
    """Forget ``service`` if it is the active one."""
    global _active
    with _lock:
        if _active is service:
            _active = None


def run_source_job(source: str) -> None:
    """Crawl ``source`` once (a scheduled run)."""
    service = _active
    if service is None:
        logger.warning("no scheduler is active in this process; not running %s", source)
        return
    service.run_source(source)


def check_staleness_job() -> None:
    """Re-assess every scheduled source's staleness (a periodic internal job)."""
    service = _active
    if service is not None:
        service.check_staleness()


def run_revisits_job() -> None:
    """Fetch again every source's articles whose revisit is due (a scheduled run)."""
    service = _active
    if service is not None:
        service.run_revisits()
