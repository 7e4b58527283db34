"""SAEHD as DFL users know it: `df` (shared encoder + inter, one decoder per identity) or `liae`
(shared encoder, inter_AB and inter_B, one shared decoder), with the flags -u -d -t -c."""

from __future__ import annotations

import torch
from torch import nn

from doppel.layers import glorot_init, pixel_norm
from doppel.models.archi import Decoder, Encoder, Inter
from doppel.models.base import FaceSwapModel, ModelOutput
from doppel.models.saehd_options import SAEHDOptions, parse_archi

class SAEHD(FaceSwapModel):
    def __init__(self, options: SAEHDOptions, name: str = "saehd"):
        super().__init__(options, name)
        kind, flags = parse_archi(options.archi)
        deep, double, cos = "t" in flags, "d" in flags, "c" in flags
        self.kind, self.pixel_norm = kind, "u" in flags
        e_ch = options.e_dims // 2 if options.lightweight_encoder else options.e_dims
        self.encoder = Encoder(3, e_ch, deep=deep, cos=cos)
        enc_out = self.encoder.out_features(options.resolution)
        lowest = options.resolution // (32 if double else 16)
        dec = dict(d_ch=options.d_dims, d_mask_ch=options.d_mask_dims, deep=deep, double=double, cos=cos,
                   multiscale=options.multiscale_decoder)
        if kind == "df":
            self.inter = Inter(enc_out, options.ae_dims, options.ae_dims, lowest, upscale=not deep, cos=cos)
            self.decoder_src = Decoder(options.ae_dims, **dec)
            self.decoder_dst = Decoder(options.ae_dims, **dec)
        else:
            self.inter_AB = Inter(enc_out, options.ae_dims, options.ae_dims * 2, lowest, upscale=not deep, cos=cos)
            self.inter_B = Inter(enc_out, options.ae_dims, options.ae_dims * 2, lowest, upscale=not deep, cos=cos)
            self.decoder = Decoder(options.ae_dims * 4, **dec)
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
