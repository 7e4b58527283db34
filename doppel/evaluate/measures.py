"""Quality measures of a swap, as pure functions on arrays. The evaluate command and training's
validation both call these, so a user sees identity transfer rising, not only loss falling."""

from __future__ import annotations

import cv2
import numpy as np

PSNR_CAP_DB = 100.0  # identical pixels: JSON has no infinity, so the PSNR is capped here

# 68-point groups
_EYES = list(range(36, 48))
_MOUTH = list(range(48, 68))
_STABLE = [27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45]  # nose bridge, nostrils, eye corners
# Regions whose fine texture a swap must keep: each brow with its eye, and the lips.
_DETAIL_REGIONS = (list(range(17, 22)) + list(range(36, 42)), list(range(22, 27)) + list(range(42, 48)), list(range(48, 60)))
DETAIL_INTEROCULAR_PX = 64.0  # faces are compared at this eye distance, whatever their size in the frame
# Grain finer than this (sensor noise, codec) is smoothed away first: it differs between clips far more
# than the texture of lashes, brows and lips does, and a swap need not copy it.
DETAIL_SMOOTH_PX = 1.0
_DETAIL_SIDE = 256


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of (N, D) and (N, D) or (1, D) arrays."""
    a = np.atleast_2d(np.asarray(a, np.float64))
    b = np.atleast_2d(np.asarray(b, np.float64))
    num = (a * b).sum(-1)
    den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return num / np.maximum(den, 1e-12)


def identity_from_embeddings(embeddings: np.ndarray, src_embedding_mean: np.ndarray, dst_embeddings: np.ndarray) -> dict:
    """Identity scores of result embeddings against the source identity and the destination's faces.

    `dst_embeddings` is one row per result face (its own original) or one row for all.
    A face counts as retrieved toward the source when it is closer (cosine) to the source mean
    than to the destination.
    """
    emb = np.atleast_2d(np.asarray(embeddings, np.float64))
    to_src = cosine_similarity(emb, src_embedding_mean)
    to_dst = cosine_similarity(emb, dst_embeddings)
    toward_src = to_src > to_dst
    n = len(emb)
    return {
        "faces": n,
        "src_similarity": float(to_src.mean()) if n else None,
        "dst_similarity": float(to_dst.mean()) if n else None,
        "retrieval_rate": float(toward_src.mean()) if n else None,
        "per_face": {
            "src_similarity": [round(float(v), 4) for v in to_src],
            "dst_similarity": [round(float(v), 4) for v in to_dst],
        },
    }


def identity_scores(
    faces_bgr: list[np.ndarray],
    src_embedding_mean: np.ndarray,
    dst_embeddings: np.ndarray,
    landmarks: list[np.ndarray] | None = None,
) -> dict:
    """Identity of swapped faces (BGR uint8 images) with the dlib embedding (`doppel.identity`):
    similarity to the source identity (mean embedding of the source faceset), to the destination's
    own faces (one row per face, or one row for all), and the share of faces closer to the source
    (retrieval rate). `landmarks` (68x2, image pixels) skip dlib's HOG detector; images where no face is
    found are left out (`faces` counts the ones scored, `missed` the others)."""
    from doppel.identity import embed_image

    dst = np.atleast_2d(np.asarray(dst_embeddings, np.float64))
    rows, keep = [], []
    for i, face in enumerate(faces_bgr):
        vec = embed_image(face, None if landmarks is None else landmarks[i])
        if vec is not None:
            rows.append(vec)
            keep.append(i)
    emb = np.asarray(rows, np.float64).reshape(-1, dst.shape[1])
    scores = identity_from_embeddings(emb, src_embedding_mean, dst[keep] if len(dst) > 1 else dst)
    scores["missed"] = len(faces_bgr) - len(keep)
    return scores


def identity_distance(embedding: np.ndarray, src_embedding_mean: np.ndarray) -> float:
    """Euclidean distance of a dlib embedding to the source identity (dlib's own metric: under
    `SAME_PERSON_DISTANCE`, 0.6, usually the same person)."""
    return float(np.linalg.norm(np.asarray(embedding, np.float64) - np.asarray(src_embedding_mean, np.float64)))


def _eye_level_face(image_bgr: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face's luma turned so the eyes are level and scaled to DETAIL_INTEROCULAR_PX between eye
    centres (area-averaged when shrinking), with its landmarks moved along; a fixed 256 px square."""
    lm = np.asarray(landmarks, np.float64).reshape(68, 2)
    left, right = lm[36:42].mean(0), lm[42:48].mean(0)
    dx, dy = right - left
    scale = DETAIL_INTEROCULAR_PX / max(float(np.hypot(dx, dy)), 1e-6)
    centre = (left + right) / 2
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(np.degrees(np.arctan2(dy, dx))), scale)
    m[:, 2] += np.array([_DETAIL_SIDE / 2, _DETAIL_SIDE * 0.4]) - centre
    luma = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY) if image_bgr.ndim == 3 else image_bgr
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    face = cv2.warpAffine(luma.astype(np.float32), m, (_DETAIL_SIDE, _DETAIL_SIDE), flags=interp, borderMode=cv2.BORDER_REFLECT)
    return face, lm @ m[:, :2].T + m[:, 2]


