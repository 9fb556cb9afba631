"""URL normalisation, article identity and the article-URL heuristic.

Plain functions without Scrapy, so the spider, the CLI and the tests call them the same way.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import SplitResult, unquote, unquote_plus, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from crawler.errors import InvalidURLError

DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}

TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # Ad-click identifiers: Facebook, Google Ads (three kinds), Microsoft, Yandex, Instagram.
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        # Google Analytics cross-domain linking.
        "_ga",
        "_gl",
        # Mailchimp and HubSpot e-mail campaigns.
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        # Campaign markers news sites append to links in feeds, newsletters and social posts:
        # MSN (ocid), Guardian and others (cmp, cmpid), BBC (at_*, ito, ns_*), AT Internet (xtor).
        "ocid",
        "cmp",
        "cmpid",
        "at_medium",
        "at_campaign",
        "at_campaign_type",
        "at_format",
        "at_link_id",
        "at_link_origin",
        "at_link_type",
        "at_ptr_name",
        "at_bbc_team",
        "ito",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "xtor",
    }
)
"""Query keys removed whatever their value (compared case-insensitively)."""

TRACKING_PREFIXES: tuple[str, ...] = ("utm_",)
"""Query keys starting with one of these are removed (Google Analytics campaign tags)."""

FEED_MARKER_PARAMS: frozenset[str] = frozenset({"src", "ref"})
"""Query keys removed only when their value is one of :data:`FEED_MARKER_VALUES`.

