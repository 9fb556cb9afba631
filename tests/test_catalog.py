"""The Parquet catalog: appended by every crawl, read by DuckDB, rebuilt from the versions.

The demo site is crawled twice (one article edited in between) into SeaweedFS and into a local
folder; the catalog each crawl appended must match the version records exactly.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from archiver import ConflictError, open_store
from archiver.catalog import (
    CATALOG_SCHEMA,
    CatalogAppender,
    append_versions,
    catalog_glob,
    catalog_row,
    iter_version_records,
    rebuild_catalog,
)
from archiver.cli_catalog import register
from archiver.local import LocalStorage
from crawler.demosite.server import DemoSite
from tests.archive_support import DemoArchive, build_demo_archive, crawl
from tests.servers.seaweedfs import SeaweedFS

HIVE = pa.schema([("capture_date", pa.date32()), ("source", pa.string())])


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        yield running


@pytest.fixture(scope="module")
def seaweed() -> Iterator[SeaweedFS]:
    with SeaweedFS() as server:
        yield server


def _new_bucket(server: SeaweedFS) -> str:
    bucket = f"catalog-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", **server.client_options())  # type: ignore[call-overload]
    client.create_bucket(Bucket=bucket)
    client.close()
    return bucket


@pytest.fixture(scope="module")
def s3_archive(
    site: DemoSite, seaweed: SeaweedFS, tmp_path_factory: pytest.TempPathFactory
) -> DemoArchive:
    uri = f"s3://{_new_bucket(seaweed)}/news"
    return build_demo_archive(site, uri, tmp_path_factory.mktemp("s3"), seaweed.environ())


@pytest.fixture(scope="module")
def local_archive(site: DemoSite, tmp_path_factory: pytest.TempPathFactory) -> DemoArchive:
    tmp = tmp_path_factory.mktemp("local")
    return build_demo_archive(site, str(tmp / "archive"), tmp)


@pytest.fixture
def s3_env(seaweed: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Point this process's boto3 at the server, and nothing from the machine's AWS setup."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in seaweed.environ().items():
        monkeypatch.setenv(name, value)
    return seaweed.environ()


def _s3_dataset(server: SeaweedFS, uri: str) -> pa.Table:
    """Read the catalog of ``uri`` from SeaweedFS through Arrow's own S3 client."""
    filesystem = pafs.S3FileSystem(
        endpoint_override=server.endpoint_url.removeprefix("http://"),
        scheme="http",
        access_key=server.access_key,
        secret_key=server.secret_key,
        region="us-east-1",
    )
    root = uri.removeprefix("s3://").rstrip("/") + "/catalog"
    partitioning = ds.partitioning(HIVE, flavor="hive")
    dataset = ds.dataset(root, filesystem=filesystem, format="parquet", partitioning=partitioning)
    return dataset.to_table()


def _versions(archive: DemoArchive) -> list[dict[str, Any]]:
    """Every version record, read through the store's own history (not the catalog code)."""
    with open_store(archive.uri) as store:
        return [record for identity in archive.identities for record in store.history(identity)]


def _json_key(record: dict[str, Any]) -> str:
    aid = record["article_id"]
    return f"articles/{aid[:2]}/{aid}/v{record['version']:06d}.json"


def _check_counts(con: duckdb.DuckDBPyConnection, archive: DemoArchive) -> None:
    """Assert the catalog view ``catalog`` matches the archive's version records."""
    versions = _versions(archive)
    assert len(versions) == len(archive.identities) + 1
    total = con.sql("SELECT count(*), count(DISTINCT json_key) FROM catalog").fetchall()
    assert total == [(len(versions), len(versions))]
    by_source = dict(con.sql("SELECT source, count(*) FROM catalog GROUP BY source").fetchall())
    assert by_source == dict(Counter(record["source"] for record in versions))
    keys = [row[0] for row in con.sql("SELECT json_key FROM catalog ORDER BY 1").fetchall()]
    assert keys == sorted(_json_key(record) for record in versions)
    edited = con.sql(
        "SELECT version, previous_version, headline, run_id FROM catalog"
        " WHERE identity_url = ? ORDER BY version",
        params=[archive.edited],
    ).fetchall()
    assert edited == [
        (1, None, archive.edited_headlines[0], archive.first_run["run_id"]),
        (2, 1, archive.edited_headlines[1], archive.second_run["run_id"]),
    ]
    # The partitions follow the capture dates (UTC) and sources of the records.
    groups = con.sql("SELECT DISTINCT capture_date, source FROM catalog").fetchall()
    assert all(isinstance(day, date) for day, _source in groups)
    assert {(day.isoformat(), source) for day, source in groups} == {
        (record["captured_at"][:10], record["source"]) for record in versions
    }
    runs = Counter(run for (run,) in con.sql("SELECT run_id FROM catalog").fetchall())
    assert runs == {
        archive.first_run["run_id"]: len(archive.identities),
        archive.second_run["run_id"]: 1,
    }


