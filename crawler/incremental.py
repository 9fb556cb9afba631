"""Skip feeds, sitemaps and section pages that have not changed since the last crawl.

A listing answered with 304, or with a body byte-identical to the last one parsed in full, is
not parsed again. What a listing looked like is remembered only at the end of a run that
finished, and only for sources none of whose articles failed for a passing reason (a timeout,
a 5xx, a storage error): otherwise an unchanged listing would hide the articles to retry.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from archiver import ArchiverError
from archiver.listings import ListingState, write_listing_state
from crawler.middlewares import LISTING_STATE_META
from crawler.summary import PREFIX

if TYPE_CHECKING:
    from scrapy.http import Response

    from archiver import Storage

logger = logging.getLogger(__name__)

SAVE_THREADS = 8
"""Listing states written at once at the end of a crawl."""

ListingUnchanged = Literal["not_modified", "same_body"]
# Failures that will not go away by trying again: they do not hold a listing's state back.
PERMANENT_FAILURES = frozenset({"http_404", "http_410", "http_403", "http_401"})


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class ListingLedger:
    """Listings parsed in full this run, to remember at its end."""

    def __init__(self) -> None:
        self.pending: dict[str, tuple[str, ListingState]] = {}

    @staticmethod
    def unchanged(response: Response) -> ListingUnchanged | None:
        """Say whether a listing response is the same as the last one parsed in full."""
        if response.status == 304:
            return "not_modified"
        state: ListingState | None = response.meta.get(LISTING_STATE_META)
        if state is not None and state.body_sha256 == hashlib.sha256(response.body).hexdigest():
            return "same_body"
        return None

    def parsed(self, source: str, response: Response) -> None:
        """Note a listing parsed in full this run."""
        self.pending[response.url] = (
            source,
            ListingState(
                url=response.url,
                body_sha256=hashlib.sha256(response.body).hexdigest(),
                fetched_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                etag=_header(response, b"ETag"),
                last_modified=_header(response, b"Last-Modified"),
            ),
        )

    def save(self, storage: Storage, stats: dict[str, Any], finish_reason: str) -> int:
        """Remember the listings of sources that had no passing failure; return how many."""
        if finish_reason != "finished":
            logger.info("run ended with %s: listing states are not updated", finish_reason)
            return 0
        held_back = {
            key[len(PREFIX) :].split("/")[0]
            for key, value in stats.items()
            if key.startswith(PREFIX)
            and value
            and key.split("/")[2:3] == ["failed"]
            and key.split("/")[-1] not in PERMANENT_FAILURES
        }
        states = [state for source, state in self.pending.values() if source not in held_back]

        def write(state: ListingState) -> bool:
            try:
                write_listing_state(storage, state)
            except ArchiverError as err:
                logger.warning("could not remember listing %s: %s", state.url, err)
                return False
            return True

        # A few at a time: the crawl's end waits for them, and each is one small request.
        with ThreadPoolExecutor(max(1, min(SAVE_THREADS, len(states)))) as pool:
            saved = sum(pool.map(write, states))
        if held_back:
            logger.info("listing states kept back for %s: articles to retry", sorted(held_back))
        return saved
