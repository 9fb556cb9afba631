"""Extraction in worker processes, each page under a time limit.

Extraction is CPU-bound Python (lxml, then trafilatura): in threads it holds the GIL the
reactor needs to fetch, and nothing can stop one pathological page. Here each worker process
takes one page at a time over a pipe; the calling thread waits at most ``timeout`` seconds for
the answer, then kills the worker and starts another, so a page can cost a crawl no more than
its time limit. Workers are also replaced after ``max_pages`` pages and capped in address space,
which bounds what a leak or a page built to exhaust memory can take. Workers start on first
use, so a crawl that finds nothing changed starts none.
"""

from __future__ import annotations

import contextlib
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from crawler.errors import CrawlerError, PageTooLargeError

if TYPE_CHECKING:
    from crawler.items import Article


STARTUP_TIMEOUT = 120.0
"""Seconds a new worker may take to import the extractor and say it is ready."""
STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
"""Signals that ask the crawl to stop: the crawler's to act on, never a worker's."""


class ExtractionError(CrawlerError):
    """A page could not be extracted: it raised, ran out of time, or killed its worker."""


class ExtractionTimeout(ExtractionError):
    """A page took longer than the time limit; its worker was killed."""


class ExtractionRefused(ExtractionError, PageTooLargeError):
    """The extractor refused the page as too large (see :data:`crawler.extract.MAX_ELEMENTS`)."""


@dataclass(frozen=True)
class Extracted:
    """What a worker made of one page, and what it cost."""

    article: Article | None
    seconds: float
    """Wall time in the worker."""
    cpu_seconds: float
    """CPU time of the worker for this page."""


def usable_cpus() -> int:
    """Return how many CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def serve(conn_in: Connection, conn_out: Connection, memory_limit: int) -> None:
    """Extract pages read from ``conn_in`` until told to stop (``None``) or the pipe closes."""
    if memory_limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    from crawler.extract import extract_article

    conn_out.send("ready")
    while True:
        try:
            job = conn_in.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        body, url, fetched_at, encoding = job
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            article = extract_article(body, url, fetched_at=fetched_at, encoding=encoding)
            reply: tuple[str, Any] = ("ok", article)
        except PageTooLargeError as err:
            reply = ("too_large", f"{type(err).__name__}: {err}")
        # The worker reports any failure of a page rather than die of it; the parent raises it.
        except Exception as err:  # noqa: BLE001
            reply = ("error", f"{type(err).__name__}: {err}")
        seconds = time.perf_counter() - started
        conn_out.send((*reply, seconds, time.process_time() - cpu_started))


class _Worker:
    """One worker process (``python -m crawler.extract_worker``) and the pipes to it.

    A fresh interpreter rather than a fork: the crawler's process runs a reactor and threads,
    which a fork would copy in whatever state they are in.
    """

    def __init__(self, memory_limit: int) -> None:
        # The worker ignores the stop signals meant for the crawl (see crawler.extract_worker),
        # but only once its interpreter has started. Until then it holds them blocked, a mask
        # it inherits from this thread: a signal in that window waits, then is ignored.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "crawler.extract_worker", str(memory_limit)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.send_conn = Connection(os.dup(self.process.stdin.fileno()), readable=False)
        self.recv_conn = Connection(os.dup(self.process.stdout.fileno()), writable=False)
        self.process.stdin.close()
        self.process.stdout.close()
        self.pages = 0
        try:
            ready = self.recv_conn.poll(STARTUP_TIMEOUT) and self.recv_conn.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise ExtractionError(f"an extraction worker did not start (exit code {self.exitcode})")

    @property
    def exitcode(self) -> int | None:
        """Return the worker's exit code, or None while it runs."""
        return self.process.poll()

    def stop(self) -> None:
        """Ask the worker to finish, then make sure it has."""
        with contextlib.suppress(OSError):
            self.send_conn.send(None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.kill()

    def kill(self) -> None:
        """End the worker now."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.send_conn.close()
        self.recv_conn.close()


class ExtractorPool:
    """Run :func:`~crawler.extract.extract_article` in worker processes; safe between threads.

    Call :meth:`extract` from as many threads as there are workers (more only wait). Workers
    start on first use.
    """

    def __init__(
        self,
        workers: int,
        timeout: float,
        *,
        max_pages: int = 1000,
        memory_limit: int = 0,
    ) -> None:
        if workers < 1:
            raise ValueError(f"an extractor pool needs at least one worker, not {workers}")
        self.workers = workers
        self.timeout = timeout
        self.max_pages = max_pages
        self.memory_limit = memory_limit
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(workers):
            self._idle.put(None)  # a slot; its worker starts when first needed
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self.started = 0
        """Workers started so far (one more after every timeout, crash or recycling)."""

    def extract(
        self, body: bytes, url: str, *, fetched_at: datetime, encoding: str | None
    ) -> Extracted:
        """Extract one page in a worker; raise :class:`ExtractionError` if that fails."""
        if self._closed.is_set():
            raise ExtractionError("the extractor pool is closed")
        worker = self._idle.get()
        if worker is None:
            try:
                worker = self._start()
            except BaseException:
                self._idle.put(None)  # the slot stays: the next page tries a fresh worker
                raise
        keep = True
        try:
            worker.send_conn.send((body, url, fetched_at, encoding))
            if not worker.recv_conn.poll(self.timeout):
                keep = False
                raise ExtractionTimeout(
                    f"extraction of {url} took longer than {self.timeout:g} s; worker killed"
                )
            status, value, seconds, cpu_seconds = worker.recv_conn.recv()
        except (EOFError, OSError, BrokenPipeError) as err:
            keep = False
            code = worker.exitcode
            raise ExtractionError(
                f"the extraction worker died on {url} (exit code {code}): {err!r}"
            ) from err
        finally:
            self._release(worker, keep)
        if status == "too_large":
            # A refusal by rule, not a failure: the pipeline counts it apart.
            raise ExtractionRefused(f"extraction of {url} failed: {value}")
        if status != "ok":
            raise ExtractionError(f"extraction of {url} failed: {value}")
        return Extracted(value, seconds, cpu_seconds)

    def _start(self) -> _Worker:
        worker = _Worker(self.memory_limit)
        with self._lock:
            self._all.add(worker)
            self.started += 1
        return worker

    def _release(self, worker: _Worker, keep: bool) -> None:
        worker.pages += 1
        if keep and worker.pages < self.max_pages and not self._closed.is_set():
            self._idle.put(worker)
            return
        with self._lock:
            self._all.discard(worker)
        if keep:
            worker.stop()
        else:
            worker.kill()
        # The slot stays: the next page starts a fresh worker.
        self._idle.put(None)

    def close(self) -> None:
        """Stop every worker; pages still being extracted finish first."""
        self._closed.set()
        for _ in range(self.workers):
            worker = self._idle.get()
            if worker is not None:
                with self._lock:
                    self._all.discard(worker)
                worker.stop()
        with self._lock:
            leftover, self._all = self._all, set()
        for worker in leftover:
            worker.kill()

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
