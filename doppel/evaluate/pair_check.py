"""Pair check: does the source faceset cover what the destination needs, before hours of training?

For every destination face, look for a source face close in pose (yaw, pitch), expression (eye and
mouth openness) and lighting (a coarse Lab descriptor). A destination face with none is "missing",
with the reason. Face shapes are compared too (DFL's advice: a narrower source face swaps onto a
wider destination better; a wider one leaves an edge).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from doppel.core.errors import DoppelError, NoMetadataError
from doppel.core.images import list_images, read_face
from doppel.core.options import CheckedOptions, option
from doppel.evaluate import face_traits


@dataclass(frozen=True)
class PairCheckOptions(CheckedOptions):
    pose_tolerance: float = option(12.0, "Degrees of (yaw, pitch) distance that still count as a close pose.", min=1, max=90)
    eye_tolerance: float = option(0.08, "Eye openness (aspect ratio) difference that still counts as close.", min=0.01, max=1)
    mouth_tolerance: float = option(0.15, "Mouth openness difference that still counts as close.", min=0.01, max=2)
    light_tolerance: float = option(25.0, "Lighting descriptor distance (Lab units) that still counts as close.", min=1, max=200)
    shape_tolerance: float = option(0.05, "Relative face-width difference that starts to show an edge.", min=0.0, max=1)
    grid_step: float = option(10.0, "Degrees per cell of the coverage map.", min=2, max=45)


@dataclass
class FaceTraits:
    name: str
    frame_index: int
    yaw: float
    pitch: float
    eye: float
    mouth: float
    light: np.ndarray
    shape: dict[str, float]


@dataclass
class DstVerdict:
    name: str
    frame_index: int
    yaw: float
    pitch: float
    eye: float
    mouth: float
    covered: bool
    reason: str | None  # "pose", "expression" or "lighting" when not covered
    detail: str | None  # e.g. "turned right beyond 40°", "closed eyes"
    nearest_src: str | None  # closest source face in pose among the acceptable ones (or overall)
    pose_distance: float

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class PairCheckReport:
    src_dir: Path
    dst_dir: Path
    options: PairCheckOptions
    src_count: int
    dst_count: int
    covered_share: float
    verdicts: list[DstVerdict]
    missing_summary: list[str]
    shape: dict
    src_poses: np.ndarray  # (N, 2) yaw, pitch
    dst_poses: np.ndarray
    skipped: list[str] = field(default_factory=list)  # files without face metadata

    @property
    def missing(self) -> list[DstVerdict]:
        return [v for v in self.verdicts if not v.covered]

    @property
    def summary(self) -> str:
        line = f"covered: {self.covered_share * 100:.0f} % of destination frames"
        if self.missing_summary:
            line += "; missing: " + ", ".join(self.missing_summary)
        return line + f"; face shape: {self.shape['verdict']}"

    def to_dict(self) -> dict:
        return {
            "summary": self.summary,
            "src_dir": str(self.src_dir),
            "dst_dir": str(self.dst_dir),
            "options": self.options.__dict__,
            "src_faces": self.src_count,
            "dst_faces": self.dst_count,
            "covered_share": round(self.covered_share, 4),
            "missing_summary": self.missing_summary,
            "shape": self.shape,
            "missing": [v.to_dict() for v in self.missing],
            "dst": [v.to_dict() for v in self.verdicts],
            "skipped_without_metadata": self.skipped,
        }


def _load_traits(folder: Path, role: str, progress: bool) -> tuple[list[FaceTraits], list[str]]:
    from rich.progress import track

    files = list_images(folder)
    if not files:
        raise DoppelError(f"no images in the {role} faceset", folder, hint="Extract faces first with 'doppel extract'")
    traits, skipped = [], []
    for path in track(files, description=f"reading {role} faces", disable=not progress, transient=True):
        try:
            face = read_face(path)
        except NoMetadataError:
            skipped.append(path.name)
            continue
        lm = face.meta.landmarks
        traits.append(
            FaceTraits(
                name=path.name,
                frame_index=face.meta.source.frame_index,
                yaw=float(face.meta.pose.yaw),
                pitch=float(face.meta.pose.pitch),
                eye=face_traits.eye_openness(lm),
                mouth=face_traits.mouth_openness(lm),
                light=face_traits.lighting(face.image, lm),
                shape=face_traits.face_shape(lm),
            )
        )
    if not traits:
        raise DoppelError(
            f"none of the {len(files)} images in the {role} faceset carries face metadata",
            folder,
            hint="Point at a folder of aligned faces made by 'doppel extract' (or imported from DFL)",
        )
    return traits, skipped


def _yaw_words(yaw: float) -> str:
    # doppel's pose: positive yaw = the face turned toward the image's right (the person's left).
    return "turned right" if yaw > 0 else "turned left"


def _pose_detail(v: FaceTraits, src: list[FaceTraits]) -> str:
    src_yaw = np.array([s.yaw for s in src])
    src_pitch = np.array([s.pitch for s in src])
    if abs(v.yaw - np.clip(v.yaw, src_yaw.min(), src_yaw.max())) >= abs(v.pitch - np.clip(v.pitch, src_pitch.min(), src_pitch.max())):
        return f"{_yaw_words(v.yaw)} {abs(v.yaw):.0f}°"
    # doppel's pose: pitch > 0 when the face looks up
    return f"{'looking up' if v.pitch > np.median(src_pitch) else 'looking down'} (pitch {v.pitch:.0f}°)"


def _expression_detail(v: FaceTraits, near: list[FaceTraits], options: PairCheckOptions) -> str:
    eyes = np.array([s.eye for s in near])
    mouths = np.array([s.mouth for s in near])
    eye_off = (v.eye - np.clip(v.eye, eyes.min(), eyes.max()))
    mouth_off = (v.mouth - np.clip(v.mouth, mouths.min(), mouths.max()))
    if abs(eye_off) / options.eye_tolerance >= abs(mouth_off) / options.mouth_tolerance:
        return "closed eyes" if eye_off < 0 else "wide-open eyes"
    return "open mouth" if mouth_off > 0 else "closed mouth"


def _light_detail(v: FaceTraits, near: list[FaceTraits]) -> str:
    lights = np.stack([s.light for s in near])
    off = v.light - np.clip(v.light, lights.min(0), lights.max(0))
    k = int(np.argmax(np.abs(off[:3])))
    if k == 0:
        return "darker light" if off[0] < 0 else "brighter light"
    if k == 1:
        return "light from the right" if off[1] > 0 else "light from the left"
    return "light from below" if off[2] > 0 else "light from above"


def _summarise_missing(missing: list[tuple[DstVerdict, FaceTraits]]) -> list[str]:
    """Group missing frames into a few phrases, most frequent first."""
    groups: dict[str, list[float]] = {}
    for verdict, t in missing:
        detail = verdict.detail or verdict.reason or "?"
        if verdict.reason == "pose" and detail.startswith("turned"):
            key = detail.rsplit(" ", 1)[0]  # "turned right"
            groups.setdefault(key, []).append(abs(t.yaw))
        else:
            key = detail.split(" (")[0]
            groups.setdefault(key, []).append(0.0)
    phrases = []
    for key, values in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        if key.startswith("turned"):
            phrases.append(f"{key} beyond {int(min(values) // 5 * 5)}° ({len(values)})")
        else:
            phrases.append(f"{key} ({len(values)})")
    return phrases


def _shape_verdict(src: list[FaceTraits], dst: list[FaceTraits], tolerance: float) -> dict:
    """Compare median face shapes on near-frontal, closed-mouth faces (turning narrows a face in the
    image; an open mouth lengthens it)."""

    def frontal_median(traits: list[FaceTraits], key: str) -> float:
        frontal = [t for t in traits if abs(t.yaw) < 15] or traits
        neutral = [t for t in frontal if t.mouth < 0.08] or frontal
        return float(np.median([t.shape[key] for t in neutral]))

    s_w, d_w = frontal_median(src, "width_to_height"), frontal_median(dst, "width_to_height")
    s_j, d_j = frontal_median(src, "jaw_to_cheek"), frontal_median(dst, "jaw_to_cheek")
    rel = (s_w - d_w) / d_w
    if rel > tolerance:
        verdict = f"source wider by {rel * 100:.0f} %: its edge may show around the destination face"
    elif rel < -tolerance:
        verdict = f"source narrower by {-rel * 100:.0f} % (fine)"
    else:
        verdict = "similar width (fine)"
    jaw_rel = (s_j - d_j) / d_j
    if jaw_rel > tolerance:
        verdict += "; source jaw wider: the jawline may show"
    return {
        "src_width_to_height": round(s_w, 4),
        "dst_width_to_height": round(d_w, 4),
        "src_jaw_to_cheek": round(s_j, 4),
        "dst_jaw_to_cheek": round(d_j, 4),
        "width_difference": round(rel, 4),
        "verdict": verdict,
    }


def pair_check(
    src_dir: str | Path,
    dst_dir: str | Path,
    options: PairCheckOptions | None = None,
    progress: bool = False,
) -> PairCheckReport:
    """Check how well the source faceset covers the destination faceset (both folders of aligned faces)."""
    options = options or PairCheckOptions()
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    src, src_skipped = _load_traits(src_dir, "source", progress)
    dst, dst_skipped = _load_traits(dst_dir, "destination", progress)

    s_pose = np.array([[t.yaw, t.pitch] for t in src])
    s_expr = np.array([[t.eye / options.eye_tolerance, t.mouth / options.mouth_tolerance] for t in src])
    s_light = np.stack([t.light for t in src])

    verdicts: list[DstVerdict] = []
    missing_pairs = []
    for t in dst:
        pose_d = np.linalg.norm(s_pose - [t.yaw, t.pitch], axis=1)
        expr_d = np.linalg.norm(s_expr - [t.eye / options.eye_tolerance, t.mouth / options.mouth_tolerance], axis=1)
        light_d = np.linalg.norm(s_light - t.light, axis=1)
        pose_ok = pose_d <= options.pose_tolerance
        expr_ok = pose_ok & (expr_d <= 1.0)
        all_ok = expr_ok & (light_d <= options.light_tolerance)
        reason = detail = None
        if all_ok.any():
            best = int(np.flatnonzero(all_ok)[np.argmin(pose_d[all_ok])])
        elif not pose_ok.any():
            reason, detail = "pose", _pose_detail(t, src)
            best = int(np.argmin(pose_d))
        elif not expr_ok.any():
            near = [src[i] for i in np.flatnonzero(pose_ok)]
            reason, detail = "expression", _expression_detail(t, near, options)
            best = int(np.flatnonzero(pose_ok)[np.argmin(expr_d[pose_ok])])
        else:
            near = [src[i] for i in np.flatnonzero(expr_ok)]
            reason, detail = "lighting", _light_detail(t, near)
            best = int(np.flatnonzero(expr_ok)[np.argmin(light_d[expr_ok])])
        verdict = DstVerdict(
            name=t.name,
            frame_index=t.frame_index,
            yaw=t.yaw,
            pitch=t.pitch,
            eye=t.eye,
            mouth=t.mouth,
            covered=reason is None,
            reason=reason,
            detail=detail,
            nearest_src=src[best].name,
            pose_distance=float(pose_d[best]),
        )
        verdicts.append(verdict)
        if reason:
            missing_pairs.append((verdict, t))

    covered = sum(v.covered for v in verdicts) / len(verdicts)
    return PairCheckReport(
        src_dir=src_dir,
        dst_dir=dst_dir,
        options=options,
        src_count=len(src),
        dst_count=len(dst),
        covered_share=covered,
        verdicts=verdicts,
        missing_summary=_summarise_missing(missing_pairs),
        shape=_shape_verdict(src, dst, options.shape_tolerance),
        src_poses=s_pose,
        dst_poses=np.array([[t.yaw, t.pitch] for t in dst]),
        skipped=src_skipped + dst_skipped,
    )
