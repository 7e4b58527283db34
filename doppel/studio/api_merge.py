"""Interactive merger: pick a destination frame, move any merge setting, see the frame re-rendered.

The model runs once per (frame, what the prediction depends on); moving a slider only re-runs the
pure `render_frame`, so the preview follows the slider. Settings are saved to WORKSPACE/merge.json,
which `doppel merge --config` reads.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2

from doppel.core.errors import DoppelError
from doppel.studio.http import HttpError, Request, Response
from doppel.studio.paths import inside

SETTINGS_FILE = "merge.json"
_cache_lock = threading.Lock()


def _dst_source(studio) -> tuple[Path, object]:
    """The destination the workspace's alignments index describes, and the index itself."""
    from doppel.core.alignments import Alignments

    index = Alignments.load(studio.workspace.dst_alignments)
    source = Path(index.source)
    if not source.is_absolute():  # written relative to where extract ran, or to the index
        for base in (studio.root, studio.workspace.dst_aligned, Path.cwd()):
            if (base / source).exists():
                source = base / source
                break
    if not source.exists():
        raise DoppelError("the destination video of the alignments index is missing", source, hint="Re-run 'doppel extract' on it")
    return source, index


def fields(studio, req: Request) -> dict:
    from doppel.merge.settings import MergeSettings, merge_settings_fields

    saved = studio.root / SETTINGS_FILE
    current = MergeSettings.load(saved) if saved.is_file() else MergeSettings()
    return {"fields": merge_settings_fields(), "values": current.to_dict(), "saved": saved.is_file()}


def frames(studio, req: Request) -> dict:
    _, index = _dst_source(studio)
    return {
        "frames": [f.index for f in index.frames if f.faces],
        "without_face": [f.index for f in index.frames if not f.faces],
        "total": len(index.frames),
    }


class _Session:
    """The loaded model and the predictions of the last frame, per studio."""

    def __init__(self) -> None:
        self.model_key = None
        self.model = None
        self.pred_key = None
        self.frame = None
        self.faces = None
        self.predictions = None


def _session(studio) -> _Session:
    return studio.cache.setdefault("merge", _Session())


def _prepare(studio, model_dir: Path, frame_index: int, settings) -> _Session:
    from doppel.merge.faces import load_faces, smooth_faces
    from doppel.merge.merger import faces_for, load_merge_model, make_predictor
    from doppel.media.reader import read_frames

    s = _session(studio)
    weights = model_dir / "model.safetensors"
    key = (str(model_dir), weights.stat().st_mtime if weights.exists() else None)
    if s.model_key != key:
        s.model, s.model_key, s.pred_key = load_merge_model(model_dir, None), key, None
    xseg_dir = studio.root / "xseg"
    pred_key = (frame_index, settings.mask_mode, settings.morph, settings.smooth_landmarks, settings.mode == "original")
    if s.pred_key != pred_key:
        source, _ = _dst_source(studio)
        predictor = make_predictor(s.model, settings, xseg_dir if xseg_dir.is_dir() else None)
        _, by_frame = load_faces(studio.workspace.dst_alignments)
        tracks = smooth_faces(by_frame, settings.smooth_landmarks)
        frame = next(iter(read_frames(source, start=frame_index)), None)
        if frame is None or frame.index != frame_index:
            raise HttpError(404, f"frame {frame_index} is beyond the end")
        s.frame = frame.image
        s.faces = faces_for(frame, tracks.get(frame_index), predictor, settings)
        s.predictions = predictor.predict(s.faces) if s.faces else []
        s.pred_key = pred_key
    return s


def preview(studio, req: Request) -> Response:
    from doppel.merge.render import render_frame
    from doppel.merge.settings import MergeSettings

    body = req.json()
    settings = MergeSettings.from_dict(body.get("settings") or {})
    model_dir = inside(studio.root, body.get("model") or "model")
    with _cache_lock:
        s = _prepare(studio, model_dir, int(body.get("frame", 0)), settings)
        image = render_frame(s.frame, s.faces, s.predictions, settings)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return Response(buf.tobytes(), "image/jpeg", headers={"Cache-Control": "no-store"})


def save(studio, req: Request) -> dict:
    from doppel.merge.settings import MergeSettings

    settings = MergeSettings.from_dict(req.json().get("settings") or {})
    path = studio.root / SETTINGS_FILE
    settings.save(path)
    return {"saved": SETTINGS_FILE, "command": f"doppel merge --config {path} --model MODEL --dst DST -o OUT.mp4"}


ROUTES = {
    ("GET", "/api/merge/fields"): fields,
    ("GET", "/api/merge/frames"): frames,
    ("POST", "/api/merge/preview"): preview,
    ("POST", "/api/merge/save"): save,
}
