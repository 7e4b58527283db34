"""Sample pipeline on real faces: masks, augmentation, determinism, workers, hold-out."""

from __future__ import annotations

import numpy as np
import torch

from doppel.core.facetype import FaceType
from doppel.train.augment import AugmentSettings, augment
from doppel.train.faceset import load_faceset, split_holdout
from doppel.train.samples import BatchSource, SampleSettings, batch_loader, finish_batch, yaw_bins


def _sets(src_faces, dst_faces, res=64):
    return load_faceset(src_faces, res, FaceType.WHOLE_FACE, False), load_faceset(dst_faces, res, FaceType.WHOLE_FACE, False)


def test_faceset_masks_cover_the_face(src_faces):
    faces = load_faceset(src_faces, 64, FaceType.WHOLE_FACE, False)
    assert faces.images.shape[1:] == (64, 64, 3) and len(faces) >= 20
    share = faces.masks.mean(axis=(1, 2)) / 255
    assert np.all(share > 0.2) and np.all(share < 0.8)  # a face, not the whole square nor nothing
    centre = faces.masks[:, 24:40, 24:40].mean() / 255
    assert centre > 0.95  # the middle of an aligned face is face
    assert np.all(faces.em_masks <= faces.masks)  # eyes and mouth lie inside the face mask
    assert 0.01 < faces.em_masks.mean() / 255 < 0.2


def test_recrop_to_a_smaller_face_type_zooms_in(src_faces):
    whole = load_faceset(src_faces, 64, FaceType.WHOLE_FACE, False)
    full = load_faceset(src_faces, 64, FaceType.FULL, False)
    # the same eyes and mouth fill more of a full-face crop than of a whole-face crop
    assert full.em_masks.mean() > whole.em_masks.mean() * 1.2


def test_augment_shares_the_affine_and_warps_the_input_only():
    gen = torch.Generator().manual_seed(1)
    images = torch.rand(4, 3, 32, 32)
    masks = torch.zeros(4, 2, 32, 32)
    masks[:, :, 8:24, 8:24] = 1
    plain = AugmentSettings(rotation_deg=0, scale=0, shift=0, warp=False)
    inp, target, m = augment(images, masks, plain, gen)
    assert torch.allclose(target, images, atol=1e-5) and torch.allclose(m, masks, atol=1e-5)
    inp, target, m = augment(images, masks, AugmentSettings(warp=False, flip=True), gen)
    assert torch.equal(inp, target) and not torch.allclose(target, images, atol=1e-2)
    # the mask moved with the image: the same affine applied to image*mask equals target*mask
    both = torch.cat([images, masks[:, :1]], 1)
    gen2 = torch.Generator().manual_seed(5)
    inp1, t1, m1 = augment(both[:, :3], masks, AugmentSettings(warp=False, flip=True), gen2)
    gen3 = torch.Generator().manual_seed(5)
    _, t2, _ = augment(both[:, 3:4].repeat(1, 3, 1, 1), masks, AugmentSettings(warp=False, flip=True), gen3)
    assert torch.allclose(t2[:, 0:1], m1[:, 0:1], atol=1e-5)
    warped, target, _ = augment(images, masks, AugmentSettings(), torch.Generator().manual_seed(2))
    assert not torch.allclose(warped, target, atol=1e-2)


def test_batches_depend_on_seed_and_iteration_only(src_faces, dst_faces):
    src, dst = _sets(src_faces, dst_faces)
    settings = SampleSettings(batch_size=3, src=AugmentSettings(hsv_power=0.1), uniform_yaw=True, ct_mode="rct", seed=3)
    source = BatchSource(src, dst, settings)
    a, b = source[7], source[7]
    assert set(a) == {f"{s}_{k}" for s in ("src", "dst") for k in ("input", "target", "mask", "em_mask")}
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["src_input"], source[8]["src_input"])
    for v in a.values():
        assert v.dtype == torch.float32 and float(v.min()) >= 0 and float(v.max()) <= 1
    # the GPU path (raw uint8 batch, augmented later on the device) gives the same batch
    raw = BatchSource(src, dst, settings, augment_here=False)[7]
    assert raw["src_image"].dtype == torch.uint8
    late = finish_batch(raw, settings, torch.device("cpu"))
    assert all(torch.allclose(late[k], a[k], atol=1e-5) for k in a)
    # a worker process makes exactly the batches the main process makes
    inline = [batch for _, batch in zip(range(2), batch_loader(source, 5, workers=0))]
    pooled = [batch for _, batch in zip(range(2), batch_loader(source, 5, workers=1))]
    for (ki, bi), (kp, bp) in zip(inline, pooled):
        assert ki == kp and all(torch.equal(bi[k], bp[k]) for k in bi)


def test_uniform_yaw_draws_rare_poses_more_often():
    yaw = np.concatenate([np.zeros(90), np.full(10, 30.0)]).astype(np.float32)
    bins = yaw_bins(yaw)
    assert len(bins) == 2
    rng = np.random.default_rng(0)
    from doppel.train.samples import pick

    share = np.mean(pick(rng, len(yaw), 4000, bins) >= 90)
    assert 0.4 < share < 0.6  # 10 % of the faces, half of the draws


def test_holdout_keeps_a_few_faces_apart(src_faces):
    faces = load_faceset(src_faces, 64, FaceType.WHOLE_FACE, False)
    train, val = split_holdout(faces, 0.05, seed=0)
    assert val is not None and len(val) >= 2 and len(train) + len(val) == len(faces)
    assert not set(train.names) & set(val.names)
    _, none = split_holdout(faces, 0.0, seed=0)
    assert none is None
