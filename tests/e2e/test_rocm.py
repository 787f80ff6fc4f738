"""keep-gpu against the fake AMD stack (fake libamdhip64, libhiprtc and librocm_smi64; no NVIDIA
libraries) with KEEP_GPU_PLATFORM unset: platform detection, exact bytes held, hiprtc kernels and
the kernel-free fallback, backoff on ROCm SMI busy percent, signals, ROCm masks, rollback, the
service and list-gpus. One test runs Debian's real ROCm SMI library on this GPU-less
machine."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

from conftest import clean_env, device, run

MiB = 1 << 20
GiB = 1 << 30
FAST = ["--interval", "0.2", "--busy-threshold", "-1"]
ARCH = "gfx90a:sramecc+:xnack-"
DEBIAN_ROCM_SMI = Path("/usr/lib/librocm_smi64.so.1")


def amd(index: int, **fields):
    """A device entry named like an AMD GPU."""
    return device(index, name=f"AMD Instinct MI210 #{index}", **fields)


def amd_env(f, extra: dict[str, str] | None = None, **kwargs) -> dict[str, str]:
    """The fake AMD host: no NVIDIA library, no inherited ROCm masks, no platform override."""
    base = {k: v for k, v in clean_env(extra).items()
            if k not in ("ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")}
    return f.env(base, **kwargs)


def dev_state(st, index):
    return st["devices"][index]


@pytest.fixture
def amd_fake(fake):
    def make(devices=None, **kwargs):
        return fake(devices if devices is not None else [amd(0)], vendor="amd", **kwargs)
    return make


def test_holds_exact_bytes_with_hiprtc_kernels_and_releases_on_sigint(keep_gpu_bin, amd_fake,
                                                                      start):
    f = amd_fake([amd(0), amd(1), amd(2)])
    r = start(["--gpu-ids", "0,2", "--vram", "64MiB", *FAST], amd_env(f))
    r.wait_log("Keeping GPUs awake. Press Ctrl+C to exit.")
    st = f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 64 * MiB
                    and dev_state(s, 2)["allocated_bytes"] == 64 * MiB
                    and dev_state(s, 0)["relu_launches"] > 0 and dev_state(s, 2)["relu_launches"] > 0,
                    timeout=10)
    assert dev_state(st, 1)["allocations"] == 0
    assert dev_state(st, 0)["last_kernel_elements"] == 64 * MiB // 4
    assert dev_state(st, 0)["fill_launches"] == 1 and dev_state(st, 0)["copies"] == 0
    assert st["hiprtc"]["compiles"] == 1, "one compile serves both GPUs of the same architecture"
    assert f"--gpu-architecture={ARCH}" in st["hiprtc"]["last_options"]
    assert st["cuda_init_calls"] == 0 and st["nvml"]["init_calls"] == 0
    assert st["rsmi"]["init_refcount"] == 1
    t0 = time.monotonic()
    r.signal(signal.SIGINT)
    assert r.finish() == 0, r.log
    assert time.monotonic() - t0 < 2.0
    st = f.state()
    for i in (0, 2):
        assert dev_state(st, i)["allocated_bytes"] == 0 and dev_state(st, i)["frees"] == 1
    # One rsmi_init for every keeper and query, returned once at the end.
    assert st["rsmi"]["calls"] == ["init", "shutdown"] and st["rsmi"]["init_refcount"] == 0
    assert "Detected computing platform: rocm" in r.log
    assert "keep_gpu.single_gpu_controller.rocm_gpu_controller" in r.log
    assert f"rank 0: keep-alive kernels compiled by hiprtc for {ARCH}" in r.log
    assert "rank 0: ROCm keep thread started" in r.log
    assert "rank 2: ROCm keep thread started" in r.log
    assert "rank 0: keep thread stopped & cache cleared" in r.log
    assert "Using specified visible GPU ordinals: [0, 2]" in r.log


def test_sigterm_releases_everything(keep_gpu_bin, amd_fake, start):
    f = amd_fake()
    r = start(["--vram", "32MiB", *FAST], amd_env(f))
    r.wait_log("Keeping GPUs awake")
    f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 32 * MiB, timeout=10)
    r.signal(signal.SIGTERM)
    assert r.finish() == 0, r.log
    st = f.state()
    assert dev_state(st, 0)["allocated_bytes"] == 0
    assert st["rsmi"]["init_refcount"] == 0


def test_kernel_free_fallback_without_hiprtc(keep_gpu_bin, amd_fake, start):
    f = amd_fake()
    r = start(["--vram", "16MiB", *FAST], amd_env(f, hiprtc=False))
    r.wait_log("Keeping GPUs awake")
    st = f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 16 * MiB
                    and dev_state(s, 0)["copies"] >= 32, timeout=10)
    assert dev_state(st, 0)["memsets"] == 1
    assert dev_state(st, 0)["relu_launches"] == 0 and dev_state(st, 0)["fill_launches"] == 0
    # Each pass moves the whole buffer: half onto half and back.
    assert dev_state(st, 0)["copy_bytes"] == dev_state(st, 0)["copies"] * 8 * MiB
    r.signal()
    assert r.finish() == 0, r.log
    assert dev_state(f.state(), 0)["allocated_bytes"] == 0
    assert "hiprtc is not available" in r.log
    assert "keeping the GPU busy with device-to-device copies instead of kernels" in r.log


def test_backs_off_while_busy_and_resumes(keep_gpu_bin, amd_fake, start):
    f = amd_fake([amd(0, utilization=90)])
    r = start(["--vram", "16MiB", "--interval", "0.1", "--busy-threshold", "25"], amd_env(f))
    r.wait_log("rank 0: GPU utilization unavailable or busy (90%), deferring allocation")
    r.wait_log("Keeping GPUs awake")
    time.sleep(0.5)
    st = f.state()
    assert dev_state(st, 0)["allocations"] == 0, "nothing is allocated while busy"
    assert st["rsmi"]["busy_percent_calls"][:3] == [0, 0, 0]
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


def test_without_rocm_smi_telemetry_is_unavailable(keep_gpu_bin, amd_fake, start):
    f = amd_fake()
    r = start(["--vram", "16MiB", "--interval", "0.1"], amd_env(f, smi=False))
    r.wait_log("GPU utilization unavailable or busy (n/a), deferring allocation")
    r.wait_log("GPU utilization is unavailable, so no memory is held")
    assert dev_state(f.state(), 0)["allocations"] == 0
    r.signal()
    assert r.finish() == 0
    # With the backoff disabled the same host holds memory.
    r = start(["--vram", "16MiB", *FAST], amd_env(f, smi=False))
    r.wait_log("Keeping GPUs awake")
    f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 16 * MiB, timeout=10)
    r.signal()
    assert r.finish() == 0


@pytest.mark.parametrize("masks", [
    {"rocr_visible_devices": "2"},
    {"hip_visible_devices": "2"},
    {"cuda_visible_devices": "2"},
    {"rocr_visible_devices": "1,2", "hip_visible_devices": "1"},
    {"hip_visible_devices": "2", "cuda_visible_devices": "2"},
])
def test_masks_map_telemetry_to_the_right_smi_index(keep_gpu_bin, amd_fake, start, masks):
    # Only physical GPU 2 is idle; the keeper must read SMI index 2 for visible ordinal 0.
    f = amd_fake([amd(0, utilization=100), amd(1, utilization=100), amd(2, utilization=0)])
    r = start(["--gpu-ids", "0", "--vram", "16MiB", "--interval", "0.1", "--busy-threshold", "25"],
              amd_env(f, **masks))
    r.wait_log("Keeping GPUs awake")
    st = f.wait_for(lambda s: dev_state(s, 2)["allocated_bytes"] == 16 * MiB, timeout=10)
    assert dev_state(st, 0)["allocations"] == 0 and dev_state(st, 1)["allocations"] == 0
    assert set(st["rsmi"]["busy_percent_calls"]) == {2}
    r.signal()
    assert r.finish() == 0


def test_conflicting_hip_and_cuda_masks_never_guess(keep_gpu_bin, amd_fake, start):
    # HIP takes HIP_VISIBLE_DEVICES (device 2); CUDA_VISIBLE_DEVICES says 1: telemetry unavailable.
    f = amd_fake([amd(0), amd(1), amd(2)])
    r = start(["--vram", "16MiB", "--interval", "0.1"],
              amd_env(f, hip_visible_devices="2", cuda_visible_devices="1"))
    r.wait_log("GPU utilization unavailable or busy (n/a), deferring allocation")
    r.wait_log("Keeping GPUs awake")
    time.sleep(0.3)
    st = f.state()
    assert st["hip"]["visible"] == [2]
    assert all(d["allocations"] == 0 for d in st["devices"])
    assert st["rsmi"]["busy_percent_calls"] == [], "an ambiguous mapping is never queried"
    r.signal()
    assert r.finish() == 0


def test_startup_failure_rolls_back_and_balances_rocm_smi(keep_gpu_bin, amd_fake):
    f = amd_fake([amd(0), amd(1)], hip={"faults": {"1": {"set_device_error": 101}}})
    r = run(["--vram", "32MiB", *FAST], env=amd_env(f))
    assert r.returncode == 1
    assert "rank 1: ROCm startup failed: invalid device ordinal" in r.stderr
    assert "Keeping GPUs awake" not in r.stderr
    st = f.state()
    assert dev_state(st, 0)["allocations"] == 1, "GPU 0 had started"
    assert dev_state(st, 0)["allocated_bytes"] == 0
    assert st["rsmi"]["init_refcount"] == 0
    assert st["rsmi"]["init_calls"] == st["rsmi"]["shutdown_calls"] >= 1
    assert r.stdout == ""


def test_retries_while_memory_is_short(keep_gpu_bin, amd_fake, start):
    f = amd_fake([amd(0, total_memory=1 * GiB, foreign_used=900 * MiB)])
    r = start(["--vram", "256MiB", *FAST], amd_env(f))
    r.wait_log("rank 0: failed to allocate tensor (attempt 1): out of memory")
    r.wait_log("does not fit in free GPU memory now; retrying every")
    r.wait_log("Keeping GPUs awake")
    # Upstream's ROCm wording counts the attempts.
    r.wait_log("rank 0: failed to allocate tensor (attempt 2): out of memory")
    assert dev_state(f.state(), 0)["allocated_bytes"] == 0
    f.update_device(0, foreign_used=0)
    f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 256 * MiB, timeout=10)
    r.signal()
    assert r.finish() == 0


def test_hung_release_reports_the_rocm_timeout(keep_gpu_bin, amd_fake, start):
    f = amd_fake()
    r = start(["--vram", "8MiB", "--interval", "0.1", "--busy-threshold", "-1"], amd_env(f))
    r.wait_log("Keeping GPUs awake")
    f.wait_for(lambda s: dev_state(s, 0)["relu_launches"] > 0, timeout=10)
    f.set_faults(0, sync_hang=True)
    time.sleep(0.5)
    r.signal()
    assert r.finish(timeout=10) == 1
    assert "rank 0: ROCm keep thread did not stop within 2.1s" in r.log


def test_no_amd_gpu_means_no_platform(keep_gpu_bin, amd_fake):
    f = amd_fake([])
    r = run(FAST, env=amd_env(f))
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("UnsupportedControllerPlatformError: "), last
    assert f.state()["rsmi"]["calls"] == ["init", "shutdown"], "the SMI probe is balanced"


def test_platform_override_rocm(keep_gpu_bin, amd_fake, start):
    f = amd_fake()
    r = start(["--vram", "8MiB", *FAST], amd_env(f, {"KEEP_GPU_PLATFORM": "ROCm"}))
    r.wait_log("Keeping GPUs awake")
    r.signal()
    assert r.finish() == 0
    assert "Using KEEP_GPU_PLATFORM=rocm override" in r.log
    assert f.state()["hip"]["init_calls"] >= 1


@pytest.mark.skipif(not DEBIAN_ROCM_SMI.exists(),
                    reason="Debian's librocm-smi64-1 is not installed (scripts/setup installs it)")
@pytest.mark.skipif(Path("/dev/kfd").exists(), reason="this machine has an AMD GPU driver")
def test_real_rocm_smi_library_reports_no_amd_gpu(keep_gpu_bin, tmp_path):
    # No NVIDIA library and no HIP runtime; ROCm SMI is Debian's, found by the default search.
    missing = tmp_path / "missing"
    env = clean_env({"KEEP_GPU_LIBCUDA": str(missing / "libcuda.so.1"),
                     "KEEP_GPU_LIBNVML": str(missing / "libnvidia-ml.so.1"),
                     "KEEP_GPU_LIBHIP": str(missing / "libamdhip64.so"),
                     "KEEP_GPU_LIBHIPRTC": str(missing / "libhiprtc.so"),
                     "LD_LIBRARY_PATH": str(tmp_path),
                     "CONSOLE_LOG_LEVEL": "DEBUG"})
    r = run(FAST, env=env, timeout=30)
    assert r.returncode == 1, r.stderr
    assert "ROCm SMI unavailable: " in r.stderr
    assert "Detected computing platform: cpu" in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("UnsupportedControllerPlatformError: "), last
    assert "ROCm" in last
    assert "terminate called" not in r.stderr and r.stdout == ""
    assert not any(noise in r.stderr for noise in ROCM_SMI_NOISE), r.stderr
    # Forcing the platform reaches the real library through the ROCm backend: no GPU, cleanly.
    env["KEEP_GPU_LIBROCM_SMI"] = str(DEBIAN_ROCM_SMI)
    env["KEEP_GPU_PLATFORM"] = "rocm"
    r = run(FAST, env=env, timeout=30)
    assert r.returncode == 1
    assert "No GPUs available for GlobalGPUController" in r.stderr.strip().splitlines()[-1]


# What ROCm SMI's rsmi_init writes to stderr on a machine without an AMD GPU.
ROCM_SMI_NOISE = ("Failed to open drm root directory", "Exception caught: rsmi_init")


@pytest.mark.skipif(not DEBIAN_ROCM_SMI.exists(),
                    reason="Debian's librocm-smi64-1 is not installed (scripts/setup installs it)")
@pytest.mark.skipif(Path("/dev/kfd").exists() or any(
    p.read_text().strip() == "0x1002" for p in Path("/sys/class/drm").glob("card*/device/vendor")),
    reason="this machine has an AMD GPU")
def test_output_without_an_amd_gpu_is_keep_gpus_own(keep_gpu_bin, tmp_path):
    # As on an NVIDIA-less, AMD-less node: the ROCm SMI library is installed and on the default
    # loader path, nothing else is. Only keep-gpu's own lines appear.
    missing = tmp_path / "missing"
    env = clean_env({"KEEP_GPU_LIBCUDA": str(missing / "libcuda.so.1"),
                     "KEEP_GPU_LIBNVML": str(missing / "libnvidia-ml.so.1")})
    r = run(FAST, env=env, timeout=30)
    assert r.returncode == 1
    assert not any(noise in r.stderr + r.stdout for noise in ROCM_SMI_NOISE), r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("UnsupportedControllerPlatformError: "), r.stderr


# ------------------------------------------------------------------------------- the service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def amd_service(tmp_path, amd_fake):
    """A user's world with the fake AMD host; every daemon it started is stopped afterwards."""
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    home.mkdir()
    xdg.mkdir(mode=0o700)
    f = amd_fake([amd(0, utilization=12, power_mw=180000, temperature=47, unique_id=0x5f2d),
                  amd(1, utilization=34)])
    env = amd_env(f, {"HOME": str(home), "XDG_RUNTIME_DIR": str(xdg)})
    port = free_port()
    probe = run(["service-stop", "--port", str(port)], env=env, timeout=30)
    if "does not include yet" in probe.stdout + probe.stderr:
        pytest.skip("this build has no service mode yet")
    yield f, env, ["--port", str(port)], xdg / "keep-gpu"
    run(["service-stop", "--port", str(port)], env=env, timeout=30)
    pid_file = xdg / "keep-gpu" / "daemon.pid"
    if pid_file.exists():
        try:
            os.kill(json.loads(pid_file.read_text())["pid"], signal.SIGKILL)
        except (ProcessLookupError, ValueError, KeyError):
            pass


