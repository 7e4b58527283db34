"""SAEHD training-step speed on this machine: forward + all losses + backward + AdaBelief step.

    .venv/bin/python -m benchmarks.models_speed [--iters 5] [--device auto]

Prints ms/iteration for the two configurations the project targets (DFL reference on 2 CPU cores:
0.92 s/it for df res 64 ae64/e32/d32/mask16 batch 8; about 10 s/it for df res 128 defaults batch 4),
and the ratio against them measured in this run. Wall time and process CPU time are both shown: on a
shared machine CPU time / threads estimates the step on idle cores. Data loading is not included (see the trainer's
benchmark for the full loop). The machine is shared, so numbers are noisy.
"""

from __future__ import annotations

import argparse
import time

import torch

from doppel.core.device import pick_device
from doppel.models import create_model
from doppel.train.losses import saehd_generator_loss
from doppel.train.optim import make_optimizer

CONFIGS = [
    ("df res64 ae64/e32/d32/m16 b8", dict(resolution=64, ae_dims=64, e_dims=32, d_dims=32, d_mask_dims=16), 8, 0.92),
    ("df res128 defaults b4", dict(resolution=128), 4, 10.0),
]


def step_time(options: dict, batch_size: int, iters: int, device: torch.device, channels_last: bool) -> float:
    torch.manual_seed(0)
    model = create_model("saehd", archi="df", **options).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model.generator_parameters(), model.options)
    r = model.resolution
    x = torch.rand(batch_size, 3, r, r, device=device)
    y = torch.rand(batch_size, 3, r, r, device=device)
    mask = torch.zeros(batch_size, 1, r, r, device=device)
    mask[..., r // 8: -r // 8, r // 6: -r // 6] = 1
    batch = dict(src_target=x, src_mask=mask, src_em_mask=mask, dst_target=y, dst_mask=mask, dst_em_mask=mask)
    times, cpu = [], []
    for i in range(iters + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        out = model(x, y, need_swap=False)
        loss, _ = saehd_generator_loss(out, batch, model.options)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i:  # the first step warms caches and allocators
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    return sorted(times)[len(times) // 2], sorted(cpu)[len(cpu) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--only", type=int, default=None, help="Run one configuration (0 or 1).")
    args = ap.parse_args()
    device = pick_device(args.device)
    print(f"device {device}, {torch.get_num_threads()} threads, median of {args.iters} steps")
    for name, options, bs, reference in CONFIGS if args.only is None else [CONFIGS[args.only]]:
        t, c = step_time(options, bs, args.iters, device, args.channels_last)
        # CPU seconds / threads is what the step would take on idle cores: the machine may be shared.
        idle = c / torch.get_num_threads() if device.type == "cpu" else t
        print(f"{name}: {t * 1000:.0f} ms/it wall, {c * 1000:.0f} ms CPU ({idle * 1000:.0f} ms/it on idle cores); "
              f"DFL reference {reference:.2f} s/it: {reference / t:.2f}x wall, {reference / idle:.2f}x idle")


if __name__ == "__main__":
    main()
