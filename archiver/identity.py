"""Each archive's identity: a random id written once, at its root, as ``archive.json``.

A URI names a place, not an archive: a bucket can be emptied and filled again under the same
name. Whatever a crawler keeps locally about an archive (the fetch hints of
:mod:`archiver.hints_cache`) is kept under this id, so it is dropped when the archive behind
the URI is a different one, and never makes a re-fetch point at a version that is not there.

The record also says whether the archive held no article when the id was written. A local
cache that starts with such an archive has seen every write made through it, which lets the
crawler skip asking the archive about an article the cache has never seen (see
:class:`~archiver.hints_cache.HintsCache`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from . import keys
from .errors import ConflictError, StorageError
from .records import decode_record, encode_record

if TYPE_CHECKING:
    from .storage import Storage

IDENTITY_KEY = "archive.json"
IDENTITY_SCHEMA = "newsarchive/archive/1"


@dataclass(frozen=True)
class ArchiveIdentity:
    """The id of an archive, and whether this call is the one that wrote it."""

    archive_id: str
    created_at: str
    empty_at_creation: bool
    """No article was stored when the id was written."""
    created_now: bool = False
    """This call wrote the record (it was absent)."""


def archive_identity(storage: Storage) -> ArchiveIdentity:
    """Return the archive's identity, writing it first if the archive has none yet.

    Costs one read; the first time, also a one-key listing of ``articles/`` and a create-only
    write (two processes creating it at once agree on the one that was written first).
    """
    data = storage.get(IDENTITY_KEY)
    if data is not None:
        return _decode(data)
    empty = next(iter(storage.list(f"{keys.ARTICLES}/")), None) is None
    identity = ArchiveIdentity(
        archive_id=secrets.token_hex(16),
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        empty_at_creation=empty,
        created_now=True,
    )
    record = {
        "schema": IDENTITY_SCHEMA,
        "archive_id": identity.archive_id,
        "created_at": identity.created_at,
        "empty_at_creation": identity.empty_at_creation,
    }
    try:
        storage.put(
            IDENTITY_KEY, encode_record(record), content_type="application/json", if_none_match=True
        )
    except ConflictError:
        data = storage.get(IDENTITY_KEY)
        if data is None:
            raise StorageError(f"{IDENTITY_KEY} was written concurrently, then not found") from None
        return _decode(data)
    return identity


def _decode(data: bytes) -> ArchiveIdentity:
    try:
        record = decode_record(data, IDENTITY_SCHEMA)
        archive_id = record["archive_id"]
        if not isinstance(archive_id, str) or not archive_id:
            raise ValueError("no archive_id")
        return ArchiveIdentity(
            archive_id=archive_id,
            created_at=str(record.get("created_at") or ""),
            empty_at_creation=record.get("empty_at_creation") is True,
        )
    except (ValueError, KeyError, UnicodeDecodeError) as err:
        message = f"{IDENTITY_KEY} is not a valid {IDENTITY_SCHEMA} record: {err}"
        raise StorageError(message) from err
