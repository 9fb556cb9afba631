"""The container's entry command, run outside Docker exactly as the Dockerfile declares it.

The Dockerfile's ENTRYPOINT and CMD (JSON form) are read, ``--once`` is appended, and the
sources, archive and state folder are given through the environment, as an operator would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.demosite.server import DemoSite
from tests.scheduler_support import (
    FAST_SETTINGS,
    child_env,
    demo_sources,
    expected_article_count,
    run_records,
    version_files,
)

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"


def exec_form(text: str) -> tuple[list[str], list[str]]:
    """Return the ENTRYPOINT and CMD of a Dockerfile's final stage (JSON form only)."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    last_from = max((i for i, (k, _) in enumerate(instructions) if k == "FROM"), default=-1)
    found: dict[str, list[str]] = {"ENTRYPOINT": [], "CMD": []}
    for keyword, rest in instructions[last_from + 1 :]:
        if keyword in found:
            try:
                value = json.loads(rest)
            except ValueError as err:
                raise AssertionError(f"{keyword} is not in JSON form: {rest}") from err
            assert isinstance(value, list), f"{keyword} is not a JSON list: {rest}"
            assert all(isinstance(v, str) for v in value), f"{keyword}: {rest}"
            found[keyword] = value
    return found["ENTRYPOINT"], found["CMD"]


def test_exec_form_reads_the_final_stage() -> None:
    text = (
        "FROM python:3.11-slim AS build\n"
        'ENTRYPOINT ["pip"]\n'
        "# the runtime image\n"
        "FROM python:3.11-slim\n"
        "RUN pip install newsarchive \\\n"
        "    && true\n"
        'ENTRYPOINT ["newsarchive", \\\n'
        '            "schedule"]\n'
        'CMD ["--metrics-port", "9410"]\n'
    )
    assert exec_form(text) == (["newsarchive", "schedule"], ["--metrics-port", "9410"])
    with pytest.raises(AssertionError, match="JSON form"):
        exec_form("FROM scratch\nENTRYPOINT newsarchive schedule\n")


@pytest.fixture(scope="module")
def site() -> Iterator[DemoSite]:
    with DemoSite() as running:
        running.set_edition(1)
        yield running


def test_the_container_command_archives_the_demo_site(site: DemoSite, tmp_path: Path) -> None:
    if not DOCKERFILE.exists():
        pytest.skip(f"{DOCKERFILE.name} is not at the repository root: nothing to run")
    entrypoint, cmd = exec_form(DOCKERFILE.read_text(encoding="utf-8"))
    assert entrypoint, "the Dockerfile declares no ENTRYPOINT"
    command = [*entrypoint, *cmd, "--once"]
    sources = demo_sources(site, tmp_path / "sources.toml")
    work = tmp_path / "work"
    work.mkdir()
    # The venv's scripts (`newsarchive`) first on PATH, as they are in the image.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = child_env(
        PATH=path,
        ARCHIVE_SOURCES=str(sources),
        ARCHIVE_URI=str(tmp_path / "archive"),
        ARCHIVE_STATE_DIR=str(tmp_path / "state"),
        ARCHIVE_CRAWL_SETTINGS=FAST_SETTINGS,
    )
    result = subprocess.run(
        command,
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    for outlet in site.outlets:
        assert any(
            line.startswith(outlet) and " ok " in line for line in result.stdout.splitlines()
        ), result.stdout
    assert len(version_files(tmp_path / "archive")) == expected_article_count()
    # One run per source and one revisit run.
    assert len(run_records(tmp_path / "state")) == len(site.outlets) + 1
    assert list(work.iterdir()) == []  # nothing written outside the configured folders
