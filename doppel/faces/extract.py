"""`extract(input, out_dir, options)`: stream frames, find faces, write aligned faces with metadata inside.

Resumable: progress lives in OUT/alignments.json (saved every few seconds, atomically) next to
OUT/extract.json (the options); a re-run skips frames already recorded. Every face file is written
atomically, so a killed run leaves only complete files (and hidden `.part` leftovers, removed on resume).
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import closing
from functools import partial
from itertools import islice
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from doppel.core.alignments import Alignments, FrameEntry
from doppel.core.atomic import remove_leftovers, write_json
from doppel.core.errors import DoppelError
from doppel.core.facetype import FaceType
from doppel.core.images import write_face
from doppel.core.metadata import FaceMeta, SourceInfo
from doppel.faces.align import align_face, invert, transform_points
from doppel.faces.detect import TORCH_DETECTORS
from doppel.faces.landmarks import Face, FaceAnalyzer
from doppel.faces.mesh68 import mesh_to_68
from doppel.faces.options import ExtractOptions
from doppel.faces.pose import estimate_pose
from doppel.faces.prefetch import prefetch
from doppel.faces.same_source import check_same_source, read_extract_options
from doppel.faces.processes import fork_available, run_tasks
from doppel.faces.smooth import TrackSmoother
from doppel.media.progress import progress_bar
from doppel.media.reader import Frame, TruncatedVideoError, is_image, is_video, open_container, read_frames

__all__ = ["ExtractOptions", "ExtractResult", "extract"]

ALIGNMENTS_NAME = "alignments.json"
OPTIONS_NAME = "extract.json"
REDETECT_EVERY = 15  # while tracking, run the detector anyway every N frames (new faces, drift)
# The alignments index (the resume point) is saved SAVE_EVERY_FRAMES frames into a run, then every SAVE_EVERY_S
# or more: each save rewrites the whole index (milliseconds per thousand frames), so the interval grows to
# SAVE_COST_SHARE^-1 times the last save's duration, keeping saving under 5 % of the time on long videos.
SAVE_EVERY_S = 2.0
SAVE_EVERY_FRAMES = 25
SAVE_COST_SHARE = 0.05
# workers=0 (auto): one worker process per core, up to MAX_AUTO_WORKERS (each loads its own models, ~200 MB).
# Thread workers (the torch detector) share the GIL: one per two cores, up to MAX_AUTO_THREADS.
MAX_AUTO_WORKERS = 8
MAX_AUTO_THREADS = 4
MIN_FRAMES_PER_WORKER = 60  # shorter inputs are not split (each worker loads its own models)
# Face files are written by a few threads per worker: each write ends with an fsync, whose latency (not CPU)
# would otherwise set the pace. Frames are still recorded in order, once their files are on disk.
WRITE_THREADS = 3
MAX_IN_FLIGHT = 6
DETECT_BATCH = 8  # frames per forward pass of a batching detector (MTCNN) when frames are not tracked


@dataclass(frozen=True)
class ExtractResult:
    out_dir: Path
    frames_seen: int  # frames processed in this run and earlier runs (resume)
    faces_written: int  # face files in this run
    frames_without_face: int
    frames_resumed: int  # frames skipped because an earlier run did them
    alignments_path: Path | None
    complete: bool  # the input was read to its end


def extract(input: str | Path, out_dir: str | Path, options: ExtractOptions = ExtractOptions(), progress: bool = True) -> ExtractResult:
    """Extract aligned faces from a video, a folder of images, or one image into `out_dir`."""
    src, out = Path(input), Path(out_dir)
    _check_input(src)
    check_same_source(out, src)
    video = is_video(src)
    use_alignments = options.alignments == "on" or (options.alignments == "auto" and (video or src.is_dir()))
    _prepare_out(out, src, options)
    info = _source_info(src, video)
    index = _load_or_new_alignments(out, src, info) if use_alignments else None
    job = _Job(src, video, frozenset(f.index for f in index.frames) if index else frozenset(), options, info)

    state = _RunState(index, out, options)
    truncated: TruncatedVideoError | None = None
    failed = True
    try:
        with progress_bar("extracting", _frames_to_process(info["total"], options), progress) as bar:
            try:
                _run_segments(job, bar.advance, state)
            except TruncatedVideoError as e:
                truncated = e  # the frames before the damage were processed and written
        failed = False
    except OSError as e:
        raise _os_error(e, out) from e
    finally:
        try:
            state.save(final=True, complete=not failed and truncated is None and not state.stopped_early)
        except OSError as e:
            if not failed:  # an earlier error is the one to report
                raise _os_error(e, out) from e

    if truncated is not None:
        raise truncated
    if state.faces_total == 0 and not _done_has_faces(index):
        raise DoppelError(
            f"no face found in any of the {state.frames_seen} frames",
            src,
            hint="Check the input shows faces; try --detector mtcnn or a lower --min-face",
        )
    return ExtractResult(out, state.frames_seen, state.faces_total, state.no_face, state.resumed,
                         out / ALIGNMENTS_NAME if index else None, truncated is None and not state.stopped_early)


def _done_has_faces(index: Alignments | None) -> bool:
    return bool(index) and any(f.faces for f in index.frames)


# ---- per-frame work -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """What every stretch of one extraction shares: the input, what is known about it, the options."""

    src: Path
    video: bool
    done: frozenset[int]  # frame indices an earlier run already did (resume)
    options: ExtractOptions
    info: dict  # _source_info: frame count, size, rate


@dataclass(frozen=True)
class _Stretch:
    """Contiguous frames for one worker: from position `start` (the start-th frame processed, frame index
    start * every_n), `count` frames (None: to the end); `last` runs to the end of the input."""

    start: int
    count: int | None
    last: bool


def _segments(info: dict, options: ExtractOptions) -> list[_Stretch]:
    """The input cut into one stretch per worker."""
    total = info["total"]
    if total is None:
        return [_Stretch(0, options.max_frames, True)]
    positions = -(-total // options.every_n)
    if options.max_frames is not None:
        positions = min(positions, options.max_frames)
    cores = os.cpu_count() or 1
    auto = min(cores, MAX_AUTO_WORKERS) if _in_processes(options) else min(cores // 2, MAX_AUTO_THREADS)
    workers = options.workers or max(1, auto)
    workers = max(1, min(workers, positions // MIN_FRAMES_PER_WORKER))
    bounds = [positions * i // workers for i in range(workers + 1)]
    segments = [_Stretch(bounds[i], bounds[i + 1] - bounds[i], False) for i in range(workers - 1)]
    # The last stretch runs to the end of the input (or max_frames): the header's frame count may be short.
    last = bounds[workers - 1]
    segments.append(_Stretch(last, None if options.max_frames is None else options.max_frames - last, True))
    return segments


def _run_segments(job: _Job, bar, state) -> None:
    """Process the input's stretches in parallel, each with its own models: in forked worker processes
    (mediapipe holds the GIL, so threads would share one core), or in threads for the torch detector
    (torch and fork do not mix; it batches frames on the GPU instead). Every stretch records its frames as
    their faces land on disk; the index is sorted on save, so the result is the same as one pass."""
    segments = _segments(job.info, job.options)
    if len(segments) == 1:
        _run_segment(job, bar, state, segments[0], threading.Event())
        return
    if _in_processes(job.options):
        errors = _run_in_processes(job, bar, state, segments)
    else:
        errors = _run_in_threads(job, bar, state, segments)
    errors = [e for e in errors if e is not None]
    hard = [e for e in errors if not isinstance(e, TruncatedVideoError)]
    if hard:
        raise hard[0]
    if errors:
        raise min(errors, key=lambda e: e.frames_decoded)


def _in_processes(options: ExtractOptions) -> bool:
    return options.detector not in TORCH_DETECTORS and fork_available()


def _stops_others(error: BaseException) -> bool:
    # A damaged video stops only the stretch that reaches the damage; any other error stops all.
    return not isinstance(error, TruncatedVideoError)


def _run_in_threads(job: _Job, bar, state, segments: list[_Stretch]) -> list[BaseException | None]:
    stop = threading.Event()
    with ThreadPoolExecutor(len(segments), thread_name_prefix="doppel-segment") as pool:
        futures = [pool.submit(_run_segment, job, bar, state, stretch, stop) for stretch in segments]
        try:
            for future in as_completed(futures):
                if future.exception() is not None and _stops_others(future.exception()):
                    stop.set()
        except BaseException:
            stop.set()
            raise
    return [f.exception() for f in futures]


def _run_in_processes(job: _Job, bar, state, segments: list[_Stretch]) -> list[BaseException | None]:
    def on_message(message: tuple) -> None:
        if message[0] == "seen":
            state.seen(message[1])
            bar(1)
        elif message[0] == "record":
            state.record(*message[1:])
        else:
            state.stopped_early = True

    tasks = [partial(_segment_task, job, state.out, stretch) for stretch in segments]
    return run_tasks(tasks, on_message, _stops_others)


def _segment_task(job: _Job, out: Path, stretch: _Stretch, report, stop) -> None:
    """One stretch in a worker process (module level: a fork server's workers receive it pickled)."""
    remote = _ReportingState(report, out, job.options)
    _run_segment(job, lambda n: None, remote, stretch, stop)
    if remote.stopped_early:
        report(("stopped_early",))


class _ReportingState:
    """A worker process's stand-in for `_RunState`: every frame seen and recorded goes to the parent."""

    def __init__(self, report, out: Path, options: ExtractOptions):
        self.report, self.out, self.options = report, out, options
        self.stopped_early = False

    def seen(self, resumed: bool) -> None:
        self.report(("seen", resumed))

    def record(self, frame_index: int, timestamp: float | None, names: list[str]) -> None:
        self.report(("record", frame_index, timestamp, names))


def _run_segment(job: _Job, bar, state, stretch: _Stretch, stop) -> None:
    src, video, done, options, info = job.src, job.video, job.done, job.options, job.info
    start, count, last = stretch.start, stretch.count, stretch.last
    smoother = TrackSmoother() if options.smooth and video else None
    tracking = video and options.track and options.every_n <= 2
    tracked: list[Face] = []
    since_detect = 0
    with FaceAnalyzer(options.detector, options.device, options.min_face, options.max_faces,
                      options.rotation_retry) as analyzer, \
            ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="doppel-write") as writer, \
            closing(prefetch(read_frames(src, start=start * options.every_n, every_n=options.every_n))) as frames:
        pending = _Pending(state)
        # Untracked frames go to a batching detector (MTCNN) several at a time: one forward pass per batch.
        batch = DETECT_BATCH if not tracking and analyzer.detector.batched else 1
        try:
            for chunk in _chunks(frames if count is None else islice(frames, count), batch):
                if stop.is_set():
                    break
                todo = [f for f in chunk if f.index not in done]
                detections = {}
                if batch > 1 and todo:
                    detections = dict(zip((f.index for f in todo), analyzer.detector.detect_batch([f.image for f in todo])))
                for frame in chunk:
                    state.seen(frame.index in done)
                    bar(1)
                    if frame.index in done:
                        tracked = []
                        continue
                    faces = None
                    if tracking and tracked and since_detect < REDETECT_EVERY:
                        faces = analyzer.track(frame.image, tracked)
                        since_detect += 1
                    elif tracking and tracked:
                        faces = analyzer.refresh(frame.image, tracked)
                        since_detect = 0
                    if faces is None:
                        faces = analyzer.analyze(frame.image, tiles=not video, detections=detections.get(frame.index))
                        since_detect = 0
                    tracked = faces
                    if smoother is not None:
                        t = frame.timestamp if frame.timestamp is not None else frame.index / 30.0
                        faces = [_smoothed(face, smoother(i, face.mesh, t)) for i, face in enumerate(faces)]
                    # Alignment, encoding and the write run in writer threads, overlapping the next frames.
                    pending.submit(frame, writer.submit(_write_faces, state.out, src, frame, faces, options, info))
                    if options.debug_dir:
                        _write_debug(Path(options.debug_dir), frame, faces, _frame_stem(src, frame, video))
            if last and count is not None and not stop.is_set() and next(frames, None) is not None:
                state.stopped_early = True
        except TruncatedVideoError:
            pending.collect(wait_all=True)  # keep the faces found before the damage
            raise
        except BaseException:
            pending.cancel()  # after an error: keep what was written, record nothing unsure
            raise
        pending.collect(wait_all=True)


