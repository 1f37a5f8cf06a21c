"""[gpu]: devices from /proc, nvidia-smi, NVML and KFD, narrowed by the visible-device
variables, judged by deny_models and max_devices. Recorded outputs, no GPU needed."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from envcheck_helpers import Replay, fixture_root, write_policy

from importwall.envcheck import gpu
from importwall.envcheck.runner import ProbeError, command_runner

NVIDIA_FIXTURES = {
    "a100": ("NVIDIA A100-SXM4-80GB", 2, 81920),
    "h100": ("NVIDIA H100 80GB HBM3", 8, 81559),
    "t4": ("Tesla T4", 1, 15360),
    "l4": ("NVIDIA L4", 1, 23034),
    "mig": ("NVIDIA A100-SXM4-80GB", 2, 81920),
}


@pytest.mark.parametrize("name", sorted(NVIDIA_FIXTURES))
def test_proc_and_nvidia_smi_agree_on_recorded_machines(name: str) -> None:
    model, count, memory = NVIDIA_FIXTURES[name]
    from_proc = gpu.nvidia_from_proc(fixture_root("gpu", name))
    from_smi = gpu.nvidia_from_smi(Replay.nvidia_smi(name))
    assert [d.model for d in from_proc] == [model] * count
    assert [d.model for d in from_smi] == [model] * count
    assert [(d.uuid, d.bus_id) for d in from_proc] == [(d.uuid, d.bus_id) for d in from_smi]
    assert all(d.memory_mib == memory for d in from_smi)
    assert [d.index for d in from_smi] == list(range(count))


def test_nvidia_smi_mig_instances_are_attached_to_their_gpu() -> None:
    replay = Replay.nvidia_smi("mig")
    devices = gpu.nvidia_from_smi(replay)
    assert [call[0][1] for call in replay.calls] == [
        "--query-gpu=index,uuid,name,memory.total,pci.bus_id,mig.mode.current", "-L"]
    assert all(d.mig_enabled for d in devices)
    assert devices[0].mig_devices == ("MIG-dc34c2fd-4bd7-52ad-a6d0-645dcd1794e4",)
    assert len(devices[1].mig_devices) == 2


def test_nvidia_smi_without_mig_is_asked_once() -> None:
    replay = Replay.nvidia_smi("t4")
    gpu.nvidia_from_smi(replay, timeout=2.5)
    assert len(replay.calls) == 1
    assert replay.calls[0][1] == 2.5
    assert replay.calls[0][0][-1] == "--format=csv,noheader,nounits"


def test_nvidia_smi_output_in_an_unknown_format_is_a_probe_error() -> None:
    with pytest.raises(ProbeError, match="unknown format"):
        gpu.nvidia_from_smi(Replay({"--query-gpu": "index, name\n0, Tesla T4\n"}))


def test_kfd_lists_gpu_nodes_and_skips_the_cpu_node() -> None:
    devices = gpu.amd_from_kfd(fixture_root("gpu", "mi300x"))
    assert [d.model for d in devices] == ["AMD Instinct MI300X (gfx942)"] * 2
    assert [d.bus_id for d in devices] == ["0000:0c:00.0", "0000:22:00.0"]
    assert devices[0].uuid == "GPU-4ad3b1c28f6e0915"
    assert devices[0].memory_mib == 196288
    assert "MI300X (gfx942)" in devices[0].model_names()


def test_nvml_probe_reads_names_uuids_and_mig() -> None:
    class NVMLError(Exception):
        pass

    boards = [("NVIDIA H100 80GB HBM3", "GPU-aaa", b"00000000:18:00.0", 1, ["MIG-1", None]),
              ("NVIDIA L4", "GPU-bbb", b"00000000:3A:00.0", None, [])]

    def mig_mode(handle):
        if boards[handle][3] is None:
            raise NVMLError("Not Supported")
        return (boards[handle][3], boards[handle][3])

    def mig_handle(handle, slot):
        uuid = boards[handle][4][slot]
        if uuid is None:
            raise NVMLError("Not Found")
        return ("mig", uuid)

    calls = []
    nvml = SimpleNamespace(
        nvmlInit=lambda: calls.append("init"), nvmlShutdown=lambda: calls.append("shutdown"),
        nvmlDeviceGetCount=lambda: len(boards), nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: boards[h][0],
        nvmlDeviceGetUUID=lambda h: h[1] if isinstance(h, tuple) else boards[h][1],
        nvmlDeviceGetPciInfo=lambda h: SimpleNamespace(busId=boards[h][2]),
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(total=80 * 2**30),
        nvmlDeviceGetMigMode=mig_mode, nvmlDeviceGetMaxMigDeviceCount=lambda h: 2,
        nvmlDeviceGetMigDeviceHandleByIndex=mig_handle)
    devices = gpu.nvidia_from_nvml(nvml)  # type: ignore[arg-type]
    assert calls == ["init", "shutdown"]
    assert [(d.model, d.bus_id, d.mig_enabled, d.mig_devices, d.source) for d in devices] == [
        ("NVIDIA H100 80GB HBM3", "0000:18:00.0", True, ("MIG-1",), "nvml"),
        ("NVIDIA L4", "0000:3a:00.0", False, (), "nvml")]


def test_nvml_without_a_driver_is_quietly_absent() -> None:
    def fail() -> None:
        raise RuntimeError("NVML Shared Library Not Found")

    with pytest.raises(ProbeError) as caught:
        gpu.nvidia_from_nvml(SimpleNamespace(nvmlInit=fail))  # type: ignore[arg-type]
    assert caught.value.absent


# ------------------------------------------------------------------ visible devices


def _devices(name: str) -> list[gpu.GpuDevice]:
    return gpu.nvidia_from_smi(Replay.nvidia_smi(name))


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, [0, 1, 2, 3, 4, 5, 6, 7]),
    ({"CUDA_VISIBLE_DEVICES": ""}, []),
    ({"CUDA_VISIBLE_DEVICES": "-1"}, []),
    ({"CUDA_VISIBLE_DEVICES": "none"}, []),
    ({"CUDA_VISIBLE_DEVICES": "3"}, [3]),
    ({"CUDA_VISIBLE_DEVICES": "5,2"}, [5, 2]),
    ({"CUDA_VISIBLE_DEVICES": "1,9,2"}, [1]),  # read up to the first invalid entry
    ({"CUDA_VISIBLE_DEVICES": "GPU-5c1a4f2e-9d7b-4a3c"}, [4]),  # a unique UUID prefix
    ({"CUDA_VISIBLE_DEVICES": "GPU-5c1a4f2e"}, []),  # ambiguous prefix: invalid
    ({"NVIDIA_VISIBLE_DEVICES": "all"}, [0, 1, 2, 3, 4, 5, 6, 7]),
    ({"NVIDIA_VISIBLE_DEVICES": "none"}, []),
    ({"NVIDIA_VISIBLE_DEVICES": "void"}, []),
    ({"NVIDIA_VISIBLE_DEVICES": ""}, []),
    ({"NVIDIA_VISIBLE_DEVICES": "0,1"}, [0, 1, 2, 3, 4, 5, 6, 7]),  # host indices: keep all
    ({"NVIDIA_VISIBLE_DEVICES": "GPU-5c1a4f2e-9d7b-6a3c-8e2f-41d6b0c9e706"}, [6]),
    ({"NVIDIA_VISIBLE_DEVICES": "all", "CUDA_VISIBLE_DEVICES": "7"}, [7]),
])
def test_visible_device_semantics(environ: dict[str, str], expected: list[int]) -> None:
    visible = gpu.visible_devices(_devices("h100"), environ)
    assert [d.index for d in visible] == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("MIG-ec4c3916-65fa-5948-b9b5-9f21a2ddfcc0", [1]),
    ("MIG-dc34c2fd-4bd7-52ad-a6d0-645dcd1794e4,MIG-000d40d3-5924-5906-9879-8b69bf58689b",
     [0, 1]),
    ("MIG-GPU-b614723c-e261-4605-066e-79daab4c00ff/1/0", [0]),  # the pre-R470 form
])
def test_mig_uuids_select_their_parent_gpu(value: str, expected: list[int]) -> None:
    visible = gpu.visible_devices(_devices("mig"), {"CUDA_VISIBLE_DEVICES": value})
    assert [d.index for d in visible] == expected


def test_an_unresolvable_mig_uuid_assumes_the_worst_and_says_so() -> None:
    notes: list[str] = []
    devices = gpu.nvidia_from_proc(fixture_root("gpu", "mig"))  # /proc lists no MIG
    visible = gpu.visible_devices(devices, {"CUDA_VISIBLE_DEVICES": "MIG-ec4c3916"}, notes)
    assert len(visible) == 2
    assert "MIG" in notes[0]


def test_amd_visibility_rocr_then_hip() -> None:
    devices = gpu.amd_from_kfd(fixture_root("gpu", "mi300x"))
    assert gpu.visible_devices(devices, {"ROCR_VISIBLE_DEVICES": "1"})[0].bus_id == (
        "0000:22:00.0")
    assert gpu.visible_devices(devices, {"HIP_VISIBLE_DEVICES": ""}) == []
    assert gpu.visible_devices(devices, {"CUDA_VISIBLE_DEVICES": "0"}) == devices[:1]
    assert gpu.visible_devices(devices, {"ROCR_VISIBLE_DEVICES": "GPU-7e10c5a9d2b34f61",
                                         "HIP_VISIBLE_DEVICES": "0"}) == devices[1:]
    # CUDA_VISIBLE_DEVICES does not hide AMD devices once HIP_VISIBLE_DEVICES is set
    assert gpu.visible_devices(devices, {"HIP_VISIBLE_DEVICES": "0,1",
                                         "CUDA_VISIBLE_DEVICES": ""}) == devices


# ------------------------------------------------------------------ survey and policy

GPU_POLICY = """
[gpu]
deny_models = [
  { model = "A100*", reason = "training-class GPU" }, "H100*", "H200*", "B200*", "MI300*",
]
max_devices = 1
"""


@pytest.fixture
def gpu_section(tmp_path: Path):
    return write_policy(tmp_path, GPU_POLICY).section("gpu")


@pytest.mark.parametrize(("name", "codes"), [
    ("a100", ["gpu-denied-model", "gpu-denied-model", "gpu-too-many-devices"]),
    ("h100", ["gpu-denied-model"] * 8 + ["gpu-too-many-devices"]),
    ("t4", []),
    ("l4", []),
    ("mig", ["gpu-denied-model", "gpu-denied-model", "gpu-too-many-devices"]),
    ("mi300x", ["gpu-denied-model", "gpu-denied-model", "gpu-too-many-devices"]),
])
def test_recorded_machines_against_a_serving_policy(gpu_section, name: str,
                                                    codes: list[str]) -> None:
    root = fixture_root("gpu", name)
    runner = Replay.nvidia_smi(name) if name != "mi300x" else None
    found = gpu.survey(root, {}, runner, nvml=None)
    findings = gpu.check_gpus(gpu_section, found)
    assert [f.code for f in findings] == codes
    assert all(f.severity == "error" for f in findings)


def test_a_denied_model_names_device_rule_and_reason(gpu_section) -> None:
    found = gpu.survey(fixture_root("gpu", "a100"), {"CUDA_VISIBLE_DEVICES": "1"},
                       Replay.nvidia_smi("a100"), nvml=None)
    [finding] = gpu.check_gpus(gpu_section, found)
    assert finding.subject == "NVIDIA A100-SXM4-80GB"
    assert finding.rule == "'A100*'"
    assert finding.reason == "training-class GPU"
    assert finding.details["device"]["bus_id"] == "0000:0b:00.0"
    assert "GPU 1 is a NVIDIA A100-SXM4-80GB" in finding.message


def test_hiding_the_gpu_clears_the_findings(gpu_section) -> None:
    found = gpu.survey(fixture_root("gpu", "h100"), {"CUDA_VISIBLE_DEVICES": ""},
                       Replay.nvidia_smi("h100"), nvml=None)
    assert len(found.devices) == 8
    assert gpu.check_gpus(gpu_section, found) == []


def test_proc_is_the_fallback_when_nvidia_smi_fails(gpu_section) -> None:
    found = gpu.survey(fixture_root("gpu", "t4"), {}, Replay({}), nvml=None)
    assert [d.source for d in found.devices] == ["proc"]
    assert found.notes == ["nvidia-smi: nvidia-smi --query-gpu: not recorded"]
    assert [f.code for f in gpu.check_gpus(gpu_section, found)] == ["gpu-probe-note"]


# ------------------------------------------------------------------ the real runner


def _fake_command(folder: Path, name: str, script: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_hanging_nvidia_smi_is_killed_at_its_timeout(tmp_path: Path) -> None:
    # sh runs sleep as a child that keeps stdout open: only killing the group returns.
    _fake_command(tmp_path, "nvidia-smi", "echo started\nsleep 30\necho done\n")
    run = command_runner({"PATH": str(tmp_path)})
    started = time.monotonic()
    with pytest.raises(ProbeError, match=r"did not answer within 0\.5s"):
        gpu.nvidia_from_smi(run, timeout=0.5)
    assert time.monotonic() - started < 10


def test_a_failing_nvidia_smi_falls_back_to_proc(tmp_path: Path) -> None:
    _fake_command(tmp_path, "nvidia-smi",
                  "echo 'NVIDIA-SMI has failed because it could not communicate with the "
                  "NVIDIA driver.' >&2\nexit 9\n")
    run = command_runner({"PATH": str(tmp_path)})
    found = gpu.survey(fixture_root("gpu", "l4"), {}, run, nvml=None)
    assert [d.model for d in found.devices] == ["NVIDIA L4"]
    assert "exited with status 9: NVIDIA-SMI has failed" in found.notes[0]


def test_a_working_fake_nvidia_smi_is_read(tmp_path: Path) -> None:
    csv = Path(fixture_root("gpu", "t4", "nvidia-smi.csv")).read_text()
    _fake_command(tmp_path, "nvidia-smi", f"cat <<'EOF'\n{csv}EOF\n")
    run = command_runner({"PATH": str(tmp_path)})
    assert [d.model for d in gpu.nvidia_from_smi(run)] == ["Tesla T4"]


def test_a_missing_nvidia_smi_is_absent_not_a_note(tmp_path: Path) -> None:
    found = gpu.survey(str(tmp_path), {}, command_runner({"PATH": str(tmp_path)}), nvml=None)
    assert found.devices == [] and found.notes == []


def test_the_real_probes_on_this_machine_do_not_crash() -> None:
    found = gpu.survey("/", dict(os.environ), command_runner(), nvml=gpu.load_nvml())
    assert isinstance(found.devices, list)
    if not os.path.exists("/proc/driver/nvidia/gpus") and not os.path.exists("/sys/class/kfd"):
        assert found.visible == []


def test_hiding_every_gpu_with_minus_one_is_not_worth_a_note() -> None:
    notes: list[str] = []
    assert gpu.visible_devices(_devices("t4"), {"CUDA_VISIBLE_DEVICES": "-1"}, notes) == []
    assert notes == []
    gpu.visible_devices(_devices("t4"), {"CUDA_VISIBLE_DEVICES": "GPU-nope"}, notes)
    assert notes == ["CUDA_VISIBLE_DEVICES names no device that was found: no GPU is visible"]
