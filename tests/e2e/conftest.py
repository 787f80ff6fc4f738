"""Shared fixtures for the black-box tests: the built binaries and a running keep-gpu process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fakegpu import FakeGpu, device  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("KEEP_GPU_BUILD", REPO / "build")).resolve()
KEEP_GPU = BUILD / "bin" / "keep-gpu"


@pytest.fixture(scope="session")
def keep_gpu_bin() -> Path:
    if not KEEP_GPU.is_file():
        pytest.fail(f"{KEEP_GPU} is missing: build first (scripts/test does)")
    return KEEP_GPU


@pytest.fixture
def fake(tmp_path):
    """A factory: fake(devices=[...], cuda={...}, nvml={...}) -> FakeGpu in tmp_path."""

    def make(devices=None, **kwargs):
        return FakeGpu(tmp_path / "fake", BUILD, devices, **kwargs)

    return make


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without anything that would change keep-gpu's logging or devices."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KEEP_GPU_", "FAKEGPU_", "CUDA_", "CONSOLE_LOG", "FILE_LOG"))}
    env.update(extra or {})
    return env


def run(args, env=None, timeout=20, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(KEEP_GPU), *args], env=env if env is not None else clean_env(),
                          capture_output=True, text=True, timeout=timeout, **kwargs)


class Running:
    """A keep-gpu process whose stderr is collected line by line."""

    def __init__(self, args, env):
        self.proc = subprocess.Popen([str(KEEP_GPU), *args], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()
        self.stdout = ""

    def _pump(self):
        for line in self.proc.stderr:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_log(self, text: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log:
                return
            if self.proc.poll() is not None:
                self._reader.join(2)
                if text in self.log:
                    return
                raise AssertionError(f"keep-gpu exited ({self.proc.returncode}) before logging "
                                     f"{text!r}:\n{self.log}")
            time.sleep(0.02)
        raise AssertionError(f"{text!r} not logged within {timeout}s:\n{self.log}")

    def signal(self, sig=signal.SIGINT) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float = 10.0) -> int:
        # stderr belongs to the reader thread; only stdout is read here.
        self.proc.wait(timeout=timeout)
        self._reader.join(2)
        self.stdout = self.proc.stdout.read()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def start():
    """start(args, env) -> Running; every process is killed at the end of the test."""
    procs: list[Running] = []

    def launch(args, env):
        r = Running(args, env)
        procs.append(r)
        return r

    yield launch
    for r in procs:
        r.kill()


__all__ = ["FakeGpu", "device", "clean_env", "run", "Running", "BUILD", "KEEP_GPU"]
