"""One way to pick the compute device: through torch.device, never a hard-coded backend."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import torch

from doppel.core.errors import DoppelError


def pick_device(name: str | None = None) -> torch.device:
    """`None`/"auto": the best available accelerator (CUDA/ROCm, XPU, MPS), else CPU."""
    if name in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if hasattr(torch, "xpu") and torch.xpu.is_available():
            return torch.device("xpu")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise DoppelError(f"unknown device '{name}'", hint="Use auto, cpu, cuda, cuda:N, xpu or mps") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DoppelError("CUDA was asked for but no CUDA GPU is visible", hint="Use --device cpu")
    return device


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@functools.cache
def cpu_has_bf16() -> bool:
    """The CPU computes bf16 natively (AVX512_BF16 or AMX): only there is bf16 autocast faster than fp32."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = re.search(r"^flags\s*:(.*)$", text, re.M)
    return bool(flags) and bool({"avx512_bf16", "amx_bf16"} & set(flags.group(1).split()))


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """Mixed-precision dtype (None = plain fp32). `auto`: bf16 where the device computes it natively
    (recent CUDA GPUs, XPU, CPUs with AVX512_BF16 or AMX), fp16 on older CUDA GPUs, else fp32."""
    if precision not in PRECISIONS:
        raise DoppelError(f"unknown precision '{precision}'", hint=f"Use one of: {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "xpu" or (device.type == "cpu" and cpu_has_bf16()):
        return torch.bfloat16
    return None
