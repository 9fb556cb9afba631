"""``python -m bench``: run the benchmark on loopback, print the table, write the JSON.

Stages: A fetch only, B lxml parse, C extraction (with C0, bare trafilatura), D the whole
pipeline into SeaweedFS, E a recrawl of the unchanged site, F the memory per URL of the
duplicate filter and the frontier. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.child import REPO_ROOT, BenchError, child_environ
from bench.crawls import CrawlBench, fetch_stage, median_round, pipeline_stage
from bench.parsing import parse_stages
from bench.report import ratios, table, targets
from bench.server import SiteServer
from bench.site import BenchSite
from tests.servers.seaweedfs import SeaweedFS

STAGES = ("A", "B", "C", "D", "E", "F")
DEFAULT_OUTPUT = REPO_ROOT / "bench" / "results" / "latest.json"
README = REPO_ROOT / "bench" / "README.md"
TABLE_START = "<!-- latest table -->"
TABLE_END = "<!-- end of latest table -->"


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark newsarchive on a generated news site served on loopback.",
        epilog="Stages: A fetch only, B lxml parse, C extraction (and C0, bare trafilatura), "
        "D the whole pipeline into SeaweedFS, E a recrawl of the unchanged site, F memory per "
        "URL of the duplicate filter and the frontier. See docs/performance.md.",
    )
    parser.add_argument("--pages", type=int, default=2000, help="article pages (default 2000)")
    parser.add_argument(
        "--stages",
        default=",".join(STAGES),
        help="stages to run, comma-separated (default %(default)s; E needs D)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="result JSON (default bench/results/latest.json)",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="also run D on a 10,000-page site and compare its memory with D's",
    )
    parser.add_argument("--scaling-pages", type=int, default=10_000, help=argparse.SUPPRESS)
    parser.add_argument(
        "--concurrency", type=int, default=16, help="requests at a time per host (default 16)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=7,
        help="runs of the short crawls A and E, alternated; the median is shown (default 7)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated site")
    parser.add_argument(
        "--frontier-urls", type=int, default=1_000_000, help="URLs for the duplicate filter"
    )
    parser.add_argument(
        "--frontier-requests", type=int, default=100_000, help="requests held in the frontier"
    )
    parser.add_argument("--work", type=Path, help="keep logs and summaries in this folder")
    parser.add_argument(
        "--update-readme", action="store_true", help="put the table into bench/README.md"
    )
    return parser


def _say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """Describe the machine and the software measured."""
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "software": {name: version(name) for name in ("scrapy", "trafilatura", "lxml")},
    }


def site_figures(server: SiteServer) -> dict[str, Any]:
    """Return the size of the site and of its article pages."""
    sizes = [len(body) for _, body in server.articles()]
    return {
        "pages": len(sizes),
        "listings": len(server.listing_urls()),
        "min_page_kb": round(min(sizes) / 1000),
        "max_page_kb": round(max(sizes) / 1000),
        "mean_page_kb": round(statistics.fmean(sizes) / 1000),
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Run the stages asked for; return the result."""
    wanted = {stage.strip().upper() for stage in args.stages.split(",") if stage.strip()}
    unknown = wanted - set(STAGES)
    if unknown:
        raise BenchError(f"unknown stages: {', '.join(sorted(unknown))}")
    if "E" in wanted and "D" not in wanted:
        raise BenchError("E recrawls what D archived: ask for D too")
    result: dict[str, Any] = {
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "settings": {"concurrency_per_host": args.concurrency, "seed": args.seed},
    }
    stages: dict[str, Any] = {}
    timeout = max(600.0, args.pages * 0.5)
    site = BenchSite(args.pages, args.seed)
    _say(f"rendering {args.pages} article pages")
    with SiteServer(site) as server:
        result["site"] = site_figures(server)
        crawl = CrawlBench(server, None, "bench", "main", work, args.concurrency, timeout)
        if "A" in wanted and "E" not in wanted:
            runs = []
            for number in range(1, args.rounds + 1):
                _say(f"stage A, round {number} of {args.rounds}: fetching with Scrapy alone")
                runs.append(fetch_stage(crawl))
            stages["A"] = median_round(runs)
        parse = wanted & {"B", "C"}
        if parse:
            _say(f"stages {'/'.join(sorted(parse))}: parsing and extracting in this process")
            which = {"B"} if parse == {"B"} else {"B", "C0", "C"} if "B" in parse else {"C0", "C"}
            stages.update(parse_stages(server.articles(), datetime.now(UTC), which))
        if wanted & {"D", "E"} or args.scaling:
            stages.update(_pipeline_stages(args, crawl, wanted, work, timeout))
    if "F" in wanted:
        _say("stage F: memory of the duplicate filter and the frontier")
        result["frontier"] = frontier(args.frontier_urls, args.frontier_requests)
    order = ("A", "B", "C0", "C", "D", "E", "D10k")
    result["stages"] = {key: stages[key] for key in order if key in stages}
    result["ratios"] = ratios(result["stages"])
    result["targets"] = targets(result["stages"], result["ratios"])
    return result


