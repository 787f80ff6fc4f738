"""The daemon's HTTP side under abuse, black-box over raw sockets against `keep-gpu serve` on the
fake GPUs: connections held open by another local user never lock the owner out, idle
connections are closed within seconds, batches are capped, chunked bodies and foreign
absolute-form targets are refused, memory comes back after big requests, and the dashboard
cookie dies with the daemon that issued it."""

from __future__ import annotations

import concurrent.futures as cf
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from test_dashboard_cli import serve, stop, token
from test_service_cli import Svc, svc  # noqa: F401  (svc is a fixture)

# Opens N connections to 127.0.0.1:PORT, optionally sends each a request head that never ends,
# says how many it holds, and keeps them until its stdin closes.
HOLDER = r"""
import socket, sys
port, count, partial = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "partial"
held = []
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    if partial:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    held.append(s)
print("holding", len(held), flush=True)
sys.stdin.read()
"""


def hold_connections(port: int, count: int, partial: bool) -> subprocess.Popen:
    """The holder runs as another user (nobody), as a stranger on a shared node would."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not installed")
    holder = subprocess.Popen(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-c",
         HOLDER, str(port), str(count), "partial" if partial else "idle"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = holder.stdout.readline()
    assert line == f"holding {count}\n", line + holder.stderr.read()
    return holder


def raw(port: int, data: bytes, timeout: float = 20) -> tuple[int, dict[str, str], bytes]:
    """Sends `data` on a fresh connection and reads until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def post(port: int, tok: str, path: str, body: bytes, extra: str = "",
         length: bool = True) -> tuple[int, dict[str, str], bytes]:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {tok}\r\n"
            f"Content-Type: application/json\r\n{extra}")
    if length:
        head += f"Content-Length: {len(body)}\r\n"
    return raw(port, head.encode() + b"Connection: close\r\n\r\n" + body)


def timed(fn):
    t0 = time.monotonic()
    result = fn()
    return result, time.monotonic() - t0


@pytest.mark.parametrize("partial", [False, True], ids=["idle", "slowloris"])
def test_another_users_connections_lock_nobody_out(svc, partial):
    w = svc()
    p = serve(w, *w.tcp())
    tok = token(w)
    holder = hold_connections(w.port, 300, partial)
    try:
        status, cli_s = timed(lambda: w.run("status"))  # the owner's CLI, over the Unix socket
        assert status.returncode == 0, status.stdout + status.stderr
        assert json.loads(status.stdout)["active_jobs"] == []
        reply, tcp_s = timed(lambda: requests.get(
            f"http://127.0.0.1:{w.port}/api/sessions",
            headers={"Authorization": f"Bearer {tok}"}, timeout=20))
        assert reply.status_code == 200, reply.text
        print(f"\nwith 300 {'slowloris' if partial else 'idle'} connections of another user: "
              f"`keep-gpu status` {cli_s * 1000:.0f} ms, authenticated TCP {tcp_s * 1000:.0f} ms")
        # Goals 1 s and 2 s; the bounds leave room for sanitizer builds on a busy machine.
        assert cli_s < 5 and tcp_s < 5
    finally:
        holder.stdin.close()
        holder.wait(10)
    stop(p)


def test_idle_connections_are_closed_within_seconds(svc):
    w = svc()
    p = serve(w, *w.tcp())
    with socket.create_connection(("127.0.0.1", w.port), timeout=30) as s:
        s.sendall(b"GET /health HTTP/1.1\r\n")  # a request head that never ends
        (data, closed_s) = timed(lambda: s.recv(1024))
    print(f"\nan unfinished request head was closed after {closed_s:.1f} s")
    assert data == b""
    # The head must arrive within 5 s; the body timeout (10 s) must not be what closed it.
    assert closed_s < 9
    stop(p)


def test_oversized_batches_get_one_invalid_request_error(svc):
    w = svc()
    p = serve(w, *w.tcp())
    tok = token(w)
    ping = {"jsonrpc": "2.0", "method": "ping"}
    batch = [dict(ping, id=i) for i in range(1000)]
    status, _, body = post(w.port, tok, "/rpc", json.dumps(batch).encode())
    assert status == 200 and len(json.loads(body)) == 1000

    status, _, body = post(w.port, tok, "/rpc", json.dumps(batch + [dict(ping, id=1000)]).encode())
    assert status == 200
    assert json.loads(body) == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32600, "message": "JSON-RPC batch too large: 1001 messages (max 1000)."}}
    # 450 000 tiny items in 900 KB: one short error, not a response of tens of megabytes.
    status, _, body = post(w.port, tok, "/rpc", b"[" + b",".join([b"1"] * 450000) + b"]")
    assert status == 200 and len(body) < 200 and json.loads(body)["error"]["code"] == -32600
    stop(p)


