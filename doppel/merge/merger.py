"""The streaming merge: decode the destination, predict its faces in batches, render, encode.

Frames without a face are written unchanged. A PNG-sequence output resumes: frames already on
disk are skipped (each PNG is written atomically). A video output is written to a temporary file
and appears only when complete, so an interrupted merge restarts cleanly.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from doppel.core.alignments import Alignments
from doppel.core.atomic import leftover_pattern, remove_leftovers, write_bytes, write_error
from doppel.core.errors import DoppelError
from doppel.core.images import encode_image
from doppel.media.progress import progress_bar
from doppel.media.reader import Frame, is_video, read_frames
from doppel.merge.faces import FrameFaces, load_faces, prepare_faces, smooth_faces
from doppel.merge.predict import Predictor
from doppel.merge.render import MergeFace, Prediction, render_layers
from doppel.merge.output import OutputOptions
from doppel.merge.settings import MergeSettings, config_path_for

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".m4v")


@dataclass
class MergeResult:
    output: Path
    frames: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    skipped: int = 0  # already on disk (PNG-sequence resume)
    seconds: float = 0.0
    config: Path | None = None

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def default_alignments(dst: Path, aligned: Path | None) -> Path:
    """The destination's alignments index: `<aligned>/alignments.json`, by default `<dst folder>/aligned`."""
    folder = Path(aligned) if aligned is not None else Path(dst).parent / "aligned"
    path = folder / "alignments.json" if folder.suffix != ".json" else folder
    if not path.exists():
        raise DoppelError("no alignments index for the destination", path, hint="Run 'doppel extract' on it, or pass --aligned DIR")
    return path


def check_alignments(alignments: Alignments, path: Path, dst: Path) -> None:
    """Refuse the alignments of another video: merge would paste its faces into the wrong frames."""
    use = f"Pass --aligned with the faces extracted from {dst.name}, or run 'doppel extract {dst} DIR' first"
    source = Path(alignments.source)
    if source.name != dst.name and source.resolve() != dst.resolve():
        raise DoppelError(f"lists the faces of {source.name}, not of {dst.name}", path, hint=use)
    frames, size = _frames_and_size(dst)
    indices = sorted(f.index for f in alignments.frames)
    if frames and indices:
        step = min((b - a for a, b in zip(indices, indices[1:])), default=1)
        # Header frame counts can be a little off (as read_frames allows, 2 % + 1); a complete index ends
        # within one step of the end.
        slack = 0.02 * frames + 1
        if indices[-1] + 1 > frames + slack or (alignments.complete and indices[-1] + step < frames - slack):
            raise DoppelError(f"lists {indices[-1] + 1} frames, {dst.name} has {frames}", path, hint=use)
    if size and alignments.width and (alignments.width, alignments.height) != size:
        raise DoppelError(f"was made from {alignments.width}x{alignments.height} frames, {dst.name} has "
                          f"{size[0]}x{size[1]}", path, hint=use)


def _frames_and_size(dst: Path) -> tuple[int | None, tuple[int, int] | None]:
    """The destination's frame count (None when its header does not say) and frame size (videos)."""
    if dst.is_dir():
        from doppel.core.images import list_images

        return len(list_images(dst)), None
    if not is_video(dst):
        return 1, None
    from doppel.media.reader import open_container

    container = open_container(dst)
    try:
        stream = container.streams.video[0]
        return stream.frames or None, (stream.codec_context.width, stream.codec_context.height)
    finally:
        container.close()


def load_checked_faces(dst: Path, aligned: str | Path | None):
    """The destination's alignments and faces by frame, refused when they belong to another video."""
    path = default_alignments(dst, aligned)
    alignments, by_frame = load_faces(path)
    check_alignments(alignments, path, dst)
    return alignments, by_frame


