"""Ratios, targets and the printed table of a benchmark result."""

from __future__ import annotations

from typing import Any

STAGE_NAMES = {
    "A": "fetch only (Scrapy)",
    "B": "lxml parse",
    "C0": "trafilatura, bare",
    "C": "extract_article",
    "D": "crawl+extract+archive",
    "E": "recrawl, unchanged",
    "D10k": "D at scale",
}
PEAK_MEMORY_MB = 300
SCALING_MEMORY_RATIO = 1.2


def _ratio(top: float | None, bottom: float | None) -> float | None:
    if top is None or not bottom:
        return None
    return round(top / bottom, 3)


def _get(stages: dict[str, Any], stage: str, field: str) -> Any:
    return stages.get(stage, {}).get(field)


def memory_mb(stage: dict[str, Any]) -> float | None:
    """Return a crawl's peak memory: its process tree's when sampled (see ``bench/child.py``).

    That is the crawl process's resident set plus its workers' private memory: the sum of their
    resident sets would count the libraries the crawler shares with its workers once per process.
    """
    for key in ("peak_tree_mb", "peak_total_rss_mb", "peak_rss_mb"):
        if stage.get(key) is not None:
            return float(stage[key])
    return None


def ratios(stages: dict[str, Any]) -> dict[str, float | None]:
    """Return D/C and E/A (pages/s), extraction/B (CPU per page) and the memory scaling."""
    return {
        "D/C": _ratio(_get(stages, "D", "pages_per_s"), _get(stages, "C", "pages_per_s")),
        "E/A": _ratio(_get(stages, "E", "pages_per_s"), _get(stages, "A", "pages_per_s")),
        "C/B cpu": _ratio(
            _get(stages, "C", "cpu_ms_per_page"), _get(stages, "B", "cpu_ms_per_page")
        ),
        "C0/B cpu": _ratio(
            _get(stages, "C0", "cpu_ms_per_page"), _get(stages, "B", "cpu_ms_per_page")
        ),
        "D10k/D memory": _ratio(
            memory_mb(stages["D10k"]) if "D10k" in stages else None,
            memory_mb(stages["D"]) if "D" in stages else None,
        ),
    }


def _target(name: str, value: Any, passed: bool | None) -> dict[str, Any]:
    return {"target": name, "value": value, "pass": passed}


def targets(stages: dict[str, Any], found: dict[str, float | None]) -> list[dict[str, Any]]:
    """Check the issue's targets; ``pass`` is ``None`` when a stage they need was not run."""

    def at_least(value: float | None, bound: float) -> bool | None:
        return None if value is None else value >= bound

    def at_most(value: float | None, bound: float) -> bool | None:
        return None if value is None else value <= bound

    recrawl = stages.get("E")
    quiet = None
    if recrawl is not None:
        writes = recrawl.get("objects_written", {}).get("articles", 0)
        quiet = recrawl["extracted"] == 0 and recrawl["archived"] == 0 and writes == 0
        quiet = quiet and recrawl["pages"] == _get(stages, "D", "pages")
    peak = memory_mb(stages["D"]) if "D" in stages else None
    return [
        _target("D >= 0.85 x C (pages/s)", found["D/C"], at_least(found["D/C"], 0.85)),
        _target("E >= 0.9 x A (pages/s)", found["E/A"], at_least(found["E/A"], 0.9)),
        _target(
            "E: every page asked again, 0 extractions, 0 writes",
            None
            if recrawl is None
            else {
                "pages": recrawl["pages"],
                "extracted": recrawl["extracted"],
                "archived": recrawl["archived"],
                "article_objects_written": recrawl.get("objects_written", {}).get("articles", 0),
            },
            quiet,
        ),
        _target("extraction CPU <= 15 x B", found["C/B cpu"], at_most(found["C/B cpu"], 15)),
        _target(f"D peak memory < {PEAK_MEMORY_MB} MB", peak, at_most(peak, PEAK_MEMORY_MB)),
        _target(
            f"D at 10,000 pages <= {SCALING_MEMORY_RATIO} x memory at 2,000",
            found["D10k/D memory"],
            at_most(found["D10k/D memory"], SCALING_MEMORY_RATIO),
        ),
    ]