def test_crawls_append_a_catalog_that_duckdb_reads_from_s3(
    s3_archive: DemoArchive, seaweed: SeaweedFS, s3_env: dict[str, str]
) -> None:
    table = _s3_dataset(seaweed, s3_archive.uri)
    assert {"capture_date", "source"} <= set(table.column_names)
    con = duckdb.connect()
    con.register("catalog", table)
    _check_counts(con, s3_archive)
    # One part per crawl run, capture date and source: the second run only touched one source.
    with open_store(s3_archive.uri) as store:
        parts = sorted(store.storage.list("catalog/"))
    assert all(key.startswith("catalog/capture_date=") for key in parts)
    second = [key for key in parts if s3_archive.second_run["run_id"] in key]
    assert len(second) == 1
    assert len(parts) - len(second) == len(s3_archive.first_run["sources"])


def test_duckdb_reads_a_local_catalog_with_hive_partitioning(local_archive: DemoArchive) -> None:
    con = duckdb.connect()
    con.read_parquet(catalog_glob(local_archive.uri), hive_partitioning=True).create_view("catalog")
    columns = dict(con.sql("SELECT column_name, column_type FROM (DESCRIBE catalog)").fetchall())
    assert columns["capture_date"] == "DATE"
    assert columns["source"] == "VARCHAR"
    assert columns["captured_at"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["authors"] == "VARCHAR[]"
    _check_counts(con, local_archive)


def test_each_row_holds_its_version_record(local_archive: DemoArchive) -> None:
    storage = LocalStorage(local_archive.uri)
    partitioning = ds.partitioning(HIVE, flavor="hive")
    dataset = ds.dataset(
        f"{local_archive.uri}/catalog", format="parquet", partitioning=partitioning
    )
    rows = dataset.to_table().to_pylist()
    assert len(rows) == len(local_archive.identities) + 1
    for row in rows:
        record = storage.get(row["json_key"])
        assert record is not None
        version = json.loads(record)
        article = version["article"]
        assert row["article_id"] == version["article_id"]
        assert row["url"] == version["url"]
        assert row["headline"] == article["headline"]
        assert row["authors"] == article["authors"]
        assert row["language"] == article["language"]
        assert row["word_count"] == article["word_count"]
        assert row["content_sha256"] == version["content_sha256"]
        assert row["html_sha256"] == version["html_sha256"]
        assert row["captured_at"] == datetime.fromisoformat(version["captured_at"])
        assert row["capture_date"] == row["captured_at"].date()
        assert storage.exists(row["html_key"])
        assert row["html_key"] == version["html_key"]
        published = article["date_published"]
        assert row["date_published"] == published
        if published and datetime.fromisoformat(published).tzinfo is not None:
            assert row["published_at"] == datetime.fromisoformat(published)


def test_parts_are_never_overwritten(local_archive: DemoArchive, tmp_path: Path) -> None:
    records = list(iter_version_records(LocalStorage(local_archive.uri)))
    target = LocalStorage(tmp_path / "copy")
    written = append_versions(target, records, "20261128T040000Z-abcdef")
    before = {key: target.get(key) for key in written}
    with pytest.raises(ConflictError):
        append_versions(target, records, "20261128T040000Z-abcdef")
    assert sorted(target.list("catalog/")) == sorted(written)
    assert {key: target.get(key) for key in written} == before


def test_appends_in_bounded_batches(local_archive: DemoArchive, tmp_path: Path) -> None:
    records = list(iter_version_records(LocalStorage(local_archive.uri)))
    target = LocalStorage(tmp_path / "copy")
    written = append_versions(target, records, "", batch_rows=5)
    sizes = []
    for key in written:
        data = target.get(key)
        assert data is not None
        part = pq.read_table(io.BytesIO(data))
        assert part.schema.equals(CATALOG_SCHEMA)
        sizes.append(part.num_rows)
    assert max(sizes) <= 5
    assert sum(sizes) == len(records)
    assert len(written) == len(set(written)) > len(records) // 5
    rows = duckdb.execute(
        "SELECT count(DISTINCT json_key), count(run_id) FROM read_parquet(?)",
        [catalog_glob(str(tmp_path / "copy"))],
    ).fetchall()
    assert rows == [(len(records), 0)]


def test_a_run_appends_parts_as_its_rows_come(local_archive: DemoArchive, tmp_path: Path) -> None:
    records = list(iter_version_records(LocalStorage(local_archive.uri)))
    assert len(records) > 6
    target = LocalStorage(tmp_path / "copy")
    run_id = "20261128T050000Z-0a1b2c"
    appender = CatalogAppender(target, run_id, batch_rows=3)
    due = []
    for record in records:
        due.append(appender.add(catalog_row(record, run_id)))
        if due[-1]:
            appender.write_due()
    # Parts are written during the run: never more than a part's worth of rows is held.
    assert due.count(True) >= len(records) // 3 - 1
    written_during_run = list(target.list("catalog/"))
    assert written_during_run
    assert appender.finish() == len(records)
    rows = duckdb.execute(
        "SELECT count(*), count(DISTINCT json_key), min(run_id), max(run_id) FROM read_parquet(?)",
        [catalog_glob(str(tmp_path / "copy"))],
    ).fetchall()
    assert rows == [(len(records), len(records), run_id, run_id)]


def test_rebuild_from_s3_gives_the_same_rows_and_no_duplicate_parts(
    site: DemoSite, seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path
) -> None:
    # An archive of its own: the rebuilt rows no longer name the runs the others check.
    s3_archive = build_demo_archive(
        site, f"s3://{_new_bucket(seaweed)}/news", tmp_path, seaweed.environ()
    )
    before = sorted(_s3_dataset(seaweed, s3_archive.uri).column("json_key").to_pylist())
    with open_store(s3_archive.uri) as store:
        old_parts = set(store.storage.list("catalog/"))
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "catalog", "rebuild", "--archive", s3_archive.uri],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **s3_env},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(before))
    after_table = _s3_dataset(seaweed, s3_archive.uri)
    assert sorted(after_table.column("json_key").to_pylist()) == before
    with open_store(s3_archive.uri) as store:
        new_parts = set(store.storage.list("catalog/"))
    assert not new_parts & old_parts
    # One part per capture date and source, as many as the groups the rows fall in.
    groups = {(row["capture_date"], row["source"]) for row in after_table.to_pylist()}
    assert len(new_parts) == len(groups)


