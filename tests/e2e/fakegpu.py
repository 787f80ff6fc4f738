"""Drive the fake vendor libraries from black-box tests.

The product runs unmodified; a test points it at the fake ``libcuda.so.1`` / ``libnvidia-ml.so.1``
(or, with ``vendor="amd"``, the fake ``libamdhip64`` / ``libhiprtc`` / ``librocm_smi64``) built in
``<build>/tests/fakes`` and describes the scenario in a JSON file (contract:
``tests/fakes/README.md``)::

    fake = FakeGpu(tmp_path, build_dir, devices=[device(0, utilization=100)])
    proc = subprocess.Popen([...keep-gpu...], env=fake.env())
    fake.update_device(0, utilization=0)            # the GPU becomes idle
    st = fake.wait_for(lambda s: s["devices"][0]["allocations"] == 1)

The environment of one vendor points the other vendor's libraries at files that do not exist, so
each scenario is a host with exactly one GPU vendor.

Standard library only (Python 3.11).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

GiB = 1 << 30

# The NVML builds: the full library and the variants without some entry points (README.md).
NVML_VARIANTS = {
    "full": "libnvidia-ml.so.1",
    "minimal": "libnvidia-ml-minimal.so.1",
    "bare": "libnvidia-ml-bare.so.1",
}
LIBCUDA = "libcuda.so.1"
# The AMD stack, under the sonames of a ROCm 6 install, and the ROCm SMI builds.
LIBHIP = "libamdhip64.so.6"
LIBHIPRTC = "libhiprtc.so.6"
RSMI_VARIANTS = {
    "full": "librocm_smi64.so.7",
    "minimal": "librocm_smi64-minimal.so.7",
}
VENDORS = ("nvidia", "amd")
# The library override variables the product reads.
NVIDIA_OVERRIDES = ("KEEP_GPU_LIBCUDA", "KEEP_GPU_LIBNVML")
AMD_OVERRIDES = ("KEEP_GPU_LIBHIP", "KEEP_GPU_LIBHIPRTC", "KEEP_GPU_LIBROCM_SMI")

State = dict[str, Any]


def fakes_dir(build_dir: str | os.PathLike[str]) -> Path:
    """The folder the fakes are built into."""
    return Path(build_dir).resolve() / "tests" / "fakes"


def uuid_for(index: int) -> str:
    """The UUID the fakes give device ``index`` when the config names none."""
    return f"GPU-00000000-0000-0000-0000-{index:012x}"


def device(index: int = 0, **fields: Any) -> dict[str, Any]:
    """One ``devices`` entry with the fakes' defaults spelled out; ``fields`` override them
    (``utilization``, ``utilization_script``, ``foreign_used``, ``processes``, ...)."""
    entry: dict[str, Any] = {
        "name": f"Fake GPU {index}",
        "uuid": uuid_for(index),
        "total_memory": 16 * GiB,
    }
    entry.update(fields)
    return entry


class FakeGpu:
    """A scenario for the fakes: its config file, state file and the environment to run under."""

    def __init__(
        self,
        tmp_dir: str | os.PathLike[str],
        build_dir: str | os.PathLike[str],
        devices: list[dict[str, Any]] | None = None,
        *,
        cuda: Mapping[str, Any] | None = None,
        nvml: Mapping[str, Any] | None = None,
        nvml_variant: str = "full",
        events: bool = False,
        per_process_state: bool = False,
        vendor: str = "nvidia",
        hip: Mapping[str, Any] | None = None,
        hiprtc: Mapping[str, Any] | None = None,
        rsmi: Mapping[str, Any] | None = None,
        rsmi_variant: str = "full",
    ) -> None:
        """``devices`` defaults to one idle 16 GiB GPU. ``cuda`` / ``nvml`` (and ``hip`` /
        ``hiprtc`` / ``rsmi``) are the config sections of the same names (faults, init errors,
        requires_init, ...). ``events`` turns on the fakes' event log (``events()``).
        ``per_process_state`` gives every process that loads the fakes its own state file
        (``states()``), for runs where a client and a daemon both load them. ``vendor="amd"``
        makes ``env()`` a host with the fake HIP runtime, hiprtc and ROCm SMI and no NVIDIA
        libraries."""
        self.dir = Path(tmp_dir).resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fakes_dir = fakes_dir(build_dir)
        if nvml_variant not in NVML_VARIANTS:
            raise ValueError(f"nvml_variant must be one of {sorted(NVML_VARIANTS)}")
        if rsmi_variant not in RSMI_VARIANTS:
            raise ValueError(f"rsmi_variant must be one of {sorted(RSMI_VARIANTS)}")
        if vendor not in VENDORS:
            raise ValueError(f"vendor must be one of {VENDORS}")
        self.vendor = vendor
        self.libcuda = self.fakes_dir / LIBCUDA
        self.libnvml = self.fakes_dir / NVML_VARIANTS[nvml_variant]
        self.libhip = self.fakes_dir / LIBHIP
        self.libhiprtc = self.fakes_dir / LIBHIPRTC
        self.librsmi = self.fakes_dir / RSMI_VARIANTS[rsmi_variant]
        needed = (self.libcuda, self.libnvml) if vendor == "nvidia" else (
            self.libhip, self.libhiprtc, self.librsmi)
        for lib in needed:
            if not lib.is_file():
                raise FileNotFoundError(f"{lib} is missing: build the fakegpu_all target first")
        self.config_path = self.dir / "fakegpu-config.json"
        self.per_process_state = per_process_state
        self.state_path = self.dir / (
            "fakegpu-state-%p.json" if per_process_state else "fakegpu-state.json"
        )
        self.events_path = self.dir / "fakegpu-events.log" if events else None
        self.config: dict[str, Any] = {
            "devices": copy.deepcopy(devices) if devices is not None else [device(0)],
            "cuda": dict(copy.deepcopy(cuda or {})),
            "nvml": dict(copy.deepcopy(nvml or {})),
            "hip": dict(copy.deepcopy(hip or {})),
            "hiprtc": dict(copy.deepcopy(hiprtc or {})),
            "rsmi": dict(copy.deepcopy(rsmi or {})),
        }
        self.write()

    # ----------------------------------------------------------------------------- the scenario

    def write(self) -> None:
        """Writes ``self.config`` atomically: a temporary file in the same folder, then a rename, so
        the fakes never read half a file (they re-read it when its inode, size or mtime changes)."""
        fd, tmp = tempfile.mkstemp(prefix=".fakegpu-config-", suffix=".json", dir=self.dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.config, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.config_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def update(
        self,
        devices: list[dict[str, Any]] | None = None,
        *,
        cuda: Mapping[str, Any] | None = None,
        nvml: Mapping[str, Any] | None = None,
        hip: Mapping[str, Any] | None = None,
        hiprtc: Mapping[str, Any] | None = None,
        rsmi: Mapping[str, Any] | None = None,
    ) -> None:
        """Replaces whichever of ``devices`` and the config sections is given and rewrites the
        file."""
        if devices is not None:
            self.config["devices"] = copy.deepcopy(devices)
        for name, section in (("cuda", cuda), ("nvml", nvml), ("hip", hip), ("hiprtc", hiprtc),
                              ("rsmi", rsmi)):
            if section is not None:
                self.config[name] = dict(copy.deepcopy(section))
        self.write()

    def update_device(self, index: int, **fields: Any) -> None:
        """Merges ``fields`` into physical device ``index`` (e.g. ``utilization=0``)."""
        self.config["devices"][index].update(copy.deepcopy(fields))
        self.write()

    def set_faults(self, ordinal: int | str, **faults: Any) -> None:
        """Merges faults for a *visible* ordinal (or ``"*"`` for every ordinal), e.g.
        ``set_faults(0, sync_hang=True)``, into the compute fake of this scenario's vendor (CUDA,
        or HIP for ``vendor="amd"``); a fault set to ``None`` is removed."""
        table = self.config[self._compute_section].setdefault("faults", {})
        entry = table.setdefault(str(ordinal), {})
        for key, value in faults.items():
            if value is None:
                entry.pop(key, None)
            else:
                entry[key] = copy.deepcopy(value)
        self.write()

    def clear_faults(self, ordinal: int | str | None = None) -> None:
        """Removes the faults of one visible ordinal, or all of them."""
        table = self.config[self._compute_section].setdefault("faults", {})
        if ordinal is None:
            table.clear()
        else:
            table.pop(str(ordinal), None)
        self.write()

    @property
    def _compute_section(self) -> str:
        return "cuda" if self.vendor == "nvidia" else "hip"

    def external_shutdown(self) -> None:
        """Makes the fake NVML (ROCm SMI for ``vendor="amd"``) act as if some other code in the
        product's process had shut it down completely (its init count drops to 0 at the next
        call)."""
        section = self.config["nvml" if self.vendor == "nvidia" else "rsmi"]
        section["external_shutdown"] = int(section.get("external_shutdown", 0)) + 1
        self.write()

    # ------------------------------------------------------------------------- the environment

    def env(
        self,
        base: Mapping[str, str] | None = None,
        *,
        cuda_visible_devices: str | None = None,
        nvml: bool = True,
        hiprtc: bool = True,
        smi: bool = True,
        rocr_visible_devices: str | None = None,
        hip_visible_devices: str | None = None,
    ) -> dict[str, str]:
        """The environment to run the product against the fakes: ``base`` (default: this
        process's environment) plus the loader path, the library overrides and the fakes' own
        variables. ``cuda_visible_devices`` (and ``rocr_visible_devices`` /
        ``hip_visible_devices``) set the masks when given. ``nvml=False`` points KEEP_GPU_LIBNVML
        at a file that does not exist, for "NVML absent" cases; ``hiprtc=False`` and ``smi=False``
        do the same for KEEP_GPU_LIBHIPRTC and KEEP_GPU_LIBROCM_SMI. The other vendor's
        overrides always name files that do not exist."""
        env = dict(os.environ if base is None else base)
        previous = env.get("LD_LIBRARY_PATH")
        env["LD_LIBRARY_PATH"] = (
            f"{self.fakes_dir}{os.pathsep}{previous}" if previous else str(self.fakes_dir)
        )
        absent = self.dir / "absent"
        if self.vendor == "nvidia":
            env["KEEP_GPU_LIBCUDA"] = str(self.libcuda)
            env["KEEP_GPU_LIBNVML"] = (
                str(self.libnvml) if nvml else str(absent / NVML_VARIANTS["full"])
            )
            env["KEEP_GPU_LIBHIP"] = str(absent / LIBHIP)
            env["KEEP_GPU_LIBHIPRTC"] = str(absent / LIBHIPRTC)
            env["KEEP_GPU_LIBROCM_SMI"] = str(absent / RSMI_VARIANTS["full"])
        else:
            env["KEEP_GPU_LIBCUDA"] = str(absent / LIBCUDA)
            env["KEEP_GPU_LIBNVML"] = str(absent / NVML_VARIANTS["full"])
            env["KEEP_GPU_LIBHIP"] = str(self.libhip)
            env["KEEP_GPU_LIBHIPRTC"] = str(self.libhiprtc if hiprtc else absent / LIBHIPRTC)
            env["KEEP_GPU_LIBROCM_SMI"] = str(
                self.librsmi if smi else absent / RSMI_VARIANTS["full"])
        env["FAKEGPU_CONFIG"] = str(self.config_path)
        env["FAKEGPU_STATE"] = str(self.state_path)
        if self.events_path is not None:
            env["FAKEGPU_EVENTS"] = str(self.events_path)
        else:
            env.pop("FAKEGPU_EVENTS", None)
        if cuda_visible_devices is not None:
            env["CUDA_VISIBLE_DEVICES"] = cuda_visible_devices
        if rocr_visible_devices is not None:
            env["ROCR_VISIBLE_DEVICES"] = rocr_visible_devices
        if hip_visible_devices is not None:
            env["HIP_VISIBLE_DEVICES"] = hip_visible_devices
        return env

    # ------------------------------------------------------------------------------ observing

    @staticmethod
    def _read(path: Path) -> State | None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def states(self) -> dict[int, State]:
        """Every state file by pid (one entry unless ``per_process_state``)."""
        if not self.per_process_state:
            st = self._read(self.state_path)
            return {} if st is None else {int(st["pid"]): st}
        out: dict[int, State] = {}
        for path in self.dir.glob("fakegpu-state-*.json"):
            st = self._read(path)
            if st is not None:
                out[int(st["pid"])] = st
        return out

    def state(self, pid: int | None = None) -> State | None:
        """The state the fakes last wrote (README.md, "Observing"), or None before the first
        write. With ``per_process_state``: the file of ``pid``, or else the most recently written."""
        if not self.per_process_state:
            return self._read(self.state_path)
        if pid is not None:
            return self._read(self.dir / f"fakegpu-state-{pid}.json")
        paths = sorted(self.dir.glob("fakegpu-state-*.json"), key=lambda p: p.stat().st_mtime_ns)
        return self._read(paths[-1]) if paths else None

    def wait_for(
        self,
        predicate: Callable[[State], Any],
        timeout: float = 3.0,
        step: float = 0.05,
        *,
        pid: int | None = None,
    ) -> State:
        """Polls ``state()`` until ``predicate(state)`` is true and returns that state; raises
        TimeoutError with the last state seen. Uses the monotonic clock only. A predicate that
        raises KeyError / IndexError (a device not written yet) counts as false."""
        deadline = time.monotonic() + timeout
        last: State | None = None
        while True:
            last = self.state(pid)
            if last is not None:
                try:
                    if predicate(last):
                        return last
                except (KeyError, IndexError):
                    pass
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"fake GPU state did not match within {timeout}s; last state: "
                    f"{json.dumps(last)}"
                )
            time.sleep(step)

    def events(self) -> list[str]:
        """The event log lines (``fakegpu[<pid>]: <event> ...``); needs ``events=True``."""
        if self.events_path is None:
            raise RuntimeError("FakeGpu was created without events=True")
        try:
            return self.events_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []


def _smoke_test(build_dir: str) -> None:
    """Loads the fakes into this process with ctypes and checks the helper against them."""
    import ctypes

    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeGpu(tmp, build_dir, [device(0, utilization=100), device(1)], events=True)
        os.environ.update(fake.env(cuda_visible_devices="1"))
        cuda = ctypes.CDLL(os.environ["KEEP_GPU_LIBCUDA"])
        nvml = ctypes.CDLL(os.environ["KEEP_GPU_LIBNVML"])
        assert cuda.cuInit(0) == 0
        ctx = ctypes.c_void_p()
        assert cuda.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), 0) == 0
        assert cuda.cuCtxSetCurrent(ctx) == 0
        ptr = ctypes.c_ulonglong()
        assert cuda.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(8 << 20)) == 0
        st = fake.wait_for(lambda s: s["devices"][1]["allocated_bytes"] == 8 << 20)
        assert st["devices"][0]["allocated_bytes"] == 0, st

        class Utilization(ctypes.Structure):
            _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]

        assert nvml.nvmlInit_v2() == 0
        handle = ctypes.c_void_p()
        assert nvml.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(handle)) == 0
        util = Utilization()
        assert nvml.nvmlDeviceGetUtilizationRates(handle, ctypes.byref(util)) == 0
        assert util.gpu == 100, util.gpu
        fake.update_device(0, utilization=7)
        assert nvml.nvmlDeviceGetUtilizationRates(handle, ctypes.byref(util)) == 0
        assert util.gpu == 7, util.gpu
        fake.set_faults(0, alloc_script=["oom"])
        assert cuda.cuMemAlloc_v2(ctypes.byref(ptr), ctypes.c_size_t(1)) == 2
        assert cuda.cuDevicePrimaryCtxRelease_v2(0) == 0
        st = fake.wait_for(lambda s: s["devices"][1]["contexts_live"] == 0)
        assert st["nvml"]["handle_by_index_calls"] == [0], st
        assert st["devices"][1]["allocated_bytes"] == 0, st
        assert any("ctx_release device=1 visible=0" in line for line in fake.events())

    with tempfile.TemporaryDirectory() as tmp:
        fake = FakeGpu(tmp, build_dir, [device(0), device(1, utilization=42)], vendor="amd")
        # HIP would read the first scenario's CUDA_VISIBLE_DEVICES as an overlay.
        os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        env = fake.env(rocr_visible_devices="1")
        assert not Path(env["KEEP_GPU_LIBCUDA"]).exists()
        os.environ.update(env)
        # The state library is loaded already: it re-reads FAKEGPU_* on reset.
        ctypes.CDLL(str(fake.fakes_dir / "libfakegpu_state.so")).fakegpu_reset()
        hip = ctypes.CDLL(env["KEEP_GPU_LIBHIP"])
        rsmi = ctypes.CDLL(env["KEEP_GPU_LIBROCM_SMI"])
        assert hip.hipInit(0) == 0
        count = ctypes.c_int()
        assert hip.hipGetDeviceCount(ctypes.byref(count)) == 0 and count.value == 1
        ptr = ctypes.c_void_p()
        assert hip.hipMalloc(ctypes.byref(ptr), ctypes.c_size_t(4 << 20)) == 0
        st = fake.wait_for(lambda s: s["devices"][1]["allocated_bytes"] == 4 << 20)
        assert st["hip"]["visible"] == [1], st
        assert rsmi.rsmi_init(ctypes.c_uint64(0)) == 0
        busy = ctypes.c_uint32()
        assert rsmi.rsmi_dev_busy_percent_get(1, ctypes.byref(busy)) == 0 and busy.value == 42
        assert rsmi.rsmi_shut_down() == 0
        assert hip.hipFree(ptr) == 0
        st = fake.wait_for(lambda s: s["devices"][1]["allocated_bytes"] == 0)
        assert st["rsmi"]["calls"] == ["init", "shutdown"], st
        print("fakegpu.py smoke test passed")


if __name__ == "__main__":
    import sys

    _smoke_test(sys.argv[1] if len(sys.argv) > 1 else "build")
