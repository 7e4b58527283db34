"""`evaluate`: measure a swap result against its destination and the source identity, frame by frame.

The result and destination videos are read in lockstep (same frame indices); the extraction
stage's `FaceAnalyzer` finds the face, its 68 points and pose in both. Identity uses the dlib
embedding, which no swap model trains against.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from doppel.core.errors import DoppelError
from doppel.core.images import list_images, read_face
from doppel.core.options import CheckedOptions, option
from doppel.evaluate import measures
from doppel.evaluate.tracking import TEMPORAL_RUN, TemporalRuns, follow, main_face
from doppel.identity.embed import SAME_PERSON_DISTANCE
from doppel.media.progress import progress_bar
from doppel.media.reader import TruncatedVideoError, read_frames


@dataclass(frozen=True)
class EvaluateOptions(CheckedOptions):
    every_n: int = option(5, "Analyse one frame in N (identity embedding costs about 0.1 s a face on CPU).", min=1)
    max_frames: int = option(0, "Stop after this many analysed frames (0 = all).", min=0)
    detector: str = option("mediapipe", "Face detector: mediapipe, mtcnn or haar.")
    max_src_faces: int = option(200, "Source faces (or source clip frames) averaged into the source identity, spread over the set.", min=1)


@dataclass
class FrameScore:
    index: int
    dst_face: bool
    result_face: bool
    src_distance: float | None = None
    detail: float | None = None
    src_similarity: float | None = None
    dst_similarity: float | None = None
    toward_src: bool | None = None
    yaw_error: float | None = None
    pitch_error: float | None = None
    roll_error: float | None = None
    expression_error: float | None = None
    psnr_outside: float | None = None
    ssim_outside: float | None = None


@dataclass
class EvaluateReport:
    src: str
    dst: str
    result: str
    options: EvaluateOptions
    frames: list[FrameScore]
    summary: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "src": self.src,
            "dst": self.dst,
            "result": self.result,
            "options": asdict(self.options),
            "summary": self.summary,
            "warnings": self.warnings,
            "frames": [_rounded(asdict(f)) for f in self.frames],
        }


def _rounded(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def source_identity(src: str | Path, max_faces: int = 200, progress: bool = False) -> np.ndarray:
    """Mean dlib embedding of the source: a faceset (folder of aligned faces), a folder of photos, or a
    video (at most `max_faces` frames spread over it, the face found by dlib's detector)."""
    from doppel.media.reader import is_video

    src = Path(src)
    if src.is_file() and is_video(src):
        vectors = _clip_embeddings(src, max_faces, progress)
    else:
        vectors = _faceset_embeddings(src, max_faces, progress)
    if not vectors:
        raise DoppelError("no face could be embedded in the source", src, hint="Check it holds faces")
    return np.mean(vectors, axis=0)


def _tracked(items, total: int | None, progress: bool):
    if not progress:
        return items
    from rich.progress import track

    return track(items, total=total, description="source identity", transient=True)


def _faceset_embeddings(src: Path, max_faces: int, progress: bool) -> list[np.ndarray]:
    from doppel.core.errors import NoMetadataError
    from doppel.core.images import read_image
    from doppel.identity import embed_face, embed_image

    files = list_images(src)
    if not files:
        raise DoppelError("no images in the source faceset", src, hint="Pass the folder of aligned source faces, or the source clip")
    files = files[:: max(1, math.ceil(len(files) / max_faces))]
    vectors = []
    for path in _tracked(files, len(files), progress):
        try:
            vec = embed_face(read_face(path), cache=False)  # never rewrites the user's faceset
        except NoMetadataError:
            vec = embed_image(read_image(path))
        if vec is not None:
            vectors.append(vec)
    return vectors


def _clip_embeddings(src: Path, max_faces: int, progress: bool) -> list[np.ndarray]:
    from doppel.identity import embed_image

    total = _frame_count(src) or max_faces
    step = max(1, math.ceil(total / max_faces))
    frames = read_frames(src, every_n=step)
    return [v for v in (embed_image(f.image) for f in _tracked(frames, math.ceil(total / step), progress)) if v is not None]


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(values)) if values else None


