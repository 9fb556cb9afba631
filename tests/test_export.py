"""``newsarchive export``: JSONL, Parquet and WARC slices of the archive, in bounded memory.

The demo site is crawled twice (one article edited in between) into SeaweedFS and exported
through the command line, each format checked against the version records and the HTML the
archive holds, and by the tools researchers use: pyarrow, DuckDB, warcio and its checks.
Synthetic local archives of 1,000 and 3,000 versions show that filters select what they say
and that an export's peak memory does not grow with the archive.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import pty
import random
import re
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import duckdb
import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver import Capture, open_store
from archiver.cli_export import ProgressLine, register
from archiver.export import PARQUET_SCHEMA, ExportStats, export_archive
from archiver.export_select import ExportError, ExportFilter, iter_export_versions
from archiver.export_warc import METADATA_URI_PREFIX, cdxj_path
from archiver.local import LocalStorage
from crawler.demosite.server import DemoSite
from tests.archive_support import DemoArchive, build_demo_archive
from tests.servers.seaweedfs import SeaweedFS

SMALL = 1000
LARGE = 3000
DAYS = 10
FIRST_DAY = datetime(2026, 11, 1, 8, tzinfo=UTC)
# Peak memory measured in the child, which imports only the archiver and its exporters.
_MEASURED_EXPORT = """
import argparse, sys
from archiver.cli_export import register
parser = argparse.ArgumentParser()
register(parser.add_subparsers())
args = parser.parse_args(sys.argv[1:])
code = args.func(args)
with open("/proc/self/status", encoding="ascii") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print("peak_kib", peak)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedFS]:
    with SeaweedFS() as server:
        yield server


@pytest.fixture(scope="module")
def s3_env(seaweed: SeaweedFS) -> Iterator[dict[str, str]]:
    """Point this process's boto3 at the server, and nothing from the machine's AWS setup."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                patch.delenv(name)
        for name, value in seaweed.environ().items():
            patch.setenv(name, value)
        yield seaweed.environ()


@pytest.fixture(scope="module")
def demo(
    site: DemoSite, seaweed: SeaweedFS, tmp_path_factory: pytest.TempPathFactory
) -> DemoArchive:
    bucket = f"export-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", **seaweed.client_options())  # type: ignore[call-overload]
    client.create_bucket(Bucket=bucket)
    client.close()
    return build_demo_archive(
        site, f"s3://{bucket}/news", tmp_path_factory.mktemp("crawl"), seaweed.environ()
    )


@dataclass(frozen=True)
class DemoExports:
    jsonl: Path
    latest: Path
    parquet: Path
    warc: Path
    versions: list[dict[str, Any]]
    """Every version record, read through the store's own history."""
    stdout: dict[str, str]


def _run_export(
    uri: str, env: dict[str, str], *options: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    child_env.update(env)
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "export", "--archive", uri, *options],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"export failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def exports(
    demo: DemoArchive, s3_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> DemoExports:
    out = tmp_path_factory.mktemp("exports")
    runs = {
        "jsonl": ("--format", "jsonl", "--output", str(out / "all.jsonl")),
        "latest": ("--format", "jsonl", "--latest", "--output", str(out / "latest.jsonl")),
        "parquet": ("--format", "parquet", "--output", str(out / "all.parquet")),
        "warc": ("--format", "warc", "--output", str(out / "all.warc.gz")),
    }
    stdout = {
        name: _run_export(demo.uri, s3_env, *options).stdout for name, options in runs.items()
    }
    with open_store(demo.uri) as store:
        versions = [record for identity in demo.identities for record in store.history(identity)]
    return DemoExports(
        out / "all.jsonl",
        out / "latest.jsonl",
        out / "all.parquet",
        out / "all.warc.gz",
        versions,
        stdout,
    )