def _chunks(items, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _smoothed(face: Face, mesh: np.ndarray) -> Face:
    return replace(face, mesh=mesh, landmarks68=mesh_to_68(mesh), pose=estimate_pose(mesh))


def _frame_stem(src: Path, frame: Frame, video: bool) -> str:
    return f"{frame.index:06d}" if video or not frame.name else Path(frame.name).stem


def _write_faces(out: Path, src: Path, frame: Frame, faces: list[Face], options: ExtractOptions, info: dict) -> list[str]:
    names = []
    h, w = frame.image.shape[:2]
    stem = _frame_stem(src, frame, info["video"])
    for i, face in enumerate(faces):
        image, m = align_face(frame.image, face.landmarks68, options.face_type, options.size)
        meta = FaceMeta(
            face_type=FaceType.parse(options.face_type),
            size=options.size,
            source=SourceInfo(frame.name or src.name, frame.index, frame.timestamp, w, h),
            face_index=i,
            source_rect=[round(v, 2) for v in face.box],
            landmarks=transform_points(face.landmarks68, m),
            source_landmarks=face.landmarks68,
            face_to_source=invert(m),
            pose=face.pose,
            detector=face.detector,
            score=round(face.score, 4),
            mesh=face.mesh,
        )
        name = f"{stem}_{i}.jpg"
        write_face(out / name, image, meta, options.jpeg_quality)
        names.append(name)
    return names


class _Pending:
    """One worker's frames whose faces are being written, oldest first; recorded once on disk."""

    def __init__(self, state: "_RunState"):
        self.state = state
        self._queue: deque = deque()  # (frame index, timestamp, future of written names)

    def submit(self, frame: Frame, future) -> None:
        self._queue.append((frame.index, frame.timestamp, future))
        self.collect()

    def collect(self, wait_all: bool = False) -> None:
        """Record frames whose faces are on disk, oldest first; waits when too many are in flight."""
        while self._queue and (wait_all or len(self._queue) > MAX_IN_FLIGHT or self._queue[0][2].done()):
            index, timestamp, future = self._queue.popleft()
            self.state.record(index, timestamp, future.result())  # re-raises a write error (disk full)

    def cancel(self) -> None:
        for _index, _timestamp, future in self._queue:
            future.cancel()
        self._queue.clear()


class _RunState:
    """Counters and the alignments index, shared by the workers (hence the lock)."""

    def __init__(self, index: Alignments | None, out: Path, options: ExtractOptions):
        self.index, self.out, self.options = index, out, options
        self.frames_seen = self.resumed = self.faces_total = self.no_face = 0
        self.stopped_early = False
        self._last_save, self._unsaved, self._saves, self._save_cost = time.monotonic(), 0, 0, 0.0
        self._lock = threading.RLock()

    def seen(self, resumed: bool) -> None:
        with self._lock:
            self.frames_seen += 1
            self.resumed += resumed

    def record(self, frame_index: int, timestamp: float | None, names: list[str]) -> None:
        with self._lock:
            self.faces_total += len(names)
            self.no_face += not names
            if self.index is None:
                return
            self.index.frames.append(FrameEntry(frame_index, timestamp, names))
            self._unsaved += 1
            interval = max(SAVE_EVERY_S, self._save_cost / SAVE_COST_SHARE)
            if (self._saves == 0 and self._unsaved >= SAVE_EVERY_FRAMES) or time.monotonic() - self._last_save > interval:
                self.save()

    def save(self, final: bool = False, complete: bool = False) -> None:
        if self.index is None:
            return
        with self._lock:
            started = time.monotonic()
            self.index.frames.sort(key=lambda f: f.index)
            self.index.complete = bool(final and complete)
            self.index.save(self.out / ALIGNMENTS_NAME)
            self._last_save, self._unsaved = time.monotonic(), 0
            self._saves, self._save_cost = self._saves + 1, self._last_save - started


# ---- setup and checks -------------------------------------------------------------------------


def _check_input(src: Path) -> None:
    if not src.exists():
        raise DoppelError("file not found", src, hint="Check the path")
    if src.is_dir():
        return
    if not (is_video(src) or is_image(src)):
        raise DoppelError("not a video or an image", src, hint="Pass a video, a folder of images, or one image")


def _prepare_out(out: Path, src: Path, options: ExtractOptions) -> None:
    if out.exists() and not out.is_dir():
        raise DoppelError("exists and is not a folder", out, hint="Pick a folder for the faces")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DoppelError(f"cannot create the output folder ({e.strerror})", out) from e
    remove_leftovers(out)  # from a run that was killed mid-write
    saved = out / OPTIONS_NAME
    record = {"input": str(src.resolve()), "options": asdict(options)}
    if saved.exists():
        old = read_extract_options(saved)
        changed = [k for k in ExtractOptions.SHAPE_KEYS if old.get(k) != record["options"][k]]
        if changed:
            was = ", ".join(f"{k}={old.get(k)}" for k in changed)
            raise DoppelError(f"this folder holds faces extracted with {was}", out,
                              hint="Use the same options to resume, or a new output folder")
    try:
        write_json(saved, record)
    except OSError as e:  # a read-only or full folder: say so before any work starts
        raise _os_error(e, saved) from e


def _source_info(src: Path, video: bool) -> dict:
    info = {"video": video, "total": None, "fps": None, "width": 0, "height": 0}
    if video:
        container = open_container(src)
        try:
            stream = container.streams.video[0]
            info.update(total=stream.frames or None, width=stream.codec_context.width, height=stream.codec_context.height,
                        fps=float(stream.average_rate) if stream.average_rate else None)
        finally:
            container.close()
    elif src.is_dir():
        from doppel.core.images import list_images

        info["total"] = len(list_images(src))
    else:
        info["total"] = 1
    return info


def _load_or_new_alignments(out: Path, src: Path, info: dict) -> Alignments:
    path = out / ALIGNMENTS_NAME
    if path.exists():
        index = Alignments.load(path)
        index.frames = [f for f in index.frames if all((out / n).exists() for n in f.faces)]
        return index
    return Alignments(source=str(src.resolve()), faces_dir=".", fps=info["fps"], width=info["width"], height=info["height"])


def _os_error(e: OSError, out: Path) -> DoppelError:
    if e.errno == errno.ENOSPC:
        return DoppelError("disk full while writing faces", out, hint="Free some space and run the same command again; it resumes")
    return DoppelError(f"cannot write faces ({e.strerror or e})", out, hint="Check the folder is writable, then re-run to resume")


# ---- progress and debug -------------------------------------------------------------------------


def _frames_to_process(total: int | None, options: ExtractOptions) -> int | None:
    """The progress bar's total: one frame in `every_n`, at most `max_frames`."""
    if total is None:
        return None
    total = -(-total // options.every_n)
    return total if options.max_frames is None else min(total, options.max_frames)


def _write_debug(folder: Path, frame: Frame, faces: list[Face], stem: str) -> None:
    from doppel.core.images import write_image
    from doppel.faces.debug import draw_faces

    write_image(folder / f"{stem}.jpg", draw_faces(frame.image, faces), jpeg_quality=85)
