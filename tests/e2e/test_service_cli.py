"""The service commands against a real keep-gpu daemon on the fake driver libraries
(one daemon per user): auto-start under a lock,
JSON on stdout, stop/service-stop, serve and its signals, PID records, and what another user can
and cannot reach. Every test gets its own HOME and XDG_RUNTIME_DIR and stops every daemon it
started."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import KEEP_GPU, clean_env, device, run

MiB = 1 << 20
FAST = ["--interval", "0.2", "--busy-threshold", "-1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def proc_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc_alive(pid):
            return True
        time.sleep(0.05)
    return False


def serve_pids(runtime_dir: Path) -> list[int]:
    """keep-gpu processes running `serve` with this runtime directory in their environment."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"serve" not in argv or not argv[0].endswith(b"keep-gpu"):
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"XDG_RUNTIME_DIR={runtime_dir}".encode() in environ and proc_alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


class Svc:
    """One user's world: HOME, XDG_RUNTIME_DIR and a fake GPU."""

    def __init__(self, base: Path, fake_factory, devices=None, **fake_kwargs):
        self.base = base
        self.home = base / "home"
        self.xdg = base / "xdg"
        self.home.mkdir(parents=True, exist_ok=True)
        self.xdg.mkdir(parents=True, exist_ok=True)
        os.chmod(self.xdg, 0o700)
        self.fake = fake_factory(devices if devices is not None else [device(0)], **fake_kwargs)
        self.env = clean_env(self.fake.env(clean_env({"HOME": str(self.home),
                                                      "XDG_RUNTIME_DIR": str(self.xdg)})))
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []

    @property
    def rt(self) -> Path:
        return self.xdg / "keep-gpu"

    def run(self, *args, timeout=30, env=None):
        return run(list(args), env=env or self.env, timeout=timeout)

    def tcp(self) -> list[str]:
        return ["--port", str(self.port)]

    def allocated(self, index: int = 0) -> int:
        st = self.fake.state()
        return 0 if st is None else st["devices"][index]["allocated_bytes"]

    def daemon_pid(self) -> int:
        return json.loads((self.rt / "daemon.pid").read_text())["pid"]

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for pid in serve_pids(self.xdg):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            wait_gone(pid, 5)


@pytest.fixture
def svc(tmp_path, fake, keep_gpu_bin):
    worlds: list[Svc] = []

    def make(devices=None, base=None, **fake_kwargs):
        w = Svc(Path(base) if base else tmp_path / f"user{len(worlds)}", fake, devices,
                **fake_kwargs)
        worlds.append(w)
        return w

    yield make
    for w in worlds:
        w.cleanup()


def serve(w: Svc, *extra: str) -> subprocess.Popen:
    """`keep-gpu serve` in this user's world, once it has printed its first line."""
    p = subprocess.Popen([str(KEEP_GPU), "serve", *extra], env=w.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    w.procs.append(p)
    first = p.stdout.readline()
    assert first.startswith(("Service URL:", "KeepGPU service listening")), first + p.stderr.read()
    return p


def start_session(w: Svc, *extra, vram="64MiB"):
    r = w.run("start", *w.tcp(), "--vram", vram, *FAST, *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"Started keep session job_id=(\S+)", r.stdout)
    assert m, r.stdout
    return m.group(1), r


# ------------------------------------------------------------------------------------ start


def test_start_auto_starts_daemon_and_records_it(svc):
    w = svc()
    job, r = start_session(w, "--gpu-ids", "0", "--job-id", "custom-job")
    assert job == "custom-job"
    lines = [collapse(line) for line in r.stdout.splitlines()]
    assert lines == [
        f"Auto-started KeepGPU service at http://127.0.0.1:{w.port}/",
        "Started keep session job_id=custom-job",
        f"Dashboard: http://127.0.0.1:{w.port}/ (run keep-gpu dashboard for a login link)",
        "Next: keep-gpu status --job-id custom-job | keep-gpu stop --job-id custom-job",
        "When all sessions are done, stop daemon with: keep-gpu service-stop",
    ]
    assert stat.S_IMODE(w.rt.stat().st_mode) == 0o700
    assert stat.S_IMODE((w.rt / "token").stat().st_mode) == 0o600
    assert (w.rt / "daemon.log").is_file() and (w.rt / "keep-gpu.sock").exists()
    record = json.loads((w.rt / "daemon.pid").read_text())
    assert record["host"] == "127.0.0.1" and record["port"] == w.port
    assert record["uid"] == os.getuid() and record["start_time"] and record["created_at"] > 0
    assert record["exe"] == str(KEEP_GPU.resolve())
    assert record["argv"][1:] == ["serve", "--host", "127.0.0.1", "--port", str(w.port)]
    assert proc_alive(record["pid"])
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 64 * MiB, timeout=10)

    # A second start reuses the healthy daemon.
    job2, r2 = start_session(w, "--vram", "32MiB")
    assert "Auto-started" not in r2.stdout
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", job2)
    assert serve_pids(w.xdg) == [record["pid"]]