``src`` and ``ref`` carry meaning on some sites, so only the values that mark a feed link go.
"""

FEED_MARKER_VALUES: frozenset[str] = frozenset({"rss", "feed", "rssfeed", "rss_feed", "rss-feed"})

NON_ARTICLE_SEGMENTS: frozenset[str] = frozenset(
    {
        "tag",
        "tags",
        "topic",
        "topics",
        "author",
        "authors",
        "profile",
        "profiles",
        "series",
        "video",
        "videos",
        "gallery",
        "galleries",
        "feed",
        "feeds",
        "search",
        "login",
        "account",
    }
)
"""Path segments that mark a listing, media or utility page rather than an article."""

NON_ARTICLE_PREFIXES: tuple[str, ...] = ("podcast", "newsletter", "subscribe", "rss", "sitemap")
"""Path segments starting with these are not articles (``podcasts``, ``rss.xml``, ...)."""

NON_ARTICLE_EXTENSIONS: frozenset[str] = frozenset(
    {
        *("jpg", "jpeg", "png", "gif", "webp", "avif", "svg", "ico"),
        *("mp4", "webm", "mov", "m3u8", "mp3", "m4a", "ogg", "wav"),
        *("pdf", "zip", "gz", "doc", "docx", "xls", "xlsx", "ppt", "pptx"),
        *("xml", "rss", "atom", "json", "css", "js", "txt"),
    }
)
"""File extensions of things that are never an HTML article."""

_MONTH = r"(?:0?[1-9]|1[0-2]|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
# /YYYY/MM/ followed by a segment with a letter, so /2024/05/ and /2024/05/12/ archive
# listings do not count as articles.
_DATE_PATH = re.compile(rf"/(?:19|20)\d\d/{_MONTH}/(?:\d\d?/)?[^/]*[a-z]")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NUMERIC_ID = re.compile(r"\d{5,}")
_HAS_LETTER = re.compile(r"[a-z]")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
# What a host name in a URL may hold once IDNA-encoded (underscores occur in real host names).
_HOST_CHARS = re.compile(r"[a-z0-9_.-]+")
# A URL whose characters leave canonicalisation nothing to do: a lowercase scheme and host, a
# port, and a path of unreserved characters, with no user info, query or fragment. Most links
# on news pages look like this.
_PLAIN_URL = re.compile(r"https?://[a-z0-9_.-]+(?::[0-9]+)?/[A-Za-z0-9._~/-]*")


def normalize_url(url: str, base: str | None = None) -> str:
    """Return the normal form of an http(s) URL, resolved against ``base`` if given.

    See :func:`_normalize_url`; results are cached, since listings repeat the same links (a
    section page's navigation on every page of it) and normalising one costs tens of
    microseconds.
    """
    text = url.strip()
    if base is not None:
        # Resolve first, so the cache knows a link by its absolute URL, whichever page it is on.
        try:
            text = urljoin(base.strip(), text)
        except ValueError as err:  # an unclosed "[" in either URL
            raise InvalidURLError(f"not a valid URL: {url!r} against {base!r}: {err}") from err
    return _normalize_cached(text)


_NORMALIZED: dict[str, str] = {}
NORMALIZED_KEPT = 32768
"""URLs whose normal form :func:`normalize_url` keeps; all are forgotten when it is full."""


def _normalize_cached(url: str) -> str:
    normal = _NORMALIZED.get(url)
    if normal is None:
        normal = _normalize_url(url)
        if len(_NORMALIZED) >= NORMALIZED_KEPT:
            _NORMALIZED.clear()
        _NORMALIZED[url] = normal
        # The normal form is its own: a request made for the link is known at once by it.
        _NORMALIZED[normal] = normal
    return normal


def _normalize_url(url: str) -> str:
    """Return the normal form of an absolute http(s) URL.

    Lowercase the scheme and host, drop default ports, user info and the fragment, remove
    tracking parameters, sort the remaining query parameters, percent-encode consistently and
    give an empty path as ``/``. A trailing slash is kept as it is. Idempotent.

    Raise :class:`~crawler.errors.InvalidURLError` (a ``ValueError``) for a URL that is not
    http(s), or has no host or one no server can have (spaces, control characters...).
    """
    if _PLAIN_URL.fullmatch(url) and "/." not in url and url.find("//", 8) < 0:
        # No dot segments or empty segments either: only the host and port can still change
        # (a trailing dot, a default or zero-padded port), and _netloc says whether they do.
        parts = _split_checked(url)
        if _netloc(parts) == parts.netloc:
            return url
    return _canonical_form(url)


def _canonical_form(url: str) -> str:
    """Return the normal form of ``url`` the long way (see :func:`_normalize_url`)."""
    text = url
    _split_checked(text)
    # A "%" that starts no escape is a literal percent sign; encoding it first keeps w3lib from
    # reading "%%41" as "%" + "A" and producing a new escape on a second pass.
    text = _STRAY_PERCENT.sub("%25", text)
    try:
        canonical = canonicalize_url(text)
    except (ValueError, UnicodeError) as err:
        raise InvalidURLError(f"not a valid URL: {url!r}: {err}") from err
    parts = _split_checked(canonical)
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((parts.scheme, _netloc(parts), parts.path or "/", query, ""))


def host_key(url: str) -> str:
    """Return ``host`` or ``host:port`` of a URL, the form ``allowed_domains`` entries take.

    The host is lowercased (IDNA-encoded if needed); the port appears only when it is given
    and is not the scheme's default.
    """
    return _netloc(_split_checked(url.strip()))


def identity_url(
    final_url: str, canonical: str | None, allowed: Callable[[str], bool] | None = None
) -> str:
    """Return the URL that defines an article's identity.

    One article must have one identity however the crawler reached it: through a feed link with
    campaign parameters, a section page, an AMP copy or a redirect. The page's canonical link
    names that identity, so it wins when it is usable: absolute (or scheme-relative), http(s),
    on the same site (``allowed`` decides; without it, the canonical host must equal the final
    host or share its domain once a leading ``www.`` is set aside) and not the site's front page
    when the final URL is not. Otherwise the normalised final URL is the identity.

    Raise :class:`~crawler.errors.InvalidURLError` if ``final_url`` itself is invalid.
    """
    final = normalize_url(final_url)
    candidate = (canonical or "").strip()
    if candidate.startswith("//"):
        candidate = f"{urlsplit(final).scheme}:{candidate}"
    try:
        if not urlsplit(candidate).scheme:
            return final
        identity = normalize_url(candidate)
    except ValueError:  # InvalidURLError, or urlsplit's own (an unclosed "[" in the host)
        return final
    same_site = allowed(identity) if allowed is not None else _same_site(identity, final)
    if not same_site:
        return final
    # Some sites point every page's canonical link at their front page; keeping it would
    # merge all their articles into one.
    if urlsplit(identity).path == "/" and urlsplit(final).path != "/":
        return final
    return identity


def looks_like_article(url: str) -> bool:
    """Guess whether a URL leads to an article, for sources without ``article_patterns``.

    Yes when the path has a slug of three or more hyphenated words (at least two with a
    letter), a number of five or more digits, or a ``/YYYY/MM/`` date followed by a named
    segment; no for tag, topic, author, profile, series, video, gallery, podcast, newsletter,
    subscription, login, account, search, feed and sitemap pages, ``/page/N`` pagination, media
    and document files, and the front page.
    """
    try:
        parts = _split_checked(url.strip())
    except InvalidURLError:
        return False
    path = unquote(parts.path).lower()
    segments = [s for s in path.split("/") if s]
    if not segments:
        return False
    last = segments[-1]
    if "." in last and last.rsplit(".", 1)[1] in NON_ARTICLE_EXTENSIONS:
        return False
    for i, segment in enumerate(segments):
        if segment in NON_ARTICLE_SEGMENTS or segment.startswith(NON_ARTICLE_PREFIXES):
            return False
        if segment == "page" and i + 1 < len(segments) and segments[i + 1].isdigit():
            return False
    if _NUMERIC_ID.search(path) or _DATE_PATH.search(path + "/"):
        return True
    return any(_is_slug(segment) for segment in segments)


def domain_entry(text: str) -> str | None:
    """Return an ``allowed_domains`` entry in normal form (lowercase, IDNA), or None if invalid."""
    entry = text.strip().lower()
    if "/" in entry:
        return None
    try:
        host, port = split_host_port(entry)
    except InvalidURLError:
        return None
    if host.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            return None
        host = f"[{host.strip('[]')}]"
    else:
        try:
            host = host.encode("idna").decode("ascii") if not host.isascii() else host
        except UnicodeError:
            return None
        if not _HOST.match(host):
            return None
    return host if port is None else f"{host}:{port}"


def split_host_port(key: str) -> tuple[str, int | None]:
    """Split ``host``, ``host:port`` or ``[v6]:port``; raise InvalidURLError on a bad port."""
    if key.startswith("["):
        inside, _, rest = key[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise InvalidURLError(f"invalid host: {key!r}")
        host, port_text = f"[{inside}]", rest[1:] if rest else None
    elif ":" in key:
        host, port_text = key.rsplit(":", 1)
    else:
        host, port_text = key, None
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise InvalidURLError(f"invalid port in {key!r}")
    return host, int(port_text)


def _is_slug(segment: str) -> bool:
    words = [w for w in segment.split("-") if w]
    return len(words) >= 3 and sum(1 for w in words if _HAS_LETTER.search(w)) >= 2


def _split_checked(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        _ = parts.port  # reading the port validates it
    except ValueError as err:
        raise InvalidURLError(f"not a valid URL: {url!r}: {err}") from err
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise InvalidURLError(f"not an http(s) URL: {url!r}")
    if not (parts.hostname or "").rstrip("."):
        raise InvalidURLError(f"URL has no host: {url!r}")
    return parts


def _netloc(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as err:
            raise InvalidURLError(f"invalid host name: {host!r}") from err
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    elif not _HOST_CHARS.fullmatch(host):
        # Spaces, control characters, "%", "<" ...: no server has such a name.
        raise InvalidURLError(f"invalid host name: {host!r}")
    port = parts.port
    if port is None or port == DEFAULT_PORTS[parts.scheme.lower()]:
        return host
    return f"{host}:{port}"


def _is_tracking(pair: str) -> bool:
    raw_key, _, raw_value = pair.partition("=")
    key = unquote_plus(raw_key).lower()
    if key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES):
        return True
    return key in FEED_MARKER_PARAMS and unquote_plus(raw_value).lower() in FEED_MARKER_VALUES


def _same_site(url: str, other: str) -> bool:
    host = _bare_host(url)
    other_host = _bare_host(other)
    if host == other_host:
        return True
    shorter, longer = sorted((host, other_host), key=len)
    # A bare suffix such as "com" is no one's site.
    return "." in shorter and longer.endswith("." + shorter)


def _bare_host(url: str) -> str:
    host = host_key(url)
    return host.removeprefix("www.")