def _cell(value: Any, width: int, digits: int = 1) -> str:
    if value is None:
        return "-".rjust(width)
    if isinstance(value, float):
        return f"{value:.{digits}f}".rjust(width)
    return str(value).rjust(width)


def table(result: dict[str, Any]) -> str:
    """Render a result as the fixed-width table the README shows."""
    machine = result["machine"]
    site = result["site"]
    lines = [
        f"newsarchive benchmark, {result['timestamp']}: {site['pages']} pages "
        f"({site['min_page_kb']}-{site['max_page_kb']} KB, mean {site['mean_page_kb']} KB); "
        f"{machine['cpu_count']} cores, {machine['usable_cpus']} usable; "
        f"Python {machine['python']}",
        f"load average (1, 5, 15 min) at start {machine['load_average_at_start']}, at end "
        f"{machine.get('load_average_at_end')}",
        "",
        f"{'stage':<28}{'pages':>6}{'pages/s':>9}{'CPU ms/pg':>10}"
        f"{'p50 ms':>8}{'p90 ms':>8}{'max ms':>8}{'peak MB':>9}",
        "-" * 86,
    ]
    for key, stage in result["stages"].items():
        extraction = stage.get("extraction") or stage
        lines.append(
            f"{key + ' ' + STAGE_NAMES.get(key, ''):<28}"
            f"{_cell(stage.get('pages'), 6)}"
            f"{_cell(stage.get('pages_per_s'), 9)}"
            f"{_cell(stage.get('cpu_ms_per_page'), 10, 2)}"
            f"{_cell(extraction.get('p50_ms'), 8)}"
            f"{_cell(extraction.get('p90_ms'), 8)}"
            f"{_cell(extraction.get('max_ms'), 8)}"
            f"{_cell(memory_mb(stage), 9)}"
        )
    lines.append("")
    found = result["ratios"]
    lines.append("ratios: " + "  ".join(f"{name} = {_cell(v, 0, 2)}" for name, v in found.items()))
    for key in ("D", "D10k"):
        crawl = result["stages"].get(key)
        if crawl is not None and crawl.get("peak_total_rss_mb") is not None:
            lines.append(
                f"{key} memory: peak {_cell(memory_mb(crawl), 0)} MB (the crawl process's resident"
                f" set and its workers' private memory); resident sets summed"
                f" {_cell(crawl['peak_total_rss_mb'], 0)} MB; the crawl process alone"
                f" {_cell(crawl['peak_rss_mb'], 0)} MB; {crawl['processes']} processes"
            )
    for key in ("A", "E"):
        rounds = result["stages"].get(key, {}).get("rounds")
        if rounds and len(rounds) > 1:
            rates = ", ".join(f"{r['pages_per_s']:.1f}" for r in rounds)
            lines.append(f"{key} pages/s by round: {rates} (the table shows the median)")
    recrawl = result["stages"].get("E")
    if recrawl is not None:
        every = f" in {len(recrawl['rounds'])} rounds" if len(recrawl.get("rounds", [])) > 1 else ""
        lines.append(
            f"E: {recrawl['pages']} pages asked again, at most {recrawl['extracted']} extracted "
            f"and {recrawl['archived']} archived in a round; objects written{every}: "
            f"{recrawl['objects_written']}"
        )
    frontier = result.get("frontier")
    if frontier:
        lines.append(
            f"per URL: duplicate filter {frontier['dupefilter']['mb_per_million']} MB per "
            f"million URLs seen; frontier {frontier['frontier']['mb_per_million']} MB per "
            "million requests waiting"
        )
    lines.append("")
    lines.append("targets:")
    for target in result["targets"]:
        mark = {True: "PASS", False: "FAIL", None: "----"}[target["pass"]]
        value = target["value"]
        shown = "not run" if value is None else value
        lines.append(f"  [{mark}] {target['target']}: {shown}")
    return "\n".join(lines)
