"""Time limits and `keep-gpu run` against the fake driver libraries: `--duration` and `--until` end
blocking mode and service sessions on time with everything released, the service API takes
`duration` in seconds and `until` as ISO 8601 with an offset, a restored session keeps its
original end, and `keep-gpu run` keeps the GPUs while a command runs, forwards signals to it and
exits with its status. Bounds are generous so they hold under the sanitizer builds."""

from __future__ import annotations

import datetime
import json
import re
import signal
import subprocess
import time

import pytest
import requests

import test_service_cli as service_tests
from conftest import KEEP_GPU, clean_env, device, run
from test_dashboard_cli import token
from test_session_journal import journal, kill_daemon, wait_jobs

svc = service_tests.svc  # the fixture: one user's world with a fake GPU
serve = service_tests.serve
start_session = service_tests.start_session

MiB = 1 << 20
FAST = ["--interval", "0.2", "--busy-threshold", "-1"]


def held(f, index=0) -> int:
    st = f.state()
    return 0 if st is None else st["devices"][index]["allocated_bytes"]


# ----------------------------------------------------------------------------- blocking mode


def test_duration_ends_blocking_mode_on_time_with_everything_released(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    t0 = time.monotonic()
    r = start(["--vram", "32MiB", *FAST, "--duration", "2s"], clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    f.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 32 * MiB, timeout=10)
    assert r.finish(timeout=20) == 0, r.log
    elapsed = time.monotonic() - t0
    assert 1.8 <= elapsed < 12, elapsed
    st = f.state()
    assert st["devices"][0]["allocated_bytes"] == 0 and st["devices"][0]["contexts_live"] == 0
    assert "Time limit: until " in r.log and "(--duration 2s)" in r.log
    assert "Time limit reached (--duration 2s). Releasing GPUs..." in r.log
    assert "All GPUs released." in r.log


def test_until_ends_blocking_mode_at_the_local_time(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    target = int(time.time()) + 3
    until = time.strftime("%H:%M:%S", time.localtime(target))
    r = start(["--vram", "16MiB", *FAST, "--until", until], clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    assert r.finish(timeout=20) == 0, r.log
    assert time.time() >= target, "it ended no earlier than the named second"
    assert f"Time limit reached (--until {until})" in r.log
    assert held(f) == 0


def test_a_signal_still_ends_a_limited_keep_early(keep_gpu_bin, fake, start):
    f = fake([device(0)])
    r = start(["--vram", "16MiB", *FAST, "--duration", "1h"], clean_env(f.env()))
    r.wait_log("Keeping GPUs awake")
    r.signal(signal.SIGTERM)
    assert r.finish() == 0, r.log
    assert "Termination signal received" in r.log and held(f) == 0


@pytest.mark.parametrize("args, message", [
    (["--duration", "5x"], "Error: duration must be a length of time such as 90s, 45m, 4h, 1h30m "
                           "or a number of seconds (got '5x')"),
    (["--duration", "0"], "Error: duration must be a positive number of seconds"),
    (["--duration", "400d"], "Error: duration must be at most 366 days (31622400 seconds)"),
    (["--until", "6pm"], "Error: until must be a local time of day as HH:MM or HH:MM:SS, e.g. "
                         "18:30 (got '6pm')"),
    (["--duration", "1h", "--until", "18:00"], "Error: give either --duration or --until, not both"),
])
def test_bad_time_limits_are_rejected_before_anything_is_held(keep_gpu_bin, fake, args, message):
    f = fake([device(0)])
    r = run(["--vram", "16MiB", *args], clean_env(f.env()))
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.strip() == message
    assert f.state() is None or f.state()["devices"][0]["allocations"] == 0


def test_limits_before_a_service_subcommand_are_reported_like_other_keep_options(keep_gpu_bin):
    r = run(["--duration", "1h", "status"])
    assert r.returncode == 1
    assert "Root blocking option(s) --duration were placed before the `status`" in r.stdout


# ------------------------------------------------------------------------------- keep-gpu run


def test_run_keeps_while_the_command_runs_and_exits_with_its_status(keep_gpu_bin, fake, tmp_path):
    f = fake([device(0)])
    seen = tmp_path / "seen"
    # The command reads the fake's state while it runs: the GPU must be held by then.
    script = (f"import json,sys,time\n"
              f"p={str(f.state_path)!r}\n"
              f"end=time.time()+10\n"
              f"while time.time()<end:\n"
              f"  try:\n"
              f"    b=json.load(open(p))['devices'][0]['allocated_bytes']\n"
              f"  except Exception:\n"
              f"    b=0\n"
              f"  if b: break\n"
              f"  time.sleep(0.05)\n"
              f"open({str(seen)!r},'w').write(str(b))\n"
              f"sys.exit(3)\n")
    r = run(["run", "--vram", "16MiB", *FAST, "--", "python3", "-c", script], clean_env(f.env()),
            timeout=60)
    assert r.returncode == 3, r.stdout + r.stderr
    assert seen.read_text() == str(16 * MiB), "the GPU was held while the command ran"
    assert held(f) == 0 and f.state()["devices"][0]["contexts_live"] == 0
    assert "Keeping GPUs while the command runs" in r.stderr
    assert "The command exited with status 3. Releasing GPUs..." in r.stderr


def test_run_takes_the_command_without_a_separator_and_keep_options_before_run(keep_gpu_bin, fake):
    f = fake([device(0), device(1)])
    r = run(["--gpu-ids", "1", "run", "--vram", "8MiB", "--busy-threshold", "-1", "true"],
            clean_env(f.env()), timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    st = f.state()
    assert st["devices"][1]["allocations"] >= 1 and st["devices"][0]["allocations"] == 0
    # The command's own options stay its own.
    r = run(["run", "--vram", "8MiB", "--", "sh", "-c", "exit 5", "--vram"], clean_env(f.env()),
            timeout=60)
    assert r.returncode == 5, r.stdout + r.stderr


def test_run_reports_a_command_that_cannot_start_and_releases(keep_gpu_bin, fake, tmp_path):
    f = fake([device(0)])
    r = run(["run", "--vram", "8MiB", "--", "no-such-command-here"], clean_env(f.env()), timeout=60)
    assert r.returncode == 127, r.stdout + r.stderr
    assert "Error: cannot run 'no-such-command-here': command not found" in r.stderr
    assert held(f) == 0
    plain = tmp_path / "not-executable"
    plain.write_text("#!/bin/sh\n")
    r = run(["run", "--vram", "8MiB", "--", str(plain)], clean_env(f.env()), timeout=60)
    assert r.returncode == 126, r.stdout + r.stderr
    assert "Permission denied" in r.stderr


def test_run_does_not_start_the_command_when_keeping_fails(keep_gpu_bin, fake, tmp_path):
    f = fake([device(0)])
    marker = tmp_path / "ran"
    r = run(["run", "--gpu-ids", "3", "--", "touch", str(marker)], clean_env(f.env()), timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert not marker.exists()
    r = run(["run", "--vram", "lots", "--", "touch", str(marker)], clean_env(f.env()), timeout=60)
    assert r.returncode == 1 and r.stdout.startswith("Error: "), r.stdout + r.stderr
    assert not marker.exists()


def test_run_without_a_command_is_a_usage_error(keep_gpu_bin):
    r = run(["run", "--gpu-ids", "0"])
    assert r.returncode == 2
    assert "Error: Missing COMMAND, e.g. keep-gpu run --gpu-ids 0 -- python preprocess.py" in r.stderr
    r = run(["run", "-h"])
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: keep-gpu run [OPTIONS] [--] COMMAND [ARGS]...")
    assert "--duration DURATION" in r.stdout and "Exit status:" in r.stdout


def test_run_forwards_sigterm_to_the_command_and_exits_with_its_status(keep_gpu_bin, fake, start,
                                                                        tmp_path):
    f = fake([device(0)])
    ready = tmp_path / "ready"
    script = f"trap 'exit 7' TERM; touch {ready}; while :; do sleep 0.05; done"
    r = start(["run", "--vram", "16MiB", *FAST, "--", "sh", "-c", script], clean_env(f.env()))
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), r.log
    f.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 16 * MiB, timeout=10)
    r.signal(signal.SIGTERM)  # to keep-gpu alone, as kill(1) sends it
    assert r.finish(timeout=20) == 7, r.log
    assert held(f) == 0


def test_run_with_a_duration_releases_at_the_limit_and_the_command_goes_on(keep_gpu_bin, fake,
                                                                           tmp_path):
    f = fake([device(0)])
    after = tmp_path / "after"
    # The command outlives the limit, then records what the GPU held.
    script = (f"import json,time\n"
              f"time.sleep(5)\n"
              f"b=json.load(open({str(f.state_path)!r}))['devices'][0]['allocated_bytes']\n"
              f"open({str(after)!r},'w').write(str(b))\n")
    r = run(["run", "--vram", "16MiB", *FAST, "--duration", "1s", "--", "python3", "-c", script],
            clean_env(f.env()), timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert after.read_text() == "0", "released at the limit while the command still ran"
    assert "Time limit reached (--duration 1s). Releasing GPUs; the command keeps running." in r.stderr


def test_a_failed_release_outranks_the_commands_status(keep_gpu_bin, fake):
    f = fake([device(0)], cuda={"faults": {"0": {"free_error": 1}}})
    r = run(["run", "--vram", "8MiB", *FAST, "--", "sh", "-c", "exit 4"], clean_env(f.env()),
            timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "The command exited with status 4" in r.stderr


def test_a_failed_release_at_the_time_limit_exits_1(keep_gpu_bin, fake):
    f = fake([device(0)], cuda={"faults": {"0": {"free_error": 1}}})
    r = run(["--vram", "8MiB", *FAST, "--duration", "1s"], clean_env(f.env()), timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Time limit reached" in r.stderr


# ------------------------------------------------------------------------------------ service


def rpc(w, method, params):
    reply = requests.post(f"http://127.0.0.1:{w.port}/rpc",
                          headers={"Authorization": f"Bearer {token(w)}"},
                          json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
                          timeout=30)
    return reply.json()


def test_start_with_a_duration_ends_the_session_by_itself(svc):
    w = svc()
    job, r = start_session(w, "--job-id", "short", "--duration", "2")
    assert "The session ends by itself at " in r.stdout
    status = json.loads(w.run("status", "--job-id", "short").stdout)
    assert status["params"]["duration"] == 2
    ends = datetime.datetime.fromisoformat(status["ends_at"])
    assert ends.utcoffset() is not None
    left = (ends - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert -1 < left <= 3, left
    w.fake.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 64 * MiB, timeout=10)
    jobs = wait_jobs(w, lambda j: "short" not in j, timeout=20)
    assert jobs == {}
    assert w.allocated() == 0
    log = (w.rt / "daemon.log").read_text()
    assert "Keep session short reached its time limit" in log
    assert "Stopped keep session short at its time limit" in log


def test_start_until_is_sent_as_an_absolute_time(svc):
    w = svc()
    until = time.strftime("%H:%M", time.localtime(time.time() + 3 * 3600))
    start_session(w, "--job-id", "later", "--until", until)
    status = json.loads(w.run("status", "--job-id", "later").stdout)
    sent = status["params"]["until"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00[+-]\d\d:\d\d", sent), sent
    assert sent[11:16] == until
    assert status["ends_at"] == sent
    r = w.run("start", *w.tcp(), "--duration", "1h", "--until", "18:00")
    assert r.returncode == 1 and "give either --duration or --until, not both" in r.stdout + r.stderr


def test_the_api_takes_duration_seconds_and_until_with_an_offset(svc):
    w = svc()
    p = serve(w, *w.tcp())
    now = datetime.datetime.now(datetime.timezone.utc)
    ahead = (now + datetime.timedelta(hours=2)).astimezone(
        datetime.timezone(datetime.timedelta(hours=5, minutes=30))).replace(microsecond=0)
    reply = rpc(w, "start_keep", {"vram": "16MiB", "busy_threshold": -1, "job_id": "iso",
                                  "until": ahead.isoformat()})
    assert reply.get("result") == {"job_id": "iso"}, reply
    status = rpc(w, "status", {"job_id": "iso"})["result"]
    assert datetime.datetime.fromisoformat(status["ends_at"]) == ahead
    assert status["params"]["until"] == ahead.isoformat()

    def error(params):
        reply = rpc(w, "start_keep", {"vram": "16MiB", **params})
        return reply["error"]["code"], reply["error"]["message"]

    assert error({"duration": 0}) == (-32602, "duration must be a positive number of seconds")
    assert error({"duration": "90s"}) == (-32602, "duration must be a positive number of seconds")
    assert error({"duration": 10 ** 30}) == (
        -32602, "duration must be at most 366 days (31622400 seconds)")
    assert error({"until": "2026-12-07T18:00:00"}) == (
        -32602, "until must be an ISO 8601 date and time with an offset, e.g. "
                "2026-12-07T18:00:00+01:00 or 2026-12-07T17:00:00Z (got '2026-12-07T18:00:00')")
    assert error({"until": "2000-01-01T00:00:00Z"}) == (-32602, "until must be in the future")
    assert error({"duration": 5, "until": ahead.isoformat()}) == (
        -32602, "give either duration or until, not both")
    assert error({"duration": 5, "bogus": 1})[1] == "Unknown params for start_keep: bogus"
    # A null limit is no limit, and the echo leaves it out.
    assert rpc(w, "start_keep", {"vram": "16MiB", "job_id": "open", "duration": None})[
        "result"] == {"job_id": "open"}
    status = rpc(w, "status", {"job_id": "open"})["result"]
    assert "ends_at" not in status and "duration" not in status["params"]
    # REST takes the same fields.
    reply = requests.post(f"http://127.0.0.1:{w.port}/api/sessions",
                          headers={"Authorization": f"Bearer {token(w)}"},
                          json={"vram": "16MiB", "job_id": "rest", "duration": 600}, timeout=30)
    assert reply.status_code in (200, 201), reply.text
    status = rpc(w, "status", {"job_id": "rest"})["result"]
    assert status["params"]["duration"] == 600 and "ends_at" in status
    p.send_signal(signal.SIGTERM)
    p.wait(30)


def test_a_restored_session_keeps_its_original_end(svc):
    w = svc(per_process_state=True)
    start_session(w, "--job-id", "timed", "--duration", "1h")
    start_session(w, "--job-id", "brief", "--duration", "2")
    before = json.loads(w.run("status", "--job-id", "timed").stdout)["ends_at"]
    entries = {s["job_id"]: s for s in journal(w)["sessions"]}
    assert entries["timed"]["ends_at"] == before
    assert entries["timed"]["params"]["duration"] == 3600
    kill_daemon(w)
    time.sleep(3)  # "brief" ends while no daemon runs

    p = subprocess.Popen([str(KEEP_GPU), "serve", *w.tcp()], env=w.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    w.procs.append(p)
    assert p.stdout.readline().startswith("Service URL:")
    jobs = wait_jobs(w, lambda j: j.get("timed", {}).get("state") == "active")
    assert jobs["timed"]["restored"] is True
    assert jobs["timed"]["ends_at"] == before, "the deadline is the original one, not now + 1h"
    assert jobs["timed"]["params"]["duration"] == 3600
    assert "brief" not in jobs
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    err = p.stderr.read()
    assert "Keep session brief reached its time limit" in err and "it is not restored" in err, err
