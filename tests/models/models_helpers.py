"""Helpers for the model tests: real aligned faces as tensors with landmark-hull masks."""

from __future__ import annotations

import cv2
import numpy as np
import torch


def load_faces(folder, n: int, size: int) -> dict:
    """The first n aligned faces of a folder at `size`, with landmark-hull masks: tensors."""
    from doppel.core.images import list_images, read_face
    from doppel.core.face_mask import eyes_mouth_mask, face_hull_mask

    images, masks, ems = [], [], []
    for path in list_images(folder)[:n]:
        face = read_face(path)
        scale = size / face.image.shape[0]
        lm = np.asarray(face.meta.landmarks, np.float32) * scale
        images.append(cv2.resize(face.image, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255)
        masks.append(face_hull_mask(lm, size))
        ems.append(eyes_mouth_mask(lm, size) * masks[-1])
    to = lambda a: torch.from_numpy(np.stack(a)).float()  # noqa: E731
    return {"image": to(images).permute(0, 3, 1, 2).contiguous(), "mask": to(masks)[:, None], "em": to(ems)[:, None]}


def face_batch(faces: dict, n: int) -> dict:
    s, d = faces["src"], faces["dst"]
    return dict(src_input=s["image"][:n], dst_input=d["image"][:n],
                src_target=s["image"][:n], src_mask=s["mask"][:n], src_em_mask=s["em"][:n],
                dst_target=d["image"][:n], dst_mask=d["mask"][:n], dst_em_mask=d["em"][:n])
