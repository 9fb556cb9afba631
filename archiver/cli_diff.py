"""``newsarchive diff URL``: what changed between two versions of an archived article."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .diff import VersionDiff, diff_versions
from .diff_render import COLOR_MODES, render_text, use_color
from .errors import ArchiverError
from .store import SnapshotStore, open_store

# Query keys that never belong to an article's identity (campaign and click tracking). The
# crawler's own normaliser knows more; this short list only helps find a URL pasted from a feed.
_TRACKING_KEYS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "_ga", "_gl", "mc_cid", "mc_eid"}
    | {"ocid", "cmp", "cmpid", "ito", "xtor"}
)
_TRACKING_PREFIXES = ("utm_", "at_", "ns_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DiffError(ArchiverError):
    """The versions to compare cannot be found: unknown article, one version, bad numbers."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``diff`` to the ``newsarchive`` command line."""
    parser = commands.add_parser(
        "diff",
        help="show what changed between two versions of an article",
        description="Compare two versions of an archived article (by default its last two): "
        "changed fields, images and captions, and body paragraphs and sentences.",
    )
    parser.add_argument("url", metavar="URL", help="the article's URL (its identity URL)")
    parser.add_argument(
        "--from", dest="from_version", type=int, metavar="N", help="old version (default: M-1)"
    )
    parser.add_argument(
        "--to", dest="to_version", type=int, metavar="M", help="new version (default: the latest)"
    )
    parser.add_argument("--json", action="store_true", help="print the diff as JSON")
    parser.add_argument(
        "--color",
        "--colour",
        choices=COLOR_MODES,
        default="auto",
        help="colour the output: auto (on a terminal, unless NO_COLOR is set), always, never",
    )
    parser.add_argument(
        "--archive",
        default=os.environ.get("ARCHIVE_URI") or "archive",
        metavar="URI",
        help="archive folder or s3://bucket/prefix (default: $ARCHIVE_URI, else ./archive)",
    )
    parser.set_defaults(func=cmd_diff)


def cmd_diff(args: argparse.Namespace) -> int:
    """Print the diff the arguments ask for; return the exit code."""
    with open_store(args.archive) as store:
        diff = diff_article(store, args.url, args.from_version, args.to_version)
    if args.json:
        json.dump(diff.to_json(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        color = use_color(args.color, sys.stdout, os.environ)
        sys.stdout.write(render_text(diff, color=color))
    return 0


def diff_article(
    store: SnapshotStore,
    url: str,
    from_version: int | None = None,
    to_version: int | None = None,
) -> VersionDiff:
    """Compare versions ``from_version`` and ``to_version`` (default: the last two) of ``url``.

    Raise :class:`DiffError` for an unknown article, one with a single version, or version
    numbers it does not have.
    """
    history = find_history(store, url)
    if not history:
        raise DiffError(f"no article archived under {url} in {store.uri}")
    numbers = [record.get("version") for record in history]
    by_number = dict(zip(numbers, history, strict=True))
    if len(history) == 1:
        raise DiffError(f"only one version of {url}: nothing to compare")
    for given, option in ((from_version, "--from"), (to_version, "--to")):
        if given is not None and given not in by_number:
            raise DiffError(
                f"{option} {given}: {url} has versions {_span(numbers)}, no version {given}"
            )
    new = to_version if to_version is not None else _after(numbers, from_version, url)
    old = from_version if from_version is not None else _before(numbers, new, url)
    if old == new:
        raise DiffError(f"--from and --to both name version {old}: nothing to compare")
    return diff_versions(by_number[old], by_number[new])


def find_history(store: SnapshotStore, url: str) -> list[dict[str, Any]]:
    """Return the versions of the article ``url`` names, trying its usual spellings."""
    for candidate in url_candidates(url):
        history = store.history(candidate)
        if history:
            return history
    return []


def url_candidates(url: str) -> Iterator[str]:
    """Yield ``url`` as given, then without its fragment, then without tracking parameters.

    The last form also has a lower-case scheme and host, no default port and its remaining
    query parameters sorted, as identity URLs are stored.
    """
    text = url.strip()
    seen = {text}
    yield text
    bare = text.partition("#")[0]
    if bare not in seen:
        seen.add(bare)
        yield bare
    normal = _normal(text)
    if normal is not None and normal not in seen:
        yield normal


def _normal(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    pairs = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_KEYS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
    query = urlencode(sorted(pairs))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _after(numbers: list[Any], given: int | None, url: str) -> int:
    if given is None:
        latest: int = numbers[-1]
        return latest
    later = [number for number in numbers if number > given]
    if not later:
        raise DiffError(f"version {given} is the latest version of {url}: nothing after it")
    following: int = later[0]
    return following


def _before(numbers: list[Any], new: int, url: str) -> int:
    earlier = [number for number in numbers if number < new]
    if not earlier:
        raise DiffError(f"version {new} is the first version of {url}: nothing before it")
    last: int = earlier[-1]
    return last


def _span(numbers: list[Any]) -> str:
    return f"{numbers[0]}-{numbers[-1]}" if len(numbers) > 1 else f"{numbers[0]} only"
