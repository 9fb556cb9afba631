"""Load and validate the sources file: which outlets to crawl, where to discover their articles.

The file is TOML with one ``[sources.NAME]`` table per outlet and an optional ``[defaults]``
table; docs/sources.md describes every key. Any mistake is reported before anything is fetched,
as a :class:`~crawler.errors.SourcesError` naming the file, the source and the key.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.errors import InvalidURLError, SourcesError
from crawler.revisit_policy import parse_duration, parse_steps
from crawler.urls import (
    DEFAULT_PORTS,
    domain_entry,
    host_key,
    looks_like_article,
    normalize_url,
    split_host_port,
)

SOURCE_KEYS: tuple[str, ...] = (
    "feeds",
    "sitemaps",
    "sections",
    "allowed_domains",
    "article_patterns",
    "download_delay",
    "concurrency",
    "language",
    "region",
    "enabled",
    "schedule",
    "revisit",
)
DEFAULTS_KEYS: tuple[str, ...] = ("download_delay", "concurrency", "schedule")
TOP_LEVEL_KEYS: tuple[str, ...] = ("sources", "defaults")

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_INTERVAL = re.compile(r"^[1-9]\d*[smhd]$")
_CRON_ITEM = re.compile(r"^(?:(\*)|(\w+)(?:-(\w+))?)(?:/(\d+))?$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (field name, lowest, highest, names whose index + lowest is the value)
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)


@dataclass(frozen=True)
class Source:
    """One outlet: where its articles are listed and which URLs belong to it."""

    name: str
    feeds: tuple[str, ...] = ()
    """RSS/Atom feed URLs."""
    sitemaps: tuple[str, ...] = ()
    """News sitemap or sitemap index URLs."""
    sections: tuple[str, ...] = ()
    """Section pages whose links lead to articles."""
    allowed_domains: tuple[str, ...] = ()
    """Host names (``host`` or ``host:port``) whose pages belong to the source."""
    article_patterns: tuple[re.Pattern[str], ...] = ()
    """Regexes searched in a normalised URL; an article URL matches one of them."""
    download_delay: float | None = None
    """Seconds between requests to the source's hosts; ``None``: the crawl's setting."""
    concurrency: int | None = None
    """Parallel requests per host of the source; ``None``: the crawl's setting."""
    language: str | None = None
    """BCP 47 language tag of the outlet's articles, e.g. ``en`` or ``es``."""
    region: str | None = None
    """Where the outlet is based, e.g. ``GB`` (free text; the shipped file uses ISO 3166)."""
    enabled: bool = True
    """Whether a crawl of "all sources" includes this one."""
    schedule: str | None = None
    """How often to crawl: an interval such as ``30m`` or a 5-field cron expression."""
    revisit: tuple[str, ...] | None = None
    """When to revisit each new article, counted from its first sighting (``("30m", "2h")``);
    ``()``: never; ``None``: the crawl's ``ARCHIVE_REVISIT_STEPS``."""

    @property
    def article_pattern_strings(self) -> tuple[str, ...]:
        """Return the article patterns as written in the sources file."""
        return tuple(p.pattern for p in self.article_patterns)

    def allows(self, url: str) -> bool:
        """Return whether the URL's host is one of ``allowed_domains`` or a subdomain of one.

        An entry with a port matches only that port (a URL without a port has its scheme's
        default); an entry without a port matches any port.
        """
        try:
            host, port = split_host_port(host_key(url))
            scheme = urlsplit(url.strip()).scheme.lower()
        except InvalidURLError:
            return False
        port = port if port is not None else DEFAULT_PORTS[scheme]
        for entry in self.allowed_domains:
            allowed_host, allowed_port = split_host_port(entry)
            if allowed_port is not None and allowed_port != port:
                continue
            if host == allowed_host or host.endswith("." + allowed_host):
                return True
        return False

    def is_article_url(self, url: str) -> bool:
        """Return whether the URL is an allowed article URL of this source.

        With ``article_patterns``, one of them must be found in the normalised URL; without,
        :func:`crawler.urls.looks_like_article` decides.
        """
        if not self.allows(url):
            return False
        if not self.article_patterns:
            return looks_like_article(url)
        try:
            normalized = normalize_url(url)
        except InvalidURLError:
            return False
        return any(p.search(normalized) for p in self.article_patterns)


def default_sources_path() -> Path:
    """Return the path of the sources file shipped with the package."""
    return Path(str(files("crawler").joinpath("data", "sources.toml")))


