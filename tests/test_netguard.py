"""Private networks are refused by default, after DNS resolution and at every redirect.

The address classifier is tested directly; the guard itself by real crawls (child processes)
of loopback servers, with the test session's ``NEWSARCHIVE_ALLOW_PRIVATE_NETWORKS`` removed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.demosite.server import DemoSite
from crawler.errors import CrawlerError
from crawler.netguard import NetworkPolicy, parse_networks, refusal_reason

OUTLET = "harbour-herald"
FAST = [
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "AUTOTHROTTLE_ENABLED=False",
    "-s",
    "ARCHIVE_EXTRACT_WORKERS=1",
]
ALLOWANCE = "NEWSARCHIVE_ALLOW_PRIVATE_NETWORKS"


# --- the classifier ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "link-local (cloud metadata)"),
        ("169.254.1.1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("127.0.0.1", "loopback"),
        ("127.5.5.5", "loopback"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique local"),
        ("fd00:ec2::254", "unique local (cloud metadata)"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, not a bind
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback (as 127.0.0.1)"),
        ("::ffff:169.254.169.254", "link-local (cloud metadata) (as 169.254.169.254)"),
        ("64:ff9b::a00:1", "private (as 10.0.0.1)"),
        ("2002:7f00:1::", "loopback (6to4 of 127.0.0.1)"),
        ("100.64.0.1", "shared address space (carrier-grade NAT)"),
    ],
)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert refusal_reason(address) == reason


@pytest.mark.parametrize("address", ["240.0.0.1", "255.255.255.255", "192.0.2.1", "2001:db8::1"])
def test_reserved_and_documentation_addresses_are_refused(address: str) -> None:
    # Which name Python's tables give them varies between versions; that they are refused not.
    assert refusal_reason(address) is not None


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::1",
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal_reason(address) is None


def test_allowed_networks_exempt_exactly_what_they_list() -> None:
    policy = NetworkPolicy(parse_networks(["127.0.0.1/32", " fd12::/64 "]))
    assert policy.refusal("127.0.0.1") is None
    assert policy.refusal("::ffff:127.0.0.1") is None
    assert policy.refusal("fd12::5") is None
    assert policy.refusal("127.0.0.2") == "loopback"
    assert policy.refusal("fd13::5") == "unique local"
    # An IPv6 network never exempts an IPv4 address that its bits happen to fall in.
    assert NetworkPolicy(parse_networks(["::/96"])).refusal("127.0.0.1") == "loopback"


def test_the_policy_comes_from_the_settings() -> None:
    assert NetworkPolicy.from_settings(Settings({"ALLOW_PRIVATE_NETWORKS": True})) is None
    policy = NetworkPolicy.from_settings(
        Settings({"ALLOW_PRIVATE_NETWORKS": "0", "ARCHIVE_ALLOWED_NETWORKS": "10.0.0.0/8,::1"})
    )
    assert policy is not None
    assert [str(n) for n in policy.allowed] == ["10.0.0.0/8", "::1/128"]
    with pytest.raises(CrawlerError, match=re.escape("'10.0.0.1/8' is not a network")):
        parse_networks(["10.0.0.1/8"])


def test_private_networks_are_refused_unless_the_environment_allows_them() -> None:
    script = (
        "import crawler.settings as s; print(s.ALLOW_PRIVATE_NETWORKS, s.ARCHIVE_ALLOWED_NETWORKS)"
    )
    env = _env(ARCHIVE_ALLOWED_NETWORKS="127.0.0.1/32, 10.0.0.0/8")
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert run.stdout.split("\n")[0] == "False ['127.0.0.1/32', '10.0.0.0/8']"
    env[ALLOWANCE] = "1"
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert run.stdout.startswith("True ")


def test_the_guard_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    assert settings.get("TWISTED_DNS_RESOLVER") == "crawler.netguard.GuardedThreadedResolver"
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    # Above RetryMiddleware (550), so that its process_exception sees a refusal first.
    assert middlewares["crawler.netguard.NetworkGuardMiddleware"] > 550


# --- crawls ---------------------------------------------------------------------------------
def _env(**extra: str) -> dict[str, str]:
    """This process's environment without the test session's allowance, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in (ALLOWANCE, "ARCHIVE_ALLOWED_NETWORKS")}
    env.update(extra)
    return env


def crawl(url: str, tmp: Path, env: dict[str, str], *extra: str) -> tuple[dict[str, Any], str]:
    """Crawl ``url`` in a child process; return its summary and its log."""
    summary_path = tmp / "summary.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--url",
            url,
            "--archive",
            str(tmp / "archive"),
            "--summary",
            str(summary_path),
            *FAST,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary: dict[str, Any] = json.loads(summary_path.read_text(encoding="utf-8"))
    return summary, result.stderr


def an_article(site: DemoSite) -> str:
    """The path of an ordinary article of the demo site."""
    pages = site.manifest["outlets"][OUTLET]["pages"]
    return str(next(p["path"] for p in pages if p["is_article"] and not p["roles"]))


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def other_site() -> Iterator[DemoSite]:
    """The demo site on another loopback address, 127.0.0.2."""
    with DemoSite(host="127.0.0.2") as running:
        yield running