def detail_energy(image_bgr: np.ndarray, landmarks: np.ndarray) -> float:
    """Fine texture of the eyes, brows and lips: energy (mean square) of the Laplacian of Gaussian
    (sigma DETAIL_SMOOTH_PX) of the luma inside those landmark regions (grown a little), on the face
    brought to a fixed eye distance, that of a 256 px whole-face crop. Blur lowers it; blocking raises it."""
    face, lm = _eye_level_face(image_bgr, landmarks)
    mask = np.zeros(face.shape, np.uint8)
    for region in _DETAIL_REGIONS:
        cv2.fillConvexPoly(mask, cv2.convexHull(np.round(lm[region]).astype(np.int32)), 1)
    grow = int(round(DETAIL_INTEROCULAR_PX * 0.08))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))) > 0
    if not mask.any():
        return 0.0
    lap = cv2.Laplacian(cv2.GaussianBlur(face, (0, 0), DETAIL_SMOOTH_PX), cv2.CV_32F, ksize=3)
    return float(np.mean(np.square(lap[mask], dtype=np.float64)))


def detail_ratio(result_bgr: np.ndarray, result_landmarks: np.ndarray, dst_bgr: np.ndarray, dst_landmarks: np.ndarray) -> float | None:
    """Detail energy of the result's face over the destination's: 1 = as sharp, a blurred face far
    below 1 (a Gaussian blur of sigma 2 px on a 125 px eye distance leaves about 0.55, of 4 px 0.2)."""
    reference = detail_energy(dst_bgr, dst_landmarks)
    if reference <= 1e-6:
        return None
    return detail_energy(result_bgr, result_landmarks) / reference


def _similarity_fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (Umeyama) taking src points onto dst; 2x3."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    var = (s**2).sum() / len(src)
    scale = np.trace(np.diag(sig) @ sign) / max(var, 1e-12)
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


def interocular(landmarks: np.ndarray) -> float:
    lm = np.asarray(landmarks, np.float64).reshape(68, 2)
    return float(np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0)))


def expression_error(result_landmarks: np.ndarray, dst_landmarks: np.ndarray) -> float:
    """Mean distance of the eye and mouth points after aligning the stable points (nose, eye corners),
    in units of the destination's inter-ocular distance. 0 = same expression."""
    r = np.asarray(result_landmarks, np.float64).reshape(68, 2)
    d = np.asarray(dst_landmarks, np.float64).reshape(68, 2)
    m = _similarity_fit(r[_STABLE], d[_STABLE])
    r_on_d = r @ m[:, :2].T + m[:, 2]
    idx = _EYES + _MOUTH
    return float(np.linalg.norm(r_on_d[idx] - d[idx], axis=1).mean() / max(interocular(d), 1e-6))


