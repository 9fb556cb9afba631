"""Extraction times of a crawl, in bounded memory, for its summary."""

from __future__ import annotations

import random
import threading
from typing import Any

SAMPLE_SIZE = 4096
"""Times kept for the percentiles: a uniform sample however many pages a crawl extracts."""


class ExtractionTimes:
    """Count, sum and maximum of every page's time, percentiles from a reservoir sample."""

    def __init__(self, sample_size: int = SAMPLE_SIZE, seed: int | None = None) -> None:
        self.sample_size = sample_size
        self.pages = 0
        self.timeouts = 0
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.max_seconds = 0.0
        self._sample: list[float] = []
        self._random = random.Random(seed)  # noqa: S311 (sampling, not secrecy)
        self._lock = threading.Lock()

    def add(self, seconds: float, cpu_seconds: float) -> None:
        """Record one page extracted in ``seconds`` (wall) and ``cpu_seconds``."""
        with self._lock:
            self.pages += 1
            self.seconds += seconds
            self.cpu_seconds += cpu_seconds
            self.max_seconds = max(self.max_seconds, seconds)
            if len(self._sample) < self.sample_size:
                self._sample.append(seconds)
            else:
                # Algorithm R: the n-th page replaces a kept one with probability size/n.
                slot = self._random.randrange(self.pages)
                if slot < self.sample_size:
                    self._sample[slot] = seconds

    def add_timeout(self) -> None:
        """Record one page that ran out of time (not in the times)."""
        with self._lock:
            self.timeouts += 1

    def summary(self) -> dict[str, Any]:
        """Return pages, timeouts, p50/p90/max and mean CPU, in milliseconds."""
        with self._lock:
            ordered = sorted(self._sample)
            pages = self.pages

            def percentile(share: float) -> float | None:
                if not ordered:
                    return None
                return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 2)

            return {
                "pages": pages,
                "timeouts": self.timeouts,
                "p50_ms": percentile(0.5),
                "p90_ms": percentile(0.9),
                "max_ms": round(self.max_seconds * 1000, 2) if pages else None,
                "mean_ms": round(self.seconds / pages * 1000, 2) if pages else None,
                "cpu_ms_per_page": round(self.cpu_seconds / pages * 1000, 2) if pages else None,
            }
