"""Identity transfer during training: the swap's faces scored by the dlib judge, so a run shows
identity rising, not only loss falling. Call it on the fixed validation faces every few thousand
iterations (about 0.1 s a face on CPU)."""

from __future__ import annotations

import numpy as np

from doppel.evaluate.measures import identity_scores


def swap_identity(swap_bgr, src_embedding_mean: np.ndarray, dst_embeddings: np.ndarray, landmarks=None) -> dict:
    """`swap_bgr`: the model's swap output, a N,3,H,W tensor (or array) in [0, 1], BGR (doppel's
    model convention). `landmarks`: the destination faces' 68 points in the same pixels (the swap
    keeps the destination's alignment), which spares dlib's detector. Returns `identity_scores`'s dict."""
    x = swap_bgr.detach().float().cpu().numpy() if hasattr(swap_bgr, "detach") else np.asarray(swap_bgr, np.float32)
    images = [np.ascontiguousarray((np.clip(face.transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)) for face in x]
    return identity_scores(images, src_embedding_mean, dst_embeddings, landmarks)
