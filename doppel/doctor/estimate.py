"""Time, cloud cost and disk estimates for a training run, from measured step times."""

from __future__ import annotations

from dataclasses import asdict, dataclass

GB = 1024**3
# Bytes per pixel of typical outputs, measured on the shared test clips' kind of footage:
JPEG_FACE_BPP = 0.12  # aligned faces, JPEG quality 90, 3 channels included
VIDEO_BPP = 0.03  # H.264 CRF 18 output
FACE_SIZE = 512  # extraction's default aligned-face size


@dataclass(frozen=True)
class DiskEstimate:
    src_faces_gb: float
    dst_faces_gb: float
    model_gb: float
    output_gb: float
    total_gb: float  # with a 20 % margin

    def to_dict(self) -> dict:
        return asdict(self)


def hours_for(iterations: int, seconds_per_iter: float) -> float:
    return iterations * seconds_per_iter / 3600.0


def cloud_cost(hours: float, price_per_gpu_hour: float, gpus: int = 1) -> float:
    return hours * price_per_gpu_hour * gpus


def workspace_disk(
    parameters: int,
    src_faces: int,
    dst_frames: int,
    frame_width: int,
    frame_height: int,
    backups: int = 3,
    face_size: int = FACE_SIZE,
) -> DiskEstimate:
    """Disk a workspace needs: aligned faces of both sides, the model with its optimiser state and
    backups (fp32 weights + two moments), and the merged video."""
    face = face_size * face_size * 3 * JPEG_FACE_BPP
    model_one = parameters * 4 * 3
    src = src_faces * face / GB
    dst = dst_frames * face / GB
    model = model_one * (1 + backups) / GB
    out = dst_frames * frame_width * frame_height * 3 * VIDEO_BPP / GB
    return DiskEstimate(round(src, 2), round(dst, 2), round(model, 2), round(out, 2), round((src + dst + model + out) * 1.2, 2))


def format_duration(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"
