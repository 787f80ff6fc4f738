"""Command line, help and validation of blocking mode. Everything here
fails before any device access, so no fake GPU is needed unless stated."""

import json
import re

import pytest

from conftest import clean_env, run


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(keep_gpu_bin, flag):
    r = run([flag])
    assert r.returncode == 0
    interval_line = next(line for line in r.stdout.splitlines() if "--interval" in line)
    assert "NUMBER" in interval_line
    busy_line = next(line for line in r.stdout.splitlines() if "--busy-threshold" in line)
    assert "INTEGER" in busy_line
    for command in ["serve", "start", "status", "stop", "list-gpus", "service-stop"]:
        assert re.search(rf"^\s+{command}\s", r.stdout, re.M), command
    assert "--threshold" not in r.stdout
    assert "[default: 300]" in r.stdout and "[default: 1GiB]" in r.stdout
    assert r.stderr == ""


def test_version(keep_gpu_bin):
    r = run(["--version"])
    assert r.returncode == 0
    assert re.fullmatch(r"keep-gpu \d+\.\d+\.\d+\n", r.stdout)


@pytest.mark.parametrize("prefix", [["--gpu-ids", "0"], ["--vram", "2GiB"], ["--interval", "60"],
                                    ["--busy-threshold", "30"], ["--util-threshold", "30"],
                                    ["--threshold", "30"], ["--interval", "not-a-number"],
                                    ["--busy-threshold", "abc"]])
def test_root_options_before_a_subcommand(keep_gpu_bin, tmp_path, prefix):
    r = run([*prefix, "start"], env=clean_env({"HOME": str(tmp_path)}))
    assert r.returncode == 1
    out = collapse(r.stdout)
    assert "Omit blocking-mode root options before service subcommands" in out
    assert "keep-gpu start --gpu-ids 0" in out
    assert prefix[0].split("/")[0] in out
    assert "Usage:" not in r.stdout + r.stderr
    assert not (tmp_path / ".keepgpu").exists()


def test_root_option_labels_in_fixed_order(keep_gpu_bin):
    r = run(["--gpu-ids", "0", "--vram", "1GiB", "--interval", "5", "--threshold", "3",
             "--busy-threshold", "3", "status"])
    assert r.returncode == 1
    assert ("--gpu-ids, --vram, --threshold, --busy-threshold/--util-threshold, --interval"
            in collapse(r.stdout))
    assert "`status` service subcommand" in r.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.stdout)


@pytest.mark.parametrize("args, message", [
    (["--foo"], "No such option: --foo"),
    (["bogus"], "No such command 'bogus'"),
    (["--gpu-ids"], "requires an argument"),
    (["--version=1"], "does not take a value"),
    (["--log-level", "loud"], "Invalid value for '--log-level'"),
])
def test_usage_errors_exit_2_on_stderr(keep_gpu_bin, args, message):
    r = run(args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert message in r.stderr


@pytest.mark.parametrize("args, message", [
    (["--gpu-ids", ""], "gpu_ids must not be empty"),
    (["--gpu-ids", "   "], "gpu_ids must not be empty"),
    (["--interval", "0"], "interval must be positive"),
    (["--busy-threshold", "abc"], "busy_threshold must be -1 or an integer between 0 and 100"),
    (["--gpu-ids", "1_000"], "Invalid characters in --gpu-ids '1_000'"),
    (["--gpu-ids", "１２３"], "Invalid characters in --gpu-ids '１２３'"),
    (["--gpu-ids", "+0"], "Invalid characters in --gpu-ids '+0'"),
    (["--interval", "1_000"], "interval must be finite and positive"),
    (["--interval", "+1"], "interval must be finite and positive"),
    (["--interval", "9223372037"], "interval must be no more than 9223372036 seconds"),
    (["--busy-threshold", "1_0"], "busy_threshold must be -1 or an integer between 0 and 100"),
    (["--busy-threshold", "+25"], "busy_threshold must be -1 or an integer between 0 and 100"),
    (["--threshold", "1_0"], "threshold must be an integer utilization value or a VRAM size"),
    (["--threshold", "+25"], "threshold must be an integer utilization value or a VRAM size"),
    (["--threshold", "１２"], "threshold must be an integer utilization value or a VRAM size"),
    (["--vram", "9" * 500 + "GiB"], "vram must be no more than 1 PiB"),
    (["--vram", "not-a-size"], "invalid format: not-a-size, should be like '1000 MB'"),
    (["--threshold", "9" * 500 + "GiB"], "vram must be no more than 1 PiB"),
    (["--gpu-ids", "0,1,0"], "gpu_ids must not contain duplicate values"),
    (["--gpu-ids", "0,-1"], "gpu_ids must contain non-negative integers"),
    (["--threshold", "101"], "busy_threshold must be -1 or an integer between 0 and 100"),
    (["--vram", "start"], "invalid format: start, should be like '1000 MB'"),
    (["--vram", "3"], "memory size must be at least 4 bytes"),
    (["--vram", "1XB"], "unknown unit: XB"),
])
def test_validation_errors(keep_gpu_bin, args, message):
    r = run(args)
    assert r.returncode == 1, r
    assert r.stdout.startswith("Error: ")
    assert message in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert r.stderr == "", "validation fails before any log line"


def test_validation_order_interval_first(keep_gpu_bin):
    r = run(["--interval", "0", "--busy-threshold", "abc", "--gpu-ids", ""])
    assert r.stdout.strip() == "Error: interval must be positive"
