"""Exceptions of the crawler package: everything it raises on purpose derives from CrawlerError."""

from __future__ import annotations


class CrawlerError(Exception):
    """Root of the errors the crawler raises on purpose."""


class SourcesError(CrawlerError):
    """The sources file is missing, unreadable or invalid, or names an unknown source."""


class InvalidURLError(CrawlerError, ValueError):
    """A URL is not an absolute http(s) URL with a host.

    Also a ``ValueError``, so callers that only know the standard library can catch it.
    """


class PageTooLargeError(CrawlerError):
    """A page is beyond the extractor's size bound (``MAX_ELEMENTS``): it is not extracted."""