def evaluate(
    src: str | Path,
    dst: str | Path,
    result: str | Path,
    options: EvaluateOptions | None = None,
    progress: bool = False,
    src_identity: np.ndarray | None = None,
) -> EvaluateReport:
    """Score `result` (a video, frame folder or image) against the destination `dst` and the source
    `src` (faceset, photos or clip; `src_identity`, its mean embedding, when already computed).

    One frame in `every_n` gets every measure; it and the next frames (TEMPORAL_RUN in all) give the
    frame-to-frame jitter, with the faces tracked rather than detected again.
    """
    from doppel.faces.landmarks import FaceAnalyzer
    from doppel.identity import embed_image

    options = options or EvaluateOptions()
    if options.every_n < 1:
        raise DoppelError("--every-n must be 1 or more")
    every = options.every_n
    dst_iter = read_frames(dst)
    res_iter = read_frames(result)
    first = (next(dst_iter, None), next(res_iter, None))
    for frame, path in zip(first, (dst, result)):
        if frame is None:
            raise DoppelError("no frames could be read", path, hint="Check it is a video, an image or a folder of images")
    _check_same_size(*first, result)
    src_mean = source_identity(src, options.max_src_faces, progress) if src_identity is None else src_identity

    frames: list[FrameScore] = []
    temporal = TemporalRuns()
    warnings: list[str] = []
    truncated = False
    total = _frame_count(dst, result) if progress else None
    if total and options.max_frames:
        total = min(total, options.max_frames * every)
    with progress_bar("evaluating frames", total, progress, transient=True) as bar, FaceAnalyzer(options.detector) as analyzer:
        pairs = itertools.chain([first], zip(dst_iter, res_iter))
        faces = (None, None)
        while True:
            try:
                d_frame, r_frame = next(pairs)
            except StopIteration:
                break
            except TruncatedVideoError as e:  # score what was decoded, and say where it stopped
                warnings.append(e.one_line())
                truncated = True
                break
            bar.advance()
            phase = d_frame.index % every
            if phase == 0:
                if options.max_frames and len(frames) >= options.max_frames:
                    break
                _check_same_size(d_frame, r_frame, result)
                score, faces = _score_frame(analyzer, embed_image, src_mean, d_frame, r_frame)
                frames.append(score)
                # Re-measure this frame the way the next ones are measured, so a run's points
                # all come from the same kind of crop (mixing crops would read as jitter).
                faces = (follow(analyzer, d_frame.image, faces[0]), follow(analyzer, r_frame.image, faces[1]))
                if every >= TEMPORAL_RUN:
                    temporal.new_run()
            elif every < TEMPORAL_RUN or phase < TEMPORAL_RUN:
                faces = (follow(analyzer, d_frame.image, faces[0]), follow(analyzer, r_frame.image, faces[1]))
            else:
                continue  # decoded only
            temporal.add(d_frame, r_frame, *faces)
    if not frames:
        raise DoppelError("no frames could be read from the destination or the result", result)
    if not options.max_frames and not truncated:
        if next(res_iter, None) is not None:
            warnings.append("the result has more frames than the destination; the extra ones were not scored")
        elif next(dst_iter, None) is not None:
            warnings.append("the destination has more frames than the result; only the shared ones were scored")

    report = EvaluateReport(str(src), str(dst), str(result), options, frames, warnings=warnings)
    report.summary = _summarise(frames, temporal)
    return report


def _frame_count(*paths) -> int | None:
    """Frames both inputs can give (container counts; None when unknown), for the progress bar."""
    from doppel.media.reader import is_video, open_container

    counts = []
    for path in map(Path, paths):
        if path.is_dir():
            counts.append(len(list_images(path)))
        elif is_video(path):
            with open_container(path) as container:
                counts.append(container.streams.video[0].frames or 0)
        else:
            counts.append(1)
    return min(counts) or None


def _check_same_size(d_frame, r_frame, result) -> None:
    if d_frame.image.shape != r_frame.image.shape:
        (rh, rw), (dh, dw) = r_frame.image.shape[:2], d_frame.image.shape[:2]
        raise DoppelError(
            f"frame {d_frame.index} is {rw}x{rh} in the result but {dw}x{dh} in the destination",
            result,
            hint="Evaluate the result against the destination it was merged onto",
        )


