"""Versioned archive of news articles: JSON records and raw HTML in S3 or a local folder.

The archiver never imports Scrapy: the crawler, the scheduler, the command line and tests
all call it the same way::

    store = open_store("s3://bucket/prefix")
    result = store.archive(capture)
"""

from __future__ import annotations

from .errors import (
    ArchiverError,
    ArchiveURIError,
    CaptureError,
    ConflictError,
    InvalidKeyError,
    StorageError,
)
from .records import ArchiveResult, Capture, content_sha256
from .storage import Storage
from .store import FetchHints, SnapshotStore, open_store

__all__ = [
    "ArchiveResult",
    "ArchiveURIError",
    "ArchiverError",
    "Capture",
    "CaptureError",
    "ConflictError",
    "FetchHints",
    "InvalidKeyError",
    "SnapshotStore",
    "Storage",
    "StorageError",
    "content_sha256",
    "open_store",
]
