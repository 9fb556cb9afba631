"""A durable local spool for captures the archive could not take, and their later flush.

When storage fails (unreachable, 5xx, throttling past the retries), a capture is not dropped:
it is written to a spool folder on local disk, one file per capture, and archived later, by the
next crawl run or ``newsarchive spool flush``. A spool file is written to a temporary name,
flushed to disk and renamed, so a crash leaves either a whole capture or none; it is deleted
only after the archive has taken it. Archiving is idempotent on content (an unchanged capture
becomes an observation, never a second version), so a capture whose write did reach the archive
before the error was reported is not archived twice.

Each archive URI has its own subfolder, so one spool can serve several archives::

    spool/
      3f2a9c.../            sha256 of the archive URI, first 16 hex digits
        archive-uri         the URI itself, for humans and for `spool list`
        20261127T101500.123456Z-<uuid>.capture.json.gz
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ArchiverError
from .records import Capture

if TYPE_CHECKING:
    from .records import ArchiveResult
    from .store import SnapshotStore

logger = logging.getLogger(__name__)

SPOOL_SCHEMA = "newsarchive/spooled-capture/1"
SUFFIX = ".capture.json.gz"


class SpoolError(ArchiverError):
    """The spool cannot be written or holds a file that is not a capture."""


@dataclass(frozen=True)
class Flushed:
    """One spooled capture the archive has taken."""

    source: str
    url: str
    result: ArchiveResult


@dataclass(frozen=True)
class FlushResult:
    """What a flush did: the captures archived, and those left for next time."""

    archived: list[Flushed]
    remaining: int
    failed: list[str]
    """Spool files that are not readable captures (kept, and reported)."""


class Spool:
    """The spool folder of one archive URI."""

    def __init__(self, root: str | os.PathLike[str], archive_uri: str) -> None:
        self.archive_uri = archive_uri
        digest = hashlib.sha256(archive_uri.encode("utf-8")).hexdigest()[:16]
        self.path = Path(root) / digest

    def put(self, capture: Capture) -> Path:
        """Write ``capture`` durably; return its file. Raise :class:`SpoolError` if it cannot."""
        data = asdict(capture)
        data["html"] = base64.b64encode(capture.html).decode("ascii")
        document = {"schema": SPOOL_SCHEMA, "archive_uri": self.archive_uri, "capture": data}
        # Named by time of spooling, so a flush archives captures in the order they came.
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        final = self.path / f"{stamp}-{uuid.uuid4().hex}{SUFFIX}"
        partial = final.with_name("." + final.name + ".partial")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            marker = self.path / "archive-uri"
            if not marker.exists():
                marker.write_text(self.archive_uri + "\n", encoding="utf-8")
            payload = gzip.compress(json.dumps(document, ensure_ascii=False).encode("utf-8"), 6)
            with open(partial, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, final)
            _fsync_dir(self.path)
        except OSError as err:
            raise SpoolError(f"cannot spool {capture.url} to {self.path}: {err}") from err
        return final

    def files(self) -> list[Path]:
        """Return the spooled captures, oldest first."""
        if not self.path.is_dir():
            return []
        return sorted(path for path in self.path.iterdir() if path.name.endswith(SUFFIX))

    def __len__(self) -> int:
        return len(self.files())

    def read(self, path: Path) -> Capture:
        """Return the capture spooled in ``path``."""
        try:
            document = json.loads(gzip.decompress(path.read_bytes()))
        except (OSError, EOFError, ValueError) as err:
            raise SpoolError(f"spool file {path} is not readable: {err}") from err
        if not isinstance(document, dict) or document.get("schema") != SPOOL_SCHEMA:
            raise SpoolError(f"spool file {path} is not a {SPOOL_SCHEMA} document")
        data: dict[str, Any] = dict(document["capture"])
        try:
            data["html"] = base64.b64decode(data["html"], validate=True)
            return Capture(**data)
        except (KeyError, TypeError, ValueError) as err:
            raise SpoolError(f"spool file {path} holds no valid capture: {err}") from err

    def flush(self, store: SnapshotStore) -> FlushResult:
        """Archive every spooled capture in order, deleting each once the archive has it.

        Stop at the first storage error (the archive is still unavailable): what is left stays
        spooled. A file that is not a readable capture is kept and reported, not deleted.
        """
        archived: list[Flushed] = []
        failed: list[str] = []
        pending = self.files()
        for index, path in enumerate(pending):
            try:
                capture = self.read(path)
            except SpoolError as err:
                logger.error("%s", err)
                failed.append(str(path))
                continue
            try:
                result = store.archive(capture)
            except ArchiverError as err:
                logger.warning(
                    "archive %s still unavailable, %d captures stay spooled: %s",
                    self.archive_uri,
                    len(pending) - index,
                    err,
                )
                return FlushResult(archived, len(pending) - index, failed)
            logger.info(
                "flushed %s from the spool -> %s (%s)", capture.url, result.key, result.outcome
            )
            archived.append(Flushed(capture.source, capture.url, result))
            path.unlink()
        return FlushResult(archived, 0, failed)


def iter_spools(root: str | os.PathLike[str]) -> Iterator[tuple[str, int]]:
    """Yield the archive URI and the number of spooled captures of every spool under ``root``."""
    base = Path(root)
    if not base.is_dir():
        return
    for folder in sorted(base.iterdir()):
        marker = folder / "archive-uri"
        if folder.is_dir() and marker.is_file():
            uri = marker.read_text(encoding="utf-8").strip()
            yield uri, len(Spool(root, uri))


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the folder's entry is on disk too.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
