"""The ``newsarchive`` command, run as a user runs it: a child process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.script_support import run_script

SEED_CASE = Path(__file__).parent / "fixtures" / "extraction"


def newsarchive(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def _seed_page() -> tuple[Path, str]:
    for case in sorted(SEED_CASE.iterdir()):
        meta = json.loads((case / "meta.json").read_text(encoding="utf-8"))
        html = (case / "page.html").read_text(encoding="utf-8", errors="replace")
        if "Manish Swarup/AP" in html:
            return case / "page.html", meta["url"]
    raise AssertionError("no extraction fixture built from the seed article")


def test_extract_prints_the_article_as_json() -> None:
    page, url = _seed_page()
    result = newsarchive("extract", str(page), "--url", url)
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["url"] == url
    assert article["headline"].startswith("US secretary of state and Russian foreign minister")
    assert article["authors"] == ["Associated Press Reporter"]
    assert {image["credit"] for image in article["images"]} == {"Manish Swarup/AP"}


def test_extract_of_a_non_article_says_so(tmp_path: Path) -> None:
    page = tmp_path / "front.html"
    links = "".join(f'<li><a href="/world/story-{i}">Story {i}</a></li>' for i in range(40))
    page.write_text(f"<html><body><nav><ul>{links}</ul></nav></body></html>", encoding="utf-8")
    result = newsarchive("extract", str(page), "--url", "https://news.example/world/")
    assert result.returncode == 1
    assert "not an article" in result.stderr


def test_extract_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = newsarchive("extract", str(tmp_path / "nope.html"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_crawl_with_an_invalid_sources_file_fails_before_fetching(tmp_path: Path) -> None:
    bad = tmp_path / "sources.toml"
    bad.write_text(
        '[sources.wire]\nfeeds = "https://wire.example/rss"\nallowed_domains = ["wire.example"]\n',
        encoding="utf-8",
    )
    result = newsarchive("crawl", "--sources", str(bad), "--archive", str(tmp_path / "a"))
    assert result.returncode == 2
    assert "sources.toml" in result.stderr
    assert "wire" in result.stderr
    assert "feeds" in result.stderr
    assert not (tmp_path / "a").exists()


def test_crawl_of_an_unknown_source_names_the_known_ones(tmp_path: Path) -> None:
    result = newsarchive("crawl", "--source", "no-such-outlet", "--archive", str(tmp_path / "a"))
    assert result.returncode == 2
    assert "no-such-outlet" in result.stderr


def test_crawl_backfill_window_is_checked_before_fetching(tmp_path: Path) -> None:
    archive = tmp_path / "a"
    result = newsarchive("crawl", "--until", "2026-11-20", "--archive", str(archive))
    assert result.returncode == 2
    assert "--until needs --since" in result.stderr
    result = newsarchive("crawl", "--since", "11/01/2026", "--archive", str(archive))
    assert result.returncode == 2
    assert "since='11/01/2026'" in result.stderr
    assert not archive.exists()


_EXIT_PROBE = """
import atexit, sys, threading, time
from pathlib import Path
from crawler.cli import exit_now

out = Path(sys.argv[1])
def late_write():
    time.sleep(0.3)
    (out / "thread.txt").write_text("written")
threading.Thread(target=late_write).start()
atexit.register(lambda: (out / "atexit.txt").write_text("ran"))
sys.stdout.write("x" * 200_000)
exit_now(3)
print("not reached")
"""


def test_exit_now_waits_for_threads_runs_atexit_and_flushes(tmp_path: Path) -> None:
    # The command skips the interpreter's teardown, not its duties: a thread still writing
    # finishes, atexit handlers run, buffered output reaches the pipe, the code is kept.
    done = subprocess.run(
        [sys.executable, "-c", _EXIT_PROBE, str(tmp_path)], capture_output=True, check=False
    )
    assert done.returncode == 3
    assert done.stdout == b"x" * 200_000
    assert (tmp_path / "thread.txt").read_text() == "written"
    assert (tmp_path / "atexit.txt").read_text() == "ran"


def test_the_command_exits_with_the_code_of_its_command(tmp_path: Path) -> None:
    # `python -m crawler.cli` goes through the same exit as the installed command.
    done = newsarchive("extract", str(tmp_path / "missing.html"))
    assert done.returncode == 2
    assert "newsarchive: error: cannot read" in done.stderr
    version = newsarchive("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("newsarchive ")


_IN_PROCESS_CRAWL = """
import gc, json, os, sys
from crawler.cli import run_crawl
from crawler.demosite.server import DemoSite

gc.set_threshold(500, 7, 9)
with DemoSite() as site:
    sources = site.write_sources(sys.argv[1] + "/sources.toml")
    summary = run_crawl(
        sources=str(sources),
        archive=sys.argv[1] + "/archive",
        extra={"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "WARNING"},
    )
print(json.dumps({
    "archived": summary["totals"]["archived"],
    "threshold": gc.get_threshold(),
    "frozen": gc.get_freeze_count(),
}))
"""


def test_an_in_process_crawl_leaves_the_collector_as_it_found_it(tmp_path: Path) -> None:
    # A crawl sets its startup objects aside from the cyclic collector and collects its young
    # objects less often; a program that calls run_crawl gets its own settings back after.
    result = run_script(_IN_PROCESS_CRAWL, tmp_path)
    assert result["archived"] > 0
    assert result["threshold"] == [500, 7, 9]
    assert result["frozen"] == 0
