"""Run a Python program in a fresh interpreter and read the JSON it prints last.

For tests of what a whole process does (an in-process crawl, say) that must not leak into
the test process: the collector's settings, the logging configuration, the reactor.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_script(script: str, tmp_path: Path, timeout: float = 300) -> Any:
    """Run ``script`` with ``tmp_path`` as its argument and its own state folder there; return
    the JSON of its last line of output."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "ARCHIVE_STATE_DIR": str(tmp_path / "state")},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
