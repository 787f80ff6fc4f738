"""keep-gpu in blocking mode against the fake driver libraries: exact bytes held, batches
launched, backoff, signals, rollback, retry, visibility masks, missing driver or GPU."""

import json
import signal
import time

import pytest

from conftest import BUILD, clean_env, device, run

MiB = 1 << 20
GiB = 1 << 30
FAST = ["--interval", "0.2", "--busy-threshold", "-1"]


def dev_state(st, index):
    return st["devices"][index]


def test_holds_exact_bytes_launches_and_releases_on_sigint(keep_gpu_bin, fake, start):
    f = fake([device(0), device(1), device(2)])
    r = start(["--gpu-ids", "0,2", "--vram", "64MiB", *FAST], clean_env(f.env()))
    r.wait_log("Keeping GPUs awake. Press Ctrl+C to exit.")
    st = f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 64 * MiB
                    and dev_state(s, 2)["allocated_bytes"] == 64 * MiB
                    and dev_state(s, 0)["relu_launches"] > 0 and dev_state(s, 2)["relu_launches"] > 0,
                    timeout=10)
    assert dev_state(st, 1)["allocations"] == 0 and dev_state(st, 1)["contexts_live"] == 0
    assert dev_state(st, 0)["last_kernel_elements"] == 64 * MiB // 4
    assert dev_state(st, 0)["fill_launches"] >= 1
    t0 = time.monotonic()
    r.signal(signal.SIGINT)
    assert r.finish() == 0, r.log
    assert time.monotonic() - t0 < 2.0
    st = f.state()
    for i in (0, 2):
        assert dev_state(st, i)["allocated_bytes"] == 0
        assert dev_state(st, i)["contexts_live"] == 0, "the context is destroyed, not just the buffer"
    assert "Interruption received. Releasing GPUs..." in r.log
    assert "Using specified visible GPU ordinals: [0, 2]" in r.log
    assert "GPU count: 2" in r.log


