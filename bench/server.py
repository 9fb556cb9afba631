"""Serve the benchmark site on loopback: one threaded HTTP server per outlet, on free ports.

Article pages are rendered once, when the server starts, into a folder, and served from there:
the machine's cores should go to the crawler under test, not to building pages. Every answer
carries a strong ``ETag`` and a ``Last-Modified``; ``If-None-Match`` (or, without it,
``If-Modified-Since``) that still matches gets ``304 Not Modified``.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from bench.site import OUTLETS, BenchSite, Outlet, Resource

logger = logging.getLogger(__name__)


def not_modified(headers: Mapping[str, str], etag: str, last_modified: str) -> bool:
    """Apply RFC 9110: ``If-None-Match`` wins; ``If-Modified-Since`` counts only without it.

    ``headers`` has lower-case names.
    """
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or etag in tags
    since = headers.get("if-modified-since")
    if not since:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


class _OutletServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, owner: SiteServer, outlet: Outlet) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.owner = owner
        self.outlet = outlet

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: _OutletServer
    protocol_version = "HTTP/1.1"
    server_version = "BenchSite/1"
    sys_version = ""
    timeout = 30

    def handle(self) -> None:
        # One call per connection: counting them shows whether clients keep connections alive.
        self.server.owner.count("connections", 0)
        super().handle()

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        owner = self.server.owner
        owner.note_request()
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, kind, extra, body = owner.reply(self.server.outlet, self.path, headers)
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body and status != HTTPStatus.NOT_MODIFIED:
            self.wfile.write(body)
        owner.count(kind, status)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("bench site %s: " + format, self.server.outlet.name, *args)


class SiteServer:
    """The benchmark site on loopback. Use it as a context manager."""

    def __init__(self, site: BenchSite, folder: Path | None = None) -> None:
        self.site = site
        self._folder = folder
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._servers: dict[str, _OutletServer] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, int]] = Counter()
        self._listings: dict[tuple[str, str, int], bytes] = {}
        self.first_request: float | None = None
        """``time.monotonic()`` of the first request since :meth:`reset`."""
        self.last_request: float | None = None
        """``time.monotonic()`` of the latest request since :meth:`reset`."""
        self.on_first_request: Callable[[], None] | None = None
        """Called (in a server thread) on the first request after :meth:`reset`."""

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> SiteServer:
        """Bind one server per outlet, render every article page, then start serving."""
        if self._folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="bench-site-")
            self._folder = Path(self._tmp.name)
        for outlet in OUTLETS:
            self._servers[outlet.name] = _OutletServer(self, outlet)
        for outlet, path in self.site.article_paths():
            self.page_file(outlet, path).parent.mkdir(parents=True, exist_ok=True)
            self.page_file(outlet, path).write_bytes(self._render(outlet, path))
        for server in self._servers.values():
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop every server and remove the rendered pages."""
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
            self._folder = None

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what the benchmark reads ---------------------------------------------------------
    def base(self, outlet: Outlet) -> str:
        """Return the base URL of ``outlet``, e.g. ``http://127.0.0.1:40123``."""
        return self._servers[outlet.name].base

    def page_file(self, outlet: Outlet, path: str) -> Path:
        """Return the file that holds the rendered article page at ``path``."""
        assert self._folder is not None, "the site server is not started"
        return self._folder / outlet.name / (path.strip("/").replace("/", "__") + ".html")

    def articles(self) -> Iterator[tuple[str, bytes]]:
        """Yield ``(url, body)`` of every article page, exactly as the server sends it."""
        for outlet, path in self.site.article_paths():
            yield self.base(outlet) + path, self.page_file(outlet, path).read_bytes()

    def article_urls(self) -> list[str]:
        """Return the URL of every article page."""
        return [self.base(outlet) + path for outlet, path in self.site.article_paths()]

    def listing_urls(self) -> list[str]:
        """Return the URL of every section page (first and second) and every feed."""
        urls = []
        for outlet in OUTLETS:
            sections, feeds = self.site.listing_paths(outlet)
            for section in sections:
                urls.append(self.base(outlet) + section)
                if self.site.resource(outlet, section, "page=2") is not None:
                    urls.append(self.base(outlet) + section + "?page=2")
            urls += [self.base(outlet) + feed for feed in feeds]
        return urls

    def sources_toml(self, concurrency: int) -> str:
        """Return a sources file for the crawler: every outlet, its sections and feeds."""
        lines = ["# The benchmark site, served on loopback.", ""]
        for outlet in OUTLETS:
            base = self.base(outlet)
            sections, feeds = self.site.listing_paths(outlet)
            pattern = "^" + base.replace(".", r"\.") + outlet.article_regex
            lines += [
                f"[sources.{outlet.name}]",
                f"feeds = [{', '.join(repr(base + feed) for feed in feeds)}]",
                f"sections = [{', '.join(repr(base + section) for section in sections)}]",
                f"allowed_domains = ['{urlsplit(base).netloc}']",
                f"article_patterns = ['{pattern}']",
                f"language = '{outlet.language}'",
                "download_delay = 0.0",
                f"concurrency = {concurrency}",
                "",
            ]
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        """Return the answers since :meth:`reset` by kind and status, e.g. ``article_200``.

        ``connections`` counts the connections opened.
        """
        with self._lock:
            return {
                kind if kind == "connections" else f"{kind}_{status}": n
                for (kind, status), n in sorted(self._counts.items())
            }

    def reset(self) -> None:
        """Forget the answers counted so far and the times of the first and latest requests."""
        with self._lock:
            self._counts.clear()
            self.first_request = None
            self.last_request = None

    # --- answering ------------------------------------------------------------------------
    def note_request(self) -> None:
        """Note the time of the first and of the latest request since :meth:`reset`."""
        callback = None
        now = time.monotonic()
        with self._lock:
            self.last_request = now
            if self.first_request is None:
                self.first_request = now
                callback = self.on_first_request
        if callback is not None:
            callback()

    def count(self, kind: str, status: int) -> None:
        """Count one answer."""
        with self._lock:
            self._counts[(kind, status)] += 1

    def reply(
        self, outlet: Outlet, target: str, headers: Mapping[str, str]
    ) -> tuple[int, str, dict[str, str], bytes]:
        """Return ``(status, kind, headers, body)`` for a request of ``target`` on ``outlet``."""
        parts = urlsplit(target)
        resource = self.site.resource(outlet, parts.path, parts.query)
        if resource is None:
            return 404, "missing", {"Content-Type": "text/plain"}, b"not found\n"
        base = self.base(outlet)
        etag = resource.etag(base)
        extra = {
            "Content-Type": resource.content_type,
            "ETag": etag,
            "Last-Modified": resource.last_modified,
            "Cache-Control": "max-age=60",
        }
        if not_modified(headers, etag, resource.last_modified):
            return 304, resource.kind, extra, b""
        return 200, resource.kind, extra, self._body(outlet, parts.path, parts.query, resource)

    def _body(self, outlet: Outlet, path: str, query: str, resource: Resource) -> bytes:
        if resource.kind == "article":
            return self.page_file(outlet, path).read_bytes()
        key = (outlet.name + path, query, self.site.listing_epoch)
        with self._lock:
            cached = self._listings.get(key)
        if cached is None:
            cached = resource.render(self.base(outlet)).encode()
            with self._lock:
                self._listings[key] = cached
        return cached

    def _render(self, outlet: Outlet, path: str) -> bytes:
        resource = self.site.resource(outlet, path, "")
        assert resource is not None
        return resource.render(self.base(outlet)).encode()
