"""`newsdedup up` as a new user runs it: embedded servers, ingest the seeds, read the stories,
Ctrl-C, and a second `up` on the same data directory finds everything again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ops import REPO_ROOT
from ops.stack import free_port, wait_for_http

SEEDS = REPO_ROOT / "seeds"


def newsdedup(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        check=False,
    )


def start_up(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDEDUP_")}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ops.cli",
                "up",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout_s=120)
    return process


def stop_with_ctrl_c(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def test_up_ingest_stories_ctrl_c_and_up_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    log = tmp_path / "up.log"
    port = free_port()
    api = f"http://127.0.0.1:{port}"

    process = start_up(data_dir, port, log)
    try:
        ingest = newsdedup("ingest", str(SEEDS), "--api", api)
        stories = newsdedup("stories", "--api", api, "--min-size", "2")
    finally:
        exit_code = stop_with_ctrl_c(process)

    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    assert ingest.stdout.count(" story ") == 5
    assert "rewrite" in stories.stdout
    assert "Poutine a proposé à Biden" in stories.stdout
    assert exit_code == 0, log.read_text()

    process = start_up(data_dir, port, log)
    try:
        again = newsdedup("stories", "--api", api, "--min-size", "2")
    finally:
        stop_with_ctrl_c(process)
    assert again.stdout == stories.stdout