def test_sigterm_releases_everything(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = start(["--vram", "32MiB", *FAST], clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 32 * MiB, timeout=10)
    t0 = time.monotonic()
    r.signal(signal.SIGTERM)
    assert r.finish() == 0, r.log
    assert time.monotonic() - t0 < 2.0
    st = f.state()
    assert dev_state(st, 0)["allocated_bytes"] == 0 and dev_state(st, 0)["contexts_live"] == 0
    assert "Using all available GPUs" in r.log


def test_release_is_quick_on_a_slow_gpu(keep_gpu_bin, fake, start):
    # Each launch takes 5 ms: a 5000-launch batch would take 25 s; the stop is seen between
    # launches, so release still finishes well within 2 s.
    f = fake([device(0)], cuda={"faults": {"0": {"launch_delay_us": 5000}}})
    r = start(["--vram", "16MiB", "--interval", "1", "--busy-threshold", "-1"], clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    f.wait_for(lambda s: dev_state(s, 0)["relu_launches"] >= 100, timeout=10)
    t0 = time.monotonic()
    r.signal()
    assert r.finish() == 0, r.log
    assert time.monotonic() - t0 < 2.0
    assert dev_state(f.state(), 0)["relu_launches"] < 5000


def test_backs_off_while_busy_and_resumes(keep_gpu_bin, fake, start):
    f = fake([device(0, utilization=90)])
    r = start(["--vram", "16MiB", "--interval", "0.1", "--busy-threshold", "25"],
              clean_env(f.env()))
    r.wait_log("deferring allocation")
    r.wait_log("Keeping GPUs awake")
    time.sleep(0.5)
    assert dev_state(f.state(), 0)["allocations"] == 0, "nothing is allocated while busy"
    f.update_device(0, utilization=3)
    f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 16 * MiB
               and dev_state(s, 0)["relu_launches"] > 0, timeout=10)
    f.update_device(0, utilization=95)
    r.wait_log("backing off")
    time.sleep(0.3)  # let a batch in flight finish
    launches = dev_state(f.state(), 0)["relu_launches"]
    time.sleep(0.6)
    st = f.state()
    assert dev_state(st, 0)["relu_launches"] == launches, "no batches while the GPU is busy"
    assert dev_state(st, 0)["allocated_bytes"] == 16 * MiB, "memory stays held while busy"
    f.update_device(0, utilization=0)
    r.wait_log("resuming keep-alive")
    f.wait_for(lambda s: dev_state(s, 0)["relu_launches"] > launches, timeout=10)
    r.signal()
    assert r.finish() == 0


def test_unreadable_utilization_defers_and_warns(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = start(["--vram", "16MiB", "--interval", "0.1"], clean_env(f.env(nvml=False)))
    r.wait_log("GPU utilization unavailable or busy (n/a), deferring allocation")
    r.wait_log("GPU utilization is unavailable, so no memory is held")
    assert dev_state(f.state(), 0)["allocations"] == 0
    r.signal()
    assert r.finish() == 0


def test_rollback_when_the_second_gpu_fails_to_start(keep_gpu_bin, fake):
    f = fake([device(0), device(1)], cuda={"faults": {"1": {"ctx_error": 2}}})
    r = run(["--vram", "32MiB", *FAST], env=clean_env(f.env()))
    assert r.returncode == 1
    assert "out of memory" in r.stderr
    assert "Keeping GPUs awake" not in r.stderr
    st = f.state()
    assert dev_state(st, 0)["allocations"] == 1, "GPU 0 had started"
    assert dev_state(st, 0)["allocated_bytes"] == 0 and dev_state(st, 0)["contexts_live"] == 0
    assert r.stdout == ""


def test_retries_while_memory_is_short(keep_gpu_bin, fake, start):
    f = fake([device(0, total_memory=1 * GiB, foreign_used=900 * MiB)])
    r = start(["--vram", "256MiB", *FAST], clean_env(f.env()))
    r.wait_log("does not fit in free GPU memory now; retrying every")
    r.wait_log("Keeping GPUs awake")
    assert dev_state(f.state(), 0)["allocated_bytes"] == 0
    f.update_device(0, foreign_used=0)
    f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 256 * MiB, timeout=10)
    r.signal()
    assert r.finish() == 0


def test_request_larger_than_the_gpu_fails_at_once(keep_gpu_bin, fake):
    f = fake([device(0, total_memory=16 * GiB)])
    r = run(["--vram", "32GiB", *FAST], env=clean_env(f.env()))
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert "GPU 0" in last and "32.0 GiB" in last and "16.0 GiB" in last, last
    assert dev_state(f.state(), 0)["allocations"] == 0


@pytest.mark.parametrize("mask", ["GPU-abc123-dead-beef", "gpu-ABC123", "2"])
def test_visibility_masks_map_telemetry_to_the_right_gpu(keep_gpu_bin, fake, start, mask):
    # Only physical GPU 2 is idle; the keeper must read GPU 2's utilization for visible ordinal 0.
    f = fake([device(0, utilization=100), device(1, utilization=100),
              device(2, uuid="GPU-abc123-dead-beef", utilization=0)])
    r = start(["--gpu-ids", "0", "--vram", "16MiB", "--interval", "0.1", "--busy-threshold", "25"],
              clean_env(f.env(cuda_visible_devices=mask)))
    r.wait_log("Keeping GPUs awake")
    st = f.wait_for(lambda s: dev_state(s, 2)["allocated_bytes"] == 16 * MiB, timeout=10)
    assert dev_state(st, 0)["allocations"] == 0 and dev_state(st, 1)["allocations"] == 0
    r.signal()
    assert r.finish() == 0


def test_ambiguous_uuid_prefix_makes_telemetry_unavailable(keep_gpu_bin, fake, start):
    f = fake([device(0, uuid="GPU-aaaa-1", utilization=0), device(1, uuid="GPU-aaaa-2")])
    # The CUDA fake, like the driver, cannot resolve an ambiguous prefix either: no device.
    r = run(["--vram", "16MiB", "--interval", "0.1"],
            env=clean_env(f.env(cuda_visible_devices="GPU-aaaa")))
    assert r.returncode == 1
    assert "No GPUs available" in r.stderr


def test_ordinal_beyond_the_visible_count(keep_gpu_bin, fake):
    f = fake([device(0)])
    r = run(["--gpu-ids", "1", *FAST], env=clean_env(f.env()))
    assert r.returncode == 1
    assert "gpu_ids must be visible device ordinals less than 1; got [1]" in r.stderr
    assert r.stdout == ""


def test_no_gpu_present(keep_gpu_bin, fake):
    f = fake([])
    r = run(FAST, env=clean_env(f.env()))
    assert r.returncode == 1
    assert "No GPUs available" in r.stderr


def test_no_driver_library(keep_gpu_bin, tmp_path):
    env = clean_env({"KEEP_GPU_LIBCUDA": str(tmp_path / "missing" / "libcuda.so.1"),
                     "KEEP_GPU_LIBNVML": str(tmp_path / "missing" / "libnvidia-ml.so.1"),
                     "LD_LIBRARY_PATH": str(tmp_path)})
    r = run(FAST, env=env)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("UnsupportedControllerPlatformError: ")
    assert "libcuda.so.1" in last
    assert r.stdout == ""


def test_platform_override_cpu(keep_gpu_bin, fake):
    f = fake([device(0)])
    r = run(FAST, env=clean_env(f.env() | {"KEEP_GPU_PLATFORM": "cpu"}))
    assert r.returncode == 1
    assert "Using KEEP_GPU_PLATFORM=cpu override" in r.stderr
    assert dev_state(f.state() or {"devices": [{"allocations": 0}]}, 0)["allocations"] == 0


def test_log_lines_for_interval_threshold_and_deprecations(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = start(["--interval", "0.5", "--threshold", "2GiB", "--busy-threshold", "-1"],
              clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    r.signal()
    assert r.finish() == 0
    assert "Check interval: 0.5 seconds" in r.log
    assert "VRAM to keep occupied: 2GiB" in r.log
    assert "Busy threshold: unconditional (utilization backoff disabled)" in r.log
    assert "Busy threshold: -1%" not in r.log
    assert "`--threshold` for VRAM is deprecated; use `--vram`." in r.stdout

    r = start(["--interval", "1e+3", "--threshold", "30", "--busy-threshold", "-1"],
              clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    r.signal()
    assert r.finish() == 0
    assert "Check interval: 1000 seconds" in r.log
    assert "Busy threshold: 30%" in r.log
    assert "`--threshold` for utilization is deprecated; use `--busy-threshold`." in r.stdout


def test_json_log_format_and_log_file(keep_gpu_bin, fake, start, tmp_path):
    f = fake([device(0)])
    log_file = tmp_path / "keep.log"
    r = start(["--vram", "8MiB", *FAST, "--log-format", "json", "--log-file", str(log_file)],
              clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    r.signal()
    assert r.finish() == 0
    records = [json.loads(line) for line in r.lines]
    assert {"time", "level", "logger", "source", "message"} <= set(records[0])
    assert any(rec["logger"] == "keep_gpu.cli" and rec["level"] == "INFO"
               and rec["message"] == "Keeping GPUs awake. Press Ctrl+C to exit." for rec in records)
    assert "Interruption received. Releasing GPUs..." in log_file.read_text()


def test_console_log_level_env(keep_gpu_bin, fake, start):
    f = fake([device(0, utilization=100)])
    r = start(["--vram", "8MiB", "--interval", "0.05"],
              clean_env(f.env() | {"CONSOLE_LOG_LEVEL": "DEBUG"}))
    r.wait_log("Keeping GPUs awake")
    r.wait_log("[DEBUG]")
    r.signal()
    assert r.finish() == 0
    line = next(l for l in r.lines if "Keeping GPUs awake" in l)
    assert " [INFO] keep_gpu.cli (" in line


def test_hung_release_times_out_and_a_second_signal_exits_at_once(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = start(["--vram", "8MiB", "--interval", "0.1", "--busy-threshold", "-1"], clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    f.wait_for(lambda s: dev_state(s, 0)["relu_launches"] > 0, timeout=10)
    f.set_faults(0, sync_hang=True)
    time.sleep(0.5)
    r.signal()
    r.wait_log("Interruption received")
    time.sleep(0.3)
    t0 = time.monotonic()
    r.signal()
    rc = r.finish(timeout=5)
    assert rc == 128 + signal.SIGINT
    assert time.monotonic() - t0 < 1.0


def test_hung_release_reports_the_timeout(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = start(["--vram", "8MiB", "--interval", "0.1", "--busy-threshold", "-1"], clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    f.wait_for(lambda s: dev_state(s, 0)["relu_launches"] > 0, timeout=10)
    f.set_faults(0, sync_hang=True)
    time.sleep(0.5)
    r.signal()
    rc = r.finish(timeout=10)
    assert rc == 1
    assert ("RuntimeError: Failed to release GPU controllers: rank 0: keep thread did not stop "
            "within 2.1s") in r.log


def test_example_program_uses_the_public_api(keep_gpu_bin, fake):
    import subprocess
    f = fake([device(0)])
    r = subprocess.run([str(BUILD / "bin" / "hold_gpu"), "0.3"], env=clean_env(f.env()),
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert "held 67108864 bytes on 1 GPU(s)" in r.stdout
    assert "released" in r.stdout
    st = f.state()
    assert dev_state(st, 0)["allocations"] == 1
    assert dev_state(st, 0)["allocated_bytes"] == 0 and dev_state(st, 0)["contexts_live"] == 0
