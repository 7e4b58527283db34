"""What this machine has: CPU cores, RAM, free disk, and every CUDA GPU with its memory."""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

GB = 1024**3


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    total_gb: float
    free_gb: float
    capability: str
    bf16: bool


@dataclass(frozen=True)
class Machine:
    system: str
    python: str
    torch: str
    cpu: str
    cpu_cores: int  # usable by this process
    ram_total_gb: float
    ram_available_gb: float
    disk_path: str
    disk_free_gb: float
    gpus: tuple[Gpu, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["gpus"] = [asdict(g) for g in self.gpus]
        return d

    def describe(self) -> str:
        gpus = "; ".join(f"GPU {g.index}: {g.name} {g.total_gb:.0f} GB" for g in self.gpus) or "no CUDA GPU"
        return (
            f"{self.cpu} ({self.cpu_cores} cores), {self.ram_total_gb:.0f} GB RAM, "
            f"{self.disk_free_gb:.0f} GB free at {self.disk_path}; {gpus}; torch {self.torch}, {self.system}"
        )


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> tuple[float, float]:
    """(total, available) in GB: /proc/meminfo on Linux, sysconf elsewhere."""
    try:
        info = {}
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, value = line.split(":", 1)
            info[key] = int(value.split()[0]) * 1024
        return info["MemTotal"] / GB, info.get("MemAvailable", info["MemFree"]) / GB
    except (OSError, KeyError, ValueError):
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GB
            return total, total
        except (ValueError, OSError, AttributeError):
            return 0.0, 0.0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cuda_gpus() -> tuple[Gpu, ...]:
    import torch

    if not torch.cuda.is_available():
        return ()
    gpus = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        try:
            free, total = torch.cuda.mem_get_info(i)
        except RuntimeError:
            free, total = props.total_memory, props.total_memory
        with torch.cuda.device(i):
            bf16 = bool(torch.cuda.is_bf16_supported())
        gpus.append(Gpu(i, props.name, total / GB, free / GB, f"{props.major}.{props.minor}", bf16))
    return tuple(gpus)


def describe_machine(disk_path: str | Path = ".") -> Machine:
    import torch

    disk = Path(disk_path)
    while not disk.exists() and disk != disk.parent:  # a workspace not created yet: its parent's disk
        disk = disk.parent
    total_ram, free_ram = _ram_gb()
    return Machine(
        system=f"{platform.system()} {platform.release()} {platform.machine()}",
        python=platform.python_version(),
        torch=torch.__version__,
        cpu=_cpu_name(),
        cpu_cores=_cores(),
        ram_total_gb=round(total_ram, 1),
        ram_available_gb=round(free_ram, 1),
        disk_path=str(disk.resolve()),
        disk_free_gb=round(shutil.disk_usage(disk).free / GB, 1),
        gpus=cuda_gpus(),
    )
