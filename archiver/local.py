"""A local folder as archive storage, with atomic and conditional writes."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from .errors import ConflictError, StorageError
from .keys import TEMP_PREFIX, check_key, check_prefix

logger = logging.getLogger(__name__)


class LocalStorage:
    """Store objects as files under one root folder.

    A write goes to a temporary file in the target folder, is flushed to disk, then appears
    under its final name in one step: ``os.replace`` for plain writes, ``os.link`` for
    conditional ones (it fails if the name exists, atomically, even between processes).
    Content type and encoding are not kept: the key's extension says what a file holds.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()
        if self.root.exists() and not self.root.is_dir():
            raise StorageError(f"archive root {self.root} exists and is not a folder")

    @property
    def uri(self) -> str:
        """Return the root as a ``file://`` URI."""
        return self.root.as_uri()

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def get(self, key: str) -> bytes | None:
        """Return the file's bytes, or None if there is no such file."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as err:
            raise StorageError(f"local get of {key} in {self.root} failed: {err}") from err

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        content_encoding: str | None = None,
        if_none_match: bool = False,
    ) -> None:
        """Write ``data`` under ``key`` atomically, durably, and only once if asked."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}-{path.name}")
            try:
                with temp.open("xb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                if if_none_match:
                    os.link(temp, path)
                else:
                    os.replace(temp, path)
            finally:
                temp.unlink(missing_ok=True)
            _fsync_dir(path.parent)
        except FileExistsError as err:
            raise ConflictError(f"local put of {key} in {self.root}: key already exists") from err
        except OSError as err:
            raise StorageError(f"local put of {key} in {self.root} failed: {err}") from err
        logger.debug("Stored %s (%d bytes) in %s", key, len(data), self.root)

    def list(self, prefix: str) -> Iterator[str]:
        """Yield keys under ``prefix`` in S3 order, walking only the folders that can match."""
        check_prefix(prefix)
        folder, _, _ = prefix.rpartition("/")
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        try:
            yield from _walk(start, f"{folder}/" if folder else "", prefix)
        except OSError as err:
            raise StorageError(f"local list of {prefix!r} in {self.root} failed: {err}") from err

    def exists(self, key: str) -> bool:
        """Return whether a file is stored under ``key``."""
        path = self._path(key)
        try:
            return path.is_file()
        except OSError as err:  # a name too long for the file system, say
            raise StorageError(f"local exists of {key} in {self.root} failed: {err}") from err

    def delete(self, key: str) -> None:
        """Remove the file under ``key``; a missing file is not an error."""
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as err:
            raise StorageError(f"local delete of {key} in {self.root} failed: {err}") from err

    def close(self) -> None:
        """Do nothing: a folder holds no connections."""


def _walk(folder: Path, folder_key: str, prefix: str) -> Iterator[str]:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    # S3 sorts whole keys; sorting folders as "name/" gives the same order folder by folder.
    entries.sort(
        key=lambda entry: f"{entry.name}/" if entry.is_dir(follow_symlinks=False) else entry.name
    )
    for entry in entries:
        if entry.name.startswith(TEMP_PREFIX):
            continue
        key = folder_key + entry.name
        if entry.is_dir(follow_symlinks=False):
            # Descend only where a key below could still start with the prefix.
            if (key + "/").startswith(prefix) or prefix.startswith(key + "/"):
                yield from _walk(Path(entry.path), key + "/", prefix)
        elif entry.is_file(follow_symlinks=False) and key.startswith(prefix):
            yield key


def _fsync_dir(folder: Path) -> None:
    # The new name must survive a crash too, not only the file's bytes.
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
