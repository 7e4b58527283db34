"""save_model/load_model: round trip, and refusal of damaged or tampered folders."""

from __future__ import annotations

import json

import pytest
import torch

from doppel.core.errors import DoppelError
from doppel.models import create_model, load_model, save_model

SMALL = dict(resolution=64, ae_dims=32, e_dims=16, d_dims=16, d_mask_dims=16)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    torch.manual_seed(1)
    model = create_model("saehd", archi="liae-ud", lr=1e-4, **SMALL).eval()
    folder = tmp_path_factory.mktemp("model")
    save_model(model, folder)
    return model, folder


def test_round_trip_gives_the_same_swap(saved, real_pair):
    model, folder = saved
    loaded = load_model(folder)
    assert not loaded.training and loaded.name == "saehd" and loaded.options == model.options
    with torch.no_grad():
        a, am = model.swap(real_pair[1])
        b, bm = loaded.swap(real_pair[1])
    assert torch.equal(a, b) and torch.equal(am, bm)
    info = json.loads((folder / "model.json").read_text())
    assert info["options"]["archi"] == "liae-ud" and info["options"]["lr"] == 1e-4
    assert len(info["weights"]["sha256"]) == 64 and info["parameters"] == model.num_parameters()
    assert sorted(p.name for p in folder.iterdir()) == ["model.json", "model.safetensors"]  # no temp files left


def _copy(folder, tmp_path):
    dst = tmp_path / "copy"
    dst.mkdir()
    for p in folder.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_truncated_weights_are_refused(saved, tmp_path):
    folder = _copy(saved[1], tmp_path)
    w = folder / "model.safetensors"
    w.write_bytes(w.read_bytes()[: w.stat().st_size // 2])
    with pytest.raises(DoppelError, match="truncated"):
        load_model(folder)


def test_tampered_weights_are_refused(saved, tmp_path):
    folder = _copy(saved[1], tmp_path)
    w = folder / "model.safetensors"
    data = bytearray(w.read_bytes())
    data[-10] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(DoppelError, match="checksum"):
        load_model(folder)


@pytest.mark.parametrize("damage", ["missing", "garbage", "unknown_option", "bad_value"])
def test_bad_model_json_is_refused(saved, tmp_path, damage):
    folder = _copy(saved[1], tmp_path)
    j = folder / "model.json"
    info = json.loads(j.read_text())
    if damage == "missing":
        j.unlink()
    elif damage == "garbage":
        j.write_text("{ not json")
    elif damage == "unknown_option":
        info["options"]["warp_drive"] = True
        j.write_text(json.dumps(info))
    else:
        info["options"]["resolution"] = 65
        j.write_text(json.dumps(info))
    with pytest.raises(DoppelError) as e:
        load_model(folder)
    assert str(folder) in str(e.value)  # the message names the file
