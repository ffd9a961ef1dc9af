"""`.ci/install` tells what it is doing: numbered steps with their durations; on a terminal
each step's own progress, on CI (CI=true) nothing more unless a step fails. Run here with
harmless commands in place of apt, pip and npm (the real ones would reinstall bichat)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ROOT / ".ci" / "steps.sh"
INSTALL = (ROOT / ".ci" / "install").read_text()

# two steps, the second fails; pip is stood in for by a function printing what pip prints
SCRIPT = f"""
set -euo pipefail
STEPS_TOTAL=3
source {STEPS}
python() {{ echo "Requirement already satisfied: rich in /somewhere"; echo "Installing collected packages: bichat"; }}
run_step "first step" sh -c "echo step-output; echo step-error >&2"
run_step "pip step" pip_install -e '.[test]'
run_step "failing step" sh -c "echo why-it-failed; exit 3"
echo not-reached
"""


def environment(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(changes)
    return env


def on_ci() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", SCRIPT],
        env=environment(CI="true"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def on_a_terminal() -> tuple[int, str]:
    """Run the script with a pseudo-terminal as its output, as a person's shell would."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        ["bash", "-c", SCRIPT],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=environment(TERM="xterm"),
    )
    os.close(follower)
    output = bytearray()
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the script ended
            break
        if not chunk:
            break
        output.extend(chunk)
    os.close(leader)
    return process.wait(timeout=60), output.decode().replace("\r\n", "\n")


def test_on_ci_only_the_steps_show_and_a_failure_shows_its_output():
    result = on_ci()
    assert result.returncode == 3
    lines = result.stdout.splitlines()
    assert lines[0] == "[1/3] first step"
    assert re.fullmatch(r" +done in \d+s", lines[1])
    assert lines[2] == "[2/3] pip step"
    assert lines[4] == "[3/3] failing step"
    assert "step-output" not in result.stdout + result.stderr
    assert "Installing collected packages" not in result.stdout + result.stderr
    assert "why-it-failed" in result.stderr  # the failing step's own output, to act on
    assert re.search(r"\[3/3\] failing step failed \(exit 3\) after \d+s", result.stderr)
    assert "not-reached" not in result.stdout


def test_on_a_terminal_each_step_shows_its_progress():
    status, output = on_a_terminal()
    assert status == 3
    assert "[1/3] first step\nstep-output\nstep-error\n" in output
    assert "[2/3] pip step\nInstalling collected packages: bichat\n" in output
    assert "Requirement already satisfied" not in output  # a rerun is not a wall of text
    assert "why-it-failed" in output and "not-reached" not in output


def test_the_install_script_runs_every_step_through_run_step_torch_first():
    steps = re.findall(r'^run_step "([^"]+)" (.+)$', INSTALL, flags=re.MULTILINE)
    commands = [command for _, command in steps]
    assert commands.index("pip_install torch==2.13.0") < commands.index("pip_install -e '.[test]'")
    assert f"STEPS_TOTAL={len(steps)}" in INSTALL
    bare = [line for line in INSTALL.splitlines() if re.match(r"\s*python -m pip", line)]
    assert bare == []  # nothing installs silently outside a step
