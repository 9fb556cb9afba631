"""The key layout shared by every backend, and the checks every key passes.

Keys are relative to the archive root (the folder, or the bucket plus prefix of ``ARCHIVE_URI``),
so records stay valid when an archive is copied to another folder, bucket or prefix::

    articles/{id[:2]}/{id}/v{version:06d}.json          one immutable version record
    articles/{id[:2]}/{id}/html/{html_sha256}.html.gz   raw HTML as fetched, gzip
    articles/{id[:2]}/{id}/obs/{observed}-{random8}.json  one "seen unchanged" observation
"""

from __future__ import annotations

import hashlib
import re

from .errors import InvalidKeyError

ARTICLES = "articles"
VERSION_WIDTH = 6
TEMP_PREFIX = ".tmp-"
"""Names starting with this are in-flight local writes; keys may not use it."""

_ARTICLE_ID = re.compile(r"[0-9a-f]{32}")
_VERSION_NAME = re.compile(r"v(\d{6,})\.json")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def article_id(identity_url: str) -> str:
    """Return the article id: the first 32 hex digits of sha256 of the identity URL."""
    if not identity_url:
        raise ValueError("identity_url must not be empty")
    return hashlib.sha256(identity_url.encode("utf-8")).hexdigest()[:32]


def article_prefix(aid: str) -> str:
    """Return the folder holding one article's whole history, ending in ``/``."""
    if not _ARTICLE_ID.fullmatch(aid):
        raise InvalidKeyError(f"not an article id: {aid!r}")
    return f"{ARTICLES}/{aid[:2]}/{aid}/"


def version_key(aid: str, version: int) -> str:
    """Return the key of version ``version`` (1-based) of an article."""
    if version < 1:
        raise ValueError(f"versions start at 1, got {version}")
    return f"{article_prefix(aid)}v{version:0{VERSION_WIDTH}d}.json"


def versions_prefix(aid: str) -> str:
    """Return the prefix that lists only an article's version records."""
    return f"{article_prefix(aid)}v"


def html_key(aid: str, html_sha256: str) -> str:
    """Return the content-addressed key of an article's raw HTML."""
    if not _SHA256.fullmatch(html_sha256):
        raise InvalidKeyError(f"not a sha256 hex digest: {html_sha256!r}")
    return f"{article_prefix(aid)}html/{html_sha256}.html.gz"


def observations_prefix(aid: str) -> str:
    """Return the prefix that lists only an article's observations."""
    return f"{article_prefix(aid)}obs/"


def observation_key(aid: str, compact_time: str, token: str) -> str:
    """Return the key of one observation; ``compact_time`` sorts chronologically."""
    if not re.fullmatch(r"\d{8}T\d{6}(\.\d+)?Z", compact_time):
        raise InvalidKeyError(f"not a compact UTC time: {compact_time!r}")
    if not re.fullmatch(r"[0-9a-f]{8}", token):
        raise InvalidKeyError(f"not an 8-digit hex token: {token!r}")
    return f"{observations_prefix(aid)}{compact_time}-{token}.json"


def parse_version(key: str) -> int | None:
    """Return the version number a key names, or None if it is not a version record."""
    match = _VERSION_NAME.fullmatch(key.rpartition("/")[2])
    return int(match.group(1)) if match else None


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise :class:`InvalidKeyError`.

    Refused: empty keys, text that is not valid Unicode (lone surrogates: neither a file name
    nor an S3 key can hold one), absolute paths, backslashes, NUL and other control characters,
    empty, ``.`` and ``..`` segments, and the temporary-file prefix of the local backend.
    """
    if not key:
        raise InvalidKeyError("empty key")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidKeyError(f"key is not valid Unicode: {key!r}") from err
    if key.startswith("/"):
        raise InvalidKeyError(f"absolute key: {key!r}")
    if "\\" in key:
        raise InvalidKeyError(f"backslash in key: {key!r}")
    if _CONTROL.search(key):
        raise InvalidKeyError(f"control character in key: {key!r}")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(f"empty, '.' or '..' segment in key: {key!r}")
        if segment.startswith(TEMP_PREFIX):
            raise InvalidKeyError(f"reserved segment in key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if listing it cannot leave the archive root (``""`` lists all)."""
    if prefix:
        # A prefix may end in "/" or mid-name; check it as the key it starts.
        check_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix
