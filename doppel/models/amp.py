"""AMP (DFL's "amplifier" model): one encoder and one decoder shared by both identities, and two
dense "inter" codes, inter_src and inter_dst. In training the source's code mixes a random
`morph_factor` share of inter_src channels into inter_dst's; at merge time `swap(dst, morph)` takes
the first `morph` share of channels from inter_src(dst) and the rest from inter_dst(dst), so the morph
factor sets how much of the source identity shows (0 = the destination, 1 = all source)."""

from __future__ import annotations

import torch

from doppel.core.errors import DoppelError
from doppel.layers import glorot_init
from doppel.models.archi import Decoder, Encoder, Inter
from doppel.models.base import FaceSwapModel, ModelOutput
from doppel.models.amp_options import AMPOptions


class AMP(FaceSwapModel):
    has_morph = True

    def __init__(self, options: AMPOptions, name: str = "amp"):
        super().__init__(options, name)
        self.encoder = Encoder(3, options.e_dims, deep=True)
        enc_out = self.encoder.out_features(options.resolution)
        lowest = options.resolution // 32
        self.inter_src = Inter(enc_out, options.ae_dims, options.inter_dims, lowest, upscale=False)
        self.inter_dst = Inter(enc_out, options.ae_dims, options.inter_dims, lowest, upscale=False)
        self.decoder = Decoder(options.inter_dims, options.d_dims, options.d_mask_dims, deep=True, double=True)
        glorot_init(self)

    def _train_mix(self, code_src: torch.Tensor, code_dst: torch.Tensor) -> torch.Tensor:
        """Per sample, a random morph_factor share of channels from inter_src, the rest from inter_dst."""
        n, c = code_src.shape[:2]
        k = int(c * self.options.morph_factor)
        ranks = torch.rand(n, c, device=code_src.device).argsort(dim=1).argsort(dim=1)
        pick = (ranks < k).to(code_src.dtype)[:, :, None, None]
        return code_src * pick + code_dst * (1 - pick)

    def _merge_mix(self, e: torch.Tensor, morph: float) -> torch.Tensor:
        code_src, code_dst = self.inter_src(e), self.inter_dst(e)
        k = int(round(self.options.inter_dims * morph))  # a plain int, also while tracing for ONNX
        return torch.cat([code_src[:, :k], code_dst[:, k:]], dim=1)

    def forward(self, src: torch.Tensor, dst: torch.Tensor, need_swap: bool = True) -> ModelOutput:
        self._check_input(src, "src")
        self._check_input(dst, "dst")
        n, m = src.shape[0], dst.shape[0]
        e_src, e_dst = self.encoder(torch.cat([src, dst])).split([n, m])
        src_code = self._train_mix(self.inter_src(e_src), self.inter_dst(e_src))
        dst_code = self.inter_dst(e_dst)
        codes = [src_code, dst_code] + ([self._merge_mix(e_dst, 1.0)] if need_swap else [])
        rgb, mask, _ = self.decoder(torch.cat(codes))
        rgb, mask = rgb.split([c.shape[0] for c in codes]), mask.split([c.shape[0] for c in codes])
        return ModelOutput(
            src_rgb=rgb[0], src_mask=mask[0], dst_rgb=rgb[1], dst_mask=mask[1],
            swap_rgb=rgb[2] if need_swap else None, swap_mask=mask[2] if need_swap else None,
            src_code=src_code, dst_code=dst_code,
        )

    def swap(self, dst: torch.Tensor, morph: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`morph` in [0, 1]: how much of the source identity shows (default 1.0, as DFL's merger)."""
        self._check_input(dst, "dst")
        morph = 1.0 if morph is None else float(morph)
        if not 0.0 <= morph <= 1.0:
            raise DoppelError(f"morph factor {morph} is outside 0..1", hint="0 keeps the destination, 1 is all source")
        rgb, mask, _ = self.decoder(self._merge_mix(self.encoder(dst), morph))
        return rgb, mask
