"""SAEHD builds as DFL's (parameter counts), every archi/flag combination trains a step on real frames."""

from __future__ import annotations

import itertools

import pytest
import torch

from doppel.core.errors import DoppelError
from doppel.models import create_model, model_options
from doppel.train.losses import saehd_generator_loss
from doppel.train.optim import make_optimizer

SMALL = dict(resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16)


def test_parameter_counts_match_dfl():
    with torch.device("meta"):  # shapes only: no memory, no init cost
        small = create_model("saehd", archi="df", resolution=64, ae_dims=64, e_dims=32, d_dims=32, d_mask_dims=16)
        default = create_model("saehd", archi="df", resolution=128)
    assert small.num_parameters() == 10_114_632
    assert default.num_parameters() == 57_538_432


def _batch(src, dst):
    mask = torch.zeros(src.shape[0], 1, 64, 64)
    mask[..., 12:56, 14:50] = 1.0
    em = torch.zeros_like(mask)
    em[..., 24:30, 18:46] = 1.0
    return dict(src_target=src, src_mask=mask, src_em_mask=em, dst_target=dst, dst_mask=mask, dst_em_mask=em)


ARCHIS = [kind + ("-" + "".join(f) if f else "") for kind in ("df", "liae")
          for n in range(5) for f in itertools.combinations("udtc", n)]


@pytest.mark.parametrize("archi", ARCHIS)
def test_every_archi_trains_one_step(archi, real_pair):
    torch.manual_seed(0)
    src, dst = (t[:2] for t in real_pair)
    model = create_model("saehd", archi=archi, eyes_mouth_prio=True, **SMALL)
    opt = make_optimizer(model.generator_parameters(), model.options)
    out = model(src, dst)
    for t in (out.src_rgb, out.dst_rgb, out.swap_rgb):
        assert t.shape == (2, 3, 64, 64) and float(t.detach().min()) >= 0 and float(t.detach().max()) <= 1
    assert out.src_mask.shape == out.dst_mask.shape == out.swap_mask.shape == (2, 1, 64, 64)
    loss, parts = saehd_generator_loss(out, _batch(src, dst), model.options)
    assert torch.isfinite(loss) and loss > 0
    before = [p.detach().clone() for p in model.generator_parameters()]
    opt.zero_grad()
    loss.backward()
    opt.step()
    changed = sum(not torch.equal(b, p) for b, p in zip(before, model.generator_parameters()))
    assert changed == len(before)  # every generator weight got a gradient and moved
    with torch.no_grad():
        rgb, mask = model.eval().swap(dst)
    assert rgb.shape == (2, 3, 64, 64) and mask.shape == (2, 1, 64, 64)


def test_liae_without_random_warp_freezes_inter_ab():
    model = create_model("saehd", archi="liae", random_warp=False, **SMALL)
    assert not {id(p) for p in model.inter_AB.parameters()} & {id(p) for p in model.generator_parameters()}
    model = create_model("saehd", archi="liae", random_warp=True, **SMALL)
    assert {id(p) for p in model.inter_AB.parameters()} <= {id(p) for p in model.generator_parameters()}


def test_training_reduces_loss_on_real_frames(real_pair):
    torch.manual_seed(0)
    src, dst = (t[:2] for t in real_pair)
    model = create_model("saehd", archi="liae-ud", lr=5e-4, **SMALL)
    opt = make_optimizer(model.generator_parameters(), model.options)
    batch = _batch(src, dst)
    losses = []
    for _ in range(8):
        loss, _ = saehd_generator_loss(model(src, dst, need_swap=False), batch, model.options)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.9


@pytest.mark.parametrize("bad", [
    dict(resolution=70), dict(resolution=80, archi="df-d"), dict(archi="dfx"), dict(archi="liae-uu"),
    dict(face_type="torso"), dict(ae_dims=4), dict(lr=1.0), dict(ct_mode="magic"),
    dict(archi="liae", true_face_power=0.5), dict(batch_size="many"), dict(no_such_option=1),
])
def test_bad_options_are_refused_with_doppel_error(bad):
    with pytest.raises(DoppelError):
        create_model("saehd", **bad)


def test_options_carry_metadata_and_normalise():
    fields = {f.name: f for f in __import__("dataclasses").fields(model_options("saehd"))}
    assert fields["resolution"].metadata["fixed"] and not fields["lr"].metadata["fixed"]
    assert fields["ct_mode"].metadata["choices"] == ("none", "rct", "lct", "mkl", "idt", "sot")
    assert fields["src_face_scale"].metadata["min"] == -30 and fields["src_face_scale"].metadata["max"] == 30
    opts = create_model("saehd", face_type="whole-face", archi="LIAE-DU", **{k: v for k, v in SMALL.items()}).options
    assert opts.face_type == "wf" and opts.archi == "liae-ud" and opts.gan_patch_size == 8


def test_old_model_options_change_the_network(real_pair):
    src, dst = (t[:2] for t in real_pair)
    model = create_model("saehd", archi="liae", multiscale_decoder=True, lightweight_encoder=True,
                         remove_gray_border=True, pixel_loss=True, **SMALL)
    assert model.encoder.net[0].conv.out_channels == SMALL["e_dims"] // 2
    out = model(src, dst, need_swap=False)
    assert [t.shape[-1] for t in out.extra["src_rgb_scales"]] == [16, 32]
    assert [t.shape[-1] for t in out.extra["dst_rgb_scales"]] == [16, 32]
    loss, _ = saehd_generator_loss(out, _batch(src, dst), model.options)
    loss.backward()
    assert all(p.grad is not None for p in model.decoder.scale_heads.parameters())
