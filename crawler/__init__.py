"""newsarchive's crawler: discovery spiders, extraction and the pipelines that archive articles."""

from __future__ import annotations

__version__ = "0.1.0"
