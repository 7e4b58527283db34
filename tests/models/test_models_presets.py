"""Every model and preset builds and trains a few steps (at reduced size) on real aligned faces."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from doppel.core.errors import DoppelError
from doppel.models import available_models, create_model, model_options
from doppel.models.discriminators import build_discriminators
from doppel.train.losses import saehd_discriminator_loss, saehd_generator_loss
from doppel.train.optim import make_optimizer

from models_helpers import face_batch

REDUCED = dict(resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16)


def test_registry_lists_models_and_presets():
    names = available_models()
    for n in ("saehd", "amp", "quick96", "h64", "h128", "df", "liaef128", "sae", "saehd-cpu"):
        assert n in names


def test_a_model_registered_by_import_path_builds_on_first_use(monkeypatch):
    from doppel.models import registry
    from doppel.models.saehd_options import SAEHDOptions

    monkeypatch.setitem(registry._REGISTRY, "plugin", None)  # removed again after the test
    registry.register_model("plugin", SAEHDOptions, "doppel.models.saehd:SAEHD")
    assert registry.get_entry("plugin").help == ""  # a path has no docstring to borrow
    model = create_model("plugin", **REDUCED)
    assert type(model).__name__ == "SAEHD" and model.name == "plugin"


@pytest.mark.parametrize("name", ["h64", "h128", "df", "liaef128", "sae", "quick96", "amp"])
def test_preset_trains_on_real_faces(name, real_faces):
    torch.manual_seed(0)
    # quick96's architecture is locked, so it trains at its own 96 px, with fewer steps and faces.
    kw = {} if name == "quick96" else dict(REDUCED, **({"inter_dims": 32} if name == "amp" else {}))
    model = create_model(name, lr=1e-4, **kw)
    n, steps = (1, 2) if name == "quick96" else (2, 3)
    batch = face_batch(real_faces[model.resolution], n)
    opt = make_optimizer(model.generator_parameters(), model.options)
    losses = []
    for _ in range(steps):
        out = model(batch["src_input"], batch["dst_input"], need_swap=False)
        loss, _ = saehd_generator_loss(out, batch, model.options)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(v == v for v in losses) and min(losses[1:]) < losses[0]


def test_preset_defaults_and_locks():
    h128 = model_options("h128")()
    assert (h128.resolution, h128.face_type, h128.ae_dims, h128.optimizer) == (128, "h", 512, "adam")
    q = {f.name: f for f in dataclasses.fields(model_options("quick96"))}
    assert q["resolution"].default == 96 and q["resolution"].metadata["locked"]
    with pytest.raises(DoppelError, match="quick96 always uses resolution=96"):
        create_model("quick96", resolution=128)
    with torch.device("meta"):
        assert create_model("quick96", lr=1e-4).options.archi == "df-ud"  # non-locked options still change


def test_gan_and_true_face_terms_train(real_faces):
    torch.manual_seed(0)
    model = create_model("saehd", archi="df", gan_power=0.1, true_face_power=0.1, face_style_power=1.0,
                         bg_style_power=1.0, clipgrad=True, lr_dropout=True, **REDUCED)
    disc = build_discriminators(model)
    assert set(disc) == {"gan", "true_face"}
    batch = face_batch(real_faces[64], 2)
    out = model(batch["src_input"], batch["dst_input"])
    loss, parts = saehd_generator_loss(out, batch, model.options, disc)
    assert {"gan", "true_face", "face_style", "bg_style"} <= set(parts)
    loss.backward()
    d_loss, d_parts = saehd_discriminator_loss(out, batch, model.options, disc)
    d_opt = make_optimizer([p for d in disc.values() for p in d.parameters()], model.options)
    d_loss.backward()
    d_opt.step()
    assert set(d_parts) == {"gan_d", "true_face_d"} and torch.isfinite(d_loss)
    assert all(p.grad is not None for d in disc.values() for p in d.parameters())
