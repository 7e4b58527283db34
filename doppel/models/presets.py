"""SAEHD configurations: the old DFL models (issue 10), each matching the old model's resolution, face
type, dims and losses as closely as the public descriptions allow, and doppel's own CPU model. They are
ordinary SAEHD models afterwards, so every option can still be changed. See docs/models.md for the table."""

from __future__ import annotations

import doppel.models.saehd_options  # noqa: F401  (registers the base model)
from doppel.models.registry import register_preset

# The pre-SAE models trained with Adam, DSSIM + mask loss and a learned mask.
_OLD = dict(optimizer="adam", masked_training=True)

# The old encoders were four 5x5 downscales of 128-256-512-1024 channels (e_dims 128).
register_preset("h64", "saehd", help="Old H64: 64 px half face, df, 1024-d code.",
                resolution=64, face_type="h", archi="df", ae_dims=1024, e_dims=128, d_dims=32, d_mask_dims=16, **_OLD)
register_preset("h128", "saehd", help="Old H128: 128 px half face, df, 512-d code.",
                resolution=128, face_type="h", archi="df", ae_dims=512, e_dims=128, d_dims=64, d_mask_dims=22, **_OLD)
register_preset("df", "saehd", help="Old DF: 128 px full face, df, 512-d code.",
                resolution=128, face_type="f", archi="df", ae_dims=512, e_dims=128, d_dims=64, d_mask_dims=22, **_OLD)
register_preset("liaef128", "saehd", help="Old LIAEF128: 128 px full face, liae, 256-d code.",
                resolution=128, face_type="f", archi="liae", ae_dims=256, e_dims=128, d_dims=64, d_mask_dims=22,
                **_OLD)
register_preset("sae", "saehd", help="Old SAE defaults: 128 px full face, df, 512-d code, e 42, d 21.",
                resolution=128, face_type="f", archi="df", ae_dims=512, e_dims=42, d_dims=21, d_mask_dims=16,
                optimizer="adam", masked_training=True)

# doppel's model for CPUs: what `doppel swap` trains there, and what to pretrain for it. The training
# choices are the quality benchmark's fastest for budgets up to 30 minutes (docs/evaluate.md, "Levers").
register_preset("saehd-cpu", "saehd", help="doppel swap's CPU model: 64 px whole face, df, small dims, lr 1.5e-4 "
                "after a 200-iteration warm-up, random warp off (about 2 it/s on two cores).",
                resolution=64, face_type="wf", archi="df", ae_dims=64, e_dims=32, d_dims=32, d_mask_dims=16,
                batch_size=8, lr=1.5e-4, lr_warmup=200, random_warp=False)
