"""Settings every test shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the crawler's local state (the revisit queue) out of the working tree.

    Crawls run in child processes, which inherit this environment; a test that cares about
    the state folder passes its own ``ARCHIVE_STATE_DIR``.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ARCHIVE_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        yield


@pytest.fixture(scope="session", autouse=True)
def private_networks_allowed() -> Iterator[None]:
    """Let crawls reach the loopback servers the tests start (refused by default).

    Child processes inherit it; tests of the refusal itself remove it from their environment.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEWSARCHIVE_ALLOW_PRIVATE_NETWORKS", "1")
        yield
