"""What the last crawl saw of each feed, sitemap and section page, so the next can skip it.

Unlike versions, these are hints, overwritten on each successful crawl: losing one costs one
full fetch and parse, never an article. Kept in the archive (not on local disk) so a new
container starts as cheaply as the old one stopped::

    listings/{sha256(url)[:32]}.json
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from .records import encode_record

if TYPE_CHECKING:
    from .storage import Storage

LISTINGS = "listings"
LISTING_SCHEMA = "newsarchive/listing/1"


@dataclass(frozen=True, slots=True)
class ListingState:
    """The validators and body hash of a listing page as last crawled in full."""

    url: str
    body_sha256: str
    fetched_at: str
    etag: str | None = None
    last_modified: str | None = None


def listing_key(url: str) -> str:
    """Return the key of a listing's state."""
    return f"{LISTINGS}/{hashlib.sha256(url.encode('utf-8')).hexdigest()[:32]}.json"


def read_listing_state(storage: Storage, url: str) -> ListingState | None:
    """Return the stored state of a listing, or None (also for an unreadable one: a hint)."""
    data = storage.get(listing_key(url))
    if data is None:
        return None
    try:
        record = json.loads(data.decode("utf-8"))
        if record.get("schema") != LISTING_SCHEMA or record.get("url") != url:
            return None
        return ListingState(
            url=record["url"],
            body_sha256=record["body_sha256"],
            fetched_at=record["fetched_at"],
            etag=record.get("etag"),
            last_modified=record.get("last_modified"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def write_listing_state(storage: Storage, state: ListingState) -> str:
    """Store (replace) a listing's state and return its key."""
    key = listing_key(state.url)
    record = {"schema": LISTING_SCHEMA, **asdict(state)}
    storage.put(key, encode_record(record), content_type="application/json")
    return key