def test_a_failed_catalog_append_loses_no_version_and_rebuild_repairs_it(
    site: DemoSite, tmp_path: Path
) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    # A file where the catalog folder belongs: every catalog write of the crawl fails.
    (archive / "catalog").write_text("not a folder")
    site.set_edition(1)
    summary = crawl(site, str(archive), tmp_path)
    archived = summary["totals"]["archived"]
    assert archived > 0
    storage = LocalStorage(archive)
    assert len(list(iter_version_records(storage))) == archived
    (archive / "catalog").unlink()
    seen: list[int] = []
    assert rebuild_catalog(storage, progress=seen.append) == archived
    assert seen == list(range(1, archived + 1))
    rows = duckdb.execute(
        "SELECT count(*) FROM read_parquet(?)", [catalog_glob(str(archive))]
    ).fetchall()
    assert rows == [(archived,)]


def test_local_rebuild_replaces_every_old_part(local_archive: DemoArchive, tmp_path: Path) -> None:
    copy = tmp_path / "archive"
    shutil.copytree(local_archive.uri, copy)
    storage = LocalStorage(copy)
    old = set(storage.list("catalog/"))
    versions = len(_versions(local_archive))
    # A rebuild that died half-way leaves its parts beside the old ones; the next one removes both.
    append_versions(storage, iter_version_records(storage), "")
    assert rebuild_catalog(storage) == versions
    parts = set(storage.list("catalog/"))
    assert not parts & old
    count = duckdb.execute(
        "SELECT count(*) FROM read_parquet(?)", [catalog_glob(str(copy))]
    ).fetchall()
    assert count == [(versions,)]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="newsarchive")
    register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_catalog_path_names_the_glob_for_duckdb(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _parse(["catalog", "path", "--archive", "s3://news-archive/prod"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "s3://news-archive/prod/catalog/**/*.parquet\n"
    args = _parse(["catalog", "path", "--archive", "s3://news-archive"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == "s3://news-archive/catalog/**/*.parquet\n"
    monkeypatch.chdir(tmp_path)
    args = _parse(["catalog", "path", "--archive", "archive"])
    assert args.func(args) == 0
    assert capsys.readouterr().out == f"{tmp_path}/archive/catalog/**/*.parquet\n"


def test_cli_catalog_path_defaults_to_archive_uri(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "catalog", "path"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ARCHIVE_URI": str(tmp_path / "news")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{tmp_path}/news/catalog/**/*.parquet\n"


def _duckdb_with_httpfs() -> duckdb.DuckDBPyConnection | None:
    """Load DuckDB's httpfs without the internet: installed before, or from a pip package."""
    folders: list[str | None] = [None]
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is not None and spec.submodule_search_locations:
        folders += [str(Path(f) / "extensions") for f in spec.submodule_search_locations]
    for folder in folders:
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if folder:
            config["extension_directory"] = folder
        con = duckdb.connect(config=config)
        try:
            con.execute("LOAD httpfs")
        except duckdb.Error:
            con.close()
            continue
        return con
    return None


def test_duckdb_httpfs_reads_the_catalog_straight_from_s3(
    s3_archive: DemoArchive, seaweed: SeaweedFS, s3_env: dict[str, str]
) -> None:
    con = _duckdb_with_httpfs()
    # The dev extra pins duckdb with its httpfs extension from PyPI (duckdb-ext-httpfs): no
    # download at run time, so a missing extension is a broken environment, not a skip.
    assert con is not None, "DuckDB's httpfs extension did not load"
    endpoint = seaweed.endpoint_url.removeprefix("http://")
    con.execute(
        f"CREATE SECRET archive (TYPE s3, KEY_ID '{seaweed.access_key}',"
        f" SECRET '{seaweed.secret_key}', ENDPOINT '{endpoint}', URL_STYLE 'path',"
        " USE_SSL false, REGION 'us-east-1')"
    )
    con.read_parquet(catalog_glob(s3_archive.uri), hive_partitioning=True).create_view("catalog")
    _check_counts(con, s3_archive)


def test_cli_rebuild_refuses_a_missing_archive_folder(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "catalog",
            "rebuild",
            "--archive",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"newsarchive: error: no archive folder at {tmp_path / 'x'}\n"
    assert not (tmp_path / "x").exists()


_POOL_PROBE = (
    "import io\n"
    "from archiver.arrow import prefer_system_allocator\n"
    "prefer_system_allocator()\n"
    "import pyarrow as pa\n"
    "import pyarrow.parquet as pq\n"
    "pq.write_table(pa.table({'a': ['x' * 100] * 10000}), io.BytesIO(), compression='zstd')\n"
    "mimalloc = 'mimalloc' in pa.supported_memory_backends()\n"
    "used = mimalloc and pa.mimalloc_memory_pool().max_memory() > 0\n"
    "print(pa.default_memory_pool().backend_name, 'mimalloc-used' if used else 'mimalloc-unused')\n"
)


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (None, "system mimalloc-unused"),
        ("jemalloc", "jemalloc mimalloc-unused"),
        ("mimalloc", "mimalloc mimalloc-used"),
    ],
)
def test_crawls_write_parts_with_the_system_allocator_unless_told_otherwise(
    chosen: str | None, expected: str
) -> None:
    # Arrow's C++ code, the Parquet writer among it, allocates from the pool Arrow chose as it
    # loaded: setting pyarrow's default afterwards left part of every write to mimalloc.
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen is not None:
        if chosen not in pa.supported_memory_backends():
            pytest.skip(f"this pyarrow has no {chosen}")
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    probe = subprocess.run(
        [sys.executable, "-c", _POOL_PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert probe.stdout.strip() == expected


_CRAWL_IMPORTS = (
    "import sys\n"
    "from scrapy.utils.misc import load_object, walk_modules\n"
    "from crawler import settings\n"
    "import crawler.cli\n"
    "crawler.cli.build_parser()\n"
    "for module in settings.SPIDER_MODULES:\n"
    "    walk_modules(module)\n"
    "groups = (settings.DOWNLOADER_MIDDLEWARES, settings.EXTENSIONS, settings.ITEM_PIPELINES)\n"
    "for group in groups:\n"
    "    for path in group:\n"
    "        load_object(path)\n"
    "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
)


@functools.cache
def _crawl_packages() -> frozenset[str]:
    """Return the top-level packages a crawl's process has loaded once it has every part
    (one probe for the tests that read it)."""
    probe = subprocess.run(
        [sys.executable, "-c", _CRAWL_IMPORTS], capture_output=True, text=True, check=True
    )
    return frozenset(probe.stdout.split())


def test_a_crawl_loads_pyarrow_only_when_it_writes_catalog_rows() -> None:
    # pyarrow's libraries are some 60 MB of resident memory: a recrawl that finds nothing new
    # writes no catalog row and must not pay for them.
    packages = _crawl_packages()
    assert "scrapy" in packages  # the probe did load the crawl's parts
    assert "pyarrow" not in packages


def test_a_crawl_leaves_trafilatura_to_its_extraction_workers() -> None:
    # Workers are fresh interpreters that load trafilatura themselves; the crawl's own process
    # loads it only to extract in process (ARCHIVE_EXTRACT_IN_PROCESS).
    packages = _crawl_packages()
    assert "crawler" in packages
    assert not packages & {"trafilatura", "htmldate", "justext", "courlan"}
