"""Stages B, C0 and C: parsing and extraction of every article page, in this process.

B parses each page with lxml, the least any extraction must do. C0 is a bare trafilatura call
with the options ``crawler/extract.py`` gives it; C is the project's extraction,
``extract_article``, which parses once, reads JSON-LD and meta tags, cuts figures and captions
out of a copy, runs trafilatura on it and cleans the result. Each page goes through all three in
turn, timed one call at a time: wall time for the distribution, the thread's CPU time for the
cost per page.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from functools import partial
from typing import Any

import lxml.html
import trafilatura
from trafilatura.deduplication import LRUCache

from crawler.extract import extract_article


def trafilatura_options(fetched_at: datetime) -> dict[str, Any]:
    """Return the keyword arguments ``crawler/extract.py`` passes to ``bare_extraction``.

    Keep in step with ``_run_trafilatura`` there.
    """
    return {
        "with_metadata": True,
        "include_comments": False,
        "include_tables": False,
        "include_images": False,
        "include_links": False,
        "include_formatting": False,
        "deduplicate": LRUCache(maxsize=1024),
        "date_extraction_params": {
            "original_date": True,
            "extensive_search": False,
            "max_date": fetched_at.date().isoformat(),
        },
    }


class Timings:
    """Wall and CPU time of each call of one stage."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.results = 0

    def time(self, call: Callable[[], object]) -> None:
        """Run ``call`` once and record what it took; count it if it returned something."""
        cpu, wall = time.thread_time(), time.perf_counter()
        result = call()
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.thread_time() - cpu)
        self.results += result is not None

    def summary(self) -> dict[str, Any]:
        """Return pages, pages/s, CPU ms per page and p50/p90/max wall ms per page."""
        pages = len(self.wall)
        if not pages:
            return {"pages": 0}
        ordered = sorted(self.wall)
        return {
            "pages": pages,
            "pages_per_s": round(pages / sum(self.wall), 1),
            "cpu_ms_per_page": round(statistics.fmean(self.cpu) * 1000, 3),
            "p50_ms": round(ordered[int(0.5 * (pages - 1))] * 1000, 2),
            "p90_ms": round(ordered[int(0.9 * (pages - 1))] * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2),
            "results": self.results,
        }


def parse_stages(
    pages: Iterable[tuple[str, bytes]], fetched_at: datetime, stages: Collection[str]
) -> dict[str, Any]:
    """Run the stages named (``B``, ``C0``, ``C``) over ``pages`` (``(url, body)``).

    Return the summary of each.
    """
    calls: dict[str, Callable[[str, bytes], object]] = {
        "B": lambda url, body: lxml.html.document_fromstring(body),
        "C0": lambda url, body: trafilatura.bare_extraction(
            body, url=url, **trafilatura_options(fetched_at)
        ),
        "C": lambda url, body: extract_article(body, url, fetched_at=fetched_at, encoding="utf-8"),
    }
    timings = {name: Timings() for name in calls if name in stages}
    for url, body in pages:
        for name, timing in timings.items():
            timing.time(partial(calls[name], url, body))
    return {name: timing.summary() for name, timing in timings.items()}