def _key(record: dict[str, Any]) -> str:
    aid = record["article_id"]
    return f"articles/{aid[:2]}/{aid}/v{record['version']:06d}.json"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_holds_every_version_as_archived(demo: DemoArchive, exports: DemoExports) -> None:
    lines = _lines(exports.jsonl)
    assert len(exports.versions) == len(demo.identities) + 1
    assert len(lines) == len(exports.versions)
    assert sorted(lines, key=_key) == sorted(exports.versions, key=_key)
    assert exports.stdout["jsonl"].startswith(
        f"{len(exports.versions)} versions of {len(demo.identities)} articles"
    )
    edited = [line["article"]["headline"] for line in lines if line["identity_url"] == demo.edited]
    assert tuple(edited) == demo.edited_headlines


def test_jsonl_latest_holds_one_version_per_article(
    demo: DemoArchive, exports: DemoExports
) -> None:
    lines = _lines(exports.latest)
    assert sorted(line["identity_url"] for line in lines) == sorted(demo.identities)
    edited = next(line for line in lines if line["identity_url"] == demo.edited)
    assert (edited["version"], edited["article"]["headline"]) == (2, demo.edited_headlines[1])
    assert all(line["version"] == 1 for line in lines if line["identity_url"] != demo.edited)


def test_parquet_reads_in_pyarrow_and_duckdb(demo: DemoArchive, exports: DemoExports) -> None:
    table = pq.read_table(exports.parquet)
    assert table.schema.equals(PARQUET_SCHEMA, check_metadata=False)
    assert table.num_rows == len(exports.versions)
    rows = {row["json_key"]: row for row in table.to_pylist()}
    for record in exports.versions:
        row = rows[_key(record)]
        article = record["article"]
        assert row["identity_url"] == record["identity_url"]
        assert row["captured_at"] == datetime.fromisoformat(record["captured_at"])
        assert (row["headline"], row["body"], row["authors"]) == (
            article["headline"],
            article["body"],
            article["authors"],
        )
        assert (row["html_key"], row["html_sha256"]) == (record["html_key"], record["html_sha256"])
    path = str(exports.parquet)
    counted = duckdb.sql(
        "SELECT count(*), count(DISTINCT identity_url) FROM read_parquet(?)", params=[path]
    ).fetchall()
    assert counted == [(len(exports.versions), len(demo.identities))]
    by_source = duckdb.sql(
        "SELECT source, count(*) FROM read_parquet(?) GROUP BY source", params=[path]
    ).fetchall()
    assert dict(by_source) == Counter(record["source"] for record in exports.versions)
    headlines = duckdb.sql(
        "SELECT headline FROM read_parquet(?) WHERE identity_url = ? ORDER BY version",
        params=[path, demo.edited],
    ).fetchall()
    assert tuple(headline for (headline,) in headlines) == demo.edited_headlines


def _warcio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from warcio.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_warc_passes_warcio_check_and_index(exports: DemoExports) -> None:
    records = 1 + 2 * len(exports.versions)
    checked = _warcio("check", "-v", str(exports.warc))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("digest pass") == records
    indexed = _warcio("index", "-f", "warc-type,warc-target-uri,http:status", str(exports.warc))
    assert indexed.returncode == 0, indexed.stderr
    entries = [json.loads(line) for line in indexed.stdout.splitlines()]
    assert Counter(entry["warc-type"] for entry in entries) == {
        "warcinfo": 1,
        "response": len(exports.versions),
        "metadata": len(exports.versions),
    }


