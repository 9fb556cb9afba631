"""Generate the fixture site under ``site/`` from the content files under ``content/``.

Run ``python -m crawler.demosite.build`` after editing ``content/``, then review the diff of
``site/``. The output is the same byte for byte on every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from crawler.demosite.builder import listings
from crawler.demosite.builder.common import Teaser, Theme, absolute, esc, slugify, teaser_of
from crawler.demosite.builder.content import Outlet, Page, load_outlets
from crawler.demosite.builder.harbour import HarbourTheme
from crawler.demosite.builder.manifest import (
    MANIFEST_VERSION,
    Listed,
    generated_entry,
    link_entry,
    outlet_entry,
    page_entry,
    redirect_entry,
)
from crawler.demosite.builder.meridian import MeridianTheme
from crawler.demosite.builder.quotidien import QuotidienTheme
from crawler.demosite.errors import ContentError
from crawler.demosite.paths import CONTENT_DIR, MANIFEST_NAME, SITE_DIR, file_for_path, variant_name

THEMES: dict[str, Theme] = {
    "harbour": HarbourTheme(),
    "meridian": MeridianTheme(),
    "quotidien": QuotidienTheme(),
}
SECTION_PAGE_SIZE = 8


class OutletBuild:
    """The files and manifest entries of one outlet."""

    def __init__(self, outlet: Outlet) -> None:
        self.outlet = outlet
        self.theme = THEMES[outlet.theme]
        self.files: dict[str, bytes] = {}
        self.entries: list[dict[str, Any]] = []
        # Listed path -> where it is listed: {"via": route, "on": listing path, "href": as listed}.
        self.listed: Listed = defaultdict(list)

    def put(self, path: str, text: str, edition: int = 1) -> None:
        """Add the file that serves URL ``path`` (in edition ``edition``)."""
        relative = variant_name(file_for_path(path), edition)
        if relative in self.files:
            raise ContentError(f"{self.outlet.name}: two files for {relative}")
        self.files[relative] = text.encode("utf-8")

    def entries_for(self, via: str) -> list[listings.Entry]:
        """Return everything discovered through ``via``, newest first, as listings show it."""
        found: list[listings.Entry] = []
        for page in self.outlet.pages:
            if via in page.discovery:
                found.append(
                    listings.Entry(
                        href=page.listed_href(via),
                        title=page.headline,
                        date=page.date_published,
                        summary=page.description,
                        authors=tuple(page.authors),
                        category=page.section or page.kicker,
                        guid=f"{self.outlet.name}-{hash_path(page.path)}",
                    )
                )
        for link in self.outlet.links:
            if via in link.discovery:
                found.append(
                    listings.Entry(
                        href=link.path + link.listed_as.get(via, ""),
                        title=link.title,
                        date=link.date,
                        category="World",
                        guid=f"{self.outlet.name}-{hash_path(link.path)}",
                    )
                )
        return sorted(found, key=lambda e: e.date, reverse=True)

    def note_listed(self, via: str, listing_path: str, entries: list[listings.Entry]) -> None:
        """Remember that the listing at ``listing_path`` lists ``entries``."""
        for entry in entries:
            path = entry.href.split("?")[0].split("#")[0]
            self.listed[path].append({"via": via, "on": listing_path, "href": entry.href})

    # --- parts -----------------------------------------------------------------------------------
    def pages(self) -> None:
        """Write every hand-written page, and its later editions."""
        for page in self.outlet.pages:
            render = {
                "article": self.theme.article,
                "paywall": self.theme.article,
                "video": self.theme.video,
                "gallery": self.theme.gallery,
            }[page.kind]
            self.put(page.path, render(self.outlet, page))
            for change in page.editions:
                self.put(page.path, render(self.outlet, page.edition(change.number)), change.number)

    def feeds(self) -> None:
        """Write the RSS or Atom feeds: everything discovered via ``feed``."""
        entries = self.entries_for("feed")
        for path in self.outlet.feeds:
            make = listings.rss if path.endswith(".rss") else listings.atom
            self.put(path, make(self.outlet, path, "World news", entries))
            self.note_listed("feed", path, entries)

    def sitemaps(self) -> None:
        """Write one news sitemap per month and the index that lists them."""
        if not self.outlet.sitemaps:
            return
        by_month: dict[str, list[listings.Entry]] = defaultdict(list)
        for entry in self.entries_for("sitemap"):
            by_month[entry.date[:7]].append(entry)
        newest = max(by_month)
        children: list[tuple[str, str]] = []
        for month in sorted(by_month, reverse=True):
            # Older months are archived gzipped, as large publishers do.
            suffix = ".xml" if month == newest else ".xml.gz"
            path = f"/sitemaps/news-{month}{suffix}"
            text = listings.news_sitemap(self.outlet, by_month[month])
            if suffix == ".xml":
                self.put(path, text)
            else:
                self.files[file_for_path(path)] = listings.gzipped(text)
            children.append((path, by_month[month][0].date))
            self.note_listed("sitemap", path, by_month[month])
        for index_path in self.outlet.sitemaps:
            self.put(index_path, listings.sitemap_index(children))

    def sections(self) -> None:
        """Write the pages of each section front, ``SECTION_PAGE_SIZE`` teasers per page."""
        name = self.outlet.articles[0].section if self.outlet.articles else ""
        for section in self.outlet.sections:
            entries = self.entries_for("section")
            by_path = {p.path: p for p in self.outlet.pages}
            teasers = [
                teaser_of(by_path[e.href.split("?")[0]])
                if e.href.split("?")[0] in by_path
                else Teaser(e.href, e.title, "", e.date, name)
                for e in entries
            ]
            chunks = [
                teasers[i : i + SECTION_PAGE_SIZE]
                for i in range(0, len(teasers), SECTION_PAGE_SIZE)
            ]
            for number, chunk in enumerate(chunks, start=1):
                path = section if number == 1 else f"{section}page/{number}/"
                next_path = f"{section}page/{number + 1}/" if number < len(chunks) else ""
                extra = self._section_extra(section, number)
                title = name if number == 1 else f"{name}, page {number}"
                intro = self.theme.section_intro
                html = self.theme.listing(self.outlet, path, title, intro, chunk, next_path, extra)
                self.put(path, html)
                start = (number - 1) * SECTION_PAGE_SIZE
                self.note_listed("section", path, entries[start : start + len(chunk)])
                self.entries.append(generated_entry(path, "section", title))

    def _section_extra(self, section: str, number: int) -> str:
        """Return the non-article links a section page carries: topics, authors, previous page."""
        tags = sorted({t for p in self.outlet.articles for t in p.tags})[:6]
        authors = sorted({a for p in self.outlet.articles for a in p.authors})[:4]
        links = [
            f'<a class="tag" href="{absolute(self.theme.tag_root + slugify(t) + "/")}">{esc(t)}</a>'
            for t in tags
        ]
        links += [
            f'<a class="author" href="{absolute(self.theme.author_root + slugify(a) + "/")}">'
            f"{esc(a)}</a>"
            for a in authors
        ]
        previous = section if number == 2 else f"{section}page/{number - 1}/"
        prev = (
            f'<a rel="prev" href="{absolute(previous)}">{esc(self.theme.previous_label)}</a>'
            if number > 1
            else ""
        )
        return f'<aside class="river__aside">{" ".join(links)}</aside>\n{prev}'

    def indexes(self) -> None:
        """Write the home page, section fronts, tag pages and author pages."""
        articles = [p for p in self.outlet.articles if "disallowed" not in p.roles]
        teasers = [teaser_of(p) for p in articles]
        home = self.theme.listing(
            self.outlet, "/", self.outlet.title, self.theme.home_intro, teasers
        )
        self.put("/", home)
        self.entries.append(generated_entry("/", "home", self.outlet.title))
        fronts: dict[str, list[Page]] = defaultdict(list)
        if not self.outlet.sections:
            fronts["/world/"] = articles
        if self.theme.region_fronts:
            for page in articles:
                fronts["/world/" + page.path.split("/")[2] + "/"].append(page)
        for path, group in sorted(fronts.items()):
            title = group[0].kicker if path.count("/") > 2 else group[0].section
            self.put(
                path,
                self.theme.listing(
                    self.outlet, path, title, f"Latest {title} news", [teaser_of(p) for p in group]
                ),
            )
            self.entries.append(generated_entry(path, "section", title))
        by_tag: dict[str, list[Page]] = defaultdict(list)
        by_author: dict[str, list[Page]] = defaultdict(list)
        for page in articles:
            for tag in page.tags:
                by_tag[tag].append(page)
            for author in page.authors:
                by_author[author].append(page)
        for root, role, groups in (
            (self.theme.tag_root, "tag", by_tag),
            (self.theme.author_root, "author", by_author),
        ):
            for name, group in sorted(groups.items()):
                path = root + slugify(name) + "/"
                html = self.theme.listing(
                    self.outlet, path, name, f"{len(group)} articles", [teaser_of(p) for p in group]
                )
                self.put(path, html)
                self.entries.append(generated_entry(path, role, name))

    def manifest(self) -> dict[str, Any]:
        """Return the outlet's manifest entry; refuse pages not listed as they declare."""
        for page in self.outlet.pages:
            self.entries.append(page_entry(self.outlet, page, self.theme, self.listed))
            if page.redirect_from:
                self.entries.append(redirect_entry(page, self.listed))
        for link in self.outlet.links:
            self.entries.append(link_entry(link, self.listed))
        for entry in self.entries:
            routes = {place["via"] for place in entry["listed"]}
            if routes != set(entry["discovered_via"]):
                raise ContentError(
                    f"{self.outlet.name} {entry['path']}: discovered via "
                    f"{entry['discovered_via']} but listed via {sorted(routes)}"
                )
        return outlet_entry(self.outlet, self.entries)

    def run(self) -> dict[str, Any]:
        """Generate every file of the outlet and return its manifest entry."""
        self.pages()
        self.feeds()
        self.sitemaps()
        self.sections()
        self.indexes()
        self.put("/robots.txt", listings.robots(self.outlet))
        return self.manifest()


def hash_path(path: str) -> int:
    """Return a stable number for a path (Python's ``hash`` changes between runs)."""
    return int(hashlib.sha256(path.encode("utf-8")).hexdigest()[:8], 16) % 10_000_000


def build(site_dir: Path = SITE_DIR, content_dir: Path = CONTENT_DIR) -> dict[str, Any]:
    """Regenerate ``site_dir`` from ``content_dir`` and return the manifest written."""
    outlets: dict[str, Any] = {}
    files: dict[str, dict[str, bytes]] = {}
    for outlet in load_outlets(content_dir):
        job = OutletBuild(outlet)
        outlets[outlet.name] = job.run()
        files[outlet.name] = job.files
    manifest = {"version": MANIFEST_VERSION, "outlets": outlets}
    for name in outlets:
        shutil.rmtree(site_dir / name, ignore_errors=True)
        for relative, data in sorted(files[name].items()):
            target = site_dir / name / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    (site_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Build the site (``--out`` to write it elsewhere)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=SITE_DIR, help="where to write the site")
    args = parser.parse_args(argv)
    manifest = build(args.out)
    pages = sum(len(o["pages"]) for o in manifest["outlets"].values())
    print(f"wrote {len(manifest['outlets'])} outlets, {pages} pages to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
