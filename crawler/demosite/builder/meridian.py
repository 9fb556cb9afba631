"""Meridian Wire: a wire service's markup (credits in their own element, ``srcset`` images)."""

from __future__ import annotations

from crawler.demosite.builder.common import (
    Teaser,
    Theme,
    absolute,
    attr,
    esc,
    head_meta,
    json_script,
    news_article_jsonld,
    slugify,
    when,
)
from crawler.demosite.builder.content import Outlet, Page, Photo

NAV = [("World", "/world/"), ("Business", "/business/"), ("Markets", "/markets/")]
WIDTHS = (480, 960, 1920)


def _date(value: str) -> str:
    moment = when(value)
    return f"{moment:%B} {moment.day}, {moment:%Y} {moment:%I:%M %p} UTC"


def sized(src: str, width: int) -> str:
    """Return the URL path of the ``width`` pixel rendition of photo ``src``."""
    return src.removesuffix(".jpg") + f"-{width}w.jpg"


def _figure(photo: Photo, css: str) -> str:
    srcset = ", ".join(f"{absolute(sized(photo.src, w))} {w}w" for w in WIDTHS)
    return f"""<figure class="media {css}">
  <picture>
    <img src="{absolute(sized(photo.src, 960))}" srcset="{srcset}"
         sizes="(min-width: 1024px) 960px, 100vw" alt="{attr(photo.alt)}" width="960" height="640">
  </picture>
  <figcaption><span class="caption-text">{esc(photo.caption)}</span>
    <span class="credit">{esc(photo.credit)}</span></figcaption>
</figure>"""


