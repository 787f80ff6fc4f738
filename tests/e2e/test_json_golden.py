"""The exact bytes of every JSON the project prints or serves, compared with golden files:
the CLI's JSON commands against a real daemon and against a stand-in service whose replies carry
what only a pass-through keeps (huge integers, float spellings, non-ASCII text, member order,
duplicate keys), and the daemon's JSON-RPC, REST and MCP bodies. Anything that varies from run
to run (ports, paths, tokens, ids, times) is masked before comparing.

Set KEEP_GPU_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from test_dashboard_cli import token
from test_http_hardening import post, raw
from test_service_cli import FAST, Svc, free_port, serve, svc  # noqa: F401  (svc is a fixture)

GOLDEN = Path(__file__).resolve().parent / "golden"

# A stand-in service: answers GET /health with {"ok": true} and each JSON-RPC method with the
# result text given for it on the command line (method=text ...), echoing the request's id.
STAND_IN = r"""
import json, socket, sys
port, replies = int(sys.argv[1]), dict(a.split("=", 1) for a in sys.argv[2:])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
print("ready", flush=True)
while True:
    conn, _ = srv.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    if head.startswith(b"GET /health"):
        reply = b'{"ok": true}'
    else:
        request = json.loads(body)
        reply = ('{"jsonrpc": "2.0", "id": ' + json.dumps(request["id"]) + ', "result": '
                 + replies[request["method"]] + "}").encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(reply)).encode() + b"\r\nConnection: close\r\n\r\n" + reply)
    conn.close()
