"""One way to pick the compute device: through torch.device, never a hard-coded backend."""

from __future__ import annotations

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


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed-precision dtype for the device: bf16 where supported, fp16 on older CUDA, none on CPU."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type in ("xpu",):
        return torch.bfloat16
    return None
