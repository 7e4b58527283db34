"""quick96: DFL's model for weak machines. A locked SAEHD configuration: 96 px full face, df-ud,
small dims, RMSprop with lr dropout as DFL trains it."""

from __future__ import annotations

import doppel.models.saehd_options  # noqa: F401  (registers the base model)
from doppel.models.registry import register_preset

register_preset(
    "quick96", "saehd",
    help="96 px full face, df-ud, small dims: for weak machines (DFL Quick96).",
    locked=("resolution", "face_type", "archi", "ae_dims", "e_dims", "d_dims", "d_mask_dims"),
    resolution=96, face_type="f", archi="df-ud", ae_dims=128, e_dims=64, d_dims=64, d_mask_dims=16,
    optimizer="rmsprop", lr=2e-4, lr_dropout=True, batch_size=4,
)