def test_service_start_list_gpus_and_stop(keep_gpu_bin, amd_service):
    f, env, tcp, rt = amd_service
    r = run(["start", *tcp, "--gpu-ids", "1", "--vram", "64MiB", *FAST, "--job-id", "amd-1"],
            env=env, timeout=40)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Started keep session job_id=amd-1" in r.stdout
    f.wait_for(lambda s: dev_state(s, 1)["allocated_bytes"] == 64 * MiB, timeout=10)

    gpus = run(["list-gpus", *tcp], env=env, timeout=30)
    assert gpus.returncode == 0, gpus.stdout + gpus.stderr
    listing = json.loads(gpus.stdout)["gpus"]
    assert [g["id"] for g in listing] == [0, 1]
    first = listing[0]
    assert first["platform"] == "rocm" and first["name"] == "AMD Instinct MI210 #0"
    assert first["utilization"] == 12 and first["physical_id"] == 0
    assert first["memory_total"] == 16 * GiB and first["memory_used"] == 0
    assert first["power_watts"] == 180.0 and first["temperature_c"] == 47
    assert first["uuid"] == "GPU-0000000000005f2d"
    assert listing[1]["utilization"] == 34 and listing[1]["memory_used"] == 64 * MiB

    status = json.loads(run(["status", *tcp], env=env, timeout=30).stdout)
    assert [j["job_id"] for j in status["active_jobs"]] == ["amd-1"]
    stop = run(["stop", *tcp, "--job-id", "amd-1"], env=env, timeout=30)
    assert stop.returncode == 0, stop.stdout
    assert json.loads(stop.stdout)["stopped"] == ["amd-1"]
    st = f.wait_for(lambda s: dev_state(s, 1)["allocated_bytes"] == 0, timeout=5)
    # The keeper's SMI lease is returned with the session: the daemon holds no SMI reference.
    assert st["rsmi"]["init_refcount"] == 0
    assert st["rsmi"]["init_calls"] == st["rsmi"]["shutdown_calls"]
    log = (rt / "daemon.log").read_text()
    assert "Detected computing platform: rocm" in log
    assert re.search(r"rank 1: ROCm keep thread started", log)
