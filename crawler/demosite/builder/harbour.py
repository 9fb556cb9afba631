"""The Harbour Herald: a regional daily's markup (credits in brackets inside the caption)."""

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

NAV = [("News", "/news/"), ("World", "/world/"), ("Business", "/business/"), ("Sport", "/sport/")]


def _date(value: str) -> str:
    return when(value).strftime("%a %d %b %Y at %H:%M")


def _figure(photo: Photo, css: str) -> str:
    return (
        f'<figure class="{css}">\n'
        f'  <img src="{absolute(photo.src)}" alt="{attr(photo.alt)}" width="1200" height="800"'
        ' loading="lazy">\n'
        f"  <figcaption>{esc(photo.caption)} ({esc(photo.credit)})</figcaption>\n"
        "</figure>"
    )


class HarbourTheme(Theme):
    """Markup of The Harbour Herald."""

    author_root = "/authors/"
    tag_root = "/topics/"

    def document(self, outlet: Outlet, title: str, head: str, body: str) -> str:
        nav = "\n".join(f'      <li><a href="{absolute(h)}">{esc(n)}</a></li>' for n, h in NAV)
        return f"""<!DOCTYPE html>
<html lang="{outlet.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} | {esc(outlet.title)}</title>
{head}
<link rel="alternate" type="application/rss+xml" title="World news"
      href="{absolute("/feeds/world.rss")}">
<link rel="stylesheet" href="{absolute("/static/herald.css")}">
</head>
<body>
<div id="cookie-consent" class="cookie-banner" role="dialog" aria-label="Cookies">
  <p>We use cookies and similar technologies to run this site, measure our audience and show you
  relevant advertising. You can accept all cookies or manage your preferences.</p>
  <button type="button">Accept all</button> <button type="button">Manage preferences</button>
</div>
<header class="site-header">
  <a class="logo" href="{absolute("/")}">{esc(outlet.title)}</a>
  <nav class="primary-nav" aria-label="Sections">
    <ul>
{nav}
    </ul>
  </nav>
  <a class="subscribe-button" href="{absolute("/subscribe/")}">Subscribe</a>
</header>
<div class="ad ad-leaderboard">Advertisement</div>
<main id="content">
{body}
</main>
<footer class="site-footer">
  <p>{esc(outlet.title)} &middot; Quay Street, Carrickhaven</p>
  <ul>
    <li><a href="{absolute("/about/")}">About us</a></li>
    <li><a href="{absolute("/privacy/")}">Privacy notice</a></li>
    <li><a href="{absolute("/terms/")}">Terms and conditions</a></li>
  </ul>
  <p>&copy; 2026 Harbour Herald Newspapers Ltd. All rights reserved.</p>
</footer>
</body>
</html>
"""

    def _header(self, page: Page) -> str:
        byline = ", ".join(
            f'<a rel="author" href="{absolute(self.author_root + slugify(name) + "/")}">'
            f"{esc(name)}</a>"
            for name in page.authors
        )
        modified = (
            f' <span class="updated">Updated <time datetime="{page.date_modified}">'
            f"{_date(page.date_modified)}</time></span>"
            if page.date_modified
            else ""
        )
        standfirst = (
            f'\n  <p class="story-standfirst">{esc(page.standfirst)}</p>' if page.standfirst else ""
        )
        return f"""<header class="story-header">
  <p class="story-kicker"><a href="{absolute("/world/")}">{esc(page.kicker or page.section)}</a></p>
  <h1 class="story-headline">{esc(page.headline)}</h1>{standfirst}
  <div class="story-meta">
    <span class="byline">{byline}</span>
    <time class="published" datetime="{page.date_published}">{_date(page.date_published)}</time>
    {modified}
  </div>
</header>"""

    def _body(self, outlet: Outlet, page: Page) -> str:
        read_more = self.related(outlet, page, 1)[0]
        parts: list[str] = []
        for number, paragraph in enumerate(page.paragraphs, start=1):
            if paragraph.startswith("## "):
                parts.append(f"<h2>{esc(paragraph[3:])}</h2>")
            else:
                parts.append(f"<p>{esc(paragraph)}</p>")
            parts += [_figure(p, "inline-image") for p in page.inline if p.after == number]
            if number == 2:
                parts.append(
                    '<aside class="read-more">Read more: '
                    f'<a href="{absolute(read_more.path)}">{esc(read_more.headline)}</a></aside>'
                )
            if number == 5:
                parts.append('<div class="ad ad-mpu">Advertisement</div>')
        return "\n".join(parts)

    def article(self, outlet: Outlet, page: Page) -> str:
        head = head_meta(outlet, page)
        if page.jsonld:
            head += "\n" + json_script(news_article_jsonld(outlet, page, self.author_root))
        lead = _figure(page.lead, "lead-image") if page.lead else ""
        if page.kind == "paywall":
            body = (
                f'<div class="story-body paywalled">\n<p>{esc(page.paragraphs[0])}</p>\n</div>\n'
                '<div class="paywall">\n  <h2>Subscribe to continue reading</h2>\n'
                "  <p>This article is for subscribers. Get unlimited access to the Herald from "
                "&pound;1 for your first month.</p>\n"
                f'  <a class="button" href="{absolute("/subscribe/")}">Subscribe now</a>\n'
                f'  <a href="{absolute("/login/")}">Already a subscriber? Log in</a>\n</div>'
            )
        else:
            body = f'<div class="story-body">\n{self._body(outlet, page)}\n</div>'
        tags = "\n".join(
            f'    <li><a href="{absolute(self.tag_root + slugify(t) + "/")}">{esc(t)}</a></li>'
            for t in page.tags
        )
        most_read = "\n".join(
            f'    <li><a href="{absolute(p.path)}">{esc(p.headline)}</a></li>'
            for p in self.related(outlet, page, 5)
        )
        comments = "\n".join(
            f'  <div class="comment"><p class="comment-author">{esc(name)}</p>'
            f"<p>{esc(text)}</p></div>"
            for name, text in self.comments(outlet, page)
        )
        main = f"""<article class="story">
{self._header(page)}
{lead}
{body}
<footer class="story-footer">
  <h2 class="visually-hidden">Topics</h2>
  <ul class="story-tags">
{tags}
  </ul>
</footer>
</article>
<aside class="most-read">
  <h2>Most read</h2>
  <ol>
{most_read}
  </ol>
</aside>
<section class="comments" id="comments">
  <h2>Comments (2)</h2>
{comments}
  <p><a href="{absolute("/login/")}">Log in to join the conversation</a></p>
</section>
<section class="newsletter">
  <h2>The Herald Daily</h2>
  <p>The day's top stories from home and abroad, in your inbox every morning at 7am.</p>
  <form action="{absolute("/newsletters/subscribe")}" method="post">
    <input type="email" name="email" placeholder="Your email address"> <button>Sign up</button>
  </form>
</section>
<div class="ad ad-footer">Advertisement</div>"""
        return self.document(outlet, page.headline, head, main)

    def video(self, outlet: Outlet, page: Page) -> str:
        raise NotImplementedError("The Harbour Herald publishes no video pages")

    def gallery(self, outlet: Outlet, page: Page) -> str:
        raise NotImplementedError("The Harbour Herald publishes no galleries")

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
            f'  <li class="teaser"><a href="{absolute(t.href)}"><h3>{esc(t.title)}</h3></a>'
            f'<p>{esc(t.summary)}</p><time datetime="{t.date}">{_date(t.date)}</time></li>'
            for t in teasers
        )
        head = (
            f'<meta name="description" content="{attr(intro)}">\n'
            f'<link rel="canonical" href="{absolute(path)}">'
        )
        body = (
            f'<h1 class="section-title">{esc(title)}</h1>\n'
            f'<p class="section-intro">{esc(intro)}</p>\n'
            f'<ul class="teasers">\n{items}\n</ul>\n{extra}'
        )
        return self.document(outlet, title, head, body)
