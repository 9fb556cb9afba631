"""``newsarchive sources | ls | history | show`` on the demo site crawled twice into SeaweedFS."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from archiver.cli_read import register
from archiver.reader import open_reader
from crawler.demosite.server import DemoSite
from tests.archive_support import DemoArchive, build_demo_archive
from tests.servers.seaweedfs import SeaweedFS


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedFS]:
    with SeaweedFS() as server:
        yield server


@pytest.fixture(scope="module")
def child_env(seaweed: SeaweedFS) -> dict[str, str]:
    """The environment of the commands: this one's, pointed at the test server only."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(seaweed.environ())
    env.pop("ARCHIVE_URI", None)
    return env


@pytest.fixture(scope="module")
def demo(
    site: DemoSite,
    seaweed: SeaweedFS,
    child_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DemoArchive]:
    bucket = seaweed.create_bucket("readcli")
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("AWS_")]:
            patch.delenv(name)
        for name, value in seaweed.environ().items():
            patch.setenv(name, value)
        tmp = tmp_path_factory.mktemp("readcli")
        yield build_demo_archive(site, f"s3://{bucket}/news", tmp, seaweed.environ())


@pytest.fixture(scope="module")
def captured(demo: DemoArchive) -> tuple[str, str]:
    """The capture times of the edited article's two versions."""
    with open_reader(demo.uri) as reader:
        first, second = reader.versions(demo.edited)
    return first["captured_at"], second["captured_at"]


