"""keep-gpu-mcp-server over stdio as an agent runs it: only protocol lines on stdout, framing
rules, MCP lifecycle, and sessions released at end of input."""

import json
import signal
import subprocess
import time

import pytest

from conftest import BUILD, clean_env, device

SERVER = BUILD / "bin" / "keep-gpu-mcp-server"
MiB = 1 << 20


def converse(lines, env=None, timeout=30):
    """Sends the lines, closes stdin, returns (parsed stdout lines, stderr, exit status)."""
    r = subprocess.run([str(SERVER)], input="".join(line + "\n" for line in lines),
                       env=env if env is not None else clean_env(), capture_output=True,
                       text=True, timeout=timeout)
    out = [json.loads(line) for line in r.stdout.splitlines()]
    return out, r.stderr, r.returncode


def test_tools_list_then_eof(keep_gpu_bin):
    out, _, rc = converse(['{"jsonrpc":"2.0","id":8,"method":"tools/list"}'])
    assert rc == 0
    assert len(out) == 1 and out[0]["id"] == 8
    assert [t["name"] for t in out[0]["result"]["tools"]] == [
        "start_keep", "stop_keep", "status", "list_gpus"]


def test_framing_rules(keep_gpu_bin):
    out, _, rc = converse([
        "{not json}",
        '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":NaN}',
        '["not","an","object"]',
        "",
        "   ",
        '{"jsonrpc":"2.0","id":2,"method":"ping"}\r',
        '{"jsonrpc":"2.0","id":3,"method":"ping"} {"jsonrpc":"2.0","id":4,"method":"ping"}',
        '{"jsonrpc":"2.0","method":"notifications/initialized"}',
        '{"jsonrpc":"1.0","method":"notifications/initialized"}',
        '{"jsonrpc":"2.0","id":5,"method":"ping"}',
        '{"jsonrpc":"2.0","id":99999999999999999999999,"method":"ping"}',
    ])
    assert rc == 0
    assert out[0]["id"] is None and out[0]["error"]["code"] == -32700
    assert "Expecting property name" in out[0]["error"]["message"]
    assert out[1]["error"]["code"] == -32700 and out[1]["id"] is None
    # A JSON array is a batch (JSON-RPC 2.0): each member that is not an object is invalid.
    assert [m["error"]["code"] for m in out[2]] == [-32600, -32600, -32600]
    assert out[3] == {"jsonrpc": "2.0", "id": 2, "result": {}}
    assert out[4]["error"]["message"].startswith("Extra data")
    assert out[5]["error"] == {"code": -32600, "message": "JSON-RPC version must be 2.0."}
    assert out[6] == {"jsonrpc": "2.0", "id": 5, "result": {}}
    assert out[7]["id"] == 99999999999999999999999
    assert len(out) == 8, "blank lines and the notification produce nothing"


def test_batches_and_notifications_follow_json_rpc(keep_gpu_bin):
    out, _, _ = converse([
        '[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"ping"},'
        '{"jsonrpc":"2.0","id":2,"method":"nope"}]',
        '{"jsonrpc":"2.0","method":"ping"}',
        '{"jsonrpc":"2.0","id":3,"method":"ping"}',
    ])
    assert isinstance(out[0], list) and [m["id"] for m in out[0]] == [1, 2]
    assert out[0][1]["error"]["code"] == -32601
    assert out[1]["id"] == 3 and len(out) == 2


def test_initialize_negotiates(keep_gpu_bin):
    out, _, _ = converse([
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05"}}',
        '{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2031-01-01"}}',
        '{"jsonrpc":"2.0","id":3,"method":"server/discover","params":{"_meta":'
        '{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
        '"io.modelcontextprotocol/clientCapabilities":{}}}}',
    ])
    assert out[0]["result"]["protocolVersion"] == "2024-11-05"
    assert out[1]["result"]["protocolVersion"] == "2025-11-25"
    assert out[0]["result"]["serverInfo"]["name"] == "keepgpu"
    assert "2026-07-28" in out[2]["result"]["supportedVersions"]


def test_eof_releases_sessions(keep_gpu_bin, fake):
    f = fake([device(0)])
    out, err, rc = converse([
        '{"jsonrpc":"2.0","id":1,"method":"start_keep","params":{"job_id":"a","gpu_ids":[0],'
        '"vram":"32MiB","busy_threshold":-1}}',
        '{"jsonrpc":"2.0","id":2,"method":"status","params":{"job_id":"a"}}',
    ], env=clean_env(f.env()))
    assert rc == 0, err
    assert out[0]["result"] == {"job_id": "a"}
    assert out[1]["result"]["state"] == "active"
    st = f.state()
    assert st["devices"][0]["allocations"] == 1
    assert st["devices"][0]["allocated_bytes"] == 0 and st["devices"][0]["contexts_live"] == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_releases_sessions_and_exits_0(keep_gpu_bin, fake, sig):
    f = fake([device(0)])
    proc = subprocess.Popen([str(SERVER)], env=clean_env(f.env()), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdin.write('{"jsonrpc":"2.0","id":1,"method":"start_keep","params":{"gpu_ids":[0],'
                     '"vram":"16MiB","busy_threshold":-1}}\n')
    proc.stdin.flush()
    assert "job_id" in json.loads(proc.stdout.readline())["result"]
    f.wait_for(lambda s: s["devices"][0]["allocated_bytes"] == 16 * MiB, timeout=10)
    t0 = time.monotonic()
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - t0 < 5
    assert f.state()["devices"][0]["allocated_bytes"] == 0
    proc.stdin.close()
    proc.stdout.close()
    proc.stderr.close()


def test_http_mode_validates_the_endpoint(keep_gpu_bin):
    for args, message in [(["--port", "0"], "port must be an integer between 1 and 65535"),
                          (["--port", "+8765"], "port must be an integer between 1 and 65535"),
                          (["--host", "bad host"], "host must be a DNS hostname or IPv4 address"),
                          (["--host", "::1"], "host must be a DNS hostname or IPv4 address")]:
        r = subprocess.run([str(SERVER), "--mode", "http", *args], capture_output=True, text=True,
                           timeout=10, env=clean_env())
        assert r.returncode == 2
        assert message in r.stderr
    r = subprocess.run([str(SERVER), "--mode", "tcp"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
