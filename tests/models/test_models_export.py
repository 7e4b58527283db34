"""The ONNX export of the swap path matches PyTorch; `doppel export` and `doppel models` work."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from doppel.cli import app
from doppel.models import create_model, save_model
from doppel.models.export import export_onnx

SMALL = dict(resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16)


@pytest.mark.parametrize("name,kw,morph", [
    ("saehd", dict(archi="liae-ud"), None),
    ("saehd", dict(archi="df-tc"), None),
    ("amp", dict(inter_dims=32), 0.3),
])
def test_onnx_matches_pytorch(name, kw, morph, real_pair, tmp_path):
    torch.manual_seed(0)
    model = create_model(name, **SMALL, **kw).eval()
    path = export_onnx(model, tmp_path / "swap.onnx", morph=morph)
    dst = real_pair[1]
    with torch.no_grad():
        rgb, mask = model.swap(dst, morph) if morph is not None else model.swap(dst)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    o_rgb, o_mask = session.run(["rgb", "mask"], {"dst": dst.numpy()})  # batch 4, exported with batch 1
    assert o_rgb.shape == (4, 3, 64, 64) and o_mask.shape == (4, 1, 64, 64)
    assert np.abs(o_rgb - rgb.numpy()).max() < 1e-4 and np.abs(o_mask - mask.numpy()).max() < 1e-4
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["doppel_model"] == name and meta["channel_order"] == "BGR" and meta["resolution"] == "64"


def test_cli_export_and_models(tmp_path):
    model = create_model("saehd", archi="df-ud", **SMALL)
    save_model(model, tmp_path / "m")
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(tmp_path / "m"), "--onnx", str(tmp_path / "out.onnx")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.onnx").stat().st_size > 100_000
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0 and "quick96" in result.output and "liaef128" in result.output
    result = runner.invoke(app, ["models", "h128"])
    assert result.exit_code == 0 and "src_face_scale" in result.output
    result = runner.invoke(app, ["export", str(tmp_path / "nothing"), "--onnx", str(tmp_path / "x.onnx")])
    assert result.exit_code != 0 and not (tmp_path / "x.onnx").exists()
