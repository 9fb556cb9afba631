"""Retries wait before they go: exponential back-off, or the server's Retry-After."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.middlewares import backoff_delay, parse_retry_after

SEED_PAGE = Path(__file__).parent / "fixtures" / "extraction" / "regional_seed" / "page.html"


def test_backoff_grows_exponentially_within_jitter_and_cap() -> None:
    for retry in range(1, 6):
        delay = backoff_delay(retry, base=2.0, cap=60.0)
        step = 2.0 * 2 ** (retry - 1)
        assert step / 2 <= delay <= step
    assert backoff_delay(10, base=2.0, cap=60.0) <= 60.0


def test_retry_after_wins_but_is_capped() -> None:
    assert backoff_delay(1, base=2.0, cap=60.0, retry_after=7.0) == 7.0
    assert backoff_delay(1, base=2.0, cap=60.0, retry_after=3600.0) == 60.0


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    later = format_datetime(datetime(2026, 11, 28, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    earlier = format_datetime(datetime(2026, 11, 28, 11, 0, 0, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


class FlakyServer(ThreadingHTTPServer):
    """Answer 503 with ``Retry-After: 1`` to the first request, then the seed article."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FlakyHandler)
        self.times: list[float] = []
        self.lock = threading.Lock()


class FlakyHandler(BaseHTTPRequestHandler):
    server: FlakyServer

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self.send_response(404)
            self.end_headers()
            return
        with self.server.lock:
            self.server.times.append(time.monotonic())
            attempt = len(self.server.times)
        if attempt == 1:
            self.send_response(503)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = SEED_PAGE.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def flaky() -> Iterator[FlakyServer]:
    server = FlakyServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_503_is_retried_after_retry_after_and_the_article_archived(
    flaky: FlakyServer, tmp_path: Path
) -> None:
    port = flaky.server_address[1]
    url = f"http://127.0.0.1:{port}/world/2023/03/02/us-secretary-of-state-g20-chat"
    summary_path = tmp_path / "summary.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--url",
            url,
            "--archive",
            str(tmp_path / "archive"),
            "--summary",
            str(summary_path),
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["totals"]["archived_by"] == {"new": 1}
    assert len(flaky.times) == 2
    # asyncio.sleep never returns early, so the retry came at least Retry-After seconds later.
    assert flaky.times[1] - flaky.times[0] >= 1.0
