"""Exceptions of the fixture site; all derive from the crawler's root exception."""

from __future__ import annotations

from crawler.errors import CrawlerError


class DemoSiteError(CrawlerError):
    """The fixture site cannot be built or served (missing files, not started, unknown outlet)."""


class UnsafePathError(DemoSiteError, ValueError):
    """A URL path that does not name a file inside the site (``..``, dot-files, backslashes)."""


class ContentError(DemoSiteError, ValueError):
    """A content file is missing a field, has an unknown one, or breaks a rule of the site."""