def test_warc_records_hold_the_archived_html_and_json(
    exports: DemoExports, s3_env: dict[str, str], demo: DemoArchive
) -> None:
    by_key = {_key(record): record for record in exports.versions}
    seen: set[str] = set()
    with open_store(demo.uri) as store, exports.warc.open("rb") as stream:
        iterator = ArchiveIterator(stream, check_digests=True)
        first = next(iterator)
        assert first.rec_type == "warcinfo"
        assert b"newsarchive" in first.content_stream().read()
        response: dict[str, Any] = {}
        for warc_record in iterator:
            headers = warc_record.rec_headers
            if warc_record.rec_type == "response":
                response = {
                    "id": headers.get_header("WARC-Record-ID"),
                    "uri": headers.get_header("WARC-Target-URI"),
                    "date": headers.get_header("WARC-Date"),
                    "status": warc_record.http_headers.get_statuscode(),
                    "http": dict(warc_record.http_headers.headers),
                    "payload": warc_record.content_stream().read(),
                }
                assert warc_record.http_headers.protocol == "HTTP/1.1"
                continue
            assert warc_record.rec_type == "metadata"
            assert headers.get_header("Content-Type") == "application/json"
            assert headers.get_header("WARC-Concurrent-To") == response["id"]
            assert headers.get_header("WARC-Refers-To") == response["id"]
            data = warc_record.content_stream().read()
            version = json.loads(data)
            key = _key(version)
            assert version == by_key[key]
            assert store.storage.get(key) == data
            html = store.storage.get(version["html_key"])
            assert html is not None
            assert response["payload"] == gzip.decompress(html)
            assert response["uri"] == version["url"]
            assert headers.get_header("WARC-Target-URI") == METADATA_URI_PREFIX + version["url"]
            assert response["date"] == version["captured_at"]
            assert response["status"] == str(version["http"]["status"])
            assert response["http"]["content-length"] == str(len(response["payload"]))
            assert "content-encoding" not in response["http"]
            assert response["http"]["content-type"] == version["http"]["headers"]["content-type"]
            assert warc_record.digest_checker.passed is not False
            seen.add(key)
    assert seen == set(by_key)


def test_cdxj_index_is_sorted_and_points_at_the_records(exports: DemoExports) -> None:
    index = cdxj_path(exports.warc)
    assert index.name == "all.cdxj"
    lines = index.read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines)
    assert len(lines) == 2 * len(exports.versions)
    kinds: Counter[str] = Counter()
    with exports.warc.open("rb") as stream:
        for line in lines:
            key, timestamp, fields = line.split(" ", 2)
            entry = json.loads(fields)
            assert len(timestamp) == 14
            assert timestamp.isdigit()
            assert entry["filename"] == exports.warc.name
            stream.seek(int(entry["offset"]))
            member = stream.read(int(entry["length"]))
            warc_record = next(iter(ArchiveIterator(io.BytesIO(member))))
            assert warc_record.rec_headers.get_header("WARC-Target-URI") == entry["url"]
            warc_date = warc_record.rec_headers.get_header("WARC-Date")
            assert re.sub(r"\D", "", warc_date)[:14] == timestamp
            kinds[warc_record.rec_type] += 1
            if warc_record.rec_type == "response":
                assert entry["mime"] == "text/html"
                assert entry["status"] == "200"
                # SURT: host reversed and comma-separated, ")", the path without its final "/".
                split = urlsplit(entry["url"])
                host = ",".join(reversed((split.hostname or "").split(".")))
                port = f":{split.port}" if split.port else ""
                assert key == f"{host}{port}){split.path.rstrip('/')}".lower()
            else:
                assert entry["mime"] == "application/json"
                assert key == entry["url"].rstrip("/")
    assert kinds == {"response": len(exports.versions), "metadata": len(exports.versions)}


def test_source_filter_and_empty_selections(
    demo: DemoArchive, exports: DemoExports, s3_env: dict[str, str], tmp_path: Path
) -> None:
    source = exports.versions[0]["source"]
    expected = sorted(_key(r) for r in exports.versions if r["source"] == source)
    with open_store(demo.uri) as store:
        chosen = ExportFilter(sources=frozenset({source}))
        assert sorted(v.key for v in iter_export_versions(store.storage, chosen)) == expected
        nothing = ExportFilter(captured_from=date(2999, 1, 1))
        for fmt, name in (("jsonl", "x.jsonl"), ("parquet", "x.parquet"), ("warc", "x.warc.gz")):
            stats = export_archive(store.storage, fmt, tmp_path / name, nothing)
            assert (stats.versions, stats.articles) == (0, 0)
    assert (tmp_path / "x.jsonl").read_bytes() == b""
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 0
    with (tmp_path / "x.warc.gz").open("rb") as stream:
        assert [r.rec_type for r in ArchiveIterator(stream)] == ["warcinfo"]
    assert (tmp_path / "x.cdxj").read_text(encoding="utf-8") == ""


