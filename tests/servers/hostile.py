"""A web site built to break a crawler, on 127.0.0.1 and a free port, for the hostile-input tests.

Every case is one source of the sources file that :meth:`HostileSite.write_sources` writes, so a
crawl's summary counts each case apart. A page case's section page (``/section/NAME``) links to
the hostile page (``/a/NAME``) and to an ordinary article (``/good/NAME``): the good one proves
the crawl went on. Listing cases are feeds and sitemaps that attack the parser or loop::

    with HostileSite() as site:
        site.write_sources(tmp / "sources.toml")
        ...crawl...
        site.count("/sitemap/self.xml")   # how often a path was asked for

Content is generated on the fly (see :mod:`tests.servers.hostile_pages`); the slow endpoints
(``/a/drip``, the 50 MB pages) stop when the client goes away and after a bound in any case.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from tests.servers import hostile_pages as pages

logger = logging.getLogger(__name__)

HUGE_SIZE = 50 * pages.MIB
DRIP_SECONDS = 60
"""The drip sends one byte a second for at most this long, whether or not anyone listens."""
SELF_LISTINGS = 10
"""How many times the self-listing sitemap index names itself."""
FAN_OUT = 20
"""How many new sitemaps each index under ``/sitemap/fan`` lists (all different)."""
ARTICLE_PATTERN = "/(?:a|good)/"

PAGE_CASES: tuple[str, ...] = (
    "truncated-length",
    "truncated-doc",
    "tag-soup",
    "binary",
    "cp1252",
    "shift-jis",
    "utf8-as-latin1",
    "huge-streamed",
    "huge-declared",
    "gzip-bomb",
    "brotli-bomb",
    "redirect-self",
    "redirect-pair",
    "redirect-chain",
    "drip",
    "links",
    "deep",
    *pages.IMPOSSIBLE_DATES,
)
"""Cases whose section page links to ``/a/NAME`` and ``/good/NAME``."""

LISTING_CASES: dict[str, dict[str, list[str]]] = {
    "feed-laughs": {"feeds": ["/feed/laughs.rss"]},
    "feed-external": {"feeds": ["/feed/external.rss"]},
    "sitemap-laughs": {"sitemaps": ["/sitemap/laughs.xml"]},
    "sitemap-external": {"sitemaps": ["/sitemap/external.xml"]},
    "sitemap-self": {"sitemaps": ["/sitemap/self.xml"]},
    "sitemap-pair": {"sitemaps": ["/sitemap/pair-a.xml"]},
    "sitemap-fanout": {"sitemaps": ["/sitemap/fan.xml"]},
    "sitemap-bombs": {
        "sitemaps": ["/sitemap/bomb.xml.gz", "/sitemap/bomb-encoded.xml"],
        "sections": ["/section/sitemap-bombs"],
    },
    "odd-urls": {"sections": ["/section/odd-urls"]},
}
"""Cases discovered through their own feeds, sitemaps or section page."""

HTML = "text/html; charset=utf-8"
XML = "application/xml"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: HostileSite

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A crawler hanging up on a bomb or a drip is what these tests are about.
        logger.debug("connection from %s ended badly", client_address)


class HostileSite:
    """Serve the hostile cases; record every request path."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._requests: list[str] = []
        self._streams = 0
        self.stream_endings: dict[str, list[str]] = {}
        """For each streaming path, how each response ended: ``disconnected`` (the client hung
        up), ``bound`` (it listened for :data:`DRIP_SECONDS`) or ``complete``."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------
    def __enter__(self) -> HostileSite:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.site = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def base(self) -> str:
        """Return ``http://127.0.0.1:PORT``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- what was asked -----------------------------------------------------------------------
    def record(self, target: str) -> None:
        """Note one request target (path and query, as sent)."""
        with self._lock:
            self._requests.append(target)

    @property
    def requests(self) -> list[str]:
        """Return every request target so far, in order."""
        with self._lock:
            return list(self._requests)

    def count(self, path: str) -> int:
        """Return how many requests asked for ``path`` (query strings aside)."""
        return sum(1 for target in self.requests if urlsplit(target).path == path)

    def stream_started(self) -> None:
        """Note that a streaming response began."""
        with self._lock:
            self._streams += 1

    def stream_ended(self, path: str, how: str) -> None:
        """Note how a streaming response ended."""
        with self._lock:
            self._streams -= 1
            self.stream_endings.setdefault(path, []).append(how)
            self._lock.notify_all()

    def wait_for_streams(self, timeout: float) -> bool:
        """Wait until every streaming response has ended; return whether they all have.

        A server notices a client that hung up only at its next write (a second later, for
        the drip), so a crawl can end just before the server knows.
        """
        with self._lock:
            return self._lock.wait_for(lambda: self._streams == 0, timeout)

    # --- sources ------------------------------------------------------------------------------
    def sources_toml(self) -> str:
        """Return a sources file with one source per case, all on this server."""
        tables = []
        cases = {name: {"sections": [f"/section/{name}"]} for name in PAGE_CASES}
        for name, listings in {**cases, **LISTING_CASES}.items():
            lines = [f"[sources.{name}]"]
            for kind, paths in listings.items():
                lines.append(f"{kind} = {json.dumps([self.base + path for path in paths])}")
            lines.append(f'allowed_domains = ["{self.base.removeprefix("http://")}"]')
            lines.append(f"article_patterns = ['{ARTICLE_PATTERN}']")
            tables.append("\n".join(lines))
        return "\n\n".join(tables) + "\n"

    def write_sources(self, path: Path) -> Path:
        """Write :meth:`sources_toml` to ``path`` and return it."""
        path.write_text(self.sources_toml(), encoding="utf-8")
        return path


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)

    @property
    def site(self) -> HostileSite:
        return self.server.site

    def do_GET(self) -> None:
        self.site.record(self.path)
        path = urlsplit(self.path).path
        route = _ROUTES.get(path)
        if route is not None:
            route(self)
        elif path.startswith(("/good/", "/a/odd/")) and len(path) > len("/good/"):
            self.send(200, HTML, pages.article(f"Good article {path[:80]}").encode())
        elif path.startswith("/sitemap/fan") and path.endswith(".xml"):
            children = [f"{path.removesuffix('.xml')}-{n}.xml" for n in range(FAN_OUT)]
            self.send(200, XML, pages.sitemap_index(self.site.base, children))
        elif path.startswith("/a/redirect-chain"):
            hop = path.removeprefix("/a/redirect-chain").strip("/")
            self.redirect(f"/a/redirect-chain/{int(hop) + 1 if hop.isdigit() else 1}")
        elif path.startswith("/section/") and path.removeprefix("/section/") in PAGE_CASES:
            name = path.removeprefix("/section/")
            self.send(200, HTML, pages.section([f"/a/{name}", f"/good/{name}"]))
        elif path.startswith("/a/") and path.removeprefix("/a/") in pages.IMPOSSIBLE_DATES:
            self.send(200, HTML, pages.dated_article(path.removeprefix("/a/")).encode())
        else:
            self.send(404, "text/plain", b"not found\n")

    # --- answers ------------------------------------------------------------------------------
    def send(
        self,
        status: int,
        content_type: str,
        body: bytes,
        *,
        length: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            self.close_connection = True

    def redirect(self, location: str) -> None:
        self.send(302, "text/plain", b"moved\n", headers={"Location": location})

    def stream(self, chunk: bytes, total: int, *, declared: bool, pause: float = 0.0) -> None:
        """Send ``total`` bytes in chunks, until done, the bound, or the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", HTML)
        if declared:
            self.send_header("Content-Length", str(total))
        else:  # the body ends when the connection does
            self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        path = urlsplit(self.path).path
        self.site.stream_started()
        sent = 0
        deadline = time.monotonic() + DRIP_SECONDS
        try:
            while sent < total:
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
                if pause:
                    time.sleep(pause)
                if time.monotonic() > deadline:
                    self.site.stream_ended(path, "bound")
                    return
        except OSError:
            self.site.stream_ended(path, "disconnected")
            return
        self.site.stream_ended(path, "complete")


def _page(body: Callable[[], bytes], content_type: str = HTML, **headers: str) -> Any:
    def answer(handler: _Handler) -> None:
        handler.send(200, content_type, body(), headers=headers)

    return answer


def _truncated_length(handler: _Handler) -> None:
    body = pages.article("Shorter than it says").encode()
    # Promise more than is sent, then hang up.
    handler.send(200, HTML, body[: len(body) // 2], length=len(body))
    handler.close_connection = True


def _listing(build: Callable[[str], bytes], content_type: str = XML) -> Any:
    def answer(handler: _Handler) -> None:
        handler.send(200, content_type, build(handler.site.base))

    return answer


def _drip(handler: _Handler) -> None:
    handler.stream(b"<", 1000, declared=True, pause=1.0)


_LOREM = (b"<p>" + b"filler text " * 40 + b"</p>\n") * 512

_ROUTES: dict[str, Callable[[_Handler], None]] = {
    "/robots.txt": _page(lambda: b"User-agent: *\nDisallow:\n", "text/plain"),
    "/a/truncated-length": _truncated_length,
    "/a/truncated-doc": _page(pages.truncated_document),
    "/a/tag-soup": _page(pages.tag_soup),
    "/a/binary": _page(pages.binary_noise, "text/html"),
    "/a/cp1252": _page(
        lambda: pages.article(
            pages.CP1252_HEADLINE, (pages.CP1252_PARAGRAPH, *pages.PARAGRAPHS)
        ).encode("cp1252"),
        "text/html",
    ),
    "/a/shift-jis": _page(
        lambda: pages.article(
            pages.JAPANESE_HEADLINE, pages.JAPANESE_PARAGRAPHS, '<meta charset="Shift_JIS">'
        ).encode("shift_jis"),
        "text/html",
    ),
    "/a/utf8-as-latin1": _page(
        lambda: pages.article(pages.MIXED_HEADLINE).encode("utf-8"),
        "text/html; charset=ISO-8859-1",
    ),
    "/a/huge-streamed": lambda h: h.stream(_LOREM, HUGE_SIZE, declared=False),
    "/a/huge-declared": lambda h: h.stream(_LOREM, HUGE_SIZE, declared=True),
    "/a/gzip-bomb": _page(pages.gzip_bomb, HTML, **{"Content-Encoding": "gzip"}),
    "/a/brotli-bomb": _page(pages.brotli_bomb, HTML, **{"Content-Encoding": "br"}),
    "/a/redirect-self": lambda h: h.redirect("/a/redirect-self"),
    "/a/redirect-pair": lambda h: h.redirect("/a/redirect-pair-b"),
    "/a/redirect-pair-b": lambda h: h.redirect("/a/redirect-pair"),
    "/a/drip": _drip,
    "/a/links": _page(pages.link_farm),
    "/a/deep": _page(pages.deep_dom),
    "/feed/laughs.rss": _listing(
        lambda base: pages.feed(base, "laughs", "/good/feed-laughs"), "application/rss+xml"
    ),
    "/feed/external.rss": _listing(
        lambda base: pages.feed(base, "external", "/good/feed-external"), "application/rss+xml"
    ),
    "/sitemap/laughs.xml": _listing(
        lambda base: pages.urlset(base, ["/good/sitemap-laughs"], "laughs")
    ),
    "/sitemap/external.xml": _listing(
        lambda base: pages.urlset(base, ["/good/sitemap-external"], "external")
    ),
    "/sitemap/self.xml": _listing(
        lambda base: pages.sitemap_index(
            base, ["/sitemap/self.xml"] * SELF_LISTINGS + ["/sitemap/self-urls.xml"]
        )
    ),
    "/sitemap/self-urls.xml": _listing(lambda base: pages.urlset(base, ["/good/sitemap-self"])),
    "/sitemap/pair-a.xml": _listing(
        lambda base: pages.sitemap_index(base, ["/sitemap/pair-b.xml", "/sitemap/pair-urls.xml"])
    ),
    "/sitemap/pair-b.xml": _listing(
        lambda base: pages.sitemap_index(base, ["/sitemap/pair-a.xml", "/sitemap/pair-urls.xml"])
    ),
    "/sitemap/pair-urls.xml": _listing(lambda base: pages.urlset(base, ["/good/sitemap-pair"])),
    "/sitemap/fan.xml": _listing(
        lambda base: pages.sitemap_index(
            base, ["/sitemap/fan-urls.xml", *(f"/sitemap/fan-{n}.xml" for n in range(FAN_OUT))]
        )
    ),
    "/sitemap/fan-urls.xml": _listing(lambda base: pages.urlset(base, ["/good/sitemap-fanout"])),
    "/sitemap/bomb.xml.gz": _page(pages.single_member_gzip_bomb, "application/gzip"),
    "/sitemap/bomb-encoded.xml": _page(pages.gzip_bomb, XML, **{"Content-Encoding": "gzip"}),
    "/section/sitemap-bombs": _page(lambda: pages.section(["/good/sitemap-bombs"])),
    "/section/odd-urls": _page(lambda: pages.section([*pages.ODD_HREFS, "/good/odd-urls"])),
    "/dtd/rss.dtd": _page(lambda: b'<!ENTITY leak "LEAKED-DTD">', "application/xml-dtd"),
    "/dtd/urlset.dtd": _page(lambda: b'<!ENTITY leak "LEAKED-DTD">', "application/xml-dtd"),
    "/dtd/remote-entity": _page(lambda: b"LEAKED-ENTITY", "text/plain"),
}