def load_sources(path: str | Path | None = None) -> dict[str, Source]:
    """Load and validate a sources file (``None``: the shipped default), keyed by source name.

    Raise :class:`~crawler.errors.SourcesError` if the file is missing, unreadable or invalid.
    """
    file = Path(path) if path is not None else default_sources_path()
    try:
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as err:
        raise SourcesError(f"{file}: file not found") from err
    except OSError as err:
        raise SourcesError(f"{file}: cannot read: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise SourcesError(f"{file}: not UTF-8 text: {err}") from err
    except tomllib.TOMLDecodeError as err:
        raise SourcesError(f"{file}: invalid TOML: {err}") from err
    return _parse(data, str(file))


def select_sources(sources: Mapping[str, Source], names: Iterable[str]) -> list[Source]:
    """Return the named sources in the order given, each once.

    Raise :class:`~crawler.errors.SourcesError` naming every unknown name and the known ones.
    """
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in sources]
    if unknown:
        described = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(sources), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            described.append(f"{name!r}{hint}")
        noun = "source" if len(unknown) == 1 else "sources"
        known = ", ".join(sorted(sources)) or "none"
        raise SourcesError(f"unknown {noun} {', '.join(described)}; known sources: {known}")
    return [sources[n] for n in wanted]


# --- validation ---------------------------------------------------------------------------


class _Context:
    """Where a value sits in the file, to build error messages that point at it."""

    def __init__(self, file: str, where: str) -> None:
        self.file = file
        self.where = where

    def error(self, key: str | None, message: str) -> SourcesError:
        key_part = f"key {key!r}: " if key is not None else ""
        return SourcesError(f"{self.file}: {self.where}: {key_part}{message}")


def _parse(data: dict[str, Any], file: str) -> dict[str, Source]:
    top = _Context(file, "top level")
    _check_keys(data, TOP_LEVEL_KEYS, top)
    defaults_table = data.get("defaults", {})
    if not isinstance(defaults_table, dict):
        raise top.error("defaults", f"expected a table, got {_type_name(defaults_table)}")
    defaults = _parse_defaults(defaults_table, _Context(file, "[defaults]"))
    tables = data.get("sources")
    if not isinstance(tables, dict) or not tables:
        found = "nothing" if tables is None else _type_name(tables)
        raise top.error("sources", f"expected [sources.NAME] tables, got {found}")
    return {
        name: _parse_source(name, table, defaults, _Context(file, f"source {name!r}"))
        for name, table in tables.items()
    }


def _parse_defaults(table: dict[str, Any], ctx: _Context) -> dict[str, Any]:
    _check_keys(table, DEFAULTS_KEYS, ctx)
    return {
        "download_delay": _delay(table, ctx),
        "concurrency": _concurrency(table, ctx),
        "schedule": _schedule(table, ctx),
    }


def _parse_source(name: str, table: Any, defaults: dict[str, Any], ctx: _Context) -> Source:
    if not _NAME.match(name):
        raise ctx.error(
            None,
            "invalid name: use lowercase letters, digits, '.', '_' and '-', "
            "starting with a letter or digit",
        )
    if not isinstance(table, dict):
        raise ctx.error(None, f"expected a table, got {_type_name(table)}")
    _check_keys(table, SOURCE_KEYS, ctx)
    feeds = _urls(table, "feeds", ctx)
    sitemaps = _urls(table, "sitemaps", ctx)
    sections = _urls(table, "sections", ctx)
    if not (feeds or sitemaps or sections):
        raise ctx.error(None, "no feeds, sitemaps or sections: give at least one URL")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ctx.error("enabled", f"expected true or false, got {_type_name(enabled)}")
    delay = _delay(table, ctx)
    concurrency = _concurrency(table, ctx)
    schedule = _schedule(table, ctx)
    return Source(
        name=name,
        feeds=feeds,
        sitemaps=sitemaps,
        sections=sections,
        allowed_domains=_domains(table, ctx),
        article_patterns=_patterns(table, ctx),
        download_delay=delay if delay is not None else defaults["download_delay"],
        concurrency=concurrency if concurrency is not None else defaults["concurrency"],
        language=_language(table, ctx),
        region=_text(table, "region", ctx),
        enabled=enabled,
        schedule=schedule if schedule is not None else defaults["schedule"],
        revisit=_revisit(table, ctx),
    )


def _check_keys(table: dict[str, Any], known: tuple[str, ...], ctx: _Context) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SourcesError(f"{ctx.file}: {ctx.where}: unknown key {key!r}{hint}")