def test_cli_refuses_bad_options_without_writing(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    backwards = _run_export(
        str(tmp_path / "none"),
        {},
        "--format",
        "jsonl",
        "--output",
        str(out),
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-01",
        check=False,
    )
    assert backwards.returncode == 2
    assert backwards.stderr.startswith("newsarchive: error: the capture date range is empty")
    nowhere = _run_export(
        str(tmp_path),
        {},
        "--format",
        "warc",
        "--output",
        str(tmp_path / "no" / "x.warc.gz"),
        check=False,
    )
    assert nowhere.returncode == 2
    assert "does not exist" in nowhere.stderr
    assert list(tmp_path.iterdir()) == []


# --- synthetic archives: filters and bounded memory ---------------------------------------

_WORDS = ("ceasefire", "talks", "resume", "geneva", "delegations", "met", "friday", "round")


def _captures(first: int, count: int) -> Iterator[Capture]:
    """Yield captures ``first..first+count``: article ``n // 2``, version ``n % 2 + 1``.

    Bodies and pages are about 30 KB each, so an exporter holding every version would need
    hundreds of megabytes more for the larger archive.
    """
    rng = random.Random(first)
    text = " ".join(rng.choice(_WORDS) for _ in range(40_000))
    for number in range(first, first + count):
        article, edition = divmod(number, 2)
        start = (number * 7919) % (len(text) - 30_000)
        body = f"Edition {edition + 1} of story {article}. " + text[start : start + 30_000]
        url = f"https://news.example/world/{article}"
        captured = FIRST_DAY + timedelta(days=article % DAYS, hours=edition)
        published = (FIRST_DAY + timedelta(days=article % DAYS)).isoformat()
        html = f"<html><body><h1>Story {article}</h1><p>{body}</p></body></html>"
        yield Capture(
            source="alpha" if article % 2 == 0 else "beta",
            identity_url=url,
            url=url,
            requested_url=url,
            canonical_url=url,
            captured_at=captured.isoformat(),
            status=200,
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
            html=html.encode("utf-8"),
            article={
                "headline": f"Story {article}",
                "body": body,
                "authors": ["Ana Ruiz"],
                "date_published": published if article % 3 else None,
                "word_count": len(body.split()),
            },
            provenance={"discovered_via": "url"},
        )


def _archive(uri: str, first: int, count: int) -> None:
    with open_store(uri) as store:
        for capture in _captures(first, count):
            store.archive(capture)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[int, str]:
    root = tmp_path_factory.mktemp("synthetic")
    small, large = root / "small", root / "large"
    _archive(str(small), 0, SMALL)
    shutil.copytree(small, large)
    _archive(str(large), SMALL, LARGE - SMALL)
    return {SMALL: str(small), LARGE: str(large)}


def _expected(count: int, keep: Any) -> list[tuple[int, int]]:
    found = []
    for number in range(count):
        article, edition = divmod(number, 2)
        if keep(article, edition):
            found.append((article, edition + 1))
    return sorted(found)


def _exported(uri: str, chosen: ExportFilter) -> list[tuple[int, int]]:
    storage = LocalStorage(uri)
    return sorted(
        (int(v.record["identity_url"].rsplit("/", 1)[1]), v.record["version"])
        for v in iter_export_versions(storage, chosen)
    )


def test_filters_select_by_source_capture_and_publication_date(
    synthetic: dict[int, str],
) -> None:
    uri = synthetic[SMALL]
    days = (date(2026, 11, 3), date(2026, 11, 5))
    assert _exported(uri, ExportFilter(captured_from=days[0], captured_to=days[1])) == _expected(
        SMALL, lambda article, _e: 2 <= article % DAYS <= 4
    )
    assert _exported(uri, ExportFilter(published_from=days[0])) == _expected(
        SMALL, lambda article, _e: article % DAYS >= 2 and article % 3 != 0
    )
    assert _exported(uri, ExportFilter(sources=frozenset({"beta"}), latest=True)) == _expected(
        SMALL, lambda article, edition: article % 2 == 1 and edition == 1
    )
    # --latest picks the last version among those that pass: as the article read then.
    assert _exported(uri, ExportFilter(captured_to=days[0], latest=True)) == _expected(
        SMALL, lambda article, edition: article % DAYS <= 2 and edition == 1
    )
    with pytest.raises(ExportError):
        ExportFilter(published_from=days[1], published_to=days[0])


def _peak_kib(uri: str, fmt: str, output: Path) -> int:
    options = ["--archive", uri, "--format", fmt, "--output", str(output)]
    result = subprocess.run(
        [sys.executable, "-c", _MEASURED_EXPORT, "export", *options],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{_count(uri)} versions of ")
    return int(lines[-1].split()[1])


def _count(uri: str) -> int:
    return SMALL if uri.endswith("small") else LARGE


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "warc"])
def test_export_memory_does_not_grow_with_the_archive(
    synthetic: dict[int, str], fmt: str, tmp_path: Path
) -> None:
    suffix = {"jsonl": "jsonl", "parquet": "parquet", "warc": "warc.gz"}[fmt]
    small = _peak_kib(synthetic[SMALL], fmt, tmp_path / f"small.{suffix}")
    large = _peak_kib(synthetic[LARGE], fmt, tmp_path / f"large.{suffix}")
    # Holding every version would add ~60 KB per version: ~120 MB more for the larger one.
    assert large <= small * 1.25, (small, large)
    assert (tmp_path / f"large.{suffix}").stat().st_size > 2 * (
        tmp_path / f"small.{suffix}"
    ).stat().st_size


