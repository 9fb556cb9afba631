"""/metrics and /healthz over HTTP on loopback, and a stale source flagged across a restart."""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crawler.demosite.server import DemoSite
from crawler.scheduling.config import SchedulingError, StaleRule
from crawler.scheduling.service import SchedulerService
from tests.scheduler_support import (
    closed_port,
    dead_source,
    demo_sources,
    make_config,
    run_records,
    running_service,
    wait_for,
)


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        running.set_edition(1)
        yield running


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), response.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found[(name, frozenset(labels.items()))]


def test_metrics_and_health_over_http(
    site: DemoSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outlet = "meridian-wire"
    port = closed_port()
    sources = demo_sources(
        site,
        tmp_path / "sources.toml",
        outlets=[outlet],
        schedule="1h",
        extra=dead_source("gone", port, schedule="1h"),
    )
    # A source that never produced anything is stale after one run, for this test.
    config = make_config(
        tmp_path, sources, metrics_port=0, stale=StaleRule(never_runs=1, floor_seconds=3600)
    )
    with caplog.at_level(logging.INFO), running_service(config) as service:
        assert service.server is not None
        base = f"http://127.0.0.1:{service.server.port}"
        wait_for(lambda: len(run_records(config.state_dir)) == 2, what="both first runs")
        status, body = get(base + "/healthz")
        assert status == 200, body
        health = json.loads(body)
        assert health["status"] == "ok"
        assert health["stale"] == ["gone"]

        status, text = get(base + "/metrics")
        assert status == 200
        found = samples(text)
        [record] = run_records(config.state_dir, outlet)
        counts = record["counts"]
        new = counts["archived_by"]["new"]
        assert new > 0
        assert (
            value(found, "newsarchive_articles_archived_total", source=outlet, outcome="new") == new
        )
        assert value(found, "newsarchive_versions_total", source=outlet) == counts["archived"]
        assert value(found, "newsarchive_runs_total", source=outlet, result="success") == 1
        assert value(found, "newsarchive_runs_total", source="gone", result="failed") == 1
        assert value(found, "newsarchive_run_duration_seconds_count", source=outlet) == 1
        for reason, n in counts.get("failed_by", {}).items():
            assert value(found, "newsarchive_fetch_errors_total", source=outlet, reason=reason) == n
        assert value(found, "newsarchive_listing_warnings_total", source="gone") == 1
        last_success = value(
            found, "newsarchive_source_last_success_timestamp_seconds", source=outlet
        )
        assert last_success == service.histories.get(outlet).last_success
        assert (
            "newsarchive_source_last_success_timestamp_seconds",
            frozenset({("source", "gone")}),
        ) not in found
        assert value(found, "newsarchive_source_stale", source=outlet) == 0
        assert value(found, "newsarchive_source_stale", source="gone") == 1
        assert value(found, "newsarchive_source_running", source=outlet) == 0

        assert get(base + "/nowhere")[0] == 404
        service.pause()
        status, body = get(base + "/healthz")
        assert status == 503
        assert json.loads(body)["status"] == "not scheduling"
    stale_lines = [r for r in caplog.records if "is stale" in r.getMessage()]
    assert [r.levelno for r in stale_lines] == [logging.WARNING]
    assert "gone" in stale_lines[0].getMessage()
    assert "no new article in its 1 run" in stale_lines[0].getMessage()

    # After a restart the persisted history flags the source again before any new run.
    with running_service(config) as service:
        assert service.server is not None
        base = f"http://127.0.0.1:{service.server.port}"
        found = samples(get(base + "/metrics")[1])
        assert value(found, "newsarchive_source_stale", source="gone") == 1
        assert value(found, "newsarchive_source_stale", source=outlet) == 0
        restored = value(found, "newsarchive_source_last_success_timestamp_seconds", source=outlet)
        assert restored == last_success
    assert len(run_records(config.state_dir)) == 2
    # Once stopped, nothing listens any more.
    with pytest.raises(urllib.error.URLError):
        get(base + "/healthz")


def test_a_taken_metrics_port_stops_the_start(site: DemoSite, tmp_path: Path) -> None:
    sources = demo_sources(site, tmp_path / "sources.toml", outlets=["le-quotidien"], schedule="1h")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        service = SchedulerService(make_config(tmp_path, sources, metrics_port=port))
        with pytest.raises(SchedulingError, match=f"127.0.0.1:{port}"):
            service.start()
    assert run_records(tmp_path / "state") == []
    # Nothing was left behind: a scheduler starts in this process again, and is healthy.
    with running_service(make_config(tmp_path, sources, metrics_port=0)) as again:
        healthy, details = again.health()
        assert healthy, details
