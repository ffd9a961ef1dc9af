"""A real ``bichat serve`` in a process of its own (so that a test may kill it, or stop its
database), started with this checkout's code and the environment a test gives it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bichat_environment(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without BICHAT_ settings, plus ``settings`` (names as in
    the environment) and the checkout's code first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BICHAT_", "OPENAI_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["BICHAT_DATA_DIR"] = str(data_dir)
    return env | settings


class ServeProcess:
    def __init__(self, env: dict[str, str], *, cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout_s: float = 180) -> ServeProcess:
        """Start it and return once ``/healthz`` answers."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli.main", "serve", "--port", str(self.port)],
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bichat serve exited: {self.output()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"bichat serve did not start: {self.output()[-3000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def wait(self, timeout_s: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout_s)

    def kill(self) -> None:
        """``kill -9``: nothing of the process runs after it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def stop(self) -> None:
        """Ctrl+C, and kill if it does not end within 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()