def pose_error(result_pose: tuple[float, float, float], dst_pose: tuple[float, float, float]) -> tuple[float, float, float]:
    """Absolute (yaw, pitch, roll) differences in degrees, wrapped to [0, 180]."""
    diff = np.abs((np.asarray(result_pose, np.float64) - np.asarray(dst_pose, np.float64) + 180.0) % 360.0 - 180.0)
    return tuple(float(v) for v in diff)


def _runs(seq_or_runs) -> list[list]:
    """Accept one sequence of consecutive frames, or a list of such runs."""
    items = list(seq_or_runs)
    if items and isinstance(items[0], (list, tuple)):
        return [list(r) for r in items]
    return [items]


def landmark_jitter(landmarks) -> float | None:
    """Frame-to-frame shake of landmarks: mean size of the second difference (acceleration) of each
    point over consecutive frames, in inter-ocular units. Smooth head motion scores low; a swap that
    trembles scores high. `landmarks`: one run of consecutive frames' 68x2 points, or a list of runs."""
    values = []
    for run in _runs(landmarks):
        if len(run) < 3:
            continue
        lm = np.stack([np.asarray(x, np.float64).reshape(68, 2) for x in run])
        scale = np.array([interocular(x) for x in lm])[1:-1, None]
        accel = np.linalg.norm(lm[2:] - 2 * lm[1:-1] + lm[:-2], axis=-1)
        values.append((accel / np.maximum(scale, 1e-6)).ravel())
    return float(np.concatenate(values).mean()) if values else None


def mean_face_colour(frame_bgr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean BGR (0-255) inside a mask."""
    m = mask > 0.5
    if not m.any():
        return np.zeros(3)
    return frame_bgr[m].reshape(-1, 3).astype(np.float64).mean(0)


def colour_flicker(colours) -> float | None:
    """Frame-to-frame colour flicker: mean absolute second difference of the face's mean colour
    (0-255 levels) over consecutive frames. A steady grade scores low even while the light changes
    slowly. `colours`: one run of consecutive frames' mean BGR, or a list of runs."""
    values = []
    for run in _runs(colours):
        if len(run) < 3:
            continue
        c = np.stack([np.asarray(x, np.float64) for x in run])
        values.append(np.abs(c[2:] - 2 * c[1:-1] + c[:-2]).ravel())
    return float(np.concatenate(values).mean()) if values else None


def masked_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray, cap: float = PSNR_CAP_DB) -> float:
    """PSNR in dB of the pixels where mask > 0.5 (uint8 images); capped (identical -> cap)."""
    m = mask > 0.5
    if not m.any():
        return cap
    diff = a[m].astype(np.float64) - b[m].astype(np.float64)
    mse = float((diff**2).mean())
    if mse <= 0:
        return cap
    return float(min(cap, 10.0 * np.log10(255.0**2 / mse)))


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two uint8 images on luma, Gaussian window (sigma 1.5), as Wang et al."""
    def luma(x):
        return cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(np.float64) if x.ndim == 3 else x.astype(np.float64)

    x, y = luma(a), luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z):
        return cv2.GaussianBlur(z, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def masked_ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    m = mask > 0.5
    if not m.any():
        return 1.0
    return float(ssim_map(a, b)[m].mean())


def outside_face_mask(landmarks_frame: np.ndarray, shape: tuple[int, int], grow: float = 0.25) -> np.ndarray:
    """1 outside the face: the 68-point hull with its forehead, grown by `grow` x inter-ocular so the
    blend seam of a swap counts as inside."""
    from doppel.core.face_mask import face_hull_mask

    h, w = shape[:2]
    inside = face_hull_mask(landmarks_frame, (h, w), forehead=0.6)
    k = max(1, int(round(grow * interocular(landmarks_frame))))
    inside = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    return (inside < 0.5).astype(np.float32)