def _list(table: dict[str, Any], key: str, what: str, ctx: _Context) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list):
        raise ctx.error(key, f"expected a list of {what}, got {_type_name(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ctx.error(f"{key}[{i}]", f"expected a string, got {_type_name(item)}")
    return value


def _urls(table: dict[str, Any], key: str, ctx: _Context) -> tuple[str, ...]:
    urls = []
    for i, item in enumerate(_list(table, key, "URLs", ctx)):
        url = item.strip()
        try:
            host_key(url)
        except InvalidURLError as err:
            raise ctx.error(f"{key}[{i}]", f"not an absolute http(s) URL: {item!r}") from err
        urls.append(url)
    return tuple(dict.fromkeys(urls))


def _domains(table: dict[str, Any], ctx: _Context) -> tuple[str, ...]:
    if "allowed_domains" not in table:
        raise ctx.error("allowed_domains", "missing: list the host names of the source")
    entries = _list(table, "allowed_domains", "host names", ctx)
    if not entries:
        raise ctx.error("allowed_domains", "empty: list the host names of the source")
    domains = []
    for i, item in enumerate(entries):
        entry = domain_entry(item)
        if entry is None:
            raise ctx.error(
                f"allowed_domains[{i}]", f"expected a host name or host:port, got {item!r}"
            )
        domains.append(entry)
    return tuple(dict.fromkeys(domains))


def _patterns(table: dict[str, Any], ctx: _Context) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for i, item in enumerate(_list(table, "article_patterns", "regexes", ctx)):
        try:
            compiled.append(re.compile(item))
        except re.error as err:
            raise ctx.error(f"article_patterns[{i}]", f"invalid regex: {err}") from err
    return tuple(compiled)


def _delay(table: dict[str, Any], ctx: _Context) -> float | None:
    value = table.get("download_delay")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.error("download_delay", f"expected seconds, got {_type_name(value)}")
    if not math.isfinite(value) or value < 0:
        raise ctx.error("download_delay", f"expected a finite number >= 0, got {value!r}")
    return float(value)


def _concurrency(table: dict[str, Any], ctx: _Context) -> int | None:
    value = table.get("concurrency")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.error("concurrency", f"expected an integer, got {_type_name(value)}")
    if value < 1:
        raise ctx.error("concurrency", f"expected an integer >= 1, got {value!r}")
    return value


def _text(table: dict[str, Any], key: str, ctx: _Context) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ctx.error(key, f"expected a string, got {_type_name(value)}")
    if not value.strip():
        raise ctx.error(key, "empty string")
    return value.strip()


def _language(table: dict[str, Any], ctx: _Context) -> str | None:
    value = _text(table, "language", ctx)
    if value is not None and not _LANGUAGE.match(value):
        raise ctx.error("language", f"expected a BCP 47 tag such as 'en' or 'pt-BR', got {value!r}")
    return value


def _schedule(table: dict[str, Any], ctx: _Context) -> str | None:
    value = _text(table, "schedule", ctx)
    if value is None:
        return None
    problem = schedule_problem(value)
    if problem is not None:
        raise ctx.error("schedule", problem)
    return " ".join(value.split())


def _revisit(table: dict[str, Any], ctx: _Context) -> tuple[str, ...] | None:
    if "revisit" not in table:
        return None
    steps = [item.strip() for item in _list(table, "revisit", "durations", ctx)]
    for i, step in enumerate(steps):
        try:
            parse_duration(step)
        except ValueError as err:
            raise ctx.error(f"revisit[{i}]", str(err)) from err
    try:
        parse_steps(steps)
    except ValueError as err:
        raise ctx.error("revisit", str(err)) from err
    return tuple(steps)


def schedule_problem(text: str) -> str | None:
    """Return why ``text`` is not a valid schedule, or None if it is.

    A schedule is an interval (a positive number and one of ``s``, ``m``, ``h``, ``d``) or a
    5-field cron expression: minute, hour, day of month, month, day of week.
    """
    value = text.strip()
    if _INTERVAL.match(value):
        return None
    fields = value.split()
    if len(fields) != 5:
        return f"expected an interval such as '30m' or '1h', or 5 cron fields, got {text!r}"
    for field_text, (label, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in field_text.split(","):
            problem = _cron_item_problem(item.lower(), low, high, names)
            if problem is not None:
                return f"cron {label} field {field_text!r}: {problem}"
    return None


def _cron_item_problem(item: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    match = _CRON_ITEM.match(item)
    if match is None:
        return f"cannot read {item!r}"
    star, start, end, step = match.groups()
    if step is not None and int(step) < 1:
        return "a step must be 1 or more"
    if star:
        return None
    bounds = []
    for token in (start, end):
        if token is None:
            continue
        if token.isdigit():
            number = int(token)
        elif token in names:
            number = names.index(token) + (1 if names is _MONTHS else 0)
        else:
            return f"{token!r} is not a number"
        if not low <= number <= high:
            return f"{number} is outside {low}-{high}"
        bounds.append(number)
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        return f"range {item!r} runs backwards"
    return None


def _type_name(value: object) -> str:
    if isinstance(value, dict):
        return "table"
    return type(value).__name__
