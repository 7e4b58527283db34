"""Export a model's swap path to ONNX: input `dst` N,3,R,R float32 in [0, 1] BGR; outputs `rgb`
(N,3,R,R, BGR) and `mask` (N,1,R,R). The batch size is dynamic; an amp model's morph factor is fixed
at export time. The file is written atomically and carries the model's name, resolution and face type
as ONNX metadata."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from doppel.core.atomic import atomic_path
from doppel.core.errors import DoppelError


class SwapPath(nn.Module):
    def __init__(self, model, morph: float | None):
        super().__init__()
        self.model, self.morph = model, morph

    def forward(self, dst: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.swap(dst, self.morph) if self.morph is not None else self.model.swap(dst)


def export_onnx(model, path: str | Path, morph: float | None = None, opset: int = 17) -> Path:
    """Write the swap path of `model` to `path` (.onnx)."""
    import onnx

    path = Path(path)
    if morph is not None and not getattr(model, "has_morph", False):
        raise DoppelError(f"model {model.name} has no morph factor", hint="--morph works with amp models only")
    cpu = copy.deepcopy(model).to("cpu", torch.float32).eval()
    for p in cpu.parameters():
        p.requires_grad_(False)
    dummy = torch.rand(1, 3, cpu.resolution, cpu.resolution)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and legacy-exporter notices
        torch.onnx.export(
            SwapPath(cpu, morph), (dummy,), str(tmp), dynamo=False, opset_version=opset,
            input_names=["dst"], output_names=["rgb", "mask"],
            dynamic_axes={"dst": {0: "n"}, "rgb": {0: "n"}, "mask": {0: "n"}},
        )
        proto = onnx.load(str(tmp))
        meta = {"doppel_model": cpu.name, "resolution": str(cpu.resolution), "face_type": cpu.face_type.value,
                "channel_order": "BGR", "range": "0..1", "options": json.dumps(cpu.options.to_dict())}
        if morph is not None:
            meta["morph"] = str(morph)
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, str(tmp))
    return path