def _frames_in_thread(dst: Path, depth: int = 16) -> Iterator[Frame]:
    """Decode on a producer thread so decoding overlaps prediction and encoding."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for frame in read_frames(dst):
                while not stop.is_set():
                    try:
                        q.put(frame, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as e:  # handed to the consumer
            q.put(e)
        q.put(done)

    thread = threading.Thread(target=produce, daemon=True, name="merge-decode")
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


class _Sink:
    """Where merged frames go: a video (through VideoWriter) or a PNG sequence."""

    def __init__(self, out: Path, dst: Path, options: OutputOptions, settings: MergeSettings, provenance=None,
                 encoder_threads: int = 0):
        self.out = out
        self.provenance = provenance  # ProvenanceInfo, or None when switched off
        self.sequence = out.suffix.lower() not in VIDEO_SUFFIXES
        self.options = options
        self._writer = None
        if options.alpha and not self.sequence:
            raise DoppelError("alpha output needs a PNG sequence", out, hint="Give a folder as the output (-o frames/)")
        if self.sequence:
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise write_error(e, out, "the output frames") from e
            remove_leftovers(out, ".*.part.png")  # frames an interrupted merge was writing
        else:
            from doppel.media.writer import VideoWriter

            has_audio = is_video(dst)
            self._writer = VideoWriter(
                out,
                fps=options.fps,
                like=dst if options.fps is None and is_video(dst) else None,
                codec=options.codec,
                crf=options.crf,
                audio_from=dst if has_audio else None,
                provenance=provenance if provenance is not None else False,
                threads=encoder_threads,
            )

    def frame_path(self, index: int) -> Path:
        return self.out / f"{index:06d}.png"

    def done(self, index: int) -> bool:
        return self.sequence and self.frame_path(index).exists()

    def __enter__(self) -> "_Sink":
        if self._writer is not None:
            self._writer.__enter__()
        return self

    def __exit__(self, *exc) -> bool:
        if self._writer is not None:
            return self._writer.__exit__(*exc)
        return False

    def write(self, frame: Frame, image: np.ndarray, alpha: np.ndarray | None) -> None:
        if self._writer is not None:
            self._writer.write(image, frame.timestamp)
            return
        if self.provenance is not None:
            from doppel.provenance.watermark import embed_watermark

            image = embed_watermark(image)
        if self.options.alpha and alpha is not None:
            image = np.dstack([image, alpha])
        data = encode_image(image, ".png")
        if self.provenance is not None:
            from doppel.provenance.tag import tag_image_bytes

            data = tag_image_bytes(data, self.provenance)
        try:
            write_bytes(self.frame_path(frame.index), data)
        except OSError as e:  # the frames written so far stay: the same command resumes after them
            raise write_error(e, self.frame_path(frame.index), "an output frame") from e


def _chunks(dst: Path, sink: _Sink, tracks, predictor: Predictor, settings: MergeSettings, result: MergeResult, advance):
    """The destination's frames with their faces cut out, in chunks of `predictor.chunk` faces (or
    4x that many frames without a face). Frames already on disk count as skipped and are left out."""
    pending: list[tuple[Frame, list[MergeFace]]] = []
    pending_faces = 0
    for frame in _frames_in_thread(dst):
        if sink.done(frame.index):
            result.skipped += 1
            advance()
            continue
        faces = faces_for(frame, tracks.get(frame.index), predictor, settings)
        if faces:
            result.frames_with_faces += 1
            result.faces += len(faces)
        pending.append((frame, faces))
        pending_faces += len(faces)
        if pending_faces >= predictor.chunk or len(pending) >= 4 * predictor.chunk:
            yield pending
            pending, pending_faces = [], 0
    if pending:
        yield pending


def _render_batch(pending, preds: list[Prediction], settings: MergeSettings, sink: _Sink, result: MergeResult, advance) -> None:
    k = 0
    for frame, fs in pending:
        image, alpha = render_layers(frame.image, fs, preds[k : k + len(fs)], settings)
        k += len(fs)
        sink.write(frame, image, alpha)
        result.frames += 1
        advance()


class _Pipeline:
    """Predicts chunks of frames on forward worker threads while the calling thread renders and
    encodes them.

    `predictor.workers` chunks are predicted at once (two on the CPU, see predict.forward_workers);
    pushing one more renders the oldest first, so a worker that finishes finds the next chunk
    already queued. Chunks are rendered in order. cv2, numpy, the encoder and torch release the
    GIL, so all of this overlaps; an error in a worker is raised when its chunk's turn comes.
    """

    def __init__(self, predictor: Predictor, render):
        from concurrent.futures import ThreadPoolExecutor

        self._predictor = predictor
        self._render = render  # (pending frames and faces, their predictions) -> None
        self._pool = ThreadPoolExecutor(predictor.workers, thread_name_prefix="merge-predict")
        self._in_flight: deque = deque()

    def push(self, pending: list[tuple[Frame, list[MergeFace]]]) -> None:
        faces = [f for _, fs in pending for f in fs]
        self._in_flight.append((pending, self._pool.submit(self._predictor.predict, faces)))
        if len(self._in_flight) > self._predictor.workers:
            self._render_oldest()

    def _render_oldest(self) -> None:
        pending, future = self._in_flight.popleft()
        self._render(pending, future.result())

    def finish(self) -> None:
        while self._in_flight:
            self._render_oldest()

    def close(self) -> None:
        """Drop chunks not started yet and wait for the running ones (after an error, or when done)."""
        for _, future in self._in_flight:
            future.cancel()
        self._in_flight.clear()
        self._pool.shutdown(wait=True)


def merge(
    model_dir: str | Path,
    dst: str | Path,
    out: str | Path,
    settings: MergeSettings = MergeSettings(),
    aligned: str | Path | None = None,
    output: OutputOptions = OutputOptions(),
    device: str | None = None,
    batch_size: int | None = None,
    xseg_model: str | Path | None = None,
    progress: bool = True,
    model=None,
) -> MergeResult:
    """Merge a whole destination video (or frames folder) into `out` (a video file or a folder of PNGs).

    `model` may be given already loaded (tests, the studio); otherwise it is loaded from `model_dir`.
    The settings are saved beside the output as `<out>.merge.json`.
    """
    dst, out = Path(dst), Path(out)
    alignments, by_frame = load_checked_faces(dst, aligned)  # before the model loads: fail fast
    if model is None:
        model = load_merge_model(model_dir, device)
    predictor = make_predictor(model, settings, xseg_model, batch_size)
    if not alignments.complete:
        raise DoppelError("the destination's extraction did not finish", default_alignments(dst, aligned),
                          hint="Re-run 'doppel extract' on it (it resumes)")
    tracks = smooth_faces(by_frame, settings.smooth_landmarks)
    result = MergeResult(output=out)
    start = time.perf_counter()
    total = len(alignments.frames) or None
    sink = _Sink(out, dst, output, settings, _provenance(output, model, model_dir, dst), _encoder_threads(predictor))
    with sink, progress_bar("merge", total, progress) as bar, predictor.merge_threads():
        advance = bar.advance
        pipeline = _Pipeline(predictor, lambda pending, preds: _render_batch(pending, preds, settings, sink, result, advance))
        try:
            for pending in _chunks(dst, sink, tracks, predictor, settings, result, advance):
                pipeline.push(pending)
            pipeline.finish()
        finally:
            pipeline.close()
    result.seconds = time.perf_counter() - start
    result.config = config_path_for(out)
    remove_leftovers(out.parent, leftover_pattern(result.config))
    try:
        settings.save(result.config)
    except OSError as e:
        raise write_error(e, result.config, "the merge settings") from e
    return result


def _encoder_threads(predictor: Predictor) -> int:
    """One encoder thread when the model runs on the CPU: the cores are busy anyway, and x264's
    frame threads cost about 40 % more CPU per frame (8 against 5.7 ms at 512x512 on 2 cores).
    Elsewhere 0: the encoder's own choice."""
    return 1 if predictor.device.type == "cpu" else 0


