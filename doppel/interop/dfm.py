"""`doppel export-dfm`: a trained model as a DeepFaceLive .dfm file.

A .dfm is an ONNX model with DeepFaceLab's export contract (Model_SAEHD/Model.py export_dfm;
DeepFaceLive's DFMModel reads outputs by position):
  input   in_face:0              N,R,R,3 float32 BGR in [0, 1] (NHWC), dynamic batch
  outputs out_face_mask:0        N,R,R,1  the destination face's own mask
          out_celeb_face:0       N,R,R,3  the swapped (source identity) face
          out_celeb_face_mask:0  N,R,R,1  its mask
An AMP model's morph factor is fixed at export (DeepFaceLive treats `morph_value:0` as optional).
DeepFaceLive aligns faces like DFL (whole_face is its usual type): export models trained on the face
type you will use there.
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch
from torch import nn

from doppel.core.atomic import atomic_path
from doppel.core.errors import DoppelError

INPUT = "in_face:0"
OUTPUTS = ("out_face_mask:0", "out_celeb_face:0", "out_celeb_face_mask:0")


class _DFMPath(nn.Module):
    def __init__(self, model, morph: float | None):
        super().__init__()
        self.model, self.morph = model, morph

    def forward(self, in_face: torch.Tensor):
        x = in_face.permute(0, 3, 1, 2)
        rgb, celeb_mask = self.model.swap(x, self.morph) if self.morph is not None else self.model.swap(x)
        face_mask = self.model(x, x, need_swap=False).dst_mask
        nhwc = lambda t: t.permute(0, 2, 3, 1)  # noqa: E731
        return nhwc(face_mask), nhwc(rgb), nhwc(celeb_mask)


def export_dfm(model, path: str | Path, morph: float | None = None, opset: int = 17) -> Path:
    """Write `model` (a FaceSwapModel) as a DeepFaceLive .dfm file, atomically."""
    path = Path(path)
    if path.suffix.lower() != ".dfm":
        raise DoppelError("a DeepFaceLive model file must end in .dfm", path)
    if morph is not None and not getattr(model, "has_morph", False):
        raise DoppelError(f"model {model.name} has no morph factor", hint="--morph works with amp models only")
    if getattr(model, "has_morph", False) and morph is None:
        morph = 0.5  # DeepFaceLive's own default for AMP models
    cpu = copy.deepcopy(model).to("cpu", torch.float32).eval()
    for p in cpu.parameters():
        p.requires_grad_(False)
    r = cpu.resolution
    dummy = torch.rand(1, r, r, 3)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _DFMPath(cpu, morph), (dummy,), str(tmp), dynamo=False, opset_version=opset,
            input_names=[INPUT], output_names=list(OUTPUTS),
            dynamic_axes={name: {0: "n"} for name in (INPUT, *OUTPUTS)},
        )
    return path


def export_dfm_folder(model_dir: str | Path, out: str | Path, morph: float | None = None) -> Path:
    from doppel.models.io import load_model

    return export_dfm(load_model(model_dir, device="cpu"), out, morph=morph)