class MeridianTheme(Theme):
    """Markup of Meridian Wire."""

    author_root = "/authors/"
    tag_root = "/topics/"
    region_fronts = True

    def document(self, outlet: Outlet, title: str, head: str, body: str) -> str:
        nav = " ".join(f'<a class="nav-link" href="{absolute(h)}">{esc(n)}</a>' for n, h in NAV)
        return f"""<!doctype html>
<html lang="{outlet.language}">
<head>
<meta charset="utf-8">
<title>{esc(title)} | {esc(outlet.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{head}
<link rel="alternate" type="application/atom+xml" href="{absolute("/feeds/world.atom")}">
</head>
<body>
<div class="consent-overlay" role="dialog" aria-modal="true" data-testid="consent">
  <h2>Your privacy choices</h2>
  <p>Meridian and our 142 partners store and access information on your device to deliver and
  measure content and ads. Select &ldquo;Accept&rdquo; to agree or &ldquo;Reject&rdquo; to
  refuse.</p>
  <button data-action="accept">Accept</button><button data-action="reject">Reject</button>
</div>
<div class="topbar"><span>Meridian Wire &mdash; independent news since 1921</span></div>
<header class="masthead">
  <a class="brand" href="{absolute("/")}">{esc(outlet.title)}</a>
  <nav class="masthead-nav">{nav}</nav>
</header>
<div class="ad-slot" data-slot="top">
  <div class="ad">Advertisement &middot; Scroll to continue with content</div>
</div>
<main class="main-content">
{body}
</main>
<footer class="site-footer">
  <nav>
    <a href="{absolute("/about/")}">About Meridian</a>
    <a href="{absolute("/trust-principles/")}">Trust Principles</a>
    <a href="{absolute("/licensing/")}">Licensing</a>
  </nav>
  <p>All quotes delayed a minimum of 15 minutes. &copy; 2026 Meridian Wire Ltd.</p>
</footer>
</body>
</html>
"""

    def largest(self, photo: Photo) -> str:
        return sized(photo.src, WIDTHS[-1])

    def _byline(self, page: Page) -> str:
        links = [
            f'<a class="author-name" href="{absolute(self.author_root + slugify(n) + "/")}">'
            f"{esc(n)}</a>"
            for n in page.authors
        ]
        joined = links[0] if len(links) == 1 else ", ".join(links[:-1]) + " and " + links[-1]
        return f"By {joined}"

    def article(self, outlet: Outlet, page: Page) -> str:
        head = head_meta(outlet, page)
        if page.jsonld:
            head += "\n" + json_script(news_article_jsonld(outlet, page, self.author_root))
        region = page.path.split("/")[2]
        updated = (
            f' <span class="updated">Updated <time datetime="{page.date_modified}">'
            f"{_date(page.date_modified)}</time></span>"
            if page.date_modified
            else ""
        )
        words = sum(len(p.split()) for p in page.text_paragraphs)
        related = self.related(outlet, page, 4)
        parts: list[str] = []
        for number, paragraph in enumerate(page.paragraphs, start=1):
            if paragraph.startswith("## "):
                parts.append(f"<h2>{esc(paragraph[3:])}</h2>")
            else:
                parts.append(f'<p data-testid="paragraph-{number - 1}">{esc(paragraph)}</p>')
            parts += [_figure(p, "inline") for p in page.inline if p.after == number]
            if number == 3:
                parts.append(
                    f'<div class="related-inline">Read more: <a href="{absolute(related[0].path)}">'
                    f"{esc(related[0].headline)}</a></div>"
                )
            if number == 6:
                parts.append(
                    '<div class="ad-slot" data-slot="mid"><div class="ad">Advertisement</div></div>'
                )
        more = "\n".join(
            f'    <li><a href="{absolute(p.path)}">{esc(p.headline)}</a></li>' for p in related[1:]
        )
        comments = "\n".join(
            f'    <li class="comment"><strong class="comment-author">{esc(n)}</strong> '
            f"<p>{esc(t)}</p></li>"
            for n, t in self.comments(outlet, page)
        )
        lead = _figure(page.lead, "lead") if page.lead else ""
        main = f"""<article class="article" data-testid="article">
  <div class="article-header">
    <nav class="breadcrumbs">
      <a href="{absolute("/world/")}">World</a>
      <a href="{absolute("/world/" + region + "/")}">{esc(page.kicker)}</a>
    </nav>
    <h1 data-testid="Heading">{esc(page.headline)}</h1>
    <div class="article-byline">{self._byline(page)}</div>
    <div class="article-dates">
      <time datetime="{page.date_published}">{_date(page.date_published)}</time>{updated}
    </div>
    <p class="read-time">{max(1, words // 220)} minute read</p>
  </div>
  {lead}
  <div class="article-body">
{chr(10).join(parts)}
  </div>
  <p class="trust">Our Standards:
    <a href="{absolute("/trust-principles/")}">The Meridian Trust Principles.</a></p>
</article>
<aside class="related-stories">
  <h2>Related stories</h2>
  <ul>
{more}
  </ul>
</aside>
<section class="discussion">
  <h2>Reader discussion</h2>
  <ul>
{comments}
  </ul>
</section>
<section class="newsletter-signup">
  <h2>Get the Daily Briefing newsletter</h2>
  <p>All the world's top news in one email, every weekday.</p>
  <form><input type="email" aria-label="Email"><button>Sign up</button></form>
</section>"""
        return self.document(outlet, page.headline, head, main)

    def video(self, outlet: Outlet, page: Page) -> str:
        raise NotImplementedError("Meridian Wire publishes no video pages here")

    def gallery(self, outlet: Outlet, page: Page) -> str:
        raise NotImplementedError("Meridian Wire publishes no galleries here")

    def listing(
        self,
        outlet: Outlet,
        path: str,
        title: str,
        intro: str,
        teasers: list[Teaser],
        next_path: str = "",
        extra: str = "",
    ) -> str:
        items = "\n".join(
            f'<div class="story-card"><span class="kicker">{esc(t.kicker)}</span>'
            f'<a href="{absolute(t.href)}" data-testid="Heading">{esc(t.title)}</a>'
            f'<time datetime="{t.date}">{_date(t.date)}</time></div>'
            for t in teasers
        )
        head = f'<link rel="canonical" href="{absolute(path)}">'
        body = (
            f'<h1 class="page-title">{esc(title)}</h1>\n<p>{esc(intro)}</p>\n'
            f'<section class="story-collection">\n{items}\n</section>\n{extra}'
        )
        return self.document(outlet, title, head, body)