def test_progress_line_on_a_terminal_only(synthetic: dict[int, str], tmp_path: Path) -> None:
    command = [sys.executable, "-m", "crawler.cli", "export", "--archive", synthetic[SMALL]]
    command += ["--format", "jsonl", "--source", "alpha"]
    piped = subprocess.run(
        [*command, "--output", str(tmp_path / "piped.jsonl")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert piped.stderr == ""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [*command, "--output", str(tmp_path / "tty.jsonl")],
            stdout=subprocess.DEVNULL,
            stderr=terminal,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=120) == 0
    finally:
        os.close(controller)
    text = shown.decode("utf-8")
    assert f"\rexport: {SMALL // 2} versions, {SMALL // 4} articles" in text
    assert text.endswith("\r\n")  # the terminal turns the final newline into CRLF


def test_progress_line_draws_counts_and_sizes() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream, every=2)
    stats = ExportStats()
    for number in range(1, 4):
        stats.versions, stats.articles, stats.bytes = number, number, number * 3_000_000
        line(stats)
    line.done()
    assert stream.getvalue() == (
        "\rexport: 2 versions, 2 articles, 5.7 MiB\rexport: 3 versions, 3 articles, 8.6 MiB\n"
    )


def test_register_adds_export_to_a_parser(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    options = ["--source", "a", "--source", "b", "--from", "2026-11-01", "--latest"]
    args = parser.parse_args(
        ["export", "--format", "parquet", "--output", str(tmp_path / "x"), *options]
    )
    assert (args.format, args.source, args.captured_from, args.latest) == (
        "parquet",
        ["a", "b"],
        date(2026, 11, 1),
        True,
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["export", "--format", "csv", "--output", "x"])
