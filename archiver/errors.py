"""The exceptions the archiver raises; catch :class:`ArchiverError` to catch them all."""

from __future__ import annotations


class ArchiverError(Exception):
    """Root of every error the archiver raises."""


class ArchiveURIError(ArchiverError, ValueError):
    """An ``ARCHIVE_URI`` that names no usable local folder or S3 location."""


class CaptureError(ArchiverError, ValueError):
    """A capture that cannot be archived: a bad timestamp, or data that is not JSON."""


class InvalidKeyError(ArchiverError, ValueError):
    """A storage key that is empty, absolute, or could escape the archive root."""


class StorageError(ArchiverError):
    """A storage operation failed; the message names the operation and the key."""


class ConflictError(StorageError):
    """A conditional write found the key already taken, or retries ran out."""
