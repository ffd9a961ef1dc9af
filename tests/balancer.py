"""HAProxy with deploy/haproxy.cfg as shipped, in front of bichat instances given by address
(the config reads them from the environment), for tests and benchmarks/scale.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from tests.serve_process import free_port, launch_until_ready

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
COOKIE = "bichat_instance"  # deploy/haproxy.cfg: the stickiness cookie


def check_config() -> subprocess.CompletedProcess[str]:
    """``haproxy -c -f deploy/haproxy.cfg``."""
    return subprocess.run(
        [HAPROXY, "-c", "-f", str(CONFIG)], capture_output=True, text=True, check=False
    )


class Balancer:
    def __init__(self, instances: list[str], *, log: Path) -> None:
        """``instances``: ``host:port`` of each bichat (one or two: the config's servers; one
        address given twice is one instance behind both)."""
        self.instances = instances if len(instances) == 2 else [instances[0]] * 2
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout_s: float = 20) -> Balancer:
        env = os.environ | {
            "BICHAT_LB_BIND": f"127.0.0.1:{self.port}",
            "BICHAT_INSTANCE_1": self.instances[0],
            "BICHAT_INSTANCE_2": self.instances[1],
        }
        self.process = launch_until_ready(
            [HAPROXY, "-db", "-f", str(CONFIG)],
            env=env,
            cwd=None,
            log=self.log,
            ready_url=f"{self.base_url}/readyz",
            timeout_s=timeout_s,
            name="haproxy",
        )
        return self

    def marked(self, index: int, state: str) -> int:
        """How many times HAProxy has logged instance ``index`` (0, 1) as ``state`` (UP, DOWN)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text.count(f"Server bichat/bichat{index + 1} is {state}")

    def wait_marked(self, index: int, state: str, *, seen: int, timeout_s: float = 30) -> None:
        """Wait until HAProxy logs instance ``index`` as ``state`` more than ``seen`` times."""
        deadline = time.monotonic() + timeout_s
        while self.marked(index, state) <= seen:
            if time.monotonic() > deadline:
                raise AssertionError(f"HAProxy never marked instance {index + 1} {state}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
