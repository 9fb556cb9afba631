"""Production settings: polite, honest, and no control ports."""

from __future__ import annotations

import pytest
from scrapy.utils.project import get_project_settings

from crawler.settings import ARCHIVE_CONTACT_URL


def test_politeness_and_safety_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert ARCHIVE_CONTACT_URL in settings.get("USER_AGENT")
    assert settings.get("USER_AGENT").startswith("newsarchive/")
    assert settings.getfloat("DOWNLOAD_DELAY") > 0
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    assert 0 < settings.getint("DOWNLOAD_MAXSIZE") <= 50 * 1024 * 1024
    assert 0 < settings.getint("DOWNLOAD_TIMEOUT") <= 60
    assert not settings.getbool("COOKIES_ENABLED")
    # A crawler on a server must not open control ports.
    assert not settings.getbool("TELNETCONSOLE_ENABLED")
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")
    extensions = settings.getdict("EXTENSIONS")
    assert extensions["scrapy.extensions.telnet.TelnetConsole"] is None
    assert extensions["scrapy.extensions.remote_control.RemoteControl"] is None
