"""Does a training configuration fit this device, and how fast is it? Found by running real
training steps (forward, loss, backward, optimiser step), not read from a table."""

from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import torch

from doppel.core.errors import DoppelError


@dataclass(frozen=True)
class StepTiming:
    model_type: str
    resolution: int
    batch: int
    fits: bool
    seconds_per_iter: float | None = None
    peak_memory_gb: float | None = None
    parameters: int | None = None
    error: str | None = None
    measured: bool = True  # False: extrapolated from another configuration's measured speed
    flops_per_iter: float | None = None  # model forward + backward (losses left out)

    def to_dict(self) -> dict:
        return asdict(self)


def _random_batch(n: int, res: int, device: torch.device, channels_last: bool) -> dict:
    gen = torch.Generator().manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    batch = {}
    for side in ("src", "dst"):
        image = torch.rand(n, 3, res, res, generator=gen)
        mask = (torch.rand(n, 1, res, res, generator=gen) > 0.3).float()
        for key, t in ((f"{side}_input", image), (f"{side}_target", image), (f"{side}_mask", mask), (f"{side}_em_mask", mask)):
            batch[key] = t.to(device).contiguous(memory_format=fmt)
    return batch


def _is_oom(e: BaseException) -> bool:
    return isinstance(e, torch.OutOfMemoryError) or "out of memory" in str(e).lower()


def _sync(device: torch.device) -> None:
    """Wait for queued kernels, so wall time measures the work (accelerators run asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
    elif device.type == "xpu":
        torch.xpu.synchronize(device)


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def time_config(
    model_type: str,
    device: torch.device,
    batch: int,
    iterations: int = 3,
    warmup: int = 1,
    **model_options,
) -> StepTiming:
    """Build `model_type` with `model_options`, run `warmup + iterations` training steps on random
    faces, and time the last `iterations`. An out-of-memory error gives `fits=False`."""
    from doppel.models import create_model
    from doppel.train.objective import Objective

    model = objective = data = None
    res = model_options.get("resolution")
    try:
        model = create_model(model_type, batch_size=batch, **model_options)
        res = model.resolution
        channels_last = device.type == "cuda"
        model = model.to(device)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        model.train()
        objective = Objective(model, model.options, device)
        data = _random_batch(batch, res, device, channels_last)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        for i in range(warmup):
            objective.step(model, data, i)
        _sync(device)
        start = time.perf_counter()
        for i in range(iterations):
            objective.step(model, data, warmup + i)
        _sync(device)
        seconds = (time.perf_counter() - start) / max(iterations, 1)
        peak = torch.cuda.max_memory_allocated(device) / 1024**3 if device.type == "cuda" else None
        return StepTiming(model_type, res, batch, True, seconds, peak, model.num_parameters())
    except (RuntimeError, torch.OutOfMemoryError) as e:
        if not _is_oom(e):
            raise
        return StepTiming(model_type, int(res or 0), batch, False, error="out of memory")
    finally:
        del model, objective, data
        _free(device)


@dataclass(frozen=True)
class StepCost:
    resolution: int
    parameters: int
    flops: float  # one training step's model forward + backward


def step_cost(model_type: str, batch: int, **model_options) -> StepCost:
    """FLOPs of one training step's forward and backward, counted on the meta device (no compute,
    no memory), with the parameter count."""
    from torch.utils.flop_counter import FlopCounterMode

    from doppel.models import create_model

    with torch.device("meta"):
        model = create_model(model_type, batch_size=batch, **model_options)
        x = torch.empty(batch, 3, model.resolution, model.resolution)
    with FlopCounterMode(display=False) as counter:
        out = model(x, x)
        (out.src_rgb.mean() + out.dst_rgb.mean() + out.src_mask.mean() + out.dst_mask.mean()).backward()
    return StepCost(model.resolution, model.num_parameters(), float(counter.get_total_flops()))


def largest_fitting(candidates: Sequence, fits: Callable[[object], bool]):
    """The largest of ascending `candidates` for which `fits` is true, by binary search (memory
    grows with each candidate, so fitting is monotone). None when even the smallest does not fit."""
    lo, hi, best = 0, len(candidates) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(candidates[mid]):
            best, lo = candidates[mid], mid + 1
        else:
            hi = mid - 1
    return best


def resolutions_for(model_type: str, upto: int = 640) -> list[int]:
    """The resolutions a model accepts (its option's min/max and multiple), ascending."""
    import dataclasses

    from doppel.models import model_options

    options_type = model_options(model_type)
    f = next((f for f in dataclasses.fields(options_type) if f.name == "resolution"), None)
    if f is None:
        raise DoppelError(f"model {model_type} has no resolution option")
    if f.metadata.get("locked"):
        return [int(f.default)]
    step = int(f.metadata.get("multiple_of") or 16)
    step = max(step, 32)  # coarser steps than the model allows: fewer trial runs, same advice
    lo = int(f.metadata.get("min", 64))
    hi = min(int(f.metadata.get("max", upto)), upto)
    start = -(-lo // step) * step
    return list(range(start, hi + 1, step))
