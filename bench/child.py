"""Run a crawl in a child process and measure it: wall time, CPU time, peak memory.

CPU time comes from ``wait4``: the child's own and that of the worker processes it started and
reaped. The CPU it spends before its first request (interpreter start, imports, opening the
archive) is read from ``/proc`` when the site sees that request, and left out of the per-page
figures: it is paid once per run, not per page. Memory is sampled from ``/proc`` four times a
second over the child and all its descendants. The memory of the tree is the child's resident
set plus the private memory (USS) of each worker: a library page the crawler shares with its
workers counts once, and every page the crawler maps counts in full, even one it shares with
processes outside the tree (as the benchmark's own process). The plain sum of the resident sets
(which counts the shared libraries once per process) and each process's own high-water mark
are kept too.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.server import SiteServer

REPO_ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """A stage of the benchmark could not run to the end."""


@dataclass(frozen=True, slots=True)
class ChildRun:
    """How a child process ran."""

    returncode: int
    wall_s: float
    """From start to exit."""
    window_s: float
    """From the site's first request to exit: the crawl itself, with its shutdown."""
    tail_s: float
    """From the site's last request to exit: finishing the crawl once every page is asked."""
    cpu_s: float
    """User and system CPU of the whole process."""
    startup_cpu_s: float
    """CPU spent before the first request (0 when ``/proc`` is not available)."""
    peak_rss_mb: float
    """The crawl process's own peak resident set."""
    peak_total_rss_mb: float | None
    """Peak of the resident sets of the crawl process and its workers together (sampled)."""
    peak_tree_mb: float | None
    """Peak of the crawl process's resident set plus its workers' private memory (sampled)."""
    processes: int
    """Processes seen in the tree (the crawl process and every worker it started)."""
    log: Path

    def tail(self, lines: int = 40) -> str:
        """Return the end of the child's output, for error messages."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def process_cpu_seconds(pid: int) -> float | None:
    """Return the user plus system CPU seconds of a live process, from ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after its closing one.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    """Return ``pid`` and every process below it (children of any of its threads)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def _memory_kb(pid: int) -> tuple[int, int] | None:
    """Return ``(VmRSS, VmHWM)`` of a process in KiB, or ``None`` once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    values = {
        name: int(rest.split()[0])
        for name, _, rest in (line.partition(":") for line in lines)
        if name in ("VmRSS", "VmHWM")
    }
    if "VmRSS" not in values:
        return None  # a zombie has no memory left
    return values["VmRSS"], values.get("VmHWM", values["VmRSS"])


def _private_kb(pid: int) -> int | None:
    """Return the memory only this process maps (USS) in KiB, or ``None`` if unreadable."""
    total = None
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total = (total or 0) + int(line.split()[1])
    except OSError:
        return None
    return total


class MemorySampler(threading.Thread):
    """Sample the resident memory of a process tree until :meth:`stop`."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_total_kb = 0
        self.peak_tree_kb = 0
        self.peak_own_kb = 0
        self.seen: set[int] = set()
        self._stopped = threading.Event()

    def run(self) -> None:
        if not Path("/proc/self/status").exists():
            return
        while not self._stopped.is_set():
            total = tree = 0
            for pid in _descendants(self.pid):
                memory = _memory_kb(pid)
                if memory is None:
                    continue
                self.seen.add(pid)
                total += memory[0]
                if pid == self.pid:
                    tree += memory[0]
                    self.peak_own_kb = max(self.peak_own_kb, memory[1])
                else:
                    private = _private_kb(pid)
                    tree += memory[0] if private is None else private
            self.peak_total_kb = max(self.peak_total_kb, total)
            self.peak_tree_kb = max(self.peak_tree_kb, tree)
            self._stopped.wait(self.interval)

    def stop(self) -> None:
        """Stop sampling and wait for the thread to end."""
        self._stopped.set()
        self.join()


def child_environ(extra: dict[str, str]) -> dict[str, str]:
    """Return the environment of a child: ours without AWS variables, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env.update(extra)
    return env


def run_child(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    server: SiteServer,
    log: Path,
    timeout: float,
) -> ChildRun:
    """Run ``argv`` from the repository root; return its measurements once it exits."""
    server.reset()
    startup: dict[str, float] = {}
    pid: list[int] = []

    def first_request() -> None:
        cpu = process_cpu_seconds(pid[0]) if pid else None
        if cpu is not None:
            startup["cpu"] = cpu

    server.on_first_request = first_request
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(argv),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    pid.append(process.pid)
    sampler = MemorySampler(process.pid)
    sampler.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        timer.cancel()
        sampler.stop()
        server.on_first_request = None
    ended = time.monotonic()
    # wait4 reaped the child; tell Popen so it does not wait for it again.
    process.returncode = os.waitstatus_to_exitcode(status)
    first = server.first_request or ended
    return ChildRun(
        returncode=process.returncode,
        wall_s=ended - started,
        window_s=ended - first,
        tail_s=ended - (server.last_request or ended),
        cpu_s=usage.ru_utime + usage.ru_stime,
        startup_cpu_s=startup.get("cpu", 0.0),
        # ru_maxrss of wait4 is the largest of the child and its reaped workers.
        peak_rss_mb=(sampler.peak_own_kb or usage.ru_maxrss) / 1024,
        peak_total_rss_mb=sampler.peak_total_kb / 1024 if sampler.peak_total_kb else None,
        peak_tree_mb=sampler.peak_tree_kb / 1024 if sampler.peak_tree_kb else None,
        processes=len(sampler.seen),
        log=log,
    )
