"""`keep-gpu dashboard` and the dashboard's HTTP side against a real daemon on the fake GPU
libraries: the printed URL (port from the running service, token once), the login redirect and
its cookie, --open through a private file (the token never on a command line), the failure
messages, and the telemetry history that feeds the charts."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from pathlib import Path

import requests

from conftest import KEEP_GPU, device
from test_service_cli import MiB, Svc, serve, start_session, svc  # noqa: F401  (svc is a fixture)


def token(w: Svc) -> str:
    return (w.rt / "token").read_text().strip()


def stop(p: subprocess.Popen) -> None:
    p.send_signal(2)
    p.wait(20)
    assert p.returncode == 0


def test_dashboard_prints_the_running_services_url(svc):
    w = svc()
    p = serve(w, *w.tcp())  # a foreground service on a port of its own choosing
    endpoint = w.rt / "endpoint.json"
    assert stat.S_IMODE(endpoint.stat().st_mode) == 0o600
    r = w.run("dashboard")  # no --port: the URL comes from the running service
    assert r.returncode == 0, r.stderr
    url = f"http://127.0.0.1:{w.port}/?token={token(w)}"
    assert r.stdout == url + "\n", "stdout is the URL alone, for scripts"
    assert f"ssh -L {w.port}:127.0.0.1:{w.port}" in r.stderr

    # The browser's first request trades the token for a cookie and leaves the token behind.
    first = requests.get(url, allow_redirects=False, timeout=10)
    assert first.status_code == 302 and first.headers["Location"] == "/"
    cookie = first.headers["Set-Cookie"]
    # A session secret of this daemon's, never the token: loopback cookies reach every port.
    assert re.match(rf"keepgpu_session_{w.port}=[0-9a-f]{{64}};", cookie), cookie
    assert token(w) not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert page.status_code == 200 and page.url == f"http://127.0.0.1:{w.port}/"
    assert "<title>KeepGPU Control Deck</title>" in page.text
    assert page.headers["Content-Type"] == "text/html"
    for asset, kind in [("assets/dashboard.js", "text/javascript"),
                        ("assets/index.css", "text/css")]:
        a = browser.get(f"http://127.0.0.1:{w.port}/{asset}", timeout=10)
        assert a.status_code == 200 and a.headers["Content-Type"] == kind and a.content
    gpus = browser.get(f"http://127.0.0.1:{w.port}/api/gpus", timeout=10)
    assert gpus.status_code == 200 and gpus.json()["gpus"][0]["name"] == "Fake GPU 0"

    # Without the cookie the page is refused with a pointer to this command.
    bare = requests.get(f"http://127.0.0.1:{w.port}/", timeout=10)
    assert bare.status_code == 401 and "keep-gpu dashboard" in bare.text
    assert token(w) not in bare.text

    stop(p)
    assert not endpoint.exists(), "the endpoint record goes with the service"


def test_dashboard_auto_starts_the_service(svc):
    w = svc()
    r = w.run("dashboard", *w.tcp())
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Auto-started KeepGPU service" in r.stderr
    assert r.stdout == f"http://127.0.0.1:{w.port}/?token={token(w)}\n"
    assert requests.get(r.stdout.strip(), timeout=10).status_code == 200
    assert w.run("service-stop", *w.tcp()).returncode == 0


def test_dashboard_without_auto_start_names_the_problem(svc):
    w = svc()
    r = w.run("dashboard", *w.tcp(), "--no-auto-start")
    assert r.returncode == 1 and r.stdout == ""
    assert "KeepGPU service is unavailable" in r.stderr and "keep-gpu serve" in r.stderr


def test_dashboard_needs_a_tcp_listener(svc):
    w = svc()
    p = serve(w, "--no-tcp")
    r = w.run("dashboard")
    assert r.returncode == 1 and r.stdout == ""
    assert "no TCP listener" in r.stderr and "keep-gpu service-stop" in r.stderr
    stop(p)


def test_dashboard_without_auth_prints_a_plain_url(svc):
    w = svc()
    p = serve(w, *w.tcp(), "--no-auth")
    r = w.run("dashboard")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"http://127.0.0.1:{w.port}/\n"
    stop(p)


def test_dashboard_open_keeps_the_token_off_the_command_line(svc, tmp_path):
    w = svc()
    p = serve(w, *w.tcp())
    seen = tmp_path / "browser-argv"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}\n')
    browser.chmod(0o755)
    r = w.run("dashboard", "--open", env={**w.env, "BROWSER": str(browser)})
    assert r.returncode == 0, r.stderr
    argv = seen.read_text().splitlines()
    opener = w.rt / "dashboard-open.html"
    assert argv == [f"file://{opener}"]
    assert token(w) not in seen.read_text()
    assert stat.S_IMODE(opener.stat().st_mode) == 0o600
    assert f'url=http://127.0.0.1:{w.port}/?token={token(w)}"' in opener.read_text()

    failing = tmp_path / "failing.sh"
    failing.write_text("#!/bin/sh\nexit 3\n")
    failing.chmod(0o755)
    r = w.run("dashboard", "--open", env={**w.env, "BROWSER": str(failing)})
    assert r.returncode == 1
    assert r.stdout.startswith("http://"), "the URL is still printed for the user to open"
    assert "Could not open a browser" in r.stderr and "exit status 3" in r.stderr
    stop(p)


def test_telemetry_history_shows_the_memory_held(svc):
    w = svc(devices=[device(0), device(1)])
    p = serve(w, *w.tcp())
    headers = {"Authorization": f"Bearer {token(w)}"}
    base = f"http://127.0.0.1:{w.port}"
    start_session(w, "--gpu-ids", "1")  # 64 MiB on GPU 1
    w.fake.wait_for(lambda s: s["devices"][1]["allocated_bytes"] == 64 * MiB, timeout=10)
    deadline = time.monotonic() + 30
    latest = None
    while time.monotonic() < deadline:
        history = requests.get(f"{base}/api/telemetry", headers=headers, timeout=10).json()
        gpus = {g["id"]: g for g in history["gpus"]}
        if set(gpus) == {0, 1} and gpus[1]["samples"]:
            latest = gpus[1]["samples"][-1]
            if latest["memory_held"] == 64 * MiB:
                break
        time.sleep(0.5)
    assert latest is not None and latest["memory_held"] == 64 * MiB, history
    assert latest["memory_used"] >= 64 * MiB, "the device's own reading includes what we hold"
    assert gpus[0]["samples"][-1]["memory_held"] == 0
    assert gpus[1]["name"] == "Fake GPU 1" and gpus[1]["memory_total"] == 16 << 30
    assert history["period_seconds"] == 5 and history["background_period_seconds"] == 30
    assert history["window_seconds"] == 600
    assert requests.get(f"{base}/api/telemetry", timeout=10).status_code == 401
    stop(p)


def test_help_lists_the_dashboard_command(svc):
    w = svc()
    r = w.run("--help")
    assert "dashboard     Print the dashboard URL" in r.stdout
    r = w.run("dashboard", "--help")
    assert r.returncode == 0
    assert "--open" in r.stdout and "--no-auto-start" in r.stdout and "--port" in r.stdout
