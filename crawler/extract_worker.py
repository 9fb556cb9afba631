"""Entry point of an extraction worker process: ``python -m crawler.extract_worker LIMIT``.

The parent talks to it over stdin and stdout (pickled messages, see
:mod:`crawler.extract_pool`); anything else the worker would print goes to stderr instead, so it
cannot corrupt the conversation.
"""

from __future__ import annotations

import os
import signal
import sys
from multiprocessing.connection import Connection

from crawler.extract_pool import STOP_SIGNALS, serve


def main() -> None:
    """Serve the parent on stdin/stdout until it says stop."""
    # A stop signal to the crawl's process group (the scheduler's, a terminal's Ctrl-C) is for
    # the crawler: it finishes the pages in flight, then closes the pool. A worker killed by it
    # would fail those pages. A worker whose parent is gone sees its pipe close and exits.
    # The pool starts a worker with these signals blocked; one sent meanwhile is discarded now.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    memory_limit = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    conn_in = Connection(os.dup(0), writable=False)
    conn_out = Connection(os.dup(1), readable=False)
    # From here on, fd 1 is stderr: a stray print must not land in the pipe to the parent.
    os.dup2(2, 1)
    os.close(0)
    serve(conn_in, conn_out, memory_limit)


if __name__ == "__main__":
    main()
