"""Arrow's allocator in a process that writes catalog parts as it runs (a crawl).

Arrow's bundled mimalloc keeps the pages each thread used cached for that thread. A crawl
writes its catalog parts from whichever archive thread is free, so every part grew the
crawler's resident memory for good: in a 10,000-page crawl, mimalloc's arena held 47 MB by the
end, a growth that did not stop. With the system's allocator the memory of one part is reused
by the next.
"""

from __future__ import annotations

import os
import sys

POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def prefer_system_allocator() -> None:
    """Make Arrow allocate with ``malloc`` in this process, unless ``ARROW_DEFAULT_MEMORY_POOL``
    chooses otherwise.

    Call it before pyarrow loads: Arrow reads the variable once, as it loads. Called later, it
    can only change pyarrow's own default, and Arrow's C++ code (the Parquet writer among it)
    keeps allocating from the pool Arrow chose.
    """
    os.environ.setdefault(POOL_VARIABLE, "system")
    pa = sys.modules.get("pyarrow")
    if pa is not None and os.environ[POOL_VARIABLE] == "system":
        pa.set_memory_pool(pa.system_memory_pool())
