"""``[gpu]``: which accelerators this process can use, found without importing torch.

Sources, most precise first, for NVIDIA: NVML (``nvidia-ml-py``, when installed), then
``nvidia-smi`` (with a timeout), then the driver's ``/proc/driver/nvidia/gpus/*/information``
files. For AMD: the KFD topology under ``/sys/class/kfd``. Then the visible-device
variables narrow the list the way the runtimes do (:func:`visible_devices`).

Every probe takes its inputs (a root folder, a command runner, the NVML module) as
parameters, so tests replay outputs recorded on real machines.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from importwall.envcheck.rules import label, matching_rule
from importwall.envcheck.runner import ProbeError, Runner
from importwall.findings import KIND_GPU, Finding
from importwall.policy import Rule

if TYPE_CHECKING:
    from importwall.policy.sections import GpuSection

NVIDIA = "nvidia"
AMD = "amd"

SMI_QUERY = ("index", "uuid", "name", "memory.total", "pci.bus_id", "mig.mode.current")
DEFAULT_SMI_TIMEOUT = 5.0

# Marketing prefixes that model globs (``A100*``, ``MI300*``) should not have to spell.
_VENDOR_PREFIXES = ("nvidia ", "tesla ", "quadro ", "amd ", "instinct ", "radeon ")

# KFD gives PCI device ids, not names; the Instinct parts a policy is likely to name.
_AMD_DEVICE_NAMES = {
    0x738C: "AMD Instinct MI100",
    0x740F: "AMD Instinct MI210",
    0x740C: "AMD Instinct MI250X/MI250",
    0x74A0: "AMD Instinct MI300A",
    0x74A1: "AMD Instinct MI300X",
    0x74A5: "AMD Instinct MI325X",
}


@dataclass(frozen=True)
class GpuDevice:
    """One physical accelerator. ``index`` is its position in the vendor's enumeration
    (PCI bus order); ``mig_devices`` the UUIDs of its MIG instances, if any."""

    vendor: str
    index: int
    model: str
    uuid: str | None = None
    bus_id: str | None = None
    memory_mib: int | None = None
    mig_enabled: bool = False
    mig_devices: tuple[str, ...] = ()
    source: str = ""

    def model_names(self) -> list[str]:
        """The model as reported, and without vendor prefixes, for glob matching."""
        names = [self.model]
        bare = self.model
        while bare.lower().startswith(_VENDOR_PREFIXES):
            bare = bare.split(" ", 1)[1]
            names.append(bare)
        return names

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class GpuSurvey:
    """What the probes found: every device, the visible ones, and how it went."""

    devices: list[GpuDevice] = field(default_factory=list)
    visible: list[GpuDevice] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- NVIDIA


def nvidia_from_proc(root: str = "/") -> list[GpuDevice]:
    """GPUs listed by the driver in ``/proc/driver/nvidia/gpus/<bus>/information``."""
    pattern = os.path.join(root, "proc/driver/nvidia/gpus/*/information")
    devices = []
    for index, path in enumerate(sorted(glob.glob(pattern))):
        fields = _colon_fields(_read(path) or "")
        bus = fields.get("Bus Location") or os.path.basename(os.path.dirname(path))
        devices.append(GpuDevice(NVIDIA, index, fields.get("Model", "unknown NVIDIA GPU"),
                                 uuid=fields.get("GPU UUID"), bus_id=bus.lower(),
                                 source="proc"))
    return devices


def nvidia_from_smi(run: Runner, timeout: float = DEFAULT_SMI_TIMEOUT) -> list[GpuDevice]:
    """GPUs from ``nvidia-smi --query-gpu``, with MIG instances from ``nvidia-smi -L``."""
    out = run(["nvidia-smi", f"--query-gpu={','.join(SMI_QUERY)}",
               "--format=csv,noheader,nounits"], timeout)
    devices = [_smi_device(line) for line in out.splitlines() if line.strip()]
    if any(device.mig_enabled for device in devices):
        migs = parse_smi_list(run(["nvidia-smi", "-L"], timeout))
        devices = [dataclasses.replace(d, mig_devices=tuple(migs.get(d.uuid or "", ())))
                   for d in devices]
    return devices


def _smi_device(line: str) -> GpuDevice:
    cells = [cell.strip() for cell in line.split(",")]
    if len(cells) != len(SMI_QUERY) or not cells[0].isdigit():
        raise ProbeError(f"nvidia-smi printed a line in an unknown format "
                         f"({len(cells)} fields, expected {len(SMI_QUERY)})")
    index, uuid, name, memory, bus, mig = cells
    return GpuDevice(NVIDIA, int(index), name, uuid=uuid, bus_id=_short_bus_id(bus),
                     memory_mib=int(memory) if memory.isdigit() else None,
                     mig_enabled=mig == "Enabled", source="nvidia-smi")


def parse_smi_list(text: str) -> dict[str, list[str]]:
    """GPU UUID -> its MIG device UUIDs, from ``nvidia-smi -L``."""
    migs: dict[str, list[str]] = {}
    parent = ""
    for line in text.splitlines():
        if "(UUID: " not in line:
            continue
        uuid = line.rsplit("(UUID: ", 1)[1].rstrip(") \t")
        if line.startswith("GPU "):
            parent = uuid
            migs.setdefault(parent, [])
        elif line.lstrip().startswith("MIG ") and parent:
            migs[parent].append(uuid)
    return migs


def nvidia_from_nvml(nvml: ModuleType) -> list[GpuDevice]:
    """GPUs from NVML (the ``pynvml`` module of ``nvidia-ml-py``)."""
    try:
        nvml.nvmlInit()
    except Exception as error:  # NVMLError: no driver, no library, no GPU
        raise ProbeError(f"NVML could not start: {error}", absent=True) from None
    try:
        return [_nvml_device(nvml, index) for index in range(nvml.nvmlDeviceGetCount())]
    except Exception as error:  # NVMLError and its many subclasses
        raise ProbeError(f"NVML failed: {error}") from None
    finally:
        with contextlib.suppress(Exception):  # shutting down is best effort
            nvml.nvmlShutdown()


def _nvml_device(nvml: ModuleType, index: int) -> GpuDevice:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    mig_enabled = False
    migs: list[str] = []
    with contextlib.suppress(Exception):  # NVMLError_NotSupported: not MIG-capable
        mig_enabled = nvml.nvmlDeviceGetMigMode(handle)[0] == 1
    if mig_enabled:
        for slot in range(nvml.nvmlDeviceGetMaxMigDeviceCount(handle)):
            try:
                mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
            except Exception:  # NVMLError_NotFound: an empty slot
                continue
            migs.append(_text(nvml.nvmlDeviceGetUUID(mig)))
    return GpuDevice(
        NVIDIA, index, _text(nvml.nvmlDeviceGetName(handle)),
        uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
        bus_id=_short_bus_id(_text(nvml.nvmlDeviceGetPciInfo(handle).busId)),
        memory_mib=int(nvml.nvmlDeviceGetMemoryInfo(handle).total) // 2**20,
        mig_enabled=mig_enabled, mig_devices=tuple(migs), source="nvml")


def load_nvml() -> ModuleType | None:
    """``pynvml`` when ``nvidia-ml-py`` is installed, else ``None``."""
    import importlib.util

    if importlib.util.find_spec("pynvml") is None:
        return None
    import pynvml  # type: ignore[import-not-found,unused-ignore]

    module: ModuleType = pynvml
    return module


# --------------------------------------------------------------------------- AMD


def amd_from_kfd(root: str = "/") -> list[GpuDevice]:
    """GPU nodes of the KFD topology (CPU nodes have ``simd_count 0``)."""
    pattern = os.path.join(root, "sys/class/kfd/kfd/topology/nodes/*/properties")
    nodes = []
    for path in glob.glob(pattern):
        properties = _space_fields(_read(path) or "")
        if properties.get("simd_count", 0) > 0:
            node = os.path.basename(os.path.dirname(path))
            nodes.append((int(node) if node.isdigit() else 0, properties))
    devices = []
    for index, (_, properties) in enumerate(sorted(nodes, key=lambda pair: pair[0])):
        unique = properties.get("unique_id", 0)
        memory = properties.get("local_mem_size", 0)
        devices.append(GpuDevice(
            AMD, index, _amd_model(properties), uuid=f"GPU-{unique:016x}" if unique else None,
            bus_id=_amd_bus_id(properties), memory_mib=memory // 2**20 if memory else None,
            source="kfd"))
    return devices


def _amd_model(properties: Mapping[str, int]) -> str:
    name = _AMD_DEVICE_NAMES.get(properties.get("device_id", -1))
    target = properties.get("gfx_target_version", 0)
    gfx = (f"gfx{target // 10000}{(target // 100) % 100:x}{target % 100:x}"
           if target else "gfx?")
    return f"{name} ({gfx})" if name else f"AMD GPU {gfx}"


def _amd_bus_id(properties: Mapping[str, int]) -> str | None:
    location = properties.get("location_id")
    if location is None:
        return None
    bus, device, function = location >> 8, (location & 0xFF) >> 3, location & 0x7
    return f"{properties.get('domain', 0):04x}:{bus:02x}:{device:02x}.{function:x}"


# --------------------------------------------------------------------------- visibility


def visible_devices(devices: Sequence[GpuDevice], environ: Mapping[str, str],
                    notes: list[str] | None = None) -> list[GpuDevice]:
    """The devices a CUDA or HIP program in this environment could open.

    * ``NVIDIA_VISIBLE_DEVICES`` (container toolkit): unset or ``all`` keeps every
      device; empty, ``none`` or ``void`` none; UUIDs select. Indices are the host's and
      mean nothing inside the container, so they keep what the probes found.
    * ``CUDA_VISIBLE_DEVICES`` (NVIDIA; also HIP when ``HIP_VISIBLE_DEVICES`` is unset),
      ``ROCR_VISIBLE_DEVICES`` then ``HIP_VISIBLE_DEVICES`` (AMD): unset keeps every
      device, empty keeps none; entries are indices, UUIDs (or unique prefixes) and MIG
      UUIDs, read up to the first one that names no device, as the runtimes do.
    """
    notes = [] if notes is None else notes
    nvidia = [d for d in devices if d.vendor == NVIDIA]
    amd = [d for d in devices if d.vendor == AMD]
    nvidia = _toolkit_select(nvidia, environ.get("NVIDIA_VISIBLE_DEVICES"), notes)
    nvidia = _runtime_select(nvidia, environ.get("CUDA_VISIBLE_DEVICES"),
                             "CUDA_VISIBLE_DEVICES", notes)
    amd = _runtime_select(amd, environ.get("ROCR_VISIBLE_DEVICES"), "ROCR_VISIBLE_DEVICES",
                          notes)
    hip = "HIP_VISIBLE_DEVICES" if "HIP_VISIBLE_DEVICES" in environ else "CUDA_VISIBLE_DEVICES"
    amd = _runtime_select(amd, environ.get(hip), hip, notes)
    return nvidia + amd


def _toolkit_select(devices: list[GpuDevice], value: str | None, notes: list[str]
                    ) -> list[GpuDevice]:
    if value is None or value.strip().lower() == "all":
        return devices
    entries = [e.strip() for e in value.split(",") if e.strip()]
    if not entries or entries[0].lower() in ("none", "void"):
        return []
    if all(entry.isdigit() for entry in entries):
        return devices
    selected = [d for e in entries if not e.isdigit() for d in _by_uuid(devices, e, notes)]
    return _unique(selected)


def _runtime_select(devices: list[GpuDevice], value: str | None, variable: str,
                    notes: list[str]) -> list[GpuDevice]:
    if value is None or not devices:
        return devices
    selected: list[GpuDevice] = []
    for entry in (e.strip() for e in value.split(",")):
        if entry.lstrip("-").isdigit():
            position = int(entry)
            if not 0 <= position < len(devices):
                break
            selected.append(devices[position])
            continue
        found = _by_uuid(devices, entry, notes) if entry else []
        if not found:
            break
        selected.extend(found)
    hidden_on_purpose = value.strip().startswith("-")  # "-1": the usual way to hide all
    if value.strip() and not selected and not hidden_on_purpose:
        notes.append(f"{variable} names no device that was found: no GPU is visible")
    return _unique(selected)


def _by_uuid(devices: Sequence[GpuDevice], entry: str, notes: list[str]) -> list[GpuDevice]:
    """Devices named by a UUID, a unique UUID prefix, or a MIG UUID (the MIG's parent)."""
    wanted = entry.lower()
    if wanted.startswith("mig-gpu-"):  # the pre-R470 form MIG-GPU-<uuid>/<gi>/<ci>
        wanted = wanted[len("mig-"):].split("/", 1)[0]
    if wanted.startswith("mig-"):
        parents = [d for d in devices if wanted in (m.lower() for m in d.mig_devices)]
        if parents:
            return parents
        # The source did not list MIG instances (/proc does not): assume the worst.
        notes.append("a MIG device is selected but the probe could not tell which GPU holds "
                     "it; every MIG-enabled GPU (or every GPU) is assumed visible")
        return [d for d in devices if d.mig_enabled] or list(devices)
    matches = [d for d in devices if d.uuid and d.uuid.lower().startswith(wanted)]
    return matches if len(matches) == 1 else []


def _unique(devices: Sequence[GpuDevice]) -> list[GpuDevice]:
    seen: list[GpuDevice] = []
    for device in devices:
        if device not in seen:
            seen.append(device)
    return seen


# --------------------------------------------------------------------------- survey


def survey(root: str = "/", environ: Mapping[str, str] | None = None,
           run: Runner | None = None, nvml: ModuleType | None = None,
           timeout: float = DEFAULT_SMI_TIMEOUT) -> GpuSurvey:
    """Every GPU the probes find, and the ones visible to this process.

    ``run`` is ``None`` to skip ``nvidia-smi``; ``nvml`` is ``None`` to skip NVML.
    """
    result = GpuSurvey()
    nvidia: list[GpuDevice] = []
    probes: list[tuple[str, Any]] = []
    if nvml is not None:
        probes.append(("NVML", lambda: nvidia_from_nvml(nvml)))
    if run is not None:
        probes.append(("nvidia-smi", lambda: nvidia_from_smi(run, timeout)))
    probes.append(("/proc/driver/nvidia", lambda: nvidia_from_proc(root)))
    for name, probe in probes:
        try:
            nvidia = probe()
        except ProbeError as error:
            if not error.absent:
                result.notes.append(f"{name}: {error}")
            continue
        if nvidia:
            break
    result.devices = [*nvidia, *amd_from_kfd(root)]
    env = os.environ if environ is None else environ
    result.visible = visible_devices(result.devices, env, result.notes)
    return result


# --------------------------------------------------------------------------- policy


def check_gpus(section: GpuSection, found: GpuSurvey) -> list[Finding]:
    """Findings for ``[gpu]``: denied models among the visible devices, too many devices,
    and probe trouble worth knowing (as ``info``)."""
    deny: Sequence[Rule] = section.get("deny_models", ())
    findings = []
    for device in found.visible:
        rule = matching_rule(deny, device.model_names(), fold_case=True)
        if rule is None:
            continue
        mig = " (MIG enabled)" if device.mig_enabled else ""
        findings.append(Finding(
            kind=KIND_GPU, code="gpu-denied-model", severity=rule.severity,
            subject=device.model, rule=label(rule), reason=rule.reason, source=rule.source,
            message=f"GPU {device.index} is a {device.model}{mig}, visible to this process: "
                    f"forbidden by rule {label(rule)} (found by {device.source})",
            details={"device": device.to_dict()}))
    limit = section.get("max_devices")
    if limit is not None and len(found.visible) > limit:
        findings.append(Finding(
            kind=KIND_GPU, code="gpu-too-many-devices", severity=section.get("severity", "error"),
            subject=f"{len(found.visible)} GPUs", rule=f"max_devices = {limit}",
            message=f"{len(found.visible)} GPUs are visible to this process; the policy allows "
                    f"at most {limit} (set CUDA_VISIBLE_DEVICES or the container's device list)",
            details={"devices": [d.to_dict() for d in found.visible]}))
    if found.notes:
        findings.append(Finding(
            kind=KIND_GPU, code="gpu-probe-note", severity="info", subject="gpu probes",
            message="; ".join(found.notes), details={"notes": list(found.notes)}))
    return findings


# --------------------------------------------------------------------------- parsing


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _colon_fields(text: str) -> dict[str, str]:
    """``Key: \\t value`` lines, as the NVIDIA driver writes them."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def _space_fields(text: str) -> dict[str, int]:
    """``name value`` lines of a KFD ``properties`` file (all values are integers)."""
    fields = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            fields[parts[0]] = int(parts[1])
    return fields


def _short_bus_id(bus: str) -> str:
    """``00000000:07:00.0`` (nvidia-smi, NVML) -> ``0000:07:00.0`` (/proc, sysfs)."""
    bus = bus.strip().lower()
    domain, sep, rest = bus.partition(":")
    return f"{domain[-4:]}:{rest}" if sep and len(domain) > 4 else bus


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