def test_racing_starts_spawn_one_daemon(svc):
    w = svc()
    cmd = [str(KEEP_GPU), "start", *w.tcp(), "--vram", "16MiB", *FAST]
    procs = [subprocess.Popen(cmd, env=w.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    outs = [p.communicate(timeout=40) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert sum("Auto-started" in out for out, _ in outs) == 1, outs
    assert len(serve_pids(w.xdg)) == 1
    status = json.loads(w.run("status", *w.tcp()).stdout)
    assert len(status["active_jobs"]) == 3


def test_default_transport_is_the_unix_socket(svc):
    w = svc()
    r = w.run("start", "--vram", "16MiB", *FAST)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Auto-started KeepGPU service" in r.stdout
    record = json.loads((w.rt / "daemon.pid").read_text())
    assert "--tcp-optional" in record["argv"]
    status = w.run("status")
    assert status.returncode == 0, status.stdout
    assert len(json.loads(status.stdout)["active_jobs"]) == 1
    r = w.run("stop", "--all")
    assert r.returncode == 0 and json.loads(r.stdout)["stopped"]
    r = w.run("service-stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert collapse(r.stdout).startswith("Stopped KeepGPU service daemon at")
    assert wait_gone(record["pid"])


def test_no_auto_start_with_nothing_listening(svc):
    w = svc()
    r = w.run("start", *w.tcp(), "--no-auto-start")
    assert r.returncode == 1
    assert collapse(r.stdout) == (f"Error: KeepGPU service is unavailable at 127.0.0.1:{w.port}. "
                                  "Start it with `keep-gpu serve`.")
    assert not (w.rt / "daemon.pid").exists()
    assert serve_pids(w.xdg) == []


@pytest.mark.parametrize("args,message", [
    (["--gpu-ids", "0,-1"], "gpu_ids must contain non-negative integers"),
    (["--interval", "0"], "interval must be positive"),
    (["--busy-threshold", "101"], "busy_threshold must be -1 or an integer between 0 and 100"),
    (["--job-id", "bad/id"], "job_id must be a URL-path-safe non-empty string"),
    (["--vram", "not-a-size"], "invalid format: not-a-size, should be like '1000 MB'"),
    (["--host", "bad host"], "host must be a DNS hostname or IPv4 address"),
    (["--port", "0"], "port must be an integer between 1 and 65535"),
])
def test_start_validation_touches_nothing(svc, args, message):
    w = svc()
    r = w.run("start", *args)
    assert r.returncode == 1
    assert collapse(r.stdout) == f"Error: {message}"
    assert not w.rt.exists(), "validation must not create the runtime directory"


def test_auto_started_daemon_without_gpus_is_stopped_again(svc):
    w = svc(devices=[])
    r = w.run("start", *w.tcp(), "--vram", "16MiB")
    assert r.returncode == 1
    assert r.stdout.startswith("Error: ")
    assert "Started keep session" not in r.stdout
    assert not (w.rt / "daemon.pid").exists()
    deadline = time.monotonic() + 5
    while serve_pids(w.xdg) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert serve_pids(w.xdg) == []


def test_auto_start_fails_when_the_daemon_cannot_bind(svc):
    w = svc()
    # A listener that closes every connection at once: the daemon cannot bind and every health
    # probe fails fast.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", w.port))
    blocker.listen()
    stop = threading.Event()

    def close_all():
        blocker.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = blocker.accept()
                conn.close()
            except OSError:
                pass

    closer = threading.Thread(target=close_all, daemon=True)
    closer.start()
    try:
        t0 = time.monotonic()
        r = w.run("start", *w.tcp(), "--vram", "16MiB")
    finally:
        stop.set()
        closer.join()
        blocker.close()
    assert r.returncode == 1
    assert f"Failed to auto-start KeepGPU service at 127.0.0.1:{w.port}" in collapse(r.stdout)
    assert time.monotonic() - t0 < 15
    assert not (w.rt / "daemon.pid").exists()
    assert (w.rt / "daemon.log").is_file()
    assert serve_pids(w.xdg) == []


# ------------------------------------------------------------------------- JSON commands


def test_status_list_gpus_and_stop_print_json(svc):
    w = svc()
    job, _ = start_session(w, "--job-id", "job-1")
    r = w.run("status", *w.tcp())
    assert r.returncode == 0 and r.stderr == ""
    status = json.loads(r.stdout)
    assert r.stdout.startswith('{\n  "active_jobs": [\n')
    assert [j["job_id"] for j in status["active_jobs"]] == ["job-1"]
    assert status["active_jobs"][0]["params"]["vram"] == "64MiB"

    one = w.run("status", *w.tcp(), "--job-id", "job-1")
    assert one.returncode == 0 and json.loads(one.stdout)["active"] is True
    missing = w.run("status", *w.tcp(), "--job-id", "missing-job")
    assert missing.returncode == 0
    assert json.loads(missing.stdout) == {"active": False, "job_id": "missing-job"}

    gpus = w.run("list-gpus", *w.tcp())
    assert gpus.returncode == 0, gpus.stdout
    listing = json.loads(gpus.stdout)["gpus"]
    assert listing[0]["name"] == "Fake GPU 0" and listing[0]["visible_id"] == 0

    stop = w.run("stop", *w.tcp(), "--job-id", "job-1")
    assert stop.returncode == 0, stop.stdout
    assert json.loads(stop.stdout)["stopped"] == ["job-1"]
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 0, timeout=5)
    again = w.run("stop", *w.tcp(), "--job-id", "job-1")
    assert again.returncode == 0
    assert json.loads(again.stdout)["message"] == "job_id not found"


def test_stop_all_releases_every_session(svc):
    w = svc([device(0), device(1)])
    start_session(w, "--gpu-ids", "0", "--job-id", "a")
    start_session(w, "--gpu-ids", "1", "--job-id", "b")
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 64 * MiB
                    and s["devices"][1]["allocated_bytes"] == 64 * MiB, timeout=10)
    r = w.run("stop", *w.tcp(), "--all")
    assert r.returncode == 0, r.stdout
    assert sorted(json.loads(r.stdout)["stopped"]) == ["a", "b"]
    st = w.fake.state()
    assert st["devices"][0]["allocated_bytes"] == 0 and st["devices"][1]["allocated_bytes"] == 0
    assert json.loads(w.run("status", *w.tcp()).stdout) == {"active_jobs": []}


@pytest.mark.parametrize("args,message", [
    (["stop"], "Provide --job-id or use --all."),
    (["stop", "--job-id", "job-1", "--all"], "Use either --job-id or --all, not both."),
    (["stop", "--job-id", "bad/id"], "job_id must be a URL-path-safe non-empty string"),
    (["status", "--job-id", ".."], "job_id must be a URL-path-safe non-empty string"),
    (["status", "--host", "bad host"], "host must be a DNS hostname or IPv4 address"),
    (["list-gpus", "--port", "abc"], "port must be an integer between 1 and 65535"),
    (["status", "--port", "1", "--port", "0"], "port must be an integer between 1 and 65535"),
])
def test_json_command_validation_errors(svc, args, message):
    w = svc()
    r = w.run(*args)
    assert r.returncode == 1
    assert r.stdout == json.dumps({"error": message}, indent=2) + "\n"
    assert not w.rt.exists()


def test_nothing_listening(svc):
    w = svc()
    r = w.run("status", *w.tcp())
    assert r.returncode == 1
    assert json.loads(r.stdout)["error"].startswith(
        f"Cannot reach KeepGPU service at http://127.0.0.1:{w.port}/rpc: ")
    r = w.run("stop", *w.tcp(), "--all")
    assert r.returncode == 1
    error = json.loads(r.stdout)["error"]
    assert "Cannot reach KeepGPU service" in error and "service-stop --force" in error
    r = w.run("status")  # the socket of a runtime directory that does not exist
    assert r.returncode == 1 and "Cannot reach KeepGPU service at unix://" in r.stdout
    r = w.run("service-stop", *w.tcp())
    assert r.returncode == 1 and "service-stop --force" in r.stdout


@pytest.mark.parametrize("args", [["stop", "--all=1"], ["status", "extra"], ["start", "--gpu-ids"],
                                  ["status", "--bogus"]])
def test_usage_errors(svc, args):
    w = svc()
    r = w.run(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert "Error:" in r.stderr


def test_subcommand_help():
    r = run(["start", "--help"])
    assert r.returncode == 0
    assert "NUMBER" in next(line for line in r.stdout.splitlines() if "--interval" in line)
    r = run(["serve", "-h"])
    assert r.returncode == 0 and "--no-auth" in r.stdout and "--release-timeout SECONDS" in r.stdout


# ------------------------------------------------------------------- dummy daemon records


def spawn_dummy(w: Svc, script="sleep 60; :"):
    """A process whose record verifies: same uid, start time, exe and argv as recorded."""
    p = subprocess.Popen(["/bin/sh", "-c", script, "serve", "--host", "127.0.0.1", "--port",
                          str(w.port)], start_new_session=True)
    w.procs.append(p)
    time.sleep(0.2)
    return p


def write_record(w: Svc, pid: int, **override):
    stat_fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    argv = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    record = {"argv": argv, "created_at": time.time(), "exe": os.readlink(f"/proc/{pid}/exe"),
              "host": "127.0.0.1", "pid": pid, "port": w.port, "start_time": stat_fields[19],
              "uid": os.getuid()}
    record.update(override)
    w.rt.mkdir(mode=0o700, exist_ok=True)
    (w.rt / "daemon.pid").write_text(json.dumps(record, sort_keys=True))


def test_stop_all_fallback_stops_a_verified_unresponsive_daemon(svc):
    w = svc()
    dummy = spawn_dummy(w)
    write_record(w, dummy.pid)
    r = w.run("stop", *w.tcp(), "--all")
    assert r.returncode == 0, r.stdout
    out = json.loads(r.stdout)
    assert out["stopped"] == [] and out["errors"] == {}
    assert f"force-stopped local daemon pid={dummy.pid}" in out["message"]
    assert dummy.wait(5) is not None
    assert not (w.rt / "daemon.pid").exists()


def test_stop_all_fallback_never_signals_an_unverified_process(svc):
    w = svc()
    dummy = spawn_dummy(w)
    write_record(w, dummy.pid, start_time="1")
    r = w.run("stop", *w.tcp(), "--all")
    assert r.returncode == 1
    assert "ownership-verified daemon could be force-stopped" in json.loads(r.stdout)["error"]
    assert dummy.poll() is None
    assert not (w.rt / "daemon.pid").exists()


def test_start_refuses_to_replace_a_verified_unhealthy_daemon(svc):
    w = svc()
    dummy = spawn_dummy(w)
    write_record(w, dummy.pid)
    before = (w.rt / "daemon.pid").read_bytes()
    r = w.run("start", *w.tcp(), "--vram", "16MiB")
    assert r.returncode == 1
    out = collapse(r.stdout)
    assert f"KeepGPU service daemon pid={dummy.pid} is already running" in out
    assert "health check failed" in out and str(w.rt / "daemon.log") in out
    assert (w.rt / "daemon.pid").read_bytes() == before
    assert dummy.poll() is None and serve_pids(w.xdg) == []


def test_start_replaces_a_dead_daemons_record(svc):
    w = svc()
    dummy = spawn_dummy(w)
    write_record(w, dummy.pid)
    dummy.kill()
    dummy.wait()
    job, r = start_session(w)
    assert "Auto-started" in r.stdout
    assert w.daemon_pid() != dummy.pid and proc_alive(w.daemon_pid())


def test_service_stop_force_stops_a_verified_daemon_only(svc):
    w = svc()
    dummy = spawn_dummy(w)
    write_record(w, dummy.pid)
    r = w.run("service-stop", *w.tcp(), "--force")
    assert r.returncode == 0, r.stdout
    assert collapse(r.stdout) == f"Force-stopped KeepGPU service daemon at http://127.0.0.1:{w.port}/"
    assert dummy.wait(5) is not None
    assert not (w.rt / "daemon.pid").exists()

    legacy = spawn_dummy(w)
    (w.rt / "daemon.pid").write_text(str(legacy.pid))
    r = w.run("service-stop", *w.tcp(), "--force")
    assert r.returncode == 1 and "No managed daemon PID found" in r.stdout
    assert legacy.poll() is None and not (w.rt / "daemon.pid").exists()

    (w.rt / "daemon.pid").write_text("garbage")
    r = w.run("service-stop", *w.tcp(), "--force")
    assert r.returncode == 1 and (w.rt / "daemon.pid").read_text() == "garbage"


def test_service_stop_kills_a_daemon_that_ignores_sigterm(svc):
    w = svc()
    dummy = spawn_dummy(w, "trap '' TERM; while :; do sleep 0.1; done")
    write_record(w, dummy.pid)
    t0 = time.monotonic()
    r = w.run("service-stop", *w.tcp(), "--force", timeout=40)
    assert r.returncode == 0, r.stdout
    assert 9 < time.monotonic() - t0 < 20
    assert dummy.wait(5) == -signal.SIGKILL


# ---------------------------------------------------------------------------- service-stop


def test_service_stop_refuses_while_sessions_are_tracked_then_force_releases(svc):
    w = svc()
    start_session(w, "--job-id", "j1")
    pid = w.daemon_pid()
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 64 * MiB, timeout=10)
    r = w.run("service-stop", *w.tcp())
    assert r.returncode == 1
    assert collapse(r.stdout) == (
        "Error: Tracked keep sessions detected. Active jobs: j1. Stop sessions first "
        "(`keep-gpu stop --all`) or re-run with --force.")
    assert proc_alive(pid)
    r = w.run("service-stop", *w.tcp(), "--force")
    assert r.returncode == 0, r.stdout
    assert wait_gone(pid)
    assert w.allocated() == 0, "the daemon releases its sessions on SIGTERM"
    assert not (w.rt / "daemon.pid").exists()


def test_service_stop_clean_path(svc):
    w = svc()
    job, _ = start_session(w)
    pid = w.daemon_pid()
    assert w.run("stop", *w.tcp(), "--job-id", job).returncode == 0
    r = w.run("service-stop", *w.tcp())
    assert r.returncode == 0, r.stdout + r.stderr
    assert collapse(r.stdout) == f"Stopped KeepGPU service daemon at http://127.0.0.1:{w.port}/"
    assert wait_gone(pid)
    assert not (w.rt / "daemon.pid").exists()
    # Nothing left to stop.
    r = w.run("service-stop", *w.tcp(), "--force")
    assert r.returncode == 1 and "No managed daemon PID found" in r.stdout


# ----------------------------------------------------------------------------------- serve


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_in_foreground_releases_sessions_on_signal(svc, sig):
    w = svc()
    p = subprocess.Popen([str(KEEP_GPU), "serve", *w.tcp()], env=w.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    w.procs.append(p)
    first = p.stdout.readline()
    assert first == f"Service URL: http://127.0.0.1:{w.port}/\n", first + p.stderr.read()
    start_session(w, "--job-id", "fg")
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 64 * MiB, timeout=10)
    assert not (w.rt / "daemon.pid").exists(), "a foreground serve writes no PID record"
    r = w.run("service-stop", *w.tcp(), "--force")
    assert r.returncode == 1 and "No managed daemon PID found" in r.stdout
    p.send_signal(sig)
    p.wait(20)
    out, err = p.stdout.read(), p.stderr.read()  # readline() above buffered part of stdout
    assert p.returncode == 0, err
    assert w.allocated() == 0
    assert "token in" in first + out and "Press Ctrl+C" in first + out
    assert not (w.rt / "keep-gpu.sock").exists()


def test_stop_exits_1_when_a_release_times_out(svc):
    w = svc(cuda={"faults": {"0": {"release_delay_ms": 3000}}})
    p = subprocess.Popen([str(KEEP_GPU), "serve", *w.tcp(), "--release-timeout", "0.3"],
                         env=w.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    w.procs.append(p)
    assert p.stdout.readline().startswith("Service URL:")
    start_session(w, "--job-id", "slow")
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 64 * MiB, timeout=10)
    r = w.run("stop", *w.tcp(), "--job-id", "slow")
    assert r.returncode == 1, r.stdout
    out = json.loads(r.stdout)
    assert out["timed_out"] == ["slow"] and "Timed out" in out["message"]
    p.send_signal(signal.SIGTERM)
    assert p.wait(20) == 0


def test_serve_rejects_bad_endpoints_and_busy_ports(svc):
    w = svc()
    for port in ["abc", "0"]:
        r = w.run("serve", "--port", port)
        assert r.returncode == 1
        assert collapse(r.stdout) == "Error: port must be an integer between 1 and 65535"
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", w.port))
        blocker.listen()
        r = w.run("serve", *w.tcp(), timeout=20)
    assert r.returncode == 1 and r.stderr.strip()


def test_one_service_per_user(svc):
    w = svc()
    p = subprocess.Popen([str(KEEP_GPU), "serve", *w.tcp()], env=w.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    w.procs.append(p)
    assert p.stdout.readline().startswith("Service URL:")
    r = w.run("serve", "--port", str(free_port()))
    assert r.returncode == 1 and "already running" in r.stdout
    p.send_signal(signal.SIGTERM)
    assert p.wait(20) == 0


def test_serve_no_tcp_listens_on_the_socket_only(svc):
    w = svc()
    p = subprocess.Popen([str(KEEP_GPU), "serve", "--no-tcp", *w.tcp()], env=w.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    w.procs.append(p)
    assert "no TCP listener" in p.stdout.readline()
    assert w.run("status").returncode == 0
    r = w.run("status", *w.tcp())
    assert r.returncode == 1 and "Cannot reach" in r.stdout
    p.send_signal(signal.SIGINT)
    assert p.wait(20) == 0


# -------------------------------------------------------------------------------- security


def test_tcp_requires_the_token(svc):
    w = svc()
    start_session(w)
    env = dict(w.env, KEEP_GPU_TOKEN="0" * 64)
    r = w.run("status", *w.tcp(), env=env)
    assert r.returncode == 1
    assert json.loads(r.stdout)["error"].startswith("Service HTTP error: ")
    token = (w.rt / "token").read_text().strip()
    r = w.run("status", *w.tcp(), env=dict(w.env, KEEP_GPU_TOKEN=token))
    assert r.returncode == 0


def as_nobody() -> list[str] | None:
    if os.geteuid() != 0:
        return None
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    return None


PROBE = r"""
import json, socket, sys, urllib.request
sock_path, port = sys.argv[1], int(sys.argv[2])
out = {}
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sock_path)
    out["unix"] = "connected"
except OSError as e:
    out["unix"] = type(e).__name__
req = urllib.request.Request(f"http://127.0.0.1:{port}/rpc", method="POST",
    data=b'{"jsonrpc": "2.0", "id": 1, "method": "status", "params": {}}',
    headers={"Content-Type": "application/json"})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    opener.open(req, timeout=5)
    out["tcp"] = 200
except urllib.error.HTTPError as e:
    out["tcp"] = e.code
print(json.dumps(out))
"""


def test_another_user_cannot_reach_the_daemon(svc):
    prefix = as_nobody()
    if prefix is None:
        pytest.skip("needs root and setpriv or runuser")
    # A base directory other users may traverse, so only the runtime directory's 0700 protects.
    base = Path(tempfile.mkdtemp(prefix="keepgpu-sec-"))
    os.chmod(base, 0o755)
    try:
        w = svc(base=base)
        start_session(w)
        socket_path = w.rt / "keep-gpu.sock"
        assert socket_path.exists()
        r = subprocess.run([*prefix, "/usr/bin/python3", "-c", PROBE, str(socket_path), str(w.port)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        seen = json.loads(r.stdout)
        assert seen["unix"] == "PermissionError"
        assert seen["tcp"] == 401
        # The keep-gpu client as that user: it refuses the other user's runtime directory.
        env = dict(w.env)
        r = subprocess.run([*prefix, str(KEEP_GPU), "status"], env=env, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1 and "Refusing to use the runtime directory" in r.stdout
        # Over TCP with its own runtime directory it has no token: 401.
        own = base / "nobody-xdg"
        own.mkdir(mode=0o700)
        os.chown(own, 65534, 65534)
        r = subprocess.run([*prefix, str(KEEP_GPU), "status", *w.tcp()],
                           env=dict(env, XDG_RUNTIME_DIR=str(own)), capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1 and json.loads(r.stdout)["error"].startswith("Service HTTP error")
        # Nor can it stop the daemon.
        r = subprocess.run([*prefix, str(KEEP_GPU), "service-stop", "--force", *w.tcp()], env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1
        assert proc_alive(w.daemon_pid())
    finally:
        for pid in serve_pids(base / "xdg"):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