"""

# Replies only a faithful pass-through prints unchanged.
RECORD = ('{"job_id": "z", "params": {"gpu_ids": [1, 0], "vram": "1GiB", "interval": 300, '
          '"busy_threshold": 25}, "state": "active", "last_error": null}')
STATUS_REPLY = ('{"zeta": 1, "active_jobs": [' + RECORD + '], "big": 123456789012345678901234567890, '
                '"neg": -98765432109876543210987654321, "floats": [1e-05, 100.0, 0.1, 1e+300, '
                '-0.0, 5e-324, 1.5e300, 12345678901234567.0], "text": "\\u00e9\\ud83d\\ude00 \\u0007 '
                '\\"q\\" \\\\ / \\n\\t\\u2028", "dup": 1, "dup": 2, "empty": {}, "none": [], '
                '"nested": {"b": [{"y": true, "x": false}], "a": null}}')
ONE_REPLY = ('{"active": true, "job_id": "z", "params": {"gpu_ids": null, "vram": "1GiB", '
             '"interval": 0.5, "busy_threshold": -1}, "state": "active", "last_error": "\\u00e9"}')
STOP_REPLY = ('{"stopped": ["a"], "timed_out": [], "failed": ["b"], "errors": {"b": "boom"}, '
              '"message": "Some sessions failed to stop; inspect status for details.", '
              '"extra": 18446744073709551616}')
GPUS_REPLY = ('{"gpus": [{"id": 0, "visible_id": 0, "platform": "cuda", "name": "Fake \\u00e9", '
              '"memory_total": 85899345920, "memory_used": 1048576, "utilization": 7.5, '
              '"uuid": "GPU-x", "big": 99999999999999999999}]}')
BAD_REPLY = '{"active_jobs": [{"job_id": 5}], "big": 123456789012345678901234567890}'


class Masker:
    """Replaces what differs between runs with stable placeholders."""

    def __init__(self, w: Svc, tok: str = ""):
        self.pairs = [(str(w.base), "<BASE>"), (str(w.port), "<PORT>")]
        if tok:
            self.pairs.insert(0, (tok, "<TOKEN>"))

    def __call__(self, text: str) -> str:
        for value, name in self.pairs:
            text = text.replace(value, name)
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<UUID>",
                      text)
        return re.sub(r"\b1[0-9]{9}\.[0-9]+", "<TIME>", text)


def compare(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("KEEP_GPU_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
        return
    assert path.is_file(), f"{path} is missing: run with KEEP_GPU_UPDATE_GOLDEN=1 to write it"
    expected = path.read_text()
    assert text == expected, f"{name} differs from its golden file"


def cli_section(w: Svc, mask, title: str, *args: str) -> str:
    r = w.run(*args)
    return (f"=== {title}: keep-gpu {mask(' '.join(args))}\nexit {r.returncode}\n--- stdout\n"
            f"{mask(r.stdout)}--- stderr\n{mask(r.stderr)}")


def wait_active(w: Svc, job: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = w.run("status", *w.tcp(), "--job-id", job)
        if r.returncode == 0:
            record = json.loads(r.stdout)
            if record.get("state") == "active" and all(
                    g.get("phase") == "holding" for g in record.get("gpus", [])):
                return
        time.sleep(0.1)
    raise AssertionError(f"{job} never became active: {r.stdout}{r.stderr}")


def test_cli_json_output_against_a_real_daemon(svc):
    w = svc()
    serve(w, *w.tcp())
    mask = Masker(w, token(w))
    out = [cli_section(w, mask, "no sessions", "status", *w.tcp()),
           cli_section(w, mask, "gpus", "list-gpus", *w.tcp()),
           cli_section(w, mask, "unknown job", "status", *w.tcp(), "--job-id", "nope")]
    r = w.run("start", *w.tcp(), "--vram", "16MiB", *FAST, "--job-id", "g1", "--gpu-ids", "0")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_active(w, "g1")
    out += [cli_section(w, mask, "one session", "status", *w.tcp(), "--job-id", "g1"),
            cli_section(w, mask, "all sessions", "status", *w.tcp()),
            cli_section(w, mask, "stop one", "stop", *w.tcp(), "--job-id", "g1"),
            cli_section(w, mask, "stop unknown", "stop", *w.tcp(), "--job-id", "g1"),
            cli_section(w, mask, "stop all", "stop", *w.tcp(), "--all")]
    compare("cli_daemon.txt", "".join(out))


def test_cli_passes_a_services_json_through_unchanged(svc, tmp_path):
    w = svc()
    mask = Masker(w)
    out = []
    every = [["status"], ["list-gpus"], ["stop", "--all"]]
    cases = [
        ("pass-through", {"status": STATUS_REPLY, "list_gpus": GPUS_REPLY,
                          "stop_keep": STOP_REPLY}, every),
        ("one record", {"status": ONE_REPLY}, [["status", "--job-id", "z"]]),
        ("malformed", {"status": BAD_REPLY}, [["status"]]),
    ]
    for title, replies, commands in cases:
        port = free_port()
        w.port = port
        mask.pairs[1] = (str(port), "<PORT>")
        stand_in = subprocess.Popen(
            [sys.executable, "-c", STAND_IN, str(port), *(f"{k}={v}" for k, v in replies.items())],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert stand_in.stdout.readline() == "ready\n", stand_in.stderr.read()
            for command in commands:
                out.append(cli_section(w, mask, f"{title} {command[0]}", *command, *w.tcp()))
        finally:
            stand_in.kill()
            stand_in.wait()
    compare("cli_pass_through.txt", "".join(out))


def request_section(title: str, reply: tuple[int, dict[str, str], bytes], mask) -> str:
    status, headers, body = reply
    return (f"=== {title}\n{status} {headers.get('content-type', '-')}\n"
            f"{mask(body.decode('utf-8', 'replace'))}\n")


def test_api_json_bodies(svc):
    w = svc()
    serve(w, *w.tcp())
    tok = token(w)
    mask = Masker(w, tok)
    port = w.port

    def rpc(title: str, body: str | bytes) -> str:
        data = body if isinstance(body, bytes) else body.encode()
        return request_section(title, post(port, tok, "/rpc", data), mask)

    def get(title: str, path: str) -> str:
        head = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {tok}\r\n"
                "Connection: close\r\n\r\n")
        return request_section(title, raw(port, head.encode()), mask)

    def rest(title: str, method: str, path: str, body: str = "") -> str:
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {tok}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n")
        return request_section(title, raw(port, head.encode() + body.encode()), mask)

    mcp_head = "Accept: application/json, text/event-stream\r\n"

    def mcp(title: str, body: str) -> str:
        return request_section(title, post(port, tok, "/mcp", body.encode(), mcp_head), mask)

    out = [
        rpc("ping, huge id", '{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}'),
        rpc("ping, negative huge id",
            '{"jsonrpc":"2.0","id":-98765432109876543210987654321,"method":"ping"}'),
        rpc("ping, string id", '{"jsonrpc":"2.0","id":"\\u00e9\\ud83d\\ude00","method":"ping"}'),
        rpc("ping, duplicate id", '{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}'),
        rpc("float id", '{"jsonrpc":"2.0","id":1.5,"method":"ping"}'),
        rpc("batch", '[{"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"},'
                     '{"jsonrpc":"2.0","id":"b","method":"nope"},3,'
                     '{"jsonrpc":"2.0","method":"ping"}]'),
        rpc("parse error", '{"jsonrpc":'),
        rpc("bad utf-8", b'{"jsonrpc":"2.0","id":1,"method":"\xff"}'),
        rpc("list_gpus", '{"jsonrpc":"2.0","id":1,"method":"list_gpus"}'),
        rpc("status, none", '{"jsonrpc":"2.0","id":1,"method":"status"}'),
        rpc("bad params", '{"jsonrpc":"2.0","id":1,"method":"start_keep","params":'
                          '{"vram":"x","zz":1,"aa":2}}'),
        rpc("huge vram", '{"jsonrpc":"2.0","id":1,"method":"start_keep","params":'
                         '{"vram":123456789012345678901234567890}}'),
        rpc("huge interval", '{"jsonrpc":"2.0","id":1,"method":"start_keep","params":'
                             '{"interval":123456789012345678901234567890}}'),
        rpc("huge gpu id", '{"jsonrpc":"2.0","id":1,"method":"start_keep","params":'
                           '{"gpu_ids":[123456789012345678901234567890]}}'),
        rpc("start", '{"jsonrpc":"2.0","id":7,"method":"start_keep","params":{"job_id":"a1",'
                     '"vram":"16MiB","interval":0.2,"busy_threshold":-1,"gpu_ids":[0]}}'),
    ]
    wait_active(w, "a1")
    out += [
        rpc("status, one", '{"jsonrpc":"2.0","id":1,"method":"status","params":{"job_id":"a1"}}'),
        get("health", "/health"),
        get("rest gpus", "/api/gpus"),
        get("rest sessions", "/api/sessions"),
        get("rest one session", "/api/sessions/a1"),
        get("rest unknown session", "/api/sessions/none"),
        rest("rest bad body", "POST", "/api/sessions", '{"vram": 1.5, "job_id": "a1"}'),
        rest("rest not json", "POST", "/api/sessions", "[1,"),
        mcp("mcp initialize", '{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
                              '{"protocolVersion":"2025-06-18","capabilities":{},'
                              '"clientInfo":{"name":"t","version":"1"}}}'),
        mcp("mcp tools/list", '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'),
        mcp("mcp status", '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":'
                          '{"name":"status","arguments":{"job_id":"a1"}}}'),
        mcp("mcp bad tool", '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":'
                            '{"name":"start_keep","arguments":{"vram":"lots"}}}'),
        rest("rest stop one", "DELETE", "/api/sessions/a1"),
        rpc("stop all", '{"jsonrpc":"2.0","id":9,"method":"stop_keep"}'),
    ]
    compare("api.txt", "".join(out))
