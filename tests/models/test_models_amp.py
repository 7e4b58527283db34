"""amp: the morph factor moves the swap monotonically from destination-like to source-like."""

from __future__ import annotations

import pytest
import torch

from doppel.core.errors import DoppelError
from doppel.models import create_model
from doppel.train.losses import saehd_generator_loss
from doppel.train.optim import make_optimizer

from models_helpers import face_batch


def test_amp_defaults_match_dfl():
    with torch.device("meta"):
        model = create_model("amp")
    assert (model.resolution, model.options.face_type, model.options.inter_dims) == (224, "wf", 1024)
    with pytest.raises(DoppelError):
        create_model("amp", resolution=240)  # multiple of 32 only


def test_morph_is_monotonic_between_destination_and_source(real_faces):
    torch.manual_seed(0)
    model = create_model("amp", resolution=64, ae_dims=32, inter_dims=64, e_dims=16, d_dims=16, d_mask_dims=16)
    batch = face_batch(real_faces[64], 2)
    opt = make_optimizer(model.generator_parameters(), model.options)
    for _ in range(3):
        loss, _ = saehd_generator_loss(model(batch["src_input"], batch["dst_input"], need_swap=False), batch,
                                       model.options)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    dst = batch["dst_input"]
    with torch.no_grad():
        outs = [model.swap(dst, m)[0] for m in (0.0, 0.25, 0.5, 0.75, 1.0)]
        dst_like = model.decoder(model.inter_dst(model.encoder(dst)))[0]
    assert torch.allclose(outs[0], dst_like, atol=1e-6)  # morph 0 is the destination's own reconstruction
    from_dst = [float((o - outs[0]).abs().mean()) for o in outs]
    from_src = [float((o - outs[-1]).abs().mean()) for o in outs]
    assert from_dst[-1] > 1e-4  # the two ends differ
    assert all(a < b for a, b in zip(from_dst, from_dst[1:]))
    assert all(a > b for a, b in zip(from_src, from_src[1:]))
    with pytest.raises(DoppelError):
        model.swap(dst, 1.5)
    with pytest.raises(DoppelError, match="no morph"):
        create_model("saehd", resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16).swap(dst, 0.3)
