"""Skip the cost of log records nobody will see.

Scrapy filters by ``LOG_LEVEL`` in its root handler only: it leaves the root logger at
``NOTSET`` and sets the ``scrapy`` logger to ``DEBUG``. Every ``logger.debug()`` call in the
process therefore builds a full :class:`logging.LogRecord` (a stack walk to find the caller,
the time, the thread) before the handler throws it away. botocore logs some thirty records at
DEBUG for every S3 request and Scrapy two for every page; at INFO those records cost a crawl
more CPU than gzipping its pages. This extension raises the loggers' own levels to
``LOG_LEVEL``, so a call below it returns at once. At ``LOG_LEVEL = "DEBUG"`` nothing changes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

GATED_LOGGERS = ("", "scrapy")
"""The root logger (which every library's logger without a level of its own follows) and
the ``scrapy`` logger, which Scrapy's default configuration sets to ``DEBUG``."""


class LogLevelGate:
    """Set the level of the root and ``scrapy`` loggers to ``LOG_LEVEL``.

    Once when the extension is built, and again when the spider opens: Scrapy builds the
    extensions of a crawl before it installs its root log handler for that crawl, which sets
    the root logger back to ``NOTSET``.
    """

    def __init__(self, level: int) -> None:
        self.level = level
        self.apply()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LogLevelGate:
        """Gate at the crawl's ``LOG_LEVEL``; off when logging is off or at DEBUG."""
        settings = crawler.settings
        if not settings.getbool("LOG_ENABLED"):
            raise NotConfigured("logging is off")
        level = logging.getLevelName(str(settings.get("LOG_LEVEL")).upper())
        if not isinstance(level, int) or level <= logging.DEBUG:
            raise NotConfigured("every level is logged")
        gate = cls(level)
        crawler.signals.connect(gate.apply, signal=signals.spider_opened)
        return gate

    def apply(self) -> None:
        """Raise each gated logger below the level to it (a stricter level is kept)."""
        for name in GATED_LOGGERS:
            gated = logging.getLogger(name)
            if gated.level < self.level:
                gated.setLevel(self.level)
