"""`--util-target`: a timed kernel in every 100 ms slice so that every 1 s utilization window
shows work, the keeper's own load never counted as busy, and a foreign load still backing it
off within the second. The fake libcuda records each spin kernel (launch time and length) and the
fake NVML adds this process's simulated kernel time over the last second to the scenario's
utilization, as the real counter does. Bounds are generous so they hold under the sanitizers."""

from __future__ import annotations

import json
import time

import test_service_cli as service_tests
from conftest import clean_env, device, run

svc = service_tests.svc  # the fixture: one user's world with a fake GPU
start_session = service_tests.start_session

MiB = 1 << 20


def spins(f) -> list[tuple[float, int]]:
    st = f.state()
    return [] if st is None else [(at, ns) for at, ns in st["devices"][0]["spin_log"]]


def wait_spins(f, count: int, timeout: float = 15.0) -> list[tuple[float, int]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = spins(f)
        if len(seen) >= count:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} spin kernels within {timeout}s: {spins(f)}")


def test_every_second_has_work_at_the_default_interval(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = start(["--vram", "16MiB", "--util-target", "10"], clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    r.wait_log("rank 0: keep-alive at 10% utilization: a 10 ms kernel every 100 ms")
    seen = wait_spins(f, 35)
    starts = [at for at, _ in seen]
    assert all(ns == 10_000_000 for _, ns in seen), "10% of each 100 ms slice"
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert max(gaps) < 1000, f"a 1 s window without a kernel: gaps {gaps}"
    per_second = (len(starts) - 1) / ((starts[-1] - starts[0]) / 1000)
    assert 5 <= per_second <= 11, per_second
    st = f.state()["devices"][0]
    assert st["relu_launches"] == 0, "no ReLU batch with a target"
    assert st["allocated_bytes"] == 16 * MiB
    assert "Utilization target: 10%" in r.log
    r.signal()
    assert r.finish() == 0, r.log
    assert f.state()["devices"][0]["allocated_bytes"] == 0
    assert "backing off" not in r.log


def test_foreign_load_stops_the_work_within_two_seconds_and_it_resumes(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = start(["--vram", "16MiB", "--util-target", "10", "--busy-threshold", "25"],
              clean_env(f.env()))
    wait_spins(f, 5)
    f.update_device(0, utilization=90)  # another process computes
    changed = time.monotonic()
    r.wait_log("backing off", timeout=5)
    assert time.monotonic() - changed < 2.5, "backed off within about a second"
    time.sleep(0.3)  # a launch that was already on its way
    stopped = f.state()["devices"][0]["spin_launches"]
    time.sleep(1.0)
    assert f.state()["devices"][0]["spin_launches"] == stopped, "no kernel while backing off"
    assert f.state()["devices"][0]["allocated_bytes"] == 16 * MiB, "the memory stays held"
    f.update_device(0, utilization=0)
    r.wait_log("resuming keep-alive", timeout=5)
    f.wait_for(lambda s: s["devices"][0]["spin_launches"] > stopped + 3, timeout=5)
    r.signal()
    assert r.finish() == 0, r.log


def test_bad_targets_are_rejected(keep_gpu_bin, fake):
    f = fake([device(0)])
    for value in ("101", "-1", "ten"):
        r = run(["--util-target", value], clean_env(f.env()))
        assert r.returncode == 1
        assert r.stdout.strip() == "Error: util_target must be an integer between 0 and 100"


def test_a_target_above_the_threshold_does_not_back_off_from_itself(svc):
    w = svc()
    start_session(w, "--job-id", "loud", "--util-target", "40", "--busy-threshold", "25")
    status = json.loads(w.run("status", "--job-id", "loud").stdout)
    assert status["params"]["util_target"] == 40
    # NVML (in the daemon) sees the keeper's own 40%: the test means something only if it does.
    deadline = time.monotonic() + 15
    utilization = 0
    while time.monotonic() < deadline:
        gpus = json.loads(w.run("list-gpus").stdout)["gpus"]
        utilization = gpus[0]["utilization"] or 0
        if utilization >= 30:
            break
        time.sleep(0.2)
    assert utilization >= 30, f"NVML never reported the keeper's load: {utilization}"
    time.sleep(1.5)  # a duty check that saw it
    gpu = json.loads(w.run("status", "--job-id", "loud").stdout)["gpus"][0]
    assert gpu["phase"] == "holding", gpu
    assert "backing off" not in (w.rt / "daemon.log").read_text()
    # Without a target the record keeps upstream's params.
    start_session(w, "--job-id", "plain")
    plain = json.loads(w.run("status", "--job-id", "plain").stdout)
    assert "util_target" not in plain["params"]
