"""Serve the bundled fixture news site: one loopback HTTP server per outlet.

Standard library only (no Scrapy), so the end-to-end tests can run it in-process while a crawl runs
in a child process, and ``newsarchive demo`` can show the pipeline working without internet.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

from crawler.demosite.errors import DemoSiteError, UnsafePathError
from crawler.demosite.paths import (
    BASE_PLACEHOLDER,
    MANIFEST_NAME,
    SITE_DIR,
    STATIC_DIR,
    file_for_path,
    variant_name,
)

logger = logging.getLogger(__name__)

CONTENT_TYPES: dict[str, str] = {
    ".xml.gz": "application/gzip",
    ".html": "text/html; charset=utf-8",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".jpg": "image/jpeg",
}
_VARIANT = re.compile(r"\.v\d+\.")
_ETAG = re.compile(r'(?:W/)?"([^"]*)"')


class RequestRecord(NamedTuple):
    """One request the site answered."""

    outlet: str
    method: str
    path: str
    """The request target as sent: path and query string."""
    status: int


class Reply(NamedTuple):
    """A response of the site: status, headers and body (empty for ``304``)."""

    status: int
    headers: dict[str, str]
    body: bytes


def load_manifest(site_dir: Path = SITE_DIR) -> dict[str, Any]:
    """Return the parsed ``manifest.json`` of the site."""
    path = site_dir / MANIFEST_NAME
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DemoSiteError(f"cannot read the site manifest {path}: {err}") from err
    return manifest


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _content_type(relative: str) -> str:
    for suffix, kind in CONTENT_TYPES.items():
        if relative.endswith(suffix):
            return kind
    return "application/octet-stream"


def _with_base(raw: bytes, relative: str, base: str) -> bytes:
    """Fill in the outlet's base URL; gzip files are unpacked, filled in and packed again."""
    if relative.endswith(".gz"):
        text = gzip.decompress(raw).replace(BASE_PLACEHOLDER.encode(), base.encode())
        # mtime=0 keeps the bytes, and so the ETag, the same on every request.
        return gzip.compress(text, mtime=0)
    if relative.endswith(".jpg"):
        return raw
    return raw.replace(BASE_PLACEHOLDER.encode(), base.encode())


def _not_modified(headers: Mapping[str, str], etag: str, last_modified: datetime) -> bool:
    """Apply RFC 9110: If-None-Match wins; If-Modified-Since counts only without it.

    ``headers`` has lower-case names.
    """
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        wanted = etag.strip('"')
        return any(tag == wanted for tag in _ETAG.findall(if_none_match))
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified <= since
    return False


