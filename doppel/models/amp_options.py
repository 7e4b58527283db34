"""AMP's options, and its entry in the model registry (the network is built from doppel.models.amp
only when a model is made)."""

from __future__ import annotations

from dataclasses import dataclass

from doppel.core.facetype import FaceType
from doppel.models.options import opt
from doppel.models.registry import register_model
from doppel.models.saehd_options import FACE_TYPES
from doppel.models.train_options import TrainingOptions


@dataclass(frozen=True)
class AMPOptions(TrainingOptions):
    resolution: int = opt(224, "Face size in pixels (multiple of 32).", group="architecture",
                          min=64, max=640, multiple_of=32, fixed=True)
    face_type: str = opt("wf", "How much of the head the model sees.", group="architecture",
                         choices=FACE_TYPES, fixed=True)
    ae_dims: int = opt(256, "Autoencoder (dense) dimensions.", group="architecture", min=32, max=1024, fixed=True)
    inter_dims: int = opt(1024, "Channels of each inter code.", group="architecture", min=32, max=2048, fixed=True)
    e_dims: int = opt(64, "Encoder base channels.", group="architecture", min=16, max=256, fixed=True)
    d_dims: int = opt(64, "Decoder base channels.", group="architecture", min=16, max=256, fixed=True)
    d_mask_dims: int = opt(22, "Mask decoder base channels.", group="architecture", min=16, max=256, fixed=True)
    morph_factor: float = opt(0.5, "Share of inter_src channels mixed into the source code in training.",
                              group="loss", min=0.1, max=0.5)

    def normalize(self) -> None:
        object.__setattr__(self, "face_type", FaceType.parse(self.face_type).short)

    def validate(self) -> None:
        if self.gan_patch_size == 0:
            object.__setattr__(self, "gan_patch_size", max(3, self.resolution // 8))


register_model("amp", AMPOptions, "doppel.models.amp:AMP",
               help="DFL's AMP: shared encoder/decoder, two inter codes mixed by a morph factor.")
