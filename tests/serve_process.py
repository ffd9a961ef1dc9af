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


def scripted_model_environment(
    data_dir: Path, *, database_url: str, model_url: str, **settings: str
) -> dict[str, str]:
    """``bichat_environment`` of a server on ``database_url`` whose model is the scripted
    OpenAI-compatible server at ``model_url`` (tests/openai_server.py)."""
    return bichat_environment(
        data_dir,
        BICHAT_DATABASE_URL=database_url,
        BICHAT_MODEL="openai:gpt-4.1-mini",
        OPENAI_API_KEY="sk-test",
        OPENAI_BASE_URL=model_url,
        **settings,
    )


def launch_until_ready(
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path | None,
    log: Path,
    ready_url: str,
    timeout_s: float,
    name: str,
) -> subprocess.Popen[bytes]:
    """Start ``command`` with its output appended to ``log`` and return it once ``ready_url``
    answers 200; if it exits or does not answer within ``timeout_s``, kill it and raise
    ``RuntimeError`` with the end of its log."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {_tail(log)}")
        try:
            if httpx.get(ready_url, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    process.wait(30)
    raise RuntimeError(f"{name} did not answer: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


class ServeProcess:
    def __init__(self, env: dict[str, str], *, cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout_s: float = 180) -> ServeProcess:
        """Start it and return once ``/healthz`` answers."""
        command = [sys.executable, "-m", "app.cli.main", "serve", "--port", str(self.port)]
        self.process = launch_until_ready(
            command,
            env=self.env,
            cwd=self.cwd,
            log=self.log,
            ready_url=f"{self.base_url}/healthz",
            timeout_s=timeout_s,
            name="bichat serve",
        )
        return self

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
