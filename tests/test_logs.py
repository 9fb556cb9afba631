"""The log-level gate: records below LOG_LEVEL are not even built."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.logs import GATED_LOGGERS, LogLevelGate
from tests.script_support import run_script


@pytest.fixture(autouse=True)
def restore_levels() -> Iterator[None]:
    before = {name: logging.getLogger(name).level for name in GATED_LOGGERS}
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


def _gate(**settings: object) -> LogLevelGate:
    return LogLevelGate.from_crawler(get_crawler(settings_dict=settings))


def test_below_the_level_no_record_is_built() -> None:
    logging.getLogger().setLevel(logging.NOTSET)
    logging.getLogger("scrapy").setLevel(logging.DEBUG)
    built: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        built.append(record)
        return record

    _gate(LOG_LEVEL="INFO")
    logging.setLogRecordFactory(counting)
    try:
        logging.getLogger("botocore.hooks").debug("Event before-call.s3.PutObject")
        logging.getLogger("scrapy.core.engine").debug("Crawled (200)")
        logging.getLogger("crawler.pipelines").info("new https://example.org/a")
    finally:
        logging.setLogRecordFactory(factory)
    assert [record.levelno for record in built] == [logging.INFO]
    assert not logging.getLogger("botocore").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("botocore").isEnabledFor(logging.WARNING)


def test_debug_and_disabled_logging_change_nothing() -> None:
    with pytest.raises(NotConfigured):
        _gate(LOG_LEVEL="DEBUG")
    with pytest.raises(NotConfigured):
        _gate(LOG_ENABLED=False)


def test_a_stricter_level_already_set_is_kept() -> None:
    logging.getLogger("scrapy").setLevel(logging.ERROR)
    _gate(LOG_LEVEL="INFO")
    assert logging.getLogger("scrapy").level == logging.ERROR


def test_the_project_enables_the_gate() -> None:
    assert "crawler.logs.LogLevelGate" in project_settings.EXTENSIONS


_COUNTING_CRAWL = r"""
import collections, json, logging, sys
from crawler.cli import run_crawl
from crawler.demosite.server import DemoSite

built = collections.Counter()
make_record = logging.getLogRecordFactory()

def counting(*args, **kwargs):
    # Counted from the line that says the spider opened: setting up a crawl logs a few lines at
    # DEBUG before any extension of it exists (the reactor chosen, the archive opened).
    record = make_record(*args, **kwargs)
    if built or record.getMessage() == "Spider opened":
        built[record.levelno < logging.INFO] += 1
    return record

with DemoSite() as site:
    sources = site.write_sources(sys.argv[1] + "/sources.toml")
    logging.setLogRecordFactory(counting)
    summary = run_crawl(
        sources=str(sources),
        archive=sys.argv[1] + "/archive",
        extra={"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "INFO"},
    )
print(json.dumps({"archived": summary["totals"]["archived"], "below": built[True],
                  "at_or_above": built[False]}))
"""


def test_no_record_below_the_level_is_built_during_a_crawl(tmp_path: Path) -> None:
    # Scrapy sets the root logger back to NOTSET when it installs a crawl's log handler, after
    # the extensions are built: the gate must hold for the whole crawl, not only its start.
    result = run_script(_COUNTING_CRAWL, tmp_path)
    assert result["archived"] > 0
    assert result["at_or_above"] > 0  # the crawl's INFO lines were counted
    assert result["below"] == 0
