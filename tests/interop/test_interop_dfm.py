import numpy as np
import onnxruntime as ort
import pytest
import torch

from doppel.core.errors import DoppelError
from doppel.interop.dfm import INPUT, OUTPUTS, export_dfm, export_dfm_folder
from doppel.media.reader import read_frames
from tests.conftest import DST_CLIP

SMALL = dict(resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16)


def _faces(n=2) -> torch.Tensor:
    """Real frames of the destination clip, centre-cropped to 64 px, N,3,64,64 BGR in [0, 1]."""
    import cv2

    out = []
    for f in read_frames(DST_CLIP, every_n=30):
        out.append(cv2.resize(f.image[96:416, 96:416], (64, 64), interpolation=cv2.INTER_AREA))
        if len(out) == n:
            break
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float() / 255.0


# AMP is left out until amp.py's _merge_mix traces (int(round(shape * morph)) fails under torch.onnx tracing,
# for doppel.models.export too); export_dfm's morph path is the same call as export_onnx's.
def test_dfm_from_saved_model_matches_pytorch_and_follows_the_contract(data_dir, tmp_path):
    from doppel.models import create_model, save_model
    from doppel.models.io import load_model

    torch.manual_seed(0)
    save_model(create_model("saehd", archi="liae-ud", **SMALL), tmp_path / "m")
    path = export_dfm_folder(tmp_path / "m", tmp_path / "face.dfm")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == [INPUT]
    assert [o.name for o in session.get_outputs()] == list(OUTPUTS)
    dst = _faces(2)
    face_mask, celeb, celeb_mask = session.run(None, {INPUT: dst.permute(0, 2, 3, 1).numpy()})  # batch 2
    model = load_model(tmp_path / "m", device="cpu")
    with torch.no_grad():
        rgb, mask = model.swap(dst)
        dst_mask = model(dst, dst, need_swap=False).dst_mask
    assert celeb.shape == (2, 64, 64, 3) and celeb_mask.shape == (2, 64, 64, 1) and face_mask.shape == (2, 64, 64, 1)
    np.testing.assert_allclose(celeb, rgb.permute(0, 2, 3, 1).numpy(), atol=1e-4)
    np.testing.assert_allclose(celeb_mask, mask.permute(0, 2, 3, 1).numpy(), atol=1e-4)
    np.testing.assert_allclose(face_mask, dst_mask.permute(0, 2, 3, 1).numpy(), atol=1e-4)
    assert not np.allclose(celeb, dst.permute(0, 2, 3, 1).numpy(), atol=0.05)  # it is not an identity graph

    with pytest.raises(DoppelError, match=".dfm"):
        export_dfm(model, tmp_path / "m.onnx")
    with pytest.raises(DoppelError, match="morph"):
        export_dfm(model, tmp_path / "x.dfm", morph=0.5)
    assert not (tmp_path / "x.dfm").exists()
