"""Sessions survive a killed daemon: the daemon journals its sessions in the runtime directory
(sessions.json), `keep-gpu status` names the sessions a killed daemon left while none runs, the
next daemon (auto-started or `keep-gpu serve`) restores them with the same ids and params, and a
graceful end leaves nothing to restore. Every test gets its own HOME and XDG_RUNTIME_DIR."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time

import test_service_cli as service_tests
from conftest import BUILD, KEEP_GPU, device

svc = service_tests.svc  # the fixture: one user's world with a fake GPU
MiB = service_tests.MiB
FAST = service_tests.FAST
start_session = service_tests.start_session
serve_pids = service_tests.serve_pids
wait_gone = service_tests.wait_gone

MCP_SERVER = BUILD / "bin" / "keep-gpu-mcp-server"


def journal(w) -> dict | None:
    path = w.rt / "sessions.json"
    return json.loads(path.read_text()) if path.exists() else None


def journal_ids(w) -> list[str]:
    doc = journal(w)
    return [] if doc is None else [s["job_id"] for s in doc["sessions"]]


def kill_daemon(w) -> int:
    pid = w.daemon_pid()
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid), "the daemon survived SIGKILL"
    return pid


def jobs_by_id(w) -> dict[str, dict]:
    r = w.run("status")
    assert r.returncode == 0, r.stdout + r.stderr
    return {job["job_id"]: job for job in json.loads(r.stdout)["active_jobs"]}


def wait_jobs(w, predicate, timeout=20.0) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = jobs_by_id(w)
        if predicate(jobs):
            return jobs
        if time.monotonic() >= deadline:
            raise AssertionError(f"status never matched: {jobs}")
        time.sleep(0.1)


def held(w, pid: int) -> int:
    st = w.fake.state(pid)
    return 0 if st is None else st["devices"][0]["allocated_bytes"]


def test_killed_daemon_sessions_are_reported_then_restored_by_the_next_start(svc):
    w = svc(per_process_state=True)
    start_session(w, "--gpu-ids", "0", "--job-id", "survivor")
    second, _ = start_session(w, "--vram", "32MiB")
    before = jobs_by_id(w)
    first_pid = w.daemon_pid()
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 96 * MiB, timeout=10,
                    pid=first_pid)
    path = w.rt / "sessions.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert journal(w)["pid"] == first_pid
    assert journal_ids(w) == ["survivor", second]

    kill_daemon(w)
    for args in (["status"], ["status", "--job-id", "survivor"], ["status", *w.tcp()]):
        r = w.run(*args)
        assert r.returncode == 1, r.stdout
        out = json.loads(r.stdout)
        assert list(out) == ["error", "lost_sessions"], out
        assert out["lost_sessions"] == ["survivor", second]
        assert "survivor" in out["error"] and second in out["error"]
        assert "keep-gpu serve" in out["error"] and "keep-gpu start" in out["error"]
        assert f"delete {w.rt / 'sessions.json'} to forget them" in out["error"]
    assert serve_pids(w.xdg) == [], "status never starts a daemon"

    # Any start brings the daemon back, and with it the sessions the killed one left.
    start_session(w, "--job-id", "newcomer", vram="16MiB")
    new_pid = w.daemon_pid()
    assert new_pid != first_pid
    jobs = wait_jobs(w, lambda j: all(j.get(i, {}).get("state") == "active"
                                      for i in ("survivor", second, "newcomer")))
    for job_id in ("survivor", second):
        assert jobs[job_id]["restored"] is True
        assert jobs[job_id]["params"] == before[job_id]["params"]
    assert "restored" not in jobs["newcomer"]
    assert jobs["survivor"]["params"]["gpu_ids"] == [0]
    assert jobs[second]["params"]["gpu_ids"] is None
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == (64 + 32 + 16) * MiB,
                    timeout=10, pid=new_pid)
    log = (w.rt / "daemon.log").read_text()
    for job_id in ("survivor", second):
        assert (f"Restored keep session {job_id} left by a KeepGPU service that did not shut "
                "down cleanly") in log, log
    assert journal(w)["pid"] == new_pid
    assert sorted(journal_ids(w)) == sorted(["survivor", second, "newcomer"])

    # Restored sessions stop like any other; stopping them all empties the journal.
    r = w.run("stop", "--job-id", "survivor")
    assert r.returncode == 0, r.stdout
    assert sorted(journal_ids(w)) == sorted([second, "newcomer"])
    r = w.run("stop", "--all")
    assert r.returncode == 0, r.stdout
    assert journal(w)["sessions"] == []
    assert held(w, new_pid) == 0


def test_serve_restores_and_a_graceful_end_leaves_nothing_to_restore(svc):
    w = svc(per_process_state=True)
    start_session(w, "--gpu-ids", "0", "--job-id", "kept", "--interval", "1.5")
    before = jobs_by_id(w)["kept"]
    kill_daemon(w)

    p = subprocess.Popen([str(KEEP_GPU), "serve", *w.tcp()], env=w.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    w.procs.append(p)
    first = p.stdout.readline()
    assert first.startswith("Service URL:"), first + p.stderr.read()
    jobs = wait_jobs(w, lambda j: j.get("kept", {}).get("state") == "active")
    assert jobs["kept"]["restored"] is True
    assert jobs["kept"]["params"] == before["params"]
    assert jobs["kept"]["params"]["interval"] == 1.5
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 64 * MiB, timeout=10,
                    pid=p.pid)

    p.send_signal(signal.SIGTERM)
    p.wait(30)
    err = p.stderr.read()
    assert p.returncode == 0, err
    restored = [line for line in err.splitlines() if "Restored keep session kept" in line]
    assert restored and "WARNING" in restored[0], err
    assert journal(w) is None, "a graceful end leaves no journal"
    r = w.run("status")
    assert r.returncode == 1
    assert list(json.loads(r.stdout)) == ["error"], "nothing is lost after a graceful end"

    # The next daemon restores nothing.
    start_session(w, "--job-id", "after")
    assert list(jobs_by_id(w)) == ["after"]
    assert "Restored keep session" not in (w.rt / "daemon.log").read_text()


def test_service_stop_leaves_nothing_to_restore(svc):
    w = svc()
    start_session(w, "--job-id", "one")
    assert journal_ids(w) == ["one"]
    r = w.run("service-stop", "--force")
    assert r.returncode == 0, r.stdout + r.stderr
    assert journal(w) is None
    r = w.run("status")
    assert r.returncode == 1 and "lost_sessions" not in json.loads(r.stdout)
    start_session(w, "--job-id", "two")
    assert list(jobs_by_id(w)) == ["two"]


def test_a_session_that_cannot_be_restored_is_dropped_with_an_error(svc):
    w = svc(devices=[device(0), device(1)])
    start_session(w, "--gpu-ids", "1", "--job-id", "on-gpu-1")
    start_session(w, "--gpu-ids", "0", "--job-id", "on-gpu-0")
    kill_daemon(w)
    w.fake.update(devices=[device(0)])  # GPU 1 is gone

    start_session(w, "--gpu-ids", "0", "--job-id", "fresh", vram="16MiB")
    jobs = wait_jobs(w, lambda j: "on-gpu-1" not in j
                     and j.get("on-gpu-0", {}).get("state") == "active")
    assert jobs["on-gpu-0"]["restored"] is True
    deadline = time.monotonic() + 10
    while "on-gpu-1" in journal_ids(w) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(journal_ids(w)) == ["fresh", "on-gpu-0"]
    log = (w.rt / "daemon.log").read_text()
    lines = [line for line in log.splitlines() if "Cannot restore keep session on-gpu-1" in line]
    assert lines and "ERROR" in lines[0], log


def test_a_damaged_journal_is_ignored_with_a_warning(svc):
    w = svc()
    w.rt.mkdir(mode=0o700)
    (w.rt / "sessions.json").write_text('{"sessions": [')
    r = w.run("status")
    assert r.returncode == 1
    assert list(json.loads(r.stdout)) == ["error"]
    start_session(w, "--job-id", "fine")
    assert list(jobs_by_id(w)) == ["fine"]
    log = (w.rt / "daemon.log").read_text()
    assert "Ignoring the session journal" in log, log
    assert journal_ids(w) == ["fine"], "the next write replaces the damaged journal"


def test_the_stdio_mcp_server_keeps_no_journal(svc):
    w = svc()
    lines = [
        '{"jsonrpc":"2.0","id":1,"method":"start_keep",'
        '"params":{"job_id":"agent","vram":"16MiB","interval":0.2,"busy_threshold":-1}}',
        '{"jsonrpc":"2.0","id":2,"method":"status","params":{}}',
    ]
    r = subprocess.run([str(MCP_SERVER)], input="".join(line + "\n" for line in lines),
                       env=w.env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert out[0]["result"] == {"job_id": "agent"}, out
    assert [j["job_id"] for j in out[1]["result"]["active_jobs"]] == ["agent"]
    assert not (w.rt / "sessions.json").exists()
    assert not (w.home / ".keepgpu" / "sessions.json").exists()


def test_the_http_mcp_server_is_the_same_journaling_daemon(svc):
    w = svc(per_process_state=True)
    p = subprocess.Popen([str(MCP_SERVER), "--mode", "http", "--port", str(w.port)], env=w.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    w.procs.append(p)
    first = p.stdout.readline()
    assert first.startswith("Service URL:"), first + p.stderr.read()
    start_session(w, "--job-id", "via-http")
    assert journal(w)["pid"] == p.pid
    assert journal_ids(w) == ["via-http"]
    p.kill()
    p.wait(10)
    r = w.run("status")
    assert r.returncode == 1 and json.loads(r.stdout)["lost_sessions"] == ["via-http"]
