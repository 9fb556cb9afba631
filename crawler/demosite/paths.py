"""Where the fixture site lives on disk and how a URL path maps to a file of it."""

from __future__ import annotations

import posixpath
from pathlib import Path

from crawler.demosite.errors import UnsafePathError

PACKAGE_DIR = Path(__file__).resolve().parent
SITE_DIR = PACKAGE_DIR / "site"
"""The generated site: one folder per outlet, plus ``manifest.json``."""
CONTENT_DIR = PACKAGE_DIR / "content"
"""The hand-written sources the site is generated from (one TOML file per page)."""
STATIC_DIR = PACKAGE_DIR / "static"
MANIFEST_NAME = "manifest.json"
BASE_PLACEHOLDER = "{{BASE}}"
"""Replaced at serve time by the outlet's base URL, e.g. ``http://127.0.0.1:41234``."""

# Suffixes served as files of that name; any other path is a page stored as ``<path>.html``.
FILE_SUFFIXES = (".html", ".rss", ".atom", ".xml", ".xml.gz", ".txt")


def file_for_path(path: str) -> str:
    """Return the site-relative file that serves URL ``path`` (without query or fragment).

    ``/`` and paths ending in ``/`` map to ``index.html`` in that folder; paths with a known
    suffix map to themselves; any other path ``/a/b`` maps to ``a/b.html``.
    """
    if not path.startswith("/") or "\\" in path or "\0" in path:
        raise UnsafePathError(path)
    parts = [part for part in path.split("/") if part]
    if any(part in (".", "..") or part.startswith(".") for part in parts):
        raise UnsafePathError(path)
    relative = posixpath.join(*parts) if parts else ""
    if path.endswith("/") or not parts:
        return posixpath.join(relative, "index.html") if relative else "index.html"
    if relative.endswith(FILE_SUFFIXES):
        return relative
    return relative + ".html"


def variant_name(relative: str, edition: int) -> str:
    """Return the file that holds edition ``edition`` of ``relative``.

    Edition 1 is the file itself; ``a/b.html`` in edition 2 is ``a/b.v2.html``. The marker goes
    before the first dot of the file name, so ``news.xml.gz`` becomes ``news.v2.xml.gz``.
    """
    if edition <= 1:
        return relative
    head, name = posixpath.split(relative)
    stem, dot, rest = name.partition(".")
    return posixpath.join(head, f"{stem}.v{edition}{dot}{rest}")
