"""The bundled fixture news site: three outlets with feeds, sitemaps, sections and articles.

:class:`~crawler.demosite.server.DemoSite` serves it on loopback; ``site/manifest.json`` says what
every page is. The site is generated from ``content/`` by ``python -m crawler.demosite.build``.
"""

from __future__ import annotations

from crawler.demosite.errors import DemoSiteError
from crawler.demosite.paths import SITE_DIR
from crawler.demosite.server import DemoSite, RequestRecord, load_manifest

__all__ = ["SITE_DIR", "DemoSite", "DemoSiteError", "RequestRecord", "load_manifest"]