def _score_frame(analyzer, embed_image, src_mean, d_frame, r_frame) -> tuple[FrameScore, tuple]:
    d_face = main_face(analyzer.analyze(d_frame.image))
    r_face = main_face(analyzer.analyze(r_frame.image), None if d_face is None else d_face.landmarks68.mean(0))
    score = FrameScore(d_frame.index, d_face is not None, r_face is not None)
    if d_face is None:
        return score, (d_face, r_face)
    outside = measures.outside_face_mask(d_face.landmarks68, d_frame.image.shape[:2])
    score.psnr_outside = measures.masked_psnr(r_frame.image, d_frame.image, outside)
    score.ssim_outside = measures.masked_ssim(r_frame.image, d_frame.image, outside)
    # A face the analyser cannot find in the result is still scored for detail where the destination's was.
    r_landmarks = d_face.landmarks68 if r_face is None else r_face.landmarks68
    score.detail = measures.detail_ratio(r_frame.image, r_landmarks, d_frame.image, d_face.landmarks68)
    if r_face is None:
        return score, (d_face, r_face)
    d_vec = embed_image(d_frame.image, d_face.landmarks68)
    r_vec = embed_image(r_frame.image, r_face.landmarks68)
    if r_vec is not None:
        score.src_distance = measures.identity_distance(r_vec, src_mean)
    if d_vec is not None and r_vec is not None:
        ids = measures.identity_from_embeddings(r_vec[None], src_mean, d_vec[None])
        score.src_similarity = ids["src_similarity"]
        score.dst_similarity = ids["dst_similarity"]
        score.toward_src = bool(ids["retrieval_rate"] > 0.5)
    dp, rp = d_face.pose, r_face.pose
    score.yaw_error, score.pitch_error, score.roll_error = measures.pose_error(
        (rp.yaw, rp.pitch, rp.roll), (dp.yaw, dp.pitch, dp.roll)
    )
    score.expression_error = measures.expression_error(r_face.landmarks68, d_face.landmarks68)
    return score, (d_face, r_face)


def _summarise(frames: list[FrameScore], temporal: TemporalRuns) -> dict:
    with_dst = [f for f in frames if f.dst_face]
    scored = [f for f in with_dst if f.toward_src is not None]
    t = temporal
    lm_jitter_r, lm_jitter_d = measures.landmark_jitter(t.res_lms), measures.landmark_jitter(t.dst_lms)
    col_r, col_d = measures.colour_flicker(t.res_cols), measures.colour_flicker(t.dst_cols)

    def ratio(a, b):
        return None if a is None or b is None or b <= 0 else a / b

    distances = [f.src_distance for f in with_dst if f.src_distance is not None]
    return {
        # First: what a viewer judges. A frame whose result face is not found counts as not under the threshold.
        "source_distance": {
            "mean": _mean(distances),
            "under_threshold": (sum(d < SAME_PERSON_DISTANCE for d in distances) / len(with_dst)) if with_dst else None,
            "threshold": SAME_PERSON_DISTANCE,
            "faces": len(distances),
        },
        "detail": _mean(f.detail for f in with_dst),
        "frames": len(frames),
        "dst_frames_with_face": len(with_dst),
        "detection_rate": (sum(f.result_face for f in with_dst) / len(with_dst)) if with_dst else None,
        "identity": {
            "src_similarity": _mean(f.src_similarity for f in scored),
            "dst_similarity": _mean(f.dst_similarity for f in scored),
            "retrieval_rate": (sum(f.toward_src for f in scored) / len(scored)) if scored else None,
            "faces": len(scored),
        },
        "pose_error_deg": {
            "yaw": _mean(f.yaw_error for f in with_dst),
            "pitch": _mean(f.pitch_error for f in with_dst),
            "roll": _mean(f.roll_error for f in with_dst),
        },
        "expression_error": _mean(f.expression_error for f in with_dst),
        "temporal": {
            "landmark_jitter": lm_jitter_r,
            "landmark_jitter_dst": lm_jitter_d,
            "landmark_jitter_ratio": ratio(lm_jitter_r, lm_jitter_d),
            "colour_flicker": col_r,
            "colour_flicker_dst": col_d,
            "colour_flicker_ratio": ratio(col_r, col_d),
        },
        "outside_face": {
            "psnr_db": _mean(f.psnr_outside for f in with_dst),
            "psnr_cap_db": measures.PSNR_CAP_DB,
            "ssim": _mean(f.ssim_outside for f in with_dst),
        },
    }