def test_chunked_bodies_are_refused_with_411(svc):
    w = svc()
    p = serve(w, *w.tcp())
    tok = token(w)
    start = json.dumps({"vram": "8MiB", "interval": 0.2, "busy_threshold": -1}).encode()
    chunked = f"{len(start):x}\r\n".encode() + start + b"\r\n0\r\n\r\n"
    for path in ["/api/sessions", "/rpc"]:
        status, _, body = post(w.port, tok, path, chunked, "Transfer-Encoding: chunked\r\n",
                               length=False)
        assert status == 411, body
        assert "Content-Length" in json.loads(body)["error"]["message"]
    # With a Content-Length beside it, still refused (the two could disagree).
    status, _, _ = post(w.port, tok, "/api/sessions", chunked, "Transfer-Encoding: chunked\r\n")
    assert status == 411
    assert json.loads(w.run("status").stdout)["active_jobs"] == [], "nothing was started"
    assert w.allocated() == 0
    stop(p)


def test_absolute_form_targets_must_name_this_daemon(svc):
    w = svc()
    p = serve(w, *w.tcp())
    auth = f"Authorization: Bearer {token(w)}\r\n"
    for target in ["http://evil.example/api/gpus", f"http://evil.example:{w.port}/api/gpus",
                   "http://127.0.0.1@evil.example/api/gpus", "http:///api/gpus"]:
        status, _, body = raw(w.port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{w.port}\r\n"
                                      f"{auth}\r\n".encode())
        assert status == 403, target
        assert json.loads(body) == {"error": {"message": "Host not allowed"}}, target
    # The daemon's own name is served, as with a Host header.
    status, _, body = raw(w.port, f"GET http://127.0.0.1:{w.port}/api/gpus HTTP/1.1\r\n"
                                  f"Host: 127.0.0.1:{w.port}\r\n{auth}\r\n".encode())
    assert status == 200 and json.loads(body)["gpus"][0]["name"] == "Fake GPU 0"
    stop(p)


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))


def sanitized(pid: int) -> bool:
    """Sanitizer runtimes keep freed memory in quarantine on purpose; RSS says nothing there."""
    return "libasan" in Path(f"/proc/{pid}/maps").read_text()


def test_memory_comes_back_after_bursts_of_big_requests(svc):
    w = svc()
    p = serve(w, *w.tcp())
    if sanitized(p.pid):
        stop(p)
        pytest.skip("RSS is not meaningful under AddressSanitizer")
    tok = token(w)
    post(w.port, tok, "/rpc", b'{"jsonrpc":"2.0","id":1,"method":"ping"}')
    before = rss_kib(p.pid)
    # Big bodies that decode to big JSON values: 16 at a time, a few rounds.
    big = json.dumps([{"jsonrpc": "2.0", "method": "ping", "params": {"x": "a" * 900}}
                      for _ in range(950)]).encode()
    with cf.ThreadPoolExecutor(16) as pool:
        for _ in range(4):
            list(pool.map(lambda _: post(w.port, tok, "/rpc", big), range(16)))
    time.sleep(0.5)
    after = rss_kib(p.pid)
    print(f"\nRSS before {before / 1024:.1f} MiB, after 64 requests of {len(big) >> 10} KiB: "
          f"{after / 1024:.1f} MiB")
    assert after - before < 20 * 1024
    stop(p)


def test_dashboard_cookie_dies_with_the_daemon(svc):
    w = svc()
    p = serve(w, *w.tcp())
    login = requests.get(f"http://127.0.0.1:{w.port}/?token={token(w)}", allow_redirects=False,
                         timeout=10)
    assert login.status_code == 302
    name, value = login.headers["Set-Cookie"].split(";")[0].split("=", 1)
    assert name == f"keepgpu_session_{w.port}" and value != token(w)
    cookie = {"Cookie": f"{name}={value}"}
    api = f"http://127.0.0.1:{w.port}/api/sessions"
    assert requests.get(api, headers=cookie, timeout=10).status_code == 200
    stop(p)

    p = serve(w, *w.tcp())  # same port, same token file, a new daemon
    assert requests.get(api, headers=cookie, timeout=10).status_code == 401
    bearer = {"Authorization": f"Bearer {token(w)}"}
    assert requests.get(api, headers=bearer, timeout=10).status_code == 200
    again = requests.get(f"http://127.0.0.1:{w.port}/?token={token(w)}", allow_redirects=False,
                         timeout=10)
    assert again.headers["Set-Cookie"].split(";")[0] != f"{name}={value}"
    stop(p)