def _pipeline_stages(
    args: argparse.Namespace, crawl: CrawlBench, wanted: set[str], work: Path, timeout: float
) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    with SeaweedFS() as s3:
        crawl.s3 = s3
        crawl.create_bucket()
        if "D" in wanted:
            _say("stage D: newsarchive crawl into SeaweedFS")
            stages["D"] = pipeline_stage(crawl, "D")
        if "E" in wanted:
            # A and E last seconds each: they alternate, round after round, so that what the
            # machine does meanwhile falls on both alike, and each shows its median round.
            fetches, recrawls = [], []
            for number in range(1, args.rounds + 1):
                if "A" in wanted:
                    _say(f"stage A, round {number} of {args.rounds}: fetching with Scrapy alone")
                    fetches.append(fetch_stage(crawl))
                crawl.server.site.refresh_listings()
                _say(f"stage E, round {number} of {args.rounds}: the same crawl again")
                recrawls.append(pipeline_stage(crawl, "E"))
            if fetches:
                stages["A"] = median_round(fetches)
            stages["E"] = median_round(recrawls)
        if args.scaling:
            _say(f"scaling: rendering {args.scaling_pages} pages, then stage D on them")
            with SiteServer(BenchSite(args.scaling_pages, args.seed)) as big:
                scaled = CrawlBench(
                    big, s3, "bench", "scaling", work / "scaling", args.concurrency, timeout * 5
                )
                scaled.work.mkdir(exist_ok=True)
                stages["D10k"] = pipeline_stage(scaled, "D")
    return stages


def frontier(urls: int, requests: int) -> dict[str, Any]:
    """Measure the duplicate filter and the frontier in a fresh process."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.frontier", str(urls), str(requests)],
        cwd=REPO_ROOT,
        env=child_environ({}),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(f"stage F failed:\n{completed.stderr[-4000:]}")
    measured: dict[str, Any] = json.loads(completed.stdout)
    return measured


def update_readme(text: str, readme: Path = README) -> None:
    """Replace the table between the README's markers with ``text``."""
    content = readme.read_text(encoding="utf-8")
    block = f"{TABLE_START}\n```text\n{text}\n```\n{TABLE_END}"
    pattern = re.compile(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), re.S)
    if not pattern.search(content):
        raise BenchError(f"{readme} has no {TABLE_START} ... {TABLE_END} block")
    readme.write_text(pattern.sub(lambda _: block, content), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark."""
    args = build_parser().parse_args(argv)
    if args.pages < 4:
        print("python -m bench: --pages must be at least 4", file=sys.stderr)
        return 2
    if args.rounds < 1:
        print("python -m bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        if args.work is not None:
            args.work.mkdir(parents=True, exist_ok=True)
            result = run(args, args.work.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
                result = run(args, Path(tmp))
    except BenchError as err:
        print(f"python -m bench: {err}", file=sys.stderr)
        return 1
    result["bench_seconds"] = round(time.monotonic() - started, 1)
    # Other work on the machine skews every figure; the load averages show whether there was.
    result["machine"]["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    text = table(result)
    print(text)
    if args.update_readme:
        update_readme(text)
    _say(f"result written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