class _OutletServer(ThreadingHTTPServer):
    daemon_threads = True
    # Loopback only and one per outlet: never share a port with a stale server.
    allow_reuse_address = False

    def __init__(self, site: DemoSite, outlet: str, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.site = site
        self.outlet = outlet


class _Handler(BaseHTTPRequestHandler):
    server: _OutletServer
    protocol_version = "HTTP/1.1"
    server_version = "DemoSite/1"
    sys_version = ""
    # Close idle keep-alive connections so stop() leaves nothing waiting for long.
    timeout = 30

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        site = self.server.site
        outlet = self.server.outlet
        try:
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = site.reply(outlet, self.path, headers)
        except Exception:  # a fixture server must answer, even when a file is broken
            logger.exception("demo site %s failed on %s", outlet, self.path)
            reply = Reply(500, {"Content-Type": "text/plain; charset=utf-8"}, b"server error\n")
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        # A 304 has no body, and a Content-Length other than the full page's would be wrong.
        if reply.status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if send_body and reply.status != HTTPStatus.NOT_MODIFIED:
            self.wfile.write(reply.body)
        site.record(RequestRecord(outlet, self.command, self.path, reply.status))

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("demo site %s: " + format, self.server.outlet, *args)


class DemoSite:
    """The fixture news site, each outlet served by its own loopback server on a free port.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, site_dir: Path | None = None, host: str = "127.0.0.1") -> None:
        self.site_dir = site_dir or SITE_DIR
        self.host = host
        self.manifest = load_manifest(self.site_dir)
        self._servers: dict[str, _OutletServer] = {}
        self._threads: list[threading.Thread] = []
        self._log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._edition = 1
        # Last-Modified of each edition's files: edition 1 dates from start(), a later edition
        # from the moment it was first served, so If-Modified-Since sees it as newer.
        self._edition_since: dict[int, datetime] = {}
        self._placeholder = (STATIC_DIR / "placeholder.jpg").read_bytes()
        # Redirects and server errors have no file: the manifest declares them.
        self._special_pages: dict[tuple[str, str], dict[str, Any]] = {
            (outlet, page["path"]): page
            for outlet, spec in self.manifest["outlets"].items()
            for page in spec["pages"]
            if page["status"] in (301, 500)
        }
        # Pages switched to another answer by remove(), redirect() or paywall().
        self._overrides: dict[tuple[str, str], tuple[str, Any]] = {}

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> DemoSite:
        """Start one server per outlet, each on a free port of ``host``."""
        if self._servers:
            raise DemoSiteError("the demo site is already running")
        self._edition_since = {1: _now()}
        self._mark_editions(self._edition)
        for outlet in self.manifest["outlets"]:
            server = _OutletServer(self, outlet, self.host)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"demosite-{outlet}",
                daemon=True,
            )
            thread.start()
            self._servers[outlet] = server
            self._threads.append(thread)
            logger.info("demo site %s serving at %s", outlet, self.outlets[outlet])
        return self

    def stop(self) -> None:
        """Shut every server down and close its socket."""
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests and the demo read -----------------------------------------------------------
    @property
    def outlets(self) -> dict[str, str]:
        """Map each outlet name to its base URL, e.g. ``http://127.0.0.1:41234``."""
        if not self._servers:
            raise DemoSiteError("the demo site is not running")
        return {
            name: f"http://{self.host}:{server.server_address[1]}"
            for name, server in self._servers.items()
        }

    def url(self, outlet: str, path: str) -> str:
        """Return the absolute URL of ``path`` (``/feeds/world.rss``) on ``outlet``."""
        try:
            return self.outlets[outlet] + path
        except KeyError as err:
            raise DemoSiteError(f"unknown outlet {outlet!r}") from err

    @property
    def edition(self) -> int:
        """The edition served of pages that have several (1 until :meth:`set_edition`)."""
        return self._edition

    def set_edition(self, n: int) -> None:
        """Serve edition ``n`` of every page that has one; others stay as they are."""
        if n < 1:
            raise ValueError(f"editions start at 1, not {n}")
        with self._lock:
            if self._edition_since:
                self._mark_editions(n)
            self._edition = n

    def _mark_editions(self, n: int) -> None:
        for edition in range(2, n + 1):
            if edition not in self._edition_since:
                # Strictly later than the edition before, as HTTP dates have one-second steps.
                later = self._edition_since[edition - 1] + timedelta(seconds=1)
                self._edition_since[edition] = max(_now(), later)

    # --- removals, redirects and paywalls -------------------------------------------------------
    def remove(self, outlet: str, path: str, status: int = 410) -> None:
        """Make ``path`` answer ``status`` (410 Gone or 404 Not Found) until :meth:`restore`."""
        if status not in (HTTPStatus.NOT_FOUND, HTTPStatus.GONE):
            raise ValueError(f"a removed page answers 404 or 410, not {status}")
        self._override(outlet, path, ("gone", status))

    def redirect(self, outlet: str, path: str, to: str) -> None:
        """Make ``path`` answer ``301`` to ``to`` (a path of the same outlet) until restored."""
        if not to.startswith("/"):
            raise ValueError(f"redirect to a path of the outlet, not {to!r}")
        self._override(outlet, path, ("redirect", to))

    def paywall(self, outlet: str, path: str) -> None:
        """Serve the outlet's paywalled teaser at ``path`` until restored."""
        teaser = next(
            (
                page["path"]
                for page in self.manifest["outlets"].get(outlet, {}).get("pages", [])
                if "not_article:paywall" in page["roles"]
            ),
            None,
        )
        if teaser is None:
            raise DemoSiteError(f"outlet {outlet!r} has no paywalled page")
        self._override(outlet, path, ("paywall", teaser))

    def restore(self, outlet: str, path: str) -> None:
        """Serve ``path`` as its files say again."""
        with self._lock:
            self._overrides.pop((outlet, path), None)

    def _override(self, outlet: str, path: str, answer: tuple[str, Any]) -> None:
        if outlet not in self.manifest["outlets"]:
            raise DemoSiteError(f"unknown outlet {outlet!r}")
        if not path.startswith("/"):
            raise ValueError(f"expected a URL path such as '/world/...', got {path!r}")
        with self._lock:
            self._overrides[(outlet, path)] = answer

    @property
    def request_log(self) -> list[RequestRecord]:
        """Return a copy of every request answered so far, in order."""
        with self._lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        """Forget the requests answered so far."""
        with self._lock:
            self._log.clear()

    def record(self, entry: RequestRecord) -> None:
        """Append one answered request to :attr:`request_log`."""
        with self._lock:
            self._log.append(entry)

    # --- the sources file -----------------------------------------------------------------------
    def sources_toml(self) -> str:
        """Return a sources file (TOML) that describes every outlet at its real base URL."""
        lines = ["# The bundled demo news site, served on loopback.", ""]
        for outlet, base in self.outlets.items():
            spec = self.manifest["outlets"][outlet]
            netloc = urlsplit(base).netloc
            lines += [
                f"[sources.{outlet}]",
                f"feeds = {_toml_list(base + p for p in spec['feeds'])}",
                f"sitemaps = {_toml_list(base + p for p in spec['sitemaps'])}",
                f"sections = {_toml_list(base + p for p in spec['sections'])}",
                f"allowed_domains = {_toml_list([netloc])}",
                f"article_patterns = {_toml_list(spec['article_patterns'])}",
                f"language = {json.dumps(spec['language'])}",
                "download_delay = 0.0",
                "concurrency = 8",
                "",
            ]
        return "\n".join(lines)

    def write_sources(self, path: str | Path) -> Path:
        """Write :meth:`sources_toml` to ``path`` and return it."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.sources_toml(), encoding="utf-8")
        return target

    # --- answering ----------------------------------------------------------------------------
    def reply(self, outlet: str, target: str, headers: Mapping[str, str]) -> Reply:
        """Build the response to a request for ``target`` (path and query) on ``outlet``.

        ``headers`` are the request headers with lower-case names.
        """
        path = unquote(urlsplit(target).path) or "/"
        base = self.outlets[outlet]
        override = self._overrides.get((outlet, path))
        if override is not None:
            kind, value = override
            if kind == "gone":
                return Reply(value, {"Content-Type": "text/html; charset=utf-8"}, _NOT_FOUND)
            if kind == "redirect":
                return Reply(301, {"Location": base + value, **_text_headers()}, b"Moved\n")
            path = value  # a paywall: the teaser's page, at this address
        page = self._special_pages.get((outlet, path))
        if page is not None and page["status"] == HTTPStatus.MOVED_PERMANENTLY:
            location = base + page["location"]
            return Reply(301, {"Location": location, **_text_headers()}, b"Moved\n")
        if page is not None and page["status"] == HTTPStatus.INTERNAL_SERVER_ERROR:
            return Reply(500, _text_headers(), b"Internal Server Error\n")
        if path.startswith("/media/") and path.endswith(".jpg"):
            return self._conditional(self._placeholder, "photo.jpg", 1, headers)
        found = self._find_file(outlet, path)
        if found is None:
            return Reply(404, {"Content-Type": "text/html; charset=utf-8"}, _NOT_FOUND)
        relative, edition = found
        raw = (self.site_dir / outlet / variant_name(relative, edition)).read_bytes()
        return self._conditional(_with_base(raw, relative, base), relative, edition, headers)

    def _find_file(self, outlet: str, path: str) -> tuple[str, int] | None:
        """Return the site-relative file for ``path`` and the edition of it to serve."""
        try:
            relative = file_for_path(path)
        except UnsafePathError:
            return None
        # Edition files are served in place of their page, never under their own name.
        if _VARIANT.search(relative.rsplit("/", 1)[-1]):
            return None
        folder = self.site_dir / outlet
        for edition in range(self._edition, 0, -1):
            if (folder / variant_name(relative, edition)).is_file():
                return relative, edition
        return None

    def _conditional(
        self, body: bytes, relative: str, edition: int, headers: Mapping[str, str]
    ) -> Reply:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        modified = self._edition_since[edition]
        reply_headers = {
            "Content-Type": _content_type(relative),
            "ETag": etag,
            "Last-Modified": format_datetime(modified, usegmt=True),
            # Caches may keep the page but must ask again before using it.
            "Cache-Control": "no-cache",
        }
        if _not_modified(headers, etag, modified):
            return Reply(304, reply_headers, b"")
        return Reply(200, reply_headers, body)


_NOT_FOUND = (
    b"<!DOCTYPE html><html><head><title>Page not found</title></head><body>"
    b"<h1>Page not found</h1><p>The page you asked for does not exist or has been removed.</p>"
    b"</body></html>\n"
)


def _text_headers() -> dict[str, str]:
    return {"Content-Type": "text/plain; charset=utf-8"}


def _toml_list(values: Any) -> str:
    # JSON string escapes are valid TOML basic-string escapes.
    return "[" + ", ".join(json.dumps(value, ensure_ascii=False) for value in values) + "]"
