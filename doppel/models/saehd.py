"""SAEHD as DFL users know it: `df` (shared encoder + inter, one decoder per identity) or `liae`
(shared encoder, inter_AB and inter_B, one shared decoder), with the flags -u -d -t -c."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.layers import glorot_init, pixel_norm
from doppel.models.archi import Decoder, Encoder, Inter
from doppel.models.base import FaceSwapModel, ModelOutput
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


class SAEHD(FaceSwapModel):
    def __init__(self, options: SAEHDOptions, name: str = "saehd"):
        super().__init__(options, name)
        o = options
        kind, flags = parse_archi(o.archi)
        deep, double, cos = "t" in flags, "d" in flags, "c" in flags
        self.kind, self.pixel_norm = kind, "u" in flags
        e_ch = o.e_dims // 2 if o.lightweight_encoder else o.e_dims
        self.encoder = Encoder(3, e_ch, deep=deep, cos=cos)
        enc_out = self.encoder.out_features(o.resolution)
        lowest = o.resolution // (32 if double else 16)
        dec = dict(d_ch=o.d_dims, d_mask_ch=o.d_mask_dims, deep=deep, double=double, cos=cos,
                   multiscale=o.multiscale_decoder)
        if kind == "df":
            self.inter = Inter(enc_out, o.ae_dims, o.ae_dims, lowest, upscale=not deep, cos=cos)
            self.decoder_src = Decoder(o.ae_dims, **dec)
            self.decoder_dst = Decoder(o.ae_dims, **dec)
        else:
            self.inter_AB = Inter(enc_out, o.ae_dims, o.ae_dims * 2, lowest, upscale=not deep, cos=cos)
            self.inter_B = Inter(enc_out, o.ae_dims, o.ae_dims * 2, lowest, upscale=not deep, cos=cos)
            self.decoder = Decoder(o.ae_dims * 4, **dec)
        glorot_init(self)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        return pixel_norm(z) if self.pixel_norm else z

    def forward(self, src: torch.Tensor, dst: torch.Tensor, need_swap: bool = True) -> ModelOutput:
        self._check_input(src, "src")
        self._check_input(dst, "dst")
        n = src.shape[0]
        e_src, e_dst = self.encode(torch.cat([src, dst])).split([n, dst.shape[0]])
        if self.kind == "df":
            src_code, dst_code = self.inter(torch.cat([e_src, e_dst])).split([n, dst.shape[0]])
            # decoder_src decodes src and (for the swap) dst codes in one batch
            src_in = torch.cat([src_code, dst_code]) if need_swap else src_code
            s_rgb, s_mask, s_scales = self.decoder_src(src_in)
            d_rgb, d_mask, d_scales = self.decoder_dst(dst_code)
            parts = (s_rgb.split(n), s_mask.split(n), [s.split(n) for s in s_scales])
        else:
            ab_src, ab_dst = self.inter_AB(torch.cat([e_src, e_dst])).split([n, dst.shape[0]])
            b_dst = self.inter_B(e_dst)
            src_code = torch.cat([ab_src, ab_src], dim=1)
            dst_code = torch.cat([b_dst, ab_dst], dim=1)
            codes = [src_code, dst_code] + ([torch.cat([ab_dst, ab_dst], dim=1)] if need_swap else [])
            rgb, mask, scales = self.decoder(torch.cat(codes))
            sizes = [c.shape[0] for c in codes]
            rgb, mask, scales = rgb.split(sizes), mask.split(sizes), [s.split(sizes) for s in scales]
            d_rgb, d_mask, d_scales = rgb[1], mask[1], [s[1] for s in scales]
            parts = ((rgb[0],) + rgb[2:], (mask[0],) + mask[2:], [(s[0],) + s[2:] for s in scales])
        (s_rgb, *swap_rgb), (s_mask, *swap_mask), s_scales = parts
        extra = {}
        if s_scales:
            extra = {"src_rgb_scales": [s[0] for s in s_scales], "dst_rgb_scales": list(d_scales)}
        return ModelOutput(
            src_rgb=s_rgb, src_mask=s_mask, dst_rgb=d_rgb, dst_mask=d_mask,
            swap_rgb=swap_rgb[0] if need_swap else None, swap_mask=swap_mask[0] if need_swap else None,
            src_code=src_code, dst_code=dst_code, extra=extra,
        )

    def swap(self, dst: torch.Tensor, morph: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The source identity decoded from destination faces: (rgb N,3,H,W; mask N,1,H,W)."""
        self._check_no_morph(morph)
        self._check_input(dst, "dst")
        e = self.encode(dst)
        if self.kind == "df":
            rgb, mask, _ = self.decoder_src(self.inter(e))
        else:
            ab = self.inter_AB(e)
            rgb, mask, _ = self.decoder(torch.cat([ab, ab], dim=1))
        return rgb, mask

    def generator_parameters(self) -> list[nn.Parameter]:
        """All weights; for liae without random warp (or in pretrain) inter_AB is frozen, as in DFL."""
        params = list(self.parameters())
        if self.kind == "liae" and (not self.options.random_warp or self.options.pretrain):
            frozen = {id(p) for p in self.inter_AB.parameters()}
            params = [p for p in params if id(p) not in frozen]
        return params


@register_model("saehd", SAEHDOptions, help="DFL's SAEHD: df or liae with -u/-d/-t/-c flags.")
def build_saehd(options: SAEHDOptions) -> SAEHD:
    return SAEHD(options)
