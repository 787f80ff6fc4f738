"""Which endpoints the CLI trusts and names: the token goes over TCP only to a loopback listener
owned by the same user (and never to /health), and `start` / `service-stop` print the address
the service really listens on, or say that it has no dashboard."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest

from conftest import KEEP_GPU
from test_service_cli import FAST, Svc, as_nobody, free_port, serve, svc  # noqa: F401  (svc: fixture)

TOKEN = "f00d" * 16

# Listens on 127.0.0.1:<port>, answers every request with {"ok": true} and prints, as JSON, each
# connection's bytes when told to stop (SIGTERM).
LISTENER = r"""
import json, signal, socket, sys
port = int(sys.argv[1])
seen = []
def done(*_):
    print(json.dumps(seen), flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
srv = socket.socket()
srv.bind(("127.0.0.1", port))
srv.listen(8)
print("ready", flush=True)
while True:
    conn, _ = srv.accept()
    conn.settimeout(2)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    seen.append(data.decode("latin-1"))
    body = b'{"ok": true}'
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    conn.close()
"""


class Listener:
    def __init__(self, prefix: list[str], port: int):
        self.proc = subprocess.Popen([*prefix, "/usr/bin/python3", "-c", LISTENER, str(port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line == "ready\n", line + self.proc.stderr.read()

    def received(self) -> list[str]:
        self.proc.terminate()
        out, err = self.proc.communicate(timeout=10)
        return json.loads(out.strip().splitlines()[-1])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def listener():
    made: list[Listener] = []

    def make(prefix: list[str], port: int) -> Listener:
        made.append(Listener(prefix, port))
        return made[-1]

    yield make
    for one in made:
        one.kill()


def nobody() -> list[str]:
    prefix = as_nobody()
    if prefix is None:
        pytest.skip("needs root and setpriv or runuser")
    return prefix


# ------------------------------------------------------------------------- the token's path


@pytest.mark.parametrize("token_from", ["env", "file"])
def test_token_never_reaches_another_users_listener(svc, listener, token_from):
    w = svc()
    impostor = listener(nobody(), w.port)
    env = dict(w.env)
    if token_from == "env":
        env["KEEP_GPU_TOKEN"] = TOKEN
    else:
        w.rt.mkdir(mode=0o700)
        (w.rt / "token").write_text(TOKEN + "\n")
        (w.rt / "token").chmod(0o600)
    r = w.run("status", *w.tcp(), env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    error = json.loads(r.stdout)["error"]
    assert error.startswith(f"Refusing to send the service token to 127.0.0.1:{w.port}: ")
    assert "belongs to uid 65534" in error
    assert impostor.received() == [], "not even a connection reaches the other user's socket"


def test_start_probes_health_without_the_token_then_refuses(svc, listener):
    w = svc()
    impostor = listener(nobody(), w.port)
    r = w.run("start", *w.tcp(), "--vram", "16MiB", *FAST, env=dict(w.env, KEEP_GPU_TOKEN=TOKEN))
    assert r.returncode == 1
    assert r.stdout.startswith("Error: Refusing to send the service token to 127.0.0.1:"), r.stdout
    seen = impostor.received()
    assert [req.split("\r\n")[0] for req in seen] == ["GET /health HTTP/1.1"]
    assert all(TOKEN not in req and "Authorization" not in req for req in seen), seen


def test_dashboard_prints_no_login_link_for_another_users_port(svc, listener):
    w = svc()
    impostor = listener(nobody(), w.port)
    r = w.run("dashboard", *w.tcp(), env=dict(w.env, KEEP_GPU_TOKEN=TOKEN))
    assert r.returncode == 1
    assert TOKEN not in r.stdout + r.stderr
    assert "Refusing to send the service token to 127.0.0.1:" in r.stderr, r.stderr
    assert all(TOKEN not in req for req in impostor.received())


def test_own_listener_gets_the_token_and_own_daemon_works(svc, listener):
    w = svc()
    port = free_port()  # not the daemon's: a closed listener's port stays busy for a while
    mine = listener([], port)
    r = w.run("status", "--port", str(port), env=dict(w.env, KEEP_GPU_TOKEN=TOKEN))
    seen = mine.received()
    assert len(seen) == 1 and seen[0].startswith("POST /rpc ")
    assert f"Authorization: Bearer {TOKEN}\r\n" in seen[0]
    assert r.returncode == 1  # the stand-in answers no JSON-RPC

    # The real daemon, auto-started on a TCP port, answers as before.
    r = w.run("start", *w.tcp(), "--vram", "16MiB", *FAST)
    assert r.returncode == 0, r.stdout + r.stderr
    r = w.run("status", *w.tcp())
    assert r.returncode == 0, r.stdout
    assert len(json.loads(r.stdout)["active_jobs"]) == 1
    assert w.run("service-stop", "--force", *w.tcp()).returncode == 0


# ------------------------------------------------------------------------ printed endpoints


def dashboard_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("Dashboard:"))


def test_start_names_the_port_the_service_listens_on(svc):
    w = svc()
    p = serve(w, *w.tcp())  # not 8765
    r = w.run("start", "--vram", "16MiB", *FAST)  # over the socket, no --port
    assert r.returncode == 0, r.stdout + r.stderr
    assert dashboard_line(r.stdout) == (
        f"Dashboard: http://127.0.0.1:{w.port}/ (run keep-gpu dashboard for a login link)")
    assert "8765" not in r.stdout
    p.send_signal(2)
    assert p.wait(20) == 0


def test_start_says_there_is_no_dashboard_without_tcp(svc):
    w = svc()
    p = serve(w, "--no-tcp")
    r = w.run("start", "--vram", "16MiB", *FAST)
    assert r.returncode == 0, r.stdout + r.stderr
    assert dashboard_line(r.stdout) == "Dashboard: none (the service has no TCP listener)"
    assert "http://" not in r.stdout
    p.send_signal(2)
    assert p.wait(20) == 0


def test_start_without_auth_needs_no_login_link(svc):
    w = svc()
    p = serve(w, *w.tcp(), "--no-auth")
    r = w.run("start", "--vram", "16MiB", *FAST)
    assert r.returncode == 0, r.stdout + r.stderr
    assert dashboard_line(r.stdout) == f"Dashboard: http://127.0.0.1:{w.port}/"
    p.send_signal(2)
    assert p.wait(20) == 0


def test_service_stop_names_the_port_the_daemon_listened_on(svc):
    w = svc()
    r = w.run("start", *w.tcp(), "--vram", "16MiB", *FAST)
    assert r.returncode == 0, r.stdout + r.stderr
    assert w.run("stop", "--all").returncode == 0
    r = w.run("service-stop")  # over the socket: the port comes from the daemon's record
    assert r.returncode == 0, r.stdout
    assert r.stdout == f"Stopped KeepGPU service daemon at http://127.0.0.1:{w.port}/\n"


def test_auto_started_daemon_without_tcp_is_named_by_its_socket(svc):
    w = svc()
    # The default port taken: the daemon auto-started over the socket serves the socket only.
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 8765))
    except OSError:
        blocker.close()
        pytest.skip("port 8765 is in use by something this test does not control")
    blocker.listen(1)
    try:
        r = w.run("start", "--vram", "16MiB", *FAST)
        assert r.returncode == 0, r.stdout + r.stderr
        sock = w.rt / "keep-gpu.sock"
        assert r.stdout.splitlines()[0] == (
            f"Auto-started KeepGPU service at {sock} (no TCP listener)")
        assert dashboard_line(r.stdout) == "Dashboard: none (the service has no TCP listener)"
        r = w.run("service-stop", "--force")
        assert r.returncode == 0, r.stdout
        assert r.stdout == f"Force-stopped KeepGPU service daemon at {sock} (no TCP listener)\n"
    finally:
        blocker.close()
