"""Feeds, news sitemaps and robots.txt of an outlet, as XML and text templates."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from crawler.demosite.builder.common import absolute, when
from crawler.demosite.builder.content import Outlet


@dataclass(frozen=True)
class Entry:
    """One URL as a feed or sitemap lists it."""

    href: str
    """Path as listed, with any tracking query or fragment."""
    title: str
    date: str
    summary: str = ""
    authors: tuple[str, ...] = ()
    category: str = ""
    guid: str = ""


def rss(outlet: Outlet, feed_path: str, title: str, entries: list[Entry]) -> str:
    """Return an RSS 2.0 feed of ``entries``, newest first."""
    latest = max(when(e.date) for e in entries)
    items = []
    for entry in entries:
        creators = "".join(f"\n      <dc:creator>{escape(a)}</dc:creator>" for a in entry.authors)
        items.append(
            f"""    <item>
      <title>{escape(entry.title)}</title>
      <link>{escape(absolute(entry.href))}</link>
      <guid isPermaLink="false">{escape(entry.guid)}</guid>
      <pubDate>{format_datetime(when(entry.date))}</pubDate>
      <description>{escape(entry.summary)}</description>{creators}
      <category>{escape(entry.category)}</category>
    </item>"""
        )
    body = "\n".join(items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{escape(outlet.title)} - {escape(title)}</title>
    <link>{absolute("/world/")}</link>
    <description>The latest {escape(title.lower())} from {escape(outlet.title)}</description>
    <language>{outlet.language.lower()}</language>
    <lastBuildDate>{format_datetime(latest)}</lastBuildDate>
    <atom:link href={quoteattr(absolute(feed_path))} rel="self" type="application/rss+xml"/>
{body}
  </channel>
</rss>
"""


def atom(outlet: Outlet, feed_path: str, title: str, entries: list[Entry]) -> str:
    """Return an Atom 1.0 feed of ``entries``, newest first."""
    latest = max(e.date for e in entries)
    items = []
    for entry in entries:
        authors = "".join(f"\n    <author><name>{escape(a)}</name></author>" for a in entry.authors)
        items.append(
            f"""  <entry>
    <title>{escape(entry.title)}</title>
    <link rel="alternate" type="text/html" href={quoteattr(absolute(entry.href))}/>
    <id>tag:{outlet.name}.example,2026:{escape(entry.guid)}</id>
    <published>{entry.date}</published>
    <updated>{entry.date}</updated>{authors}
    <category term={quoteattr(entry.category)}/>
    <summary>{escape(entry.summary)}</summary>
  </entry>"""
        )
    body = "\n".join(items)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">
  <title>{escape(outlet.title)}: {escape(title)}</title>
  <id>tag:{outlet.name}.example,2026:{feed_path}</id>
  <link rel="self" href={quoteattr(absolute(feed_path))}/>
  <link rel="alternate" type="text/html" href={quoteattr(absolute("/world/"))}/>
  <updated>{latest}</updated>
{body}
</feed>
"""


def news_sitemap(outlet: Outlet, entries: list[Entry]) -> str:
    """Return a Google News sitemap (``urlset``) of ``entries``."""
    urls = "\n".join(
        f"""  <url>
    <loc>{escape(absolute(e.href))}</loc>
    <lastmod>{e.date}</lastmod>
    <news:news>
      <news:publication>
        <news:name>{escape(outlet.title)}</news:name>
        <news:language>{outlet.language.split("-")[0]}</news:language>
      </news:publication>
      <news:publication_date>{e.date}</news:publication_date>
      <news:title>{escape(e.title)}</news:title>
    </news:news>
  </url>"""
        for e in entries
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{urls}
</urlset>
"""


def sitemap_index(children: list[tuple[str, str]]) -> str:
    """Return a sitemap index of ``(path, lastmod)`` children."""
    items = "\n".join(
        f"  <sitemap>\n    <loc>{escape(absolute(path))}</loc>\n    <lastmod>{lastmod}</lastmod>\n"
        "  </sitemap>"
        for path, lastmod in children
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{items}
</sitemapindex>
"""


def robots(outlet: Outlet) -> str:
    """Return the outlet's robots.txt."""
    lines = ["User-agent: *", *(f"Disallow: {prefix}" for prefix in outlet.robots_disallow)]
    lines += ["", *(f"Sitemap: {absolute(path)}" for path in outlet.sitemaps)]
    return "\n".join(lines).rstrip("\n") + "\n"


def gzipped(text: str) -> bytes:
    """Return ``text`` gzipped the same way on every build."""
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
