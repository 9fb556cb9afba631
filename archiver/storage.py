"""The storage protocol every backend implements: a flat namespace of immutable objects."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable


@runtime_checkable
class Storage(Protocol):
    """Objects under ``/``-separated keys relative to the archive root.

    Every method raises :class:`~archiver.errors.StorageError` when the backend fails and
    :class:`~archiver.errors.InvalidKeyError` for a key that could leave the archive root.
    Implementations are safe to share between threads.
    """

    @property
    def uri(self) -> str:
        """Return the archive root as a URI (``file:///...`` or ``s3://bucket/prefix``)."""
        ...

    def get(self, key: str) -> bytes | None:
        """Return the bytes stored under ``key``, or None if there is no such object."""
        ...

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        content_encoding: str | None = None,
        if_none_match: bool = False,
    ) -> None:
        """Store ``data`` under ``key`` atomically; readers never see part of it.

        With ``if_none_match``, create the object only if the key is free, else raise
        :class:`~archiver.errors.ConflictError` and leave the existing object alone.
        """
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Yield every key that starts with ``prefix``, page by page.

        Keys come in UTF-8 byte order of whole keys (S3, moto, local folders). SeaweedFS lists
        folder by folder, which differs only where a name sorts between a folder and its ``/``
        (``a-b`` and ``a/x``); the archive layout has no such names, and readers order
        versions by number, not by listing position.
        """
        ...

    def exists(self, key: str) -> bool:
        """Return whether an object is stored under ``key``."""
        ...

    def close(self) -> None:
        """Release connections; the storage must not be used afterwards."""
        ...


@runtime_checkable
class DeletableStorage(Storage, Protocol):
    """A storage that can also remove objects.

    The service never deletes versions or observations; only derived data (the catalog,
    on an explicit ``catalog rebuild``) is ever removed.
    """

    def delete(self, key: str) -> None:
        """Remove the object under ``key``; a missing object is not an error."""
        ...
