"""`doctor`: what this machine can train, how long it takes and what it costs.

On CUDA the largest resolution and batch that fit are found by running real training steps
(binary search, out-of-memory caught). On a CPU-only machine a small configuration is timed and
extrapolated, and a CPU-sized configuration is recommended.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from doppel.core.errors import DoppelError
from doppel.doctor import estimate
from doppel.doctor.fit import StepTiming, largest_fitting, resolutions_for, step_cost, time_config
from doppel.doctor.hardware import Machine, describe_machine
from doppel.doctor.options import DoctorOptions

BATCHES = (1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64)
# CPU-sized configurations, smallest first: a small SAEHD, then DFL's model for weak machines.
CPU_CONFIGS = (
    ("saehd", dict(resolution=64, face_type="f", ae_dims=64, e_dims=32, d_dims=32, d_mask_dims=16), 4),
    ("quick96", {}, 4),
)
# The probe timed for real on CPUs: the smallest CPU config at batch 2 (much smaller layers run
# at a lower FLOP rate and would make the extrapolation pessimistic).
CPU_PROBE = (CPU_CONFIGS[0][0], CPU_CONFIGS[0][1], 2)
CPU_MAX_SECONDS_PER_ITER = 3.0  # the largest CPU config predicted under this is recommended
MIN_RAM_GB = 16


@dataclass
class DoctorReport:
    machine: Machine
    options: DoctorOptions
    device: str
    recommended: StepTiming | None
    requested: StepTiming | None
    trials: list[StepTiming] = field(default_factory=list)
    hours: float | None = None
    cost: float | None = None
    disk: estimate.DiskEstimate | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    peak_tflops: float | None = None  # the device's peak (doppel/doctor/peak.py): GPU bf16, CPU fp32

    def to_dict(self) -> dict:
        return {
            "machine": self.machine.to_dict(),
            "options": asdict(self.options),
            "device": self.device,
            "recommended": self.recommended.to_dict() if self.recommended else None,
            "requested": self.requested.to_dict() if self.requested else None,
            "trials": [t.to_dict() for t in self.trials],
            "hours": self.hours,
            "cost": self.cost,
            "disk": self.disk.to_dict() if self.disk else None,
            "warnings": self.warnings,
            "notes": self.notes,
            "peak_tflops": self.peak_tflops,
        }

    def lines(self) -> list[str]:
        out = [f"machine: {self.machine.describe()}", f"device tested: {self.device}"]
        r = self.recommended
        if r:
            how = "measured" if r.measured else "extrapolated from the probe's FLOP rate"
            out.append(
                f"recommended: --model-type {r.model_type} --resolution {r.resolution} --batch-size {r.batch} "
                f"({r.seconds_per_iter:.3f} s/iteration {how}"
                + (f", {r.peak_memory_gb:.1f} GB peak" if r.peak_memory_gb else "")
                + (f", {r.flops_per_iter / r.seconds_per_iter / 1e12:.1f} TFLOP/s" if r.measured and r.flops_per_iter else "")
                + (f" = {100 * r.flops_per_iter / r.seconds_per_iter / 1e12 / self.peak_tflops:.0f} % of the GPU's bf16 peak"
                   if r.measured and r.flops_per_iter and self.peak_tflops and self.device.startswith("cuda") else "")
                + ")"
            )
        out += self.notes
        if self.hours is not None:
            out.append(f"expected time for {self.options.iterations:,} iterations: {estimate.format_duration(self.hours)}")
        if self.cost is not None:
            out.append(f"cloud cost at ${self.options.price:.2f}/GPU-hour: ${self.cost:,.2f}")
        if self.disk:
            d = self.disk
            out.append(
                f"disk for the workspace: {d.total_gb:.1f} GB (faces {d.src_faces_gb + d.dst_faces_gb:.1f}, "
                f"model and backups {d.model_gb:.1f}, output video {d.output_gb:.1f}, 20 % margin)"
            )
        out += [f"warning: {w}" for w in self.warnings]
        return out


def _model_default(model_type: str, name: str) -> int:
    import dataclasses

    from doppel.models import model_options

    f = next((f for f in dataclasses.fields(model_options(model_type)) if f.name == name), None)
    if f is None:
        raise DoppelError(f"model {model_type} has no option {name}")
    return int(f.default)


def _pick_device(name: str) -> torch.device:
    from doppel.core.device import pick_device

    return pick_device(None if name == "auto" else name)


def run_doctor(options: DoctorOptions | None = None, workspace: str | Path = ".", progress: bool = False) -> DoctorReport:
    from doppel.models import available_models

    options = options or DoctorOptions()
    if options.model_type not in available_models():
        raise DoppelError(f"unknown model type '{options.model_type}'", hint=f"Use one of: {', '.join(available_models())}")
    machine = describe_machine(workspace)
    device = _pick_device(options.device)
    resolution = options.resolution or _model_default(options.model_type, "resolution")
    batch = options.batch or _model_default(options.model_type, "batch_size")
    report = DoctorReport(machine, options, str(device), None, None)
    if device.type == "cuda":
        from doppel.doctor.peak import gpu_peak_tflops

        report.peak_tflops = gpu_peak_tflops(torch.cuda.get_device_name(device))
    status = _status(progress)
    try:
        if device.type == "cuda":
            _size_for_gpu(report, device, resolution, batch, status)
        else:
            _size_for_cpu(report, device, resolution, batch, status)
    finally:
        status.stop()

    r = report.recommended
    if r and r.seconds_per_iter:
        report.hours = estimate.hours_for(options.iterations, r.seconds_per_iter)
        if options.price > 0 and device.type == "cuda":
            report.cost = estimate.cloud_cost(report.hours, options.price)
        elif options.price > 0:
            report.notes.append("no cloud cost: this machine has no GPU; run doppel doctor --price on the GPU machine")
    # Disk for the larger of the two models the user may train: the recommended and the asked-for one.
    params = max([t.parameters or 0 for t in (r, report.requested) if t is not None], default=0)
    report.disk = estimate.workspace_disk(params, options.src_faces, options.dst_frames, options.frame_width, options.frame_height)
    if machine.ram_total_gb < MIN_RAM_GB:
        report.warnings.append(f"RAM {machine.ram_total_gb:.0f} GB is below {MIN_RAM_GB} GB: load fewer faces at once or use a smaller faceset")
    if report.disk.total_gb > machine.disk_free_gb:
        report.warnings.append(f"the workspace needs about {report.disk.total_gb:.0f} GB but {machine.disk_free_gb:.0f} GB is free at {machine.disk_path}")
    return report


class _status:
    """A spinner line while trial runs go (each can take seconds)."""

    def __init__(self, enabled: bool):
        self._status = None
        if enabled:
            from rich.console import Console

            self._status = Console(stderr=True).status("testing configurations")
            self._status.start()

    def __call__(self, text: str) -> None:
        if self._status:
            self._status.update(text)

    def stop(self) -> None:
        if self._status:
            self._status.stop()


def _trial(report: DoctorReport, status, model_type, device, batch, iterations, warmup=1, **opts) -> StepTiming:
    status(f"trying {model_type} resolution {opts.get('resolution', 'default')} batch {batch}")
    t = time_config(model_type, device, batch, iterations=iterations, warmup=warmup, **opts)
    report.trials.append(t)
    return t


def _size_for_gpu(report: DoctorReport, device: torch.device, resolution: int, batch: int, status) -> None:
    options = report.options
    model = options.model_type
    res_list = resolutions_for(model)
    fixed_res = len(res_list) == 1
    fits_cache: dict[tuple[int, int], StepTiming] = {}

    def fits(res: int, b: int) -> bool:
        if (res, b) not in fits_cache:
            opts = {} if fixed_res else {"resolution": res}
            fits_cache[(res, b)] = _trial(report, status, model, device, b, iterations=1, **opts)
        return fits_cache[(res, b)].fits

    if fixed_res:
        resolution = res_list[0]
    requested_ok = fits(resolution, batch)
    best_res = largest_fitting(res_list, lambda r: fits(r, batch))  # at the batch asked for
    if best_res is None:
        best_res = largest_fitting(res_list, lambda r: fits(r, 1))
        if best_res is None:
            report.warnings.append(f"this GPU cannot train {model} even at resolution {res_list[0]} batch 1; use a smaller model (quick96) or the CPU")
            return
    chosen_res = resolution if requested_ok else best_res
    best_batch = largest_fitting(list(BATCHES), lambda b: fits(chosen_res, b)) or 1
    run_batch = batch if fits(chosen_res, batch) else best_batch
    if not requested_ok:
        report.warnings.append(
            f"this GPU cannot fit res {resolution} at batch {batch}; suggested: --resolution {chosen_res} --batch-size {run_batch}"
            + (f" (up to --batch-size {best_batch})" if best_batch > run_batch else "")
        )
    else:
        report.notes.append(
            f"largest that fits: resolution {best_res} at batch {batch}; batch {best_batch} at resolution {chosen_res}"
        )
    # Time the suggestion properly: the user's batch when it fits, else the largest that does.
    opts = {} if fixed_res else {"resolution": chosen_res}
    timed = _trial(report, status, model, device, run_batch, iterations=options.timing_iterations, warmup=2, **opts)
    if timed.fits:
        from dataclasses import replace

        timed = replace(timed, flops_per_iter=step_cost(model, run_batch, **opts).flops)
    report.recommended = timed
    report.requested = fits_cache.get((resolution, batch))


def _size_for_cpu(report: DoctorReport, device: torch.device, resolution: int, batch: int, status) -> None:
    """Time a small probe for real, turn it into this CPU's FLOP rate, and extrapolate the CPU-sized
    configurations and the one asked for by their FLOPs (counted, not guessed)."""
    options = report.options
    if device.type == "cpu":
        report.warnings.append(
            "no CUDA GPU found: training runs on the CPU, tens to hundreds of times slower than on a GPU; "
            "use the CPU-sized configuration recommended here, or rent a GPU (run doppel doctor there for its fit and cost)"
        )
    else:  # MPS / XPU: timed for real, but the out-of-memory search is CUDA-only
        report.notes.append(f"{device.type}: speeds extrapolated from a timed probe; the memory-fit search runs on CUDA only")
    model, opts, b = CPU_PROBE
    probe = _trial(report, status, model, device, b, iterations=options.timing_iterations, **opts)
    if not probe.fits:
        report.warnings.append("even the smallest CPU configuration did not run (out of memory)")
        return
    status("counting FLOPs")
    probe_cost = step_cost(model, b, **opts)
    rate = probe_cost.flops / probe.seconds_per_iter
    share = ""
    if device.type == "cpu":
        from doppel.doctor.peak import cpu_peak

        peak = cpu_peak(torch.get_num_threads())
        report.peak_tflops = peak.fp32_gflops / 1000
        share = f" ({100 * rate / 1e9 / peak.fp32_gflops:.0f} % of its fp32 peak, {peak.fp32_gflops:.0f} GFLOP/s: {peak.how})"
    report.notes.append(
        f"measured: {model} resolution {probe.resolution} batch {b} probe at {probe.seconds_per_iter:.2f} s/iteration "
        f"= {rate / 1e9:.1f} GFLOP/s on this CPU{share}"
    )

    def predicted(model_type: str, b: int, **kw) -> StepTiming:
        cost = step_cost(model_type, b, **kw)
        return StepTiming(model_type, cost.resolution, b, True, cost.flops / rate, None, cost.parameters,
                          measured=False, flops_per_iter=cost.flops)

    candidates = [predicted(m, b, **kw) for m, kw, b in CPU_CONFIGS]
    usable = [c for c in candidates if c.seconds_per_iter <= CPU_MAX_SECONDS_PER_ITER]
    report.recommended = usable[-1] if usable else candidates[0]
    if report.recommended.model_type == "saehd":
        report.notes.append("CPU-sized options: " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in CPU_CONFIGS[0][1].items()))
    for c in candidates:
        if c is not report.recommended:
            report.notes.append(f"{c.model_type} at resolution {c.resolution} batch {c.batch}: about {c.seconds_per_iter:.1f} s/iteration here")
    asked = {} if options.model_type == "quick96" else {"resolution": resolution}
    wanted = predicted(options.model_type, batch, **asked)
    report.requested = wanted
    report.notes.append(
        f"asked for: {options.model_type} at resolution {wanted.resolution} batch {batch}: about {wanted.seconds_per_iter:.1f} s/iteration here "
        f"({estimate.format_duration(estimate.hours_for(options.iterations, wanted.seconds_per_iter))} for {options.iterations:,} iterations)"
    )