def faces_for(frame: Frame, faces: FrameFaces | None, predictor: Predictor, settings: MergeSettings) -> list[MergeFace]:
    """The frame's faces cut out for the model (none in `original` mode or where the frame has no face)."""
    if faces is None or settings.mode == "original":
        return []
    return prepare_faces(frame.image, faces, predictor.face_type, predictor.resolution)


def _provenance(output: OutputOptions, model, model_dir, dst: Path):
    """The provenance record of this merge (None when switched off): model name and weights hash."""
    if not output.provenance:
        return None
    from doppel.provenance.info import ProvenanceInfo

    model_id = getattr(model, "name", None)
    if model_dir is not None:
        from doppel.models.io import read_model_info

        digest = read_model_info(model_dir).get("weights", {}).get("sha256", "")
        model_id = f"{model_id}:{digest[:12]}" if digest else model_id
    return ProvenanceInfo(model_id=model_id, source=dst.name)


def load_merge_model(model_dir, device):
    """A trained model from its folder, on `device` (a name or None for the best available)."""
    from doppel.core.device import pick_device
    from doppel.models.io import load_model

    return load_model(model_dir, device=pick_device(device))


def make_predictor(model, settings: MergeSettings, xseg_model, batch_size: int | None = None) -> Predictor:
    """The batch predictor for these settings; refuses an XSeg mask mode without an XSeg model and
    a morph factor on a model that has none."""
    xseg = None
    if "xseg-prd" in settings.mask_mode:
        if xseg_model is None:
            raise DoppelError(f"mask mode {settings.mask_mode} needs an XSeg model", hint="Pass --xseg-model DIR")
        from doppel.masks.xseg_io import load_xseg

        xseg = load_xseg(xseg_model, device=next(model.parameters()).device)
    if getattr(model, "has_morph", False) is False and settings.morph != 1.0:
        raise DoppelError(f"model {getattr(model, 'name', '?')} has no morph factor", hint="--morph works with amp models only")
    return Predictor(model, settings, xseg, batch_size)




def preview(
    model_dir: str | Path,
    dst: str | Path,
    frame_index: int,
    out_png: str | Path,
    settings: MergeSettings = MergeSettings(),
    aligned: str | Path | None = None,
    device: str | None = None,
    xseg_model: str | Path | None = None,
    model=None,
    save_config: str | Path | None = None,
) -> Path:
    """Render one frame with `settings` to `out_png` (for tuning); saves the settings if asked."""
    dst, out_png = Path(dst), Path(out_png)
    _, by_frame = load_checked_faces(dst, aligned)
    if model is None:
        model = load_merge_model(model_dir, device)
    predictor = make_predictor(model, settings, xseg_model)
    tracks = smooth_faces(by_frame, settings.smooth_landmarks)
    frame = next(iter(read_frames(dst, start=frame_index)), None)
    if frame is None or frame.index != frame_index:
        raise DoppelError(f"frame {frame_index} is beyond the end", dst)
    faces = faces_for(frame, tracks.get(frame_index), predictor, settings)
    image, _ = render_layers(frame.image, faces, predictor.predict(faces), settings)
    from doppel.provenance.output import write_rendered_image

    write_rendered_image(out_png, image, _provenance(OutputOptions(), model, model_dir, dst))  # a preview is rendered output too
    if save_config is not None:
        settings.save(save_config)
    return out_png