class RedirectServer(ThreadingHTTPServer):
    """On 127.0.0.1: answer ``301`` to ``target`` for every page, 404 for robots.txt."""

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), RedirectHandler)
        self.target = target
        self.paths: list[str] = []


class RedirectHandler(BaseHTTPRequestHandler):
    server: RedirectServer

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        self.send_response(404 if self.path == "/robots.txt" else 301)
        if self.path != "/robots.txt":
            self.send_header("Location", self.server.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def redirect_to_other(other_site: DemoSite) -> Iterator[RedirectServer]:
    server = RedirectServer(other_site.url(OUTLET, an_article(other_site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    other_site.clear_request_log()
    yield server
    server.shutdown()
    server.server_close()


def test_a_loopback_address_is_refused_before_any_request(site: DemoSite, tmp_path: Path) -> None:
    site.clear_request_log()
    summary, log = crawl(site.url(OUTLET, an_article(site)), tmp_path, _env())
    assert summary["totals"]["failed_by"] == {"blocked_network": 1}
    assert site.request_log == []
    assert "refused: 127.0.0.1 is loopback; set NEWSARCHIVE_ALLOW_PRIVATE_NETWORKS=1" in log
    # Not even robots.txt reached Scrapy's downloader.
    assert "'downloader/request_count'" not in log


def test_the_metadata_address_is_refused_without_a_connection(tmp_path: Path) -> None:
    summary, log = crawl("http://169.254.169.254/latest/meta-data/", tmp_path, _env())
    assert summary["totals"]["failed_by"] == {"blocked_network": 1}
    assert "169.254.169.254 is link-local (cloud metadata)" in log
    assert "'downloader/request_count'" not in log


@pytest.mark.parametrize(
    "resolver",
    ["crawler.netguard.GuardedThreadedResolver", "crawler.netguard.GuardedHostnameResolver"],
)
def test_a_name_is_refused_for_the_address_it_resolves_to(
    site: DemoSite, tmp_path: Path, resolver: str
) -> None:
    port = site.outlets[OUTLET].rsplit(":", 1)[1]
    url = f"http://localhost:{port}{an_article(site)}"
    site.clear_request_log()
    summary, log = crawl(url, tmp_path, _env(), "-s", f"TWISTED_DNS_RESOLVER={resolver}")
    assert summary["totals"]["failed_by"] == {"blocked_network": 1}
    assert site.request_log == []
    assert "refused: localhost resolves to " in log
    assert ", which is loopback" in log
    # A refusal is final: it is not retried as a DNS error would be.
    assert "'retry/count'" not in log


def test_a_redirect_to_a_refused_address_is_refused(
    redirect_to_other: RedirectServer, other_site: DemoSite, tmp_path: Path
) -> None:
    page = f"http://127.0.0.1:{redirect_to_other.server_address[1]}/story"
    env = _env(ARCHIVE_ALLOWED_NETWORKS="127.0.0.1/32")
    summary, log = crawl(page, tmp_path, env)
    assert redirect_to_other.paths == ["/robots.txt", "/story"]
    assert summary["totals"]["failed_by"] == {"blocked_network": 1}
    assert other_site.request_log == []
    assert "refused: 127.0.0.2 is loopback" in log


def test_with_the_allowance_the_same_crawl_archives_the_article(
    redirect_to_other: RedirectServer, other_site: DemoSite, tmp_path: Path
) -> None:
    page = f"http://127.0.0.1:{redirect_to_other.server_address[1]}/story"
    summary, log = crawl(page, tmp_path, _env(**{ALLOWANCE: "1"}))
    assert summary["totals"]["archived_by"] == {"new": 1}
    assert [r.path for r in other_site.request_log] == ["/robots.txt", an_article(other_site)]
    assert "refused" not in log


def test_the_demo_allows_its_own_loopback_site(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "demo", "--archive", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "blocked_network" not in result.stdout


# --- `newsarchive extract URL` fetches outside Scrapy, under the same refusal ----------------
def extract(url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", "extract", url],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_extract_refuses_a_loopback_url(site: DemoSite) -> None:
    site.clear_request_log()
    result = extract(site.url(OUTLET, an_article(site)), _env())
    assert result.returncode == 2
    assert "refused: 127.0.0.1 is 127.0.0.1, which is loopback" in result.stderr
    assert site.request_log == []


def test_extract_refuses_a_redirect_to_a_refused_address(
    redirect_to_other: RedirectServer, other_site: DemoSite
) -> None:
    start = f"http://127.0.0.1:{redirect_to_other.server_address[1]}/story"
    result = extract(start, _env(ARCHIVE_ALLOWED_NETWORKS="127.0.0.1/32"))
    assert result.returncode == 2
    assert "127.0.0.2, which is loopback" in result.stderr
    assert redirect_to_other.paths == ["/story"]
    assert other_site.request_log == []


def test_extract_with_the_allowance_follows_the_redirect(
    redirect_to_other: RedirectServer, other_site: DemoSite
) -> None:
    start = f"http://127.0.0.1:{redirect_to_other.server_address[1]}/story"
    result = extract(start, _env(**{ALLOWANCE: "1"}))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["headline"]
    assert len(other_site.request_log) == 1
