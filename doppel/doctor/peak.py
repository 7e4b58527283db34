"""The machine's peak FLOP rate, read from what it is, so that "% of peak" means the same everywhere.

CPU: cores x clock x FLOPs per cycle and core, the last read from the instruction set (AVX-512 with two
FMA units or one, AVX2, AVX) and the microarchitecture (AMD Zen 4 runs AVX-512 on 256-bit units), with
bf16 where AVX512_BF16 (twice the fp32 rate) or AMX (16x) is there. The clock is the highest the machine
reports (cpufreq's maximum, /proc/cpuinfo); a virtual machine often reports its base clock, so when a
timed matrix product runs faster than that peak allows, the clock is raised to what the product implies
and the peak says so. GPU: the dense bf16 tensor-core rate of the model, from its name.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# Dense bf16 tensor-core peaks in TFLOP/s by the vendors' datasheets (SXM parts; no sparsity).
GPU_BF16_TFLOPS = (
    ("H200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("GH200", 989.0), ("B200", 2250.0),
    ("A100", 312.0), ("A800", 312.0), ("L40S", 362.0), ("L40", 181.0), ("L4", 121.0), ("A10G", 70.0),
    ("A10", 125.0), ("RTX 5090", 210.0), ("RTX 4090", 165.0), ("RTX 4080", 97.0), ("RTX 3090", 71.0),
    ("RTX 3080", 59.0), ("V100", 125.0), ("T4", 65.0),  # V100 and T4: fp16 (no bf16 units)
)
# Intel Xeon Scalable parts of the Skylake and Cascade Lake generations with one AVX-512 FMA unit per core.
INTEL_ONE_FMA_UNIT = re.compile(r"Bronze|Silver|Gold 5\d{3}|Core\(TM\) i\d-(10|11)\d{2,3}[GU]")


@dataclass(frozen=True)
class Peak:
    fp32_gflops: float
    bf16_gflops: float | None  # None: no bf16 arithmetic units (bf16 runs at the fp32 rate or slower)
    how: str

    def to_dict(self) -> dict:
        return asdict(self)


def _cpuinfo() -> str:
    path = Path("/proc/cpuinfo")
    return path.read_text() if path.exists() else ""


def _field(text: str, name: str) -> str:
    m = re.search(rf"^{name}\s*:\s*(.*)$", text, re.M)
    return m.group(1).strip() if m else ""


def flops_per_cycle(flags: set[str], vendor: str = "", family: int = 0, model_name: str = "") -> tuple[int, int | None, str]:
    """(fp32 FLOPs per cycle and core, bf16 FLOPs per cycle and core or None, what the figure rests on)."""
    if "avx512f" in flags:
        if vendor == "AuthenticAMD" and family < 26:  # Zen 4: 512-bit instructions on two 256-bit FMA units
            fp32, units = 32, "AVX-512 on 2 x 256-bit FMA units (AMD Zen 4)"
        elif vendor == "GenuineIntel" and INTEL_ONE_FMA_UNIT.search(model_name):
            fp32, units = 32, "AVX-512 with 1 FMA unit"
        else:
            fp32, units = 64, "AVX-512 with 2 FMA units"
    elif {"avx2", "fma"} <= flags:
        fp32, units = 32, "AVX2 with 2 FMA units"
    elif "avx" in flags:
        fp32, units = 16, "AVX without FMA"
    else:
        fp32, units = 8, "SSE"
    if "amx_bf16" in flags:
        return fp32, 1024, units + ", AMX bf16"
    if "avx512_bf16" in flags:
        return fp32, 2 * fp32, units + ", AVX512_BF16"
    return fp32, None, units


def cpu_clock_ghz(text: str | None = None) -> tuple[float, str]:
    """The highest clock the machine reports, and where it was read."""
    for path in (Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"), Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq")):
        try:
            return int(path.read_text()) / 1e6, "cpufreq maximum"
        except (OSError, ValueError):
            pass
    text = _cpuinfo() if text is None else text
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)]
    if mhz:
        return max(mhz) / 1000.0, "/proc/cpuinfo"
    return 2.5, "assumed (no clock reported)"


def matmul_gflops(threads: int, seconds: float = 0.3) -> float:
    """fp32 GFLOP/s of a 512x512 matrix product on `threads` threads (a floor under the true peak)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(512, 512), torch.randn(512, 512)
        a @ b
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ b
            n += 1
        return 2 * 512**3 * n / (time.perf_counter() - start) / 1e9
    finally:
        torch.set_num_threads(before)


def cpu_peak(threads: int, text: str | None = None, measured_gflops: float | None = None) -> Peak:
    """Peak of `threads` cores. `measured_gflops` (default: timed here) raises the clock when a real
    matrix product beats the reported one."""
    text = _cpuinfo() if text is None else text
    flags = set(_field(text, "flags").split())
    family = int(_field(text, "cpu family") or 0)
    fp32, bf16, units = flops_per_cycle(flags, _field(text, "vendor_id"), family, _field(text, "model name"))
    ghz, where = cpu_clock_ghz(text)
    measured = matmul_gflops(threads) if measured_gflops is None else measured_gflops
    if measured > threads * ghz * fp32:
        ghz, where = measured / (threads * fp32), f"implied by a {measured:.0f} GFLOP/s matrix product (reported {ghz:.2f})"
    how = f"{threads} cores x {ghz:.2f} GHz ({where}) x {fp32} FLOP/cycle, {units}"
    return Peak(threads * ghz * fp32, threads * ghz * bf16 if bf16 else None, how)


def gpu_peak_tflops(name: str) -> float | None:
    """Dense bf16 TFLOP/s of a GPU from its model name (None when the model is not in the table)."""
    for key, tflops in GPU_BF16_TFLOPS:
        if key in name:
            return tflops
    return None
