"""What one training step optimises: the generator loss (doppel.train.losses), its optimizer
(doppel.train.optim), and the optional discriminators (GAN on the src side, true face on the codes).

The trainer only sees `step(module, batch)`, `evaluate(...)`, and the optimizers/modules to save.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from doppel.core.device import autocast_dtype
from doppel.core.errors import DoppelError
from doppel.models.train_options import TrainingOptions
from doppel.train import losses, optim
from doppel.train.checkpoint import Loaded, load_optimizer


def _names(module: torch.nn.Module, params: list[torch.Tensor]) -> list[str]:
    by_id = {id(p): n for n, p in module.named_parameters()}
    return [by_id[id(p)] for p in params]


class Objective:
    def __init__(self, model: torch.nn.Module, options: TrainingOptions, device: torch.device, precision: str = "auto"):
        self.model, self.options, self.device = model, options, device
        self.params = model.generator_parameters()
        self.param_names = _names(model, self.params)
        self.optimizer = optim.make_optimizer(self.params, options)
        pretrain = options.pretrain
        self.need_swap = options.face_style_power > 0 or options.bg_style_power > 0
        from doppel.models.discriminators import build_discriminators

        self.discriminators = {k: d.to(device) for k, d in build_discriminators(model).items()
                               if not (pretrain and k == "gan")}  # pretraining: GAN off
        self.disc_params = [p for d in self.discriminators.values() for p in d.parameters()]
        self.disc_optimizer = optim.make_optimizer(self.disc_params, options) if self.disc_params else None
        dtype = autocast_dtype(device, precision)
        self.autocast = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else contextlib.nullcontext
        self.scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None

    # ---- saving and loading -----------------------------------------------------------------
    def optimizers(self) -> dict[str, tuple[torch.optim.Optimizer, list[str]]]:
        out = {"generator": (self.optimizer, self.param_names)}
        if self.disc_optimizer is not None:
            holder = torch.nn.ModuleDict(self.discriminators)
            out["discriminator"] = (self.disc_optimizer, _names(holder, self.disc_params))
        return out

    def modules(self) -> dict[str, torch.nn.Module]:
        return dict(self.discriminators)

    def load(self, loaded: Loaded, where: Path) -> None:
        """Optimizer and discriminator state from a validated checkpoint (a missing part starts fresh)."""
        for name, disc in self.discriminators.items():
            if loaded.modules.get(name):
                try:
                    disc.load_state_dict(loaded.modules[name])
                except RuntimeError as e:
                    raise DoppelError(f"saved {name} discriminator does not fit ({e})", where) from e
        for name, (opt, names) in self.optimizers().items():
            if name in loaded.optimizers:
                params = self.params if name == "generator" else self.disc_params
                load_optimizer(opt, loaded.optimizers[name], params, names, where)

    # ---- one step -----------------------------------------------------------------------------
    def step(self, module: torch.nn.Module, batch: dict, iteration: int, skip_nonfinite: bool = True) -> tuple[torch.Tensor, dict]:
        """Forward, loss, and one optimizer step. Returns (loss, parts) as device tensors.
        With `skip_nonfinite` a NaN/inf loss is not applied (that check waits for the device)."""
        with self.autocast():
            out = module(batch["src_input"], batch["dst_input"], need_swap=self.need_swap)
            total, parts = losses.saehd_generator_loss(out, batch, self.options, self.discriminators)
        if skip_nonfinite and not torch.isfinite(total):
            return total.detach(), {}
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            total.backward()
            self.optimizer.step()
        parts = dict(parts)
        if self.disc_optimizer is not None:
            with self.autocast():
                d_loss, d_parts = losses.saehd_discriminator_loss(out, batch, self.options, self.discriminators)
            self.disc_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            self.disc_optimizer.step()
            parts.update(d_parts)
        return total.detach(), {k: v.detach() for k, v in parts.items()}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module, faces: dict) -> float:
        """Generator loss (without adversarial terms) on fixed un-augmented faces, in chunks."""
        n = faces["src_input"].shape[0]
        chunk = max(1, int(self.options.batch_size))
        total, count = 0.0, 0
        for i in range(0, n, chunk):
            part = {k: v[i : i + chunk] for k, v in faces.items()}
            with self.autocast():
                out = model(part["src_input"], part["dst_input"], need_swap=self.need_swap)
                loss, _ = losses.saehd_generator_loss(out, part, self.options)  # no adversarial terms
            m = part["src_input"].shape[0]
            total += float(loss) * m
            count += m
        return total / max(count, 1)
