"""Landmarks for detected faces: the 478-point mediapipe mesh run on a crop around each detection,
the 68-point layout mapped from it, and head pose.

The mesh runs on an upright square crop (cut with one affine warp, so rotated faces and faces at
the frame edge work too). Every detector's boxes go through it, so the mesh also rejects false
detections: a crop where the mesh finds no face is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from doppel.core.metadata import Pose
from doppel.faces.detect import create_detector
from doppel.faces.detection import Detection, Detector
from doppel.faces.mesh68 import mesh_to_68
from doppel.faces.pose import estimate_pose
from doppel.faces.processes import note_native_graphs

CROP = 256  # mesh input crop, pixels (the mesh model itself sees 192 px)
# Tracking crops are smaller: measured on two clips, the same landmark jitter as 256 px (and 0.8 px mean
# difference on a 230 px face) for ~0.5 ms less CPU per frame (a smaller warp, in doppel and in mediapipe).
TRACK_CROP = 192
CROP_SCALE = 1.7  # crop side as a multiple of the detection box side
# cv2.rotate codes tried, in order, when a frame has no face upright; with the angle that makes them upright.
ROTATIONS = ((cv2.ROTATE_90_CLOCKWISE, -90.0), (cv2.ROTATE_90_COUNTERCLOCKWISE, 90.0), (cv2.ROTATE_180, 180.0))


@dataclass(frozen=True)
class Face:
    """One face in a frame. All coordinates are frame pixels."""

    box: tuple[float, float, float, float]  # detector box x0, y0, x1, y1
    score: float
    mesh: np.ndarray  # 478x3 (x, y, z); z in pixels, larger is farther from the camera
    landmarks68: np.ndarray  # 68x2
    pose: Pose
    detector: str

    @cached_property  # read several times per frame while tracking
    def mesh_box(self) -> tuple[float, float, float, float]:
        x0, y0 = self.mesh[:, :2].min(0)
        x1, y1 = self.mesh[:, :2].max(0)
        return (float(x0), float(y0), float(x1), float(y1))

    @property
    def roll(self) -> float:
        """In-plane angle of the eye line, degrees (0 = upright, image y down)."""
        left, right = self.landmarks68[36:42].mean(0), self.landmarks68[42:48].mean(0)
        return float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))


def crop_affine(center: tuple[float, float], side: float, angle: float, crop: int = CROP) -> np.ndarray:
    """2x3 affine: frame -> an upright `crop`-px square of `side` frame px around `center`, rotated by `angle` degrees."""
    m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), angle, crop / max(side, 1.0))
    m[:, 2] += np.array([crop / 2 - center[0], crop / 2 - center[1]])
    return m


def _rotated_to_frame(code: int, w: int, h: int) -> np.ndarray:
    """2x3 affine mapping pixel coords of cv2.rotate(frame, code) back to the frame (w x h)."""
    if code == cv2.ROTATE_90_CLOCKWISE:  # frame (x, y) -> (h-1-y, x)
        return np.array([[0, 1, 0], [-1, 0, h - 1]], np.float64)
    if code == cv2.ROTATE_90_COUNTERCLOCKWISE:  # frame (x, y) -> (y, w-1-x)
        return np.array([[0, -1, w - 1], [1, 0, 0]], np.float64)
    return np.array([[-1, 0, w - 1], [0, -1, h - 1]], np.float64)


class FaceAnalyzer:
    """Detector + mesh + 68 points + pose. `analyze(frame)` finds faces from scratch; `track(frame, faces)`
    re-runs only the mesh around faces of the previous frame (fast path for video)."""

    def __init__(
        self,
        detector: str | Detector = "mediapipe",
        device=None,
        min_face: int = 0,
        max_faces: int = 0,
        rotation_retry: bool = True,
        min_score: float = 0.5,
    ):
        import mediapipe as mp

        self.detector = detector if isinstance(detector, Detector) else create_detector(detector, device, min_score)
        self.min_face = min_face
        self.max_faces = max_faces
        self.rotation_retry = rotation_retry
        self._mp = mp
        self._mesh = self._new_mesh(static=True)
        # Tracking meshes, one per face track: mediapipe's video mode re-uses the previous landmarks as
        # the region of interest and skips its own detector, which halves the cost per frame.
        self._trackers: list = []

    def _new_mesh(self, static: bool):
        note_native_graphs()
        return self._mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static, max_num_faces=2 if static else 1, refine_landmarks=True,
            min_detection_confidence=0.3, min_tracking_confidence=0.5,
        )

    def close(self) -> None:
        self.detector.close()
        self._mesh.close()
        for tracker in self._trackers:
            tracker.close()

    def __enter__(self) -> "FaceAnalyzer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- public -------------------------------------------------------------------------------

    def analyze(self, image: np.ndarray, tiles: bool = False, detections: list[Detection] | None = None) -> list[Face]:
        """All faces of a BGR frame, largest first. Tries rotated copies when none is found upright.

        `tiles` also runs the detector on overlapping tiles of a large image: detectors see a downscaled
        copy (BlazeFace: 192 px), so small faces in big photos are only found this way. Slower; for stills.
        `detections`: the detector's result for this image when already known (a batched detector ran it).
        """
        dets = self.detector.detect(image) if detections is None else list(detections)
        if tiles:
            dets = _merge(dets + _tile_detections(self.detector, image))
        faces = self.faces_from(image, dets, 0.0)
        if faces:
            return faces
        # A face that fills the whole image (a tight crop) is too big for the detector: add a margin.
        h, w = image.shape[:2]
        pad = max(h, w) // 2
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT)
        shift = np.array([[1, 0, -pad], [0, 1, -pad]], np.float64)
        faces = self.faces_from(image, [_map_detection(d, shift) for d in self.detector.detect(padded)], 0.0)
        if faces or not self.rotation_retry:
            return faces
        for code, angle in ROTATIONS:
            back = _rotated_to_frame(code, w, h)
            dets = [_map_detection(d, back) for d in self.detector.detect(cv2.rotate(image, code))]
            faces = self.faces_from(image, dets, angle)
            if faces:
                return faces
        return []

    def track(self, image: np.ndarray, previous: list[Face]) -> list[Face] | None:
        """Re-mesh the previous frame's faces in this frame. None when any of them was lost
        (the caller then runs `analyze`)."""
        faces = []
        while len(self._trackers) < len(previous):
            self._trackers.append(self._new_mesh(static=False))
        for prev, tracker in zip(previous, self._trackers):
            x0, y0, x1, y1 = prev.mesh_box
            side = max(x1 - x0, y1 - y0) * 1.25  # a mesh box is smaller than a detector box
            det = Detection(_square((x0 + x1) / 2, (y0 + y1) / 2, side), prev.score)
            face = self._mesh_face(image, det, prev.roll, prev.detector, tracker, crop=TRACK_CROP)
            if face is None or not _plausible_step(prev, face):
                return None
            faces.append(face)
        return faces

    def refresh(self, image: np.ndarray, previous: list[Face], tiles: bool = False) -> list[Face]:
        """Periodic re-detection while tracking. When every detection lies on a tracked face and every
        tracked face holds a detection, the tracked faces are kept (one mesh per face, as in `track`);
        otherwise (a face entered or left, tracking drifted) the faces are found from scratch."""
        dets = [d for d in self.detector.detect(image) if d.size >= self.min_face]
        faces = self.track(image, previous) if dets else None
        if faces is not None and _covers(faces, dets):
            return faces
        return self.analyze(image, tiles=tiles, detections=dets)

    def faces_from(self, image: np.ndarray, detections: list[Detection], angle: float = 0.0) -> list[Face]:
        """Faces meshed around given boxes (a detector's, or one a user drew), largest first; `angle`
        is the roll to undo when a box has no eye points. Boxes where the mesh finds no face are dropped."""
        dets = [d for d in detections if d.size >= self.min_face]
        dets.sort(key=lambda d: -d.size)
        faces: list[Face] = []
        for det in dets:
            face = self._mesh_face(image, det, _eye_angle(det, angle), self.detector.name)
            if face is None or not _fits_box(face, det) or any(_same_face(face, f) for f in faces):
                continue
            faces.append(face)
            if self.max_faces and len(faces) >= self.max_faces:
                break
        return faces

    # -- internals ----------------------------------------------------------------------------

    def _mesh_face(self, image: np.ndarray, det: Detection, angle: float, detector: str, model=None,
                   crop: int = CROP) -> Face | None:
        mesh = self.mesh_in_crop(image, det.center, det.size * CROP_SCALE, angle, model, crop)
        if mesh is None:
            return None
        lm68 = mesh_to_68(mesh)
        return Face(tuple(float(v) for v in det.box), det.score, mesh, lm68, estimate_pose(mesh), detector)

    def mesh_in_crop(self, image: np.ndarray, center, side: float, angle: float = 0.0, model=None,
                     crop: int = CROP) -> np.ndarray | None:
        """478x3 mesh (frame pixels) of the face nearest the centre of a square `crop`-px crop, or None."""
        m = crop_affine(center, side, angle, crop)
        pixels = cv2.warpAffine(image, m, (crop, crop), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        result = (model or self._mesh).process(cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))
        if not result.multi_face_landmarks:
            return None
        meshes = [_landmarks_array(f) * crop for f in result.multi_face_landmarks]
        best = min(meshes, key=lambda q: float(np.sum((q[:, :2].mean(0) - crop / 2) ** 2)))
        inv = cv2.invertAffineTransform(m)
        xy = best[:, :2] @ inv[:, :2].T + inv[:, 2]
        z = best[:, 2:] / (crop / max(side, 1.0))
        return np.hstack([xy, z]).astype(np.float32)


def _landmarks_array(landmark_list) -> np.ndarray:
    """Nx3 float array of a mediapipe NormalizedLandmarkList.

    Reading 478 protobuf objects attribute by attribute costs over 1 ms; the serialized form is a
    fixed 17-byte record per point (tag, length, then x, y, z as tagged float32), read in one go.
    """
    data = landmark_list.SerializeToString()
    n = len(landmark_list.landmark)
    if len(data) == 17 * n:
        rec = np.frombuffer(data, np.uint8).reshape(n, 17)
        if (rec[:, 0] == 0x0A).all() and (rec[:, 1] == 15).all() and (rec[:, [2, 7, 12]] == [0x0D, 0x15, 0x1D]).all():
            cols = np.ascontiguousarray(rec[:, [3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16]])
            return cols.view("<f4").reshape(n, 3).astype(np.float64)
    return np.array([(p.x, p.y, p.z) for p in landmark_list.landmark], np.float64)


def _eye_angle(det: Detection, fallback: float) -> float:
    """Crop rotation that levels the detector's eye points (both detectors list the image-left eye first
    for an upright face), so tilted faces reach the mesh upright; `fallback` when there are no points."""
    if det.points is None or len(det.points) < 2:
        return fallback
    (x0, y0), (x1, y1) = det.points[0], det.points[1]
    return float(np.degrees(np.arctan2(y1 - y0, x1 - x0)))


def _tile_detections(detector: Detector, image: np.ndarray, tile: int = 640) -> list[Detection]:
    """Detections on overlapping `tile`-px tiles (half-tile stride) of an image larger than one tile."""
    h, w = image.shape[:2]
    if max(h, w) <= tile * 1.25:
        return []
    found = []
    ys = range(0, max(h - tile, 0) + 1, tile // 2) if h > tile else [0]
    xs = range(0, max(w - tile, 0) + 1, tile // 2) if w > tile else [0]
    for y in list(ys) + ([h - tile] if h > tile else []):
        for x in list(xs) + ([w - tile] if w > tile else []):
            for d in detector.detect(image[y : y + tile, x : x + tile]):
                x0, y0, x1, y1 = d.box
                pts = None if d.points is None else d.points + np.array([x, y], np.float32)
                found.append(Detection((x0 + x, y0 + y, x1 + x, y1 + y), d.score, pts))
    return found


def _iou(a: tuple, b: tuple) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _merge(dets: list[Detection], iou: float = 0.4) -> list[Detection]:
    """Non-maximum suppression: keep the best-scoring of overlapping detections."""
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if all(_iou(d.box, k.box) < iou for k in kept):
            kept.append(d)
    return kept


def _square(cx: float, cy: float, side: float) -> tuple[float, float, float, float]:
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def _map_detection(det: Detection, affine: np.ndarray) -> Detection:
    """A detection from a rotated copy, as an axis-aligned box in the original frame."""
    x0, y0, x1, y1 = det.box
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float64) @ affine[:, :2].T + affine[:, 2]
    lo, hi = corners.min(0), corners.max(0)
    points = None if det.points is None else (det.points @ affine[:, :2].T + affine[:, 2]).astype(np.float32)
    return Detection((lo[0], lo[1], hi[0], hi[1]), det.score, points)


def _fits_box(face: Face, det: Detection) -> bool:
    """The 68 points must sit on the detected face: a mesh fitted to hair or a profile is off-centre."""
    lm = face.landmarks68
    cx, cy = lm.mean(0)
    x0, y0, x1, y1 = det.box
    side = max(float(np.ptp(lm[:, 0])), float(np.ptp(lm[:, 1])))
    return x0 <= cx <= x1 and y0 <= cy <= y1 and 0.4 < side / max(det.size, 1.0) < 2.5


def _plausible_step(prev: Face, face: Face) -> bool:
    """A tracked face cannot halve, double or jump a face width in one frame: that is drift, not motion."""
    px0, py0, px1, py1 = prev.mesh_box
    x0, y0, x1, y1 = face.mesh_box
    prev_side, side = max(px1 - px0, py1 - py0, 1.0), max(x1 - x0, y1 - y0, 1.0)
    jump = np.hypot((x0 + x1 - px0 - px1) / 2, (y0 + y1 - py0 - py1) / 2)
    return 0.6 < side / prev_side < 1.6 and jump < prev_side


def _covers(faces: list[Face], dets: list[Detection]) -> bool:
    """Each detection's centre lies in one tracked face's mesh box, and each face holds one detection."""
    def inside(d: Detection, f: Face) -> bool:
        x0, y0, x1, y1 = f.mesh_box
        return x0 <= d.center[0] <= x1 and y0 <= d.center[1] <= y1

    return all(sum(inside(d, f) for f in faces) == 1 for d in dets) and \
        all(sum(inside(d, f) for d in dets) == 1 for f in faces)


def _same_face(a: Face, b: Face) -> bool:
    """Two detections that meshed onto the same face (overlapping mesh boxes)."""
    return _iou(a.mesh_box, b.mesh_box) > 0.5
