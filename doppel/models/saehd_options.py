"""SAEHD's options, and its entry in the model registry (the network itself is built from
doppel.models.saehd only when a model is made: listing models and their flags needs no torch)."""

from __future__ import annotations

from dataclasses import dataclass

from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.models.options import opt
from doppel.models.registry import register_model
from doppel.models.train_options import TrainingOptions

ARCHI_TYPES = ("df", "liae")
ARCHI_FLAGS = "udtc"
FACE_TYPES = ("h", "mf", "f", "wf", "head")


def parse_archi(archi: str) -> tuple[str, str]:
    """'liae-ud' -> ('liae', 'ud'). Raises DoppelError for anything else."""
    kind, _, flags = str(archi).strip().lower().partition("-")
    if kind not in ARCHI_TYPES or any(c not in ARCHI_FLAGS for c in flags) or len(set(flags)) != len(flags):
        raise DoppelError(f"unknown archi '{archi}'",
                          hint="Use df or liae, optionally with flags from -udtc, e.g. liae-ud")
    return kind, "".join(c for c in ARCHI_FLAGS if c in flags)


@dataclass(frozen=True)
class SAEHDOptions(TrainingOptions):
    resolution: int = opt(128, "Face size in pixels (multiple of 16; of 32 with -d).", group="architecture",
                          min=64, max=640, multiple_of=16, fixed=True)
    face_type: str = opt("wf", "How much of the head the model sees.", group="architecture",
                         choices=FACE_TYPES, fixed=True)
    archi: str = opt("df", "df or liae, with flags: -u pixel-norm code, -d double resolution, -t deeper, "
                     "-c x*cos(x) activations (e.g. liae-ud).", group="architecture", fixed=True)
    ae_dims: int = opt(256, "Autoencoder (code) dimensions.", group="architecture", min=32, max=1024, fixed=True)
    e_dims: int = opt(64, "Encoder base channels.", group="architecture", min=16, max=256, fixed=True)
    d_dims: int = opt(64, "Decoder base channels.", group="architecture", min=16, max=256, fixed=True)
    d_mask_dims: int = opt(22, "Mask decoder base channels.", group="architecture", min=16, max=256, fixed=True)
    lightweight_encoder: bool = opt(False, "Half-width encoder for small GPUs (old H64/H128 option).",
                                    group="architecture", fixed=True)
    multiscale_decoder: bool = opt(False, "Also predict and train the face at 1/4 and 1/2 size (old SAE option).",
                                   group="architecture", fixed=True)
    true_face_power: float = opt(0.0, "df only: a code discriminator makes the swap more like the source.",
                                 group="loss", min=0.0, max=1.0)

    def normalize(self) -> None:
        object.__setattr__(self, "face_type", FaceType.parse(self.face_type).short)

    def validate(self) -> None:
        kind, flags = parse_archi(self.archi)
        object.__setattr__(self, "archi", kind + ("-" + flags if flags else ""))
        if "d" in flags and self.resolution % 32:
            raise DoppelError(f"resolution {self.resolution} must be a multiple of 32 with the -d flag")
        if kind != "df" and self.true_face_power > 0:
            raise DoppelError("true_face_power works with the df archi only", hint="Set it to 0 for liae")
        if self.gan_patch_size == 0:
            object.__setattr__(self, "gan_patch_size", max(3, self.resolution // 8))

    @property
    def archi_type(self) -> str:
        return parse_archi(self.archi)[0]

    @property
    def archi_flags(self) -> str:
        return parse_archi(self.archi)[1]


register_model("saehd", SAEHDOptions, "doppel.models.saehd:SAEHD",
               help="DFL's SAEHD: df or liae with -u/-d/-t/-c flags.")