def newsarchive(
    env: dict[str, str], *args: str, archive: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``newsarchive`` as users do, in a child process."""
    extra = ["--archive", archive] if archive else []
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args, *extra],
        capture_output=True,
        timeout=120,
        env=env,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    return result.stdout.decode("utf-8")


def test_sources(demo: DemoArchive, child_env: dict[str, str]) -> None:
    lines = ok(newsarchive(child_env, "sources", archive=demo.uri)).splitlines()
    assert [line.split()[0] for line in lines] == [
        "harbour-herald",
        "le-quotidien",
        "meridian-wire",
    ]
    counted = [
        json.loads(line)
        for line in ok(
            newsarchive(child_env, "sources", "--json", "--scan", archive=demo.uri)
        ).splitlines()
    ]
    assert sum(item["articles"] for item in counted) == len(demo.identities)
    assert sum(item["versions"] for item in counted) == len(demo.identities) + 1
    herald = next(item for item in counted if item["name"] == "harbour-herald")
    assert lines[0].split()[1:] == [
        str(herald["articles"]),
        "articles",
        str(herald["versions"]),
        "versions",
    ]


def test_ls_lists_every_article_once(demo: DemoArchive, child_env: dict[str, str]) -> None:
    lines = ok(newsarchive(child_env, "ls", archive=demo.uri)).splitlines()
    rows = [line.split("\t") for line in lines]
    assert {row[4] for row in rows} == set(demo.identities)
    assert len(rows) == len(demo.identities)
    edited = next(row for row in rows if row[4] == demo.edited)
    assert edited[1:4] == ["harbour-herald", "v2/2", demo.edited_headlines[1]]
    every = ok(newsarchive(child_env, "ls", "--all-versions", archive=demo.uri)).splitlines()
    assert len(every) == len(demo.identities) + 1


def test_ls_filters(
    demo: DemoArchive, child_env: dict[str, str], captured: tuple[str, str]
) -> None:
    def listed(*args: str) -> list[dict[str, Any]]:
        output = ok(newsarchive(child_env, "ls", "--json", *args, archive=demo.uri))
        return [json.loads(line) for line in output.splitlines()]

    french = listed("--language", "fr")
    assert french
    assert {item["source"] for item in french} == {"le-quotidien"}
    assert {item["language"] for item in french} == {"fr-FR"}
    assert len(french) == len(listed("--source", "le-quotidien"))
    wire = listed("--source", "meridian-wire")
    assert wire
    assert {item["source"] for item in wire} == {"meridian-wire"}
    found = listed("--contains", " ".join(demo.edited_headlines[1].split()[-2:]).upper())
    assert [(item["identity_url"], item["version"]) for item in found] == [(demo.edited, 2)]
    then = listed("--captured-to", _between(*captured), "--source", "harbour-herald")
    edited = next(item for item in then if item["identity_url"] == demo.edited)
    assert (edited["version"], edited["headline"]) == (1, demo.edited_headlines[0])
    assert listed("--language", "fr", "--source", "harbour-herald") == []


def test_history_lists_two_versions(demo: DemoArchive, child_env: dict[str, str]) -> None:
    text = ok(newsarchive(child_env, "history", demo.edited, archive=demo.uri))
    lines = text.splitlines()
    assert lines[0] == f"{demo.edited}: 2 versions"
    assert "  version 1  " in lines[1]
    assert demo.edited_headlines[0] in lines[1]
    assert "  version 2  " in lines[2]
    assert demo.edited_headlines[1] in lines[2]
    events = [
        json.loads(line)
        for line in ok(
            newsarchive(child_env, "history", "--json", demo.edited + "/", archive=demo.uri)
        ).splitlines()
    ]
    assert [(event["kind"], event["version"]) for event in events] == [
        ("version", 1),
        ("version", 2),
    ]
    assert events[0]["at"] < events[1]["at"]


def test_history_summarises_unchanged_checks(demo: DemoArchive, child_env: dict[str, str]) -> None:
    unchanged = next(url for url in demo.identities if url != demo.edited)
    text = ok(newsarchive(child_env, "history", "--checks", unchanged, archive=demo.uri))
    lines = text.splitlines()
    assert lines[0] == f"{unchanged}: 1 version"
    assert "  version 1  " in lines[1]
    assert "seen unchanged (version 1; not_modified 1)" in lines[2]
    assert len(lines) == 3


def test_show_at_before_and_after_the_edit(
    demo: DemoArchive, child_env: dict[str, str], captured: tuple[str, str]
) -> None:
    before = ok(
        newsarchive(child_env, "show", demo.edited, "--at", _between(*captured), archive=demo.uri)
    )
    assert before.splitlines()[0] == demo.edited_headlines[0]
    assert "Version 1 of 2" in before
    after = ok(newsarchive(child_env, "show", demo.edited, "--at", captured[1], archive=demo.uri))
    assert after.splitlines()[0] == demo.edited_headlines[1]
    assert "Version 2 of 2" in after
    latest = ok(newsarchive(child_env, "show", demo.edited + "?utm_source=rss", archive=demo.uri))
    assert latest == after.replace(f"; current at {_short(captured[1])}", "")
    with open_reader(demo.uri) as reader:
        article = reader.version(demo.edited, 2)["article"]
    assert f"By {article['authors'][0]}" in latest
    image = article["images"][0]
    assert image["src"] in latest
    assert image["caption"] in latest
    assert image["credit"] in latest
    assert article["body"].split("\n")[-1] in latest


def test_show_version_json_and_html(demo: DemoArchive, child_env: dict[str, str]) -> None:
    first = ok(newsarchive(child_env, "show", demo.edited, "--version", "1", archive=demo.uri))
    assert first.splitlines()[0] == demo.edited_headlines[0]
    article = json.loads(
        ok(
            newsarchive(
                child_env, "show", demo.edited, "--version", "1", "--json", archive=demo.uri
            )
        )
    )
    assert article["headline"] == demo.edited_headlines[0]
    result = newsarchive(child_env, "show", demo.edited, "--html", archive=demo.uri)
    assert result.returncode == 0, result.stderr.decode()
    with open_reader(demo.uri) as reader:
        record = reader.version(demo.edited, 2)
    assert hashlib.sha256(result.stdout).hexdigest() == record["html_sha256"]


def test_show_errors(
    demo: DemoArchive, child_env: dict[str, str], captured: tuple[str, str]
) -> None:
    unknown = newsarchive(
        child_env, "show", demo.edited.replace("earthquake", "volcano"), archive=demo.uri
    )
    assert unknown.returncode == 2
    assert b"newsarchive: error: no article archived under" in unknown.stderr
    early = newsarchive(
        child_env, "show", demo.edited, "--at", "2000-01-01T00:00Z", archive=demo.uri
    )
    assert early.returncode == 2
    assert f"was first archived at {_short(captured[0])}".encode() in early.stderr
    assert b"is before it" in early.stderr
    missing = newsarchive(child_env, "show", demo.edited, "--version", "7", archive=demo.uri)
    assert missing.returncode == 2
    assert b"no version 7" in missing.stderr
    both = newsarchive(child_env, "show", demo.edited, "--version", "1", "--at", captured[0])
    assert both.returncode == 2
    assert b"not allowed with" in both.stderr


def test_ls_in_a_pipe_stops_quietly(demo: DemoArchive, child_env: dict[str, str]) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "ls", "--archive", demo.uri],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env,
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline()
        process.stdout.close()  # as `| head -1` does
        assert process.stderr is not None
        errors = process.stderr.read()
        assert process.wait(timeout=60) == 0, errors
    assert b"Traceback" not in errors


def test_registered_commands_in_process(
    demo: DemoArchive, captured: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="newsarchive")
    register(parser.add_subparsers())
    args = parser.parse_args(["show", demo.edited, "--at", captured[0], "--archive", demo.uri])
    assert args.func(args) == 0
    assert capsys.readouterr().out.splitlines()[0] == demo.edited_headlines[0]
    args = parser.parse_args(["ls", "--language", "fr", "--json", "--archive", demo.uri])
    assert args.func(args) == 0
    assert {json.loads(line)["source"] for line in capsys.readouterr().out.splitlines()} == {
        "le-quotidien"
    }


def test_local_folder_archive(site: DemoSite, tmp_path: Path, child_env: dict[str, str]) -> None:
    local = build_demo_archive(site, str(tmp_path / "archive"), tmp_path)
    lines = ok(newsarchive(child_env, "ls", "--contains", "tsunami advisory", archive=local.uri))
    assert [line.split("\t")[4] for line in lines.splitlines()] == [local.edited]
    text = ok(newsarchive(child_env, "history", local.edited, archive=local.uri))
    assert text.splitlines()[0] == f"{local.edited}: 2 versions"


def _between(earlier: str, later: str) -> str:
    start, end = datetime.fromisoformat(earlier), datetime.fromisoformat(later)
    return (start + (end - start) / 2).isoformat()


def _short(captured_at: str) -> str:
    return captured_at.split(".")[0] + "Z"
