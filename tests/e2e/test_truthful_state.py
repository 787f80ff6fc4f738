"""What keep-gpu reports must be what the driver holds: a release the driver refuses is a failed
release (blocking mode exits 1, the service keeps the session as stop_failed and a later stop
retries), every session shows its bytes held and a phase per GPU, a GPU that waits is never shown
as holding, and a VRAM request larger than the GPU is the caller's error on every transport."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import pytest
import requests

from conftest import BUILD, clean_env, device
from test_service_cli import FAST, MiB, Svc, svc  # noqa: F401  (svc is a fixture)

GiB = 1 << 30
SERVER = BUILD / "bin" / "keep-gpu-mcp-server"


def dev_state(st, index):
    return st["devices"][index]


# ------------------------------------------------------------------------------ blocking mode


def release_with_fault(start, f, env, vram_mib, sig, **fault):
    """Holds `vram_mib` on GPU 0 in blocking mode, injects `fault`, signals; returns the run."""
    r = start(["--vram", f"{vram_mib}MiB", *FAST], env)
    r.wait_log("Keeping GPUs awake")
    f.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == vram_mib * MiB, timeout=10)
    f.set_faults(0, **fault)
    r.signal(sig)
    assert r.finish() == 1, r.log
    assert "All GPUs released." not in r.log
    return r


def test_blocking_mode_reports_a_refused_free_and_exits_1(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = release_with_fault(start, f, clean_env(f.env()), 64, signal.SIGINT, free_error=999)
    assert re.search(r"^RuntimeError: Failed to release GPU controllers: rank 0: failed to release "
                     r"GPU 0 \(64\.0 MiB still held\): .* in cuMemFree_v2$", r.log, re.M), r.log
    # The driver still holds the buffer, exactly as reported.
    assert dev_state(f.state(), 0)["allocated_bytes"] == 64 * MiB


def test_blocking_mode_reports_a_refused_context_release(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = release_with_fault(start, f, clean_env(f.env()), 16, signal.SIGTERM, release_error=999)
    assert "cuDevicePrimaryCtxRelease" in r.log and "GPU 0" in r.log, r.log
    st = f.state()
    assert dev_state(st, 0)["allocated_bytes"] == 0, "the buffer itself was freed"
    assert dev_state(st, 0)["contexts_live"] == 1, "the refused context is still there"


def test_rocm_blocking_mode_reports_a_refused_free(keep_gpu_bin, fake, start):
    f = fake([device(0, name="AMD Instinct MI210 #0")], vendor="amd")
    env = {k: v for k, v in clean_env().items()
           if k not in ("ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")}
    r = release_with_fault(start, f, f.env(env), 32, signal.SIGINT, free_error=999)
    assert re.search(r"^RuntimeError: .*rank 0: failed to release GPU 0 \(32\.0 MiB still held\): "
                     r".* in hipFree$", r.log, re.M), r.log
    assert dev_state(f.state(), 0)["allocated_bytes"] == 32 * MiB


def test_live_status_line_shows_the_phase_not_active(keep_gpu_bin, fake):
    """On a terminal the status block says `waiting` and why for a GPU that holds nothing."""
    f = fake([device(0)])
    script = (f"import os, pty, sys, time, signal\n"
              f"pid, fd = pty.fork()\n"
              f"if pid == 0:\n"
              f"    os.execv({str(keep_gpu_bin)!r}, [{str(keep_gpu_bin)!r}, '--vram', '16MiB',"
              f" '--interval', '0.2'])\n"
              f"out = b''\n"
              f"end = time.monotonic() + 8\n"
              f"while time.monotonic() < end and b'(deferring allocation:' not in out:\n"
              f"    try:\n"
              f"        out += os.read(fd, 4096)\n"
              f"    except OSError:\n"
              f"        break\n"
              f"os.kill(pid, signal.SIGINT)\n"
              f"os.waitpid(pid, 0)\n"
              f"sys.stdout.write(out.decode(errors='replace'))\n")
    r = subprocess.run(["/usr/bin/python3", "-c", script], env=clean_env(f.env(nvml=False)),
                       capture_output=True, text=True, timeout=30)
    screen = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", r.stdout)
    line = next((ln for ln in screen.splitlines() if ln.startswith("GPU 0")), None)
    assert line is not None, screen
    assert re.match(r"GPU 0\s+waiting\s+held\s+0 B", line), line
    assert "(deferring allocation: GPU utilization unavailable)" in line, line


# ------------------------------------------------------------------------------------ service


def status_of(w: Svc, job: str) -> dict:
    r = w.run("status", "--job-id", job)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def test_service_keeps_a_refused_release_as_stop_failed_and_retries(svc):
    w = svc()
    r = w.run("start", "--gpu-ids", "0", "--vram", "64MiB", "--job-id", "held", *FAST)
    assert r.returncode == 0, r.stdout + r.stderr
    w.fake.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 64 * MiB, timeout=10)
    st = status_of(w, "held")
    assert st["state"] == "active" and st["held_bytes"] == 64 * MiB
    assert st["gpus"] == [{"id": 0, "phase": "holding", "held_bytes": 64 * MiB, "detail": None}]

    w.fake.set_faults(0, free_error=999)
    r = w.run("stop", "--job-id", "held")
    assert r.returncode == 1, r.stdout + r.stderr
    result = json.loads(r.stdout)
    assert result["stopped"] == [] and result["failed"] == ["held"]
    assert "failed to release GPU 0" in result["errors"]["held"]
    assert "cuMemFree_v2" in result["errors"]["held"]

    st = status_of(w, "held")
    assert st["state"] == "stop_failed" and "failed to release GPU 0" in st["last_error"]
    assert st["held_bytes"] == 64 * MiB
    [gpu] = st["gpus"]
    assert gpu["phase"] == "failed" and gpu["held_bytes"] == 64 * MiB
    assert "cuMemFree_v2" in gpu["detail"]
    assert w.allocated() == 64 * MiB, "the driver agrees: still held"

    # The same stop again, once the driver accepts the free.
    w.fake.clear_faults(0)
    r = w.run("stop", "--job-id", "held")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["stopped"] == ["held"]
    assert status_of(w, "held") == {"active": False, "job_id": "held"}
    st = w.fake.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 0, timeout=10)
    assert dev_state(st, 0)["contexts_live"] == 0
    w.run("service-stop")


def test_service_stop_all_reports_a_refused_release(svc):
    w = svc([device(0), device(1)])
    r = w.run("start", "--gpu-ids", "0,1", "--vram", "16MiB", "--job-id", "pair", *FAST)
    assert r.returncode == 0, r.stdout + r.stderr
    w.fake.wait_for(lambda s: all(d["allocated_bytes"] == 16 * MiB for d in s["devices"]),
                    timeout=10)
    w.fake.set_faults(1, free_error=999)
    r = w.run("stop", "--all")
    assert r.returncode == 1, r.stdout + r.stderr
    assert json.loads(r.stdout)["failed"] == ["pair"]
    st = status_of(w, "pair")
    phases = {g["id"]: (g["phase"], g["held_bytes"]) for g in st["gpus"]}
    assert phases == {0: ("released", 0), 1: ("failed", 16 * MiB)}
    assert st["held_bytes"] == 16 * MiB
    w.fake.clear_faults(1)
    r = w.run("stop", "--all")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["stopped"] == ["pair"]
    st = w.fake.wait_for(lambda s: s["devices"][1]["allocated_bytes"] == 0, timeout=10)
    assert [d["contexts_live"] for d in st["devices"]] == [0, 0]
    assert w.run("service-stop").returncode == 0


def test_a_waiting_gpu_is_reported_as_waiting_not_active(svc):
    w = svc()
    # Utilization cannot be read (no NVML) and the threshold is on: nothing may be held.
    env = clean_env(w.fake.env(clean_env({"HOME": str(w.home), "XDG_RUNTIME_DIR": str(w.xdg)}),
                               nvml=False))
    r = w.run("start", "--vram", "16MiB", "--interval", "0.2", "--job-id", "deferred", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "GPU 0 holds nothing yet (deferring allocation: GPU utilization unavailable)" in r.stdout
    st = json.loads(w.run("status", "--job-id", "deferred", env=env).stdout)
    assert st["state"] == "active" and st["held_bytes"] == 0
    assert st["gpus"] == [{"id": 0, "phase": "waiting", "held_bytes": 0,
                           "detail": "deferring allocation: GPU utilization unavailable"}]
    assert w.allocated() == 0
    w.run("service-stop", env=env)


def test_a_busy_gpu_backs_off_with_its_reading(svc):
    w = svc()
    r = w.run("start", "--vram", "16MiB", "--interval", "0.2", "--job-id", "busy")
    assert r.returncode == 0, r.stdout + r.stderr
    w.fake.wait_for(lambda s: dev_state(s, 0)["allocated_bytes"] == 16 * MiB, timeout=10)
    w.fake.update_device(0, utilization=90)
    st = None
    for _ in range(100):
        st = status_of(w, "busy")
        if st["gpus"][0]["phase"] == "backing_off":
            break
        time.sleep(0.1)
    gpu = st["gpus"][0]
    assert gpu["phase"] == "backing_off", st
    assert gpu["held_bytes"] == 16 * MiB
    assert gpu["detail"] == "GPU busy: utilization 90% above the 25% threshold"
    w.run("service-stop")


def test_out_of_memory_retry_is_waiting_with_its_reason(svc):
    w = svc()
    w.fake.set_faults(0, alloc_script=["oom"] * 1000)
    r = w.run("start", "--vram", "16MiB", *FAST, "--job-id", "short")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "GPU 0 holds nothing yet (out of memory:" in r.stdout
    gpu = status_of(w, "short")["gpus"][0]
    assert gpu["phase"] == "waiting" and gpu["held_bytes"] == 0
    assert gpu["detail"].startswith("out of memory: 16.0 MiB does not fit in free GPU memory")
    w.run("service-stop")


# ------------------------------------------------------------- a request larger than the GPU


def test_vram_larger_than_the_gpu_is_a_client_error_everywhere(svc):
    w = svc([device(0, total_memory=GiB)])
    r = w.run("start", *w.tcp(), "--vram", "2GiB", *FAST)
    assert r.returncode == 1
    assert "exceeds the total memory of GPU 0" in r.stdout + r.stderr
    token = (w.rt / "token").read_text().strip()
    base = f"http://127.0.0.1:{w.port}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    rest = requests.post(f"{base}/api/sessions", headers=headers,
                         data=json.dumps({"vram": "2GiB", "busy_threshold": -1}), timeout=30)
    assert rest.status_code == 400, rest.text
    assert "exceeds the total memory of GPU 0" in rest.json()["error"]["message"]

    rpc = requests.post(f"{base}/rpc", headers=headers, timeout=30, data=json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "start_keep",
         "params": {"vram": "2GiB", "busy_threshold": -1}})).json()
    assert rpc["error"]["code"] == -32602, rpc
    assert "exceeds the total memory of GPU 0" in rpc["error"]["message"]

    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "start_keep", "arguments": {"vram": "2GiB", "busy_threshold": -1}}}
    mcp = subprocess.run([str(SERVER)], input=json.dumps(call) + "\n", env=w.env,
                         capture_output=True, text=True, timeout=30)
    [reply] = [json.loads(line) for line in mcp.stdout.splitlines()]
    assert "error" not in reply, reply
    assert reply["result"]["isError"] is True
    assert "exceeds the total memory of GPU 0" in reply["result"]["content"][0]["text"]
    assert w.allocated() == 0
    w.run("service-stop")


@pytest.mark.parametrize("transport", ["socket", "tcp"])
def test_status_lists_held_bytes_and_gpus_for_every_session(svc, transport):
    w = svc([device(0), device(1)])
    where = [] if transport == "socket" else w.tcp()
    for job, ids in (("a", "0"), ("b", "0,1")):
        r = w.run("start", *where, "--gpu-ids", ids, "--vram", "8MiB", "--job-id", job, *FAST)
        assert r.returncode == 0, r.stdout + r.stderr
    jobs = {j["job_id"]: j for j in json.loads(w.run("status", *where).stdout)["active_jobs"]}
    assert jobs["a"]["held_bytes"] == 8 * MiB and [g["id"] for g in jobs["a"]["gpus"]] == [0]
    assert jobs["b"]["held_bytes"] == 16 * MiB and [g["id"] for g in jobs["b"]["gpus"]] == [0, 1]
    assert all(g["phase"] == "holding" for j in jobs.values() for g in j["gpus"])
    assert "restored" not in jobs["a"]
    w.run("service-stop", *where)
